//! [`TestPki`]: a throwaway root → intermediate → leaf chain, generated with rcgen at test time.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
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
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf = leaf_params
            .signed_by(&leaf_key, &intermediate_issuer)
            .expect("sign leaf");

        TestPki {
            root_pem: root.pem(),
            intermediate_pem: intermediate.pem(),
            leaf_pem: leaf.pem(),
            leaf_key_pem: leaf_key.serialize_pem(),
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

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "rds-iam tests");
    dn
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
