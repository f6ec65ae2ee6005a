//! Fuzz target: `credential_process` output (`{"Version": 1, …}`), read at a time taken from the input.
//!
//! Input: 5 bytes of seconds since the epoch (little-endian), then the program's output. Asserts: no panic;
//! accepted output gives trimmed, non-empty keys and, when it expires, an expiry after the time of reading; with a
//! canary in the secret fields, neither the error nor the credentials' `Debug` shows it.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use rds_iam_credentials::fuzzing::process_credentials;
use rds_iam_fuzz::{assert_no_canary, with_canary};

fuzz_target!(|data: &[u8]| {
    let Some((seconds, stdout)) = data.split_first_chunk::<5>() else {
        return;
    };
    let mut le = [0; 8];
    le[..5].copy_from_slice(seconds);
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from_le_bytes(le));
    if let Ok(creds) = process_credentials(stdout, now) {
        let key = creds.access_key_id();
        assert!(!key.is_empty() && key.trim() == key, "access key {key:?}");
        assert!(!creds.secret_access_key().expose().is_empty());
        if let Some(expiry) = creds.expiry() {
            assert!(expiry > now, "expired credentials accepted");
        }
    }
    if let Some(planted) = with_canary(stdout) {
        assert_no_canary(&process_credentials(&planted, now));
    }
});
