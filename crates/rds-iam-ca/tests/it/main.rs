//! Integration tests of `rds-iam-ca`: verification cases, and the store against a loopback HTTPS bundle server.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed; the panic says where

mod store;
mod verify;

use std::time::SystemTime;

use rds_iam_testkit::{RdsLikeCa, at_year};

/// The time the tests verify at: 2026-01-01.
fn now() -> SystemTime {
    at_year(2026)
}

/// Three real us-east-1 roots (RSA2048, RSA4096, ECC384) from the April 2025 global bundle.
const REAL_US_EAST_1: &str = include_str!("data/us-east-1-roots.pem");

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
