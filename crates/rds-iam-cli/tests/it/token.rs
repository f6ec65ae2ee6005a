//! `rds-iam token` and `rds-iam token inspect`.

use expect_test::expect_file;
use rds_iam_token::decode;

use super::*;

const HOST: &str = "mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com";
const ENV_CREDS: [(&str, &str); 2] = [("AWS_ACCESS_KEY_ID", KEY), ("AWS_SECRET_ACCESS_KEY", SECRET)];

#[track_caller]
fn assert_fails(out: &Output, code: i32, expected: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(stdout(out).is_empty(), "stdout: {}", stdout(out));
    for part in expected {
        assert!(err.contains(part), "expected {part:?} in: {err}");
    }
}

#[test]
fn prints_a_token_signed_for_the_hostname_region() {
    let h = home("", "");
    let out = rds_iam(
        h.path(),
        &["token", "--hostname", HOST, "--username", "app"],
        &ENV_CREDS,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.ends_with('\n') && text.lines().count() == 1, "{text:?}");
    let token = decode(text.trim()).unwrap();
    assert_eq!(
        (token.host.as_str(), token.port, token.user.as_str()),
        (HOST, 3306, "app")
    );
    assert_eq!(
        (token.region.as_str(), token.access_key_id.as_str()),
        ("eu-west-1", KEY)
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn aws_cli_flag_names_and_aliases() {
    let h = home("", "");
    for args in [
        &[
            "generate-db-auth-token",
            "--hostname",
            HOST,
            "--port",
            "3307",
            "--username",
            "app",
            "--region",
            "eu-west-1",
        ][..],
        &["token", "--host", HOST, "--port", "3307", "--user", "app"][..],
    ] {
        let out = rds_iam(h.path(), args, &ENV_CREDS);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(decode(stdout(&out).trim()).unwrap().port, 3307);
    }
}

#[test]
fn session_token_and_shorter_lifetime() {
    let h = home("", "");
    let vars = [ENV_CREDS[0], ENV_CREDS[1], ("AWS_SESSION_TOKEN", SESSION)];
    let out = rds_iam(
        h.path(),
        &["token", "--hostname", HOST, "--username", "app", "--expires-in", "60"],
        &vars,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let token = decode(stdout(&out).trim()).unwrap();
    assert!(token.has_session_token);
    assert_eq!(token.expires_in.as_secs(), 60);
}

#[test]
fn region_precedence_and_mismatch_warning() {
    let h = home("", "[default]\nregion = ap-south-1\n");
    let region_of = |args: &[&str], extra: &[(&str, &str)]| {
        let mut vars = ENV_CREDS.to_vec();
        vars.extend_from_slice(extra);
        let out = rds_iam(h.path(), &[&["token", "--username", "u"], args].concat(), &vars);
        assert!(out.status.success(), "{}", stderr(&out));
        (decode(stdout(&out).trim()).unwrap().region, stderr(&out))
    };
    // The hostname beats configuration.
    assert_eq!(
        region_of(&["--hostname", HOST], &[("AWS_REGION", "us-east-1")]).0,
        "eu-west-1"
    );
    // Unknown names: AWS_REGION > AWS_DEFAULT_REGION > profile region.
    let local = ["--hostname", "db.internal.example"];
    assert_eq!(
        region_of(
            &local,
            &[("AWS_REGION", "us-east-2"), ("AWS_DEFAULT_REGION", "us-west-1")]
        )
        .0,
        "us-east-2"
    );
    assert_eq!(region_of(&local, &[("AWS_DEFAULT_REGION", "us-west-1")]).0, "us-west-1");
    assert_eq!(region_of(&local, &[]).0, "ap-south-1");
    // An explicit region wins, with a warning when it disagrees with the hostname.
    let (region, warning) = region_of(&["--hostname", HOST, "--region", "us-east-1"], &[]);
    assert_eq!(region, "us-east-1");
    assert!(
        warning.contains("warning: --region us-east-1 differs from the region in the hostname (eu-west-1)"),
        "{warning}"
    );
}

#[test]
fn credentials_from_profiles() {
    let creds = format!(
        "[default]\naws_access_key_id = AKIADEFAULTEXAMPLE\naws_secret_access_key = {SECRET}\n\
         [dev]\naws_access_key_id = AKIADEVEXAMPLE\naws_secret_access_key = {SECRET}\naws_session_token = {SESSION}\n"
    );
    let h = home(&creds, "[profile other]\nregion = eu-west-1\n");
    let key_of = |args: &[&str], vars: &[(&str, &str)]| {
        let out = rds_iam(
            h.path(),
            &[&["token", "--hostname", HOST, "--username", "u"], args].concat(),
            vars,
        );
        assert!(out.status.success(), "{}", stderr(&out));
        decode(stdout(&out).trim()).unwrap().access_key_id
    };
    assert_eq!(key_of(&[], &[]), "AKIADEFAULTEXAMPLE");
    assert_eq!(key_of(&[], &[("AWS_PROFILE", "dev")]), "AKIADEVEXAMPLE");
    assert_eq!(key_of(&["--profile", "dev"], &ENV_CREDS), "AKIADEVEXAMPLE");
    assert_eq!(key_of(&[], &ENV_CREDS), KEY);

    let out = rds_iam(
        h.path(),
        &["token", "--hostname", HOST, "--username", "u", "--profile", "nope"],
        &[],
    );
    assert_fails(
        &out,
        1,
        &["\"nope\" was not found", "profiles there: default, dev, other"],
    );
}

#[test]
fn no_credentials_lists_where_it_looked() {
    let h = home("", "");
    let out = rds_iam(h.path(), &["token", "--hostname", HOST, "--username", "u"], &[]);
    assert_fails(
        &out,
        1,
        &[
            "no AWS credentials found",
            "environment variables",
            "profile default",
            "aws configure",
        ],
    );
}

#[test]
fn input_errors_exit_1_and_say_what_to_do() {
    let h = home("", "");
    let cases: [(&[&str], &[&str]); 9] = [
        (
            &["--hostname", "db.internal.example", "--username", "u"],
            &["no region", "--region"],
        ),
        (&["--hostname", HOST, "--username", ""], &["user name is empty"]),
        (
            &["--hostname", HOST, "--username", "u", "--port", "0"],
            &["--port \"0\"", "1 to 65535"],
        ),
        (
            &["--hostname", HOST, "--username", "u", "--port", "mysql"],
            &["not a port"],
        ),
        (
            &["--hostname", &format!("https://{HOST}"), "--username", "u"],
            &["contains a scheme", "without `https://`"],
        ),
        (
            &["--hostname", &format!("{HOST}:3306"), "--username", "u"],
            &["contains a port", "--port 3306"],
        ),
        (
            &["--hostname", HOST, "--username", "u", "--expires-in", "901"],
            &["1 to 900 seconds", "not 901"],
        ),
        (
            &["--hostname", "10.1.2.3", "--username", "u"],
            &["IP address", "--signing-host"],
        ),
        (
            &["--hostname", HOST, "--username", "u", "--region", "mars"],
            &["\"mars\" is not an AWS region"],
        ),
    ];
    for (args, expected) in cases {
        let out = rds_iam(h.path(), &[&["token"], args].concat(), &ENV_CREDS);
        assert_fails(&out, 1, expected);
    }
}

#[test]
fn signing_host_for_tunnels() {
    let h = home("", "");
    let args = [
        "token",
        "--hostname",
        "127.0.0.1",
        "--port",
        "13306",
        "--signing-host",
        HOST,
        "--username",
        "u",
    ];
    let out = rds_iam(h.path(), &args, &ENV_CREDS);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = decode(stdout(&out).trim()).unwrap();
    assert_eq!(
        (token.host.as_str(), token.port, token.region.as_str()),
        (HOST, 13306, "eu-west-1")
    );
}

#[test]
fn usage_errors_exit_2() {
    let h = home("", "");
    assert_eq!(
        rds_iam(h.path(), &["token", "--username", "u"], &[]).status.code(),
        Some(2)
    );
    assert_eq!(
        rds_iam(h.path(), &["token", "--hostname", HOST, "--bogus"], &[])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(rds_iam(h.path(), &[], &[]).status.code(), Some(2));
}

#[test]
fn inspect_text_json_and_stdin() {
    let h = home("", "");
    let token = "mydb.c1a2b3c4d5e6.us-west-2.rds.amazonaws.com:3307/?Action=connect&DBUser=a%2Bb\
        &X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20190101%2Fus-west-2%2Frds-db%2Faws4_request\
        &X-Amz-Date=20190101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
        &X-Amz-Signature=5f0e3c9a7d2b4e6f8a1c0b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f";
    let out = rds_iam(h.path(), &["token", "inspect", token], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A token on the command line is in the process table: said, without repeating the token.
    assert!(
        stderr(&out).contains("warning: a token given as an argument is visible"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("X-Amz-Signature"), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "host:          mydb.c1a2b3c4d5e6.us-west-2.rds.amazonaws.com",
        "port:          3307",
        "endpoint kind: instance",
        "user:          a+b",
        "region:        us-west-2",
        "access key id: AKIAIOSFODNN7EXAMPLE",
        "session token: no",
        "signed at:     2019-01-01T00:00:00Z",
        "lifetime:      15m 0s",
        "expires at:    2019-01-01T00:15:00Z (expired ",
    ] {
        assert!(text.contains(line), "expected {line:?} in:\n{text}");
    }
    assert!(!text.contains("5f0e3c9a7d2b"), "the signature is not shown");

    let out = rds_iam(h.path(), &["token", "inspect", "--output", "json", token], &[]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["user"], "a+b");
    assert_eq!(json["expired"], true);
    assert_eq!(json["expires_at"], "2019-01-01T00:15:00Z");
    assert_eq!(json["session_token"], false);

    // A fresh token, piped in: not expired.
    let fresh = rds_iam(h.path(), &["token", "--hostname", HOST, "--username", "u"], &ENV_CREDS);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rds-iam"))
        .args(["token", "inspect", "-"])
        .env_clear()
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &fresh.stdout).unwrap();
    let text = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    assert!(
        text.contains("(expires in 1") || text.contains("(expires in 9"),
        "{text}"
    );
}

#[test]
fn inspect_rejects_malformed_tokens() {
    let h = home("", "");
    let out = rds_iam(h.path(), &["token", "inspect", "not-a-token"], &[]);
    assert_fails(&out, 1, &["not an RDS IAM auth token"]);
}

#[test]
fn no_secret_in_any_output_even_with_trace_logging() {
    let h = home("", "");
    let vars = [
        ENV_CREDS[0],
        ENV_CREDS[1],
        ("AWS_SESSION_TOKEN", SESSION),
        ("RUST_LOG", "trace"),
    ];
    let out = rds_iam(h.path(), &["token", "--hostname", HOST, "--username", "u"], &vars);
    assert!(out.status.success(), "{}", stderr(&out));
    let signature = decode_signature(&stdout(&out));
    let err = stderr(&out);
    assert!(
        !err.is_empty(),
        "trace logging produced nothing: is the subscriber installed?"
    );
    for secret in [SECRET, SESSION, "IQoJb3JpZ2luX2Vj", &signature] {
        assert!(!err.contains(secret), "stderr leaks {secret:?}:\n{err}");
    }
}

fn decode_signature(token: &str) -> String {
    token
        .trim()
        .rsplit_once("X-Amz-Signature=")
        .map(|(_, s)| s.to_owned())
        .unwrap()
}

#[test]
fn help_is_reviewed() {
    let h = home("", "");
    expect_file!["snapshots/help.txt"].assert_eq(&stdout(&rds_iam(h.path(), &["--help"], &[])));
    expect_file!["snapshots/token-help.txt"].assert_eq(&stdout(&rds_iam(h.path(), &["token", "--help"], &[])));
}
