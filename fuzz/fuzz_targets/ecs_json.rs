//! Fuzz target: the container (ECS / EKS Pod Identity) endpoint's answers — the credentials document
//! (`Token` and `Expiration` optional) and the description of an error body, which must not echo the
//! authorization token.
//!
//! Input: one length byte, the authorization token (that many bytes), then the body. Asserts: no panic; accepted
//! documents give trimmed, non-empty keys; with a canary in the secret fields, neither the error nor the
//! credentials' `Debug` shows it; the error description shows neither a token (of 8 or more characters) nor its
//! first 8 characters (unless they are in the body outside the token, or in the description's own words).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rds_iam_credentials::fuzzing::{container_credentials, container_error_detail};
use rds_iam_fuzz::{assert_no_canary, with_canary};

fuzz_target!(|data: &[u8]| {
    let Some((&len, rest)) = data.split_first() else {
        return;
    };
    let (token, body) = rest.split_at(usize::from(len).min(rest.len()));
    if let Ok(creds) = container_credentials(body) {
        let key = creds.access_key_id();
        assert!(!key.is_empty() && key.trim() == key, "access key {key:?}");
        assert!(!creds.secret_access_key().expose().is_empty());
    }
    if let Some(planted) = with_canary(body) {
        assert_no_canary(&container_credentials(&planted));
    }

    // The provider sends only a non-empty, trimmed, one-line token (read as UTF-8; U+FFFD is left out because the
    // description shows a body that is not UTF-8 with U+FFFD in place of the bad bytes). Real tokens are long
    // random strings: shorter ones could be any word of the description.
    let Ok(token) = std::str::from_utf8(token) else {
        return;
    };
    if token.chars().count() < 8 || token.trim() != token || token.chars().any(|c| c.is_control() || c == '\u{fffd}') {
        return;
    }
    // The description's own words ("an empty body", "12 bytes: \"…", "<redacted>") are not an echo.
    let own_words = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_digit() || " :\"…<>abcdeimnoprsty".contains(c))
    };
    let detail = container_error_detail(body, Some(token));
    assert!(
        own_words(token) || !detail.contains(token),
        "the token is echoed: {detail:?}"
    );
    // Nor its first 8 characters, unless the body has them outside the token (or has JSON escapes, which may
    // spell them), or the description of the body without the token has them (its framing around the content).
    let start: String = token.chars().take(8).collect();
    let text = String::from_utf8_lossy(body);
    let without = text.replace(token, "");
    let elsewhere = without.contains(&start)
        || text.contains('\\')
        || container_error_detail(without.as_bytes(), None).contains(&start);
    assert!(
        elsewhere || own_words(&start) || !detail.contains(&start),
        "part of the token is echoed: {detail:?}"
    );
});
