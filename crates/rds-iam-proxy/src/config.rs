//! [`ProxyConfig`]: which database the proxy dials, how it checks its certificate and how it logs in.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rds_iam_mysql::{ConnectError, ConnectRateLimiter, IamConnector, TlsCheck};
use rds_iam_token::sync::lock;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;

/// How the proxy logs in to the database for each client.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Login {
    /// With an IAM token for the user the client names, from this connector (its credentials, token cache and
    /// signing host, port and region). The client's own password, if it sends one, is ignored.
    Iam(Box<IamConnector>),
    /// With the client's own authentication exchange, relayed unchanged inside the proxy's TLS: for a password
    /// login (the master user creating IAM users) through a tunnel, where the driver could not check the
    /// certificate against the endpoint's name or the CA bundle alone.
    Relay,
}

/// Where and how the proxy connects. Build it with [`ProxyConfig::iam`] or [`ProxyConfig::relay`].
#[derive(Clone)]
pub struct ProxyConfig {
    pub(crate) login: Login,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The endpoint's name (the signing host, also through a tunnel): how logs and metrics name the instance.
    pub(crate) instance: String,
    pub(crate) server_name: ServerName<'static>,
    pub(crate) tls: Arc<ClientConfig>,
    pub(crate) connect_timeout: Duration,
    pub(crate) allowed_users: Vec<String>,
    pub(crate) limiter: Arc<ConnectRateLimiter>,
    /// Logins between the dial and the database's answer: a storm of clients opens at most this many database
    /// connections at a time, each of which then waits for the rate's permit only briefly (a database drops a
    /// connection that stays silent during its handshake, MariaDB after 10 s).
    pub(crate) in_flight: Arc<tokio::sync::Semaphore>,
    /// The users that logged in (or may log in) through this proxy: whose tokens are kept signed ahead.
    pub(crate) users: Arc<Mutex<BTreeSet<String>>>,
    /// The server's metrics (none for an embedded proxy).
    pub(crate) metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// Logins in flight at once, per configuration.
const IN_FLIGHT_LOGINS: usize = 32;

/// The most users whose tokens are kept signed ahead (others are signed when they log in).
const REMEMBERED_USERS: usize = 64;

impl ProxyConfig {
    /// IAM logins to the connector's target: the proxy dials its host and port, checks the certificate against
    /// the connector's CA bundle **alone** and the *signing host's* name (the endpoint, also through a tunnel;
    /// waived only under [`TlsCheck::DangerSkipHostname`], and even then the chain must lead to the bundle), and
    /// logs in with a token from [`IamConnector::token_for_user`].
    pub fn iam(connector: IamConnector) -> Result<ProxyConfig, ConnectError> {
        let tls = connector.tls_client_config()?;
        let target = connector.target();
        let (host, port, server_name) = (
            target.host().to_owned(),
            target.port(),
            server_name(target.signing_host())?,
        );
        let connect_timeout = connector.connect_timeout();
        let instance = target.signing_host().to_owned();
        Ok(ProxyConfig {
            login: Login::Iam(Box::new(connector)),
            host,
            port,
            instance,
            server_name,
            tls,
            connect_timeout,
            allowed_users: Vec::new(),
            limiter: Arc::default(),
            in_flight: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT_LOGINS)),
            users: Arc::default(),
            metrics: None,
        })
    }

    /// Password logins relayed inside the proxy's TLS to `host:port`, whose certificate must chain to a root of
    /// the PEM file `ca_bundle` alone and (unless `check` waives it) be valid for `server_name` — the endpoint's
    /// name when `host` is a tunnel.
    pub fn relay(
        host: impl Into<String>,
        port: u16,
        server_name: &str,
        ca_bundle: &Path,
        check: TlsCheck,
    ) -> Result<ProxyConfig, ConnectError> {
        Ok(ProxyConfig {
            login: Login::Relay,
            host: host.into(),
            port,
            instance: server_name.to_owned(),
            server_name: self::server_name(server_name)?,
            tls: rds_iam_mysql::tls_client_config(ca_bundle, check)?,
            connect_timeout: Duration::from_secs(10),
            allowed_users: Vec::new(),
            limiter: Arc::default(),
            in_flight: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT_LOGINS)),
            users: Arc::default(),
            metrics: None,
        })
    }

    /// Only these DB users may log in through the proxy (default: any user the client names). A client naming
    /// another user is refused with error 1045 before anything is signed or sent.
    pub fn allow_users(mut self, users: impl IntoIterator<Item = impl Into<String>>) -> ProxyConfig {
        self.allowed_users = users.into_iter().map(Into::into).collect();
        for user in &self.allowed_users {
            self.remember_user(user);
        }
        self
    }

    /// Keeps new logins to the database below this limiter's rate (default: [`ConnectRateLimiter::default`], 150
    /// a second in bursts of 20, below the 200 new IAM connections a second RDS accepts per DB). Share one limiter
    /// between configurations that reach the same DB. Clients beyond the rate wait; they are not refused.
    pub fn with_login_rate(mut self, limiter: Arc<ConnectRateLimiter>) -> ProxyConfig {
        self.limiter = limiter;
        self
    }

    /// The DB users allowed through this proxy (empty: any user).
    pub fn allowed_users(&self) -> &[String] {
        &self.allowed_users
    }

    /// The IAM connector, for an IAM login.
    pub fn connector(&self) -> Option<&IamConnector> {
        match &self.login {
            Login::Iam(connector) => Some(connector),
            Login::Relay => None,
        }
    }

    /// The limit for the TCP connection, the TLS handshake and the login together (default: the connector's
    /// connect timeout, else 10 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> ProxyConfig {
        self.connect_timeout = timeout;
        self
    }

    /// The host and port dialed.
    pub fn address(&self) -> (&str, u16) {
        (&self.host, self.port)
    }

    /// Refuses a user outside [`ProxyConfig::allow_users`] (1045, before anything is signed or sent).
    pub(crate) fn check_user(&self, user: &str) -> Result<(), crate::session::Refusal> {
        if self.allowed_users.is_empty() || self.allowed_users.iter().any(|allowed| allowed == user) {
            return Ok(());
        }
        Err(crate::session::Refusal::denied(format!(
            "the DB user '{user}' may not log in through this proxy (allowed: {})",
            self.allowed_users.join(", ")
        ))
        .because("user_not_allowed"))
    }

    /// Notes a user whose token is worth keeping signed ahead.
    pub(crate) fn remember_user(&self, user: &str) {
        let mut users = lock(&self.users);
        if users.len() < REMEMBERED_USERS || users.contains(user) {
            users.insert(user.to_owned());
        }
    }

    /// The users whose tokens are kept signed ahead.
    pub(crate) fn remembered_users(&self) -> Vec<String> {
        lock(&self.users).iter().cloned().collect()
    }

    /// Waits for the limiter's permission to log in to the database once more.
    pub(crate) async fn login_permit(&self) {
        while let Err(wait) = self.limiter.try_acquire_at(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("login", &self.login)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("server_name", &self.server_name)
            .field("connect_timeout", &self.connect_timeout)
            .field("allowed_users", &self.allowed_users)
            .field("login_rate", &self.limiter.per_second())
            .finish_non_exhaustive()
    }
}

fn server_name(name: &str) -> Result<ServerName<'static>, ConnectError> {
    ServerName::try_from(name.to_owned()).map_err(|_| ConnectError::InvalidServerName { name: name.to_owned() })
}
