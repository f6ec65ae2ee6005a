//! Log in to Amazon RDS / Aurora **MySQL and MariaDB** with IAM auth tokens, blocking, over verified TLS.
//!
//! - [`IamConnector`]: target + credentials + CA bundle → `mysql::Conn`, with a fresh or cached token per login,
//!   TLS mandatory (the token never leaves the process without it), and classified errors.
//! - [`IamConnectionManager`]: an `r2d2::ManageConnection` that signs for every new physical connection, so a pool
//!   keeps working past the 15-minute token lifetime (a `mysql::Pool` keeps its first password forever).
//! - [`ConnectRateLimiter`]: keeps new IAM connections under a rate (RDS throttles IAM logins around 200/s).
//! - [`probe_tls`]: the greeting and the TLS handshake alone, checked against a bundle and an endpoint name, with
//!   the chain the server presented (what `rds-iam doctor` shows); no credentials involved.
//!
//! ```no_run
//! use mysql::prelude::Queryable;
//! use rds_iam_credentials::{DefaultChain, ProviderConfig};
//! use rds_iam_mysql::{IamConnectionManager, IamConnector, Target};
//!
//! let target = Target::new("mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com", 3306, "app")?.with_database("orders");
//! let connector = IamConnector::new(target, DefaultChain::cached(ProviderConfig::real()), "global-bundle.pem");
//! let pool = r2d2::Pool::builder().max_size(16).build(IamConnectionManager::new(connector))?;
//! let mut conn = pool.get()?;
//! let version: Option<String> = conn.query_first("SELECT @@version")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # With `mysql::Opts` / `mysql::Pool`
//! [`IamConnector::opts_with_token`] gives `mysql::Opts` for one login (TLS on, socket shortcut off, cleartext
//! plugin on): fine for a single `Conn::new`. Don't build a `mysql::Pool` from them: the pool keeps that one
//! token as its password, and every connection it opens after 15 minutes is refused. Use
//! [`IamConnectionManager`] with r2d2, or call [`IamConnector::connect`] per connection. Never log the `Opts`:
//! their `Debug` prints the password, which is the token.
//!
//! # Crate features
//! None. TLS is rustls with the ring provider, installed as the process default on first connect if the program
//! has not chosen one.

mod connect;
mod error;
mod limiter;
mod pool;
mod probe;
mod target;

pub use connect::{IamConnector, TlsCheck};
pub use error::ConnectError;
pub use limiter::ConnectRateLimiter;
pub use mysql::{Conn, Opts};
pub use pool::IamConnectionManager;
pub use probe::{TlsProbe, probe_tls};
pub use target::Target;
