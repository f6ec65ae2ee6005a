//! [`EmbeddedProxy`]: the proxy on a private Unix socket, inside the calling process, for one program's clients.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::watch;

use crate::ProxyConfig;
use crate::server::{Gate, Phase};

/// A proxy listening on a Unix socket in a new owner-only (0700) folder, served by a thread of its own with a
/// single-threaded tokio runtime. Only processes of the same user can reach the folder, and the proxy also checks
/// each peer's uid. Dropping it stops the proxy, closes every session and removes the folder.
///
/// This is how `rds-iam mysql` starts the `mariadb` / `mysql` client: the client connects to
/// [`EmbeddedProxy::socket_path`] without a password and without TLS, and never holds the token.
///
/// ```no_run
/// use rds_iam_credentials::{DefaultChain, ProviderConfig};
/// use rds_iam_mysql::{IamConnector, Target};
/// use rds_iam_proxy::{EmbeddedProxy, ProxyConfig};
///
/// let target = Target::new("mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com", 3306, "app")?;
/// let connector = IamConnector::new(target, DefaultChain::builder().build(), "/etc/rds/global-bundle.pem");
/// let proxy = EmbeddedProxy::start(ProxyConfig::iam(connector)?.allow_users(["app"]), &std::env::temp_dir())?;
/// println!("mariadb --protocol=socket --socket={} --user=app", proxy.socket_path().display());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct EmbeddedProxy {
    socket: PathBuf,
    phase: watch::Sender<Phase>,
    thread: Option<JoinHandle<()>>,
    // Last: removed after the thread has stopped.
    _dir: tempfile::TempDir,
}

impl EmbeddedProxy {
    /// Creates a private folder under `parent`, listens on `proxy.sock` in it and starts serving. The socket
    /// accepts connections when this returns.
    pub fn start(config: ProxyConfig, parent: &Path) -> io::Result<EmbeddedProxy> {
        use std::os::unix::fs::PermissionsExt;
        // Owner-only from the start (tempfile would otherwise follow the umask, typically 0755).
        let dir = tempfile::Builder::new()
            .prefix("rds-iam-proxy-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(parent)?;
        let socket = dir.path().join("proxy.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket)?;
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (phase, watched) = watch::channel(Phase::Serving);
        let config = Arc::new(config);
        let thread = std::thread::Builder::new()
            .name("rds-iam-proxy".into())
            .spawn(move || {
                let gate = Arc::new(Gate::default());
                runtime.block_on(crate::server::accept_unix(listener, config, gate, watched));
            })?;
        Ok(EmbeddedProxy {
            socket,
            phase,
            thread: Some(thread),
            _dir: dir,
        })
    }

    /// The socket to connect to.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }
}

impl Drop for EmbeddedProxy {
    fn drop(&mut self) {
        let _ = self.phase.send(Phase::Stopped);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl fmt::Debug for EmbeddedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedProxy")
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}
