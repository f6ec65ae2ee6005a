//! `credential_process`: real child processes (small shell scripts in a temporary directory).

use std::path::Path;
use std::time::{Duration, SystemTime};

use rds_iam_credentials::{ProfileProvider, ProvideCredentials};

use crate::{assert_no_secret, config_with, invalid};

const SECRET: &str = "processSecretKeyEXAMPLEdoNotLeak";
const TOKEN: &str = "processSessionTokenEXAMPLEdoNotLeak";

/// Writes `script` to `dir/name` and returns the profile config running it with `args`.
fn profile_running(dir: &Path, name: &str, script: &str, args: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, script).unwrap();
    format!("[profile p]\ncredential_process = sh {} {args}\n", path.display())
}

fn provide(config: &str) -> Result<rds_iam_credentials::Credentials, rds_iam_credentials::CredentialsError> {
    ProfileProvider::new(&config_with(&[], config, &[]).with_profile("p")).provide()
}

fn document(fields: &str) -> String {
    format!("cat <<'JSON'\n{{{fields}}}\nJSON\n")
}

#[test]
fn success() {
    let dir = tempfile::tempdir().unwrap();
    let script = document(&format!(
        r#""Version": 1, "AccessKeyId": "ASIAPROCESS", "SecretAccessKey": "{SECRET}", "SessionToken": "{TOKEN}",
           "Expiration": "2030-01-01T00:00:00Z""#
    ));
    let creds = provide(&profile_running(dir.path(), "ok.sh", &script, "--flag")).unwrap();
    assert_eq!(creds.access_key_id(), "ASIAPROCESS");
    assert_eq!(creds.secret_access_key().expose(), SECRET);
    assert_eq!(creds.session_token().unwrap().expose(), TOKEN);
    assert_eq!(
        creds.expiry(),
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000))
    );
    assert_eq!(creds.source(), Some("profile p"));

    // Long-term keys: no token, no expiry.
    let script = document(&format!(
        r#""Version": 1, "AccessKeyId": "AKIAPROCESS", "SecretAccessKey": "{SECRET}""#
    ));
    let creds = provide(&profile_running(dir.path(), "long.sh", &script, "")).unwrap();
    assert_eq!((creds.session_token(), creds.expiry()), (None, None));
}

#[test]
fn failures_are_explained_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let leaky_stdout = format!("echo '{SECRET}'; ");
    let cases: [(&str, String, &str); 8] = [
        (
            "exit.sh",
            format!("{leaky_stdout}echo 'token expired, run sso login' >&2; exit 3"),
            "failed (exit status: 3); error output: token expired, run sso login",
        ),
        ("silent.sh", "exit 1".into(), "failed (exit status: 1); no error output"),
        (
            // A tool that prints its credentials, then fails naming them (and its arguments) on stderr.
            "echoes.sh",
            format!("{leaky_stdout}echo \"rejected {SECRET} with $2\" >&2; exit 2"),
            "failed (exit status: 2); error output: rejected <redacted> with <redacted>",
        ),
        (
            "garbage.sh",
            format!("echo 'AccessKeyId={SECRET}'"),
            "printed something that is not JSON (",
        ),
        (
            "version.sh",
            document(&format!(
                r#""Version": 2, "AccessKeyId": "A", "SecretAccessKey": "{SECRET}""#
            )),
            "printed Version 2; only Version 1 is supported",
        ),
        (
            "nokey.sh",
            document(&format!(r#""Version": 1, "SecretAccessKey": "{SECRET}""#)),
            "printed no AccessKeyId",
        ),
        (
            "nosecret.sh",
            document(r#""Version": 1, "AccessKeyId": "AKIAPROCESS""#),
            "printed no SecretAccessKey",
        ),
        (
            "expired.sh",
            document(&format!(
                r#""Version": 1, "AccessKeyId": "A", "SecretAccessKey": "{SECRET}", "SessionToken": "{TOKEN}",
                   "Expiration": "2023-12-31T00:00:00Z""#
            )),
            "printed credentials that expired at 2023-12-31T00:00:00Z; check the command (or the system clock)",
        ),
    ];
    for (name, script, expected) in cases {
        let config = profile_running(dir.path(), name, &script, "--password hunter2");
        let result = provide(&config);
        assert_no_secret(result.as_ref().unwrap_err(), &[SECRET, TOKEN, "hunter2"]);
        let message = invalid(result);
        assert!(
            message.starts_with("profile p: credential_process `sh …` "),
            "{name}: {message}"
        );
        assert!(message.contains(expected), "{name}: {message}");
    }
}

#[test]
fn missing_program() {
    let config = "[profile p]\ncredential_process = /nonexistent/rds-iam-test-tool --secret hunter2\n";
    let result = provide(config);
    assert_no_secret(result.as_ref().unwrap_err(), &["hunter2"]);
    let message = invalid(result);
    assert!(
        message
            .starts_with("profile p: credential_process `/nonexistent/rds-iam-test-tool …` failed (exit status: 127)"),
        "{message}"
    );
}
