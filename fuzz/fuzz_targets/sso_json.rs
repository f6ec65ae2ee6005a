//! Fuzz target: the SSO token cache (`~/.aws/sso/cache/*.json`) and SSO-OIDC `CreateToken` answers.
//!
//! Input: 2 bytes (the first's low bit picks the reader; for answers, its next bit and the second byte the HTTP
//! status), 5 bytes of seconds since the epoch (little-endian), then the document. Asserts: no panic; an accepted
//! answer expires after the time of reading and gives a cache entry that reads back with the same expiry; no error
//! shows the secrets that were sent (an echoing endpoint) or a canary planted in the token fields.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use rds_iam_credentials::fuzzing::{sso_cache_entry, sso_create_token};
use rds_iam_fuzz::{CANARY, with_canary_in};

fuzz_target!(|data: &[u8]| {
    let Some((&[pick, status_low], rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let Some((seconds, body)) = rest.split_first_chunk::<5>() else {
        return;
    };
    let mut le = [0; 8];
    le[..5].copy_from_slice(seconds);
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from_le_bytes(le));
    if pick & 1 == 0 {
        let Ok(text) = std::str::from_utf8(body) else {
            return;
        };
        let _ = sso_cache_entry(text);
        if let Some(planted) = with_canary_in(body, &["accessToken", "refreshToken", "clientSecret"])
            && let Ok(planted) = String::from_utf8(planted)
            && let Err(message) = sso_cache_entry(&planted)
        {
            assert!(!message.contains(CANARY), "the error shows a token: {message}");
        }
    } else {
        // Mostly 2xx, sometimes an error status.
        let status = if pick & 2 == 0 { 200 } else { 100 + u16::from(status_low) * 2 };
        // The canary is what was sent (client secret, refresh token): an answer that echoes it must not show it.
        match sso_create_token(status, body, now, CANARY, CANARY) {
            Ok((entry, expiry)) => {
                assert!(expiry > now, "an expired token accepted");
                assert_eq!(sso_cache_entry(&entry), Ok(expiry), "the entry does not read back: {entry}");
            }
            Err(message) => assert!(!message.contains(CANARY), "the error shows a secret: {message}"),
        }
        if let Some(planted) = with_canary_in(body, &["accessToken", "refreshToken"])
            && let Err(message) = sso_create_token(status, &planted, now, "client-secret", "refresh")
        {
            assert!(!message.contains(CANARY), "the error shows a token: {message}");
        }
    }
});
