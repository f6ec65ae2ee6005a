//! [`TlsLogin`]: the one place the `mysql` driver's options for a login over verified TLS are built — for IAM
//! tokens ([`crate::IamConnector`]) and for passwords (`rds-iam-admin`'s master login).

use std::path::PathBuf;
use std::time::Duration;

use mysql::{Conn, Opts, OptsBuilder, SslOpts};

use crate::error::{Context, classify};
use crate::{BundleProblem, ConnectError, TlsCheck};

/// What a login sends as its password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordKind {
    /// An IAM auth token: sent as `mysql_clear_password` when the server asks (inside TLS).
    IamToken,
    /// A password: only ever used by the hashing plugins (`mysql_native_password`, `caching_sha2_password`).
    Password,
}

/// A login with the `mysql` driver over TLS checked against a CA bundle: TLS is always on (the driver refuses a
/// server without TLS before it authenticates), a loopback connection never silently moves to the Unix socket, and
/// a failure is classified ([`ConnectError`]).
///
/// ```
/// use rds_iam_mysql::{PasswordKind, TlsLogin};
///
/// let login = TlsLogin::new("mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com", 3306, "admin", "global-bundle.pem");
/// // No bundle file here: refused before anything is dialed.
/// assert!(login.opts("hunter2", PasswordKind::Password).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct TlsLogin {
    host: String,
    port: u16,
    user: String,
    database: Option<String>,
    ca_bundle: PathBuf,
    check: TlsCheck,
    connect_timeout: Duration,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl TlsLogin {
    /// A login to `host:port` as `user`, trusting the roots in the PEM file `ca_bundle` (and, as the driver always
    /// does, Mozilla's public roots; with the name checked that changes little).
    pub fn new(host: impl Into<String>, port: u16, user: impl Into<String>, ca_bundle: impl Into<PathBuf>) -> Self {
        TlsLogin {
            host: host.into(),
            port,
            user: user.into(),
            database: None,
            ca_bundle: ca_bundle.into(),
            check: TlsCheck::Full,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Some(Duration::from_secs(60)),
            write_timeout: Some(Duration::from_secs(60)),
        }
    }

    /// The default database of the session.
    pub fn with_database(mut self, database: Option<impl Into<String>>) -> Self {
        self.database = database.map(Into::into);
        self
    }

    /// Weakens certificate checking. Logged as a warning at every login.
    pub fn with_tls_check(mut self, check: TlsCheck) -> Self {
        self.check = check;
        self
    }

    /// Limit for the TCP connect (default 10 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Limits for socket reads and writes (default 60 s each; `None` waits forever).
    pub fn with_io_timeouts(mut self, read: Option<Duration>, write: Option<Duration>) -> Self {
        self.read_timeout = read;
        self.write_timeout = write;
        self
    }

    /// The driver's options for one login with `password`. The password is inside: `Opts`'s `Debug` prints it,
    /// so never log these options.
    pub fn opts(&self, password: &str, kind: PasswordKind) -> Result<Opts, ConnectError> {
        if !self.ca_bundle.is_file() {
            return Err(ConnectError::CaBundle {
                path: self.ca_bundle.clone(),
                problem: BundleProblem::Missing,
                source: None,
            });
        }
        match self.check {
            TlsCheck::Full => {}
            TlsCheck::DangerSkipHostname => {
                tracing::warn!(host = self.host, "TLS: the server certificate's name is not checked")
            }
            TlsCheck::DangerAcceptAnyCertificate => {
                tracing::warn!(host = self.host, "TLS: the server certificate is not checked at all")
            }
        }
        let ssl = SslOpts::default()
            .with_root_cert_path(Some(self.ca_bundle.clone()))
            .with_danger_skip_domain_validation(self.check != TlsCheck::Full)
            .with_danger_accept_invalid_certs(self.check == TlsCheck::DangerAcceptAnyCertificate);
        let builder = OptsBuilder::new()
            .ip_or_hostname(Some(self.host.as_str()))
            .tcp_port(self.port)
            .user(Some(self.user.as_str()))
            .pass(Some(password))
            .db_name(self.database.as_deref())
            // The guard: TLS options are always set, so the driver refuses a server without TLS before
            // authenticating, and a loopback connection never silently switches to the Unix socket.
            .ssl_opts(Some(ssl))
            .prefer_socket(false)
            .socket(None::<String>)
            .enable_cleartext_plugin(kind == PasswordKind::IamToken)
            .tcp_connect_timeout(Some(self.connect_timeout))
            .read_timeout(self.read_timeout)
            .write_timeout(self.write_timeout);
        Ok(Opts::from(builder))
    }

    /// Logs in with a password (not an IAM token). A refusal of the password is [`ConnectError::Server`] (error
    /// 1045 means a wrong user or password here, not a token problem); TLS and network failures are classified as
    /// for IAM logins.
    pub fn connect_with_password(&self, password: &str) -> Result<Conn, ConnectError> {
        rds_iam_credentials::install_crypto_provider();
        let opts = self.opts(password, PasswordKind::Password)?;
        Conn::new(opts).map_err(
            |e| match classify(e, &self.context(self.host.clone(), self.port, String::new())) {
                ConnectError::TokenRejected { server, .. } => ConnectError::Server(server),
                other => other,
            },
        )
    }

    pub(crate) fn context(&self, signing_host: String, signing_port: u16, region: String) -> Context {
        Context {
            user: self.user.clone(),
            signing_host,
            port: self.port,
            signing_port,
            region,
            dial_host: self.host.clone(),
            bundle: self.ca_bundle.clone(),
        }
    }
}
