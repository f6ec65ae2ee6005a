//! `cargo xtask demo`: the whole path on this machine — a real RDS-like MariaDB (TLS with a test CA, IAM logins
//! checked by a SigV4 validator through PAM), a real token, a real TLS login with `rds-iam connect`, and a tampered
//! token refused. Everything runs on loopback and is stopped at the end.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use rds_iam_testkit::{MariaDb, MariaDbOptions, PamOutcome, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};

use crate::Result;
use crate::tools::{cargo, ensure_debian_package, exec, target_dir};

const USER: &str = "demo_app";

pub(crate) fn run() -> Result {
    ensure_debian_package("mariadbd", "mariadb-server")?;
    exec(cargo().args([
        "build",
        "--quiet",
        "--package",
        "rds-iam-cli",
        "--package",
        "rds-iam-testkit",
        "--bins",
    ]))?;
    let bin = target_dir().join("debug");
    let started = Instant::now();

    step(
        "Start an RDS-like MariaDB 10.11 on loopback: TLS (test CA → intermediate → server), IAM users checked by a SigV4 validator",
    );
    let server = MariaDb::start(MariaDbOptions::new(bin.join("rds-iam-pam-check")))?;
    server.create_iam_user(USER)?;
    let port = server.port().to_string();
    let ca = server.ca_path().display().to_string();
    println!("  listening on 127.0.0.1:{port}; user `{USER}` created IDENTIFIED VIA pam … REQUIRE SSL");
    println!("  (on RDS: CREATE USER '{USER}' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL)");

    let home = tempdir()?;
    #[allow(clippy::disallowed_methods, reason = "xtask passes its own PATH on")]
    let path = std::env::var_os("PATH").unwrap_or_default();
    let rds_iam = |args: &[&str]| -> Result<String> {
        let out = Command::new(bin.join("rds-iam"))
            .args(args)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", &home)
            // The demo key pair (AWS's documented example keys) is the one the validator trusts.
            .env("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .map_err(|e| format!("running rds-iam: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(format!(
                "rds-iam {} failed:\n{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(text)
    };
    let target = [
        "--hostname",
        "localhost",
        "--port",
        &port,
        "--username",
        USER,
        "--region",
        "us-east-1",
    ];

    step("Sign a 15-minute IAM auth token (SigV4, service rds-db), like `aws rds generate-db-auth-token`");
    let token = rds_iam(&[&["token"][..], &target[..]].concat())?.trim().to_owned();
    println!("  $ rds-iam token {}", target.join(" "));
    println!("  {token}");
    println!("  $ rds-iam token inspect");
    print!("{}", indent(&rds_iam(&["token", "inspect", &token])?));

    step("Log in over verified TLS with the token (mysql_clear_password) and run SQL");
    let sql = "SELECT CURRENT_USER() AS current_user_, VERSION() AS version; SHOW SESSION STATUS LIKE 'Ssl_version'";
    println!("  $ rds-iam connect {} --ca-bundle {ca} -e \"{sql}\"", target.join(" "));
    print!(
        "{}",
        indent(&rds_iam(
            &[&["connect"][..], &target[..], &["--ca-bundle", &ca, "-e", sql]].concat()
        )?)
    );

    step("A tampered token is refused (one character of the signature changed)");
    let tampered = tamper(&token);
    let out = server
        .client_command(USER, &tampered)
        .args(["-e", "SELECT 1"])
        .output()
        .map_err(|e| format!("running the mariadb client: {e}"))?;
    println!("  mariadb client: {}", String::from_utf8_lossy(&out.stderr).trim());
    match server.attempts().pop().map(|a| a.outcome) {
        Some(PamOutcome::Rejected { reason, detail }) if !out.status.success() => {
            println!("  the server's SigV4 validator: {reason}: {detail}");
        }
        other => return Err(format!("the tampered token was not refused as expected: {other:?}")),
    }

    step("Stop the server and remove its files");
    drop(server);
    let _ = std::fs::remove_dir_all(&home);
    println!("\ndemo finished in {:.1?} (after the build)", started.elapsed());
    Ok(())
}

fn step(title: &str) {
    println!("\n==> {title}");
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// Flips the last hex digit of the signature.
fn tamper(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    if let Some(last) = chars.last_mut() {
        *last = if *last == '0' { '1' } else { '0' };
    }
    chars.into_iter().collect()
}

fn tempdir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("rds-iam-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tampering_changes_one_character() {
        let token = "h:1/?Action=connect&X-Amz-Signature=abc0";
        let tampered = tamper(token);
        assert_eq!(tampered, "h:1/?Action=connect&X-Amz-Signature=abc1");
    }
}
