//! `rds-iam mysql` with the real `mariadb` client against a server that offers no TLS: whatever the client is told
//! (the name waiver, the user's option files, arguments after `--`), no token reaches the server. The client only
//! ever talks to rds-iam's private socket; rds-iam refuses to log in to a server without TLS.

use rds_iam_testkit::{RdsLikeOptions, RdsLikeServer, TestPki, Tool, require_or_skip};

use super::*;

/// The `mariadb` client ([`Tool::MariaDbClient`]); each test asks [`require_or_skip`] first.
fn mariadb_client() -> String {
    Tool::MariaDbClient
        .locate()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|why| panic!("{why}"))
}

struct Bed {
    server: RdsLikeServer,
    home: tempfile::TempDir,
    ca: String,
    tmp: tempfile::TempDir,
}

fn bed() -> Bed {
    // A server that offers no TLS and accepts a clear-text password (it records what it receives).
    let server = RdsLikeServer::start(RdsLikeOptions::without_tls().lax());
    let home = tempfile::tempdir().unwrap();
    let files = TestPki::generate(&["localhost"]).write_to(home.path()).unwrap();
    Bed {
        server,
        ca: files.ca.display().to_string(),
        home,
        tmp: tempfile::tempdir().unwrap(),
    }
}

fn run(bed: &Bed, extra: &[&str], client_args: &[&str], vars: &[(&str, &str)]) -> Output {
    let port = bed.server.port().to_string();
    let client = mariadb_client();
    let mut args = vec![
        "mysql",
        "--hostname",
        "localhost",
        "--port",
        &port,
        "--username",
        "app",
        "--region",
        "us-east-1",
        "--ca-bundle",
        &bed.ca,
        "--client",
        &client,
    ];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(client_args);
    let tmp = bed.tmp.path().display().to_string();
    let mut all = vec![
        ("AWS_ACCESS_KEY_ID", KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", SESSION),
        ("TMPDIR", tmp.as_str()),
    ];
    all.extend_from_slice(vars);
    rds_iam(bed.home.path(), &args, &all)
}

fn assert_no_token_sent(bed: &Bed, out: &Output, case: &str) {
    assert!(!out.status.success(), "{case}: {}", stderr(out));
    let sent: Vec<_> = bed
        .server
        .attempts()
        .into_iter()
        .filter(|a| !a.password.is_empty() || !a.auth_response.is_empty())
        .collect();
    assert!(sent.is_empty(), "{case}: the server received a password: {sent:?}");
    assert!(bed.server.tokens_over_plaintext().is_empty(), "{case}");
    // Nothing left behind: no socket folder, no option file.
    let left: Vec<_> = std::fs::read_dir(bed.tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "{case}: left in TMPDIR: {left:?}");
}

#[test]
fn no_client_configuration_sends_the_token_to_a_server_without_tls() {
    let Some([_]) = require_or_skip([Tool::MariaDbClient]) else {
        return;
    };
    let bed = bed();
    let port = bed.server.port().to_string();
    let hostile =
        format!("[client]\nskip-ssl\nssl=0\nloose-ssl-mode=DISABLED\nprotocol=TCP\nhost=127.0.0.1\nport={port}\n");
    let cases: &[(&str, &[&str], Option<&str>, bool)] = &[
        ("the name waiver", &["--danger-skip-hostname-check"], None, false),
        ("no waiver", &[], None, false),
        ("~/.my.cnf skip-ssl", &[], Some("[client]\nskip-ssl\n"), false),
        (
            "~/.my.cnf ssl=0",
            &["--danger-skip-hostname-check"],
            Some("[client]\nssl=0\n"),
            false,
        ),
        (
            "~/.my.cnf ssl-mode",
            &[],
            Some("[client]\nloose-ssl-mode=DISABLED\n"),
            false,
        ),
        (
            "~/.my.cnf redirect",
            &["--danger-skip-hostname-check"],
            Some(hostile.as_str()),
            false,
        ),
        (
            "$MYSQL_HOME/my.cnf",
            &["--danger-skip-hostname-check"],
            Some(hostile.as_str()),
            true,
        ),
    ];
    for &(case, extra, option_file, in_mysql_home) in cases {
        let _ = std::fs::remove_file(bed.home.path().join(".my.cnf"));
        let mysql_home = tempfile::tempdir().unwrap();
        if let Some(text) = option_file {
            let file = if in_mysql_home {
                mysql_home.path().join("my.cnf")
            } else {
                bed.home.path().join(".my.cnf")
            };
            std::fs::write(file, text).unwrap();
        }
        let mysql_home_var = mysql_home.path().display().to_string();
        let out = run(
            &bed,
            extra,
            &["--batch", "-e", "SELECT 1"],
            &[("MYSQL_HOME", &mysql_home_var)],
        );
        assert_no_token_sent(&bed, &out, case);
        let err = stderr(&out);
        assert!(
            err.contains("does not offer TLS, so the token was not sent"),
            "{case}: the client must say TLS was refused: {err}"
        );
    }
}

#[test]
fn client_arguments_that_override_the_connection_or_tls_are_refused() {
    let Some([_]) = require_or_skip([Tool::MariaDbClient]) else {
        return;
    };
    let bed = bed();
    let port = bed.server.port().to_string();
    let port_arg = format!("--port={port}");
    for arg in [
        "--skip-ssl",
        "--ssl=0",
        "--ssl-mode=DISABLED",
        "--protocol=socket",
        "--protocol=TCP",
        "--host=127.0.0.1",
        port_arg.as_str(),
        "--user=root",
        "-uroot",
        "--defaults-extra-file=/dev/null",
    ] {
        let out = run(&bed, &["--danger-skip-hostname-check"], &[arg, "-e", "SELECT 1"], &[]);
        assert_eq!(out.status.code(), Some(2), "{arg}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("is not allowed after `--`"),
            "{arg}: {}",
            stderr(&out)
        );
        assert_no_token_sent(&bed, &out, arg);
        assert_eq!(bed.server.connections(), 0, "{arg}: nothing was dialed");
    }
}

/// Under `--danger-skip-hostname-check` the login's own connection is the one whose certificate is checked against
/// the bundle alone (the proxy's TLS): one connection per login, no separate probe; a certificate from a second CA
/// (not in the bundle) gets no token, for `connect` and for `mysql`.
#[test]
fn name_waived_logins_trust_the_bundle_alone_on_the_login_connection() {
    let Some([_]) = require_or_skip([Tool::MariaDbClient]) else {
        return;
    };
    let good = TestPki::generate(&["db.example.test"]);
    let second_ca = TestPki::generate(&["db.example.test"]);
    let home = tempfile::tempdir().unwrap();
    let bundle = good.write_to(home.path()).unwrap().ca.display().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let tmp_var = tmp.path().display().to_string();
    let vars = [
        ("AWS_ACCESS_KEY_ID", KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("TMPDIR", tmp_var.as_str()),
    ];
    for (pki, trusted) in [(&good, true), (&second_ca, false)] {
        let server = RdsLikeServer::start(rds_iam_testkit::RdsLikeOptions::from_pki(pki));
        let port = server.port().to_string();
        let target = [
            "--hostname",
            "127.0.0.1",
            "--signing-host",
            "mydb.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com",
            "--port",
            &port,
            "--username",
            "app",
            "--ca-bundle",
            &bundle,
            "--danger-skip-hostname-check",
        ];
        let connect = [&["connect"][..], &target, &["-e", "SELECT 1"]].concat();
        let out = rds_iam(home.path(), &connect, &vars);
        let client = mariadb_client();
        let mysql = [
            &["mysql"][..],
            &target,
            &["--client", &client, "--", "--batch", "-e", "SELECT 1"],
        ]
        .concat();
        let out_mysql = rds_iam(home.path(), &mysql, &vars);
        if trusted {
            assert!(out.status.success(), "{}", stderr(&out));
            assert!(out_mysql.status.success(), "{}", stderr(&out_mysql));
            assert_eq!(server.connections(), 2, "one connection per login: the checked one");
            assert!(server.attempts().iter().all(|a| a.tls), "{:?}", server.attempts());
        } else {
            for out in [&out, &out_mysql] {
                assert!(!out.status.success());
                assert!(stderr(out).contains("is not issued by a CA in"), "{}", stderr(out));
            }
            assert!(
                server.attempts().iter().all(|a| a.password.is_empty()),
                "{:?}",
                server.attempts()
            );
        }
    }
}

/// A system-wide option file (`/etc/mysql/conf.d/*.cnf`, read by every client on the machine) that turns TLS off:
/// still no token. Needs root to plant the file; it is removed again however the test ends.
#[test]
fn a_system_option_file_without_tls_changes_nothing() {
    struct Planted(std::path::PathBuf);
    impl Drop for Planted {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let dir = Path::new("/etc/mysql/conf.d");
    let file = dir.join(format!("zz-rds-iam-test-{}.cnf", std::process::id()));
    // Only `[client]` TLS settings: other tests' clients on this machine keep working over their own sockets.
    if std::fs::write(&file, "[client]\nskip-ssl\nssl=0\nloose-ssl-mode=DISABLED\n").is_err() {
        assert!(
            !rds_iam_testkit::tools::tools_required(),
            "cannot write {}: run as root (CI does)",
            file.display()
        );
        eprintln!(
            "skipped a_system_option_file_without_tls_changes_nothing: needs root to write {}",
            file.display()
        );
        return;
    }
    let _planted = Planted(file);
    let bed = bed();
    for extra in [&[][..], &["--danger-skip-hostname-check"][..]] {
        let out = run(&bed, extra, &["--batch", "-e", "SELECT 1"], &[]);
        assert_no_token_sent(&bed, &out, "/etc/mysql/conf.d");
        assert!(
            stderr(&out).contains("does not offer TLS, so the token was not sent"),
            "{}",
            stderr(&out)
        );
    }
}
