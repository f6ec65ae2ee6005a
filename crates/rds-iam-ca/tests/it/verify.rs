//! `verify_bundle`: each kind of bad input, and the report for good ones.

use std::time::Duration;

use rds_iam_ca::{KeyType, VerifyError, VerifyOptions, verify_bundle};
use rds_iam_testkit::RdsLikeCa;

use super::*;

fn verify(pem: &str) -> Result<rds_iam_ca::BundleReport, VerifyError> {
    verify_bundle(pem.as_bytes(), now(), &VerifyOptions::default())
}

#[test]
fn report_lists_regions_key_types_and_expiry() {
    let report = verify(&three_roots()).unwrap();
    assert_eq!(report.roots.len(), 3);
    assert!(report.expired.is_empty());
    assert_eq!(report.key_types().into_iter().collect::<Vec<_>>(), [KeyType::Ecc384]);
    assert_eq!(
        report.regions().into_iter().collect::<Vec<_>>(),
        ["us-east-1", "us-west-2"]
    );
    let earliest = report.earliest_expiry().unwrap();
    assert_eq!(earliest.subject, "Amazon RDS us-east-1 Root CA ECC384 G1");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let text = report.to_string();
    assert!(text.contains("valid roots:     3\n"), "{text}");
    assert!(text.contains("key types:       ECC384\n"), "{text}");
    assert!(text.contains("earliest expiry: 2061-"), "{text}");
}

#[test]
fn expired_certificates_are_skipped_with_a_warning() {
    let report = verify(&good_bundle()).unwrap();
    assert_eq!(report.roots.len(), 2);
    assert_eq!(report.expired.len(), 1);
    assert_eq!(report.expired[0].region.as_deref(), Some("ap-south-1"));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("skipped Amazon RDS ap-south-1 Root CA ECC384 G1: expired on 2024-01-01")),
        "{:?}",
        report.warnings
    );
    assert!(!report.regions().contains("ap-south-1"));
}

#[test]
fn fails_only_when_no_valid_root_remains_or_the_region_has_none() {
    let only_expired = [
        RdsLikeCa::root("us-east-1").expired().pem(),
        RdsLikeCa::root("eu-west-1").expired().pem(),
    ]
    .concat();
    let err = verify(&only_expired).unwrap_err();
    assert!(matches!(err, VerifyError::NoValidRoot { skipped: 2, .. }), "{err}");
    assert!(
        err.to_string()
            .contains("no valid root certificate at 2026-01-01T00:00:00Z"),
        "{err}"
    );

    let options = VerifyOptions::default().with_region("ap-south-1");
    let err = verify_bundle(good_bundle().as_bytes(), now(), &options).unwrap_err();
    assert!(matches!(err, VerifyError::RegionMissing { .. }), "{err}");
    assert!(err.to_string().contains("covers: eu-west-1, us-east-1"), "{err}");
    let options = VerifyOptions::default().with_region("eu-west-1");
    assert!(verify_bundle(good_bundle().as_bytes(), now(), &options).is_ok());

    // Before its validity starts, a root is skipped too.
    let err = verify_bundle(
        three_roots().as_bytes(),
        rds_iam_testkit::at_year(2019),
        &VerifyOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::NoValidRoot { skipped: 3, .. }), "{err}");
}

#[test]
fn html_and_empty_input_say_what_was_received() {
    let err = verify("<!DOCTYPE html>\n<html><body>Access Denied</body></html>").unwrap_err();
    assert!(matches!(err, VerifyError::NotPem { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("received 55 bytes starting with \"<!DOCTYPE html>\\n<html>"),
        "{text}"
    );
    let err = verify("").unwrap_err();
    assert!(err.to_string().contains("received 0 bytes"), "{err}");
}

#[test]
fn truncated_and_corrupt_blocks_are_malformed() {
    let good = good_bundle();
    let cut = &good[..good.len() / 2];
    let err = verify(cut).unwrap_err();
    assert!(matches!(err, VerifyError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");

    let bad_base64 = "-----BEGIN CERTIFICATE-----\nMII*not-base64*\n-----END CERTIFICATE-----\n";
    assert!(matches!(verify(bad_base64), Err(VerifyError::Malformed { .. })));

    let not_der = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    let err = verify(not_der).unwrap_err();
    assert!(err.to_string().contains("not an X.509 certificate"), "{err}");

    let key = format!(
        "{}-----BEGIN PRIVATE KEY-----\naGVsbG8=\n-----END PRIVATE KEY-----\n",
        good
    );
    let err = verify(&key).unwrap_err();
    assert!(
        err.to_string().contains("a PRIVATE KEY block, not a CERTIFICATE"),
        "{err}"
    );
}

#[test]
fn certificates_that_are_not_cas_or_altered_are_rejected() {
    let with = |extra: String| [RdsLikeCa::root("us-east-1").pem(), extra].concat();

    let err = verify(&with(RdsLikeCa::root("eu-west-1").not_a_ca().pem())).unwrap_err();
    assert!(matches!(err, VerifyError::NotCa { index: 2, .. }), "{err}");
    assert!(err.to_string().contains("CA:TRUE"), "{err}");

    let err = verify(&with(RdsLikeCa::root("eu-west-1").without_key_cert_sign().pem())).unwrap_err();
    assert!(err.to_string().contains("keyCertSign"), "{err}");

    let err = verify(&with(RdsLikeCa::root("eu-west-1").tampered_pem())).unwrap_err();
    assert!(matches!(err, VerifyError::BadSignature { index: 2, .. }), "{err}");
    assert!(
        err.to_string().contains("Amazon RDS eu-west-1 Root CA ECC384 G1"),
        "{err}"
    );

    // An expired certificate is still checked: an altered one fails the bundle.
    let err = verify(&with(RdsLikeCa::root("eu-west-1").expired().tampered_pem())).unwrap_err();
    assert!(matches!(err, VerifyError::BadSignature { .. }), "{err}");
}

#[test]
fn pins_and_expiry_warnings() {
    let roots = three_roots();
    let report = verify(&roots).unwrap();
    let pins: Vec<&str> = report.roots.iter().map(|r| r.sha256.as_str()).collect();
    let mut options = VerifyOptions::default();
    for pin in &pins {
        options = options.with_pin(&pin.to_uppercase());
    }
    assert!(verify_bundle(roots.as_bytes(), now(), &options).is_ok());
    let options = VerifyOptions::default().with_pin(pins[0]).with_pin(pins[1]);
    let err = verify_bundle(roots.as_bytes(), now(), &options).unwrap_err();
    assert!(matches!(err, VerifyError::NotPinned { index: 3, .. }), "{err}");

    // One root ends in 2061: warned about in 2060 with a 2-year window.
    let options = VerifyOptions::default().with_expiry_warning(Duration::from_secs(2 * 365 * 86_400));
    let report = verify_bundle(roots.as_bytes(), rds_iam_testkit::at_year(2060), &options).unwrap();
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0].starts_with("Amazon RDS us-east-1 Root CA ECC384 G1 expires on 2061-"),
        "{:?}",
        report.warnings
    );
}

#[test]
fn other_key_types_are_named_and_mismatches_warned() {
    let report = verify(&RdsLikeCa::root("us-east-1").p256().pem()).unwrap();
    assert_eq!(report.roots[0].key_type, KeyType::Other("ECC256".into()));
    assert!(
        report.warnings[0].contains("is named ECC384 but its key is ECC256"),
        "{:?}",
        report.warnings
    );
}
