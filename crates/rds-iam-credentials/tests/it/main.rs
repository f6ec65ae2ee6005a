//! Integration tests of the credential sources, one module per source (one test binary keeps link time down).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed; the panic says where

mod process;
mod profile_chain;
mod sso;
mod sts;

use std::time::{Duration, SystemTime};

use rds_iam_credentials::{Clock, CredentialsError, Env, Fs, ProviderConfig};

/// 2024-01-02T03:04:05Z: a fixed "now" for tests that check dates.
pub(crate) fn fixed_now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_164_645)
}

/// `vars` plus `HOME=/h`, the files `/h/.aws/config` = `config` and `extra`, and a manual clock at [`fixed_now`].
pub(crate) fn config_with(vars: &[(&str, &str)], config: &str, extra: &[(&str, &str)]) -> ProviderConfig {
    let mut all = vec![("HOME", "/h")];
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
        Err(err @ CredentialsError::Invalid { .. }) => err.to_string(),
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}
