//! `rds-iam proxy` between real MySQL clients and the real RDS-like MariaDB (testkit's [`MariaDb`], whose PAM
//! validator checks every token): the `mariadb` client and `mariadb-dump` from Debian, the Rust `mysql` crate;
//! `KILL QUERY` from a second connection; `COM_CHANGE_USER`; a tunnel that checks the endpoint's name; and each
//! refusal as the client sees it. Needs root and `apt-get install -y mariadb-server`.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use mysql::{ChangeUserOpts, Conn, OptsBuilder};
use rds_iam_e2e::{pam_check_bin, rds_iam_bin};
use rds_iam_testkit::{
    MariaDb, MariaDbOptions, PamOutcome, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, TestPki, Tool, require_or_skip,
};

/// A running `rds-iam proxy`: its TCP port, and its standard error (collected until it stops).
struct Proxy {
    child: Child,
    port: u16,
    ready: String,
    stderr: mpsc::Receiver<String>,
}

impl Proxy {
    /// `rds-iam proxy ARGS --listen 127.0.0.1:0`, signing with `secret`; waits for its ready line.
    fn start(home: &Path, args: &[&str], secret: &str) -> Proxy {
        let keys = [
            ("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", secret),
        ];
        Proxy::start_with(home, args, &keys)
    }

    /// `rds-iam proxy ARGS --listen 127.0.0.1:0` with `env` (credentials) besides HOME and PATH.
    fn start_with(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Proxy {
        Proxy::launch(Command::new(rds_iam_bin()), home, args, env)
    }

    /// `rds-iam` as `command` runs it (itself, or under faketime), with `proxy ARGS --listen 127.0.0.1:0`.
    fn launch(mut command: Command, home: &Path, args: &[&str], env: &[(&str, &str)]) -> Proxy {
        let mut child = command
            .arg("proxy")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .env_clear()
            .env("HOME", home)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().copied())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rds-iam proxy");
        let stdout = child.stdout.take().unwrap();
        let (line_tx, line_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = line_tx.send(line);
        });
        let mut stderr = child.stderr.take().unwrap();
        let (err_tx, err_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = err_tx.send(text);
        });
        let ready = line_rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        if ready.is_empty() {
            let _ = child.kill();
            let stderr = err_rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
            panic!("the proxy did not start: {stderr}");
        }
        // `rds-iam proxy ready: 127.0.0.1:PORT → host:port (users)`
        let port = ready
            .split_once("127.0.0.1:")
            .and_then(|(_, rest)| rest.split(' ').next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in the ready line: {ready}"));
        Proxy {
            child,
            port,
            ready,
            stderr: err_rx,
        }
    }

    /// SIGTERM; the exit status's code and standard error.
    fn stop(mut self) -> (Option<i32>, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        let stderr = self.stderr.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
        (status.code(), stderr)
    }

    /// The `mysql` crate's options for `user`: no password, no TLS, TCP to the proxy.
    fn opts(&self, user: &str) -> OptsBuilder {
        OptsBuilder::new()
            .ip_or_hostname(Some("127.0.0.1"))
            .tcp_port(self.port)
            .user(Some(user))
            .prefer_socket(false)
    }

    fn conn(&self, user: &str) -> Result<Conn, mysql::Error> {
        Conn::new(self.opts(user))
    }

    /// The `mariadb` client (or `mariadb-dump`) against the proxy as `user`, without TLS, no option files.
    fn client(&self, program: &str, user: &str) -> Command {
        let mut command = Command::new(program);
        command
            .arg("--no-defaults")
            .arg("--protocol=TCP")
            .arg("--host=127.0.0.1")
            .arg(format!("--port={}", self.port))
            .arg(format!("--user={user}"))
            .arg("--skip-ssl")
            .stdin(Stdio::null());
        command
    }
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn server_error(result: Result<Conn, mysql::Error>) -> mysql::MySqlError {
    match result {
        Ok(_) => panic!("the login should have been refused"),
        Err(mysql::Error::MySqlError(e)) => e,
        Err(other) => panic!("expected a server error, got {other}"),
    }
}

/// The RDS-like MariaDB with two IAM users and a small database `shop`.
fn database(options: MariaDbOptions) -> MariaDb {
    let server = MariaDb::start(options).unwrap_or_else(|e| panic!("MariaDB: {e}"));
    for user in ["iam_app", "iam_report"] {
        server.create_iam_user(user).unwrap();
    }
    server
        .exec_sql_as_root(
            "CREATE DATABASE shop; \
             CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40)); \
             INSERT INTO shop.items VALUES (1, 'tea'), (2, 'coffee'); \
             GRANT ALL ON shop.* TO 'iam_app'@'%'; \
             GRANT SELECT ON shop.* TO 'iam_report'@'%';",
        )
        .unwrap();
    server
}

/// [`database`] with the default options and a fresh `HOME`, or `None` (the test is skipped) without MariaDB.
fn database_or_skip() -> Option<(MariaDb, tempfile::TempDir)> {
    require_or_skip([Tool::MariaDb])?;
    Some((
        database(MariaDbOptions::new(pam_check_bin())),
        tempfile::tempdir().unwrap(),
    ))
}

fn target_args(server: &MariaDb) -> Vec<String> {
    vec![
        "--hostname".into(),
        "localhost".into(),
        "--port".into(),
        server.port().to_string(),
        "--ca-bundle".into(),
        server.ca_path().display().to_string(),
        "--region".into(),
        "us-east-1".into(),
    ]
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn real_clients_log_in_through_the_proxy() {
    let Some([_, client]) = require_or_skip([Tool::MariaDb, Tool::MariaDbClient]) else {
        return;
    };
    let server = database(MariaDbOptions::new(pam_check_bin()));
    let home = tempfile::tempdir().unwrap();
    let mut args = target_args(&server);
    args.extend(["--user".into(), "iam_app,iam_report".into()]);
    let proxy = Proxy::start(home.path(), &strs(&args), TEST_SECRET_ACCESS_KEY);
    assert!(proxy.ready.contains("→ localhost:"), "{}", proxy.ready);
    assert!(proxy.ready.contains("(iam_app, iam_report)"), "{}", proxy.ready);

    // The mariadb client: multi-statement -e, the DB side is TLS, the client's own side is not.
    let out = proxy
        .client(&client.display().to_string(), "iam_app")
        .args(["--batch", "--skip-column-names", "-e"])
        .arg("SELECT CURRENT_USER(); SHOW STATUS LIKE 'Ssl_version'; SELECT COUNT(*) FROM shop.items")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout, "iam_app@%\nSsl_version\tTLSv1.3\n2\n", "{stderr}");

    // LOAD DATA LOCAL INFILE: the file goes from the client through the proxy.
    let csv = home.path().join("items.csv");
    std::fs::write(&csv, "3,milk\n4,juice\n").unwrap();
    let out = proxy
        .client(&client.display().to_string(), "iam_app")
        .args([
            "--local-infile=1",
            "--batch",
            "--skip-column-names",
            "--database=shop",
            "-e",
        ])
        .arg(format!(
            "LOAD DATA LOCAL INFILE '{}' INTO TABLE items FIELDS TERMINATED BY ','; SELECT COUNT(*) FROM items",
            csv.display()
        ))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout, "4\n");

    // The client's `connect` command: a second login through the proxy in the same client run.
    let out = proxy
        .client(&client.display().to_string(), "iam_app")
        .args(["--batch", "--skip-column-names", "-e"])
        .arg("SELECT CONNECTION_ID();\nconnect\nSELECT CONNECTION_ID(), CURRENT_USER();")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[1].ends_with("\tiam_app@%"), "{stdout}");
    assert_ne!(
        lines[0],
        lines[1].split('\t').next().unwrap(),
        "a new session: {stdout}"
    );

    // mariadb-dump of the small database.
    let dump_program = client.with_file_name("mariadb-dump");
    let out = proxy
        .client(&dump_program.display().to_string(), "iam_app")
        .args(["--single-transaction", "shop"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("CREATE TABLE `items`"), "{stdout}");
    assert!(stdout.contains("(4,'juice')"), "{stdout}");

    // The Rust mysql crate: prepared statements, several result sets, a change of user and back.
    let mut conn = proxy.conn("iam_app").unwrap();
    let sum: Option<i64> = conn.exec_first("SELECT ? + 1", (41,)).unwrap();
    assert_eq!(sum, Some(42));
    let statement = conn.prep("SELECT name FROM shop.items WHERE id = ?").unwrap();
    let name: Option<String> = conn.exec_first(&statement, (2,)).unwrap();
    assert_eq!(name.as_deref(), Some("coffee"));
    let mut sets = Vec::new();
    let mut result = conn.query_iter("SELECT 1; SELECT 2, 3").unwrap();
    while let Some(set) = result.iter() {
        sets.push(set.map(|row| row.unwrap().len()).collect::<Vec<_>>());
    }
    drop(result);
    assert_eq!(sets, vec![vec![1], vec![2]]);
    conn.change_user(ChangeUserOpts::default().with_user(Some("iam_report".into())))
        .unwrap();
    let user: Option<String> = conn.query_first("SELECT CURRENT_USER()").unwrap();
    assert_eq!(
        user.as_deref(),
        Some("iam_report@%"),
        "COM_CHANGE_USER logged in as the new user"
    );
    let refused = conn
        .change_user(ChangeUserOpts::default().with_user(Some("root".into())))
        .unwrap_err();
    assert!(
        refused.to_string().contains("'root' may not log in through this proxy"),
        "{refused}"
    );
    drop(conn);

    // Every login reached the database over TLS (the users REQUIRE SSL) with a token the validator accepted.
    let attempts = server.attempts();
    assert!(attempts.len() >= 7, "{attempts:?}");
    assert!(
        attempts.iter().all(|a| a.outcome == PamOutcome::Accepted),
        "{attempts:?}"
    );
    assert!(attempts.iter().any(|a| a.user == "iam_report"), "{attempts:?}");
    assert!(attempts.iter().all(|a| a.user != "root"), "{attempts:?}");

    let (code, stderr) = proxy.stop();
    assert_eq!(code, Some(128 + 15), "{stderr}");
    assert!(stderr.contains("logged in"), "one line per connection: {stderr}");
    assert!(stderr.contains("changed user"), "{stderr}");
}

#[test]
fn kill_query_from_a_second_connection_stops_the_first() {
    let Some((server, home)) = database_or_skip() else {
        return;
    };
    let proxy = Proxy::start(home.path(), &strs(&target_args(&server)), TEST_SECRET_ACCESS_KEY);
    let mut first = proxy.conn("iam_app").unwrap();
    let id = first.connection_id();
    let started = Instant::now();
    let sleeper = std::thread::spawn(move || first.query_first::<i64, _>("SELECT SLEEP(30)"));
    std::thread::sleep(Duration::from_millis(1500));
    let mut second = proxy.conn("iam_app").unwrap();
    second.query_drop(format!("KILL QUERY {id}")).unwrap();
    let outcome = sleeper.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(15), "the query was stopped");
    // MariaDB answers an interrupted SLEEP with 1, or with error 1317.
    match outcome {
        Ok(value) => assert_eq!(value, Some(1)),
        Err(e) => assert!(
            e.to_string().contains("1317") || e.to_string().contains("interrupted"),
            "{e}"
        ),
    }
    proxy.stop();
}

#[test]
fn refusals_reach_the_client_as_err_packets() {
    let Some((server, home)) = database_or_skip() else {
        return;
    };
    let mut args = target_args(&server);
    args.extend(["--user".into(), "iam_app".into()]);

    // A user outside --user: refused before anything is signed or sent.
    let proxy = Proxy::start(home.path(), &strs(&args), TEST_SECRET_ACCESS_KEY);
    let err = server_error(proxy.conn("iam_report"));
    assert_eq!((err.code, err.state.as_str()), (1045, "28000"));
    assert!(err.message.starts_with("rds-iam proxy: "), "{}", err.message);
    assert!(err.message.contains("'iam_report' may not log in"), "{}", err.message);
    assert!(server.attempts().is_empty(), "nothing reached the database");
    let (_, stderr) = proxy.stop();
    assert!(stderr.contains("may not log in"), "a clear log line: {stderr}");

    // A token signed with the wrong secret: 1045 with the database's message first, then the usual causes.
    let proxy = Proxy::start(home.path(), &strs(&args), "not-the-secret-key");
    let err = server_error(proxy.conn("iam_app"));
    assert_eq!((err.code, err.state.as_str()), (1045, "28000"));
    assert!(
        err.message.contains("Access denied for user 'iam_app'"),
        "{}",
        err.message
    );
    assert!(err.message.contains("usual causes"), "{}", err.message);
    assert!(
        !err.message.contains("X-Amz-Signature"),
        "never the token: {}",
        err.message
    );
    let (_, stderr) = proxy.stop();
    assert!(
        !stderr.contains("X-Amz-Signature") && !stderr.contains("not-the-secret-key"),
        "{stderr}"
    );
    let reasons: Vec<_> = server
        .attempts()
        .iter()
        .filter_map(|a| a.outcome.reason().map(str::to_owned))
        .collect();
    assert!(reasons.iter().all(|r| r == "signature-mismatch"), "{reasons:?}");

    // Startup refusals: a public address without the opt-in, a socket in a world-writable directory.
    let refused_start = |listen: &[&std::ffi::OsStr]| {
        Command::new(rds_iam_bin())
            .args([
                "proxy",
                "--hostname",
                "localhost",
                "--region",
                "us-east-1",
                "--ca-bundle",
            ])
            .arg(server.ca_path())
            .args(listen)
            .env_clear()
            .env("HOME", home.path())
            .env("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY)
            .output()
            .unwrap()
    };
    let out = refused_start(&["--listen".as_ref(), "0.0.0.0:0".as_ref()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--danger-listen-non-loopback"), "{stderr}");
    let open = tempfile::tempdir().unwrap();
    std::fs::set_permissions(open.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let socket = open.path().join("db.sock");
    let out = refused_start(&["--unix-socket".as_ref(), socket.as_os_str()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("writable by other users"), "{stderr}");
}

#[test]
fn a_tunnel_is_checked_against_the_endpoint_name_and_the_bundle_alone() {
    let Some([_]) = require_or_skip([Tool::MariaDb]) else {
        return;
    };
    let endpoint = "db.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com";
    let server = database(
        MariaDbOptions::new(pam_check_bin())
            .certificate_names(&[endpoint])
            .signing_host(endpoint)
            .signing_port(3306),
    );
    let home = tempfile::tempdir().unwrap();
    let port = server.port().to_string();
    // The proxy dials 127.0.0.1 (the tunnel's end) and checks the certificate against the endpoint's name.
    let tunnel = [
        "--hostname",
        "127.0.0.1",
        "--port",
        &port,
        "--signing-host",
        endpoint,
        "--signing-port",
        "3306",
    ];
    let ca = server.ca_path().display().to_string();
    let mut args = tunnel.to_vec();
    args.extend(["--ca-bundle", &ca]);
    let proxy = Proxy::start(home.path(), &args, TEST_SECRET_ACCESS_KEY);
    let mut conn = proxy.conn("iam_app").unwrap();
    let user: Option<String> = conn.query_first("SELECT CURRENT_USER()").unwrap();
    assert_eq!(user.as_deref(), Some("iam_app@%"));
    drop(conn);
    proxy.stop();
    let accepted = server.attempts().len();

    // A bundle without the server's CA: refused before any token is sent.
    let other = TestPki::generate(&[endpoint]);
    let dir = tempfile::tempdir().unwrap();
    let other_ca = other.write_to(dir.path()).unwrap().ca.display().to_string();
    let mut args = tunnel.to_vec();
    args.extend(["--ca-bundle", &other_ca]);
    let proxy = Proxy::start(home.path(), &args, TEST_SECRET_ACCESS_KEY);
    let err = server_error(proxy.conn("iam_app"));
    assert!(err.message.starts_with("rds-iam proxy: "), "{}", err.message);
    assert!(err.message.contains("certificate"), "{}", err.message);
    assert_eq!(server.attempts().len(), accepted, "no token was sent");
    proxy.stop();
}

#[test]
fn clients_in_other_languages_log_in_through_the_proxy() {
    let Some([_, python, _, node, sysbench]) = require_or_skip([
        Tool::MariaDb,
        Tool::Botocore,
        Tool::MysqlConnectorPython,
        Tool::NodeMysql2,
        Tool::Sysbench,
    ]) else {
        return;
    };
    let server = database(MariaDbOptions::new(pam_check_bin()));
    let home = tempfile::tempdir().unwrap();
    let proxy = Proxy::start(home.path(), &strs(&target_args(&server)), TEST_SECRET_ACCESS_KEY);
    let port = proxy.port.to_string();
    let session = [
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--user",
        "iam_app",
        "--database",
        "shop",
    ];
    let script = |dir: &str, name: &str| rds_iam_e2e::root().join("tests").join(dir).join(name);
    let node_modules = rds_iam_testkit::tools::node_modules().unwrap();
    let runs = [
        ("pymysql", {
            let mut c = Command::new(&python);
            c.arg(script("py", "proxy_client.py")).args(["--driver", "pymysql"]);
            c
        }),
        ("connector", {
            let mut c = Command::new(&python);
            c.arg(script("py", "proxy_client.py")).args(["--driver", "connector"]);
            c
        }),
        ("mysql2", {
            let mut c = Command::new(&node);
            c.arg(script("node", "proxy_client.js"))
                .env("RDS_IAM_NODE_MODULES", &node_modules);
            c
        }),
    ];
    for (driver, mut command) in runs {
        let out = command.args(session).stdin(Stdio::null()).output().unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{driver}: {stderr}");
        let session: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{driver}: {e}: {stdout}"));
        assert_eq!(session["driver"], driver);
        assert_eq!(session["user"], "iam_app@%", "{driver}: {stdout}");
        assert_eq!(
            session["ssl_version"], "TLSv1.3",
            "{driver}: the proxy's side is TLS: {stdout}"
        );
        assert_eq!(session["param"], 42, "{driver}: {stdout}");
        assert_eq!(
            (session["rows"].as_u64(), session["sum"].as_u64()),
            (Some(1000), Some(500_500)),
            "{driver}"
        );
        assert_eq!(session["temp_count"], 3, "{driver}: {stdout}");
    }

    // sysbench (Debian's, on MariaDB Connector/C): its OLTP read-only workload, 4 threads, 3 seconds.
    let sysbench_run = |phase: &str| {
        let out = Command::new(&sysbench)
            .args([
                "oltp_read_only",
                "--db-driver=mysql",
                "--mysql-host=127.0.0.1",
                "--mysql-user=iam_app",
            ])
            .args(["--mysql-db=shop", "--mysql-ssl=off", "--tables=1", "--table-size=1000"])
            .arg(format!("--mysql-port={port}"))
            .args(["--threads=4", "--time=3"])
            .arg(phase)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "sysbench {phase}: {stdout} {stderr}");
        stdout
    };
    sysbench_run("prepare");
    let report = sysbench_run("run");
    assert!(report.contains("ignored errors:                      0"), "{report}");
    sysbench_run("cleanup");

    let attempts = server.attempts();
    assert!(attempts.len() >= 9, "{attempts:?}");
    assert!(
        attempts.iter().all(|a| a.outcome == PamOutcome::Accepted),
        "{attempts:?}"
    );
    proxy.stop();
}

#[test]
fn large_packets_resets_and_disconnects_pass_through() {
    let Some([_]) = require_or_skip([Tool::MariaDb]) else {
        return;
    };
    let server = database(MariaDbOptions::new(pam_check_bin()));
    server
        .exec_sql_as_root("SET GLOBAL max_allowed_packet = 67108864")
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let proxy = Proxy::start(home.path(), &strs(&target_args(&server)), TEST_SECRET_ACCESS_KEY);
    let mut conn = proxy.conn("iam_app").unwrap();

    // Packets over 16 MiB are split in both directions: a 20 MB statement up, a 20 MB value down.
    let big = "x".repeat(20_000_000);
    let length: Option<u64> = conn.query_first(format!("SELECT LENGTH('{big}')")).unwrap();
    assert_eq!(length, Some(20_000_000));
    let value: Option<Vec<u8>> = conn.query_first("SELECT REPEAT('y', 20000000)").unwrap();
    assert_eq!(value.map(|v| v.len()), Some(20_000_000));

    // COM_RESET_CONNECTION passes through: the session's variables are gone, the login stays.
    conn.query_drop("SET @kept = 1").unwrap();
    conn.reset().unwrap();
    let kept: Option<Option<i64>> = conn.query_first("SELECT @kept").unwrap();
    assert_eq!(kept, Some(None));
    let user: Option<String> = conn.query_first("SELECT CURRENT_USER()").unwrap();
    assert_eq!(user.as_deref(), Some("iam_app@%"));

    // KILL CONNECTION from another session ends the client's session too.
    let id = conn.connection_id();
    let mut other = proxy.conn("iam_app").unwrap();
    other.query_drop(format!("KILL CONNECTION {id}")).unwrap();
    assert!(conn.query_drop("SELECT 1").is_err(), "the killed session is gone");

    // A client that goes away ends its database session.
    let gone = other.connection_id();
    drop(other);
    let still_there = || {
        server
            .exec_sql_as_root(&format!(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {gone}"
            ))
            .unwrap()
            .trim()
            .to_owned()
    };
    let started = Instant::now();
    while still_there() != "0" {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the DB session outlived its client"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    proxy.stop();
}

#[test]
fn expired_credentials_and_an_expired_token_are_refused_with_their_cause() {
    let Some([_, faketime]) = require_or_skip([Tool::MariaDb, Tool::Faketime]) else {
        return;
    };
    let server = database(MariaDbOptions::new(pam_check_bin()));
    let home = tempfile::tempdir().unwrap();
    let args = target_args(&server);

    // Credentials that expired: nothing is signed, the client hears why.
    let process = home.path().join("expired-credentials");
    std::fs::write(
        &process,
        format!(
            "#!/bin/sh\necho '{{\"Version\": 1, \"AccessKeyId\": \"{TEST_ACCESS_KEY_ID}\", \"SecretAccessKey\": \
             \"{TEST_SECRET_ACCESS_KEY}\", \"SessionToken\": \"t\", \"Expiration\": \"2020-01-01T00:00:00Z\"}}'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&process, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let config = home.path().join("config");
    std::fs::write(
        &config,
        format!("[profile old]\ncredential_process = {}\n", process.display()),
    )
    .unwrap();
    let env = [("AWS_CONFIG_FILE", config.to_str().unwrap()), ("AWS_PROFILE", "old")];
    let proxy = Proxy::start_with(home.path(), &strs(&args), &env);
    let err = server_error(proxy.conn("iam_app"));
    assert!(err.message.starts_with("rds-iam proxy: "), "{}", err.message);
    assert!(
        err.message.contains("expired at 2020-01-01T00:00:00Z"),
        "{}",
        err.message
    );
    let (_, stderr) = proxy.stop();
    assert!(
        stderr.contains("expired at 2020-01-01T00:00:00Z"),
        "a clear log line: {stderr}"
    );
    assert!(server.attempts().is_empty(), "no token was sent");

    // A clock 20 minutes slow signs tokens that are already expired: 1045, the clock among the causes.
    let mut slow_clock = Command::new(&faketime);
    slow_clock.args(["-f", "-20m"]).arg(rds_iam_bin());
    let keys = [
        ("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY),
    ];
    let proxy = Proxy::launch(slow_clock, home.path(), &strs(&args), &keys);
    let err = server_error(proxy.conn("iam_app"));
    proxy.stop();
    assert_eq!((err.code, err.state.as_str()), (1045, "28000"));
    assert!(err.message.contains("clock"), "{}", err.message);
    let reasons: Vec<_> = server
        .attempts()
        .iter()
        .filter_map(|a| a.outcome.reason().map(str::to_owned))
        .collect();
    assert!(
        !reasons.is_empty() && reasons.iter().all(|r| r.contains("expired") || r.contains("skew")),
        "{reasons:?}"
    );
}

#[test]
fn limits_graceful_shutdown_and_the_connection_test() {
    let Some([_]) = require_or_skip([Tool::MariaDb]) else {
        return;
    };
    use std::os::unix::process::ExitStatusExt;
    let server = database(MariaDbOptions::new(pam_check_bin()));
    let home = tempfile::tempdir().unwrap();
    let target = target_args(&server);
    let mut args = strs(&target);

    // --max-connections 2: the third client hears 1040 Too many connections, as from a database at its limit.
    let mut limited = args.clone();
    limited.extend(["--max-connections", "2"]);
    let proxy = Proxy::start(home.path(), &limited, TEST_SECRET_ACCESS_KEY);
    let (first, second) = (proxy.conn("iam_app").unwrap(), proxy.conn("iam_app").unwrap());
    let err = server_error(proxy.conn("iam_app"));
    assert_eq!(err.code, 1040, "{}", err.message);
    assert!(err.message.contains("Too many connections"), "{}", err.message);
    drop(first);
    std::thread::sleep(Duration::from_millis(300));
    let third = proxy.conn("iam_app").unwrap();
    drop((second, third));
    let (_, stderr) = proxy.stop();
    assert!(stderr.contains("too many connections"), "{stderr}");

    // SIGTERM with --max-sigterm-delay: the listener closes at once, the query in flight finishes, then the proxy
    // exits 0 (--exit-zero-on-sigterm) as soon as the session ends.
    let mut graceful = args.clone();
    graceful.extend(["--max-sigterm-delay", "20s", "--exit-zero-on-sigterm"]);
    let proxy = Proxy::start(home.path(), &graceful, TEST_SECRET_ACCESS_KEY);
    let mut busy = proxy.conn("iam_app").unwrap();
    let running = std::thread::spawn(move || {
        let slept = busy.query_first::<i64, _>("SELECT SLEEP(2)");
        drop(busy);
        slept
    });
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    Command::new("kill")
        .args(["-TERM", &proxy.child.id().to_string()])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(proxy.conn("iam_app").is_err(), "new clients are refused while draining");
    assert_eq!(
        running.join().unwrap().unwrap(),
        Some(0),
        "the query in flight finished"
    );
    let (code, stderr) = proxy.stop();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "exited when the session ended"
    );

    // Without --exit-zero-on-sigterm: 143. A second SIGINT ends a draining proxy at once (130).
    let proxy = Proxy::start(home.path(), &args, TEST_SECRET_ACCESS_KEY);
    let (code, _) = proxy.stop();
    assert_eq!(code, Some(143));
    let mut patient = args.clone();
    patient.extend(["--max-sigterm-delay", "60s"]);
    let mut proxy = Proxy::start(home.path(), &patient, TEST_SECRET_ACCESS_KEY);
    let open = proxy.conn("iam_app").unwrap();
    let started = Instant::now();
    for _ in 0..2 {
        Command::new("kill")
            .args(["-INT", &proxy.child.id().to_string()])
            .status()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }
    let status = proxy.child.wait().unwrap();
    assert_eq!((status.code(), status.signal()), (Some(130), None));
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(open);

    // --run-connection-test: a login through the listener before the ready line; a failure is exit 1 with the cause.
    args.extend(["--user", "iam_app", "--run-connection-test"]);
    let proxy = Proxy::start(home.path(), &args, TEST_SECRET_ACCESS_KEY);
    let (_, stderr) = proxy.stop();
    assert!(stderr.contains("connection test passed"), "{stderr}");
    let out = Command::new(rds_iam_bin())
        .arg("proxy")
        .args(&args)
        .args(["--listen", "127.0.0.1:0"])
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret-key")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stdout.contains("ready"), "no ready line: {stdout}");
    assert!(
        stderr.contains("connection test") && stderr.contains("1045"),
        "{stderr}"
    );
}

/// One HTTP/1.1 request to `addr`; the status code and the body.
fn http(addr: &str, method: &str, path: &str) -> (u16, String) {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status: {response}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.trim().to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn health_endpoints_follow_the_proxy_from_start_to_shutdown() {
    let Some((server, home)) = database_or_skip() else {
        return;
    };
    let target = target_args(&server);
    let mut args = strs(&target);
    args.extend([
        "--user",
        "iam_app",
        "--max-connections",
        "1",
        "--max-sigterm-delay",
        "20s",
    ]);
    args.extend([
        "--http-listen",
        "127.0.0.1:0",
        "--quitquitquit",
        "--prometheus",
        "--exit-zero-on-sigterm",
    ]);
    let mut proxy = Proxy::start(home.path(), &args, TEST_SECRET_ACCESS_KEY);
    let health = proxy
        .ready
        .split_once("health: http://")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or_else(|| panic!("no health address: {}", proxy.ready))
        .to_owned();

    // Started once the --user token is signed (at once with static keys; allow a moment).
    let started = Instant::now();
    while http(&health, "GET", "/startup").0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            http(&health, "GET", "/startup")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(http(&health, "GET", "/liveness"), (200, "ok".to_owned()));
    assert_eq!(http(&health, "GET", "/readiness"), (200, "ok".to_owned()));
    assert_eq!(http(&health, "GET", "/nowhere").0, 404);
    assert_eq!(http(&health, "POST", "/readiness").0, 405);

    // At --max-connections: not ready, and says why.
    let conn = proxy.conn("iam_app").unwrap();
    let (status, why) = http(&health, "GET", "/readiness");
    assert_eq!(status, 503);
    assert!(why.contains("1 of 1 sessions open"), "{why}");

    // Prometheus metrics: the session open now, a refused user, the token signed ahead.
    assert_eq!(
        server_error(proxy.conn("root")).code,
        1040,
        "at the limit, even for another user"
    );
    let (status, metrics) = http(&health, "GET", "/metrics");
    assert_eq!(status, 200);
    for expected in [
        "rds_iam_proxy_open_connections{instance=\"localhost\"} 1",
        "rds_iam_proxy_connections_total{instance=\"localhost\",result=\"limit\"} 1",
        "rds_iam_proxy_dial_duration_seconds_count 1",
        "rds_iam_proxy_token_refresh_total{result=\"ok\"}",
        "rds_iam_proxy_token_expiry_timestamp_seconds{instance=\"localhost\",user=\"iam_app\"}",
    ] {
        assert!(metrics.contains(expected), "{expected} in:\n{metrics}");
    }
    assert!(!metrics.contains("X-Amz"), "{metrics}");

    // POST /quitquitquit begins the graceful shutdown: liveness and readiness turn 503, the session may finish.
    assert_eq!(http(&health, "POST", "/quitquitquit").0, 200);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(http(&health, "GET", "/liveness"), (503, "shutting down".to_owned()));
    assert_eq!(http(&health, "GET", "/readiness").0, 503);
    drop(conn);
    let status = proxy.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "--exit-zero-on-sigterm after /quitquitquit");
}

#[test]
fn structured_quiet_and_lazy_logs() {
    let Some((server, home)) = database_or_skip() else {
        return;
    };
    let target = target_args(&server);
    let args = strs(&target);

    // --structured-logs: one JSON object per line, with the session's facts; never a token.
    let mut structured = args.clone();
    structured.extend(["--structured-logs", "--lazy-refresh"]);
    let proxy = Proxy::start(home.path(), &structured, TEST_SECRET_ACCESS_KEY);
    let mut conn = proxy.conn("iam_app").unwrap();
    assert_eq!(conn.query_first::<u8, _>("SELECT 1").unwrap(), Some(1));
    drop(conn);
    std::thread::sleep(Duration::from_millis(200));
    let (_, stderr) = proxy.stop();
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let logged_in = events
        .iter()
        .find(|e| e["message"] == "logged in")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(logged_in["user"], "iam_app");
    assert_eq!(logged_in["instance"], "localhost");
    assert!(
        logged_in["timestamp"].is_string() && logged_in["level"] == "INFO",
        "{logged_in}"
    );
    let closed = events.iter().find(|e| e["message"] == "session closed").unwrap();
    assert!(
        closed["duration_ms"].is_u64() && closed["bytes_to_client"].as_u64() > Some(0),
        "{closed}"
    );
    assert!(!stderr.contains("X-Amz-Signature"), "{stderr}");

    // --quiet: nothing but errors (a session is not one).
    let mut quiet = args.clone();
    quiet.push("--quiet");
    let proxy = Proxy::start(home.path(), &quiet, TEST_SECRET_ACCESS_KEY);
    drop(proxy.conn("iam_app").unwrap());
    let (_, stderr) = proxy.stop();
    assert!(!stderr.contains("logged in"), "{stderr}");
}
