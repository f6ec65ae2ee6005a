//! `rds-iam proxy`: a local IAM auth proxy, so that any MySQL client logs in with IAM (no password, no TLS on the
//! client's side; the proxy dials the DB over TLS it verifies and logs in with a fresh token).
//!
//! Settings come from flags, `RDS_IAM_PROXY_*` environment variables and a TOML file, in that order of precedence
//! (as Cloud SQL Auth Proxy's flags, `CSQL_PROXY_*` variables and config file compose); within the file, an
//! instance's own keys win over the file's top-level keys.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use rds_iam_mysql::ConnectRateLimiter;
use rds_iam_proxy::{Instance, Listen, Listening, ProxyConfig, ProxyServer, ServerOptions, StartError};
use serde::Deserialize;

use crate::context::Context;
use crate::target::EndpointArgs;

const PROXY_HELP: &str = "\
Clients connect to the listener with the DB user's name, no password (one given is ignored) and no TLS: the \
proxy dials the DB, verifies its certificate against the CA bundle and the endpoint's name (also through a \
tunnel: --hostname 127.0.0.1 --signing-host ENDPOINT), logs in with an IAM token for the user the client names, \
and relays the session. GUI tools: host 127.0.0.1, the listener's port, the user, an empty password, SSL off.

Every flag can also be set as RDS_IAM_PROXY_<FLAG> (RDS_IAM_PROXY_LISTEN=127.0.0.1:3307, \
RDS_IAM_PROXY_USER=app,report) and in a TOML file (--config): top-level keys for every instance, one \
[[instance]] table per listener:

  region = \"eu-west-1\"
  [[instance]]
  hostname = \"mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com\"
  listen = \"127.0.0.1:3306\"
  user = [\"app\"]

Flags and variables win over the file's top-level keys; an instance's own keys win over both. With --hostname, \
the command line's instance replaces the file's instances.

Prints one line when every listener is ready, then logs each connection to standard error (RUST_LOG sets the \
level; no token or credential is ever logged). Runs until SIGINT or SIGTERM (or POST /quitquitquit).";

/// The flags of `rds-iam proxy`.
#[derive(Debug, Args)]
#[command(after_help = PROXY_HELP)]
pub(crate) struct ProxyArgs {
    #[command(flatten)]
    endpoint: EndpointArgs,

    /// Listen on this TCP address (default: 127.0.0.1 and the DB's --port). A non-loopback address also needs
    /// --danger-listen-non-loopback.
    #[arg(long, value_name = "ADDRESS:PORT", conflicts_with = "unix_socket")]
    listen: Option<SocketAddr>,

    /// Listen on this Unix socket instead (created 0600; its directory must not be writable by others).
    #[arg(long, value_name = "PATH")]
    unix_socket: Option<PathBuf>,

    /// Allow a --listen address other than loopback. Anyone who can reach it logs in to the DB as the allowed
    /// users without a password: only on a network you control, with --user.
    #[arg(long)]
    danger_listen_non_loopback: bool,

    /// A DB user clients may log in as (repeatable, or comma-separated; default: any user the client names).
    #[arg(long, visible_alias = "username", value_name = "USER", value_delimiter = ',')]
    user: Vec<String>,

    /// New logins to the DB per second at most, per DB (RDS accepts about 200 new IAM connections a second);
    /// clients beyond it wait, they are not refused. Default: 150.
    #[arg(long, value_name = "PER_SECOND")]
    max_login_rate: Option<f64>,

    /// TOML file with the settings of one or more instances (see below).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// At most N client sessions at once, over every listener (0: no limit); the next client gets `ERROR 1040
    /// (HY000): … Too many connections`.
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_connections: usize,

    /// On SIGTERM or SIGINT, close the listeners at once and let open sessions go on for up to this long (e.g.
    /// 30s, 2m) before closing them. A second SIGINT exits at once.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "0s")]
    max_sigterm_delay: Duration,

    /// Exit with 0 after SIGTERM (default: 143), e.g. for a Kubernetes Job's sidecar.
    #[arg(long)]
    exit_zero_on_sigterm: bool,

    /// Log in once through every listener at start (as its first --user) and exit 1 with the cause if any login
    /// fails, so that a deployment fails at once rather than at the first client.
    #[arg(long)]
    run_connection_test: bool,

    /// Serve HTTP health endpoints here: GET /startup (200 once listening and the --user tokens are signed),
    /// /liveness (200 until shutdown begins), /readiness (200 when started, not shutting down and below
    /// --max-connections; else 503 and why).
    #[arg(long, value_name = "ADDRESS:PORT")]
    http_listen: Option<SocketAddr>,

    /// Also serve POST /quitquitquit on --http-listen: begins the same graceful shutdown as SIGTERM.
    #[arg(long, requires = "http_listen")]
    quitquitquit: bool,

    /// Also serve GET /metrics on --http-listen: Prometheus metrics (open connections, connections by result,
    /// dial time, bytes, token refreshes and expiry, login failures by cause, credentials expiry).
    #[arg(long, requires = "http_listen")]
    prometheus: bool,

    /// Sign tokens only when a client logs in, never in the background (the default keeps them signed ahead, so
    /// that no login waits on signing).
    #[arg(long)]
    lazy_refresh: bool,

    /// Log one JSON object per line (time, level, instance, client, user, event, duration, bytes, error kind;
    /// never a token or credential).
    #[arg(long)]
    structured_logs: bool,

    /// Log errors only (RUST_LOG still overrides). The ready line is printed all the same.
    #[arg(long)]
    quiet: bool,
}

impl ProxyArgs {
    /// How the proxy logs: the default levels (unless RUST_LOG is set), and whether as JSON.
    pub(crate) fn logging(&self) -> (&'static str, bool) {
        let levels = if self.quiet {
            "error"
        } else {
            "warn,rds_iam_proxy=info,rds_iam_cli=info"
        };
        (levels, self.structured_logs)
    }
}

/// `30s`, `2m`, `1h`, `500ms`, or a number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: give a number and a unit, e.g. 30s, 2m, 500ms"))?;
    let duration = match unit {
        "" | "s" => Duration::from_secs(number),
        "ms" => Duration::from_millis(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        "h" => Duration::from_secs(number.saturating_mul(3600)),
        other => return Err(format!("unknown unit {other:?} in {text:?}: use ms, s, m or h")),
    };
    Ok(duration)
}

/// Gives every `proxy` flag an `RDS_IAM_PROXY_<FLAG>` variable (flags that have a variable of their own keep
/// it), and makes --hostname optional (a config file can name the instances).
pub(crate) fn with_env(command: clap::Command) -> clap::Command {
    command.mut_arg("hostname", |arg| arg.required(false)).mut_args(|arg| {
        if arg.get_env().is_some() || arg.is_positional() {
            return arg;
        }
        let name = format!("RDS_IAM_PROXY_{}", arg.get_id().as_str().to_ascii_uppercase());
        arg.env(name)
    })
}

/// Declares a table with the keys every level shares (the file's top level, an `[[instance]]`, the flags as
/// [`Settings`]) and its own fields: spelled out rather than `#[serde(flatten)]`ed, so that serde can refuse unknown
/// keys (a typo is an error, not a silent default).
macro_rules! with_settings {
    ($(#[$meta:meta])* struct $name:ident { $($(#[$field_meta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Default, Clone, Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        struct $name {
            $($(#[$field_meta])* $field: $ty,)*
            region: Option<String>,
            profile: Option<String>,
            ca_bundle: Option<PathBuf>,
            user: Option<Vec<String>>,
            danger_skip_hostname_check: Option<bool>,
            danger_listen_non_loopback: Option<bool>,
            max_login_rate: Option<f64>,
        }

        /// The shared keys alone.
        impl From<&$name> for Settings {
            fn from(table: &$name) -> Settings {
                Settings {
                    region: table.region.clone(),
                    profile: table.profile.clone(),
                    ca_bundle: table.ca_bundle.clone(),
                    user: table.user.clone(),
                    danger_skip_hostname_check: table.danger_skip_hostname_check,
                    danger_listen_non_loopback: table.danger_listen_non_loopback,
                    max_login_rate: table.max_login_rate,
                }
            }
        }
    };
}

with_settings! {
    /// Settings that apply to every instance (the file's top level, the flags) or to one (its table).
    struct Settings {}
}

with_settings! {
    /// The config file: top-level settings for every instance, and the instances.
    struct ConfigFile {
        #[serde(default)]
        instance: Vec<InstanceFile>,
    }
}

with_settings! {
    /// One `[[instance]]` table.
    struct InstanceFile {
        hostname: String,
        port: Option<u16>,
        signing_host: Option<String>,
        signing_port: Option<u16>,
        listen: Option<SocketAddr>,
        unix_socket: Option<PathBuf>,
    }
}

/// One instance, resolved.
struct Resolved {
    endpoint: EndpointArgs,
    listen: Listen,
    users: Vec<String>,
    non_loopback: bool,
    max_login_rate: f64,
}

/// What the main thread waits for once the proxy runs.
enum Event {
    Signal(i32),
    /// The graceful stop is over; how many sessions it had to cut off.
    Stopped(usize),
}

/// Runs the proxy until SIGINT or SIGTERM, then stops gracefully (--max-sigterm-delay); exits 128 + the signal's
/// number then (0 after SIGTERM with --exit-zero-on-sigterm).
pub(crate) fn run(args: ProxyArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut options = ServerOptions::default().lazy_refresh(args.lazy_refresh);
    if args.max_connections > 0 {
        options = options.max_connections(args.max_connections);
    }
    let (delay, exit_zero, connection_test) = (
        args.max_sigterm_delay,
        args.exit_zero_on_sigterm,
        args.run_connection_test,
    );
    let (events, next) = std::sync::mpsc::channel();
    if let Some(addr) = args.http_listen {
        options = options.health_endpoints(addr).prometheus(args.prometheus);
        if args.quitquitquit {
            let quit = std::sync::Mutex::new(events.clone());
            options = options.on_quitquitquit(move || {
                if let Ok(events) = quit.lock() {
                    let _ = events.send(Event::Signal(signal_hook::consts::SIGTERM));
                }
            });
        }
    }
    let instances = resolve(args)?;
    raise_open_files_limit();
    // Registered before the listeners open, so a signal during startup is handled too.
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).context("installing signal handlers")?;

    let mut limiters: HashMap<(String, u16), Arc<ConnectRateLimiter>> = HashMap::new();
    let mut served = Vec::new();
    for resolved in instances {
        let user = resolved.users.first().map_or("rds-iam-proxy", String::as_str);
        let connector = resolved.endpoint.connector(ctx, user, None)?;
        let limiter = limiters
            .entry((resolved.endpoint.hostname().to_owned(), resolved.endpoint.port))
            .or_insert_with(|| Arc::new(ConnectRateLimiter::new(resolved.max_login_rate, 20)))
            .clone();
        let config = ProxyConfig::iam(connector)?
            .allow_users(resolved.users.clone())
            .with_login_rate(limiter);
        if resolved.endpoint.danger_skip_hostname_check {
            tracing::warn!(
                host = resolved.endpoint.hostname(),
                "TLS: the certificate's name is not checked (its chain is, against the CA bundle alone)"
            );
        }
        if let Listen::Tcp(addr) = &resolved.listen
            && !addr.ip().is_loopback()
            && resolved.non_loopback
        {
            eprintln!(
                "WARNING: listening on {addr}, which is not loopback: anyone who can reach it logs in to {} as {} \
                 without a password",
                resolved.endpoint.hostname(),
                if resolved.users.is_empty() {
                    "any DB user".to_owned()
                } else {
                    resolved.users.join(", ")
                }
            );
        }
        let mut instance = Instance::new(config, resolved.listen);
        if resolved.non_loopback {
            instance = instance.danger_allow_non_loopback();
        }
        served.push((instance, resolved.users));
    }
    let users: Vec<Vec<String>> = served.iter().map(|(_, users)| users.clone()).collect();
    let server = ProxyServer::start_with(served.into_iter().map(|(instance, _)| instance).collect(), options)
        .map_err(start_error)?;
    if connection_test {
        for (up, users) in server.listening().iter().zip(&users) {
            test_connection(up, users)?;
        }
    }

    let ready: Vec<String> = server
        .listening()
        .iter()
        .zip(&users)
        .map(|(up, users)| {
            let who = if users.is_empty() {
                "any user".to_owned()
            } else {
                users.join(", ")
            };
            format!("{} → {}:{} ({who})", up.listen, up.target.0, up.target.1)
        })
        .collect();
    let health = server
        .health_addr()
        .map(|addr| format!("; health: http://{addr}/readiness"))
        .unwrap_or_default();
    outln!("rds-iam proxy ready: {}{health}", ready.join("; "));

    let signal_events = events.clone();
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal_events.send(Event::Signal(signal)).is_err() {
                return;
            }
        }
    });
    let Ok(Event::Signal(signal)) = next.recv() else {
        return Ok(ExitCode::FAILURE);
    };
    tracing::info!(
        signal,
        open_sessions = server.open_sessions(),
        "shutting down: the listeners are closed; open sessions may go on for up to {delay:?}"
    );
    std::thread::spawn(move || {
        let _ = events.send(Event::Stopped(server.shutdown(delay)));
    });
    loop {
        match next.recv() {
            Ok(Event::Stopped(cut_off)) => {
                if cut_off > 0 {
                    tracing::warn!(cut_off, "closed sessions still open after {delay:?}");
                }
                break;
            }
            Ok(Event::Signal(SIGINT)) => {
                tracing::warn!("a second SIGINT: exiting at once");
                return Ok(ExitCode::from(128 + 2));
            }
            Ok(Event::Signal(_)) => {}
            Err(_) => break,
        }
    }
    if signal == SIGTERM && exit_zero {
        return Ok(ExitCode::SUCCESS);
    }
    Ok(ExitCode::from(128 + u8::try_from(signal).unwrap_or(0)))
}

/// Logs in once through `up` as the first of `users`, and runs `SELECT 1`.
fn test_connection(up: &Listening, users: &[String]) -> anyhow::Result<()> {
    let Some(user) = users.first() else {
        bail!(
            "--run-connection-test logs in as each listener's first --user; {} has none",
            up.listen
        );
    };
    let opts = mysql::OptsBuilder::new().user(Some(user.as_str()));
    let opts = match &up.listen {
        Listen::Tcp(addr) => opts
            .ip_or_hostname(Some(addr.ip().to_string()))
            .tcp_port(addr.port())
            .prefer_socket(false),
        Listen::Unix(path) => opts
            .socket(Some(path.to_string_lossy().into_owned()))
            .prefer_socket(true),
        _ => bail!("--run-connection-test cannot reach {}", up.listen),
    };
    let tested =
        mysql::Conn::new(opts).and_then(|mut conn| mysql::prelude::Queryable::query_drop(&mut conn, "SELECT 1"));
    tested.with_context(|| {
        format!(
            "connection test: logging in as '{user}' through {} to {}:{} failed",
            up.listen, up.target.0, up.target.1
        )
    })?;
    tracing::info!(listen = %up.listen, user, "connection test passed");
    Ok(())
}

/// Raises the soft limit on open files to the hard one, as servers do: each session holds two descriptors (client
/// and database), and the usual soft limit of 1024 would refuse clients beyond about 500 sessions.
fn raise_open_files_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current == limit.maximum {
        return;
    }
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => tracing::debug!(from = ?limit.current, to = ?limit.maximum, "raised the open files limit"),
        Err(e) => tracing::warn!(?limit, "cannot raise the open files limit: {e}"),
    }
}

/// Flags, variables and the config file → instances.
fn resolve(args: ProxyArgs) -> anyhow::Result<Vec<Resolved>> {
    let file = match &args.config {
        Some(path) => read_config(path)?,
        None => ConfigFile::default(),
    };
    let flags = Settings {
        region: args.endpoint.region.clone(),
        profile: args.endpoint.profile.clone(),
        ca_bundle: args.endpoint.ca_bundle.clone(),
        user: (!args.user.is_empty()).then(|| args.user.clone()),
        danger_skip_hostname_check: args.endpoint.danger_skip_hostname_check.then_some(true),
        danger_listen_non_loopback: args.danger_listen_non_loopback.then_some(true),
        max_login_rate: args.max_login_rate,
    };
    let defaults = flags.or(&Settings::from(&file));

    if let Some(rate) = defaults.max_login_rate
        && !(rate.is_finite() && rate > 0.0)
    {
        bail!("max-login-rate must be a positive number of logins a second, not {rate}");
    }
    if args.endpoint.hostname.is_some() {
        if !file.instance.is_empty() {
            eprintln!(
                "note: --hostname (or RDS_IAM_PROXY_HOSTNAME) given: the {} instance(s) of the config file are not \
                 served",
                file.instance.len()
            );
        }
        // Through a tunnel --port is the tunnel's local port, already taken: the DB's own port is the default.
        let port = args.endpoint.signing_port.unwrap_or(args.endpoint.port);
        let listen = listen_of(args.listen, args.unix_socket.clone(), port);
        let endpoint = EndpointArgs {
            region: defaults.region.clone(),
            profile: defaults.profile.clone(),
            ca_bundle: defaults.ca_bundle.clone(),
            danger_skip_hostname_check: defaults.danger_skip_hostname_check.unwrap_or(false),
            ..args.endpoint
        };
        return Ok(vec![resolved(endpoint, listen, &defaults)]);
    }
    if file.instance.is_empty() {
        usage_error(
            "rds-iam proxy needs --hostname (or RDS_IAM_PROXY_HOSTNAME), or --config FILE with [[instance]] tables",
        );
    }
    let per_instance = [
        ("--listen", args.listen.is_some()),
        ("--unix-socket", args.unix_socket.is_some()),
        ("--signing-host", args.endpoint.signing_host.is_some()),
        ("--signing-port", args.endpoint.signing_port.is_some()),
    ];
    if let Some((flag, _)) = per_instance.iter().find(|(_, given)| *given) {
        usage_error(&format!(
            "{flag} belongs to the command line's instance (--hostname); with a config file, set it in each \
             [[instance]] table"
        ));
    }
    let mut out = Vec::new();
    for instance in file.instance {
        let settings = Settings::from(&instance).or(&defaults);
        if instance.listen.is_some() && instance.unix_socket.is_some() {
            bail!(
                "the config file's instance for {} has both listen and unix-socket; give one",
                instance.hostname
            );
        }
        let port = instance.port.unwrap_or(3306);
        let listen = listen_of(
            instance.listen,
            instance.unix_socket,
            instance.signing_port.unwrap_or(port),
        );
        let endpoint = EndpointArgs {
            hostname: Some(instance.hostname),
            port,
            region: settings.region.clone(),
            signing_host: instance.signing_host,
            signing_port: instance.signing_port,
            ca_bundle: settings.ca_bundle.clone(),
            danger_skip_hostname_check: settings.danger_skip_hostname_check.unwrap_or(false),
            profile: settings.profile.clone(),
        };
        out.push(resolved(endpoint, listen, &settings));
    }
    let mut seen = HashMap::new();
    for (index, instance) in out.iter().enumerate() {
        if let Some(first) = seen.insert(instance.listen.clone(), index) {
            bail!(
                "instances {} and {} of the config file both listen on {}; give each its own listen or unix-socket",
                first + 1,
                index + 1,
                instance.listen
            );
        }
    }
    Ok(out)
}

/// Exits with a usage error (2) of `rds-iam proxy`.
fn usage_error(message: &str) -> ! {
    let mut root = crate::cli_command();
    root.build();
    let mut command = root.find_subcommand_mut("proxy").cloned().unwrap_or(root);
    command
        .error(clap::error::ErrorKind::MissingRequiredArgument, message)
        .exit()
}

fn resolved(endpoint: EndpointArgs, listen: Listen, settings: &Settings) -> Resolved {
    Resolved {
        endpoint,
        listen,
        users: settings.user.clone().unwrap_or_default(),
        non_loopback: settings.danger_listen_non_loopback.unwrap_or(false),
        max_login_rate: settings.max_login_rate.unwrap_or(150.0),
    }
}

/// --unix-socket, else --listen, else 127.0.0.1 and the DB's port.
fn listen_of(listen: Option<SocketAddr>, unix_socket: Option<PathBuf>, port: u16) -> Listen {
    match (unix_socket, listen) {
        (Some(path), _) => Listen::Unix(path),
        (None, Some(addr)) => Listen::Tcp(addr),
        (None, None) => Listen::Tcp(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)),
    }
}

impl Settings {
    /// These settings, with `other`'s where these have none.
    fn or(&self, other: &Settings) -> Settings {
        Settings {
            region: self.region.clone().or_else(|| other.region.clone()),
            profile: self.profile.clone().or_else(|| other.profile.clone()),
            ca_bundle: self.ca_bundle.clone().or_else(|| other.ca_bundle.clone()),
            user: self.user.clone().or_else(|| other.user.clone()),
            danger_skip_hostname_check: self.danger_skip_hostname_check.or(other.danger_skip_hostname_check),
            danger_listen_non_loopback: self.danger_listen_non_loopback.or(other.danger_listen_non_loopback),
            max_login_rate: self.max_login_rate.or(other.max_login_rate),
        }
    }
}

fn read_config(path: &Path) -> anyhow::Result<ConfigFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the config file {}", path.display()))?;
    parse_config(&text).with_context(|| format!("in the config file {}", path.display()))
}

fn parse_config(text: &str) -> anyhow::Result<ConfigFile> {
    Ok(toml::from_str(text)?)
}

/// What to do about a listener that could not open.
fn start_error(err: StartError) -> anyhow::Error {
    let advice = match &err {
        StartError::Listen { listen, source } if source.kind() == std::io::ErrorKind::AddrInUse => Some(format!(
            "another program (a local MySQL server? another proxy?) uses {listen}: choose another address with \
             --listen 127.0.0.1:PORT"
        )),
        StartError::NonLoopback { .. } => Some(
            "pass --danger-listen-non-loopback if clients on other hosts must reach this proxy (and restrict the \
             users with --user)"
                .to_owned(),
        ),
        _ => None,
    };
    match advice {
        Some(advice) => anyhow::Error::new(err).context(advice),
        None => anyhow::Error::new(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_files_are_read_strictly() {
        let file = parse_config(
            r#"
            region = "eu-west-1"
            user = ["app"]

            [[instance]]
            hostname = "a.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com"
            listen = "127.0.0.1:3307"

            [[instance]]
            hostname = "127.0.0.1"
            port = 13306
            signing-host = "b.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com"
            signing-port = 3306
            unix-socket = "/run/rds-iam/b.sock"
            user = ["report"]
            region = "eu-west-2"
            "#,
        )
        .unwrap();
        assert_eq!(file.instance.len(), 2);
        let second = Settings::from(&file.instance[1]).or(&Settings::from(&file));
        assert_eq!(
            second.region.as_deref(),
            Some("eu-west-2"),
            "the instance's own key wins"
        );
        assert_eq!(second.user, Some(vec!["report".to_owned()]));
        let first = Settings::from(&file.instance[0]).or(&Settings::from(&file));
        assert_eq!(first.user, Some(vec!["app".to_owned()]), "the top level applies");

        let typo = parse_config("[[instance]]\nhostname = \"h\"\nlisen = \"127.0.0.1:1\"\n").unwrap_err();
        assert!(format!("{typo:#}").contains("lisen"), "{typo:#}");
        let typo = parse_config("regoin = \"x\"\n").unwrap_err();
        assert!(format!("{typo:#}").contains("regoin"), "{typo:#}");
    }

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert!(parse_duration("1d").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn the_default_listener_is_loopback_on_the_db_port() {
        assert_eq!(
            listen_of(None, None, 3306),
            Listen::Tcp("127.0.0.1:3306".parse().unwrap())
        );
        assert_eq!(
            listen_of(Some("0.0.0.0:1".parse().unwrap()), Some("/x".into()), 3306),
            Listen::Unix("/x".into())
        );
    }
}
