//! One connection of [`super::RdsLikeServer`]: greeting, optional TLS upgrade, clear-password login, commands.
//!
//! Packets and framing (4-byte header, sequence ids) are `mysql_common`'s: `MySyncFramed`, `HandshakePacket`,
//! `SslRequest`, `HandshakeResponse`, `AuthSwitchRequest`, `ErrPacket`, `Column`. Only the OK / EOF packets and
//! text rows are written by hand (mysql_common parses them but has no serializer).

use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::sync::Arc;

use mysql_common::collations::CollationId;
use mysql_common::constants::{CapabilityFlags, ColumnType, Command, StatusFlags};
use mysql_common::io::{BufMutExt, ParseBuf};
use mysql_common::packets::{
    AuthSwitchRequest, Column, ErrPacket, HandshakePacket, HandshakeResponse, ServerError, SqlState, SslRequest,
};
use mysql_common::proto::MySerialize;
use mysql_common::proto::sync_framed::MySyncFramed;
use rustls::{ProtocolVersion, ServerConfig, ServerConnection, StreamOwned};

use super::query::{self, Answer, Context, Value};
use super::{LoginAttempt, Outcome, Shared};
use crate::lock;

const CLEAR_PASSWORD: &str = "mysql_clear_password";

/// Serves one accepted connection until the client quits, breaks the protocol or the server stops. Errors end the
/// connection and nothing else.
pub(super) fn serve(shared: &Shared, id: u32, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |a| a.ip());
    let mut framed = MySyncFramed::new(Transport::Plain(stream));
    let result = login(shared, id, peer, &mut framed).and_then(|session| match session {
        Some(mut session) => session.commands(&mut framed),
        None => Ok(()),
    });
    drop(result);
    if let Transport::Tls(tls) = framed.get_mut() {
        tls.conn.send_close_notify();
        let _ = tls.flush();
    }
}

/// A logged-in session.
struct Session<'a> {
    shared: &'a Shared,
    id: u32,
    capabilities: CapabilityFlags,
    user: String,
    database: Option<String>,
    /// `(protocol version, cipher suite)` when on TLS.
    tls: Option<(String, String)>,
}

/// Greets, upgrades to TLS if asked, authenticates and records the attempt. `None`: the login failed (the client
/// has been told) or the client went away.
fn login<'a>(
    shared: &'a Shared,
    id: u32,
    peer: IpAddr,
    framed: &mut MySyncFramed<Transport>,
) -> io::Result<Option<Session<'a>>> {
    let options = &shared.options;
    let server_capabilities = server_capabilities(options.tls.is_some());
    let (scramble_1, scramble_2) = scramble(id);
    let greeting = HandshakePacket::new(
        10,
        options.greeting.server_version().as_bytes(),
        id,
        scramble_1,
        Some(&scramble_2[..]),
        server_capabilities,
        CollationId::UTF8MB4_0900_AI_CI as u8,
        StatusFlags::SERVER_STATUS_AUTOCOMMIT,
        Some(options.greeting.auth_plugin().as_bytes()),
    );
    send(framed, &greeting)?;

    let mut packet = read(framed)?.ok_or_else(|| eof("before the handshake response"))?;
    let mut tls = None;
    if packet.len() == SSL_REQUEST_LEN {
        let request: SslRequest = ParseBuf(&packet).parse(())?;
        let Some(config) = options.tls.clone() else {
            return Err(io::Error::other("SSLRequest sent to a server that does not offer TLS"));
        };
        if !request.capabilities().contains(CapabilityFlags::CLIENT_SSL) {
            return Err(io::Error::other("SSLRequest without CLIENT_SSL"));
        }
        tls = Some(upgrade(framed, config)?);
        packet = read(framed)?.ok_or_else(|| eof("after the TLS handshake"))?;
    }

    let response: HandshakeResponse<'_> = ParseBuf(&packet).parse(())?;
    let capabilities = server_capabilities & response.capabilities();
    let client_plugin = response.auth_plugin().map(|p| lossy(p.as_bytes())).unwrap_or_default();
    let auth_response = response.scramble_buf().to_vec();
    let mut attempt = LoginAttempt {
        user: lossy(response.user()),
        // A client that starts with the clear-text plugin sends the password right away.
        password: if client_plugin == CLEAR_PASSWORD {
            lossy(until_nul(&auth_response))
        } else {
            String::new()
        },
        tls: tls.is_some(),
        database: response.db_name().filter(|db| !db.is_empty()).map(lossy),
        client_plugin,
        auth_response,
        outcome: Outcome::Pending,
    };

    if tls.is_none() && options.require_tls {
        attempt.outcome = Outcome::InsecureTransport;
        record(shared, attempt);
        send_error(
            framed,
            3159,
            b"HY000",
            "Connections using insecure transport are prohibited while --require_secure_transport=ON.",
        )?;
        return Ok(None);
    }

    if attempt.client_plugin != CLEAR_PASSWORD || attempt.auth_response.is_empty() {
        // Like Aurora for an IAM user: switch to the clear-text plugin with empty plugin data.
        send(framed, &AuthSwitchRequest::new(CLEAR_PASSWORD.as_bytes(), &[][..]))?;
        match read(framed) {
            Ok(Some(reply)) => attempt.password = lossy(until_nul(&reply)),
            _ => {
                attempt.outcome = Outcome::Abandoned;
                record(shared, attempt);
                return Ok(None);
            }
        }
    }

    let accepted = (options.validator)(&attempt);
    attempt.outcome = if accepted { Outcome::Accepted } else { Outcome::Rejected };
    let session = Session {
        shared,
        id,
        capabilities,
        user: attempt.user.clone(),
        database: attempt.database.clone(),
        tls,
    };
    let using_password = if attempt.password.is_empty() { "NO" } else { "YES" };
    record(shared, attempt);
    if !accepted {
        let message = format!(
            "Access denied for user '{}'@'{peer}' (using password: {using_password})",
            session.user
        );
        send_error(framed, 1045, b"28000", &message)?;
        return Ok(None);
    }
    send_ok(framed, 0x00)?;
    Ok(Some(session))
}

impl Session<'_> {
    /// The command phase: every command starts a new sequence.
    fn commands(&mut self, framed: &mut MySyncFramed<Transport>) -> io::Result<()> {
        loop {
            framed.codec_mut().reset_seq_id();
            let Some(packet) = read(framed)? else { return Ok(()) };
            let Some((&command, body)) = packet.split_first() else {
                return Err(io::Error::other("empty command packet"));
            };
            match command {
                c if c == Command::COM_QUIT as u8 => return Ok(()),
                c if c == Command::COM_PING as u8 || c == Command::COM_RESET_CONNECTION as u8 => {
                    send_ok(framed, 0x00)?;
                }
                c if c == Command::COM_INIT_DB as u8 => {
                    self.database = Some(lossy(body));
                    send_ok(framed, 0x00)?;
                }
                c if c == Command::COM_QUERY as u8 => {
                    let sql = String::from_utf8_lossy(body);
                    let answer = query::answer(&sql, &self.context());
                    self.reply(framed, answer)?;
                }
                _ => send_error(framed, 1047, b"08S01", "Unknown command")?,
            }
        }
    }

    fn context(&self) -> Context<'_> {
        let options = &self.shared.options;
        Context {
            user: &self.user,
            database: self.database.as_deref(),
            greeting: options.greeting,
            tls: self.tls.as_ref().map(|(v, c)| (v.as_str(), c.as_str())),
            tls_offered: options.tls.is_some(),
            require_tls: options.require_tls,
            connection_id: self.id,
            port: self.shared.addr.port(),
        }
    }

    fn reply(&mut self, framed: &mut MySyncFramed<Transport>, answer: Answer) -> io::Result<()> {
        match answer {
            Answer::Ok => send_ok(framed, 0x00),
            Answer::UseDatabase(name) => {
                self.database = Some(name);
                send_ok(framed, 0x00)
            }
            Answer::Error { code, state, message } => send_error(framed, code, &state, &message),
            Answer::Rows { columns, rows } => self.send_rows(framed, &columns, &rows),
        }
    }

    /// A text result set: column count, column definitions, [EOF], rows, EOF or OK-with-0xFE terminator.
    fn send_rows(
        &self,
        framed: &mut MySyncFramed<Transport>,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> io::Result<()> {
        let deprecate_eof = self.capabilities.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF);
        let mut count = Vec::new();
        count.put_lenenc_int(columns.len() as u64);
        write(framed, &count)?;
        for (i, name) in columns.iter().enumerate() {
            let is_int = rows
                .first()
                .is_some_and(|row| matches!(row.get(i), Some(Value::Int(_))));
            let column = if is_int {
                Column::new(ColumnType::MYSQL_TYPE_LONGLONG)
                    .with_character_set(CollationId::BINARY as u16)
                    .with_column_length(21)
            } else {
                Column::new(ColumnType::MYSQL_TYPE_VAR_STRING)
                    .with_character_set(CollationId::UTF8MB4_0900_AI_CI as u16)
                    .with_column_length(1024)
            };
            write(framed, &to_bytes(&column.with_name(name.as_bytes())))?;
        }
        if !deprecate_eof {
            write(framed, &eof_packet())?;
        }
        for row in rows {
            let mut packet = Vec::new();
            for value in row {
                match value {
                    Value::Null => packet.push(0xFB),
                    Value::Int(n) => packet.put_lenenc_str(n.to_string().as_bytes()),
                    Value::Text(s) => packet.put_lenenc_str(s.as_bytes()),
                }
            }
            write(framed, &packet)?;
        }
        if deprecate_eof {
            write(framed, &ok_packet(0xFE))?;
        } else {
            write(framed, &eof_packet())?;
        }
        framed.flush().map_err(io::Error::other)
    }
}

/// What the server offers. `CLIENT_SSL` only with a TLS identity; no compression, no session tracking.
fn server_capabilities(tls: bool) -> CapabilityFlags {
    let mut capabilities = CapabilityFlags::CLIENT_LONG_PASSWORD
        | CapabilityFlags::CLIENT_FOUND_ROWS
        | CapabilityFlags::CLIENT_LONG_FLAG
        | CapabilityFlags::CLIENT_CONNECT_WITH_DB
        | CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_INTERACTIVE
        | CapabilityFlags::CLIENT_TRANSACTIONS
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_MULTI_STATEMENTS
        | CapabilityFlags::CLIENT_MULTI_RESULTS
        | CapabilityFlags::CLIENT_PS_MULTI_RESULTS
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
        | CapabilityFlags::CLIENT_CONNECT_ATTRS
        | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | CapabilityFlags::CLIENT_DEPRECATE_EOF;
    if tls {
        capabilities |= CapabilityFlags::CLIENT_SSL;
    }
    capabilities
}

/// An `SSLRequest` is exactly 32 bytes; a handshake response is always longer (it has at least a user name).
const SSL_REQUEST_LEN: usize = 32;

/// A 20-byte printable nonce (8 + 12, plus the NUL MySQL sends after it). Random per connection, from std's
/// randomly keyed hasher: this is a test server, the nonce only has to look real.
fn scramble(id: u32) -> ([u8; 8], [u8; 13]) {
    let state = RandomState::new();
    let mut bytes = [0_u8; 20];
    for (i, byte) in bytes.iter_mut().enumerate() {
        let mut hasher = state.build_hasher();
        hasher.write_u32(id);
        hasher.write_usize(i);
        // Printable ASCII without the quote characters, like MySQL's generator.
        *byte = b'0' + (hasher.finish() % 75) as u8;
    }
    let mut first = [0; 8];
    first.copy_from_slice(&bytes[..8]);
    let mut second = [0; 13];
    second[..12].copy_from_slice(&bytes[8..]);
    (first, second)
}

/// Switches the framed stream to TLS: bytes already buffered (the start of the ClientHello) go to rustls first.
/// Returns `(protocol version, cipher suite)`.
fn upgrade(framed: &mut MySyncFramed<Transport>, config: Arc<ServerConfig>) -> io::Result<(String, String)> {
    let placeholder = MySyncFramed::new(Transport::Closed);
    let (mut in_buf, out_buf, codec, transport) = std::mem::replace(framed, placeholder).destruct();
    let Transport::Plain(tcp) = transport else {
        return Err(io::Error::other("TLS requested twice"));
    };
    let mut socket = Prefixed {
        prefix: in_buf.to_vec(),
        at: 0,
        inner: tcp,
    };
    in_buf.clear();
    let mut conn = ServerConnection::new(config).map_err(io::Error::other)?;
    while conn.is_handshaking() {
        if conn.complete_io(&mut socket)? == (0, 0) {
            return Err(eof("during the TLS handshake"));
        }
    }
    let version = match conn.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        other => format!("{other:?}"),
    };
    let cipher = conn
        .negotiated_cipher_suite()
        .and_then(|suite| suite.suite().as_str())
        .map(|name| name.replacen("TLS13_", "TLS_", 1))
        .unwrap_or_default();
    let tls = Transport::Tls(Box::new(StreamOwned::new(conn, socket)));
    *framed = MySyncFramed::construct(in_buf, out_buf, codec, tls);
    Ok((version, cipher))
}

/// The byte stream under the framing: plain TCP, then maybe TLS.
enum Transport {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, Prefixed>>),
    /// Only while switching to TLS.
    Closed,
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(s) => s.read(buf),
            Transport::Closed => Ok(0),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            Transport::Tls(s) => s.write(buf),
            Transport::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.flush(),
            Transport::Tls(s) => s.flush(),
            Transport::Closed => Ok(()),
        }
    }
}

/// A TCP stream that first yields bytes read ahead before the TLS upgrade.
struct Prefixed {
    prefix: Vec<u8>,
    at: usize,
    inner: TcpStream,
}

impl Read for Prefixed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at < self.prefix.len() {
            let n = buf.len().min(self.prefix.len() - self.at);
            buf[..n].copy_from_slice(&self.prefix[self.at..self.at + n]);
            self.at += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

impl Write for Prefixed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn record(shared: &Shared, attempt: LoginAttempt) {
    lock(&shared.attempts).push(attempt);
}

/// The next packet's payload; `None` at a clean end of stream.
fn read(framed: &mut MySyncFramed<Transport>) -> io::Result<Option<Vec<u8>>> {
    let mut packet = Vec::new();
    match framed.next_packet(&mut packet) {
        Ok(true) => Ok(Some(packet)),
        Ok(false) => Ok(None),
        Err(e) => Err(io::Error::other(e)),
    }
}

fn write(framed: &mut MySyncFramed<Transport>, payload: &[u8]) -> io::Result<()> {
    framed.write(&mut &payload[..]).map_err(io::Error::other)
}

fn send_bytes(framed: &mut MySyncFramed<Transport>, payload: &[u8]) -> io::Result<()> {
    framed.send(&mut &payload[..]).map_err(io::Error::other)
}

fn send(framed: &mut MySyncFramed<Transport>, packet: &impl MySerialize) -> io::Result<()> {
    send_bytes(framed, &to_bytes(packet))
}

fn send_ok(framed: &mut MySyncFramed<Transport>, header: u8) -> io::Result<()> {
    send_bytes(framed, &ok_packet(header))
}

fn send_error(framed: &mut MySyncFramed<Transport>, code: u16, state: &[u8; 5], message: &str) -> io::Result<()> {
    let error = ErrPacket::Error(ServerError::new(code, Some(SqlState::new(*state)), message.as_bytes()));
    send(framed, &error)
}

fn to_bytes(packet: &impl MySerialize) -> Vec<u8> {
    let mut buf = Vec::new();
    packet.serialize(&mut buf);
    buf
}

/// An OK packet (`0x00`), or with header `0xFE` the result-set terminator of `CLIENT_DEPRECATE_EOF`: no rows
/// affected, no insert id, autocommit, no warnings.
fn ok_packet(header: u8) -> Vec<u8> {
    let mut buf = vec![header];
    buf.put_lenenc_int(0);
    buf.put_lenenc_int(0);
    buf.extend_from_slice(&StatusFlags::SERVER_STATUS_AUTOCOMMIT.bits().to_le_bytes());
    buf.extend_from_slice(&0_u16.to_le_bytes());
    buf
}

/// The protocol-4.1 EOF packet: header, warnings, status.
fn eof_packet() -> Vec<u8> {
    let mut buf = vec![0xFE];
    buf.extend_from_slice(&0_u16.to_le_bytes());
    buf.extend_from_slice(&StatusFlags::SERVER_STATUS_AUTOCOMMIT.bits().to_le_bytes());
    buf
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    bytes.split(|&b| b == 0).next().unwrap_or_default()
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn eof(when: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the client closed the connection {when}"),
    )
}
