//! `rds-iam connect` and `rds-iam mysql` against the real RDS-like MariaDB (testkit's [`MariaDb`]): a good token
//! logs in over TLS 1.3; each way a token or TLS goes wrong gives its own classified message, and the server's
//! SigV4 validator confirms why it refused. Needs root and `apt-get install -y mariadb-server`.

use std::path::Path;
use std::process::{Command, Output};

use rds_iam_e2e::{faketime, pam_check_bin, rds_iam_bin};
use rds_iam_testkit::{
    MariaDb, MariaDbOptions, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, TestPki, Tool, require_or_skip,
};

/// `[faketime -f OFFSET] rds-iam ARGS` with only the given secret key and the test key id in the environment.
fn rds_iam(home: &Path, args: &[&str], secret: &str, time_offset: Option<&str>) -> Output {
    let mut cmd = match time_offset {
        Some(offset) => {
            let mut c = Command::new(faketime());
            c.args(["-f", offset]).arg(rds_iam_bin());
            c
        }
        None => Command::new(rds_iam_bin()),
    };
    cmd.args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run rds-iam")
}

/// Extra flags, the secret key to sign with, a faketime offset, and the validator's expected reason.
type Refusal<'a> = (&'a [&'a str], &'a str, Option<&'a str>, Option<&'a str>);

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn connect_logs_in_and_classifies_every_failure() {
    let Some([_, _]) = require_or_skip([Tool::MariaDb, Tool::Faketime]) else {
        return;
    };
    let server = MariaDb::start(MariaDbOptions::new(pam_check_bin())).unwrap_or_else(|e| panic!("MariaDB: {e}"));
    server.create_iam_user("iam_app").unwrap();
    let home = tempfile::tempdir().unwrap();
    let port = server.port().to_string();
    let ca = server.ca_path().display().to_string();
    let base = [
        "connect",
        "--hostname",
        "localhost",
        "--port",
        &port,
        "--ca-bundle",
        &ca,
    ];
    let connect = |extra: &[&str], secret: &str, offset: Option<&str>| {
        let mut args = base.to_vec();
        if !extra.contains(&"--region") {
            args.extend_from_slice(&["--region", "us-east-1"]);
        }
        args.extend_from_slice(extra);
        rds_iam(home.path(), &args, secret, offset)
    };
    let sql = [
        "-e",
        "SELECT CURRENT_USER(); SHOW SESSION STATUS LIKE 'Ssl_version'",
        "--output",
        "tsv",
    ];

    // A good token, over TLS 1.3.
    let out = connect(
        &[&["--username", "iam_app"][..], &sql[..]].concat(),
        TEST_SECRET_ACCESS_KEY,
        None,
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}\n{:?}", server.attempts());
    assert_eq!(
        stdout,
        "CURRENT_USER()\niam_app@%\nVariable_name\tValue\nSsl_version\tTLSv1.3\n"
    );

    // Trace logging shows what happens, never the token or the secret key.
    let traced = {
        let mut args = base.to_vec();
        args.extend_from_slice(&["--region", "us-east-1", "--username", "iam_app", "-e", "SELECT 1"]);
        let mut cmd = Command::new(rds_iam_bin());
        cmd.args(&args)
            .env_clear()
            .env("HOME", home.path())
            .env("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "trace");
        cmd.output().unwrap()
    };
    let (_, log) = text(&traced);
    assert!(
        traced.status.success() && log.contains("connecting with an IAM token"),
        "{log}"
    );
    assert!(
        !log.contains("X-Amz-Signature") && !log.contains(TEST_SECRET_ACCESS_KEY),
        "{log}"
    );

    // Refused tokens: the classified message, and the validator's reason.
    let refused: [Refusal<'_>; 4] = [
        (
            &["--username", "iam_app", "--region", "eu-west-1"],
            TEST_SECRET_ACCESS_KEY,
            None,
            Some("wrong-region"),
        ),
        (
            &[
                "--username",
                "iam_app",
                "--signing-host",
                "other.example.com",
                "--danger-skip-hostname-check",
            ],
            TEST_SECRET_ACCESS_KEY,
            None,
            Some("wrong-host"),
        ),
        // Signed with another secret key: the signature does not match (a tampered token looks the same).
        (
            &["--username", "iam_app"],
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYTAMPERED",
            None,
            Some("signature-mismatch"),
        ),
        // Signed 20 minutes ago: expired.
        (
            &["--username", "iam_app"],
            TEST_SECRET_ACCESS_KEY,
            Some("-20m"),
            Some("expired"),
        ),
    ];
    for (extra, secret, offset, reason) in refused {
        let out = connect(&[extra, &["-e", "SELECT 1"][..]].concat(), secret, offset);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{extra:?} logged in");
        assert!(
            stderr.contains("the server rejected the IAM token") && stderr.contains("usual causes"),
            "{stderr}"
        );
        let last = server.attempts().pop().unwrap();
        assert_eq!(last.outcome.reason(), reason, "{extra:?}: {:?}", last.outcome);
    }
    // A user that does not exist is refused by the server before PAM runs.
    let out = connect(
        &["--username", "nobody", "-e", "SELECT 1"],
        TEST_SECRET_ACCESS_KEY,
        None,
    );
    assert!(
        text(&out).1.contains("the server rejected the IAM token"),
        "{}",
        text(&out).1
    );

    // The wrong CA: a TLS failure, and no token sent.
    let other = tempfile::tempdir().unwrap();
    let other_ca = TestPki::generate(&["localhost"])
        .write_to(other.path())
        .unwrap()
        .ca
        .display()
        .to_string();
    let attempts_before = server.attempts().len();
    let mut args = base.to_vec();
    args[6] = &other_ca;
    args.extend_from_slice(&["--region", "us-east-1", "--username", "iam_app", "-e", "SELECT 1"]);
    let out = rds_iam(home.path(), &args, TEST_SECRET_ACCESS_KEY, None);
    assert!(text(&out).1.contains("is not issued by a CA in"), "{}", text(&out).1);
    assert_eq!(server.attempts().len(), attempts_before, "no login reached PAM");

    // `rds-iam mysql` starts the mariadb client already logged in.
    let mut args = base.to_vec();
    args[0] = "mysql";
    args.extend_from_slice(&[
        "--region",
        "us-east-1",
        "--username",
        "iam_app",
        "--",
        "--batch",
        "-e",
        "SELECT CURRENT_USER()",
    ]);
    let out = rds_iam(home.path(), &args, TEST_SECRET_ACCESS_KEY, None);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout, "CURRENT_USER()\niam_app@%\n");
}

#[test]
fn a_certificate_for_another_name_is_a_hostname_error() {
    let Some([_]) = require_or_skip([Tool::MariaDb]) else {
        return;
    };
    let server = MariaDb::start(MariaDbOptions::new(pam_check_bin()).certificate_names(&["db.example.test"]))
        .unwrap_or_else(|e| panic!("MariaDB: {e}"));
    server.create_iam_user("iam_app").unwrap();
    let home = tempfile::tempdir().unwrap();
    let port = server.port().to_string();
    let ca = server.ca_path().display().to_string();
    let args = [
        "connect",
        "--hostname",
        "localhost",
        "--port",
        &port,
        "--region",
        "us-east-1",
        "--ca-bundle",
        &ca,
        "--username",
        "iam_app",
        "-e",
        "SELECT 1",
    ];
    let out = rds_iam(home.path(), &args, TEST_SECRET_ACCESS_KEY, None);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("is not valid for localhost"), "{stderr}");
    assert!(server.attempts().is_empty(), "no token before the certificate check");
}

/// `rds-iam mysql` started in its own process group, as a shell starts a foreground job, with a private `TMPDIR`.
fn mysql_job(server: &MariaDb, home: &Path, tmp: &Path, sql: &str) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let port = server.port().to_string();
    let ca = server.ca_path().display().to_string();
    Command::new(rds_iam_bin())
        .args(["mysql", "--hostname", "localhost", "--port", &port, "--ca-bundle", &ca])
        .args([
            "--region",
            "us-east-1",
            "--username",
            "iam_app",
            "--",
            "--batch",
            "-e",
            sql,
        ])
        .env_clear()
        .env("HOME", home)
        .env("TMPDIR", tmp)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("run rds-iam mysql")
}

fn signal(target: &str, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), "--", target])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {target}");
}

#[test]
fn ctrl_c_cancels_the_query_and_rds_iam_survives_it() {
    let Some([_]) = require_or_skip([Tool::MariaDb]) else {
        return;
    };
    use std::os::unix::process::ExitStatusExt;
    let server = MariaDb::start(MariaDbOptions::new(pam_check_bin())).unwrap_or_else(|e| panic!("MariaDB: {e}"));
    server.create_iam_user("iam_app").unwrap();
    let (home, tmp) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    // Ctrl-C at the terminal reaches the whole foreground process group: the client cancels its query (KILL QUERY
    // over a second connection through rds-iam's proxy, using the DB's connection id), rds-iam lives on.
    let job = mysql_job(&server, home.path(), tmp.path(), "SELECT SLEEP(20)");
    std::thread::sleep(std::time::Duration::from_secs(2));
    signal(&format!("-{}", job.id()), "INT");
    let out = job.wait_with_output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.signal(), None, "rds-iam was killed by the signal: {stderr}");
    assert!(
        stdout.contains("SLEEP(20)\n1") || stderr.contains("interrupted") || stderr.contains("Ctrl-C"),
        "the query was cancelled: {stdout} {stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "nothing may remain in TMPDIR: {left:?}");

    // SIGTERM to rds-iam alone is passed on to the client; rds-iam then exits as the client did and cleans up.
    let job = mysql_job(&server, home.path(), tmp.path(), "SELECT SLEEP(20)");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let started = std::time::Instant::now();
    signal(&job.id().to_string(), "TERM");
    let out = job.wait_with_output().unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the client ended at once"
    );
    assert_eq!(out.status.signal(), None, "rds-iam handled SIGTERM: {}", text(&out).1);
    assert_eq!(
        out.status.code(),
        Some(128 + 15),
        "the client's end by SIGTERM: {}",
        text(&out).1
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "nothing may remain in TMPDIR: {left:?}");
}
