//! [`RdsLikeServer`]: an in-process MySQL server on loopback that logs in like Amazon RDS / Aurora with IAM auth.
//!
//! The wire protocol comes from `mysql_common` (the packet types and framing the `mysql` crate itself uses); TLS
//! is a rustls server with the ring provider. What it does, in order:
//!
//! 1. Greets like RDS for MySQL 8 (`caching_sha2_password`) or Aurora MySQL 3 (`mysql_native_password`),
//!    offering TLS.
//! 2. Upgrades to TLS if the client sends an `SSLRequest`. A client that answers in plain text is refused with
//!    error 3159 (like `require_secure_transport=ON`) unless the server is [`RdsLikeOptions::lax`]; whatever it
//!    sent is recorded first.
//! 3. Switches the client to `mysql_clear_password` with empty plugin data (what Aurora does for IAM users),
//!    reads the token, asks the validator, answers OK or error 1045 and records the [`LoginAttempt`].
//! 4. Answers a few queries (`SELECT 1`, `SELECT CURRENT_USER()`, `SELECT @@version`,
//!    `SHOW STATUS LIKE 'Ssl_version'`, …), pings, `COM_INIT_DB` and `COM_QUIT`.

mod conn;
mod query;

use std::collections::HashMap;
use std::fmt;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::{TestPki, lock};

/// How the server greets: which version string and which default authentication plugin it announces.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Greeting {
    /// RDS for MySQL 8: version `8.0.39`, default plugin `caching_sha2_password`.
    #[default]
    MySql8,
    /// Aurora MySQL 3.05.2: version `8.0.32` (the MySQL version it is compatible with; `@@aurora_version` and
    /// `AURORA_VERSION()` answer `3.05.2`), default plugin `mysql_native_password`.
    ///
    /// Not the engine version `8.0.mysql_aurora.3.05.2` of the RDS API: clients parse the first `x.y.z` of the
    /// greeting, which would read as MySQL 3.5.2.
    Aurora,
}

impl Greeting {
    /// The server version string sent in the greeting (and returned by `SELECT @@version`).
    pub fn server_version(self) -> &'static str {
        match self {
            Greeting::MySql8 => "8.0.39",
            Greeting::Aurora => "8.0.32",
        }
    }

    /// The authentication plugin named in the greeting.
    pub fn auth_plugin(self) -> &'static str {
        match self {
            Greeting::MySql8 => "caching_sha2_password",
            Greeting::Aurora => "mysql_native_password",
        }
    }
}

/// How a login attempt ended.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not decided yet: what the validator sees.
    Pending,
    /// The validator accepted the password; the client got OK.
    Accepted,
    /// The validator rejected the password; the client got error 1045.
    Rejected,
    /// The client did not ask for TLS and the server requires it; the client got error 3159.
    InsecureTransport,
    /// The client went away (or broke the protocol) before sending a password.
    Abandoned,
}

/// One login as the server saw it. `Debug` redacts the password and the raw auth response.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    /// The user name from the handshake response.
    pub user: String,
    /// The clear-text password (the IAM token) the client sent, lossy UTF-8; empty if none arrived.
    pub password: String,
    /// Whether the handshake response and the password arrived over TLS.
    pub tls: bool,
    /// The database from the handshake response, if any.
    pub database: Option<String>,
    /// The authentication plugin the client named in its handshake response.
    pub client_plugin: String,
    /// The raw auth data of the handshake response (a scramble of the password for the hashing plugins, the
    /// password itself for `mysql_clear_password`).
    pub auth_response: Vec<u8>,
    /// How it ended.
    pub outcome: Outcome,
}

impl fmt::Debug for LoginAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginAttempt")
            .field("user", &self.user)
            .field("password", &Redacted(self.password.len()))
            .field("tls", &self.tls)
            .field("database", &self.database)
            .field("client_plugin", &self.client_plugin)
            .field("auth_response", &Redacted(self.auth_response.len()))
            .field("outcome", &self.outcome)
            .finish()
    }
}

/// Prints `** redacted (N bytes) **`.
struct Redacted(usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "** redacted ({} bytes) **", self.0)
    }
}

type Validator = dyn Fn(&LoginAttempt) -> bool + Send + Sync;

/// Settings for [`RdsLikeServer::start`]. The TLS identity is required (use [`RdsLikeOptions::without_tls`] for
/// a server that does not offer TLS at all); everything else has an RDS-like default.
pub struct RdsLikeOptions {
    greeting: Greeting,
    require_tls: bool,
    tls: Option<Arc<ServerConfig>>,
    validator: Arc<Validator>,
}

impl fmt::Debug for RdsLikeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RdsLikeOptions")
            .field("greeting", &self.greeting)
            .field("require_tls", &self.require_tls)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl RdsLikeOptions {
    /// A server presenting `cert_chain_pem` (leaf first) with `key_pem` (PKCS#8, PKCS#1 or SEC1 PEM), greeting
    /// like MySQL 8, requiring TLS, accepting any non-empty password.
    ///
    /// Panics if the PEMs do not parse: that is a broken test setup.
    pub fn new(cert_chain_pem: &str, key_pem: &str) -> RdsLikeOptions {
        let certs = CertificateDer::pem_slice_iter(cert_chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("the certificate chain PEM parses");
        assert!(!certs.is_empty(), "the certificate chain PEM holds no certificate");
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("the private key PEM parses");
        let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("the key matches the leaf certificate");
        RdsLikeOptions {
            tls: Some(Arc::new(config)),
            require_tls: true,
            ..RdsLikeOptions::without_tls()
        }
    }

    /// A server presenting `pki`'s leaf + intermediate chain.
    pub fn from_pki(pki: &TestPki) -> RdsLikeOptions {
        RdsLikeOptions::new(&pki.chain_pem(), pki.leaf_key_pem())
    }

    /// A server that does not offer TLS at all (no `CLIENT_SSL` in its greeting) and so accepts plain text.
    pub fn without_tls() -> RdsLikeOptions {
        RdsLikeOptions {
            greeting: Greeting::MySql8,
            require_tls: false,
            tls: None,
            validator: Arc::new(|attempt: &LoginAttempt| !attempt.password.is_empty()),
        }
    }

    /// Greets as `greeting` (default [`Greeting::MySql8`]).
    pub fn greeting(mut self, greeting: Greeting) -> RdsLikeOptions {
        self.greeting = greeting;
        self
    }

    /// Accepts logins over plain TCP too (TLS is still offered). Used to prove that a client never sends its
    /// token there: the record shows what arrived.
    pub fn lax(mut self) -> RdsLikeOptions {
        self.require_tls = false;
        self
    }

    /// Decides logins with `validator` (default: accept any non-empty password). It sees the attempt with
    /// [`Outcome::Pending`].
    pub fn validator(mut self, validator: impl Fn(&LoginAttempt) -> bool + Send + Sync + 'static) -> RdsLikeOptions {
        self.validator = Arc::new(validator);
        self
    }
}

/// State shared by the acceptor and the connection threads.
struct Shared {
    options: RdsLikeOptions,
    addr: SocketAddr,
    stop: AtomicBool,
    attempts: Mutex<Vec<LoginAttempt>>,
    connections: AtomicUsize,
    next_connection_id: AtomicU32,
    /// Open connections (a clone of each socket), so that dropping the server can end them.
    live: Mutex<HashMap<u32, TcpStream>>,
}

/// An RDS-like MySQL server on `127.0.0.1:<free port>`: one thread per connection, every login recorded. Stops
/// (and ends open connections) when dropped.
///
/// ```
/// use rds_iam_testkit::{Greeting, RdsLikeOptions, RdsLikeServer, TestPki};
///
/// let pki = TestPki::generate(&["localhost", "127.0.0.1"]);
/// let server = RdsLikeServer::start(
///     RdsLikeOptions::from_pki(&pki)
///         .greeting(Greeting::Aurora)
///         .validator(|attempt| attempt.user == "iam_user" && attempt.password.starts_with("host:3306/?Action=")),
/// );
/// assert_eq!(server.addr().ip().to_string(), "127.0.0.1");
/// assert!(server.attempts().is_empty());
/// ```
pub struct RdsLikeServer {
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl fmt::Debug for RdsLikeServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RdsLikeServer")
            .field("addr", &self.shared.addr)
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl RdsLikeServer {
    /// Starts a server with `options`.
    pub fn start(options: RdsLikeOptions) -> RdsLikeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            options,
            addr,
            stop: AtomicBool::new(false),
            attempts: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            next_connection_id: AtomicU32::new(1),
            live: Mutex::new(HashMap::new()),
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    shared.connections.fetch_add(1, Ordering::SeqCst);
                    let id = shared.next_connection_id.fetch_add(1, Ordering::SeqCst);
                    let Ok(clone) = stream.try_clone() else { continue };
                    lock(&shared.live).insert(id, clone);
                    let shared = shared.clone();
                    std::thread::spawn(move || {
                        let _live = LiveGuard { shared: &shared, id };
                        conn::serve(&shared, id, stream);
                    });
                }
            })
        };
        RdsLikeServer {
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The socket address (`127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.shared.addr.port()
    }

    /// Every login attempt so far (one per connection that sent a handshake response), in order.
    pub fn attempts(&self) -> Vec<LoginAttempt> {
        lock(&self.shared.attempts).clone()
    }

    /// The attempts whose password arrived without TLS: must stay empty for a client that guards its token.
    pub fn tokens_over_plaintext(&self) -> Vec<LoginAttempt> {
        lock(&self.shared.attempts)
            .iter()
            .filter(|a| !a.tls && !a.password.is_empty())
            .cloned()
            .collect()
    }

    /// How many TCP connections were accepted.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Forgets the recorded attempts (the connection count stays).
    pub fn clear(&self) {
        lock(&self.shared.attempts).clear();
    }
}

impl Drop for RdsLikeServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.shared.addr, Duration::from_millis(200));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        // End open connections: their threads see EOF or an error and leave.
        for stream in lock(&self.shared.live).values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while !lock(&self.shared.live).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Removes a connection from [`Shared::live`] when its thread ends, even by a panicking validator.
struct LiveGuard<'a> {
    shared: &'a Shared,
    id: u32,
}

impl Drop for LiveGuard<'_> {
    fn drop(&mut self) {
        lock(&self.shared.live).remove(&self.id);
    }
}
