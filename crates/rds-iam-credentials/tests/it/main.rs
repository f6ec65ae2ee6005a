//! Integration tests of the credential sources against loopback fakes (rds-iam-testkit) and moto, one module per
//! source (one test binary keeps link time down).
#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed; the panic says where"
)]

mod cache;
mod ecs;
mod home;
mod imds;
mod process;
mod profile_chain;
mod sso;
mod sts;

use std::time::{Duration, SystemTime};

use rds_iam_credentials::{Clock, CredentialsError, Env, Fs, HttpSettings, ProviderConfig};

/// AWS's documented example keys, and a session token; none may appear in an error.
const KEY: &str = "ASIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SESSION: &str = "IQoJb3JpZ2luX2VjSESSIONTOKENEXAMPLE";
const EXPIRATION: &str = "2030-01-02T03:04:05Z";
/// `EXPIRATION` in seconds since the epoch.
const EXPIRATION_SECS: u64 = 1_893_553_445;

/// Asserts that `creds` are exactly the shared test key, secret, session token and expiry.
#[track_caller]
fn assert_test_credentials(creds: &rds_iam_credentials::Credentials) {
    assert_eq!(creds.access_key_id(), KEY);
    assert_eq!(creds.secret_access_key().expose(), SECRET);
    assert_eq!(creds.session_token().unwrap().expose(), SESSION);
    assert_eq!(
        creds.expiry(),
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(EXPIRATION_SECS))
    );
}

/// Metadata HTTP settings with a short timeout, for tests of hangs that are not about the default timeout.
fn quick_http() -> HttpSettings {
    let mut settings = HttpSettings::metadata();
    settings.timeout = Duration::from_millis(300);
    settings.connect_timeout = Duration::from_millis(300);
    settings
}

/// Fails if `err` shows any of `secrets` (or the shared test secrets) in its `Display` or `Debug`.
fn assert_no_secrets(err: &CredentialsError, secrets: &[&str]) {
    let shown = format!("{err} | {err:?}");
    for secret in [SECRET, SESSION].iter().chain(secrets) {
        assert!(!shown.contains(secret), "a secret leaked into an error: {shown}");
    }
}

/// 2024-01-02T03:04:05Z: a fixed "now" for tests that check dates.
pub(crate) fn fixed_now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_164_645)
}

/// `vars` plus `HOME=/h` and a closed IMDS endpoint, the files `/h/.aws/config` = `config` and `extra`, and a manual clock at [`fixed_now`].
pub(crate) fn config_with(vars: &[(&str, &str)], config: &str, extra: &[(&str, &str)]) -> ProviderConfig {
    // A closed loopback port: a chain that reaches IMDS must never leave the machine.
    let mut all = vec![
        ("HOME", "/h"),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9"),
    ];
    all.extend_from_slice(vars);
    let mut files = vec![("/h/.aws/config", config)];
    files.extend_from_slice(extra);
    ProviderConfig::new(Env::from_vars(all), Fs::from_files(files)).with_clock(Clock::manual(fixed_now()))
}

/// Fails if any of `secrets` shows in the error's `Display` or `Debug`.
pub(crate) fn assert_no_secret(err: &CredentialsError, secrets: &[&str]) {
    let shown = format!("{err} {err:?} {err:#?}");
    for secret in secrets {
        assert!(!shown.contains(secret), "{secret:?} leaked into {shown}");
    }
}

/// The `Display` of an `Invalid` error (panics on any other outcome).
pub(crate) fn invalid<T: std::fmt::Debug>(result: Result<T, CredentialsError>) -> String {
    match result {
        Err(err @ (CredentialsError::InvalidConfiguration { .. } | CredentialsError::ProviderError { .. })) => {
            err.to_string()
        }
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}
