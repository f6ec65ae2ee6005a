//! A local IAM auth proxy for Amazon RDS / Aurora MySQL and MariaDB.
//!
//! A client connects to the proxy with **no password and no TLS**; for each client the proxy dials the database,
//! secures the connection with TLS that it verifies itself (the CA bundle's roots alone, and the endpoint's name
//! even through a tunnel), logs in as the user the client names with a fresh or cached IAM token, and then relays
//! the session unchanged. The client never holds a token, so it cannot leak one: not through its option files,
//! not through a TLS setting that falls back to plain text, not on a command line.
//!
//! - [`ProxyConfig::iam`] logs in with tokens from an [`rds_iam_mysql::IamConnector`]; [`ProxyConfig::relay`]
//!   relays the client's own (password) login inside the proxy's TLS.
//! - [`ProxyServer`] serves [`Instance`]s on TCP or Unix listeners ([`Listen`]) with a multi-threaded runtime of
//!   its own, keeping the tokens of the users it serves signed ahead of expiry (this is `rds-iam proxy`).
//! - [`EmbeddedProxy`] serves one program's clients on a private Unix socket (this is how `rds-iam mysql` runs
//!   the installed client).
//! - The client sees the database's own greeting (server version, connection id — so `KILL QUERY` from a second
//!   connection works —, character set and capabilities, without TLS and compression). Refusals reach it as
//!   MySQL ERR packets: 1045 / 28000 for a refused token (the database's message on the first line, then the
//!   usual causes: [`rejected_message`]) and for a user not allowed, the database's own code for its other
//!   refusals, 1105 for the proxy's other refusals, and never contain the token. `COM_CHANGE_USER` logs in again
//!   as the new user with that user's token (a relayed password login refuses it; the session is unchanged).
//!
//! # Crate features
//! None.

mod buffer;
mod change_user;
mod config;
mod embedded;
mod health;
mod metrics;
mod packet;
mod relay;
mod server;
mod session;

pub use config::{Login, ProxyConfig};
pub use embedded::EmbeddedProxy;
pub use server::{Instance, Listen, Listening, ProxyServer, ServerOptions, StartError};
pub use session::{REFUSAL_PREFIX, rejected_message};
