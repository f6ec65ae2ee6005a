//! `cargo xtask bench` (or `cargo xtask bench proxy` alone): `rds-iam proxy` against direct TLS logins to the same
//! local RDS-like MariaDB — a new connection with a ready token, sysbench `oltp_read_only` with 8 threads, and a
//! 200 MB result set (with the proxy's peak RSS before and after it). Needs root, mariadb-server and sysbench.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rds_iam_testkit::{MariaDb, MariaDbOptions, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};

use crate::Result;
use crate::tools::{cargo, ensure_debian_package, exec, output, python_venv, root, target_dir};

/// The test keys (the RDS-like MariaDB's validator expects them), and nothing else from the machine's AWS setup.
pub(crate) const KEYS: [(&str, &str); 5] = [
    ("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID),
    ("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/dev/null"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
];

/// 200,000 rows of 1,000 bytes.
const BIG_RESULT: &str = "SELECT REPEAT('x', 1000) FROM sbtest.seq_1_to_200000";

/// The RDS-like MariaDB the login benchmarks use, with the IAM user `bench` (its PAM helper built first).
pub(crate) fn bench_database(options: impl FnOnce(MariaDbOptions) -> MariaDbOptions) -> Result<MariaDb> {
    exec(cargo().args([
        "build",
        "--quiet",
        "--package",
        "rds-iam-testkit",
        "--bin",
        "rds-iam-pam-check",
    ]))?;
    ensure_debian_package("mariadbd", "mariadb-server")?;
    let server = MariaDb::start(options(MariaDbOptions::new(
        target_dir().join("debug/rds-iam-pam-check"),
    )))?;
    server.create_iam_user("bench")?;
    Ok(server)
}

/// The proxy's rows of docs/benchmarks.md.
pub(crate) fn proxy_benchmarks(ours: &Path) -> Result<Vec<String>> {
    ensure_debian_package("sysbench", "sysbench")?;
    let server = bench_database(|options| options.max_connections(3000))?;
    server.exec_sql_as_root("CREATE DATABASE sbtest; GRANT ALL ON sbtest.* TO 'bench'@'%'")?;
    let port = server.port().to_string();
    let ca = server.ca_path().display().to_string();
    let target = ["--hostname", "localhost", "--port", &port, "--region", "us-east-1"];
    let token = output(
        Command::new(ours)
            .arg("token")
            .args(target)
            .args(["--username", "bench"])
            .envs(KEYS),
    )?
    .trim()
    .to_owned();
    let proxy = Proxy::start(ours, &target, &ca)?;
    let proxy_port = proxy.port.to_string();

    // The two ways in: the mariadb client over TLS with a ready token, and through the proxy without either.
    let direct = |args: &[&str]| {
        let mut c = server.client_command("bench", &token);
        c.args(args).stdout(Stdio::null());
        c
    };
    let proxied = |args: &[&str]| {
        let mut c = Command::new("mariadb");
        c.args([
            "--no-defaults",
            "--protocol=TCP",
            "--host=127.0.0.1",
            "--user=bench",
            "--skip-ssl",
        ])
        .arg(format!("--port={proxy_port}"))
        .args(["--batch", "--skip-column-names"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
        c
    };
    let new_direct = median(30, || run(&mut direct(&["-e", "SELECT 1"])))?;
    let new_proxied = median(30, || run(&mut proxied(&["-e", "SELECT 1"])))?;

    let big_direct = median(3, || run(&mut direct(&["--quick", "-e", BIG_RESULT])))?;
    let hwm_before = proxy.peak_rss_kib()?;
    let big_proxied = median(3, || run(&mut proxied(&["--quick", "-e", BIG_RESULT])))?;
    let hwm_after = proxy.peak_rss_kib()?;

    // sysbench 1.0's `--mysql-ssl=on` loads cacert.pem, client-cert.pem and client-key.pem from its working
    // directory: the test CA, and the test leaf (issued for client authentication too) as the client's.
    let workdir = target_dir().join("bench-sysbench");
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    let pki = server.pki();
    for (from, to) in [
        (&pki.ca, "cacert.pem"),
        (&pki.chain, "client-cert.pem"),
        (&pki.key, "client-key.pem"),
    ] {
        std::fs::copy(from, workdir.join(to)).map_err(|e| format!("{}: {e}", from.display()))?;
    }
    let sysbench = |port: &str, extra: &[&str], phase: &str| -> Result<String> {
        let out = Command::new("sysbench")
            .args([
                "oltp_read_only",
                "--db-driver=mysql",
                "--mysql-host=127.0.0.1",
                "--mysql-user=bench",
            ])
            .args([
                "--mysql-db=sbtest",
                "--tables=4",
                "--table-size=10000",
                "--threads=8",
                "--time=10",
            ])
            .arg(format!("--mysql-port={port}"))
            .args(extra)
            .arg(phase)
            .current_dir(&workdir)
            .output()
            .map_err(|e| format!("sysbench: {e} (apt-get install sysbench)"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            // Not the command line: the direct run's password is a token.
            Err(format!(
                "sysbench {phase} on port {port} failed: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    let password = format!("--mysql-password={token}");
    sysbench(&proxy_port, &["--mysql-ssl=off"], "prepare")?;
    let tls = ["--mysql-ssl=on", password.as_str()];
    // Three rounds, each direct then through the proxy, so that a noisy neighbour slows both alike; the medians.
    let (mut direct_runs, mut proxied_runs) = (Vec::new(), Vec::new());
    let mut proxy_cpu = Duration::ZERO;
    for _ in 0..3 {
        direct_runs.push(sysbench_numbers(&sysbench(&port, &tls, "run")?)?);
        let cpu = proxy.cpu_time()?;
        proxied_runs.push(sysbench_numbers(&sysbench(&proxy_port, &["--mysql-ssl=off"], "run")?)?);
        proxy_cpu += proxy.cpu_time()? - cpu;
    }
    let (qps_direct, p95_direct) = medians(&direct_runs);
    let (qps_proxied, p95_proxied) = medians(&proxied_runs);
    let crowd = crowd_benchmarks(&proxy, &proxied, &direct)?;
    proxy.stop();
    drop(server);

    let mb_per_s = |d: Duration| 200.0 / d.as_secs_f64();
    Ok(vec![
        "| `rds-iam proxy` vs a direct TLS login to the same MariaDB | direct | through the proxy | ratio | target |"
            .into(),
        "|---|---|---|---|---|".into(),
        format!(
            "| new connection + `SELECT 1` (mariadb client, ready token; median of 30) | {} | {} | {:.2} | ≤ 1.2 |",
            fmt(new_direct),
            fmt(new_proxied),
            new_proxied.as_secs_f64() / new_direct.as_secs_f64()
        ),
        format!(
            "| sysbench oltp_read_only, 8 threads, 3 × 10 s: queries/s | {qps_direct:.0} | {qps_proxied:.0} | {:.2} | ≥ 0.90 |",
            qps_proxied / qps_direct
        ),
        format!(
            "| sysbench oltp_read_only, 8 threads, 3 × 10 s: p95 latency | {p95_direct:.2} ms | {p95_proxied:.2} ms | {:.2} \
             | ≤ 1.15 |",
            p95_proxied / p95_direct
        ),
        format!(
            "| 200 MB result set (`mariadb --quick`; median of 3): MB/s | {:.0} | {:.0} | {:.2} | ≥ 0.90 |",
            mb_per_s(big_direct),
            mb_per_s(big_proxied),
            big_direct.as_secs_f64() / big_proxied.as_secs_f64()
        ),
        format!(
            "\nThe proxy's CPU time during the three sysbench runs through it: {:.1} s of 30 s ({:.0} µs a query).",
            proxy_cpu.as_secs_f64(),
            proxy_cpu.as_secs_f64() * 1e6 / (qps_proxied * 30.0)
        ),
        format!(
            "The proxy's peak RSS: {:.1} MiB before the three 200 MB results, {:.1} MiB after (flat: nothing is \
             buffered beyond 16 KiB per direction).",
            hwm_before as f64 / 1024.0,
            hwm_after as f64 / 1024.0
        ),
        String::new(),
    ]
    .into_iter()
    .chain(crowd)
    .collect())
}

/// 1,000 idle sessions held open (the proxy's RSS, a new connection's latency meanwhile), then a storm of 2,000
/// connects in 2 s (failures, and the most backend logins in any one second, from the proxy's log).
fn crowd_benchmarks(
    proxy: &Proxy,
    proxied: &dyn Fn(&[&str]) -> Command,
    direct: &dyn Fn(&[&str]) -> Command,
) -> Result<Vec<String>> {
    let python = python_venv()?.join("bin/python");
    let script = root().join("xtask/bench_clients.py");
    let clients = |mode: &str, count: &str| {
        let mut c = Command::new(&python);
        c.arg(&script)
            .arg(mode)
            .args(["--port", &proxy.port.to_string(), "--user", "bench", "--count", count]);
        c
    };
    let rss_before = proxy.status_kib("VmRSS:")?;
    let latency_before = median(30, || run(&mut proxied(&["-e", "SELECT 1"])))?;
    let direct_before = median(30, || run(&mut direct(&["-e", "SELECT 1"])))?;
    let mut idle = clients("idle", "1000")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    let mut opened = String::new();
    if let Some(stdout) = idle.stdout.as_mut() {
        let _ = BufReader::new(stdout).read_line(&mut opened);
    }
    if opened.trim() != "open 1000" {
        let _ = idle.kill();
        return Err(format!("bench_clients.py idle did not open 1000 sessions: {opened:?}"));
    }
    let rss_idle = proxy.status_kib("VmRSS:")?;
    let latency_idle = median(30, || run(&mut proxied(&["-e", "SELECT 1"])))?;
    // The database holds the thousand sessions too: its own login, for comparison.
    let direct_idle = median(30, || run(&mut direct(&["-e", "SELECT 1"])))?;
    drop(idle.stdin.take());
    let _ = idle.wait();

    let storm = output(clients("storm", "2000").args(["--within", "2"]))?;
    let storm: serde_json::Value = serde_json::from_str(&storm).map_err(|e| format!("{e}: {storm}"))?;
    let busiest = busiest_second(&std::fs::read_to_string(&proxy.log).map_err(|e| e.to_string())?);
    Ok(vec![
        "| many clients through `rds-iam proxy` | result | target |".into(),
        "|---|---|---|".into(),
        format!(
            "| proxy RSS with 1,000 idle sessions open | {:.1} MiB (before: {:.1} MiB) | ≤ 64 MiB |",
            rss_idle as f64 / 1024.0,
            rss_before as f64 / 1024.0
        ),
        format!(
            "| new connection + `SELECT 1` meanwhile (median of 30) | {} (before: {}); direct TLS login: {} (before: \
             {}) | unchanged |",
            fmt(latency_idle),
            fmt(latency_before),
            fmt(direct_idle),
            fmt(direct_before)
        ),
        format!(
            "| 2,000 connects started within 2 s | {} ok, {} failed, all done in {} s | no failures |",
            storm["ok"], storm["failed"], storm["seconds"]
        ),
        format!("| the most backend logins in any one second | {busiest} | ≤ 170 (150/s, bursts of 20) |"),
    ])
}

/// The most "login started" lines (a permit taken, the login sent) of the proxy's log within any one second.
fn busiest_second(log: &str) -> usize {
    let mut times: Vec<f64> = log
        .lines()
        .filter(|line| line.contains("login started"))
        .filter_map(|line| {
            // `2026-12-07T05:40:01.123456Z  INFO …`: the seconds of the day.
            let clock = line.split_whitespace().next()?.split_once('T')?.1.trim_end_matches('Z');
            let mut parts = clock.split(':');
            let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
            Some(h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?)
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let mut busiest = 0;
    let mut first = 0;
    for (last, &t) in times.iter().enumerate() {
        while t - times[first] >= 1.0 {
            first += 1;
        }
        busiest = busiest.max(last + 1 - first);
    }
    busiest
}

/// `rds-iam proxy` on 127.0.0.1, any port, for user `bench`; its log in a file.
struct Proxy {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Proxy {
    fn start(ours: &Path, target: &[&str], ca: &str) -> Result<Proxy> {
        let log = target_dir().join("bench-proxy.log");
        let log_file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut child = Command::new(ours)
            .arg("proxy")
            .args(target)
            .args(["--ca-bundle", ca, "--user", "bench", "--listen", "127.0.0.1:0"])
            .envs(KEYS)
            .env("RUST_LOG", "info,rds_iam_proxy=debug")
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("starting rds-iam proxy: {e}"))?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        let port = line
            .split_once("127.0.0.1:")
            .and_then(|(_, rest)| rest.split(' ').next())
            .and_then(|port| port.parse().ok())
            .ok_or_else(|| format!("rds-iam proxy did not start: {line}"))?;
        Ok(Proxy { child, port, log })
    }

    /// User and system CPU time of the proxy process so far (/proc/PID/stat, in clock ticks of 1/100 s).
    fn cpu_time(&self) -> Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).map_err(|e| e.to_string())?;
        // After the command name in parentheses: state is field 3, utime 14, stime 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        Ok(Duration::from_millis((ticks(11) + ticks(12)) * 10))
    }

    /// VmHWM of the proxy process.
    fn peak_rss_kib(&self) -> Result<u64> {
        self.status_kib("VmHWM:")
    }

    /// A `kB` field of /proc/PID/status of the proxy process.
    fn status_kib(&self, field: &str) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).map_err(|e| e.to_string())?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no {field} in /proc/PID/status"))
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(command: &mut Command) -> Result {
    let out = command.stderr(Stdio::piped()).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The median wall time of `runs` runs of `once`, after one run to warm up.
pub(crate) fn median(runs: usize, mut once: impl FnMut() -> Result) -> Result<Duration> {
    once()?; // warm-up
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        once()?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[runs / 2])
}

/// The medians of (queries/s, p95) pairs.
fn medians(runs: &[(f64, f64)]) -> (f64, f64) {
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(0.0)
    };
    (
        median(runs.iter().map(|r| r.0).collect()),
        median(runs.iter().map(|r| r.1).collect()),
    )
}

/// Queries per second and the 95th percentile latency (ms) of a sysbench report.
fn sysbench_numbers(report: &str) -> Result<(f64, f64)> {
    let qps = report
        .lines()
        .find(|l| l.trim_start().starts_with("queries:"))
        .and_then(|l| l.split_once('(').map(|(_, rest)| rest))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    let p95 = report
        .lines()
        .find(|l| l.trim_start().starts_with("95th percentile:"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse().ok());
    match (qps, p95) {
        (Some(qps), Some(p95)) => Ok((qps, p95)),
        _ => Err(format!(
            "no queries/s or 95th percentile in the sysbench report:\n{report}"
        )),
    }
}

fn fmt(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busiest_second_is_counted_in_a_sliding_window() {
        let log = "2026-12-07T05:40:01.100000Z  DEBUG login started\n\
                   2026-12-07T05:40:01.900000Z  DEBUG login started\n\
                   2026-12-07T05:40:02.150000Z  DEBUG login started\n\
                   2026-12-07T05:40:02.060000Z  INFO session closed\n\
                   2026-12-07T05:40:03.200000Z  DEBUG login started\n";
        assert_eq!(busiest_second(log), 2);
        assert_eq!(busiest_second(""), 0);
    }

    #[test]
    fn sysbench_reports_are_read() {
        let report = "SQL statistics:\n    queries performed:\n        read:  10\n    transactions:  \
                      5 (250.10 per sec.)\n    queries:                             80 (4001.60 per sec.)\n\
                      Latency (ms):\n         min:  0.95\n         95th percentile:  3.30\n";
        assert_eq!(sysbench_numbers(report).unwrap(), (4001.60, 3.30));
    }
}
