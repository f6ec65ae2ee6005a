//! `rds-iam mysql`: start the installed `mariadb` / `mysql` client, already logged in with IAM.
//!
//! The client never holds the token. rds-iam starts an embedded proxy (`rds-iam-proxy`) on a Unix socket in a
//! private folder and points the client at it; the proxy dials the DB, verifies its certificate against the CA
//! bundle alone (and the endpoint's name, also through a tunnel), logs in with the token and relays the session.
//! So no option file, TLS setting or command-line argument of the client can make a token travel without TLS, and
//! nothing secret is ever written to disk or shown in the process table.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus};

use anyhow::{Context as _, bail};
use clap::Args;
use rds_iam_proxy::{EmbeddedProxy, ProxyConfig};

use crate::context::Context;
use crate::target::TargetArgs;

/// `rds-iam mysql [target flags] [-- client args…]`.
#[derive(Debug, Args)]
#[command(after_help = "\
The client connects to a private Unix socket of rds-iam, which does the TLS (verified against the CA bundle alone)
and the IAM login itself: the client never receives the token. The client's own options and option files still
apply (pager, prompt, …), but its connection and TLS options cannot: --host, --port, --user, --socket, --protocol,
--ssl*, --skip-ssl, --tls*, --defaults-file and --defaults-extra-file after `--` are refused (exit 2).")]
pub(crate) struct MysqlArgs {
    #[command(flatten)]
    target: TargetArgs,

    /// The client program (default: `mariadb`, else `mysql`, from PATH).
    #[arg(long, value_name = "PROGRAM")]
    client: Option<PathBuf>,

    /// Arguments passed to the client as they are (after `--`).
    #[arg(last = true, value_name = "CLIENT ARGS")]
    client_args: Vec<String>,
}

/// Which client, since the two spell "no TLS" differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    MariaDb,
    MySql,
}

pub(crate) fn run(args: MysqlArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    if let Some(refused) = refused_client_arg(&args.client_args) {
        crate::cli_command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "the client argument `{refused}` is not allowed after `--`: rds-iam connects the client to the DB \
                     itself (the target flags choose host, port and user; TLS to the DB is rds-iam's, verified against \
                     the CA bundle)"
                ),
            )
            .exit();
    }
    let connector = args.target.connector(ctx)?;
    let client = match args.client {
        Some(client) => client,
        None => find_client(ctx)?,
    };
    let flavour = flavour(&client)?;
    let target = connector.target().clone();
    let config = ProxyConfig::iam(connector)?.allow_users([target.user()]);
    let parent = ctx.temp_dir();
    let proxy = EmbeddedProxy::start(config, &parent)
        .with_context(|| format!("starting the local proxy in {}", parent.display()))?;

    let mut command = Command::new(&client);
    command.args(client_args(
        flavour,
        proxy.socket_path(),
        target.user(),
        target.database(),
    ));
    command.args(&args.client_args);
    let status = run_client(command).with_context(|| format!("running {}", client.display()))?;
    drop(proxy);
    Ok(exit_code(status))
}

/// Our connection arguments. Command-line options beat every option file, in both flavours.
fn client_args(flavour: Flavour, socket: &Path, user: &str, database: Option<&str>) -> Vec<String> {
    let mut args = vec![
        "--protocol=SOCKET".to_owned(),
        "--host=localhost".to_owned(),
        format!("--socket={}", socket.display()),
        format!("--user={user}"),
        // The private socket has no TLS (TLS is between rds-iam and the DB); a client told to insist on TLS by
        // the user's option files would refuse it.
        match flavour {
            Flavour::MariaDb => "--skip-ssl".to_owned(),
            Flavour::MySql => "--ssl-mode=DISABLED".to_owned(),
        },
    ];
    if let Some(database) = database {
        args.push(format!("--database={database}"));
    }
    args
}

/// Runs the client to its end. Ctrl-C and Ctrl-\ at the client's prompt go to the whole process group: they are
/// the client's to handle (cancel the query), so rds-iam ignores them rather than dying and orphaning the client.
/// SIGTERM and SIGHUP sent to rds-iam are passed on to the client, which ends, and rds-iam then cleans up.
fn run_client(mut command: Command) -> anyhow::Result<ExitStatus> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    // Registered before the client starts, so there is no moment in which a signal kills rds-iam alone.
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGQUIT, SIGTERM, SIGHUP])
        .context("installing signal handlers")?;
    let mut child: Child = command.spawn().context("starting the client")?;
    let pid = rustix::process::Pid::from_child(&child);
    let handle = signals.handle();
    let forwarder = std::thread::spawn(move || {
        for signal in signals.forever() {
            let forwarded = match signal {
                SIGTERM => rustix::process::Signal::TERM,
                SIGHUP => rustix::process::Signal::HUP,
                _ => continue,
            };
            if let Err(e) = rustix::process::kill_process(pid, forwarded) {
                tracing::debug!("could not pass signal {signal} on to the client: {e}");
            }
        }
    });
    let status = child.wait().context("waiting for the client");
    handle.close();
    let _ = forwarder.join();
    status
}

/// The client's exit code, or 128 + the signal that ended it (as shells report it).
fn exit_code(status: ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        (None, Some(signal)) => ExitCode::from(u8::try_from(128 + signal).unwrap_or(1)),
        (None, None) => ExitCode::FAILURE,
    }
}

fn flavour(client: &Path) -> anyhow::Result<Flavour> {
    let version = Command::new(client)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", client.display()))?;
    Ok(if String::from_utf8_lossy(&version.stdout).contains("MariaDB") {
        Flavour::MariaDb
    } else {
        Flavour::MySql
    })
}

fn find_client(ctx: &Context) -> anyhow::Result<PathBuf> {
    let path = ctx.env.get("PATH").unwrap_or_default();
    for name in ["mariadb", "mysql"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "no `mariadb` or `mysql` client on PATH: install one (Debian/Ubuntu `apt-get install -y mariadb-client`, \
         Amazon Linux 2023 `dnf install -y mariadb105`) or pass --client"
    )
}

/// Client options that would choose another server, user, transport or TLS setting than ours, as the clients'
/// option parser reads them: long options may be abbreviated to any unambiguous prefix and carry `loose-`,
/// `skip-`, `enable-` or `disable-` in front; short options may be bundled (`-uroot`, `-vh`).
fn refused_client_arg(args: &[String]) -> Option<&str> {
    const LONG: &[&str] = &[
        "host",
        "port",
        "user",
        "socket",
        "protocol",
        "pipe",
        "shared-memory-base-name",
        "defaults-file",
        "defaults-extra-file",
        "bind-address",
    ];
    // Short options that take a value in the next argument when none is attached.
    const SHORT_WITH_VALUE: &str = "eDhPuSpOTIWc";
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            let name = name.replace('_', "-").to_ascii_lowercase();
            let mut bare = name.strip_prefix("loose-").unwrap_or(&name);
            for prefix in ["skip-", "enable-", "disable-"] {
                bare = bare.strip_prefix(prefix).unwrap_or(bare);
            }
            let abbreviates = |option: &str| bare == option || (bare.len() >= 2 && option.starts_with(bare));
            if LONG.iter().any(|option| abbreviates(option))
                || bare.starts_with("ssl")
                || bare.starts_with("tls")
                || abbreviates("ssl")
            {
                return Some(arg);
            }
            // `--execute SQL`, `--database NAME`: the next argument is a value, not an option.
            if value.is_none() && (abbreviates("execute") || abbreviates("database")) {
                args.next();
            }
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (i, c) in short.char_indices() {
                if "hPuSW".contains(c) {
                    return Some(arg);
                }
                if SHORT_WITH_VALUE.contains(c) {
                    if i + c.len_utf8() == short.len() && c != 'p' {
                        args.next();
                    }
                    break;
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(args: &[&str]) -> Option<String> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        refused_client_arg(&args).map(str::to_owned)
    }

    #[test]
    fn connection_and_tls_overrides_are_refused() {
        for arg in [
            "--host=evil",
            "--host",
            "--hos=evil",
            "--port=3307",
            "--user=root",
            "--protocol=socket",
            "--protocol=TCP",
            "--socket=/tmp/x.sock",
            "--skip-ssl",
            "--ssl=0",
            "--ssl-mode=DISABLED",
            "--ssl-verify-server-cert",
            "--disable-ssl",
            "--loose-skip-ssl",
            "--tls-version=TLSv1.2",
            "--defaults-extra-file=/tmp/x.cnf",
            "--defaults-file=/tmp/x.cnf",
            "-hevil",
            "-h",
            "-P3307",
            "-uroot",
            "-S/tmp/x.sock",
            "-vh",
            "--SSL-MODE=disabled",
            "--loose_ssl_mode=DISABLED",
        ] {
            assert_eq!(refused(&["--batch", arg]).as_deref(), Some(arg), "{arg}");
        }
    }

    #[test]
    fn other_client_options_pass() {
        for args in [
            &["--batch", "-e", "SELECT 1"][..],
            &["-e", "--host is only SQL text here"],
            &["--execute", "-h"],
            &["-vvv", "--table", "--pager=less", "shop"],
            &["--database", "-u"],
            &["-p"],
            &["--", "--host"],
            &["--html", "--show-warnings"],
        ] {
            assert_eq!(refused(args), None, "{args:?}");
        }
    }

    #[test]
    fn the_client_is_pointed_at_the_socket_without_tls() {
        let maria = client_args(Flavour::MariaDb, Path::new("/run/p/proxy.sock"), "app", Some("shop"));
        assert_eq!(
            maria,
            [
                "--protocol=SOCKET",
                "--host=localhost",
                "--socket=/run/p/proxy.sock",
                "--user=app",
                "--skip-ssl",
                "--database=shop"
            ]
        );
        assert!(client_args(Flavour::MySql, Path::new("/s"), "app", None).contains(&"--ssl-mode=DISABLED".to_owned()));
    }
}
