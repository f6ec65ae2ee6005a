//! After the login: both directions relayed packet by packet, as they are, except `COM_CHANGE_USER`.
//!
//! Sequence ids restart at 0 with every command, so a packet with sequence id 0 from the client starts a command.
//! `COM_CHANGE_USER` (0x11) would make the database ask the client for `mysql_clear_password` over the client's
//! plain local connection, which the client cannot answer with a token: the proxy logs in as the new user itself
//! ([`crate::change_user`]) — or, for a relayed password login, refuses it with an error and the session stays as
//! it was. Compression is never negotiated through the proxy, so command bytes are always visible.
//!
//! Both directions are buffered (16 KiB each way, read and write; a read buffer exists only while it holds data) and flushed whenever nothing more is waiting to be read, so a result set
//! of many small rows travels in large writes (and large TLS records), never a whole result at once: memory stays
//! flat and the slower side holds the faster one back.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{Mutex, mpsc};

use crate::buffer::LazyBufReader;
use crate::change_user::ChangeUser;
use crate::packet::{Header, LOGIN_PACKET_LIMIT, Packet, err_payload, read_header, write_packet};
use crate::session::REFUSAL_PREFIX;

const COM_CHANGE_USER: u8 = 0x11;
/// Per direction and side: 16 KiB, a TLS record's payload.
const BUFFER: usize = 16 * 1024;

/// The database's replies to a `COM_CHANGE_USER` the proxy sent go here instead of to the client, up to and
/// including the OK or ERR that ends the login.
pub(crate) type Interceptor = mpsc::Sender<Packet>;

/// Relays until either side closes; returns the payload bytes client → database and database → client.
/// `change_user` re-logs in on `COM_CHANGE_USER`; without it, `COM_CHANGE_USER` is refused.
pub(crate) async fn relay<C, D>(client: C, db: D, change_user: Option<ChangeUser<'_>>) -> io::Result<(u64, u64)>
where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    D: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (client_read, client_write) = tokio::io::split(client);
    let (db_read, db_write) = tokio::io::split(db);
    let mut client_read = LazyBufReader::new(client_read, BUFFER);
    let mut db_read = LazyBufReader::new(db_read, BUFFER);
    let mut db_write = BufWriter::with_capacity(BUFFER, db_write);
    let client_write = Mutex::new(BufWriter::with_capacity(BUFFER, client_write));
    let (intercept, mut intercepts) = mpsc::channel::<Interceptor>(1);

    let (mut up_total, mut down_total) = (0_u64, 0_u64);
    let to_client = &client_write;
    let down = async {
        let total = &mut down_total;
        let mut interceptor: Option<Interceptor> = None;
        while let Some(raw) = read_header(&mut db_read).await? {
            let header = Header::parse(raw);
            // Asked for before the proxy's COM_CHANGE_USER was written, so it is there when the first reply is.
            if interceptor.is_none() {
                interceptor = intercepts.try_recv().ok();
            }
            if let Some(to_proxy) = &interceptor {
                if header.len > LOGIN_PACKET_LIMIT {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a packet too large for a login during COM_CHANGE_USER",
                    ));
                }
                let mut payload = vec![0_u8; header.len];
                db_read.read_exact(&mut payload).await?;
                let last = matches!(payload.first(), Some(0x00 | 0xFF));
                let _ = to_proxy
                    .send(Packet {
                        seq: header.seq,
                        payload,
                    })
                    .await;
                if last {
                    interceptor = None;
                }
                continue;
            }
            // One packet at a time under the lock, so a reply of the proxy's never lands inside a packet.
            let mut out = to_client.lock().await;
            out.write_all(&raw).await?;
            copy_exact(&mut db_read, &mut *out, header.len).await?;
            if db_read.buffer().is_empty() {
                out.flush().await?;
            }
            *total += header.len as u64;
        }
        let mut out = to_client.lock().await;
        let _ = out.flush().await;
        let _ = out.shutdown().await;
        Ok::<(), io::Error>(())
    };

    let up = async {
        let total = &mut up_total;
        while let Some(raw) = read_header(&mut client_read).await? {
            let header = Header::parse(raw);
            if header.seq == 0 && header.len > 0 {
                let mut command = [0_u8; 1];
                client_read.read_exact(&mut command).await?;
                if command[0] == COM_CHANGE_USER {
                    if header.len > LOGIN_PACKET_LIMIT {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "a COM_CHANGE_USER packet larger than a login packet",
                        ));
                    }
                    let mut body = vec![0_u8; header.len - 1];
                    client_read.read_exact(&mut body).await?;
                    db_write.flush().await?;
                    match &change_user {
                        Some(change_user) => {
                            change_user.run(&body, &mut db_write, &intercept, &client_write).await?;
                        }
                        None => {
                            let refusal = err_payload(
                                1105,
                                b"HY000",
                                &format!(
                                    "{REFUSAL_PREFIX}COM_CHANGE_USER is not supported for a relayed password \
                                     login; open a new connection to log in as another user (the session is \
                                     unchanged)"
                                ),
                            );
                            write_packet(&mut *client_write.lock().await, 1, &refusal).await?;
                        }
                    }
                    continue;
                }
                db_write.write_all(&raw).await?;
                db_write.write_all(&command).await?;
                copy_exact(&mut client_read, &mut db_write, header.len - 1).await?;
            } else {
                db_write.write_all(&raw).await?;
                copy_exact(&mut client_read, &mut db_write, header.len).await?;
            }
            if client_read.buffer().is_empty() {
                db_write.flush().await?;
            }
            *total += header.len as u64;
        }
        let _ = db_write.flush().await;
        let _ = db_write.shutdown().await;
        Ok::<(), io::Error>(())
    };

    // The session ends when either direction ends (a side closed, or failed): the other is dropped, which closes
    // both connections — a database session never outlives its client, and the reverse.
    let ended = tokio::select! {
        ended = up => ended,
        ended = down => ended,
    };
    ended.map(|()| (up_total, down_total))
}

/// Copies exactly `len` bytes, straight out of the reader's buffer.
async fn copy_exact<R, W>(reader: &mut R, writer: &mut W, mut len: usize) -> io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin + ?Sized,
{
    while len > 0 {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection closed inside a packet",
            ));
        }
        let n = available.len().min(len);
        writer.write_all(&available[..n]).await?;
        reader.consume(n);
        len -= n;
    }
    Ok(())
}
