//! [`MotoServer`]: moto's AWS API fake (`moto_server`, PyPI `moto[server]`) on a free loopback port.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `moto_server` on `127.0.0.1:<free port>`, killed when dropped. It serves STS, RDS and the other AWS
/// APIs moto fakes, accepts any credentials and keeps its state in memory.
///
/// The program is `RDS_IAM_MOTO_SERVER`, else `$CARGO_TARGET_DIR/py-venv/bin/moto_server`, else
/// `<workspace>/target/py-venv/bin/moto_server` (the venv `cargo xtask ci` creates). If none exists, `start`
/// panics with how to get it; tests call [`require_or_skip`](crate::require_or_skip) first, which skips them
/// outside CI.
pub struct MotoServer {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

/// How long moto may take to start answering (it imports every service's models at startup).
const STARTUP: Duration = Duration::from_secs(60);

impl MotoServer {
    /// Starts `moto_server` and waits until it answers HTTP.
    pub fn start() -> MotoServer {
        let program = Self::program();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("find a free loopback port")
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = std::env::temp_dir().join(format!("rds-iam-moto-{}-{port}.log", std::process::id()));
        let log_file = File::create(&log).expect("create the moto log file");
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone the moto log file"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", program.display()));
        let mut server = MotoServer { child, addr, log };
        server.wait_until_ready();
        server
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `moto_server` is ([`Tool::Moto`](crate::Tool::Moto)), or a panic saying how to install it.
    pub fn program() -> PathBuf {
        crate::Tool::Moto
            .locate()
            .unwrap_or_else(|why| panic!("{why}: {}", crate::Tool::Moto.install_hint()))
    }

    fn wait_until_ready(&mut self) {
        let started = Instant::now();
        while started.elapsed() < STARTUP {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("moto_server exited during startup ({status}):\n{}", self.log_tail());
            }
            if self.answers() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "moto_server did not answer on {} within {STARTUP:?}:\n{}",
            self.addr,
            self.log_tail()
        );
    }

    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let request = format!(
            "GET /moto-api/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        let mut head = [0; 12];
        stream.write_all(request.as_bytes()).is_ok()
            && stream.read_exact(&mut head).is_ok()
            && head.starts_with(b"HTTP/1.")
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
