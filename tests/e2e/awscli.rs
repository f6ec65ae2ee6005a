//! `rds-iam token` against `aws rds generate-db-auth-token`, both as processes at the same frozen time.

use std::process::Command;

use rds_iam_e2e::{aws_cli, faketime, rds_iam_bin};
use rds_iam_testkit::{Tool, require_or_skip};

/// CLI arguments and the environment to run them with.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

const FROZEN: &str = "2024-05-06 07:08:09";

/// Runs `program args…` under faketime with only the given credentials in the environment.
fn frozen(program: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(faketime())
        .args(["-f", FROZEN])
        .arg(program)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TZ", "UTC")
        .env("HOME", "/nonexistent")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .output()
        .expect("run under faketime");
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn cli_output_equals_aws_cli() {
    let Some([_, _]) = require_or_skip([Tool::Faketime, Tool::AwsCli]) else {
        return;
    };
    let long_term = [
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ];
    let temporary = [
        ("AWS_ACCESS_KEY_ID", "ASIAIOSFODNN7EXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        (
            "AWS_SESSION_TOKEN",
            "IQoJb3JpZ2luX2VjEXAMPLE+/=tokenvalueFwoGZXIvYXdzEBYaDEXAMPLE//+==",
        ),
    ];
    let cases: [Case<'_>; 6] = [
        (
            &[
                "--hostname",
                "mydb.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com",
                "--port",
                "3306",
                "--username",
                "app",
                "--region",
                "us-east-1",
            ],
            &long_term,
        ),
        (
            &[
                "--hostname",
                "c.cluster-c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com",
                "--port",
                "3306",
                "--username",
                "a+b@c d/ユ",
                "--region",
                "eu-west-1",
            ],
            &temporary,
        ),
        (
            &[
                "--hostname",
                "mydb.c1a2b3c4d5e6.rds.cn-north-1.amazonaws.com.cn",
                "--port",
                "13306",
                "--username",
                "cn_user",
                "--region",
                "cn-north-1",
            ],
            &temporary,
        ),
        (
            &[
                "--hostname",
                "g.cluster-ro-c1a2b3c4d5e6.us-gov-west-1.rds.amazonaws.com",
                "--port",
                "443",
                "--username",
                "gov",
                "--region",
                "us-gov-west-1",
            ],
            &long_term,
        ),
        (
            &[
                "--hostname",
                "MyDB.C1A2B3.ap-northeast-1.rds.amazonaws.com",
                "--port",
                "3306",
                "--username",
                "x",
                "--region",
                "ap-northeast-1",
            ],
            &long_term,
        ),
        // No --region: the AWS CLI uses AWS_DEFAULT_REGION; rds-iam reads the same region from the hostname.
        (
            &[
                "--hostname",
                "p.proxy-c1a2b3c4d5e6.sa-east-1.rds.amazonaws.com",
                "--port",
                "3306",
                "--username",
                "proxy_user",
            ],
            &long_term,
        ),
    ];
    for (args, creds) in cases {
        let mut env = creds.to_vec();
        env.push(("AWS_DEFAULT_REGION", "sa-east-1"));
        let ours = frozen(&rds_iam_bin(), &[&["token"], args].concat(), &env);
        let theirs = frozen(&aws_cli(), &[&["rds", "generate-db-auth-token"], args].concat(), &env);
        assert!(
            theirs.contains("X-Amz-Date=20240506T070809Z"),
            "faketime did not apply to the AWS CLI: {theirs}"
        );
        assert_eq!(ours, theirs, "for {args:?}");
    }
}
