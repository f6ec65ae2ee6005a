//! [`Target`]: where to connect and as whom.

use rds_iam_token::{Endpoint, validate_host};

use crate::ConnectError;

/// The database to log in to: the host and port to dial, the name the token is signed for (the RDS endpoint,
/// which differs from the dial host behind a tunnel), the DB user, an optional default database and the region.
///
/// ```
/// use rds_iam_mysql::Target;
///
/// let target = Target::new("mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com", 3306, "app")?.with_database("orders");
/// assert_eq!(target.region(), Some("eu-west-1"));
///
/// // Through an SSH tunnel: dial localhost, sign for the real endpoint.
/// let tunnel = Target::new("127.0.0.1", 13306, "app")?
///     .with_signing_host("mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com")?;
/// assert_eq!((tunnel.host(), tunnel.region()), ("127.0.0.1", Some("eu-west-1")));
/// # Ok::<(), rds_iam_mysql::ConnectError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    host: String,
    port: u16,
    signing_host: Option<String>,
    signing_port: Option<u16>,
    user: String,
    database: Option<String>,
    region: Option<String>,
    /// The region in the signing host's name, kept in step with it.
    hostname_region: Option<String>,
}

impl Target {
    /// Dial `host:port` and sign for `host`, as `user`.
    pub fn new(host: impl Into<String>, port: u16, user: impl Into<String>) -> Result<Target, ConnectError> {
        let host = host.into();
        validate_host(&host)?;
        let user = user.into();
        if user.is_empty() {
            return Err(rds_iam_token::Error::EmptyUser.into());
        }
        if port == 0 {
            return Err(rds_iam_token::Error::InvalidPort.into());
        }
        let hostname_region = Endpoint::parse(&host).region().map(str::to_owned);
        Ok(Target {
            host,
            port,
            signing_host: None,
            signing_port: None,
            user,
            database: None,
            region: None,
            hostname_region,
        })
    }

    /// Sign for this name instead of the dial host (SSH/SSM tunnels, CNAMEs, IP addresses).
    pub fn with_signing_host(mut self, signing_host: impl Into<String>) -> Result<Target, ConnectError> {
        let signing_host = signing_host.into();
        validate_host(&signing_host)?;
        self.hostname_region = Endpoint::parse(&signing_host).region().map(str::to_owned);
        self.signing_host = Some(signing_host);
        Ok(self)
    }

    /// Signs tokens for this port instead of the one dialed: through a tunnel listening on another local port, the
    /// token must name the DB's own port (usually 3306).
    pub fn with_signing_port(mut self, signing_port: u16) -> Result<Target, ConnectError> {
        if signing_port == 0 {
            return Err(rds_iam_token::Error::InvalidPort.into());
        }
        self.signing_port = Some(signing_port);
        Ok(self)
    }

    /// The region to sign for (default: the one in the signing host's name).
    pub fn with_region(mut self, region: impl Into<String>) -> Target {
        self.region = Some(region.into());
        self
    }

    /// The default database (schema) of the session.
    pub fn with_database(mut self, database: impl Into<String>) -> Target {
        self.database = Some(database.into());
        self
    }

    /// The host dialed.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The name the token is signed for.
    pub fn signing_host(&self) -> &str {
        self.signing_host.as_deref().unwrap_or(&self.host)
    }

    /// The port tokens are signed for: the signing port if set, else the port dialed.
    pub fn signing_port(&self) -> u16 {
        self.signing_port.unwrap_or(self.port)
    }

    /// The DB user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The default database, if any.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The region: the explicit one, else the one in the signing host's name.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref().or(self.hostname_region.as_deref())
    }

    /// The region or an error that says how to give one.
    pub(crate) fn required_region(&self) -> Result<&str, ConnectError> {
        self.region().ok_or_else(|| {
            ConnectError::Target(format!(
                "no region: {} is not an RDS endpoint name; give the region (Target::with_region, --region) or sign \
                 for the RDS endpoint (with_signing_host, --signing-host)",
                self.signing_host()
            ))
        })
    }

    /// Whether the TLS name check would compare the dial host against a certificate issued for another name.
    pub(crate) fn dials_another_name(&self) -> bool {
        self.signing_host
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case(&self.host))
    }
}
