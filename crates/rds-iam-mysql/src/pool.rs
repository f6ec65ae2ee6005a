//! [`IamConnectionManager`]: r2d2 connections that each log in with a fresh or cached token.

use std::sync::Arc;

use mysql::prelude::Queryable;

use crate::{ConnectError, ConnectRateLimiter, IamConn, IamConnector};

/// An `r2d2::ManageConnection` for IAM logins.
///
/// A `mysql::Pool` is built from one `Opts`, so it keeps its first token as the password forever and every new
/// connection fails 15 minutes later. This manager asks the [`IamConnector`] for a token at every new physical
/// connection instead (reused from the token cache while fresh), and passes each new login through a
/// [`ConnectRateLimiter`] (150/s by default).
///
/// ```no_run
/// use rds_iam_credentials::{DefaultChain, ProviderConfig};
/// use rds_iam_mysql::{ConnectRateLimiter, IamConnectionManager, IamConnector, Target};
///
/// let target = Target::new("mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com", 3306, "app")?;
/// let connector = IamConnector::new(target, DefaultChain::builder().build(), "global-bundle.pem");
/// let manager = IamConnectionManager::new(connector).with_limiter(ConnectRateLimiter::new(50.0, 10));
/// let pool = r2d2::Pool::builder().max_size(32).build(manager)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct IamConnectionManager {
    connector: IamConnector,
    limiter: Arc<ConnectRateLimiter>,
}

impl IamConnectionManager {
    /// Opens connections with `connector`, at most 150 new ones per second.
    pub fn new(connector: IamConnector) -> Self {
        Self {
            connector,
            limiter: Arc::new(ConnectRateLimiter::default()),
        }
    }

    /// Uses `limiter` for new connections (share one limiter between pools for the same instance).
    pub fn with_limiter(mut self, limiter: impl Into<Arc<ConnectRateLimiter>>) -> Self {
        self.limiter = limiter.into();
        self
    }

    /// The connector.
    pub fn connector(&self) -> &IamConnector {
        &self.connector
    }
}

impl r2d2::ManageConnection for IamConnectionManager {
    type Connection = IamConn;
    type Error = ConnectError;

    fn connect(&self) -> Result<IamConn, ConnectError> {
        self.limiter.acquire();
        self.connector.connect()
    }

    fn is_valid(&self, conn: &mut IamConn) -> Result<(), ConnectError> {
        conn.query_drop("SELECT 1")
            .map_err(|e| ConnectError::Driver(std::sync::Arc::new(e)))
    }

    fn has_broken(&self, _conn: &mut IamConn) -> bool {
        false
    }
}
