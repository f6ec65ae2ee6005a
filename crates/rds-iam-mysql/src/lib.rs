//! Log in to Amazon RDS / Aurora MySQL and MariaDB with IAM auth tokens, blocking, over verified TLS.
// The crate guide is README.md, included so that its examples run as doctests.
#![doc = include_str!("../README.md")]

mod conn;
mod connect;
mod error;
mod limiter;
mod login;
mod pool;
mod probe;
mod target;

pub use conn::IamConn;
pub use connect::{IamConnector, TlsCheck};
pub use error::{BundleProblem, Cause, ConnectError, ErrorSource, ServerMessage, error_chain};
pub use limiter::ConnectRateLimiter;
pub use login::{PasswordKind, TlsLogin};
pub use mysql::{Conn, Opts};
pub use pool::IamConnectionManager;
pub use probe::{TlsProbe, probe_tls, probe_tls_host, tls_client_config};
pub use target::Target;
