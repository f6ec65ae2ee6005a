//! The Amazon Trust Services roots: what RDS Proxy endpoints' certificates chain to. A proxy does not present an
//! RDS CA certificate, so no RDS bundle trusts it; these roots are built in (from Mozilla's root program, as the
//! `webpki-root-certs` crate packages it) rather than downloaded.

use base64::Engine;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The file name [`crate::BundleStore::amazon_trust_services`] writes in the store's folder.
pub const AMAZON_TRUST_SERVICES_FILE: &str = "amazon-trust-services.pem";

/// The common names of Amazon Trust Services' roots: Amazon Root CA 1–4, and the Starfield root that cross-signs
/// them for old clients.
const ROOT_NAMES: [&str; 5] = [
    "Amazon Root CA 1",
    "Amazon Root CA 2",
    "Amazon Root CA 3",
    "Amazon Root CA 4",
    "Starfield Services Root Certificate Authority - G2",
];

/// Amazon Trust Services' root certificates as one PEM bundle: Amazon Root CA 1–4, then the Starfield root that
/// cross-signs them.
///
/// ```
/// let pem = rds_iam_ca::amazon_trust_services_pem();
/// assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
/// ```
pub fn amazon_trust_services_pem() -> String {
    let mut found: Vec<(usize, &[u8])> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| {
            let (_, cert) = X509Certificate::from_der(der.as_ref()).ok()?;
            let name = cert.subject().iter_common_name().next()?.as_str().ok()?;
            let rank = ROOT_NAMES.iter().position(|n| *n == name)?;
            (cert.subject() == cert.issuer()).then_some((rank, der.as_ref()))
        })
        .collect();
    found.sort_by_key(|(rank, _)| *rank);
    found.iter().map(|(_, der)| pem(der)).collect()
}

fn pem(der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::{VerifyOptions, verify_bundle};

    #[test]
    fn the_five_roots_verify_as_a_bundle() {
        let pem = amazon_trust_services_pem();
        // 2026-11-29: all five are valid until 2037 or later.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_910_400);
        let report = verify_bundle(pem.as_bytes(), now, &VerifyOptions::default()).unwrap();
        let names: Vec<&str> = report.roots.iter().map(|r| r.subject.as_str()).collect();
        assert_eq!(names.len(), 5, "{names:?}");
        for (name, expected) in names.iter().zip(ROOT_NAMES) {
            assert!(name.contains(expected), "{name} is not {expected}");
        }
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }

    #[test]
    fn pem_lines_are_64_columns() {
        let pem = amazon_trust_services_pem();
        assert!(pem.lines().all(|l| l.len() <= 64), "{pem}");
        assert!(pem.ends_with("-----END CERTIFICATE-----\n"));
    }
}
