//! [`FakeHttpServer`]: a recording, fault-injecting HTTP/1.1 server on loopback, over plain TCP or TLS.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::lock;

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// `GET`, `PUT`, `POST`, …
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Headers with lowercased names, in order.
    pub headers: Vec<(String, String)>,
    /// The body (UTF-8, lossy).
    pub body: String,
}

impl Recorded {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// What the server does with a request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A normal response; `Content-Length` is added.
    Http {
        /// Status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Body.
        body: Vec<u8>,
    },
    /// Read the request, then never answer (until the server is dropped).
    Hang,
    /// Close the connection without answering.
    Close,
    /// Write these bytes as they are, then close.
    Raw(Vec<u8>),
    /// Wait, then reply.
    Delay(Duration, Box<Reply>),
}

impl Reply {
    /// `status` with a text body.
    pub fn text(status: u16, body: impl Into<String>) -> Reply {
        Reply::Http {
            status,
            headers: Vec::new(),
            body: body.into().into_bytes(),
        }
    }

    /// `status` with a JSON body.
    pub fn json(status: u16, body: impl Into<String>) -> Reply {
        Reply::Http {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into().into_bytes(),
        }
    }

    /// Adds a header to an [`Reply::Http`] reply.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Http { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// An HTTP/1.1 server on `127.0.0.1:<free port>`: one thread per connection, `Connection: close` on every
/// response, every request recorded. Stops (and unblocks hanging connections) when dropped.
///
/// [`FakeHttpServer::start_tls`] serves the same over TLS (rustls, no tokio) with a certificate from a
/// [`TestPki`](crate::TestPki).
///
/// ```
/// use rds_iam_testkit::{FakeHttpServer, Reply};
///
/// let server = FakeHttpServer::start(|req| match req.path.as_str() {
///     "/ok" => Reply::text(200, "hello"),
///     _ => Reply::text(404, "not found"),
/// });
/// assert!(server.url().starts_with("http://127.0.0.1:"));
/// assert!(server.requests().is_empty());
/// ```
pub struct FakeHttpServer {
    addr: SocketAddr,
    tls: bool,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeHttpServer {
    /// Starts a server answering with `handler`.
    pub fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> FakeHttpServer {
        FakeHttpServer::start_with(None, Arc::new(handler))
    }

    /// Starts an HTTPS server answering with `handler`, presenting `config`'s certificate (see
    /// [`TestPki::server_config`](crate::TestPki::server_config)).
    pub fn start_tls(
        config: Arc<rustls::ServerConfig>,
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> FakeHttpServer {
        FakeHttpServer::start_with(Some(config), Arc::new(handler))
    }

    fn start_with(tls: Option<Arc<rustls::ServerConfig>>, handler: Arc<Handler>) -> FakeHttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let is_tls = tls.is_some();
        let acceptor = {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (requests, stop, handler, tls) = (requests.clone(), stop.clone(), handler.clone(), tls.clone());
                    std::thread::spawn(move || {
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                        match tls {
                            None => serve(stream, &requests, &stop, &*handler),
                            Some(config) => {
                                let Ok(conn) = rustls::ServerConnection::new(config) else {
                                    return;
                                };
                                serve(
                                    TlsStream(rustls::StreamOwned::new(conn, stream)),
                                    &requests,
                                    &stop,
                                    &*handler,
                                );
                            }
                        }
                    });
                }
            })
        };
        FakeHttpServer {
            addr,
            tls: is_tls,
            requests,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// A port that accepts connections and never answers: what a black-holed endpoint looks like.
    pub fn black_hole() -> FakeHttpServer {
        FakeHttpServer::start(|_| Reply::Hang)
    }

    /// `http://127.0.0.1:PORT` (`https://` for a TLS server; no trailing slash).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.requests).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear(&self) {
        lock(&self.requests).clear();
    }
}

impl Drop for FakeHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// A connection the server can answer on: plain TCP, or TLS over TCP.
trait Connection: Read + Write {
    /// Ends the response cleanly (TLS: `close_notify`, so a client can tell a complete body from a cut one).
    fn finish(&mut self) {}
}

impl Connection for TcpStream {}

/// A server-side TLS connection.
struct TlsStream(rustls::StreamOwned<rustls::ServerConnection, TcpStream>);

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl Connection for TlsStream {
    fn finish(&mut self) {
        self.0.conn.send_close_notify();
        let _ = self.0.flush();
    }
}

fn serve(stream: impl Connection, requests: &Mutex<Vec<Recorded>>, stop: &AtomicBool, handler: &Handler) {
    let mut reader = BufReader::new(stream);
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    lock(requests).push(request.clone());
    let mut stream = reader.into_inner();
    let finish = reply(&mut stream, handler(&request), stop);
    if finish {
        stream.finish();
    }
}

fn read_request(reader: &mut impl BufRead) -> Option<Recorded> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Writes `reply`; `true` if the response ended normally (`Raw` bytes end abruptly on purpose: no TLS
/// `close_notify`, so a short body reads as a cut connection).
fn reply(stream: &mut impl Write, reply: Reply, stop: &AtomicBool) -> bool {
    match reply {
        Reply::Http { status, headers, body } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                reason(status),
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
            true
        }
        Reply::Hang => {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            false
        }
        Reply::Close => false,
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).and_then(|()| stream.flush());
            false
        }
        Reply::Delay(delay, then) => {
            std::thread::sleep(delay);
            self::reply(stream, *then, stop)
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// `application/x-www-form-urlencoded` pairs (a query string or a form body), decoded.
pub(crate) fn form_pairs(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_forms() {
        assert_eq!(
            super::form_pairs("Action=AssumeRole&RoleArn=arn%3Aaws&x=a%2Fb+c%3D&p=100%&z=%zz"),
            [
                ("Action".into(), "AssumeRole".into()),
                ("RoleArn".into(), "arn:aws".into()),
                ("x".into(), "a/b c=".into()),
                ("p".into(), "100%".into()),
                ("z".into(), "%zz".into())
            ]
        );
    }

    use std::io::Read;

    use super::*;

    fn get(server: &FakeHttpServer, path: &str) -> String {
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nX-Test: 1\r\n\r\n").unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn answers_and_records() {
        let server = FakeHttpServer::start(|req| Reply::text(200, format!("you asked for {}", req.path)));
        let response = get(&server, "/a?b=c");
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.ends_with("you asked for /a?b=c"), "{response}");
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].header("x-test"), Some("1"));
    }

    #[test]
    fn hanging_connections_end_with_the_server() {
        let server = FakeHttpServer::black_hole();
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        write!(stream, "GET / HTTP/1.1\r\n\r\n").unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let mut buf = [0; 1];
        assert!(stream.read(&mut buf).is_err(), "a black hole never answers");
        drop(server);
    }
}
