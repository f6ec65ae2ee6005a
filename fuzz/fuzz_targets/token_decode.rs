//! Fuzz target: `rds_iam_token::decode` on any text.
//!
//! Asserts: no panic; a decoded token has a host, a user, a port from 1, the `rds-db` service and a lifetime of
//! 1..=900 s; its times compute; an `https://` prefix and surrounding whitespace change nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rds_iam_token::decode;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(token) = decode(text) else {
        return;
    };
    assert!(!token.host.is_empty() && !token.user.is_empty() && token.port != 0);
    assert_eq!(token.service, "rds-db");
    assert!((1..=900).contains(&token.expires_in.as_secs()));
    assert_eq!(token.remaining(token.signed_at), token.expires_in);
    assert!(token.is_expired(token.expires_at()));
    let bare = text.trim();
    if !bare.starts_with("https://") {
        assert_eq!(decode(&format!(" https://{bare}\n")).as_ref(), Ok(&token));
    }
});
