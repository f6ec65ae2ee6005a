//! Integration tests of `rds-iam-ca`: verification cases, and the store against a loopback HTTPS bundle server.
#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed; the panic says where"
)]

mod store;
mod verify;

use std::time::SystemTime;

use rds_iam_testkit::{RdsLikeCa, at_year};

/// The time the tests verify at: 2026-01-01.
fn now() -> SystemTime {
    at_year(2026)
}

/// Three valid roots: two for us-east-1 (one ending in 2061, like rds-ca-rsa2048-g1) and one for us-west-2. The
/// real bundle's RSA roots are checked by `cargo xtask conformance` (it reads ../shared/data).
fn three_roots() -> String {
    static ROOTS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        [
            RdsLikeCa::root("us-east-1").pem(),
            RdsLikeCa::root("us-east-1").valid(at_year(2021), at_year(2061)).pem(),
            RdsLikeCa::root("us-west-2").pem(),
        ]
        .concat()
    });
    ROOTS.clone()
}

/// Good roots for us-east-1 and eu-west-1, plus one expired root (generated once per test binary).
fn good_bundle() -> String {
    static GOOD: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        [
            RdsLikeCa::root("us-east-1").pem(),
            RdsLikeCa::root("eu-west-1").pem(),
            RdsLikeCa::root("ap-south-1").expired().pem(),
        ]
        .concat()
    });
    GOOD.clone()
}
