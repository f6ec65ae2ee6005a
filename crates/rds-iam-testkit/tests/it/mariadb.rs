//! The RDS-like MariaDB ([`MariaDb`]) with the real `mariadb` client: valid tokens log in over TLS, each kind of bad
//! token is refused and the validator's log says why, servers run in parallel, and dropping one cleans up.
//!
//! Needs root and `apt-get install -y mariadb-server`: without them `cargo test` skips these tests and says so, and
//! CI (`CI` or `RDS_IAM_REQUIRE_TOOLS` set) fails them ([`require_or_skip`]).
#![allow(
    clippy::disallowed_methods,
    reason = "tokens are signed at the real time: the server checks them against its clock"
)]

use std::path::Path;
use std::time::{Duration, SystemTime};

use rds_iam_testkit::{MariaDb, MariaDbOptions, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, Tool, require_or_skip};
use rds_iam_token::{Credentials, TokenRequest};

fn start() -> MariaDb {
    start_with(options())
}

fn options() -> MariaDbOptions {
    MariaDbOptions::new(env!("CARGO_BIN_EXE_rds-iam-pam-check"))
}

fn start_with(options: MariaDbOptions) -> MariaDb {
    let server = MariaDb::start(options).unwrap_or_else(|e| panic!("the MariaDB test server did not start: {e}"));
    server.create_iam_user("iam_app").expect("create iam_app");
    server
}

/// A token as the server expects it, except for what the caller changes.
struct Sign<'a> {
    host: &'a str,
    port: u16,
    user: &'a str,
    region: &'a str,
    secret: &'a str,
    at: SystemTime,
}

impl<'a> Sign<'a> {
    fn for_server(server: &'a MariaDb) -> Sign<'a> {
        Sign {
            host: server.signing_host(),
            port: server.signing_port(),
            user: "iam_app",
            region: server.region(),
            secret: TEST_SECRET_ACCESS_KEY,
            at: SystemTime::now(),
        }
    }

    fn token(&self) -> String {
        let creds = Credentials::new(TEST_ACCESS_KEY_ID, self.secret);
        TokenRequest::new(self.host, self.port, self.user, self.region)
            .expect("valid token request")
            .sign(&creds, self.at)
            .expect("sign")
            .expose()
            .to_owned()
    }
}

/// Logs in as `user` with `password` over verified TLS and runs `sql`: stdout, or the client's error.
fn login(server: &MariaDb, user: &str, password: &str, sql: &str) -> Result<String, String> {
    let output = server
        .client_command(user, password)
        .args(["-e", sql])
        .output()
        .expect("run the mariadb client");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn a_valid_token_logs_in_over_tls() {
    let Some([_]) = require_or_skip([Tool::MariaDb]) else {
        return;
    };
    let server = start();
    let token = Sign::for_server(&server).token();
    assert!(
        token.len() < 512,
        "pam_exec passes at most 511 bytes: {} bytes",
        token.len()
    );

    let out = login(
        &server,
        "iam_app",
        &token,
        "SELECT CURRENT_USER(); SHOW SESSION STATUS LIKE 'Ssl_version'",
    )
    .unwrap_or_else(|e| panic!("login failed: {e}\nattempts: {:?}", server.attempts()));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "iam_app@%", "{out}");
    assert_eq!(lines[1], "Ssl_version\tTLSv1.3", "{out}");

    let attempts = server.attempts();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].user, "iam_app");
    assert_eq!(attempts[0].outcome, rds_iam_testkit::PamOutcome::Accepted);

    // The admin user logs in with its password (no PAM involved).
    let out = login(
        &server,
        rds_iam_testkit::ADMIN_USER,
        server.admin_password(),
        "SELECT 1",
    )
    .expect("admin login");
    assert_eq!(out.trim(), "1");
    assert_eq!(server.attempts().len(), 1);
}

#[test]
fn bad_tokens_are_refused_and_the_log_says_why() {
    let Some([_]) = require_or_skip([Tool::MariaDb]) else {
        return;
    };
    let server = start();
    server.create_iam_user("other_user").expect("create other_user");
    let now = SystemTime::now();
    let good = Sign::for_server(&server);
    let tampered = {
        let token = good.token();
        let (head, signature) = token.split_at(token.len() - 64);
        let flipped = if signature.starts_with('a') { 'b' } else { 'a' };
        format!("{head}{flipped}{}", &signature[1..])
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "signed for another user",
            Sign {
                user: "other_user",
                ..Sign::for_server(&server)
            }
            .token(),
            "wrong-user",
        ),
        (
            "signed for another region",
            Sign {
                region: "eu-west-1",
                ..Sign::for_server(&server)
            }
            .token(),
            "wrong-region",
        ),
        (
            "signed for another host",
            Sign {
                host: "mydb.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com",
                ..Sign::for_server(&server)
            }
            .token(),
            "wrong-host",
        ),
        (
            "signed for another port",
            Sign {
                port: server.port().wrapping_add(1),
                ..Sign::for_server(&server)
            }
            .token(),
            "wrong-port",
        ),
        ("tampered signature", tampered, "signature-mismatch"),
        (
            "signed with another secret key",
            Sign {
                secret: "not-the-secret",
                ..Sign::for_server(&server)
            }
            .token(),
            "signature-mismatch",
        ),
        (
            "expired",
            Sign {
                at: now - Duration::from_secs(901),
                ..Sign::for_server(&server)
            }
            .token(),
            "expired",
        ),
        (
            "signed in the future",
            Sign {
                at: now + Duration::from_secs(600),
                ..Sign::for_server(&server)
            }
            .token(),
            "not-yet-valid",
        ),
        ("not a token", "hunter2".to_owned(), "malformed"),
    ];
    for (i, (what, token, reason)) in cases.iter().enumerate() {
        let error = login(&server, "iam_app", token, "SELECT 1").expect_err(what);
        assert!(
            error.contains("1045") && error.contains("Access denied"),
            "{what}: {error}"
        );
        let attempts = server.attempts();
        assert_eq!(attempts.len(), i + 1, "{what}: {attempts:?}");
        let last = &attempts[i];
        assert_eq!(last.user, "iam_app", "{what}");
        assert_eq!(last.outcome.reason(), Some(*reason), "{what}: {:?}", last.outcome);
    }

    // The token signed for other_user works for other_user.
    let token = Sign {
        user: "other_user",
        ..Sign::for_server(&server)
    }
    .token();
    let out = login(&server, "other_user", &token, "SELECT CURRENT_USER()").expect("other_user logs in");
    assert_eq!(out.trim(), "other_user@%");
}

#[test]
fn without_tls_mariadb_reads_the_token_then_refuses_the_login() {
    let Some([_]) = require_or_skip([Tool::MariaDb]) else {
        return;
    };
    // What DESIGN §6 warns about: over plain TCP, PAM still gets (and accepts) the token; only `REQUIRE SSL`
    // refuses the login afterwards. The client must never send it there.
    let server = start();
    let token = Sign::for_server(&server).token();
    let output = std::process::Command::new(server.client_program())
        .args([
            "--no-defaults",
            "--protocol=TCP",
            "--host=127.0.0.1",
            "--skip-ssl",
            "--user=iam_app",
        ])
        .arg(format!("--port={}", server.port()))
        .args(["-e", "SELECT 1"])
        .env("MYSQL_PWD", &token)
        .output()
        .expect("run the mariadb client");
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("1045"), "{error}");
    let attempts = server.attempts();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].outcome, rds_iam_testkit::PamOutcome::Accepted);
}

#[test]
fn two_servers_run_in_parallel() {
    let Some([_]) = require_or_skip([Tool::MariaDb]) else {
        return;
    };
    let servers: Vec<MariaDb> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|i| s.spawn(move || start_with(options().region(if i == 0 { "us-east-1" } else { "ap-northeast-1" }))))
            .collect();
        handles.into_iter().map(|h| h.join().expect("start a server")).collect()
    });
    let (a, b) = (&servers[0], &servers[1]);
    assert_ne!(a.port(), b.port());
    assert_ne!(a.pam_service(), b.pam_service());
    for server in [a, b] {
        let token = Sign::for_server(server).token();
        let out = login(server, "iam_app", &token, "SELECT CURRENT_USER()").expect("login");
        assert_eq!(out.trim(), "iam_app@%");
    }
    // A's token is refused by B (B's port and region differ).
    let token = Sign::for_server(a).token();
    login(b, "iam_app", &token, "SELECT 1").expect_err("A's token on B");
    assert_eq!(b.attempts().last().and_then(|a| a.outcome.reason()), Some("wrong-port"));
}

#[test]
fn a_tunnel_signing_host_and_port() {
    let Some([_]) = require_or_skip([Tool::MariaDb]) else {
        return;
    };
    // Dial 127.0.0.1:<port>, sign for the RDS endpoint name and its port, like an SSH/SSM tunnel.
    let endpoint = "mydb.c1a2b3c4d5e6.eu-central-1.rds.amazonaws.com";
    let server = start_with(
        options()
            .signing_host(endpoint)
            .signing_port(3306)
            .region("eu-central-1"),
    );
    assert_eq!((server.signing_host(), server.signing_port()), (endpoint, 3306));
    let token = Sign::for_server(&server).token();
    assert!(token.starts_with(&format!("{endpoint}:3306/?")), "{token}");
    let out = login(&server, "iam_app", &token, "SELECT CURRENT_USER()").expect("login through the tunnel");
    assert_eq!(out.trim(), "iam_app@%");
}

#[test]
fn drop_stops_the_server_and_cleans_up() {
    let Some([_]) = require_or_skip([Tool::MariaDb]) else {
        return;
    };
    let server = start();
    let pid = server.pid();
    let pam = server.pam_service_path().to_owned();
    let dir = server.dir().to_owned();
    let proc_entry = Path::new("/proc").join(pid.to_string());
    assert!(proc_entry.exists() && pam.exists() && dir.exists());
    let pam_text = std::fs::read_to_string(&pam).expect("read the PAM service");
    assert!(pam_text.contains("pam_exec.so expose_authtok quiet"), "{pam_text}");
    let config = std::fs::metadata(dir.join("pam-check.conf")).expect("config");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(config.permissions().mode() & 0o777, 0o600);

    drop(server);
    assert!(!proc_entry.exists(), "mariadbd (pid {pid}) still runs");
    assert!(!pam.exists(), "{} was not removed", pam.display());
    assert!(!dir.exists(), "{} was not removed", dir.display());
}

#[test]
fn a_missing_pam_check_binary_is_a_clear_error() {
    let error = MariaDb::start(MariaDbOptions::new("/nonexistent/rds-iam-pam-check")).expect_err("no binary");
    assert!(error.contains("cargo build -p rds-iam-testkit"), "{error}");
}
