//! What the fuzz targets share: the canary that stands in for a secret, and planting it in a credentials document.
//!
//! The targets live in `fuzz_targets/`; `cargo xtask fuzz` runs them (docs/fuzzing.md).

use serde_json::Value;

/// A value that stands in for a secret: no message template contains it, so finding it in output is a leak.
pub const CANARY: &str = "canary-secret-3f9a1c";

/// The fields of a credentials document that hold secrets.
const SECRET_FIELDS: [&str; 3] = ["SecretAccessKey", "Token", "SessionToken"];

/// Whether `bytes` contain `needle`.
pub fn contains(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// `body` re-serialized with every secret field that holds a string replaced by [`CANARY`]; `None` when `body` is
/// not a JSON object, has no such field, or already mentions the canary (a target could not tell a leak from an
/// echo of an ordinary field).
pub fn with_canary(body: &[u8]) -> Option<Vec<u8>> {
    with_canary_in(body, &SECRET_FIELDS)
}

/// [`with_canary`] for the secret fields `fields` of another kind of document (an SSO token, a token answer).
pub fn with_canary_in(body: &[u8], fields: &[&str]) -> Option<Vec<u8>> {
    if contains(body, CANARY) {
        return None;
    }
    let mut json: Value = serde_json::from_slice(body).ok()?;
    let object = json.as_object_mut()?;
    let mut planted = false;
    for field in fields {
        if let Some(Value::String(value)) = object.get_mut(*field) {
            CANARY.clone_into(value);
            planted = true;
        }
    }
    planted.then(|| serde_json::to_vec(&json).expect("a JSON value serializes"))
}

/// Asserts that the result of reading a canary-carrying document shows the canary nowhere: not in the error, not
/// in the credentials' `Debug`.
pub fn assert_no_canary<T: std::fmt::Debug>(result: &Result<T, String>) {
    match result {
        Ok(value) => assert!(
            !format!("{value:?}").contains(CANARY),
            "Debug shows a secret: {value:?}"
        ),
        Err(message) => assert!(!message.contains(CANARY), "the error shows a secret: {message}"),
    }
}
