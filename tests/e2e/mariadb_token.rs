//! `rds-iam token` against the real RDS-like MariaDB (testkit's [`MariaDb`]): the token the CLI prints logs the
//! `mariadb` client in over verified TLS; signed for another region or host, it is refused and the server's SigV4
//! validator says why. Needs root and `apt-get install -y mariadb-server`.

use std::path::Path;
use std::process::Command;

use rds_iam_e2e::{pam_check_bin, rds_iam_bin};
use rds_iam_testkit::{
    MariaDb, MariaDbOptions, PamOutcome, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, Tool, require_or_skip,
};

/// `rds-iam token ARGS` with only the test key pair in the environment.
fn cli_token(home: &Path, args: &[&str]) -> String {
    let out = Command::new(rds_iam_bin())
        .arg("token")
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run rds-iam token");
    assert!(
        out.status.success(),
        "rds-iam token: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn cli_token_logs_in_to_mariadb_over_tls() {
    let Some([_]) = require_or_skip([Tool::MariaDb]) else {
        return;
    };
    let server = MariaDb::start(MariaDbOptions::new(pam_check_bin()))
        .unwrap_or_else(|e| panic!("the MariaDB test server did not start: {e}"));
    server.create_iam_user("iam_app").unwrap();
    let home = tempfile::tempdir().unwrap();
    let port = server.signing_port().to_string();
    let target = [
        "--hostname",
        server.signing_host(),
        "--port",
        &port,
        "--username",
        "iam_app",
    ];

    let token = cli_token(home.path(), &[&target[..], &["--region", server.region()]].concat());
    let out = server
        .client_command("iam_app", &token)
        .args(["-e", "SELECT CURRENT_USER(); SHOW SESSION STATUS LIKE 'Ssl_version'"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "login with the CLI's token: {}\nattempts: {:?}",
        String::from_utf8_lossy(&out.stderr),
        server.attempts()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "iam_app@%\nSsl_version\tTLSv1.3\n"
    );

    let refused = [
        (vec!["--region", "eu-west-1"], "wrong-region"),
        (
            vec!["--region", server.region(), "--signing-host", "mydb.example.com"],
            "wrong-host",
        ),
    ];
    for (extra, reason) in refused {
        let token = cli_token(home.path(), &[&target[..], &extra[..]].concat());
        let out = server
            .client_command("iam_app", &token)
            .args(["-e", "SELECT 1"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{extra:?} logged in");
        let last = server.attempts().pop().unwrap();
        assert_eq!(last.outcome.reason(), Some(reason), "{extra:?}: {:?}", last.outcome);
    }
    assert_eq!(server.attempts()[0].outcome, PamOutcome::Accepted);
}
