//! MySQL packets on async streams: a 4-byte header (payload length, sequence id) and the payload.
//!
//! The packet *contents* are mysql_common's types (greeting, handshake response, SSL request, ERR); this module only
//! moves whole packets during the login, and frames the relayed session so the proxy can see where each command
//! starts. Chunking of payloads over 16 MiB on write is mysql_common's `packet_to_chunks`.

use std::io;

use bytes::BytesMut;
use mysql_common::packets::{ErrPacket, ServerError, SqlState};
use mysql_common::proto::MySerialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Login packets are small (a greeting, a handshake response with attributes, an auth switch); anything larger
/// during the login is refused rather than buffered.
pub(crate) const LOGIN_PACKET_LIMIT: usize = 64 * 1024;

/// One packet: its sequence id and payload.
pub(crate) struct Packet {
    pub(crate) seq: u8,
    pub(crate) payload: Vec<u8>,
}

impl Packet {
    /// The first payload byte (the packet type of server replies and the command of client requests).
    pub(crate) fn kind(&self) -> Option<u8> {
        self.payload.first().copied()
    }
}

/// The header of a physical packet: payload length and sequence id.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub(crate) len: usize,
    pub(crate) seq: u8,
}

impl Header {
    pub(crate) fn parse(bytes: [u8; 4]) -> Header {
        Header {
            len: usize::from(bytes[0]) | usize::from(bytes[1]) << 8 | usize::from(bytes[2]) << 16,
            seq: bytes[3],
        }
    }
}

/// Reads one physical packet's header; `Ok(None)` at a clean end of stream.
pub(crate) async fn read_header<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<Option<[u8; 4]>> {
    let mut header = [0_u8; 4];
    let mut filled = 0;
    while filled < header.len() {
        let n = match reader.read(&mut header[filled..]).await {
            // A TLS peer that closed between packets without close_notify (MariaDB after COM_QUIT) ends the stream
            // as cleanly as a plain one.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && filled == 0 => return Ok(None),
            read => read?,
        };
        if n == 0 {
            return if filled == 0 {
                Ok(None)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the connection closed inside a packet header",
                ))
            };
        }
        filled += n;
    }
    Ok(Some(header))
}

/// Reads one login packet (no continuation: login packets are far below 16 MiB), at most `limit` bytes.
pub(crate) async fn read_packet<R: AsyncRead + Unpin>(reader: &mut R, limit: usize) -> io::Result<Packet> {
    let Some(header) = read_header(reader).await? else {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the connection closed"));
    };
    let header = Header::parse(header);
    if header.len > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a {}-byte packet during the login (at most {limit} expected)",
                header.len
            ),
        ));
    }
    let mut payload = vec![0_u8; header.len];
    reader.read_exact(&mut payload).await?;
    Ok(Packet {
        seq: header.seq,
        payload,
    })
}

/// Writes `payload` as packet(s) starting at sequence id `seq`, and flushes.
pub(crate) async fn write_packet<W: AsyncWrite + Unpin>(writer: &mut W, seq: u8, payload: &[u8]) -> io::Result<()> {
    let mut framed = BytesMut::with_capacity(payload.len() + 4);
    mysql_common::proto::codec::packet_to_chunks(seq, &mut &payload[..], &mut framed);
    writer.write_all(&framed).await?;
    writer.flush().await
}

/// The payload of an ERR packet (protocol 4.1: code, SQLSTATE, message).
pub(crate) fn err_payload(code: u16, state: &[u8; 5], message: &str) -> Vec<u8> {
    let mut buf = Vec::new();
    ErrPacket::Error(ServerError::new(code, Some(SqlState::new(*state)), message.as_bytes())).serialize(&mut buf);
    buf
}

/// The payload of an ERR packet sent in place of the greeting: before the handshake a client does not know the
/// protocol version yet, so there is no SQLSTATE (clients show `HY000`), as from a database at its connection limit.
pub(crate) fn greeting_err_payload(code: u16, message: &str) -> Vec<u8> {
    let mut buf = Vec::new();
    ErrPacket::Error(ServerError::new(code, None, message.as_bytes())).serialize(&mut buf);
    buf
}

/// Reads an ERR payload: code, SQLSTATE and message, lossy.
pub(crate) fn parse_err(payload: &[u8]) -> Option<(u16, String, String)> {
    use mysql_common::constants::CapabilityFlags;
    use mysql_common::io::ParseBuf;
    let packet: ErrPacket<'_> = ParseBuf(payload).parse(CapabilityFlags::CLIENT_PROTOCOL_41).ok()?;
    match packet {
        ErrPacket::Error(error) => Some((
            error.error_code(),
            error
                .sql_state_ref()
                .map(|s| s.as_str().into_owned())
                .unwrap_or_else(|| "HY000".to_owned()),
            error.message_str().into_owned(),
        )),
        ErrPacket::Progress(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn packets_round_trip_with_their_sequence_id() {
        let mut wire = Vec::new();
        write_packet(&mut wire, 7, b"hello").await.unwrap();
        assert_eq!(wire, b"\x05\x00\x00\x07hello");
        let packet = read_packet(&mut &wire[..], 16).await.unwrap();
        assert_eq!((packet.seq, packet.payload.as_slice()), (7, &b"hello"[..]));
        let too_big = read_packet(&mut &wire[..], 4).await.err().unwrap();
        assert_eq!(too_big.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn err_packets_round_trip() {
        let payload = err_payload(1045, b"28000", "Access denied");
        assert_eq!(
            parse_err(&payload),
            Some((1045, "28000".to_owned(), "Access denied".to_owned()))
        );
    }
}
