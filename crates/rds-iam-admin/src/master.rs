//! [`MasterLogin`]: run SQL as the DB's master (password) user over verified TLS, to create IAM users.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder};
use rds_iam_mysql::{TlsCheck, TlsLogin};
use rds_iam_proxy::{EmbeddedProxy, ProxyConfig};
use rds_iam_token::Secret;

use crate::Error;
use crate::error::ErrorSource;

/// A password login as the master user: TLS is mandatory and the server certificate is checked against
/// `ca_bundle` (chain and name). The password is a [`Secret`]: it never appears in `Debug` output or logs.
pub struct MasterLogin {
    host: String,
    port: u16,
    user: String,
    password: Secret<String>,
    ca_bundle: PathBuf,
    connect_timeout: Duration,
    tunnel_to: Option<(String, PathBuf)>,
}

impl MasterLogin {
    /// A login to `host:port` as `user`, trusting the CA certificates in the PEM file `ca_bundle`.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        user: impl Into<String>,
        password: Secret<String>,
        ca_bundle: impl Into<PathBuf>,
    ) -> MasterLogin {
        MasterLogin {
            host: host.into(),
            port,
            user: user.into(),
            password,
            ca_bundle: ca_bundle.into(),
            connect_timeout: Duration::from_secs(10),
            tunnel_to: None,
        }
    }

    /// `host:port` is a tunnel (SSH, SSM) to the DB endpoint `endpoint`. The MySQL driver checks the certificate
    /// against the name it dials, which through a tunnel cannot match, and trusts Mozilla's public roots besides
    /// the bundle. So the login does not do its own TLS: it goes through an embedded `rds-iam-proxy` on a private
    /// Unix socket created under `socket_dir`, which secures the connection itself — chain to the bundle **alone**
    /// and the certificate valid for `endpoint` — and relays the password login inside that TLS. A tunnel to the
    /// wrong DB or a middlebox gets no password, on this and every connection.
    pub fn through_tunnel_to(mut self, endpoint: impl Into<String>, socket_dir: impl Into<PathBuf>) -> MasterLogin {
        self.tunnel_to = Some((endpoint.into(), socket_dir.into()));
        self
    }

    /// How long to wait for the TCP connection (default 10 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> MasterLogin {
        self.connect_timeout = timeout;
        self
    }

    /// Logs in over TLS and runs `statements` in order, stopping at the first that fails (the error names it).
    /// Backslash escapes are turned on for the session first (`NO_BACKSLASH_ESCAPES` removed from `sql_mode`), so
    /// names escaped by [`crate::sql_string`] mean what they say whatever the server's default mode.
    pub fn execute(&self, statements: &[String]) -> Result<(), Error> {
        // The proxy (through a tunnel) lives as long as the connection.
        let (mut conn, _proxy) = self.connect()?;
        let run = |conn: &mut Conn, statement: &str| {
            conn.query_drop(statement).map_err(|e| Error::Statement {
                statement: statement.to_owned(),
                source: Arc::new(e),
            })
        };
        run(
            &mut conn,
            "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')",
        )?;
        for statement in statements {
            run(&mut conn, statement)?;
        }
        Ok(())
    }

    fn connect(&self) -> Result<(Conn, Option<EmbeddedProxy>), Error> {
        rds_iam_credentials::install_crypto_provider();
        if !self.ca_bundle.is_file() {
            return Err(Error::CaBundleMissing {
                path: self.ca_bundle.clone(),
            });
        }
        if let Some((endpoint, socket_dir)) = &self.tunnel_to {
            return self.connect_through_proxy(endpoint, socket_dir);
        }
        tracing::debug!(
            host = self.host,
            port = self.port,
            user = self.user,
            "master login over TLS"
        );
        // The driver login shared with IAM logins (rds-iam-mysql): TLS always, failures classified.
        let conn = TlsLogin::new(&self.host, self.port, &self.user, self.ca_bundle.clone())
            .with_connect_timeout(self.connect_timeout)
            .connect_with_password(self.password.expose())
            .map_err(|e| self.login_failed(Arc::new(e)))?;
        Ok((conn, None))
    }

    /// The login relayed by an embedded proxy that does the TLS itself (see [`MasterLogin::through_tunnel_to`]).
    fn connect_through_proxy(&self, endpoint: &str, socket_dir: &Path) -> Result<(Conn, Option<EmbeddedProxy>), Error> {
        let config = ProxyConfig::relay(&self.host, self.port, endpoint, &self.ca_bundle, TlsCheck::Full)
            .map_err(|e| Error::TunnelSetup {
                host: self.host.clone(),
                port: self.port,
                endpoint: endpoint.to_owned(),
                source: Arc::new(e),
            })?
            .with_connect_timeout(self.connect_timeout)
            .allow_users([self.user.as_str()]);
        let proxy = EmbeddedProxy::start(config, socket_dir).map_err(|e| Error::LocalProxy {
            dir: socket_dir.to_owned(),
            source: Arc::new(e),
        })?;
        // A private Unix socket to our own proxy: no TLS on this leg (the proxy refuses a TLS request), the
        // password goes inside the proxy's TLS to `endpoint`.
        let opts = OptsBuilder::new()
            .socket(Some(proxy.socket_path().to_string_lossy().into_owned()))
            .prefer_socket(true)
            .user(Some(self.user.as_str()))
            .pass(Some(self.password.expose().as_str()));
        tracing::debug!(
            host = self.host,
            port = self.port,
            endpoint,
            user = self.user,
            "master login through the local proxy (TLS checked against the bundle alone and the endpoint's name)"
        );
        let conn = Conn::new(opts).map_err(|e| match e {
            // The proxy's own refusals come before the password went anywhere.
            mysql::Error::MySqlError(refusal) if refusal.message.starts_with(rds_iam_proxy::REFUSAL_PREFIX) => {
                Error::TunnelRefused {
                    host: self.host.clone(),
                    port: self.port,
                    endpoint: endpoint.to_owned(),
                    source: Arc::new(refusal),
                }
            }
            other => self.login_failed(Arc::new(other)),
        })?;
        Ok((conn, Some(proxy)))
    }

    fn login_failed(&self, source: ErrorSource) -> Error {
        Error::Login {
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            ca_bundle: self.ca_bundle.clone(),
            source,
        }
    }
}

impl fmt::Debug for MasterLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterLogin")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("ca_bundle", &self.ca_bundle)
            .field("tunnel_to", &self.tunnel_to)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let login = MasterLogin::new("h", 3306, "admin", Secret::new("hunter2".to_owned()), "/ca.pem");
        let shown = format!("{login:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("admin"), "{shown}");
    }
}
