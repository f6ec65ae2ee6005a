//! Fuzz target: the IMDS credentials document (`Token` and `Expiration` required).
//!
//! Asserts: no panic; accepted documents give trimmed, non-empty keys and temporary credentials with an expiry;
//! with a canary in the secret fields, neither the error nor the credentials' `Debug` shows it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rds_iam_credentials::fuzzing::imds_credentials;
use rds_iam_fuzz::{assert_no_canary, with_canary};

fuzz_target!(|data: &[u8]| {
    if let Ok(creds) = imds_credentials(data) {
        let key = creds.access_key_id();
        assert!(!key.is_empty() && key.trim() == key, "access key {key:?}");
        let secret = creds.secret_access_key().expose();
        assert!(!secret.is_empty() && secret.trim() == secret.as_str());
        assert!(creds.session_token().is_some(), "IMDS credentials are temporary");
        assert!(creds.expiry().is_some(), "IMDS credentials expire");
    }
    if let Some(planted) = with_canary(data) {
        assert_no_canary(&imds_credentials(&planted));
    }
});
