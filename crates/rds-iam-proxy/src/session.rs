//! One client session: dial the database and secure the connection, greet the client as the database, log in,
//! then relay.
//!
//! Sequence of packets (`c` the client, `p` the proxy, `d` the database):
//!
//! ```text
//! p→d TCP          d→p greeting (seq 0)        p→d SSLRequest (seq 1)      p↔d TLS (bundle-only roots, endpoint name)
//! p→c greeting (seq 0: the database's version, connection id, character set; capabilities without TLS/compression)
//! c→p handshake response (seq 1: user, database, attributes)
//! IAM:   p→d response (seq 2, no password) … d→p auth switch to mysql_clear_password … p→d token … d→p OK
//! Relay: p→d the client's response and each auth packet after it, sequence ids shifted by one for the SSLRequest
//! p→c the database's OK (seq 2), or an ERR with the classified cause; then both directions are relayed
//! ```

use std::io;
use std::sync::Arc;
use std::time::Duration;

use mysql_common::constants::{CapabilityFlags, MariadbCapabilities};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{AuthPlugin, HandshakePacket, HandshakeResponse, SslRequest};
use mysql_common::proto::MySerialize;
use rds_iam_mysql::{Cause, ConnectError, IamConnector};
use rds_iam_token::{AuthToken, Secret};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::buffer::LazyBufReader;
use crate::change_user::ChangeUser;
use crate::config::{Login, ProxyConfig};
use crate::metrics::Outcome;
use crate::packet::{LOGIN_PACKET_LIMIT, Packet, err_payload, parse_err, read_packet, write_packet};

/// The client-visible plugin of an IAM login: every client has it, and whatever it answers is ignored.
const NATIVE_PASSWORD: &[u8] = b"mysql_native_password";
pub(crate) const CLEAR_PASSWORD: &[u8] = b"mysql_clear_password";

/// Capabilities the proxy never passes on: TLS is the proxy's own business on the database side (the local side is
/// a private socket), and compressed framing would hide where commands start.
fn not_forwarded() -> CapabilityFlags {
    CapabilityFlags::CLIENT_SSL
        | CapabilityFlags::CLIENT_COMPRESS
        | CapabilityFlags::CLIENT_ZSTD_COMPRESSION_ALGORITHM
        | CapabilityFlags::CLIENT_SSL_VERIFY_SERVER_CERT
        | CapabilityFlags::CLIENT_REMEMBER_OPTIONS
}

/// How every refusal of the proxy's own begins (the database's own refusals are passed on as they are): what a
/// client program can test to tell the two apart.
pub const REFUSAL_PREFIX: &str = "rds-iam proxy: ";

/// What the client is told when the proxy refuses it: an ERR packet in the server's range (the MariaDB client reports
/// client-range codes in an ERR packet as a malformed packet).
#[derive(Debug)]
pub(crate) struct Refusal {
    code: u16,
    state: [u8; 5],
    pub(crate) message: String,
    /// The database refused the token itself: worth one retry with a freshly signed one.
    token_rejected: bool,
    /// How the connection ended and why, for the metrics.
    outcome: Outcome,
    cause: &'static str,
}

impl Refusal {
    /// The proxy's own refusal of a login (1045 / 28000), its message after [`REFUSAL_PREFIX`].
    pub(crate) fn denied(message: impl AsRef<str>) -> Refusal {
        Refusal::own(1045, *b"28000", message.as_ref())
    }

    /// Any other refusal of the proxy's own (1105 / HY000), its message after [`REFUSAL_PREFIX`].
    pub(crate) fn other(message: impl AsRef<str>) -> Refusal {
        Refusal::own(1105, *b"HY000", message.as_ref())
    }

    fn own(code: u16, state: [u8; 5], message: &str) -> Refusal {
        let (outcome, cause) = if code == 1045 {
            (Outcome::Refused, "refused_by_proxy")
        } else {
            (Outcome::BackendError, "proxy_error")
        };
        Refusal {
            code,
            state,
            message: format!("{REFUSAL_PREFIX}{message}"),
            token_rejected: false,
            outcome,
            cause,
        }
    }

    /// The database's own refusal, passed on with its code, state and words.
    pub(crate) fn database(code: u16, state: &str, message: String) -> Refusal {
        let (outcome, cause) = if code == 1045 {
            (Outcome::Refused, "access_denied")
        } else {
            (Outcome::BackendError, "database_error")
        };
        Refusal {
            code,
            state: state.as_bytes().try_into().unwrap_or(*b"HY000"),
            message,
            token_rejected: false,
            outcome,
            cause,
        }
    }

    /// The ERR packet's payload.
    pub(crate) fn payload(&self) -> Vec<u8> {
        err_payload(self.code, &self.state, &self.message)
    }

    fn from_connect(err: &ConnectError) -> Refusal {
        let message = rds_iam_mysql::error_chain(err);
        let refusal = if err.is_token_rejected() {
            Refusal::denied(message)
        } else {
            Refusal::other(message)
        };
        let (outcome, cause) = match err {
            ConnectError::TokenRejected { .. } => (Outcome::Refused, "token_rejected"),
            ConnectError::ServerWithoutTls => (Outcome::TlsError, "server_without_tls"),
            ConnectError::UntrustedCertificate { .. } => (Outcome::TlsError, "untrusted_certificate"),
            ConnectError::HostnameMismatch { .. } => (Outcome::TlsError, "hostname_mismatch"),
            ConnectError::CertificateTime { .. } => (Outcome::TlsError, "certificate_time"),
            ConnectError::Tls { .. } => (Outcome::TlsError, "tls"),
            ConnectError::Credentials(_) => (Outcome::BackendError, "credentials"),
            ConnectError::NoRegion { .. } | ConnectError::Token(_) => (Outcome::BackendError, "signing"),
            ConnectError::Unreachable { .. } => (Outcome::BackendError, "unreachable"),
            _ => (Outcome::BackendError, "other"),
        };
        Refusal {
            outcome,
            cause,
            ..refusal
        }
    }

    /// A refusal the proxy decided itself, with the cause the metrics count.
    pub(crate) fn because(mut self, cause: &'static str) -> Refusal {
        self.cause = cause;
        self
    }
}

/// Why a session ended early (for the log; the client already got its ERR where one could be sent).
#[derive(Debug)]
pub(crate) enum Ended {
    Refused(Refusal),
    Io(io::Error),
    /// A connection error after a successful login (a client that went away without `COM_QUIT`, a reset).
    AfterLogin(io::Error),
}

impl Ended {
    /// A short name of why the session ended, for structured logs.
    fn kind(&self) -> &'static str {
        match self {
            Ended::Refused(refusal) if refusal.code == 1045 => "login_refused",
            Ended::Refused(refusal) if refusal.code == 1040 => "too_many_connections",
            Ended::Refused(_) => "refused",
            Ended::Io(err) if err.kind() == io::ErrorKind::TimedOut => "timeout",
            Ended::Io(_) | Ended::AfterLogin(_) => "connection_error",
        }
    }
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::Refused(refusal) => write!(f, "refused ({}): {}", refusal.code, refusal.message),
            Ended::Io(err) => write!(f, "connection error: {err}"),
            Ended::AfterLogin(err) => write!(f, "connection error after the login: {err}"),
        }
    }
}

impl From<io::Error> for Ended {
    fn from(err: io::Error) -> Self {
        Ended::Io(err)
    }
}

/// Serves one client until either side closes. Errors are logged, never returned: one session cannot stop the
/// proxy.
pub(crate) async fn serve<C>(config: Arc<ProxyConfig>, client: C, peer: String)
where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let started = std::time::Instant::now();
    let instance = config.instance.as_str();
    if let Some(metrics) = &config.metrics {
        metrics.session_opened(instance);
    }
    let ended = run(&config, client, &peer).await;
    if let Some(metrics) = &config.metrics {
        metrics.session_closed(instance);
        match &ended {
            Ok((_, up, down)) => {
                metrics.connection(instance, Outcome::Ok);
                metrics.relayed(instance, *up, *down);
            }
            Err(Ended::Refused(refusal)) => {
                metrics.connection(instance, refusal.outcome);
                metrics.login_failed(instance, refusal.cause);
            }
            Err(Ended::AfterLogin(_)) => metrics.connection(instance, Outcome::Ok),
            Err(Ended::Io(_)) => metrics.connection(instance, Outcome::BackendError),
        }
    }
    match ended {
        Ok((user, up, down)) => {
            tracing::info!(
                instance,
                peer,
                user,
                duration_ms = started.elapsed().as_millis() as u64,
                bytes_from_client = up,
                bytes_to_client = down,
                "session closed"
            );
        }
        Err(ended) => tracing::warn!(
            instance,
            peer,
            duration_ms = started.elapsed().as_millis() as u64,
            error_kind = ended.kind(),
            "session ended: {ended}"
        ),
    }
}

async fn run<C>(config: &ProxyConfig, mut client: C, peer: &str) -> Result<(String, u64, u64), Ended>
where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let dial_started = std::time::Instant::now();
    let timed_out = || {
        Refusal::other(format!(
            "no TLS connection to {}:{} within {:?}; check the host, port, security groups and \
             network path",
            config.host, config.port, config.connect_timeout
        ))
    };
    // A storm of clients waits here, before the database sees it: a few logins at a time, each at the rate's pace
    // (the permit is taken right before the login itself, in `iam_login`).
    let in_flight = match config.login {
        Login::Iam(_) => config.in_flight.clone().acquire_owned().await.ok(),
        Login::Relay => None,
    };
    let (tcp, greeting) = match tokio::time::timeout(config.connect_timeout, dial(config)).await {
        Ok(Ok(dialed)) => dialed,
        Ok(Err(refusal)) => return refuse(&mut client, 0, refusal).await,
        Err(_) => return refuse(&mut client, 0, timed_out()).await,
    };
    write_packet(&mut client, 0, &client_greeting(&greeting, &config.login)).await?;

    let wait = config.connect_timeout;
    let response = read_login(&mut client, wait).await?;
    let client_caps = capabilities_of(&response.payload);
    if client_caps.contains(CapabilityFlags::CLIENT_SSL) {
        let refusal = Refusal::other(
            "the proxy's listener does not offer TLS (the proxy itself connects to the database over \
             verified TLS); connect without TLS (--skip-ssl, --ssl-mode=DISABLED, ssl=false)",
        );
        return refuse(&mut client, response.seq.wrapping_add(1), refusal).await;
    }
    let parsed: HandshakeResponse<'_> = ParseBuf(&response.payload).parse(()).map_err(Ended::Io)?;
    let Ok(user) = String::from_utf8(parsed.user().to_vec()) else {
        return refuse(&mut client, 2, Refusal::denied("the user name is not UTF-8")).await;
    };
    if let Err(refusal) = config.check_user(&user) {
        return refuse(&mut client, 2, refusal).await;
    }
    tracing::debug!(peer, user, "client greeted; securing the connection to the database");
    // The database takes the capabilities of the `SSLRequest` as final (MariaDB does not read them again after
    // the handshake), so they are the ones of the login, known only now.
    let (capabilities, ext_capabilities) = match &config.login {
        Login::Iam(_) => iam_capabilities(&greeting, client_caps, &parsed),
        Login::Relay => (
            client_caps | CapabilityFlags::CLIENT_SSL,
            parsed.mariadb_ext_capabilities(),
        ),
    };
    // A limit of its own: the time the client took to answer does not count against the TLS handshake.
    let secured = tokio::time::timeout(wait, secure(config, tcp, &greeting, capabilities, ext_capabilities));
    let mut db = match secured.await {
        Ok(Ok(db)) => db,
        Ok(Err(refusal)) => return refuse(&mut client, 2, refusal).await,
        Err(_) => return refuse(&mut client, 2, timed_out()).await,
    };

    let outcome = match &config.login {
        Login::Iam(connector) => {
            let hello = ClientHello {
                greeting: &greeting,
                response: &parsed,
                raw: &response.payload,
                user: &user,
                capabilities,
            };
            iam_login_with_retry(config, connector, &mut db, &hello).await
        }
        Login::Relay => relay_login(&mut client, &mut db, &response.payload, capabilities, wait).await,
    };
    drop(in_flight);
    match outcome {
        Ok(Some(ok)) => write_packet(&mut client, 2, &ok).await?,
        Ok(None) => {}
        Err(Ended::Refused(refusal)) => return refuse(&mut client, 2, refusal).await,
        Err(other) => return Err(other),
    }
    tracing::info!(instance = config.instance, peer, user, port = config.port, "logged in");
    config.remember_user(&user);
    let change_user = match &config.login {
        Login::Iam(connector) => Some(ChangeUser {
            config,
            connector,
            client: client_caps,
            plugin: greeting.auth_plugin_name_ref().unwrap_or(NATIVE_PASSWORD).to_vec(),
            peer,
        }),
        Login::Relay => None,
    };
    if let Some(metrics) = &config.metrics {
        metrics.dialed(dial_started.elapsed());
    }
    let (up, down) = crate::relay::relay(client, db, change_user)
        .await
        .map_err(Ended::AfterLogin)?;
    Ok((user, up, down))
}

/// The database connection: TLS over a read-buffered TCP stream. rustls reads at most 4 KiB from its transport
/// at a time; the buffer below it turns the four or more reads of each 16 KiB record into one system call.
pub(crate) type DbStream = TlsStream<LazyBufReader<TcpStream>>;

/// What the buffer under TLS holds: two full TLS records.
const TLS_READ_BUFFER: usize = 32 * 1024;

/// The answer to a client beyond the server's limit: an ERR packet in place of the greeting, as a database at its
/// own limit sends (`1040 Too many connections`; no SQLSTATE before the handshake, so clients show `HY000`).
pub(crate) async fn too_many<C>(mut client: C, peer: String, limit: usize)
where
    C: AsyncWrite + Unpin,
{
    let message = format!("{REFUSAL_PREFIX}Too many connections (the proxy serves at most {limit} sessions at once)");
    tracing::warn!(peer, limit, "refused: too many connections");
    let _ = write_packet(&mut client, 0, &crate::packet::greeting_err_payload(1040, &message)).await;
}

/// Sends the client an ERR packet with sequence id `seq`, then ends the session.
async fn refuse<C, T>(client: &mut C, seq: u8, refusal: Refusal) -> Result<T, Ended>
where
    C: AsyncWrite + Unpin,
{
    let _ = write_packet(client, seq, &refusal.payload()).await;
    Err(Ended::Refused(refusal))
}

/// TCP and the database's greeting.
async fn dial(config: &ProxyConfig) -> Result<(TcpStream, HandshakePacket<'static>), Refusal> {
    let mut tcp = TcpStream::connect((config.host.as_str(), config.port))
        .await
        .map_err(|e| unreachable(config, e))?;
    let _ = tcp.set_nodelay(true);
    let not_mysql = |detail: String| {
        Refusal::other(format!(
            "{}:{} did not greet like a MySQL server ({detail}); is this the right port?",
            config.host, config.port
        ))
    };
    let first = read_packet(&mut tcp, LOGIN_PACKET_LIMIT)
        .await
        .map_err(|e| not_mysql(e.to_string()))?;
    if first.kind() == Some(0xFF) {
        // Refused before the greeting (too many connections, a blocked host): pass the database's words on.
        let (code, state, message) = parse_err(&first.payload).unwrap_or((1105, "HY000".into(), "refused".into()));
        let state = state.as_bytes().try_into().unwrap_or(*b"HY000");
        return Err(Refusal::own(
            code,
            state,
            &format!("the database refused the connection: {message}"),
        ));
    }
    let greeting: HandshakePacket<'_> = ParseBuf(&first.payload)
        .parse(())
        .map_err(|e| not_mysql(e.to_string()))?;
    let greeting = greeting.into_owned();
    if !greeting.capabilities().contains(CapabilityFlags::CLIENT_SSL) {
        return Err(Refusal::from_connect(&ConnectError::ServerWithoutTls));
    }
    Ok((tcp, greeting))
}

fn unreachable(config: &ProxyConfig, err: io::Error) -> Refusal {
    Refusal::from_connect(&ConnectError::Unreachable {
        host: config.host.clone(),
        port: config.port,
        source: Arc::new(err),
    })
}

/// `SSLRequest` with the login's capabilities, and the TLS handshake (certificate checked against the CA bundle
/// alone and the endpoint's name).
async fn secure(
    config: &ProxyConfig,
    mut tcp: TcpStream,
    greeting: &HandshakePacket<'static>,
    capabilities: CapabilityFlags,
    ext_capabilities: MariadbCapabilities,
) -> Result<DbStream, Refusal> {
    let mut request = Vec::new();
    SslRequest::new(capabilities, 16 * 1024 * 1024, greeting.default_collation())
        .with_mariadb_capabilities(ext_capabilities)
        .serialize(&mut request);
    write_packet(&mut tcp, 1, &request)
        .await
        .map_err(|e| unreachable(config, e))?;
    TlsConnector::from(config.tls.clone())
        .connect(config.server_name.clone(), LazyBufReader::new(tcp, TLS_READ_BUFFER))
        .await
        .map_err(|e| {
            let err = match &config.login {
                Login::Iam(connector) => connector.classify_io_error(e),
                Login::Relay => ConnectError::Tls { source: Arc::new(e) },
            };
            Refusal::from_connect(&err)
        })
}

/// The greeting the client sees: the database's, without TLS and compression; for an IAM login the plugin is
/// `mysql_native_password` (the client's answer is ignored), for a relayed login the database's own plugin and
/// scramble, since the client's answer goes to the database.
fn client_greeting(db: &HandshakePacket<'_>, login: &Login) -> Vec<u8> {
    let mut scramble_1 = [0_u8; 8];
    let first = db.scramble_1_ref();
    scramble_1[..first.len().min(8)].copy_from_slice(&first[..first.len().min(8)]);
    let plugin = match login {
        Login::Iam(_) => Some(NATIVE_PASSWORD),
        Login::Relay => db.auth_plugin_name_ref(),
    };
    let greeting = HandshakePacket::new(
        db.protocol_version(),
        db.server_version_ref(),
        db.connection_id(),
        scramble_1,
        db.scramble_2_ref(),
        db.capabilities() - not_forwarded(),
        db.default_collation(),
        db.status_flags(),
        plugin,
    )
    .with_mariadb_ext_capabilities(db.mariadb_ext_capabilities());
    let mut out = Vec::new();
    greeting.serialize(&mut out);
    out
}

/// The capability flags of a handshake response (its first four bytes).
fn capabilities_of(payload: &[u8]) -> CapabilityFlags {
    let mut bytes = [0_u8; 4];
    let n = payload.len().min(4);
    bytes[..n].copy_from_slice(&payload[..n]);
    CapabilityFlags::from_bits_truncate(u32::from_le_bytes(bytes))
}

/// What the proxy asks of the database for an IAM login: the client's capabilities that the server offers, with
/// TLS and the 4.1 protocol with plugin authentication, without compression and connection attributes unless the
/// server takes them; a default database exactly when the client named one.
fn backend_capabilities(db: &HandshakePacket<'_>, client: CapabilityFlags, with_db: bool) -> CapabilityFlags {
    let mut capabilities = ((client & db.capabilities()) - not_forwarded())
        | CapabilityFlags::CLIENT_SSL
        | CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_PLUGIN_AUTH;
    capabilities.set(CapabilityFlags::CLIENT_CONNECT_WITH_DB, with_db);
    capabilities
}

/// The capabilities of an IAM login (the `SSLRequest`'s and the handshake response's): [`backend_capabilities`],
/// and the MariaDB extended capabilities both sides have.
fn iam_capabilities(
    greeting: &HandshakePacket<'_>,
    client: CapabilityFlags,
    response: &HandshakeResponse<'_>,
) -> (CapabilityFlags, MariadbCapabilities) {
    (
        backend_capabilities(greeting, client, response.db_name().is_some()),
        response.mariadb_ext_capabilities() & greeting.mariadb_ext_capabilities(),
    )
}

/// What the login on a client's behalf starts from: the database's greeting, the client's answer (parsed and raw),
/// its user, and the capabilities sent in the `SSLRequest`.
#[derive(Clone, Copy)]
struct ClientHello<'a> {
    greeting: &'a HandshakePacket<'static>,
    response: &'a HandshakeResponse<'a>,
    raw: &'a [u8],
    user: &'a str,
    capabilities: CapabilityFlags,
}

/// A token for `user`: from the cache (kept signed ahead by the server's refresher), or signed now on a blocking
/// thread (credentials may need a network call).
pub(crate) async fn sign(connector: &IamConnector, user: &str) -> Result<AuthToken, Refusal> {
    let (signer, user) = (connector.clone(), user.to_owned());
    tokio::task::spawn_blocking(move || signer.token_for_user(&user))
        .await
        .map_err(|e| Refusal::other(format!("signing failed: {e}")))?
        .map_err(|e| Refusal::from_connect(&e))
}

/// An IAM login; when the database refuses a token that came from the cache and a fresh one differs, one more
/// login on a new connection with the fresh token (as AWS's JDBC wrapper does). The client keeps the first
/// connection's greeting: its connection id is then the refused connection's (`KILL QUERY` from another client
/// would miss this one session).
async fn iam_login_with_retry(
    config: &ProxyConfig,
    connector: &IamConnector,
    db: &mut DbStream,
    hello: &ClientHello<'_>,
) -> Result<Option<Vec<u8>>, Ended> {
    let wait = config.connect_timeout;
    let token = sign(connector, hello.user).await.map_err(Ended::Refused)?;
    let refusal = match iam_login(config, connector, db, hello, &token).await {
        Err(Ended::Refused(refusal)) if refusal.token_rejected => refusal,
        other => return other,
    };
    let (signer, user, rejected) = (connector.clone(), hello.user.to_owned(), token.clone());
    let fresh = tokio::task::spawn_blocking(move || signer.token_after_rejection(&user, &rejected)).await;
    let Ok(Ok(fresh)) = fresh else {
        return Err(Ended::Refused(refusal));
    };
    if fresh.expose() == token.expose() {
        return Err(Ended::Refused(refusal));
    }
    tracing::info!(
        user = hello.user,
        "the database refused a cached token; retrying once with a fresh one"
    );
    let redial = async {
        let (tcp, greeting) = dial(config).await?;
        let (capabilities, ext) = iam_capabilities(&greeting, capabilities_of(hello.raw), hello.response);
        let secured = secure(config, tcp, &greeting, capabilities, ext).await?;
        Ok::<_, Refusal>((secured, greeting, capabilities))
    };
    let (mut second, greeting, capabilities) = match tokio::time::timeout(wait, redial).await {
        Ok(Ok(dialed)) => dialed,
        _ => return Err(Ended::Refused(refusal)),
    };
    let hello = ClientHello {
        greeting: &greeting,
        capabilities,
        ..*hello
    };
    let ok = iam_login(config, connector, &mut second, &hello, &fresh).await?;
    *db = second;
    Ok(ok)
}

/// An IAM login on the client's behalf with `token`. Returns the database's OK payload for the client.
async fn iam_login(
    config: &ProxyConfig,
    connector: &IamConnector,
    db: &mut DbStream,
    hello: &ClientHello<'_>,
    token: &AuthToken,
) -> Result<Option<Vec<u8>>, Ended> {
    let wait = config.connect_timeout;
    let ClientHello {
        greeting,
        response: client,
        raw: client_raw,
        user,
        capabilities,
    } = *hello;

    let attributes = client
        .connect_attributes()
        .filter(|_| capabilities.contains(CapabilityFlags::CLIENT_CONNECT_ATTRS));
    let plugin = greeting.auth_plugin_name_ref().unwrap_or(NATIVE_PASSWORD);
    let response = HandshakeResponse::new(
        Some(&[][..]),
        greeting.server_version_parsed().unwrap_or((8, 0, 0)),
        Some(client.user()),
        client.db_name(),
        Some(AuthPlugin::from_bytes(plugin)),
        capabilities,
        attributes,
        16 * 1024 * 1024,
    )
    .with_mariadb_ext_capabilities(client.mariadb_ext_capabilities() & greeting.mariadb_ext_capabilities());
    // The constructor sets the database, plugin and attribute flags by what it is given, which matches the
    // flags of the `SSLRequest`: the database takes those as final.
    debug_assert_eq!(response.capabilities(), capabilities);
    let mut payload = Vec::new();
    response.serialize(&mut payload);
    // The client's maximum packet size and character set (bytes 4..9), which mysql_common's constructor does not
    // take.
    if client_raw.len() >= 9 && payload.len() >= 9 {
        payload[4..9].copy_from_slice(&client_raw[4..9]);
    }
    // The login starts here: kept below the rate RDS accepts.
    config.login_permit().await;
    tracing::debug!(user, "login started");
    write_packet(db, 2, &payload).await?;

    let mut token_sent = false;
    loop {
        let reply = read_login(db, wait).await?;
        match reply.kind() {
            Some(0x00) => return Ok(Some(reply.payload)),
            Some(0xFF) => {
                let (code, state, message) =
                    parse_err(&reply.payload).unwrap_or((1105, "HY000".into(), "login refused".into()));
                let err = connector.classify_server_error(user, code, &state, &message);
                let refusal = match &err {
                    ConnectError::TokenRejected { causes, .. } => Refusal {
                        token_rejected: true,
                        ..Refusal::database(1045, "28000", rejected_message(&message, causes)).because("token_rejected")
                    },
                    _ => Refusal::database(code, &state, message),
                };
                return Err(Ended::Refused(refusal));
            }
            Some(0xFE) if !token_sent && switch_plugin(&reply.payload) == CLEAR_PASSWORD => {
                // The token, NUL-terminated, inside TLS that verified the endpoint (a `Secret`: wiped when dropped).
                let mut data = token.expose().as_bytes().to_vec();
                data.push(0);
                let data = Secret::new(data);
                write_packet(db, reply.seq.wrapping_add(1), data.expose()).await?;
                token_sent = true;
            }
            _ => return Err(Ended::Refused(not_an_iam_user(user, &reply.payload))),
        }
    }
}

/// The refusal when the database asks `user` for something other than one token (`reply`: its auth switch or
/// more-data packet).
pub(crate) fn not_an_iam_user(user: &str, reply: &[u8]) -> Refusal {
    let asked = if reply.first() == Some(&0xFE) {
        format!(
            "for the authentication plugin '{}', not mysql_clear_password",
            String::from_utf8_lossy(switch_plugin(reply))
        )
    } else {
        "for more authentication data than an IAM token".to_owned()
    };
    Refusal::denied(format!(
        "the database asked user '{user}' {asked}: the user is not an IAM user (CREATE USER '{user}' IDENTIFIED \
         WITH AWSAuthenticationPlugin AS 'RDS')"
    ))
    .because("not_an_iam_user")
}

/// The ERR message for a refused token: the database's own message on the first line (what clients show after
/// `ERROR 1045 (28000):`), then the usual causes, one per line starting with `  - `.
pub fn rejected_message(db_message: &str, causes: &[Cause]) -> String {
    let mut out = format!("{db_message}\nrds-iam proxy: the database refused the IAM token; usual causes:");
    for cause in causes {
        out.push_str("\n  - ");
        out.push_str(&cause.to_string());
    }
    out
}

/// One login packet, within `wait`: neither a silent client nor a silent database holds a session (and a database
/// connection) open during the login.
async fn read_login<R: AsyncRead + Unpin>(reader: &mut R, wait: Duration) -> io::Result<Packet> {
    match tokio::time::timeout(wait, read_packet(reader, LOGIN_PACKET_LIMIT)).await {
        Ok(read) => read,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer within {wait:?} during the login"),
        )),
    }
}

/// The plugin name of an auth switch request (`0xFE`, NUL-terminated name, data).
pub(crate) fn switch_plugin(payload: &[u8]) -> &[u8] {
    let rest = payload.get(1..).unwrap_or_default();
    rest.split(|&b| b == 0).next().unwrap_or_default()
}

/// The client's own login, relayed inside the proxy's TLS. Every database reply goes to the client as it is
/// (sequence id minus the `SSLRequest`), so the client receives the OK or ERR itself: returns `None`.
async fn relay_login<C>(
    client: &mut C,
    db: &mut DbStream,
    client_raw: &[u8],
    capabilities: CapabilityFlags,
    wait: Duration,
) -> Result<Option<Vec<u8>>, Ended>
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let mut response = client_raw.to_vec();
    if response.len() >= 4 {
        response[..4].copy_from_slice(&capabilities.bits().to_le_bytes());
    }
    write_packet(db, 2, &response).await?;
    loop {
        let reply = read_login(db, wait).await?;
        write_packet(client, reply.seq.wrapping_sub(1), &reply.payload).await?;
        match reply.kind() {
            Some(0x00) => return Ok(None),
            Some(0xFF) => {
                let (code, _, message) = parse_err(&reply.payload).unwrap_or((1105, String::new(), String::new()));
                return Err(Ended::Io(io::Error::other(format!(
                    "the database refused the relayed login: {code} {message}"
                ))));
            }
            // caching_sha2_password's "fast auth success": the OK follows without an answer.
            Some(0x01) if reply.payload == [0x01, 0x03] => {}
            _ => {
                let answer = read_login(client, wait).await?;
                write_packet(db, answer.seq.wrapping_add(1), &answer.payload).await?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_switch_plugin_names() {
        assert_eq!(switch_plugin(b"\xfemysql_clear_password\0"), CLEAR_PASSWORD);
        assert_eq!(switch_plugin(b"\xfedialog\0\x01data"), b"dialog");
        assert_eq!(switch_plugin(b""), b"");
    }

    #[test]
    fn capabilities_toward_the_database_always_ask_for_tls_and_never_compression() {
        let server = CapabilityFlags::CLIENT_SSL
            | CapabilityFlags::CLIENT_PROTOCOL_41
            | CapabilityFlags::CLIENT_SECURE_CONNECTION
            | CapabilityFlags::CLIENT_PLUGIN_AUTH
            | CapabilityFlags::CLIENT_COMPRESS
            | CapabilityFlags::CLIENT_DEPRECATE_EOF;
        let greeting = HandshakePacket::new(
            10,
            &b"8.0.39"[..],
            7,
            [1; 8],
            Some(&[2_u8; 12][..]),
            server,
            45,
            mysql_common::constants::StatusFlags::empty(),
            Some(NATIVE_PASSWORD),
        );
        let client = CapabilityFlags::CLIENT_PROTOCOL_41 | CapabilityFlags::CLIENT_COMPRESS;
        let caps = backend_capabilities(&greeting, client, false);
        assert!(caps.contains(CapabilityFlags::CLIENT_SSL | CapabilityFlags::CLIENT_PLUGIN_AUTH));
        assert!(!caps.contains(CapabilityFlags::CLIENT_COMPRESS));
        assert!(
            !caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF),
            "the client did not ask for it"
        );

        let mut bytes = Vec::new();
        greeting.serialize(&mut bytes);
        let parsed: HandshakePacket<'_> = ParseBuf(&bytes).parse(()).unwrap();
        let shown = client_greeting(&parsed, &Login::Relay);
        let shown: HandshakePacket<'_> = ParseBuf(&shown).parse(()).unwrap();
        assert_eq!(shown.connection_id(), 7);
        assert!(!shown.capabilities().contains(CapabilityFlags::CLIENT_SSL));
        assert!(!shown.capabilities().contains(CapabilityFlags::CLIENT_COMPRESS));
        assert_eq!(shown.scramble_2_ref(), parsed.scramble_2_ref());
    }
}
