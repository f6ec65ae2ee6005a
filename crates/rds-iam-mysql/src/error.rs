//! [`ConnectError`]: why a login failed, as a kind with its facts and its cause; [`Cause`]: why a server may have
//! refused a token. Messages are in library terms; the `rds-iam` CLI adds its own advice (flags, commands).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use mysql_common::proto::codec::error::PacketCodecError;
use rds_iam_credentials::CredentialsError;

use crate::TlsCheck;

/// An error and its sources, `: `-separated, as anyhow's `{:#}` prints a chain: for one-line messages, such as the
/// ERR packet `rds-iam-proxy` sends a client, or a CLI's advice.
///
/// ```
/// use rds_iam_mysql::{ConnectError, error_chain};
///
/// let err = ConnectError::Unreachable {
///     host: "db".into(),
///     port: 3306,
///     source: std::sync::Arc::new(std::io::Error::other("connection refused")),
/// };
/// assert!(error_chain(&err).ends_with(": connection refused"));
/// ```
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// The underlying error of a [`ConnectError`], shared (errors stay cheap to clone).
pub type ErrorSource = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Why a connection could not be made. Each variant carries what was involved and, where there is one, the
/// underlying error as its [`std::error::Error::source`]; none contains the token.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The target names no region and its signing host is not an RDS endpoint name to read one from.
    #[error(
        "no region to sign for: {signing_host} is not an RDS endpoint name; give the target a region \
         (Target::with_region) or sign for the RDS endpoint (Target::with_signing_host)"
    )]
    NoRegion {
        /// The name the token would be signed for.
        signing_host: String,
    },
    /// A full TLS check through the MySQL driver cannot pass: it compares the certificate with the name it dials,
    /// and the certificate is for another name (a tunnel, a CNAME, an IP address).
    #[error(
        "the TLS name check would compare {dial_host} with the certificate of {signing_host}, which cannot match: \
         the MySQL driver checks the name it dials; connect to {signing_host} directly, or check the chain only \
         (TlsCheck::DangerSkipHostname) over a tunnel you control"
    )]
    NameCannotMatch {
        /// The host dialed.
        dial_host: String,
        /// The endpoint the token is signed for.
        signing_host: String,
    },
    /// The CA bundle file cannot be used.
    #[error("cannot use the CA bundle {}: {problem}", path.display())]
    CaBundle {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: BundleProblem,
        /// The underlying error, if any.
        #[source]
        source: Option<ErrorSource>,
    },
    /// Not a name a TLS certificate can be checked against.
    #[error("{name} is not a valid TLS server name")]
    InvalidServerName {
        /// The name.
        name: String,
    },
    /// The TLS probe and logins that do their own TLS always verify the chain: they refuse to accept any certificate.
    #[error(
        "{check:?} is not supported here: the TLS probe and logins that do their own TLS always verify the \
         certificate chain against the CA bundle"
    )]
    UnsupportedTlsCheck {
        /// The check asked for.
        check: TlsCheck,
    },
    /// The target's host, port, user or database is not valid.
    #[error("the target is not valid")]
    InvalidTarget(#[source] rds_iam_token::Error),
    /// No credentials to sign the token with.
    #[error("no credentials to sign the token")]
    Credentials(#[source] Arc<CredentialsError>),
    /// The token could not be signed (the target's user, host or port is not valid).
    #[error("could not sign the token")]
    Token(#[source] rds_iam_token::Error),
    /// The server refused the token (MySQL error 1045 / SQLSTATE 28000).
    #[error("{}", token_rejected(.server, .causes))]
    TokenRejected {
        /// What the server said (it never contains the token).
        server: ServerMessage,
        /// The usual causes, most likely first.
        causes: Vec<Cause>,
    },
    /// The server's certificate chain does not lead to a root in the CA bundle.
    #[error("the server's TLS certificate is not issued by a CA in {}", bundle.display())]
    UntrustedCertificate {
        /// The CA bundle used.
        bundle: PathBuf,
        /// What the TLS library said.
        #[source]
        source: ErrorSource,
    },
    /// The certificate is valid, but for another name.
    #[error("the server's TLS certificate is not valid for {host}")]
    HostnameMismatch {
        /// The name that was checked.
        host: String,
        /// What the TLS library said.
        #[source]
        source: ErrorSource,
    },
    /// The certificate has expired or is not yet valid.
    #[error("the server's TLS certificate is expired or not yet valid (or this machine's clock is off)")]
    CertificateTime {
        /// What the TLS library said.
        #[source]
        source: ErrorSource,
    },
    /// Any other TLS failure.
    #[error("TLS with the server failed")]
    Tls {
        /// What failed.
        #[source]
        source: ErrorSource,
    },
    /// The server does not offer TLS; the token was not sent.
    #[error(
        "the server does not offer TLS, so the token was not sent (IAM tokens are only accepted over TLS, and \
         sending one in clear text would expose it); is this the right host and port?"
    )]
    ServerWithoutTls,
    /// The server could not be reached.
    #[error("could not reach {host}:{port}; check the host, port, security groups and network path")]
    Unreachable {
        /// The host dialed.
        host: String,
        /// The port.
        port: u16,
        /// The cause.
        #[source]
        source: ErrorSource,
    },
    /// Something answered, but not like a MySQL server.
    #[error("{address} did not greet like a MySQL server; is this the right port?")]
    NotMysql {
        /// The address dialed.
        address: String,
        /// What was wrong.
        #[source]
        source: ErrorSource,
    },
    /// The connection was rate-limited locally and the wait would exceed the caller's limit.
    #[error("too many new IAM connections: the local limit of {per_second}/s was reached")]
    RateLimited {
        /// The configured rate.
        per_second: f64,
    },
    /// The server refused with an error other than a rejected token.
    #[error("the server refused: {0}")]
    Server(ServerMessage),
    /// Any other error of the MySQL driver.
    #[error("the MySQL driver failed")]
    Driver(#[source] ErrorSource),
}

/// What is wrong with a CA bundle file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BundleProblem {
    /// There is no such file.
    Missing,
    /// It could not be read, or a certificate in it could not be parsed.
    Unreadable,
    /// It holds no certificate.
    NoCertificate,
}

impl fmt::Display for BundleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BundleProblem::Missing => "it does not exist",
            BundleProblem::Unreadable => "it cannot be read as PEM certificates",
            BundleProblem::NoCertificate => "it holds no certificate",
        })
    }
}

/// An error a server answered with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerMessage {
    /// The MySQL error code (1045 for a refused login).
    pub code: u16,
    /// The SQLSTATE (`28000` for a refused login).
    pub state: String,
    /// The server's text.
    pub message: String,
}

impl ServerMessage {
    /// A server's error.
    pub fn new(code: u16, state: impl Into<String>, message: impl Into<String>) -> ServerMessage {
        ServerMessage {
            code,
            state: state.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ServerMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ERROR {} ({}): {}", self.code, self.state, self.message)
    }
}

/// A usual reason for RDS to refuse an IAM token, with this login's values.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// The DB user was not created for IAM authentication.
    NotAnIamUser {
        /// The DB user.
        user: String,
    },
    /// IAM database authentication is not enabled on the instance or cluster.
    IamAuthDisabled,
    /// The identity that signed lacks `rds-db:connect` on the user's `dbuser` ARN.
    NoConnectPermission {
        /// The partition (`aws`, `aws-cn`, `aws-us-gov`).
        partition: String,
        /// The region signed for.
        region: String,
        /// The DB user.
        user: String,
    },
    /// The token was signed for another region, host or port than the database's.
    WrongRegionOrHost {
        /// The host signed for.
        host: String,
        /// The port signed for.
        port: u16,
        /// The region signed for.
        region: String,
    },
    /// The token or the credentials that signed it expired, or this machine's clock is off.
    ExpiredOrClockSkew,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::NotAnIamUser { user } => write!(
                f,
                "the user was not created for IAM: `CREATE USER '{user}' IDENTIFIED WITH AWSAuthenticationPlugin AS \
                 'RDS'` (MariaDB/MySQL on RDS)"
            ),
            Cause::IamAuthDisabled => {
                f.write_str("IAM database authentication is not enabled on the instance or cluster")
            }
            Cause::NoConnectPermission {
                partition,
                region,
                user,
            } => write!(
                f,
                "the identity lacks `rds-db:connect` on arn:{partition}:rds-db:{region}:ACCOUNT:dbuser:RESOURCE_ID/{user}"
            ),
            Cause::WrongRegionOrHost { host, port, region } => write!(
                f,
                "the token was signed for the wrong region or host: signed for {host}:{port} in {region}"
            ),
            Cause::ExpiredOrClockSkew => f.write_str(
                "the token or the credentials that signed it expired, or this machine's clock is off by more than 5 \
                 minutes",
            ),
        }
    }
}

impl From<CredentialsError> for ConnectError {
    fn from(err: CredentialsError) -> Self {
        ConnectError::Credentials(Arc::new(err))
    }
}

impl From<rds_iam_token::Error> for ConnectError {
    fn from(err: rds_iam_token::Error) -> Self {
        ConnectError::Token(err)
    }
}

fn token_rejected(server: &ServerMessage, causes: &[Cause]) -> String {
    let mut out = format!("the server rejected the IAM token ({server}); usual causes:");
    for cause in causes {
        out.push_str("\n  - ");
        out.push_str(&cause.to_string());
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
    pub(crate) bundle: PathBuf,
}

/// The usual reasons RDS refuses an IAM token, most likely first.
pub(crate) fn rejection_causes(ctx: &Context) -> Vec<Cause> {
    vec![
        Cause::NotAnIamUser { user: ctx.user.clone() },
        Cause::IamAuthDisabled,
        Cause::NoConnectPermission {
            partition: rds_iam_token::Partition::from_region(&ctx.region).as_str().to_owned(),
            region: ctx.region.clone(),
            user: ctx.user.clone(),
        },
        Cause::WrongRegionOrHost {
            host: ctx.signing_host.clone(),
            port: ctx.signing_port,
            region: ctx.region.clone(),
        },
        Cause::ExpiredOrClockSkew,
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
            source: message_source(detail.map_or_else(
                || "connection failed".to_owned(),
                |(_, msg, kind)| format!("{msg} ({kind:?})"),
            )),
        },
        mysql::Error::DriverError(mysql::DriverError::ConnectTimeout) => ConnectError::Unreachable {
            host: ctx.dial_host.clone(),
            port: ctx.port,
            source: message_source("connect timed out".to_owned()),
        },
        mysql::Error::TlsError(e) => {
            let rustls = find_rustls(&e).cloned();
            tls(Arc::new(e), rustls.as_ref(), ctx)
        }
        mysql::Error::IoError(e) | mysql::Error::CodecError(PacketCodecError::Io(e)) => io(e, ctx),
        other => ConnectError::Driver(message_source(other.to_string())),
    }
}

/// An error the server answered a login with: 1045 / 28000 is a rejected token.
pub(crate) fn server_error(code: u16, state: &str, message: &str, ctx: &Context) -> ConnectError {
    let server = ServerMessage::new(code, state, message);
    if code == 1045 || state == "28000" {
        ConnectError::TokenRejected {
            server,
            causes: rejection_causes(ctx),
        }
    } else {
        ConnectError::Server(server)
    }
}

/// I/O errors carry rustls's verdict inside (the TLS handshake runs on the first read or write).
pub(crate) fn io(e: std::io::Error, ctx: &Context) -> ConnectError {
    let rustls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned();
    match rustls {
        Some(rustls_error) => tls(Arc::new(rustls_error.clone()), Some(&rustls_error), ctx),
        None if matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::TimedOut
        ) =>
        {
            ConnectError::Unreachable {
                host: ctx.dial_host.clone(),
                port: ctx.port,
                source: Arc::new(e),
            }
        }
        None => ConnectError::Driver(Arc::new(e)),
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

/// A text as an error source (for causes that arrive as text only).
pub(crate) fn message_source(message: String) -> ErrorSource {
    Arc::new(Message(message))
}

#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

/// Classifies a TLS failure by rustls's verdict.
pub(crate) fn tls(source: ErrorSource, error: Option<&rustls::Error>, ctx: &Context) -> ConnectError {
    use rustls::CertificateError as C;
    match error {
        Some(rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature | C::UnhandledCriticalExtension)) => {
            ConnectError::UntrustedCertificate {
                bundle: ctx.bundle.clone(),
                source,
            }
        }
        Some(rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. })) => {
            ConnectError::HostnameMismatch {
                host: ctx.dial_host.clone(),
                source,
            }
        }
        Some(rustls::Error::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        )) => ConnectError::CertificateTime { source },
        _ => ConnectError::Tls { source },
    }
}

impl ConnectError {
    /// Whether the server refused the token itself (as opposed to TLS, network or local problems).
    pub fn is_token_rejected(&self) -> bool {
        matches!(self, ConnectError::TokenRejected { .. })
    }

    /// Whether the failure was at the network or TLS level (the server, or the path to it, may have changed).
    pub fn is_network_or_tls(&self) -> bool {
        matches!(
            self,
            ConnectError::Unreachable { .. }
                | ConnectError::UntrustedCertificate { .. }
                | ConnectError::HostnameMismatch { .. }
                | ConnectError::CertificateTime { .. }
                | ConnectError::Tls { .. }
                | ConnectError::ServerWithoutTls
                | ConnectError::NotMysql { .. }
        )
    }

    /// The causes of a rejected token, most likely first (empty for other errors).
    pub fn causes(&self) -> &[Cause] {
        match self {
            ConnectError::TokenRejected { causes, .. } => causes,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_failed_and_keep_the_cause_as_source() {
        let err = ConnectError::Unreachable {
            host: "db".into(),
            port: 3306,
            source: message_source("connection refused".into()),
        };
        assert_eq!(
            err.to_string(),
            "could not reach db:3306; check the host, port, security groups and network path"
        );
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("connection refused"));

        let rejected = ConnectError::TokenRejected {
            server: ServerMessage::new(1045, "28000", "Access denied"),
            causes: vec![Cause::IamAuthDisabled],
        };
        assert_eq!(
            rejected.to_string(),
            "the server rejected the IAM token (ERROR 1045 (28000): Access denied); usual causes:\n  - IAM database \
             authentication is not enabled on the instance or cluster"
        );
        assert_eq!(rejected.causes(), &[Cause::IamAuthDisabled]);
        // Library messages name library settings, not the CLI's flags or commands.
        for err in [
            ConnectError::NoRegion {
                signing_host: "10.0.0.1".into(),
            },
            ConnectError::NameCannotMatch {
                dial_host: "127.0.0.1".into(),
                signing_host: "db".into(),
            },
        ] {
            let text = err.to_string();
            assert!(!text.contains("--") && !text.contains("rds-iam "), "{text}");
        }
    }
}
