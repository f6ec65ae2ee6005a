//! Fuzz target: the shared config / credentials file parser (`profile::parse`).
//!
//! Input: the config file, a NUL, the credentials file (read as lossy UTF-8). Asserts: no panic; a syntax error
//! names a line of its file; profile names and keys are valid identifiers, keys lower-case and found in any case;
//! sub-properties are readable; a well-formed profile appended to a file that parsed still parses, and its secret
//! never shows in the `Debug` of the result.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use rds_iam_credentials::profile::{self, ProfileFileError, ProfileSet, Source};
use rds_iam_fuzz::CANARY;

fn parse(config: &str, credentials: &str) -> Result<ProfileSet, ProfileFileError> {
    profile::parse(
        Some(Source {
            path: Path::new("config"),
            contents: config,
        }),
        Some(Source {
            path: Path::new("credentials"),
            contents: credentials,
        }),
    )
}

/// Profile names and keys: ASCII letters, digits and `-/.%@_:+` (the parser's rule).
fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-/.%@_:+".contains(c))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (config, credentials) = text.split_once('\0').unwrap_or((&text, ""));
    let set = match parse(config, credentials) {
        Ok(set) => set,
        Err(ProfileFileError::Syntax { path, line, .. }) => {
            let file = if path == Path::new("config") {
                config
            } else {
                credentials
            };
            assert!((1..=file.lines().count()).contains(&line), "line {line} of {path:?}");
            return;
        }
        Err(other) => panic!("parsing text can only fail on syntax: {other}"),
    };
    for name in set.names() {
        assert!(is_identifier(name), "profile name {name:?}");
        let profile = set.get(name).expect("a listed profile exists");
        assert_eq!(profile.name(), name);
        for (key, value) in profile.iter() {
            assert!(is_identifier(key) && key == key.to_ascii_lowercase(), "key {key:?}");
            assert_eq!(profile.get(&key.to_ascii_uppercase()), Some(value));
            for line in value.lines() {
                if let Some((sub, _)) = line.split_once('=') {
                    let _ = profile.sub_property(key, sub.trim());
                }
            }
        }
    }

    // Keys are lower-cased: a key of the input could spell the canary in any case.
    if text.to_ascii_lowercase().contains(CANARY) {
        return;
    }
    let credentials = format!("{credentials}\n[fuzz-canary]\naws_secret_access_key = {CANARY}\n");
    let set = parse(config, &credentials).expect("appending a well-formed profile keeps the file valid");
    let canary = set.get("fuzz-canary").and_then(|p| p.get("aws_secret_access_key"));
    assert_eq!(canary, Some(CANARY));
    assert!(!format!("{set:?}").contains(CANARY), "Debug shows a value");
});
