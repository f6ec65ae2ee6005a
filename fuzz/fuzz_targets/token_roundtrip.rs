//! Fuzz target: sign a token for arbitrary inputs, then decode it.
//!
//! Asserts: no panic; every token `TokenRequest::sign` makes decodes, with the host, port, user, region, access
//! key, signing time (whole seconds), lifetime and session-token presence it was signed with.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use rds_iam_token::{Credentials, TokenRequest, decode};

/// Regions of every partition; the fuzzer reaches a valid region name of its own only slowly.
const REGIONS: [&str; 5] = [
    "us-east-1",
    "eu-west-1",
    "us-gov-west-1",
    "cn-north-1",
    "us-isob-east-1",
];

#[derive(Arbitrary, Debug)]
struct Input {
    host: String,
    port: u16,
    user: String,
    /// An index into [`REGIONS`], or past its end: `region` as given.
    region_index: u8,
    region: String,
    /// 1..=900 s after `% 900 + 1`.
    expires_in: u16,
    /// Seconds since the epoch and nanoseconds: any `SystemTime` the platform can hold past the epoch.
    at: (u64, u32),
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

fuzz_target!(|input: Input| {
    // Access key ids are upper-case letters and digits; the credential scope is `/`-separated.
    let mut access_key_id: String = input
        .access_key_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    if access_key_id.is_empty() {
        access_key_id.push_str("AKID");
    }
    let region = REGIONS
        .get(usize::from(input.region_index))
        .copied()
        .unwrap_or(&input.region);
    let Ok(request) = TokenRequest::new(&input.host, input.port, &input.user, region) else {
        return;
    };
    let expires_in = Duration::from_secs(u64::from(input.expires_in % 900 + 1));
    let request = request
        .with_expires_in(expires_in)
        .expect("1..=900 s is a valid lifetime");
    let Some(now) = SystemTime::UNIX_EPOCH.checked_add(Duration::new(input.at.0, input.at.1 % 1_000_000_000)) else {
        return;
    };
    let mut creds = Credentials::new(&access_key_id, &input.secret_access_key);
    if let Some(token) = &input.session_token {
        creds = creds.with_session_token(token);
    }
    let Ok(token) = request.sign(&creds, now) else {
        return;
    };
    let decoded = decode(token.expose()).unwrap_or_else(|e| panic!("a signed token does not decode: {e}"));
    assert_eq!(decoded.host, input.host);
    assert_eq!(decoded.port, input.port);
    assert_eq!(decoded.user, input.user);
    assert_eq!(decoded.region, region);
    assert_eq!(decoded.access_key_id, access_key_id);
    assert_eq!(
        decoded.signed_at,
        SystemTime::UNIX_EPOCH + Duration::from_secs(input.at.0)
    );
    assert_eq!(decoded.expires_in, expires_in);
    assert_eq!(
        decoded.has_session_token,
        input.session_token.is_some_and(|t| !t.is_empty())
    );
    assert_eq!(token.signed_at(), now);
});
