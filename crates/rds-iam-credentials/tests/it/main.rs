//! Integration tests of the credential providers against loopback fakes (rds-iam-testkit).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed; the panic says where

mod cache;
mod ecs;
mod imds;

use std::time::Duration;

use rds_iam_credentials::{CredentialsError, HttpSettings};

/// AWS's documented example keys, and a session token; none may appear in an error.
const KEY: &str = "ASIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SESSION: &str = "IQoJb3JpZ2luX2VjSESSIONTOKENEXAMPLE";
const EXPIRATION: &str = "2030-01-02T03:04:05Z";
/// `EXPIRATION` in seconds since the epoch.
const EXPIRATION_SECS: u64 = 1_893_553_445;

/// Metadata HTTP settings with a short timeout, for tests of hangs that are not about the default timeout.
fn quick_http() -> HttpSettings {
    let mut settings = HttpSettings::metadata();
    settings.timeout = Duration::from_millis(300);
    settings.connect_timeout = Duration::from_millis(300);
    settings
}

/// Fails if `err` shows any of `secrets` in its `Display` or `Debug`.
fn assert_no_secrets(err: &CredentialsError, secrets: &[&str]) {
    let shown = format!("{err} | {err:?}");
    for secret in [SECRET, SESSION].iter().chain(secrets) {
        assert!(!shown.contains(secret), "a secret leaked into an error: {shown}");
    }
}
