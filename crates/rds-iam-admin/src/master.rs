//! [`MasterLogin`]: run SQL as the DB's master (password) user over verified TLS, to create IAM users.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder, SslOpts};
use rds_iam_token::Secret;

use crate::Error;

/// A password login as the master user: TLS is mandatory and the server certificate is checked against
/// `ca_bundle` (chain and name). The password is a [`Secret`]: it never appears in `Debug` output or logs.
pub struct MasterLogin {
    host: String,
    port: u16,
    user: String,
    password: Secret<String>,
    ca_bundle: PathBuf,
    connect_timeout: Duration,
    tunnel_to: Option<String>,
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
    /// against the name it dials, which through a tunnel cannot match; so the certificate is first checked
    /// against `endpoint` — chain to the bundle alone, and name — with a handshake that sends nothing secret
    /// ([`rds_iam_mysql::probe_tls_host`]), and only then does the driver log in to the same address, without its
    /// own name check. That stops a tunnel to the wrong DB and a middlebox that intercepts every connection before
    /// the password goes anywhere; the login's own connection is checked by the driver (chain only).
    pub fn through_tunnel_to(mut self, endpoint: impl Into<String>) -> MasterLogin {
        self.tunnel_to = Some(endpoint.into());
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
        let mut conn = self.connect()?;
        conn.query_drop("SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')")
            .map_err(|e| Error::Sql(format!("cannot set the session's SQL mode: {e}")))?;
        for statement in statements {
            conn.query_drop(statement)
                .map_err(|e| Error::Sql(format!("`{statement}` failed: {e}")))?;
        }
        Ok(())
    }

    fn connect(&self) -> Result<Conn, Error> {
        rds_iam_credentials::install_crypto_provider();
        if !self.ca_bundle.is_file() {
            return Err(Error::Sql(format!(
                "the CA bundle {} does not exist: download the RDS bundle with `rds-iam ca fetch` or pass --ca-bundle",
                self.ca_bundle.display()
            )));
        }
        // Through a tunnel, the login dials the address whose certificate was just checked.
        let dial = match &self.tunnel_to {
            Some(endpoint) => match self.check_the_endpoint_certificate(endpoint)? {
                // A link-local IPv6 address needs its zone, which an IP string loses: dial the name then.
                SocketAddr::V6(v6) if v6.scope_id() != 0 => self.host.clone(),
                addr => addr.ip().to_string(),
            },
            None => self.host.clone(),
        };
        let ssl = SslOpts::default()
            .with_root_cert_path(Some(self.ca_bundle.clone()))
            .with_danger_skip_domain_validation(self.tunnel_to.is_some());
        let opts = OptsBuilder::new()
            .ip_or_hostname(Some(dial))
            .tcp_port(self.port)
            .user(Some(self.user.as_str()))
            .pass(Some(self.password.expose().as_str()))
            // TLS always: the driver refuses a server without TLS before it sends the password, and a loopback
            // connection never silently moves to the Unix socket.
            .ssl_opts(Some(ssl))
            .prefer_socket(false)
            .socket(None::<String>)
            .tcp_connect_timeout(Some(self.connect_timeout));
        tracing::debug!(
            host = self.host,
            port = self.port,
            user = self.user,
            "master login over TLS"
        );
        Conn::new(opts).map_err(|e| {
            Error::Sql(format!(
                "cannot log in to {}:{} as {} over TLS: {e} (check the master user and password, the security \
                 group, and that the CA bundle {} signs the server's certificate)",
                self.host,
                self.port,
                self.user,
                self.ca_bundle.display()
            ))
        })
    }
}

impl MasterLogin {
    /// Through a tunnel: the server's certificate must chain to the bundle and be valid for `endpoint`. Returns the
    /// address that was checked, for the login to dial.
    fn check_the_endpoint_certificate(&self, endpoint: &str) -> Result<SocketAddr, Error> {
        let (addr, probe) = rds_iam_mysql::probe_tls_host(
            &self.host,
            self.port,
            endpoint,
            &self.ca_bundle,
            false,
            self.connect_timeout,
        )
        .map_err(|e| {
            Error::Sql(format!(
                "the server behind {}:{} could not be checked as {endpoint}: {e}",
                self.host, self.port
            ))
        })?;
        probe.verdict.map_err(|e| {
            Error::Sql(format!(
                "the server behind {}:{} is not {endpoint}, or not one the CA bundle trusts; the password was not \
                 sent: {e}",
                self.host, self.port
            ))
        })?;
        Ok(addr)
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
