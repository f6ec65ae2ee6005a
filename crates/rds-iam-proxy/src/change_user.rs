//! `COM_CHANGE_USER` in an IAM session: the proxy logs in as the new user itself, with a token of that user.
//!
//! ```text
//! c→p COM_CHANGE_USER (seq 0: user, the client's auth answer — ignored —, database, character set, plugin, attributes)
//! p→d COM_CHANGE_USER (seq 0: the same, without the auth answer)
//! d→p auth switch to mysql_clear_password (seq 1)     p→d token (seq 2)     d→p OK or ERR (seq 3)
//! p→c the OK (seq 1), or an ERR with the classified cause
//! ```
//!
//! A user outside the allowed users, or a token that cannot be signed, is refused before anything is sent: the
//! session stays logged in as before. A refusal by the database is passed on (the database ends such a session).

use std::io;
use std::time::Duration;

use mysql_common::constants::CapabilityFlags;
use rds_iam_mysql::{ConnectError, IamConnector};
use rds_iam_token::Secret;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{Mutex, mpsc};

use crate::ProxyConfig;
use crate::packet::{Packet, parse_err, write_packet};
use crate::relay::Interceptor;
use crate::session::{CLEAR_PASSWORD, Refusal, not_an_iam_user, rejected_message, switch_plugin};

/// What a change of user in one session needs: the proxy's settings and how the session was opened.
pub(crate) struct ChangeUser<'a> {
    pub(crate) config: &'a ProxyConfig,
    pub(crate) connector: &'a IamConnector,
    /// The client's capabilities (how its `COM_CHANGE_USER` is laid out).
    pub(crate) client: CapabilityFlags,
    /// The plugin named toward the database when the client names none.
    pub(crate) plugin: Vec<u8>,
    pub(crate) peer: &'a str,
}

/// The fields of a client's `COM_CHANGE_USER` body (after the command byte).
#[derive(Debug, PartialEq, Eq)]
struct Request<'a> {
    user: &'a [u8],
    database: &'a [u8],
    /// Character set, plugin name and attributes, as the client sent them (empty for old clients).
    tail: &'a [u8],
}

fn parse(body: &[u8], client: CapabilityFlags) -> Option<Request<'_>> {
    let nul = |bytes: &[u8]| bytes.iter().position(|&b| b == 0);
    let user_end = nul(body)?;
    let rest = &body[user_end + 1..];
    let rest = if client.contains(CapabilityFlags::CLIENT_SECURE_CONNECTION) {
        let len = usize::from(*rest.first()?);
        rest.get(1 + len..)?
    } else {
        rest.get(nul(rest)? + 1..)?
    };
    let database_end = nul(rest)?;
    Some(Request {
        user: &body[..user_end],
        database: &rest[..database_end],
        tail: &rest[database_end + 1..],
    })
}

impl ChangeUser<'_> {
    /// Handles one `COM_CHANGE_USER` (`body`: after the command byte). An `Err` ends the session.
    pub(crate) async fn run<D, W>(
        &self,
        body: &[u8],
        db: &mut D,
        intercept: &mpsc::Sender<Interceptor>,
        client: &Mutex<W>,
    ) -> io::Result<()>
    where
        D: AsyncWrite + Unpin,
        W: AsyncWrite + Unpin,
    {
        let reply = |refusal: Refusal| async move {
            tracing::warn!(peer = self.peer, "change of user refused: {}", refusal.message);
            write_packet(&mut *client.lock().await, 1, &refusal.payload()).await
        };
        let Some(request) = parse(body, self.client) else {
            return reply(Refusal::other(
                "a malformed COM_CHANGE_USER packet (the session is unchanged)",
            ))
            .await;
        };
        let Ok(user) = std::str::from_utf8(request.user) else {
            return reply(Refusal::denied("the user name is not UTF-8 (the session is unchanged)")).await;
        };
        if let Err(refusal) = self.config.check_user(user) {
            return reply(refusal).await;
        }
        let token = match crate::session::sign(self.connector, user).await {
            Ok(token) => token,
            Err(refusal) => return reply(refusal).await,
        };

        let mut packet = vec![0x11];
        packet.extend_from_slice(request.user);
        packet.push(0);
        // No auth answer (an empty length-prefixed or NUL-terminated one: the same byte); the database asks for the
        // token.
        packet.push(0);
        packet.extend_from_slice(request.database);
        packet.push(0);
        if request.tail.len() >= 2 {
            packet.extend_from_slice(&request.tail[..2]);
            if !self.client.contains(CapabilityFlags::CLIENT_PLUGIN_AUTH) {
                // The database was told (in the login) that the proxy names plugins: name one.
                packet.extend_from_slice(&self.plugin);
                packet.push(0);
            }
            packet.extend_from_slice(&request.tail[2..]);
        }

        let (to_proxy, mut replies) = mpsc::channel(4);
        intercept
            .send(to_proxy)
            .await
            .map_err(|_| io::Error::other("the session is closing"))?;
        write_packet(db, 0, &packet).await?;
        let wait = self.config.connect_timeout;
        let mut token_sent = false;
        loop {
            let reply_packet = next(&mut replies, wait).await?;
            match reply_packet.kind() {
                Some(0x00) => {
                    self.config.remember_user(user);
                    tracing::info!(peer = self.peer, user, "changed user");
                    return write_packet(&mut *client.lock().await, 1, &reply_packet.payload).await;
                }
                Some(0xFF) => {
                    let (code, state, message) = parse_err(&reply_packet.payload).unwrap_or((
                        1105,
                        "HY000".into(),
                        "change of user refused".into(),
                    ));
                    let refusal = match self.connector.classify_server_error(user, code, &state, &message) {
                        ConnectError::TokenRejected { causes, .. } => {
                            Refusal::database(1045, "28000", rejected_message(&message, &causes))
                        }
                        _ => Refusal::database(code, &state, message),
                    };
                    return reply(refusal).await;
                }
                Some(0xFE) if !token_sent && switch_plugin(&reply_packet.payload) == CLEAR_PASSWORD => {
                    let mut data = token.expose().as_bytes().to_vec();
                    data.push(0);
                    let data = Secret::new(data);
                    write_packet(db, reply_packet.seq.wrapping_add(1), data.expose()).await?;
                    db.flush().await?;
                    token_sent = true;
                }
                _ => {
                    // The database waits for an answer the proxy cannot give: the session cannot go on.
                    let refusal = not_an_iam_user(user, &reply_packet.payload);
                    reply(refusal).await?;
                    return Err(io::Error::other(format!(
                        "COM_CHANGE_USER to '{user}': not an IAM user"
                    )));
                }
            }
        }
    }
}

async fn next(replies: &mut mpsc::Receiver<Packet>, wait: Duration) -> io::Result<Packet> {
    match tokio::time::timeout(wait, replies.recv()).await {
        Ok(Some(packet)) => Ok(packet),
        Ok(None) => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the database closed the connection during COM_CHANGE_USER",
        )),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer from the database within {wait:?} during COM_CHANGE_USER"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_user_requests_are_read_by_the_client_capabilities() {
        let modern = CapabilityFlags::CLIENT_SECURE_CONNECTION | CapabilityFlags::CLIENT_PLUGIN_AUTH;
        let body = b"app2\0\x03abcshop\0\x21\x00mysql_native_password\0";
        assert_eq!(
            parse(body, modern),
            Some(Request {
                user: b"app2",
                database: b"shop",
                tail: b"\x21\x00mysql_native_password\0",
            })
        );
        // Old clients: a NUL-terminated auth answer, nothing after the database.
        assert_eq!(
            parse(b"u\0scr\0\0", CapabilityFlags::empty()),
            Some(Request {
                user: b"u",
                database: b"",
                tail: b"",
            })
        );
        for truncated in [&b""[..], b"app2", b"app2\0\x09abc", b"app2\0\x00shop"] {
            assert_eq!(parse(truncated, modern), None, "{truncated:?}");
        }
    }
}
