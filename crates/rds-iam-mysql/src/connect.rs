//! [`IamConnector`]: a fresh or cached token, then a TLS-only login with `mysql_clear_password`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mysql::{Conn, Opts};
use rds_iam_credentials::{Clock, ProvideCredentials};
use rds_iam_token::{AuthToken, TokenCache, TokenRequest};

use crate::error::{Context, classify};
use crate::{ConnectError, IamConn, PasswordKind, Target, TlsLogin};

/// How the server's certificate is checked. Anything but [`TlsCheck::Full`] is a deliberate, logged risk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsCheck {
    /// The chain to a root in the CA bundle, and the dial host against the certificate (the default).
    Full,
    /// The chain only, not the name: for tunnels, where the dial host (`127.0.0.1`) can never match the
    /// certificate's RDS name. Safe only over a tunnel you control.
    ///
    /// The MySQL driver always trusts Mozilla's public roots besides the bundle (mysql 28 has no switch to leave
    /// them out), which without a name check would admit any publicly trusted certificate. So before its first
    /// login (and again after a connect that failed at the network or TLS level) a connector runs
    /// [`crate::probe_tls_host`] against the bundle alone (a handshake that sends nothing secret) and refuses a
    /// chain that does not lead to it; a certificate not valid for the signing host is logged as a warning. That
    /// catches a wrong bundle, a tunnel to the wrong place and a middlebox that intercepts every connection; it
    /// cannot bind the later logins' connections, which the driver checks on its own.
    DangerSkipHostname,
    /// Nothing: any certificate is accepted. Traffic is still encrypted, but anyone in the path can read the token.
    DangerAcceptAnyCertificate,
}

/// Logs in to RDS / Aurora MySQL and MariaDB with IAM tokens.
///
/// - TLS is mandatory and verified against the CA bundle you give (the RDS bundle from `rds-iam-ca`); the token is
///   sent only after TLS is established. A server without TLS gets no token ([`ConnectError::ServerWithoutTls`]).
/// - Tokens come from a [`TokenCache`] (shared across clones and with the pool), signed with the credentials of the
///   provider at the time of each new connection.
/// - Unix-socket shortcuts are off (`prefer_socket(false)`): a loopback connection stays a TLS connection.
/// - Errors are classified: a rejected token lists the usual causes with this target's values.
///
/// ```no_run
/// use rds_iam_credentials::{DefaultChain, ProviderConfig};
/// use rds_iam_mysql::{IamConnector, Target};
/// use mysql::prelude::Queryable;
///
/// let target = Target::new("mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com", 3306, "app")?;
/// let connector = IamConnector::new(target, DefaultChain::builder().build(), "/etc/rds/global-bundle.pem");
/// let mut conn = connector.connect()?;
/// let one: Option<u8> = conn.query_first("SELECT 1")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct IamConnector {
    target: Target,
    credentials: Arc<dyn ProvideCredentials>,
    ca_bundle: PathBuf,
    cache: Arc<TokenCache>,
    clock: Clock,
    connect_timeout: Duration,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    tls_check: TlsCheck,
    expires_in: Duration,
    /// Set once [`TlsCheck::DangerSkipHostname`]'s chain check passed (shared by clones).
    chain_checked: Arc<AtomicBool>,
}

impl IamConnector {
    /// Connects to `target`, signing with `credentials`, trusting the roots in the PEM file `ca_bundle`.
    pub fn new(target: Target, credentials: impl ProvideCredentials + 'static, ca_bundle: impl Into<PathBuf>) -> Self {
        Self::with_shared_credentials(target, Arc::new(credentials), ca_bundle)
    }

    /// Like [`IamConnector::new`], with a provider shared with other users.
    pub fn with_shared_credentials(
        target: Target,
        credentials: Arc<dyn ProvideCredentials>,
        ca_bundle: impl Into<PathBuf>,
    ) -> Self {
        Self {
            target,
            credentials,
            ca_bundle: ca_bundle.into(),
            cache: Arc::new(TokenCache::new()),
            clock: Clock::system(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Some(Duration::from_secs(60)),
            write_timeout: Some(Duration::from_secs(60)),
            tls_check: TlsCheck::Full,
            expires_in: rds_iam_token::MAX_EXPIRES_IN,
            chain_checked: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Reads the time from `clock` (token signing and reuse).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Shares a token cache (e.g. between connectors for several users of one program).
    pub fn with_token_cache(mut self, cache: Arc<TokenCache>) -> Self {
        self.cache = cache;
        self
    }

    /// Limit for TCP connect (default 10 s).
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

    /// Token lifetime (default and maximum [`rds_iam_token::MAX_EXPIRES_IN`], 900 s).
    pub fn with_token_lifetime(mut self, expires_in: Duration) -> Self {
        self.expires_in = expires_in;
        self
    }

    /// Weakens certificate checking. Logged as a warning at every connect.
    pub fn with_tls_check(mut self, check: TlsCheck) -> Self {
        self.tls_check = check;
        self
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The CA bundle file.
    pub fn ca_bundle(&self) -> &Path {
        &self.ca_bundle
    }

    /// How the server's certificate is checked.
    pub fn tls_check(&self) -> TlsCheck {
        self.tls_check
    }

    /// The limit for TCP connect.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// A token for the next login: from the cache, or signed now with the provider's current credentials.
    pub fn token(&self) -> Result<AuthToken, ConnectError> {
        self.token_for_user(self.target.user())
    }

    /// A token for `user` at this target's endpoint (signing host, port, region), from the cache or signed now: for
    /// code that logs in as the user its own client names (the `rds-iam-proxy` crate).
    pub fn token_for_user(&self, user: &str) -> Result<AuthToken, ConnectError> {
        let credentials = self.credentials.provide()?;
        Ok(self
            .cache
            .get_or_sign(&self.token_request(user)?, &credentials, self.clock.now())?)
    }

    /// A new token for `user` in place of `rejected`, which the database refused although it came from the cache
    /// ([`TokenCache::replace_rejected`]): for one retry with a fresh token.
    pub fn token_after_rejection(&self, user: &str, rejected: &AuthToken) -> Result<AuthToken, ConnectError> {
        let credentials = self.credentials.provide()?;
        Ok(self
            .cache
            .replace_rejected(&self.token_request(user)?, &credentials, self.clock.now(), rejected)?)
    }

    fn token_request(&self, user: &str) -> Result<TokenRequest, ConnectError> {
        Ok(TokenRequest::new(
            self.target.signing_host(),
            self.target.signing_port(),
            user,
            self.target.required_region()?,
        )?
        .with_expires_in(self.expires_in)?)
    }

    /// The rustls configuration for code that does the TLS of a login itself (the `rds-iam-proxy` crate): the CA
    /// bundle's roots alone, and the signing host's name unless this connector waives it
    /// ([`crate::tls_client_config`]). The TLS server name to use is [`Target::signing_host`] — the endpoint's
    /// name, checked even when the dial host is a tunnel.
    pub fn tls_client_config(&self) -> Result<Arc<rustls::ClientConfig>, ConnectError> {
        if !self.ca_bundle.is_file() {
            return Err(self.missing_bundle());
        }
        crate::tls_client_config(&self.ca_bundle, self.tls_check)
    }

    /// Classifies a failed login that other code performed (the `rds-iam-proxy` crate) as [`IamConnector::connect`]
    /// would: the server's error `code`, SQLSTATE `state` and `message` for a login as `user`.
    pub fn classify_server_error(&self, user: &str, code: u16, state: &str, message: &str) -> ConnectError {
        let mut ctx = self.context();
        ctx.user = user.to_owned();
        crate::error::server_error(code, state, message, &ctx)
    }

    /// Classifies an I/O error of a connection that other code opened and secured itself (the `rds-iam-proxy`
    /// crate): a rustls verdict inside becomes [`ConnectError::UntrustedCertificate`],
    /// [`ConnectError::HostnameMismatch`] (for the signing host, the name such code checks) and so on.
    pub fn classify_io_error(&self, err: std::io::Error) -> ConnectError {
        let mut ctx = self.context();
        ctx.dial_host = self.target.signing_host().to_owned();
        crate::error::io(err, &ctx)
    }

    fn missing_bundle(&self) -> ConnectError {
        ConnectError::CaBundle {
            path: self.ca_bundle.clone(),
            problem: crate::BundleProblem::Missing,
            source: None,
        }
    }

    /// `mysql::Opts` for one login with `token`. TLS is always on. The password inside is the token: `Opts`'s
    /// `Debug` prints it, so never log these options.
    pub fn opts_with_token(&self, token: &AuthToken) -> Result<Opts, ConnectError> {
        if self.target.dials_another_name() && self.tls_check == TlsCheck::Full {
            return Err(ConnectError::NameCannotMatch {
                dial_host: self.target.host().to_owned(),
                signing_host: self.target.signing_host().to_owned(),
            });
        }
        self.login().opts(token.expose(), PasswordKind::IamToken)
    }

    /// The driver login this connector makes (options, TLS check, timeouts).
    fn login(&self) -> TlsLogin {
        TlsLogin::new(
            self.target.host(),
            self.target.port(),
            self.target.user(),
            self.ca_bundle.clone(),
        )
        .with_database(self.target.database())
        .with_tls_check(self.tls_check)
        .with_connect_timeout(self.connect_timeout)
        .with_io_timeouts(self.read_timeout, self.write_timeout)
    }

    /// Logs in over TLS with a fresh or cached token. The connection's `Debug` is redacted ([`IamConn`]).
    pub fn connect(&self) -> Result<IamConn, ConnectError> {
        rds_iam_credentials::install_crypto_provider();
        if self.tls_check == TlsCheck::DangerSkipHostname {
            self.check_chain_against_the_bundle()?;
        }
        let token = self.token()?;
        let opts = self.opts_with_token(&token)?;
        tracing::debug!(
            host = self.target.host(),
            port = self.target.port(),
            user = self.target.user(),
            signing_host = self.target.signing_host(),
            "connecting with an IAM token"
        );
        Conn::new(opts).map(IamConn::new).map_err(|e| {
            let err = classify(e, &self.context());
            if err.is_network_or_tls() {
                // Something changed behind the tunnel (restarted, pointed elsewhere): check it again next time.
                self.chain_checked.store(false, Ordering::Release);
            }
            err
        })
    }

    /// See [`TlsCheck::DangerSkipHostname`]: the chain must lead to the bundle itself, not only to one of the
    /// driver's built-in public roots. Once per connector (and its clones: a pool's connections) until a connect
    /// fails at the network or TLS level, rather than before every login: each check is a handshake-only
    /// connection, which MySQL counts toward `max_connect_errors` until a login from that host succeeds.
    fn check_chain_against_the_bundle(&self) -> Result<(), ConnectError> {
        if self.chain_checked.load(Ordering::Acquire) {
            return Ok(());
        }
        let (_, probe) = crate::probe_tls_host(
            self.target.host(),
            self.target.port(),
            self.target.signing_host(),
            &self.ca_bundle,
            TlsCheck::DangerSkipHostname,
            self.connect_timeout,
        )?;
        if let Some(waived) = &probe.waived_name_error {
            tracing::warn!(
                signing_host = self.target.signing_host(),
                "TLS: the server certificate is not valid for the signing host either (name check waived): {waived}"
            );
        }
        probe.verdict?;
        self.chain_checked.store(true, Ordering::Release);
        Ok(())
    }

    fn context(&self) -> Context {
        self.login().context(
            self.target.signing_host().to_owned(),
            self.target.signing_port(),
            self.target.region().unwrap_or("?").to_owned(),
        )
    }
}

impl fmt::Debug for IamConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IamConnector")
            .field("target", &self.target)
            .field("ca_bundle", &self.ca_bundle)
            .field("tls_check", &self.tls_check)
            .field("credentials", &self.credentials)
            .field("tokens", &self.cache.len())
            .finish_non_exhaustive()
    }
}
