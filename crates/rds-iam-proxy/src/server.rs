//! [`ProxyServer`]: the standalone proxy (`rds-iam proxy`): one listener per instance, TCP or Unix socket, on a
//! multi-threaded tokio runtime of its own, with tokens kept signed ahead in the background.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;

use crate::ProxyConfig;

/// How often the tokens of the users seen are looked at; the token cache signs anew within its refresh margin (5
/// minutes before expiry), so a client's login never waits on signing after the first.
const REFRESH_EVERY: Duration = Duration::from_secs(30);

/// Where an instance listens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Listen {
    /// A TCP address; anything but a loopback address needs [`Instance::danger_allow_non_loopback`].
    Tcp(SocketAddr),
    /// A Unix socket, created owner-only (0600) in a directory that others cannot write to.
    Unix(PathBuf),
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Tcp(addr) => write!(f, "{addr}"),
            Listen::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// One database behind one listener.
#[derive(Debug)]
pub struct Instance {
    config: ProxyConfig,
    listen: Listen,
    non_loopback: bool,
}

impl Instance {
    /// Serves `config` on `listen`.
    pub fn new(config: ProxyConfig, listen: Listen) -> Instance {
        Instance {
            config,
            listen,
            non_loopback: false,
        }
    }

    /// Allows a TCP address other than loopback. **Anyone who can reach it logs in to the database as any allowed
    /// user, without a password**: use it only on a network you control (a container's own network namespace),
    /// with [`ProxyConfig::allow_users`], and never on a public interface.
    pub fn danger_allow_non_loopback(mut self) -> Instance {
        self.non_loopback = true;
        self
    }
}

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A TCP address that is not loopback, without [`Instance::danger_allow_non_loopback`].
    #[error(
        "{addr} is not a loopback address: anyone who can reach it would log in to the database without a password; \
         listen on 127.0.0.1 or ::1, or allow other addresses explicitly"
    )]
    NonLoopback {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The listener could not be opened (address in use, no permission, no such directory).
    #[error("cannot listen on {listen}")]
    Listen {
        /// Where.
        listen: Listen,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// The Unix socket's directory can be written by other users, who could replace the socket.
    #[error(
        "{} is writable by other users (mode {mode:o}), who could replace the socket: put the socket in a \
         directory only you can write to (e.g. $XDG_RUNTIME_DIR or a new 0700 folder)",
        dir.display()
    )]
    UnsafeSocketDirectory {
        /// The directory.
        dir: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Something other than a socket, or a socket another process is serving, is at the socket's path.
    #[error("{} {what}; choose another path or remove it", path.display())]
    PathInUse {
        /// The path.
        path: PathBuf,
        /// What is there.
        what: &'static str,
    },
    /// The runtime or its thread could not be created.
    #[error("cannot start the proxy's runtime")]
    Runtime(#[source] io::Error),
}

/// What `POST /quitquitquit` calls.
pub(crate) type QuitHandler = Arc<dyn Fn() + Send + Sync>;

/// Settings of a whole [`ProxyServer`] (all its listeners together).
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct ServerOptions {
    max_connections: Option<usize>,
    health: Option<SocketAddr>,
    quit: Option<QuitHandler>,
    lazy_refresh: bool,
    prometheus: bool,
}

impl fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOptions")
            .field("max_connections", &self.max_connections)
            .field("health", &self.health)
            .field("quitquitquit", &self.quit.is_some())
            .field("lazy_refresh", &self.lazy_refresh)
            .field("prometheus", &self.prometheus)
            .finish()
    }
}

impl ServerOptions {
    /// Serve HTTP health endpoints on `addr`: `GET /startup` (200 once every listener is up and the first tokens
    /// of the allowed users are signed, else 503), `GET /liveness` (200 until shutdown begins), `GET /readiness`
    /// (200 when started, not shutting down and below [`ServerOptions::max_connections`]; else 503 and why).
    pub fn health_endpoints(mut self, addr: SocketAddr) -> ServerOptions {
        self.health = Some(addr);
        self
    }

    /// Also serve `GET /metrics` on the health endpoints: the Prometheus text format (names in docs/proxy.md).
    pub fn prometheus(mut self, enabled: bool) -> ServerOptions {
        self.prometheus = enabled;
        self
    }

    /// Sign tokens only when a client logs in, never in the background (for environments that throttle or bill
    /// background work); the default keeps the tokens of the allowed users, and of every user that logged in,
    /// signed ahead. With it, `/startup` does not wait for tokens.
    pub fn lazy_refresh(mut self, lazy: bool) -> ServerOptions {
        self.lazy_refresh = lazy;
        self
    }

    /// Also serve `POST /quitquitquit` on the health endpoints, calling `quit` (which should begin a graceful
    /// shutdown: [`ProxyServer::shutdown`]).
    pub fn on_quitquitquit(mut self, quit: impl Fn() + Send + Sync + 'static) -> ServerOptions {
        self.quit = Some(Arc::new(quit));
        self
    }

    /// At most `sessions` client sessions at once, over every listener; the next client gets MySQL error `1040 Too
    /// many connections` in an ERR packet in place of the greeting, as from a database at its limit. Default: no
    /// limit.
    pub fn max_connections(mut self, sessions: usize) -> ServerOptions {
        self.max_connections = Some(sessions);
        self
    }
}

/// The open sessions of a server (or an embedded proxy), and its limit.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    open: AtomicUsize,
    max: Option<usize>,
}

impl Gate {
    /// A place for one more session, unless the limit is reached.
    fn enter(self: &Arc<Gate>) -> Option<SessionGuard> {
        let max = self.max.unwrap_or(usize::MAX);
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            })
            .ok()
            .map(|_| SessionGuard(self.clone()))
    }

    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    pub(crate) fn limit(&self) -> Option<usize> {
        self.max
    }
}

/// One open session; dropping it frees its place.
struct SessionGuard(Arc<Gate>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Where a server is in its life: accepting, draining (listeners closed, sessions going on), stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    Serving,
    Draining,
    Stopped,
}

/// One listener that is up: where, and the database behind it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Listening {
    /// The address (the port chosen by the system when 0 was asked for).
    pub listen: Listen,
    /// The host and port dialed.
    pub target: (String, u16),
}

/// The proxy serving its instances on a thread of its own with a multi-threaded tokio runtime. Dropping it (or
/// [`ProxyServer::stop`]) stops accepting, closes every session and removes the Unix sockets it created.
///
/// ```no_run
/// use rds_iam_credentials::DefaultChain;
/// use rds_iam_mysql::{IamConnector, Target};
/// use rds_iam_proxy::{Instance, Listen, ProxyConfig, ProxyServer};
///
/// let target = Target::new("mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com", 3306, "app")?;
/// let connector = IamConnector::new(target, DefaultChain::builder().build(), "/etc/rds/global-bundle.pem");
/// let config = ProxyConfig::iam(connector)?.allow_users(["app"]);
/// let server = ProxyServer::start(vec![Instance::new(config, Listen::Tcp("127.0.0.1:3306".parse()?))])?;
/// for up in server.listening() {
///     println!("listening on {} for {}:{}", up.listen, up.target.0, up.target.1);
/// }
/// // … serve until the program is told to stop (a signal), then:
/// server.stop();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ProxyServer {
    listening: Vec<Listening>,
    health: Option<SocketAddr>,
    sockets: Vec<PathBuf>,
    phase: watch::Sender<Phase>,
    gate: Arc<Gate>,
    thread: Option<JoinHandle<()>>,
}

enum Bound {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener),
}

impl ProxyServer {
    /// Opens every listener (all or none: an error closes those already open), then serves on a new thread. The
    /// listeners accept connections when this returns.
    pub fn start(instances: Vec<Instance>) -> Result<ProxyServer, StartError> {
        ProxyServer::start_with(instances, ServerOptions::default())
    }

    /// [`ProxyServer::start`] with settings for the whole server.
    pub fn start_with(instances: Vec<Instance>, options: ServerOptions) -> Result<ProxyServer, StartError> {
        let mut bound = Vec::new();
        let mut listening = Vec::new();
        let mut sockets = Vec::new();
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let opened = instances.into_iter().try_for_each(|instance| {
            let (listener, listen) = bind(&instance)?;
            if let Listen::Unix(path) = &listen {
                sockets.push(path.clone());
            }
            let (host, port) = instance.config.address();
            listening.push(Listening {
                listen,
                target: (host.to_owned(), port),
            });
            let mut config = instance.config;
            config.metrics = Some(metrics.clone());
            bound.push((listener, Arc::new(config)));
            Ok(())
        });
        if let Err(err) = opened {
            remove_sockets(&sockets);
            return Err(err);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("rds-iam-proxy")
            .build()
            .map_err(StartError::Runtime)?;
        let health_listener = match options.health {
            Some(addr) => {
                let listen_error = |source| StartError::Listen {
                    listen: Listen::Tcp(addr),
                    source,
                };
                let listener = std::net::TcpListener::bind(addr).map_err(listen_error);
                let listener = listener.and_then(|l| l.set_nonblocking(true).map(|()| l).map_err(listen_error));
                match listener {
                    Ok(listener) => Some(listener),
                    Err(err) => {
                        remove_sockets(&sockets);
                        return Err(err);
                    }
                }
            }
            None => None,
        };
        let health = health_listener.as_ref().and_then(|l| l.local_addr().ok());
        let (phase, watched) = watch::channel(Phase::Serving);
        let gate = Arc::new(Gate {
            open: AtomicUsize::new(0),
            max: options.max_connections,
        });
        // Instances with users to sign for ahead: started once each has signed its first tokens.
        let pending_tokens = Arc::new(AtomicUsize::new(if options.lazy_refresh {
            0
        } else {
            bound
                .iter()
                .filter(|(_, config)| config.connector().is_some() && !config.remembered_users().is_empty())
                .count()
        }));
        let serving = Serving {
            refresh: !options.lazy_refresh,
            gate: gate.clone(),
            phase: watched,
            pending_tokens,
            health: health_listener.map(|listener| (listener, options.quit, options.prometheus.then_some(metrics))),
        };
        let thread = std::thread::Builder::new()
            .name("rds-iam-proxy-main".into())
            .spawn(move || runtime.block_on(serve_all(bound, serving)))
            .map_err(StartError::Runtime)?;
        Ok(ProxyServer {
            listening,
            health,
            sockets,
            phase,
            gate,
            thread: Some(thread),
        })
    }

    /// Where the health endpoints listen ([`ServerOptions::health_endpoints`]; the port chosen by the system when 0
    /// was asked for).
    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.health
    }

    /// The client sessions open now, over every listener.
    pub fn open_sessions(&self) -> usize {
        self.gate.open()
    }

    /// A graceful stop: closes the listeners at once (new clients are refused), lets the open sessions go on for
    /// up to `grace`, then closes those still open and removes the Unix sockets. Returns how many sessions were
    /// cut off (0 when all ended within `grace`).
    pub fn shutdown(self, grace: Duration) -> usize {
        let _ = self.phase.send(Phase::Draining);
        let started = Instant::now();
        while self.gate.open() > 0 && started.elapsed() < grace {
            std::thread::sleep(Duration::from_millis(20).min(grace.saturating_sub(started.elapsed())));
        }
        let cut_off = self.gate.open();
        drop(self);
        cut_off
    }

    /// The listeners, in the order of the instances.
    pub fn listening(&self) -> &[Listening] {
        &self.listening
    }

    /// Stops accepting, closes every session, removes the Unix sockets.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for ProxyServer {
    fn drop(&mut self) {
        let _ = self.phase.send(Phase::Stopped);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        remove_sockets(&self.sockets);
    }
}

impl fmt::Debug for ProxyServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyServer")
            .field("listening", &self.listening)
            .finish_non_exhaustive()
    }
}

fn remove_sockets(sockets: &[PathBuf]) {
    for socket in sockets {
        let _ = std::fs::remove_file(socket);
    }
}

fn bind(instance: &Instance) -> Result<(Bound, Listen), StartError> {
    match &instance.listen {
        Listen::Tcp(addr) => {
            if !addr.ip().is_loopback() && !instance.non_loopback {
                return Err(StartError::NonLoopback { addr: *addr });
            }
            let listen_error = |source| StartError::Listen {
                listen: instance.listen.clone(),
                source,
            };
            let listener = std::net::TcpListener::bind(addr).map_err(listen_error)?;
            listener.set_nonblocking(true).map_err(listen_error)?;
            let local = listener.local_addr().map_err(listen_error)?;
            Ok((Bound::Tcp(listener), Listen::Tcp(local)))
        }
        Listen::Unix(path) => {
            let listener = bind_unix(path)?;
            Ok((Bound::Unix(listener), Listen::Unix(path.clone())))
        }
    }
}

/// A Unix socket at `path`, owner-only, in a directory others cannot write to; a stale socket (nobody serving
/// it) is replaced, anything else at the path is left alone.
fn bind_unix(path: &Path) -> Result<std::os::unix::net::UnixListener, StartError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
    let listen_error = |source| StartError::Listen {
        listen: Listen::Unix(path.to_owned()),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let mode = std::fs::metadata(&dir).map_err(listen_error)?.mode() & 0o7777;
    if mode & 0o002 != 0 {
        return Err(StartError::UnsafeSocketDirectory { dir, mode });
    }
    if let Ok(existing) = std::fs::symlink_metadata(path) {
        if !existing.file_type().is_socket() {
            return Err(StartError::PathInUse {
                path: path.to_owned(),
                what: "exists and is not a socket",
            });
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(StartError::PathInUse {
                path: path.to_owned(),
                what: "is a socket another process is serving",
            });
        }
        std::fs::remove_file(path).map_err(listen_error)?;
    }
    let listener = std::os::unix::net::UnixListener::bind(path).map_err(listen_error)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(listen_error)?;
    listener.set_nonblocking(true).map_err(listen_error)?;
    Ok(listener)
}

/// What the server's tasks share.
struct Serving {
    /// Keep tokens signed ahead (not `--lazy-refresh`).
    refresh: bool,
    gate: Arc<Gate>,
    phase: watch::Receiver<Phase>,
    pending_tokens: Arc<AtomicUsize>,
    health: Option<(
        std::net::TcpListener,
        Option<QuitHandler>,
        Option<Arc<crate::metrics::Metrics>>,
    )>,
}

async fn serve_all(bound: Vec<(Bound, Arc<ProxyConfig>)>, serving: Serving) {
    let Serving {
        refresh,
        gate,
        phase,
        pending_tokens,
        health,
    } = serving;
    let mut tasks = tokio::task::JoinSet::new();
    if let Some((listener, quit, metrics)) = health {
        let health = Arc::new(crate::health::Health {
            gate: gate.clone(),
            phase: phase.clone(),
            pending_tokens: pending_tokens.clone(),
            quit,
            metrics,
        });
        tasks.spawn(crate::health::serve(listener, health));
    }
    for (listener, config) in bound {
        if refresh && config.connector().is_some() {
            tasks.spawn(refresh_tokens(config.clone(), pending_tokens.clone()));
        }
        let (gate, phase) = (gate.clone(), phase.clone());
        match listener {
            Bound::Tcp(listener) => tasks.spawn(accept_tcp(listener, config, gate, phase)),
            Bound::Unix(listener) => tasks.spawn(accept_unix(listener, config, gate, phase)),
        };
    }
    let mut phase = phase;
    reached(&mut phase, Phase::Stopped).await;
    // Returning drops the runtime, and with it every session.
}

/// Serves `stream` as a session if the gate has room, else tells the client there are too many connections.
fn admit<S>(gate: &Arc<Gate>, config: &Arc<ProxyConfig>, stream: S, peer: String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    match gate.enter() {
        Some(place) => {
            let config = config.clone();
            tokio::spawn(async move {
                crate::session::serve(config, stream, peer).await;
                drop(place);
            });
        }
        None => {
            let limit = gate.max.unwrap_or_default();
            if let Some(metrics) = &config.metrics {
                metrics.connection(&config.instance, crate::metrics::Outcome::Limit);
            }
            tokio::spawn(crate::session::too_many(stream, peer, limit));
        }
    }
}

async fn accept_tcp(
    listener: std::net::TcpListener,
    config: Arc<ProxyConfig>,
    gate: Arc<Gate>,
    mut phase: watch::Receiver<Phase>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("rds-iam proxy: cannot listen: {e}");
            return;
        }
    };
    loop {
        tokio::select! {
            () = reached(&mut phase, Phase::Draining) => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    admit(&gate, &config, stream, peer.to_string());
                }
                Err(e) => accept_failed(e).await,
            },
        }
    }
}

/// Accepts on a Unix socket until the server drains; peers of another user (root aside) are refused.
pub(crate) async fn accept_unix(
    listener: std::os::unix::net::UnixListener,
    config: Arc<ProxyConfig>,
    gate: Arc<Gate>,
    mut phase: watch::Receiver<Phase>,
) {
    let listener = match UnixListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("rds-iam proxy: cannot listen: {e}");
            return;
        }
    };
    let uid = rustix::process::getuid().as_raw();
    loop {
        tokio::select! {
            () = reached(&mut phase, Phase::Draining) => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let peer_uid = stream.peer_cred().map(|cred| cred.uid()).ok();
                    if peer_uid != Some(uid) && peer_uid != Some(0) {
                        tracing::warn!(?peer_uid, "rds-iam proxy: refused a client of another user");
                        continue;
                    }
                    let peer = format!("unix:uid={}", peer_uid.unwrap_or(uid));
                    admit(&gate, &config, stream, peer);
                }
                Err(e) => accept_failed(e).await,
            },
        }
    }
}

/// Until the server reaches `phase` (or its handle is gone).
pub(crate) async fn reached(watched: &mut watch::Receiver<Phase>, phase: Phase) {
    let _ = watched.wait_for(|now| *now >= phase).await;
}

/// A failed accept (out of file descriptors, mostly): logged, and a short pause so the loop does not spin.
async fn accept_failed(err: io::Error) {
    tracing::warn!("rds-iam proxy: accept failed: {err}");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Keeps the tokens of the users seen (and the allowed users, from the start) signed ahead of expiry. After the
/// first round in which every token was signed, `pending` (the instances not started yet) counts one less.
async fn refresh_tokens(config: Arc<ProxyConfig>, pending: Arc<AtomicUsize>) {
    let mut started = config.remembered_users().is_empty();
    loop {
        let mut all_signed = true;
        for user in config.remembered_users() {
            let Some(connector) = config.connector() else { return };
            let connector = connector.clone();
            let for_user = user.clone();
            let signed = tokio::task::spawn_blocking(move || connector.token_for_user(&for_user)).await;
            let expiry = match signed {
                Ok(Ok(token)) => {
                    tracing::trace!(user, "token ready");
                    Some((token.expires_at(), token.credentials_expiry()))
                }
                Ok(Err(e)) => {
                    all_signed = false;
                    tracing::warn!("rds-iam proxy: cannot sign a token ahead: {e}");
                    None
                }
                Err(e) => {
                    all_signed = false;
                    tracing::warn!("rds-iam proxy: token refresh failed: {e}");
                    None
                }
            };
            if let Some(metrics) = &config.metrics {
                metrics.refreshed(&config.instance, &user, expiry);
            }
        }
        if !started && all_signed {
            started = true;
            pending.fetch_sub(1, Ordering::AcqRel);
        }
        tokio::time::sleep(REFRESH_EVERY).await;
    }
}
