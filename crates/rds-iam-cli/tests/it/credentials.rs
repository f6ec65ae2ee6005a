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
