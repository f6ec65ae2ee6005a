//! After the login: both directions relayed packet by packet, as they are, except `COM_CHANGE_USER`.
//!
//! Sequence ids restart at 0 with every command, so a packet with sequence id 0 from the client starts a command.
//! `COM_CHANGE_USER` (0x11) would make the database ask the client for `mysql_clear_password` over the client's
//! plain local connection, which the proxy cannot answer for it: it is answered here with an error, and the session
//! stays as it was. (Compression is never negotiated through the proxy, so command bytes are always visible.)

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Mutex;

use crate::packet::{Header, err_payload, read_header, write_packet};
use crate::session::REFUSAL_PREFIX;

const COM_CHANGE_USER: u8 = 0x11;
const BUFFER: usize = 16 * 1024;

/// Relays until either side closes; returns the payload bytes client → database and database → client.
pub(crate) async fn relay<C, D>(client: C, db: D) -> io::Result<(u64, u64)>
where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    D: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut client_read, client_write) = tokio::io::split(client);
    let (mut db_read, mut db_write) = tokio::io::split(db);
    let client_write = Mutex::new(client_write);

    let (mut up_total, mut down_total) = (0_u64, 0_u64);
    let to_client = &client_write;
    let down = async {
        let mut buf = vec![0_u8; BUFFER];
        let total = &mut down_total;
        while let Some(raw) = read_header(&mut db_read).await? {
            let header = Header::parse(raw);
            // One packet at a time under the lock, so an injected reply never lands inside a packet.
            let mut out = to_client.lock().await;
            out.write_all(&raw).await?;
            copy_exact(&mut db_read, &mut *out, header.len, &mut buf).await?;
            out.flush().await?;
            *total += header.len as u64;
        }
        let _ = to_client.lock().await.shutdown().await;
        Ok::<(), io::Error>(())
    };

    let up = async {
        let mut buf = vec![0_u8; BUFFER];
        let total = &mut up_total;
        while let Some(raw) = read_header(&mut client_read).await? {
            let header = Header::parse(raw);
            if header.seq == 0 && header.len > 0 {
                let mut command = [0_u8; 1];
                client_read.read_exact(&mut command).await?;
                if command[0] == COM_CHANGE_USER {
                    discard(&mut client_read, header.len - 1, &mut buf).await?;
                    let refusal = err_payload(
                        1105,
                        b"HY000",
                        &format!(
                            "{REFUSAL_PREFIX}COM_CHANGE_USER is not supported through the proxy; open a new \
                             connection to log in as another user (the session is unchanged)"
                        ),
                    );
                    write_packet(&mut *client_write.lock().await, 1, &refusal).await?;
                    continue;
                }
                db_write.write_all(&raw).await?;
                db_write.write_all(&command).await?;
                copy_exact(&mut client_read, &mut db_write, header.len - 1, &mut buf).await?;
            } else {
                db_write.write_all(&raw).await?;
                copy_exact(&mut client_read, &mut db_write, header.len, &mut buf).await?;
            }
            db_write.flush().await?;
            *total += header.len as u64;
        }
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

/// Copies exactly `len` bytes.
async fn copy_exact<R, W>(reader: &mut R, writer: &mut W, mut len: usize, buf: &mut [u8]) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + ?Sized,
{
    while len > 0 {
        let want = len.min(buf.len());
        let n = reader.read(&mut buf[..want]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection closed inside a packet",
            ));
        }
        writer.write_all(&buf[..n]).await?;
        len -= n;
    }
    Ok(())
}

/// Reads and drops exactly `len` bytes.
async fn discard<R: AsyncRead + Unpin>(reader: &mut R, len: usize, buf: &mut [u8]) -> io::Result<()> {
    copy_exact(reader, &mut tokio::io::sink(), len, buf).await
}
