//! `rds-iam doctor` against the RDS-like MariaDB (testkit's [`MariaDb`]) and moto (STS and the RDS API): every
//! check passes on a good setup, and each broken setup gives its own FAIL and, on a refused login, the matching
//! cause first. The DB is reached as through a tunnel: dial `localhost`, sign for (and check the certificate
//! against) the endpoint name moto gives the instance.

use std::path::Path;
use std::process::{Command, Output};

use rds_iam_e2e::{aws_cli, faketime, pam_check_bin, rds_iam_bin};
use rds_iam_testkit::{
    MariaDb, MariaDbOptions, MotoServer, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, TestPki, Tool, require_or_skip,
};
use serde_json::Value;

const REGION: &str = "us-east-1";

/// The common environment: the test key pair, moto for STS and RDS, no IMDS, a temporary HOME.
fn command(program: &Path, home: &Path, moto: &MotoServer) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY)
        .env("AWS_ENDPOINT_URL_RDS", moto.url())
        .env("AWS_ENDPOINT_URL_STS", moto.url())
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// Creates the instance in moto with IAM auth on; returns its endpoint address.
fn create_instance(home: &Path, moto: &MotoServer, id: &str) -> String {
    let out = command(&aws_cli(), home, moto)
        .args(["rds", "create-db-instance", "--db-instance-identifier", id])
        .args([
            "--engine",
            "mariadb",
            "--engine-version",
            "10.11.6",
            "--db-instance-class",
            "db.t3.micro",
        ])
        .args(["--master-username", "admin", "--master-user-password", "password123"])
        .args(["--allocated-storage", "20", "--enable-iam-database-authentication"])
        .args(["--region", REGION, "--endpoint-url", &moto.url(), "--output", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    created["DBInstance"]["Endpoint"]["Address"]
        .as_str()
        .unwrap_or_else(|| panic!("no endpoint in {created}"))
        .to_owned()
}

/// `doctor` dialing the server on loopback, signing for (and checking the certificate against) `signing_host`.
fn tunnel<'a>(port: &'a str, signing_host: &'a str) -> Vec<&'a str> {
    vec![
        "doctor",
        "--hostname",
        "localhost",
        "--port",
        port,
        "--signing-host",
        signing_host,
    ]
}

struct Doctor {
    status: Option<i32>,
    report: Value,
    stderr: String,
}

impl Doctor {
    fn check(&self, name: &str) -> &Value {
        self.report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name} in {:#}", self.report))
    }

    fn status(&self, name: &str) -> &str {
        self.check(name)["status"].as_str().unwrap()
    }

    fn summary(&self, name: &str) -> &str {
        self.check(name)["summary"].as_str().unwrap()
    }

    fn first_cause(&self) -> &str {
        self.report["causes"][0]
            .as_str()
            .unwrap_or_else(|| panic!("no causes in {:#}", self.report))
    }

    fn failed(&self) -> Vec<&str> {
        self.report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "fail")
            .map(|c| c["name"].as_str().unwrap())
            .collect()
    }
}

fn parse(out: &Output) -> Doctor {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor printed no JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    Doctor {
        status: out.status.code(),
        report,
        stderr,
    }
}

#[test]
fn doctor_passes_a_good_setup_and_names_what_is_broken() {
    let Some([_, _, _, _]) = require_or_skip([Tool::MariaDb, Tool::Moto, Tool::Faketime, Tool::AwsCli]) else {
        return;
    };
    let moto = MotoServer::start();
    let home = tempfile::tempdir().unwrap();
    let endpoint = create_instance(home.path(), &moto, "mydb");
    assert!(endpoint.ends_with(".us-east-1.rds.amazonaws.com"), "{endpoint}");
    let server = MariaDb::start(
        MariaDbOptions::new(pam_check_bin())
            .signing_host(&endpoint)
            .signing_port(3306),
    )
    .unwrap_or_else(|e| panic!("MariaDB: {e}"));
    server.create_iam_user("iam_app").unwrap();
    let port = server.port().to_string();
    let ca = server.ca_path().display().to_string();
    // Through a tunnel: the token names the DB's own port, the certificate is checked against the endpoint name.
    let mut good = tunnel(&port, &endpoint);
    good.extend(["--signing-port", "3306", "--danger-skip-hostname-check"]);
    let doctor = |extra: &[&str], faked: Option<&str>| {
        let mut cmd = match faked {
            Some(offset) => {
                let mut cmd = command(Path::new(faketime()), home.path(), &moto);
                cmd.args(["-f", offset]).arg(rds_iam_bin());
                cmd
            }
            None => command(&rds_iam_bin(), home.path(), &moto),
        };
        let mut args = good.to_vec();
        for (flag, default) in [("--username", "iam_app"), ("--ca-bundle", ca.as_str())] {
            if !extra.contains(&flag) {
                args.extend([flag, default]);
            }
        }
        args.extend(extra);
        args.extend(["--output", "json"]);
        parse(&cmd.args(&args).output().unwrap())
    };

    // A good setup: every check passes, the login included (the policy is information), and the exit code is 0.
    let ok = doctor(&[], None);
    let statuses: Vec<(&str, &str)> = ok.report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    let names = [
        "credentials",
        "region",
        "clock",
        "token",
        "dns",
        "tcp",
        "tls",
        "rds-api",
        "policy",
        "login",
    ];
    assert_eq!(
        statuses,
        names
            .iter()
            .map(|n| (*n, if *n == "policy" { "info" } else { "pass" }))
            .collect::<Vec<_>>(),
        "{:#}\n{}",
        ok.report,
        ok.stderr
    );
    assert_eq!(ok.status, Some(0));
    assert_eq!(ok.report["ok"], true);
    assert!(ok.summary("login").contains("iam_app@%"), "{}", ok.summary("login"));
    assert!(
        ok.summary("rds-api").contains("resource id db-"),
        "{}",
        ok.summary("rds-api")
    );
    assert!(
        ok.summary("policy").contains(":dbuser:db-") && ok.summary("policy").contains("/iam_app"),
        "{}",
        ok.summary("policy")
    );
    assert!(ok.summary("tls").contains(&endpoint), "{}", ok.summary("tls"));
    assert!(
        ok.summary("token").contains(&format!("{endpoint}:3306")),
        "{}",
        ok.summary("token")
    );

    // The same as text: one line per check, and the verdict.
    let text = command(&rds_iam_bin(), home.path(), &moto)
        .args(&good)
        .args(["--username", "iam_app", "--ca-bundle", &ca])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(" 1. PASS credentials") && text.contains("All checks passed."),
        "{text}"
    );

    // Wrong region: the region check fails, and it is the first cause of the refusal.
    let wrong_region = doctor(&["--region", "eu-west-1"], None);
    assert_eq!(wrong_region.status, Some(1));
    assert_eq!(wrong_region.status("region"), "fail", "{:#}", wrong_region.report);
    assert_eq!(wrong_region.status("login"), "fail", "{:#}", wrong_region.report);
    assert!(
        wrong_region.first_cause().starts_with("wrong region"),
        "{}",
        wrong_region.first_cause()
    );

    // The user does not exist: only the login fails, and the user comes first.
    let no_user = doctor(&["--username", "nobody"], None);
    assert_eq!(no_user.failed(), ["login"], "{:#}", no_user.report);
    assert!(
        no_user.summary("login").contains("1045"),
        "{}",
        no_user.summary("login")
    );
    assert!(
        no_user.first_cause().starts_with("the DB user: `nobody`"),
        "{}",
        no_user.first_cause()
    );

    // A bundle without the server's root: TLS fails and the token is not sent.
    let other = tempfile::tempdir().unwrap();
    let other_ca = TestPki::generate(&["localhost"]).write_to(other.path()).unwrap().ca;
    let wrong_ca = doctor(&["--ca-bundle", other_ca.to_str().unwrap()], None);
    assert_eq!(wrong_ca.failed(), ["tls"], "{:#}", wrong_ca.report);
    assert!(
        wrong_ca.summary("tls").contains("not issued by a CA in"),
        "{}",
        wrong_ca.summary("tls")
    );
    assert_eq!(wrong_ca.status("login"), "skip");

    // A certificate for another name (no waiver): TLS fails with the names it is valid for.
    let mut other_name = tunnel(&port, "db.example.internal");
    other_name.extend([
        "--region",
        REGION,
        "--ca-bundle",
        &ca,
        "--username",
        "iam_app",
        "--output",
        "json",
    ]);
    let mismatch = parse(
        &command(&rds_iam_bin(), home.path(), &moto)
            .args(&other_name)
            .output()
            .unwrap(),
    );
    assert_eq!(mismatch.status("tls"), "fail", "{:#}", mismatch.report);
    assert!(
        mismatch.summary("tls").contains("not valid for db.example.internal"),
        "{}",
        mismatch.summary("tls")
    );
    assert!(mismatch.check("tls")["evidence"].to_string().contains(&endpoint));

    // A clock 20 minutes slow: the clock check fails against STS's Date header, and it is the first cause.
    let slow = doctor(&[], Some("-20m"));
    assert_eq!(slow.status("clock"), "fail", "{:#}", slow.report);
    assert!(slow.summary("clock").contains("behind"), "{}", slow.summary("clock"));
    assert_eq!(slow.status("login"), "fail", "{:#}", slow.report);
    assert!(slow.first_cause().starts_with("clock"), "{}", slow.first_cause());
    let reasons: Vec<_> = server
        .attempts()
        .into_iter()
        .filter_map(|a| a.outcome.reason().map(str::to_owned))
        .collect();
    assert!(reasons.iter().any(|r| r == "expired"), "{reasons:?}");

    // Expired credentials from a credential_process: the credentials check fails and nothing is signed.
    let config = home.path().join("config");
    std::fs::write(
        &config,
        "[profile stale]\ncredential_process = printf '{\"Version\":1,\"AccessKeyId\":\"ASIAEXPIRED\",\
         \"SecretAccessKey\":\"s3cr3t\",\"SessionToken\":\"t0k3n\",\"Expiration\":\"2020-01-01T00:00:00Z\"}'\n",
    )
    .unwrap();
    let out = command(&rds_iam_bin(), home.path(), &moto)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", &config)
        .args(&good)
        .args([
            "--username",
            "iam_app",
            "--ca-bundle",
            &ca,
            "--profile",
            "stale",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    let stale = parse(&out);
    assert_eq!(stale.status, Some(1));
    assert_eq!(stale.status("credentials"), "fail", "{:#}", stale.report);
    assert!(
        stale.summary("credentials").contains("expired"),
        "{}",
        stale.summary("credentials")
    );
    assert_eq!(stale.status("token"), "skip");
    assert_eq!(stale.status("login"), "skip");
    assert!(!stale.report.to_string().contains("s3cr3t") && !stale.report.to_string().contains("t0k3n"));
}
