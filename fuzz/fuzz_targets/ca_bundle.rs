//! Fuzz target: `verify_bundle` — PEM reading, X.509 parsing, CA checks and signature verification.
//!
//! Input: a flags byte, 4 bytes of time (little-endian, in units of 64 s since the epoch: up to year 10680), then
//! the bundle. Flag bit 0 set: the rest is DER certificates separated by `--8<--`, wrapped in PEM here so the
//! fuzzer mutates DER rather than base64; bits 1–2 pick the required region (none, `us-east-1`, `eu-west-1`,
//! `us-gov-west-1`). Asserts: no panic; a verified bundle has a valid root, sorts every certificate into exactly
//! one list, keeps only certificates valid at the time, covers the required region; reports and errors display.
#![no_main]

use std::time::{Duration, SystemTime};

use data_encoding::BASE64;
use libfuzzer_sys::fuzz_target;
use rds_iam_ca::{VerifyOptions, verify_bundle};

/// Separates DER certificates in the input (flag bit 0).
const SEPARATOR: &[u8] = b"--8<--";

fn pem_of(ders: &[u8]) -> Vec<u8> {
    let mut pem = String::new();
    let mut rest = ders;
    loop {
        let (der, next) = match rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(at) => (&rest[..at], Some(&rest[at + SEPARATOR.len()..])),
            None => (rest, None),
        };
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in BASE64.encode(der).as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        match next {
            Some(next) => rest = next,
            None => return pem.into_bytes(),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&[flags, t0, t1, t2, t3], rest)) = data.split_first_chunk::<5>() else {
        return;
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(u32::from_le_bytes([t0, t1, t2, t3])) * 64);
    let pem = if flags & 1 == 1 { pem_of(rest) } else { rest.to_vec() };
    let mut options = VerifyOptions::default();
    let region = match (flags >> 1) & 3 {
        0 => None,
        1 => Some("us-east-1"),
        2 => Some("eu-west-1"),
        _ => Some("us-gov-west-1"),
    };
    if let Some(region) = region {
        options = options.with_region(region);
    }
    let report = match verify_bundle(&pem, now, &options) {
        Ok(report) => report,
        Err(err) => {
            assert!(!err.to_string().is_empty());
            return;
        }
    };
    assert!(!report.roots.is_empty(), "a verified bundle has a valid root");
    assert!(report.roots.iter().all(|c| c.self_signed));
    assert!(report.intermediates.iter().all(|c| !c.self_signed));
    for cert in report.roots.iter().chain(&report.intermediates) {
        assert!(
            cert.not_before <= now && now <= cert.not_after,
            "{cert:?} is not valid at {now:?}"
        );
        assert_eq!(cert.sha256.len(), 64);
    }
    let blocks = String::from_utf8_lossy(&pem)
        .matches("-----BEGIN CERTIFICATE-----")
        .count();
    let sorted = report.roots.len() + report.intermediates.len() + report.expired.len() + report.not_yet_valid.len();
    assert!(sorted <= blocks, "{sorted} certificates from {blocks} BEGIN lines");
    if let Some(region) = region {
        assert!(report.regions().contains(region));
    }
    assert!(report.earliest_expiry().is_some());
    assert!(!report.to_string().is_empty());
});
