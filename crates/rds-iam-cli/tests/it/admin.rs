//! `describe`, `enable`, `policy` and `create-user` against moto's RDS API on loopback (resources made with the
//! AWS CLI from the same venv as `moto_server`).

use std::path::Path;
use std::process::{Command, Output};

use rds_iam_testkit::{MotoServer, Tool, require_or_skip};

use super::{KEY, SECRET, home, rds_iam, stderr, stdout};

/// `rds-iam ARGS` against `moto`, region eu-west-1, never reaching AWS or instance metadata.
fn run(moto: &MotoServer, home: &Path, args: &[&str]) -> Output {
    let url = moto.url();
    rds_iam(
        home,
        args,
        &[
            ("AWS_ACCESS_KEY_ID", KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL_RDS", &url),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    )
}

/// `aws rds ARGS` against moto (the AWS CLI from the same venv as `moto_server`).
fn aws_rds(aws: &Path, moto: &MotoServer, args: &[&str]) {
    let out = Command::new(aws)
        .args(["--endpoint-url", &moto.url(), "--region", "eu-west-1", "rds"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", aws.display()));
    assert!(out.status.success(), "aws rds {args:?}: {}", stderr(&out));
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn describe_enable_policy_against_moto() {
    let Some([_, aws]) = require_or_skip([Tool::Moto, Tool::AwsCli]) else {
        return;
    };
    let moto = MotoServer::start();
    let h = home("", "");
    aws_rds(
        &aws,
        &moto,
        &[
            "create-db-instance",
            "--db-instance-identifier",
            "shop",
            "--engine",
            "mysql",
            "--engine-version",
            "8.0.40",
            "--db-instance-class",
            "db.t3.micro",
            "--master-username",
            "admin",
            "--master-user-password",
            "password123",
            "--allocated-storage",
            "20",
            "--no-enable-iam-database-authentication",
        ],
    );
    let info = json(&run(
        &moto,
        h.path(),
        &["describe", "--db-instance", "shop", "--output", "json"],
    ));
    assert_eq!(info["kind"], "instance");
    assert_eq!(info["iam_auth_enabled"], false);
    let host = info["endpoint"].as_str().unwrap().to_owned();
    let resource = info["resource_id"].as_str().unwrap().to_owned();
    let account = info["account"].as_str().unwrap().to_owned();

    let text = run(&moto, h.path(), &["describe", "--hostname", &host]);
    assert!(
        stdout(&text).contains("IAM auth:         disabled"),
        "{}",
        stdout(&text)
    );

    let enabled = run(
        &moto,
        h.path(),
        &[
            "enable",
            "--hostname",
            &host,
            "--apply-immediately",
            "--wait",
            "--poll-interval",
            "1",
        ],
    );
    assert!(enabled.status.success(), "{}", stderr(&enabled));
    assert!(stderr(&enabled).contains("brief outage"), "{}", stderr(&enabled));
    assert!(
        stdout(&enabled).contains("enabled on instance shop and in effect"),
        "{}",
        stdout(&enabled)
    );
    let again = run(&moto, h.path(), &["enable", "--db-instance", "shop"]);
    assert!(stdout(&again).contains("already enabled"), "{}", stdout(&again));
    assert_eq!(
        json(&run(
            &moto,
            h.path(),
            &["describe", "--hostname", &host, "--output", "json"]
        ))["iam_auth_enabled"],
        true
    );

    let policy = run(
        &moto,
        h.path(),
        &[
            "policy",
            "--hostname",
            &host,
            "--username",
            "app",
            "--role-name",
            "app-role",
        ],
    );
    let out = stdout(&policy);
    let arn = format!("arn:aws:rds-db:eu-west-1:{account}:dbuser:{resource}/app");
    let (document, command) = out.split_once("\n\n").unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(document).unwrap()["Statement"][0]["Resource"],
        arn
    );
    assert!(
        command.contains("aws iam put-role-policy --role-name app-role"),
        "{command}"
    );

    let missing = run(&moto, h.path(), &["describe", "--db-instance", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("DB instance nope was not found in eu-west-1"),
        "{}",
        stderr(&missing)
    );

    // The library says what is wrong; the CLI adds the flag that fixes it.
    let wrong_region = run(
        &moto,
        h.path(),
        &[
            "describe",
            "--hostname",
            "shop.abcdefghijkl.us-east-1.rds.amazonaws.com",
            "--region",
            "eu-west-1",
        ],
    );
    assert_eq!(wrong_region.status.code(), Some(1));
    assert!(
        stderr(&wrong_region).contains(
            "shop.abcdefghijkl.us-east-1.rds.amazonaws.com is in us-east-1, but the RDS client calls eu-west-1; pass \
             --region us-east-1 (or leave --region out)"
        ),
        "{}",
        stderr(&wrong_region)
    );
}

#[test]
fn policy_without_api_access_for_every_partition_and_kind() {
    let h = home("", "");
    for (region, resource, arn) in [
        (
            "us-east-1",
            "db-ABC",
            "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABC/app",
        ),
        (
            "cn-north-1",
            "cluster-ABC",
            "arn:aws-cn:rds-db:cn-north-1:123456789012:dbuser:cluster-ABC/app",
        ),
        (
            "us-gov-west-1",
            "prx-0abc",
            "arn:aws-us-gov:rds-db:us-gov-west-1:123456789012:dbuser:prx-0abc/app",
        ),
    ] {
        let out = rds_iam(
            h.path(),
            &[
                "policy",
                "--resource-id",
                resource,
                "--account",
                "123456789012",
                "--region",
                region,
                "--username",
                "app",
            ],
            &[],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(doc["Statement"][0]["Resource"], arn);
    }
    let not_a_resource_id = rds_iam(
        h.path(),
        &[
            "policy",
            "--resource-id",
            "mydb",
            "--account",
            "123456789012",
            "--region",
            "us-east-1",
            "--username",
            "app",
        ],
        &[],
    );
    assert_eq!(not_a_resource_id.status.code(), Some(1));
    assert!(
        stderr(&not_a_resource_id).contains("the resource id \"mydb\" is not a DB resource id")
            && stderr(&not_a_resource_id).contains("; `rds-iam describe` shows it"),
        "{}",
        stderr(&not_a_resource_id)
    );
}

#[test]
fn create_user_prints_escaped_sql() {
    let h = home("", "");
    let out = rds_iam(
        h.path(),
        &[
            "create-user",
            "--username",
            "o'brien",
            "--engine",
            "mariadb",
            "--grant",
            "SELECT, INSERT ON shop.*",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "CREATE USER 'o''brien'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;\n\
         GRANT SELECT, INSERT ON `shop`.* TO 'o''brien'@'%';\n"
    );
    let bad = rds_iam(
        h.path(),
        &["create-user", "--username", "abcdefghijklmnopqrstuvwxyz0123456"],
        &[],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("the limit is 32"), "{}", stderr(&bad));
    let no_password = rds_iam(
        h.path(),
        &[
            "create-user",
            "--username",
            "u",
            "--execute",
            "--hostname",
            "127.0.0.1",
            "--master-user",
            "admin",
            "--password-env",
            "NOPE",
        ],
        &[],
    );
    assert_eq!(no_password.status.code(), Some(1));
    assert!(stderr(&no_password).contains("NOPE"), "{}", stderr(&no_password));
    let bad_grant = rds_iam(
        h.path(),
        &["create-user", "--username", "u", "--grant", "SELECT (c) ON a.t"],
        &[],
    );
    assert_eq!(bad_grant.status.code(), Some(1));
    assert!(
        stderr(&bad_grant).contains("is not made of words"),
        "{}",
        stderr(&bad_grant)
    );
    // A missing CA bundle is found before anything is dialed; the CLI says how to get one.
    let no_bundle = rds_iam(
        h.path(),
        &[
            "create-user",
            "--username",
            "u",
            "--execute",
            "--hostname",
            "127.0.0.1",
            "--port",
            "9",
            "--master-user",
            "admin",
            "--password-env",
            "MASTER_PW",
            "--ca-bundle",
            "/nonexistent/ca.pem",
        ],
        &[("MASTER_PW", "not-a-real-password")],
    );
    assert_eq!(no_bundle.status.code(), Some(1));
    assert!(
        stderr(&no_bundle).contains(
            "the CA bundle /nonexistent/ca.pem does not exist; download the RDS bundle with `rds-iam ca fetch` or \
             pass --ca-bundle"
        ) && !stderr(&no_bundle).contains("not-a-real-password"),
        "{}",
        stderr(&no_bundle)
    );
}

#[test]
fn admin_help_is_reviewed() {
    let h = home("", "");
    for command in ["describe", "enable", "policy", "create-user", "doctor"] {
        let out = stdout(&rds_iam(h.path(), &[command, "--help"], &[]));
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/it/snapshots/{command}-help.txt"));
        expect_test::expect_file![file].assert_eq(&out);
    }
}

/// The master-password prompt on a real terminal (a pseudo-terminal from Python's `pty`): echo is off while it
/// waits, and Ctrl-C (or SIGTERM) at the prompt ends rds-iam with the terminal's echo back on.
#[test]
fn the_password_prompt_restores_echo_when_interrupted() {
    const DRIVER: &str = r#"
import os, pty, signal, sys, termios, time
binary, sig = sys.argv[1], getattr(signal, sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execv(binary, [binary, "create-user", "--username", "app", "--hostname", "db.example.com",
                      "--master-user", "admin", "--execute"])
seen, deadline = b"", time.time() + 20
while b"password for admin@db.example.com" not in seen and time.time() < deadline:
    seen += os.read(fd, 1024)
time.sleep(0.3)
echo_while_prompting = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
os.kill(pid, sig)
_, status = os.waitpid(pid, 0)
echo_after = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
print(echo_while_prompting, echo_after, code)
"#;
    for (signal, code) in [("SIGINT", 130), ("SIGTERM", 143)] {
        let out = Command::new("python3")
            .args(["-c", DRIVER, env!("CARGO_BIN_EXE_rds-iam"), signal])
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("python3 is needed for the pseudo-terminal test");
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            stdout(&out).trim(),
            format!("False True {code}"),
            "{signal}: echo off while prompting, back on after, exit 128 + signal"
        );
    }
}
