//! `cargo xtask bench`: criterion micro-benchmarks, `rds-iam token` against `aws rds generate-db-auth-token` as
//! whole processes, and the size of `rds-iam-token`'s dependency tree. Prints a Markdown summary for
//! docs/benchmarks.md. Also logs in to a local RDS-like MariaDB (needs root and mariadb-server).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Result;
use crate::tools::{cargo, exec, output, python_venv, root, target_dir};

const HOST: &str = "mydb.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com";
const CRITERION: [&str; 4] = ["sign/long-term", "sign/session-token", "cache/hit", "decode"];

pub(crate) fn run() -> Result {
    exec(cargo().args([
        "bench",
        "--package",
        "rds-iam-token",
        "--bench",
        "token",
        "--",
        "--noplot",
    ]))?;
    let mut report = vec!["| benchmark | median | target |".to_owned(), "|---|---|---|".to_owned()];
    for name in CRITERION {
        let median = criterion_median(name)?;
        let target = match name {
            "cache/hit" => "≤ 1 µs",
            n if n.starts_with("sign/") => "≤ 20 µs",
            _ => "",
        };
        report.push(format!("| {name} | {} | {target} |", fmt_duration(median)));
    }

    let ours = crate::dist::build()?;
    let aws = python_venv()?.join("bin/aws");
    let args = [
        "--hostname",
        HOST,
        "--port",
        "3306",
        "--username",
        "app_user",
        "--region",
        "us-east-1",
    ];
    let our_cmd = |c: &mut Command| {
        c.arg("token").args(args);
    };
    let aws_cmd = |c: &mut Command| {
        c.args(["rds", "generate-db-auth-token"]).args(args);
    };
    let (our_time, our_rss) = measure(&ours, our_cmd, 100)?;
    let (aws_time, aws_rss) = measure(&aws, aws_cmd, 15)?;
    let size = std::fs::metadata(&ours).map(|m| m.len()).unwrap_or(0);
    report.push(String::new());
    report.push(
        "| process (median wall time, peak RSS) | rds-iam token (dist) | aws rds generate-db-auth-token |".into(),
    );
    report.push("|---|---|---|".into());
    report.push(format!(
        "| wall time | {} | {} |",
        fmt_duration(our_time),
        fmt_duration(aws_time)
    ));
    report.push(format!(
        "| peak RSS | {:.1} MiB | {:.1} MiB |",
        our_rss as f64 / 1024.0,
        aws_rss as f64 / 1024.0
    ));
    report.push(format!(
        "\nrds-iam is **{:.0}×** faster (target ≥ 200×); peak RSS {:.1} MiB (target ≤ 12 MiB); binary {:.1} MiB.",
        aws_time.as_secs_f64() / our_time.as_secs_f64(),
        our_rss as f64 / 1024.0,
        size as f64 / (1024.0 * 1024.0)
    ));

    report.push(String::new());
    report.extend(login_benchmarks(&ours, &aws)?);

    report.push(String::new());
    report.extend(crate::bench_proxy::proxy_benchmarks(&ours)?);

    let off_ec2 = off_ec2_failure(&ours)?;
    report.push(format!(
        "\nOff EC2 with no credentials and IMDS black-holed, `rds-iam credentials` fails in **{}** (median of 5; \
         target ≤ 1.2 s).",
        fmt_duration(off_ec2)
    ));

    let runtime = dependency_count(&["-e", "normal,no-proc-macro"])?;
    let with_macros = dependency_count(&["-e", "normal"])?;
    report.push(format!(
        "\n`rds-iam-token` pulls in **{runtime}** crates linked into programs (target ≤ 45), {with_macros} counting \
         compile-time proc-macro crates."
    ));
    println!("\n{}", report.join("\n"));
    Ok(())
}

/// Criterion's median estimate for a benchmark, from `target/criterion/<name>/new/estimates.json`.
fn criterion_median(name: &str) -> Result<Duration> {
    let path = target_dir()
        .join("criterion")
        .join(name.replace('/', "_"))
        .join("new/estimates.json");
    let path = if path.exists() {
        path
    } else {
        target_dir().join("criterion").join(name).join("new/estimates.json")
    };
    let json: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .ok_or_else(|| format!("no criterion estimates at {}", path.display()))?;
    let nanos = json["median"]["point_estimate"]
        .as_f64()
        .ok_or("estimates.json has no median")?;
    Ok(Duration::from_nanos(nanos as u64))
}

/// Median wall time over `runs` (after warm-up) and the largest peak RSS (KiB, from GNU time) of a process.
fn measure(program: &Path, args: impl Fn(&mut Command), runs: usize) -> Result<(Duration, u64)> {
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let command = || {
        let mut c = Command::new(program);
        args(&mut c);
        c.envs(env).stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    };
    let token = output(&mut command())?;
    if !token.starts_with(HOST) {
        return Err(format!("{} printed no token: {token}", program.display()));
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let status = command().status().map_err(|e| e.to_string())?;
        times.push(started.elapsed());
        if !status.success() {
            return Err(format!("{} failed", program.display()));
        }
    }
    times.sort();
    let mut peak = 0;
    for _ in 0..5 {
        let mut timed = Command::new("/usr/bin/time");
        timed.args(["-f", "%M", "--"]).arg(program);
        args(&mut timed);
        let out = timed
            .envs(env)
            .output()
            .map_err(|e| format!("/usr/bin/time: {e} (apt-get install time)"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let kib: u64 = stderr
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .ok_or("GNU time printed no RSS")?;
        peak = peak.max(kib);
    }
    Ok((times[times.len() / 2], peak))
}

/// `rds-iam connect -e 'SELECT 1'` against the `mariadb` client with a ready token, and against
/// `aws rds generate-db-auth-token` + `mariadb`, all logging in to the same RDS-like MariaDB over TLS.
fn login_benchmarks(ours: &Path, aws: &Path) -> Result<Vec<String>> {
    use crate::bench_proxy::{KEYS, bench_database};

    let server = bench_database(|options| options)?;
    let port = server.port().to_string();
    let ca = server.ca_path().display().to_string();
    let target = [
        "--hostname",
        "localhost",
        "--port",
        &port,
        "--username",
        "bench",
        "--region",
        "us-east-1",
    ];
    let token_of = |program: &Path, args: &[&str]| -> Result<String> {
        Ok(output(Command::new(program).args(args).args(target).envs(KEYS))?
            .trim()
            .to_owned())
    };
    let login = |token: &str| -> Result<()> {
        let ok = server
            .client_command("bench", token)
            .args(["-e", "SELECT 1"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            Ok(())
        } else {
            Err("the mariadb client could not log in with the token".into())
        }
    };
    let median = |runs: usize, once: Box<dyn FnMut() -> Result<()> + '_>| crate::bench_proxy::median(runs, once);
    // One `rds-iam` run to its successful end.
    let run_ours = |command: &str, extra: &[&str]| -> Result<()> {
        let out = Command::new(ours)
            .arg(command)
            .args(target)
            .args(["--ca-bundle", &ca])
            .args(extra)
            .envs(KEYS)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    };
    let connect = median(30, Box::new(|| run_ours("connect", &["-e", "SELECT 1"])))?;
    // Through the embedded proxy: its own TLS (bundle only) and login, the driver on the private socket.
    let waived = ["--danger-skip-hostname-check", "-e", "SELECT 1"];
    let through_proxy = median(30, Box::new(|| run_ours("connect", &waived)))?;
    // `rds-iam mysql`: the installed mariadb client against the embedded proxy.
    let mysql = median(30, Box::new(|| run_ours("mysql", &["--", "-e", "SELECT 1"])))?;
    let ready = token_of(ours, &["token"])?;
    let client_only = median(30, Box::new(|| login(&ready)))?;
    let aws_then_client = median(
        10,
        Box::new(|| {
            let token = token_of(aws, &["rds", "generate-db-auth-token"])?;
            login(&token)
        }),
    )?;
    drop(server);
    Ok(vec![
        "| login to a local RDS-like MariaDB over TLS (median) | wall time |".into(),
        "|---|---|".into(),
        format!(
            "| `rds-iam connect -e 'SELECT 1'` (token + login) | {} |",
            fmt_duration(connect)
        ),
        format!(
            "| `rds-iam connect --danger-skip-hostname-check -e 'SELECT 1'` (through the embedded proxy) | {} |",
            fmt_duration(through_proxy)
        ),
        format!(
            "| `rds-iam mysql -- -e 'SELECT 1'` (the mariadb client through the embedded proxy) | {} |",
            fmt_duration(mysql)
        ),
        format!(
            "| `mariadb -e 'SELECT 1'` with a ready token | {} |",
            fmt_duration(client_only)
        ),
        format!(
            "| `aws rds generate-db-auth-token` + `mariadb -e 'SELECT 1'` | {} |",
            fmt_duration(aws_then_client)
        ),
        format!(
            "\n`rds-iam connect` / `mariadb` with a ready token = **{:.2}** (target ≤ 1.3); \
             (`aws` + `mariadb`) / `rds-iam connect` = **{:.0}×** (target ≥ 30×).",
            connect.as_secs_f64() / client_only.as_secs_f64(),
            aws_then_client.as_secs_f64() / connect.as_secs_f64()
        ),
    ])
}

/// `cargo xtask bench proxy`: only the proxy's benchmarks (a dist build, then `rds-iam proxy` against direct TLS).
pub(crate) fn proxy_only() -> Result {
    let ours = crate::dist::build()?;
    let report = crate::bench_proxy::proxy_benchmarks(&ours)?;
    println!("\n{}", report.join("\n"));
    Ok(())
}

/// How long the whole chain takes to give up when nothing has credentials and the metadata address accepts
/// connections but never answers (a listener that never calls `accept`: the kernel completes the handshake).
fn off_ec2_failure(program: &Path) -> Result<Duration> {
    let hole = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let endpoint = format!("http://{}", hole.local_addr().map_err(|e| e.to_string())?);
    let home = std::env::temp_dir().join("rds-iam-bench-empty-home");
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let out = Command::new(program)
            .arg("credentials")
            .env_clear()
            .env("HOME", &home)
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint)
            .output()
            .map_err(|e| e.to_string())?;
        times.push(started.elapsed());
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(1) || !stderr.contains("no AWS credentials found") {
            return Err(format!(
                "expected the no-credentials error, got {:?}: {stderr}",
                out.status
            ));
        }
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// Distinct packages in `rds-iam-token`'s tree, not counting itself.
fn dependency_count(edges: &[&str]) -> Result<usize> {
    let tree = output(
        cargo()
            .current_dir(root())
            .args(["tree", "--package", "rds-iam-token", "--prefix", "none", "--locked"])
            .args(edges),
    )?;
    let crates: BTreeSet<&str> = tree
        .lines()
        .filter_map(|l| l.split(" (").next())
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("rds-iam-token "))
        .collect();
    Ok(crates.len())
}

fn fmt_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    match nanos {
        n if n < 1_000 => format!("{n} ns"),
        n if n < 1_000_000 => format!("{:.2} µs", n as f64 / 1e3),
        n => format!("{:.2} ms", n as f64 / 1e6),
    }
}
