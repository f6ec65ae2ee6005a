//! [`TestPki`] and [`RdsLikeCa`]: certificates generated at test time with rcgen — a root → intermediate → leaf
//! chain for loopback TLS servers (MySQL, MariaDB, HTTPS), and RDS-like CA certificates (good, expired, not a CA,
//! tampered) to build bundles from.
//!
//! Keys are ECDSA (ring, which rcgen uses here, cannot generate RSA keys): the RDS-like roots are ECC384, like
//! `rds-ca-ecc384-g1`. RSA roots are exercised with the real bundle (`cargo xtask conformance`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384,
};

/// A test certificate authority and a server certificate it issued through an intermediate, like RDS: clients
/// trust the root, servers send leaf + intermediate.
///
/// ```
/// use rds_iam_testkit::TestPki;
///
/// let pki = TestPki::generate(&["localhost", "127.0.0.1"]);
/// assert!(pki.root_pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// assert_eq!(pki.chain_pem().matches("BEGIN CERTIFICATE").count(), 2);
/// ```
pub struct TestPki {
    root_pem: String,
    intermediate_pem: String,
    leaf_pem: String,
    leaf_key_pem: String,
    chain_der: Vec<rustls::pki_types::CertificateDer<'static>>,
    leaf_key_der: Vec<u8>,
}

/// Where [`TestPki::write_to`] put the files.
#[derive(Clone, Debug)]
pub struct PkiFiles {
    /// The root certificate: what clients trust (`--ssl-ca`, a CA bundle).
    pub ca: PathBuf,
    /// Leaf then intermediate: what the server sends.
    pub chain: PathBuf,
    /// The leaf's private key (PKCS#8 PEM).
    pub key: PathBuf,
}

impl TestPki {
    /// A new chain whose leaf is valid for `names` (DNS names or IP addresses).
    pub fn generate(names: &[&str]) -> TestPki {
        let root_key = KeyPair::generate().expect("root key");
        let root_params = ca_params("rds-iam test root CA", None);
        let root = root_params.self_signed(&root_key).expect("self-sign root");
        let root_issuer = Issuer::new(root_params, root_key);

        let intermediate_key = KeyPair::generate().expect("intermediate key");
        let intermediate_params = ca_params("rds-iam test intermediate CA", Some(0));
        let intermediate = intermediate_params
            .signed_by(&intermediate_key, &root_issuer)
            .expect("sign intermediate");
        let intermediate_issuer = Issuer::new(intermediate_params, intermediate_key);

        let leaf_key = KeyPair::generate().expect("leaf key");
        let mut leaf_params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).expect("leaf names");
        leaf_params.distinguished_name = name(names.first().copied().unwrap_or("localhost"));
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        // Client authentication too: sysbench 1.0 with TLS always presents a client certificate (the benchmark's
        // direct baseline gives it this one), and MariaDB refuses one that is not for client authentication.
        leaf_params.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let leaf = leaf_params
            .signed_by(&leaf_key, &intermediate_issuer)
            .expect("sign leaf");

        TestPki {
            root_pem: root.pem(),
            intermediate_pem: intermediate.pem(),
            leaf_pem: leaf.pem(),
            leaf_key_pem: leaf_key.serialize_pem(),
            chain_der: vec![leaf.der().clone(), intermediate.der().clone()],
            leaf_key_der: leaf_key.serialize_der(),
        }
    }

    /// The root certificate (PEM).
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// Leaf then intermediate (PEM): what a server presents.
    pub fn chain_pem(&self) -> String {
        format!("{}{}", self.leaf_pem, self.intermediate_pem)
    }

    /// The leaf's private key (PKCS#8 PEM).
    pub fn leaf_key_pem(&self) -> &str {
        &self.leaf_key_pem
    }

    /// A rustls server configuration presenting leaf + intermediate (ring provider, TLS 1.2 and 1.3).
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.leaf_key_der.clone().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(self.chain_der.clone(), key)
            .expect("server certificate and key");
        Arc::new(config)
    }

    /// Writes `ca.pem`, `server-chain.pem` and `server-key.pem` (mode 0600) into `dir`.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<PkiFiles> {
        let files = PkiFiles {
            ca: dir.join("ca.pem"),
            chain: dir.join("server-chain.pem"),
            key: dir.join("server-key.pem"),
        };
        std::fs::write(&files.ca, &self.root_pem)?;
        std::fs::write(&files.chain, self.chain_pem())?;
        std::fs::write(&files.key, &self.leaf_key_pem)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&files.key, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(files)
    }
}

fn ca_params(common_name: &str, path_len: Option<u8>) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(common_name);
    params.is_ca = IsCa::Ca(path_len.map_or(BasicConstraints::Unconstrained, BasicConstraints::Constrained));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
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
