//! `rds-iam credentials`.

use super::*;

const VARS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", KEY),
    ("AWS_SECRET_ACCESS_KEY", SECRET),
    ("AWS_SESSION_TOKEN", SESSION),
];

#[test]
fn text_shows_source_and_key_but_no_secret() {
    let h = home("", "");
    let out = rds_iam(h.path(), &["credentials"], &VARS);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("source:        environment\n"), "{text}");
    assert!(text.contains(&format!("access key id: {KEY}\n")), "{text}");
    assert!(text.contains("session token: yes\n"), "{text}");
    assert!(text.contains("expires:       never"), "{text}");
    assert!(!text.contains(SECRET) && !text.contains(SESSION), "{text}");
}

#[test]
fn process_and_env_formats_export_the_credentials() {
    let h = home(
        &format!("[p]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n"),
        "",
    );
    let out = rds_iam(h.path(), &["credentials", "--profile", "p", "--format", "process"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"Version": 1, "AccessKeyId": KEY, "SecretAccessKey": SECRET})
    );

    let out = rds_iam(h.path(), &["credentials", "--format", "env"], &VARS);
    assert_eq!(
        stdout(&out),
        format!(
            "export AWS_ACCESS_KEY_ID={KEY}\nexport AWS_SECRET_ACCESS_KEY={SECRET}\nexport AWS_SESSION_TOKEN={SESSION}\n"
        )
    );
}

#[test]
fn no_credentials_is_exit_1() {
    let h = home("", "");
    let out = rds_iam(h.path(), &["credentials"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no AWS credentials found"), "{}", stderr(&out));
}

#[test]
fn trace_logs_show_no_secret_from_any_source() {
    let process = format!(
        "[profile proc]\ncredential_process = printf '{{\"Version\":1,\"AccessKeyId\":\"ASIAPROC\",\"SecretAccessKey\":\"{SECRET}\",\"SessionToken\":\"{SESSION}\"}}'\n"
    );
    let h = home("", &process);
    for (args, vars) in [
        (&["credentials", "--profile", "proc"][..], &[("RUST_LOG", "trace")][..]),
        (
            &["credentials"][..],
            &[VARS[0], VARS[1], VARS[2], ("RUST_LOG", "trace")][..],
        ),
        (
            &[
                "token",
                "--profile",
                "proc",
                "--hostname",
                "db.abc.us-east-1.rds.amazonaws.com",
                "--username",
                "u",
            ][..],
            &[("RUST_LOG", "trace")][..],
        ),
    ] {
        let out = rds_iam(h.path(), args, vars);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(!err.is_empty(), "{args:?}: trace logging produced nothing");
        for secret in [SECRET, SESSION] {
            assert!(!err.contains(secret), "{args:?} logged {secret}:\n{err}");
        }
        if args[0] == "credentials" {
            assert!(!stdout(&out).contains(SECRET), "text output shows the secret key");
        }
    }
}

#[test]
fn malformed_profile_file_names_file_and_line() {
    let h = home("", "[default]\nregion = eu-west-1\nthis line is not a property\n");
    let out = rds_iam(h.path(), &["credentials"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(".aws/config line 3"), "{err}");
}
