//! [`TestPki`] and [`RdsLikeCa`]: certificates generated at test time with rcgen — a TLS root and server leaf for
//! loopback HTTPS servers, and RDS-like CA certificates (good, expired, not a CA, tampered) to build bundles from.
//!
//! Keys are ECDSA (ring, which rcgen uses here, cannot generate RSA keys): the RDS-like roots are ECC384, like
//! `rds-ca-ecc384-g1`. RSA roots are exercised with the real bundle (`cargo xtask conformance`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384,
};

/// A test certificate authority and a server certificate it issued for `127.0.0.1` and `localhost`.
///
/// ```
/// let pki = rds_iam_testkit::TestPki::generate();
/// assert!(pki.root_pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// ```
pub struct TestPki {
    root_pem: String,
    server_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    server_key_der: Vec<u8>,
}

impl TestPki {
    /// Generates a root (`rds-iam test root`) and a leaf for `127.0.0.1` / `localhost`, valid from an hour ago
    /// (real clock: TLS clients judge the server certificate by it) for a year.
    pub fn generate() -> TestPki {
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("generate the test root key");
        let mut root_params = CertificateParams::new(Vec::new()).expect("root parameters");
        root_params.distinguished_name = name("rds-iam test root");
        root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        root_params.not_before = ago(3600);
        root_params.not_after = later(365 * 86_400);
        let root = rcgen::CertifiedIssuer::self_signed(root_params, root_key).expect("self-sign the test root");

        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("generate the server key");
        let mut leaf_params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("leaf parameters");
        leaf_params.distinguished_name = name("rds-iam test server");
        leaf_params.not_before = ago(3600);
        leaf_params.not_after = later(365 * 86_400);
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let leaf = leaf_params
            .signed_by(&leaf_key, &root)
            .expect("issue the server certificate");

        TestPki {
            root_pem: root.pem(),
            server_chain: vec![leaf.der().clone()],
            server_key_der: leaf_key.serialize_der(),
        }
    }

    /// The root certificate (PEM): what a client must trust to talk to a server using [`TestPki::server_config`].
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// A rustls server configuration presenting the leaf (ring provider, TLS 1.2 and 1.3).
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.server_key_der.clone().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(self.server_chain.clone(), key)
            .expect("server certificate and key");
        Arc::new(config)
    }
}

/// An RDS-like CA certificate: a builder for the roots a fake CA bundle holds.
///
/// ```
/// use rds_iam_testkit::RdsLikeCa;
///
/// let pem = RdsLikeCa::root("us-east-1").pem();
/// assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
/// ```
#[derive(Clone, Debug)]
pub struct RdsLikeCa {
    common_name: String,
    not_before: SystemTime,
    not_after: SystemTime,
    ca: bool,
    key_cert_sign: bool,
    p384: bool,
}

impl RdsLikeCa {
    /// `Amazon RDS {region} Root CA ECC384 G1`: self-signed, CA:TRUE, keyCertSign, valid from a day before the
    /// Unix epoch + 50 years (2020) to 2120.
    pub fn root(region: &str) -> RdsLikeCa {
        RdsLikeCa {
            common_name: format!("Amazon RDS {region} Root CA ECC384 G1"),
            not_before: at_year(2020),
            not_after: at_year(2120),
            ca: true,
            key_cert_sign: true,
            p384: true,
        }
    }

    /// Sets the validity period.
    pub fn valid(mut self, not_before: SystemTime, not_after: SystemTime) -> RdsLikeCa {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    /// Expired at the start of 2024 (like `rds-ca-2019`).
    pub fn expired(self) -> RdsLikeCa {
        self.valid(at_year(2019), at_year(2024))
    }

    /// Not a CA: no basic constraints `CA:TRUE`, no keyCertSign.
    pub fn not_a_ca(mut self) -> RdsLikeCa {
        self.ca = false;
        self.key_cert_sign = false;
        self
    }

    /// A CA without the keyCertSign key usage.
    pub fn without_key_cert_sign(mut self) -> RdsLikeCa {
        self.key_cert_sign = false;
        self
    }

    /// An ECDSA P-256 key (a key type the RDS bundles do not use) instead of P-384.
    pub fn p256(mut self) -> RdsLikeCa {
        self.p384 = false;
        self
    }

    /// The self-signed certificate, DER.
    pub fn der(&self) -> Vec<u8> {
        let alg = if self.p384 {
            &PKCS_ECDSA_P384_SHA384
        } else {
            &PKCS_ECDSA_P256_SHA256
        };
        let key = KeyPair::generate_for(alg).expect("generate a CA key");
        let mut params = CertificateParams::new(Vec::new()).expect("CA parameters");
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "US");
        dn.push(DnType::OrganizationName, "Amazon Web Services, Inc.");
        dn.push(DnType::OrganizationalUnitName, "Amazon RDS");
        dn.push(DnType::CommonName, self.common_name.as_str());
        params.distinguished_name = dn;
        params.not_before = self.not_before.into();
        params.not_after = self.not_after.into();
        if self.ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        }
        params.key_usages = if self.key_cert_sign {
            vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ]
        } else {
            vec![KeyUsagePurpose::DigitalSignature]
        };
        params.self_signed(&key).expect("self-sign").der().to_vec()
    }

    /// The self-signed certificate, PEM.
    pub fn pem(&self) -> String {
        pem_certificate(&self.der())
    }

    /// The certificate with one byte of its signature flipped (PEM): parses, but its signature does not verify.
    pub fn tampered_pem(&self) -> String {
        let mut der = self.der();
        // The signature BIT STRING is the certificate's last field: its last byte is signature data.
        if let Some(last) = der.last_mut() {
            *last ^= 0x01;
        }
        pem_certificate(&der)
    }
}

/// DER → `-----BEGIN CERTIFICATE-----` PEM with 64-character lines.
pub fn pem_certificate(der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new("CERTIFICATE", der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

/// Midnight UTC on 1 January of `year` (1970 ≤ year < 2200).
pub fn at_year(year: i32) -> SystemTime {
    let date = time::Date::from_calendar_date(year, time::Month::January, 1).expect("a valid year");
    date.midnight().assume_utc().into()
}

fn ago(seconds: u64) -> time::OffsetDateTime {
    #[allow(clippy::disallowed_methods)] // the TLS client judges the server certificate by the real clock
    let now = SystemTime::now();
    (now - Duration::from_secs(seconds)).into()
}

fn later(seconds: u64) -> time::OffsetDateTime {
    #[allow(clippy::disallowed_methods)] // the TLS client judges the server certificate by the real clock
    let now = SystemTime::now();
    (now + Duration::from_secs(seconds)).into()
}
