//! [`ConnectError`]: why a login failed, classified into what to check.

use mysql_common::proto::codec::error::PacketCodecError;
use rds_iam_credentials::CredentialsError;

/// Why a connection could not be made. Each variant's message says what to check; none contains the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The target is incomplete or malformed (no region, bad host, empty user).
    #[error("{0}")]
    Target(String),
    /// No credentials to sign the token with.
    #[error("no credentials to sign the token: {0}")]
    Credentials(CredentialsError),
    /// The token could not be signed.
    #[error("could not sign the token: {0}")]
    Token(rds_iam_token::Error),
    /// The server refused the token (MySQL error 1045 / SQLSTATE 28000).
    #[error("{}", token_rejected(.server_message, .causes))]
    TokenRejected {
        /// The server's message (it never contains the token).
        server_message: String,
        /// The usual causes, most likely first.
        causes: Vec<String>,
    },
    /// The server's certificate chain does not lead to a trusted root in the CA bundle.
    #[error(
        "the server's TLS certificate is not issued by a CA in {bundle}: {detail}; use the RDS bundle for the \
         database's region (`rds-iam ca fetch --region …`) or pass the right --ca-bundle"
    )]
    UntrustedCertificate {
        /// The CA bundle used.
        bundle: String,
        /// What rustls said.
        detail: String,
    },
    /// The certificate is valid but for another name.
    #[error(
        "the server's TLS certificate is not valid for {host}: {detail}; connect to the endpoint name the \
         certificate was issued for (through a tunnel: pass it as --signing-host and see --danger-skip-hostname-check)"
    )]
    HostnameMismatch {
        /// The name that was checked.
        host: String,
        /// What rustls said.
        detail: String,
    },
    /// The certificate has expired or is not yet valid.
    #[error(
        "the server's TLS certificate is expired or not yet valid: {detail}; check the server's certificate and this machine's clock"
    )]
    CertificateTime {
        /// What rustls said.
        detail: String,
    },
    /// Any other TLS failure.
    #[error("TLS with the server failed: {0}")]
    Tls(String),
    /// The server does not offer TLS; the token was not sent.
    #[error(
        "the server does not offer TLS, so the token was not sent (IAM tokens are only accepted over TLS, and \
         sending one in clear text would expose it); is this the right host and port?"
    )]
    ServerWithoutTls,
    /// The server could not be reached.
    #[error("could not reach {host}:{port}: {detail}; check the host, port, security groups and network path")]
    Unreachable {
        /// The host dialed.
        host: String,
        /// The port.
        port: u16,
        /// The cause.
        detail: String,
    },
    /// The connection was rate-limited locally and the wait would exceed the caller's limit.
    #[error("too many new IAM connections: the local limit of {per_second}/s was reached")]
    RateLimited {
        /// The configured rate.
        per_second: f64,
    },
    /// Any other error from the MySQL driver (the server's own message).
    #[error("MySQL error: {0}")]
    Mysql(String),
}

// The inner errors are part of the message, not a `source()`: error reporters that print the chain would show them
// twice otherwise.
impl From<CredentialsError> for ConnectError {
    fn from(err: CredentialsError) -> Self {
        ConnectError::Credentials(err)
    }
}

impl From<rds_iam_token::Error> for ConnectError {
    fn from(err: rds_iam_token::Error) -> Self {
        ConnectError::Token(err)
    }
}

fn token_rejected(server_message: &str, causes: &[String]) -> String {
    let mut out = format!("the server rejected the IAM token ({server_message}); usual causes:");
    for cause in causes {
        out.push_str("\n  - ");
        out.push_str(cause);
    }
    out
}

/// What the connector knows when classifying, so the causes can name the actual values.
#[derive(Clone, Debug)]
pub(crate) struct Context {
    pub(crate) user: String,
    pub(crate) signing_host: String,
    pub(crate) port: u16,
    pub(crate) signing_port: u16,
    pub(crate) region: String,
    pub(crate) dial_host: String,
    pub(crate) bundle: String,
}

/// The usual reasons RDS refuses an IAM token, most likely first.
pub(crate) fn rejection_causes(ctx: &Context) -> Vec<String> {
    vec![
        format!(
            "the user was not created for IAM: `CREATE USER '{}' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'` \
             (MariaDB/MySQL on RDS)",
            ctx.user
        ),
        "IAM database authentication is not enabled on the instance or cluster (`rds-iam enable`)".to_owned(),
        format!(
            "the identity lacks `rds-db:connect` on arn:{}:rds-db:{}:ACCOUNT:dbuser:RESOURCE_ID/{} (`rds-iam policy`)",
            rds_iam_token::Partition::from_region(&ctx.region).as_str(),
            ctx.region,
            ctx.user
        ),
        format!(
            "the token was signed for the wrong region or host: signed for {}:{} in {} (`rds-iam token inspect`)",
            ctx.signing_host, ctx.signing_port, ctx.region
        ),
        "the token or the credentials that signed it expired, or this machine's clock is off by more than 5 minutes"
            .to_owned(),
    ]
}

/// Classifies a driver error into something a person can act on.
pub(crate) fn classify(err: mysql::Error, ctx: &Context) -> ConnectError {
    match err {
        mysql::Error::MySqlError(e) => server_error(e.code, &e.state, &e.message, ctx),
        mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => ConnectError::ServerWithoutTls,
        mysql::Error::DriverError(mysql::DriverError::CouldNotConnect(detail)) => ConnectError::Unreachable {
            host: ctx.dial_host.clone(),
            port: ctx.port,
            detail: detail.map_or_else(
                || "connection failed".to_owned(),
                |(_, msg, kind)| format!("{msg} ({kind:?})"),
            ),
        },
        mysql::Error::DriverError(mysql::DriverError::ConnectTimeout) => ConnectError::Unreachable {
            host: ctx.dial_host.clone(),
            port: ctx.port,
            detail: "connect timed out".to_owned(),
        },
        mysql::Error::TlsError(e) => tls(&e.to_string(), find_rustls(&e), ctx),
        mysql::Error::IoError(e) | mysql::Error::CodecError(PacketCodecError::Io(e)) => io(&e, ctx),
        other => ConnectError::Mysql(other.to_string()),
    }
}

/// An error the server answered a login with: 1045 / 28000 is a rejected token.
pub(crate) fn server_error(code: u16, state: &str, message: &str, ctx: &Context) -> ConnectError {
    let server_message = format!("ERROR {code} ({state}): {message}");
    if code == 1045 || state == "28000" {
        ConnectError::TokenRejected {
            server_message,
            causes: rejection_causes(ctx),
        }
    } else {
        ConnectError::Mysql(server_message)
    }
}

/// I/O errors carry rustls's verdict inside (the TLS handshake runs on the first read or write).
pub(crate) fn io(e: &std::io::Error, ctx: &Context) -> ConnectError {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(rustls_error) => tls(&rustls_error.to_string(), Some(rustls_error), ctx),
        None if matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::TimedOut
        ) =>
        {
            ConnectError::Unreachable {
                host: ctx.dial_host.clone(),
                port: ctx.port,
                detail: e.to_string(),
            }
        }
        None => ConnectError::Mysql(e.to_string()),
    }
}

fn find_rustls<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current: Option<&'a (dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

pub(crate) fn tls(detail: &str, error: Option<&rustls::Error>, ctx: &Context) -> ConnectError {
    use rustls::CertificateError as C;
    match error {
        Some(rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature | C::UnhandledCriticalExtension)) => {
            ConnectError::UntrustedCertificate {
                bundle: ctx.bundle.clone(),
                detail: detail.to_owned(),
            }
        }
        Some(rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. })) => {
            ConnectError::HostnameMismatch {
                host: ctx.dial_host.clone(),
                detail: detail.to_owned(),
            }
        }
        Some(rustls::Error::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        )) => ConnectError::CertificateTime {
            detail: detail.to_owned(),
        },
        _ => ConnectError::Tls(detail.to_owned()),
    }
}

impl ConnectError {
    /// Whether the server refused the token itself (as opposed to TLS, network or local problems).
    pub fn is_token_rejected(&self) -> bool {
        matches!(self, ConnectError::TokenRejected { .. })
    }
}
