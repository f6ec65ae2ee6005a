//! `rds-iam mysql`: start the installed `mariadb` / `mysql` client, already authenticated with an IAM token.
//!
//! The token goes to the client through a 0600 option file in a private temporary folder, removed as soon as the
//! client has read it — never on the command line, where every user of the machine could see it in `ps`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;

use crate::commands::connect::TargetArgs;
use crate::context::Context;

/// `rds-iam mysql [target flags] [-- client args…]`.
#[derive(Debug, Args)]
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

/// Which client, since the two spell TLS verification differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    MariaDb,
    MySql,
}

pub(crate) fn run(args: MysqlArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let connector = args.target.connector(ctx)?;
    let client = match args.client {
        Some(client) => client,
        None => find_client(ctx)?,
    };
    let version = Command::new(&client)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", client.display()))?;
    let flavour = if String::from_utf8_lossy(&version.stdout).contains("MariaDB") {
        Flavour::MariaDb
    } else {
        Flavour::MySql
    };
    let token = connector.token()?;

    let dir = tempfile::Builder::new()
        .prefix("rds-iam-")
        .tempdir()
        .context("creating a private temporary folder")?;
    let option_file = dir.path().join("client.cnf");
    let target = connector.target();
    write_private(
        &option_file,
        &option_text(
            flavour,
            target,
            connector.ca_bundle(),
            token.expose(),
            args.target.danger_skip_hostname_check,
        ),
    )?;

    let mut command = Command::new(&client);
    // The defaults file must be the first argument.
    command.arg(format!("--defaults-extra-file={}", option_file.display()));
    command.args(&args.client_args);
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", client.display()))?;
    // The client reads its option files first thing; then the token has no business on disk.
    let remover = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        drop(dir);
    });
    let status = child.wait().context("waiting for the client")?;
    let _ = remover.join();
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
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
    bail!("no `mariadb` or `mysql` client on PATH: install one (`apt-get install -y mariadb-client`) or pass --client")
}

/// The `[client]` section: target, token, and TLS verification in the client's own spelling.
fn option_text(
    flavour: Flavour,
    target: &rds_iam_mysql::Target,
    ca: &Path,
    token: &str,
    skip_hostname: bool,
) -> String {
    let mut text = format!(
        // protocol=TCP: both clients treat `localhost` as "use the Unix socket", which has no TLS.
        "[client]\nprotocol=TCP\nhost={}\nport={}\nuser={}\npassword=\"{}\"\nssl-ca={}\n",
        target.host(),
        target.port(),
        target.user(),
        token,
        ca.display()
    );
    // MariaDB's client sends a cleartext password when the server asks (its flag is obsolete and warns);
    // MySQL's needs it enabled.
    match (flavour, skip_hostname) {
        (Flavour::MariaDb, false) => text.push_str("ssl-verify-server-cert\n"),
        (Flavour::MariaDb, true) => text.push_str("ssl\n"),
        (Flavour::MySql, false) => text.push_str("enable-cleartext-plugin\nssl-mode=VERIFY_IDENTITY\n"),
        (Flavour::MySql, true) => text.push_str("enable-cleartext-plugin\nssl-mode=VERIFY_CA\n"),
    }
    if let Some(database) = target.database() {
        text.push_str(&format!("database={database}\n"));
    }
    text
}

/// Creates `path` readable by the owner only, then writes `text`.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_files_per_flavour() {
        let target = rds_iam_mysql::Target::new("db.example.com", 3307, "app")
            .unwrap()
            .with_database("shop");
        let maria = option_text(Flavour::MariaDb, &target, Path::new("/ca.pem"), "tok", false);
        assert_eq!(
            maria,
            "[client]\nprotocol=TCP\nhost=db.example.com\nport=3307\nuser=app\npassword=\"tok\"\nssl-ca=/ca.pem\n\
             ssl-verify-server-cert\ndatabase=shop\n"
        );
        assert!(
            option_text(Flavour::MySql, &target, Path::new("/ca.pem"), "tok", false)
                .contains("ssl-mode=VERIFY_IDENTITY\n")
        );
        assert!(
            option_text(Flavour::MySql, &target, Path::new("/ca.pem"), "tok", true).contains("ssl-mode=VERIFY_CA\n")
        );
    }

    #[test]
    fn option_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.cnf");
        write_private(&path, "secret").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
