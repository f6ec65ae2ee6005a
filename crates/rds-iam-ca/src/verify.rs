//! Bundle verification at a given time: [`verify_bundle`], its [`VerifyOptions`], the [`BundleReport`] and the
//! [`VerifyError`]s.

use std::collections::BTreeSet;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rds_iam_token::rfc3339;
use x509_parser::certificate::X509Certificate;
use x509_parser::pem::Pem;
use x509_parser::prelude::{ASN1Time, FromDer};
use x509_parser::public_key::PublicKey;

use crate::time_fmt::date;

/// What [`verify_bundle`] checks besides the fixed rules.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// The bundle must hold a valid root for this region (e.g. `eu-west-1`).
    pub region: Option<String>,
    /// Warn about roots that expire within this long (default 90 days).
    pub warn_within: Duration,
    /// When not empty, every valid certificate's SHA-256 (of its DER) must be one of these (lowercase hex).
    pub pins: Vec<String>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            region: None,
            warn_within: Duration::from_secs(90 * 86_400),
            pins: Vec::new(),
        }
    }
}

impl VerifyOptions {
    /// Requires a valid root for `region`.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Warns about roots expiring within `within`.
    pub fn with_expiry_warning(mut self, within: Duration) -> Self {
        self.warn_within = within;
        self
    }

    /// Pins a certificate by the SHA-256 of its DER (hex; `:` separators and case are ignored).
    pub fn with_pin(mut self, sha256_hex: &str) -> Self {
        self.pins.push(
            sha256_hex
                .chars()
                .filter(|c| *c != ':')
                .collect::<String>()
                .to_ascii_lowercase(),
        );
        self
    }
}

/// The key type of a root, read from its public key: what the RDS CA names (`rds-ca-rsa2048-g1`, …) carry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// RSA, 2048-bit modulus.
    Rsa2048,
    /// RSA, 4096-bit modulus.
    Rsa4096,
    /// ECDSA on P-384.
    Ecc384,
    /// Anything else, e.g. `RSA3072`, `ECC256`.
    Other(String),
}

impl KeyType {
    /// `RSA2048`, `RSA4096`, `ECC384` (the spelling of the RDS CA names), or the other type's name.
    pub fn as_str(&self) -> &str {
        match self {
            KeyType::Rsa2048 => "RSA2048",
            KeyType::Rsa4096 => "RSA4096",
            KeyType::Ecc384 => "ECC384",
            KeyType::Other(name) => name,
        }
    }

    fn from_name(name: &str) -> KeyType {
        match name {
            "RSA2048" => KeyType::Rsa2048,
            "RSA4096" => KeyType::Rsa4096,
            "ECC384" => KeyType::Ecc384,
            other => KeyType::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One certificate of a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertInfo {
    /// The subject's common name (or the whole subject if it has none).
    pub subject: String,
    /// The region named in the subject (`Amazon RDS eu-west-1 Root CA RSA2048 G1` → `eu-west-1`).
    pub region: Option<String>,
    /// The key type, from the public key.
    pub key_type: KeyType,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
    /// SHA-256 of the DER, lowercase hex.
    pub sha256: String,
    /// Subject = issuer and the certificate verifies its own signature.
    pub self_signed: bool,
}

/// What [`verify_bundle`] found: the usable certificates, the skipped ones, and warnings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BundleReport {
    /// Valid self-signed roots, in bundle order.
    pub roots: Vec<CertInfo>,
    /// Valid CA certificates issued by another certificate of the bundle.
    pub intermediates: Vec<CertInfo>,
    /// Certificates past their end of validity: skipped.
    pub expired: Vec<CertInfo>,
    /// Certificates whose validity has not started: skipped.
    pub not_yet_valid: Vec<CertInfo>,
    /// Things a person should know (skipped certificates, roots expiring soon, names that disagree with keys).
    pub warnings: Vec<String>,
}

impl BundleReport {
    /// The regions the valid roots cover, sorted.
    pub fn regions(&self) -> BTreeSet<String> {
        self.roots.iter().filter_map(|c| c.region.clone()).collect()
    }

    /// The key types of the valid roots, sorted.
    pub fn key_types(&self) -> BTreeSet<KeyType> {
        self.roots.iter().map(|c| c.key_type.clone()).collect()
    }

    /// The earliest end of validity among the valid roots and intermediates.
    pub fn earliest_expiry(&self) -> Option<&CertInfo> {
        self.roots.iter().chain(&self.intermediates).min_by_key(|c| c.not_after)
    }
}

impl fmt::Display for BundleReport {
    /// A summary for people: counts, key types, regions, earliest expiry, warnings (one per line).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "valid roots:     {}", self.roots.len())?;
        if !self.intermediates.is_empty() {
            writeln!(f, "intermediates:   {}", self.intermediates.len())?;
        }
        writeln!(f, "expired skipped: {}", self.expired.len())?;
        if !self.not_yet_valid.is_empty() {
            writeln!(f, "not yet valid:   {}", self.not_yet_valid.len())?;
        }
        let types: Vec<String> = self.key_types().iter().map(KeyType::to_string).collect();
        writeln!(f, "key types:       {}", types.join(", "))?;
        let regions: Vec<String> = self.regions().into_iter().collect();
        if regions.is_empty() {
            writeln!(f, "regions:         none (no root names an RDS region)")?;
        } else {
            writeln!(f, "regions ({}):    {}", regions.len(), regions.join(", "))?;
        }
        if let Some(first) = self.earliest_expiry() {
            writeln!(f, "earliest expiry: {} ({})", rfc3339(first.not_after), first.subject)?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        Ok(())
    }
}

/// What was received, for messages about content that is not a bundle: size, content type, first bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Received {
    /// Size in bytes.
    pub size: usize,
    /// The `Content-Type` header, when the bytes came over HTTP.
    pub content_type: Option<String>,
    /// The first bytes, printable (control characters escaped), at most 60 characters, with every run of 16 or
    /// more base64 characters shown as `…`.
    pub start: String,
}

/// How many characters of what was received a message shows.
const SHOWN: usize = 60;
/// A run of this many base64 characters (`A-Z a-z 0-9 + / =`) is hidden: it may be a key, a token or a password.
const HIDDEN_RUN: usize = 16;

impl Received {
    /// What `bytes` are, for a message. The start is shown because it tells an HTML error page or a proxy's login
    /// page from a bundle; but the file may be the wrong one — a credentials file, a token file — so long base64
    /// runs (secret keys, session and bearer tokens, JWTs) are replaced by `…`, even where they cross the cut.
    pub(crate) fn of(bytes: &[u8]) -> Received {
        let read = bytes.len().min(4 * SHOWN);
        let text = String::from_utf8_lossy(&bytes[..read]);
        let mut masked = String::new();
        let mut run = String::new();
        let flush = |run: &mut String, masked: &mut String, hide: bool| {
            if hide || run.chars().count() >= HIDDEN_RUN {
                masked.push('…');
            } else {
                masked.push_str(run);
            }
            run.clear();
        };
        for c in text.chars() {
            if c.is_ascii_alphanumeric() || "+/=".contains(c) {
                run.push(c);
            } else {
                if !run.is_empty() {
                    flush(&mut run, &mut masked, false);
                }
                masked.push(c);
            }
        }
        if !run.is_empty() {
            // A run that reaches the end of what was read may go on beyond it.
            flush(&mut run, &mut masked, read < bytes.len());
        }
        let start: String = masked.chars().take(SHOWN).collect();
        Received {
            size: bytes.len(),
            content_type: None,
            start: start.escape_debug().to_string(),
        }
    }
}

impl fmt::Display for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "received {} bytes", self.size)?;
        if let Some(ct) = &self.content_type {
            write!(f, " of {ct}")?;
        }
        if self.size > 0 {
            write!(f, " starting with \"{}\"", self.start)?;
        }
        Ok(())
    }
}

/// Why a bundle was rejected. Nothing here is secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No PEM block at all: an HTML error page, an empty file, something else.
    #[error("not a PEM certificate bundle ({received}): check the URL or file, or a proxy rewriting the download")]
    NotPem {
        /// What it was.
        received: Received,
    },
    /// A block that is cut off, not base64, not a `CERTIFICATE`, or whose DER does not parse.
    #[error(
        "certificate {index} of the bundle is unreadable ({reason}; {received}): the file is truncated or corrupt, \
         download it again"
    )]
    Malformed {
        /// 1-based position in the bundle.
        index: usize,
        /// What is wrong.
        reason: String,
        /// What the whole input was.
        received: Received,
    },
    /// A certificate that is not a CA (no basic constraints `CA:TRUE`, or no keyCertSign).
    #[error("certificate {index} ({subject}) is not a CA certificate ({missing}): this is not an RDS CA bundle")]
    NotCa {
        /// 1-based position.
        index: usize,
        /// Its subject.
        subject: String,
        /// `CA:TRUE` or `keyCertSign`.
        missing: &'static str,
    },
    /// A signature that does not verify.
    #[error(
        "certificate {index} ({subject}) has a signature that does not verify ({reason}): the bundle was altered or \
         corrupted, do not use it"
    )]
    BadSignature {
        /// 1-based position.
        index: usize,
        /// Its subject.
        subject: String,
        /// The verifier's reason.
        reason: String,
    },
    /// A non-self-signed certificate whose issuer is not in the bundle.
    #[error("certificate {index} ({subject}) was issued by {issuer}, which is not in the bundle")]
    UnknownIssuer {
        /// 1-based position.
        index: usize,
        /// Its subject.
        subject: String,
        /// Its issuer.
        issuer: String,
    },
    /// A valid certificate that is not among the configured pins.
    #[error("certificate {index} ({subject}, sha256 {sha256}) is not one of the pinned certificates")]
    NotPinned {
        /// 1-based position.
        index: usize,
        /// Its subject.
        subject: String,
        /// Its fingerprint.
        sha256: String,
    },
    /// Every root is expired or not yet valid.
    #[error("no valid root certificate at {at} ({skipped} expired or not yet valid): download a current bundle")]
    NoValidRoot {
        /// The time of the check (RFC 3339).
        at: String,
        /// How many were skipped.
        skipped: usize,
    },
    /// The requested region has no valid root in the bundle.
    #[error("the bundle has no valid root for {region} (it covers: {covered}): use the global bundle or {region}'s")]
    RegionMissing {
        /// The region asked for.
        region: String,
        /// The regions it does cover.
        covered: String,
    },
}

impl VerifyError {
    /// Adds the HTTP content type to the description of what was received.
    pub(crate) fn with_content_type(mut self, content_type: Option<&str>) -> VerifyError {
        if let VerifyError::NotPem { received } | VerifyError::Malformed { received, .. } = &mut self {
            received.content_type = content_type.map(str::to_owned);
        }
        self
    }
}

/// Verifies a PEM bundle of CA certificates at `now`.
///
/// Every PEM block must be a `CERTIFICATE` that parses, with `CA:TRUE` and keyCertSign; self-signed certificates
/// must verify their own signature, others against their issuer in the bundle. Expired (or not yet valid)
/// certificates are skipped with a warning; the bundle fails only when no valid root remains, or when
/// `options.region` has none.
///
/// ```
/// use rds_iam_ca::{verify_bundle, VerifyError, VerifyOptions};
///
/// let err = verify_bundle(b"<html>Access Denied</html>", std::time::SystemTime::UNIX_EPOCH, &VerifyOptions::default())
///     .unwrap_err();
/// assert!(matches!(err, VerifyError::NotPem { .. }));
/// assert!(err.to_string().contains("<html>Access Denied"));
/// ```
pub fn verify_bundle(pem: &[u8], now: SystemTime, options: &VerifyOptions) -> Result<BundleReport, VerifyError> {
    let mut blocks = Vec::new();
    for (i, block) in Pem::iter_from_buffer(pem).enumerate() {
        let malformed = |reason: String| VerifyError::Malformed {
            index: i + 1,
            reason,
            received: Received::of(pem),
        };
        let block = block.map_err(|e| malformed(pem_error(&e)))?;
        if block.label != "CERTIFICATE" {
            return Err(malformed(format!("a {} block, not a CERTIFICATE", block.label)));
        }
        blocks.push(block);
    }
    if blocks.is_empty() {
        return Err(VerifyError::NotPem {
            received: Received::of(pem),
        });
    }
    let mut certs = Vec::with_capacity(blocks.len());
    for (i, block) in blocks.iter().enumerate() {
        let (rest, cert) = X509Certificate::from_der(&block.contents).map_err(|e| VerifyError::Malformed {
            index: i + 1,
            reason: format!("not an X.509 certificate: {e}"),
            received: Received::of(pem),
        })?;
        if !rest.is_empty() {
            return Err(VerifyError::Malformed {
                index: i + 1,
                reason: format!("{} bytes after the certificate", rest.len()),
                received: Received::of(pem),
            });
        }
        certs.push(cert);
    }

    let at = asn1_time(now);
    let mut report = BundleReport::default();
    for (i, cert) in certs.iter().enumerate() {
        let index = i + 1;
        let info = check_one(index, cert, &blocks[i].contents, &certs)?;
        if cert.validity().not_after < at {
            report
                .warnings
                .push(format!("skipped {}: expired on {}", info.subject, date(info.not_after)));
            report.expired.push(info);
            continue;
        }
        if cert.validity().not_before > at {
            report.warnings.push(format!(
                "skipped {}: not valid before {}",
                info.subject,
                date(info.not_before)
            ));
            report.not_yet_valid.push(info);
            continue;
        }
        if !options.pins.is_empty() && !options.pins.contains(&info.sha256) {
            return Err(VerifyError::NotPinned {
                index,
                subject: info.subject,
                sha256: info.sha256,
            });
        }
        if let Ok(left) = info.not_after.duration_since(now)
            && left < options.warn_within
        {
            report.warnings.push(format!(
                "{} expires on {} (in {} days)",
                info.subject,
                date(info.not_after),
                left.as_secs() / 86_400
            ));
        }
        if let Some(named) = named_key_type(&info.subject)
            && named != info.key_type
        {
            report.warnings.push(format!(
                "{} is named {named} but its key is {}",
                info.subject, info.key_type
            ));
        }
        if info.self_signed {
            report.roots.push(info);
        } else {
            report.intermediates.push(info);
        }
    }
    if report.roots.is_empty() {
        return Err(VerifyError::NoValidRoot {
            at: rfc3339(now),
            skipped: report.expired.len() + report.not_yet_valid.len(),
        });
    }
    if let Some(region) = &options.region {
        let regions = report.regions();
        if !regions.contains(region) {
            let covered: Vec<String> = regions.into_iter().collect();
            return Err(VerifyError::RegionMissing {
                region: region.clone(),
                covered: if covered.is_empty() {
                    "no named region".to_owned()
                } else {
                    covered.join(", ")
                },
            });
        }
    }
    Ok(report)
}

/// The structural checks (everything but time and pins) of certificate `index`.
fn check_one(
    index: usize,
    cert: &X509Certificate<'_>,
    der: &[u8],
    all: &[X509Certificate<'_>],
) -> Result<CertInfo, VerifyError> {
    let subject = common_name(cert);
    let ca = cert.basic_constraints().ok().flatten().is_some_and(|bc| bc.value.ca);
    if !ca {
        return Err(VerifyError::NotCa {
            index,
            subject,
            missing: "basic constraints CA:TRUE",
        });
    }
    let key_cert_sign = cert
        .key_usage()
        .ok()
        .flatten()
        .is_some_and(|ku| ku.value.key_cert_sign());
    if !key_cert_sign {
        return Err(VerifyError::NotCa {
            index,
            subject,
            missing: "key usage keyCertSign",
        });
    }
    let self_issued = cert.subject().as_raw() == cert.issuer().as_raw();
    let bad_signature = |reason: String| VerifyError::BadSignature {
        index,
        subject: subject.clone(),
        reason,
    };
    if self_issued {
        cert.verify_signature(None).map_err(|e| bad_signature(e.to_string()))?;
    } else {
        let issuers: Vec<&X509Certificate<'_>> = all
            .iter()
            .filter(|c| c.subject().as_raw() == cert.issuer().as_raw())
            .collect();
        if issuers.is_empty() {
            return Err(VerifyError::UnknownIssuer {
                index,
                subject,
                issuer: cert.issuer().to_string(),
            });
        }
        let verified = issuers
            .iter()
            .any(|issuer| cert.verify_signature(Some(issuer.public_key())).is_ok());
        if !verified {
            return Err(bad_signature(format!("not signed by {}", cert.issuer())));
        }
    }
    Ok(CertInfo {
        region: region_in(&subject),
        key_type: key_type(cert),
        not_before: system_time(cert.validity().not_before),
        not_after: system_time(cert.validity().not_after),
        sha256: hex(ring::digest::digest(&ring::digest::SHA256, der).as_ref()),
        self_signed: self_issued,
        subject,
    })
}

/// A server certificate as people check it: who it is for, who issued it, and when it is valid.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerCertificate {
    /// The subject's common name (or the whole subject if it has none).
    pub subject: String,
    /// The issuer's common name (or the whole issuer if it has none).
    pub issuer: String,
    /// The DNS names and IP addresses of the subject alternative name extension.
    pub names: Vec<String>,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
}

/// Reads one DER certificate (as a TLS server presents it) into a [`ServerCertificate`]; `None` when it is not a
/// readable X.509 certificate.
pub fn describe_server_certificate(der: &[u8]) -> Option<ServerCertificate> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                    GeneralName::IPAddress(ip) => match ip.len() {
                        4 => <[u8; 4]>::try_from(*ip)
                            .ok()
                            .map(|a| std::net::IpAddr::from(a).to_string()),
                        16 => <[u8; 16]>::try_from(*ip)
                            .ok()
                            .map(|a| std::net::IpAddr::from(a).to_string()),
                        _ => None,
                    },
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let issuer = name_of(cert.issuer());
    Some(ServerCertificate {
        subject: common_name(&cert),
        issuer,
        names,
        not_before: system_time(cert.validity().not_before),
        not_after: system_time(cert.validity().not_after),
    })
}

fn pem_error(e: &x509_parser::error::PEMError) -> String {
    use x509_parser::error::PEMError;
    match e {
        PEMError::IncompletePEM => "the PEM block has no END line".to_owned(),
        PEMError::Base64DecodeError => "the PEM block is not valid base64".to_owned(),
        PEMError::InvalidHeader => "a PEM BEGIN line is malformed".to_owned(),
        other => other.to_string(),
    }
}

fn common_name(cert: &X509Certificate<'_>) -> String {
    name_of(cert.subject())
}

/// A distinguished name's common name, or the whole name if it has none.
fn name_of(name: &x509_parser::x509::X509Name<'_>) -> String {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| name.to_string())
}

fn key_type(cert: &X509Certificate<'_>) -> KeyType {
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => KeyType::from_name(&format!("RSA{}", rsa.key_size())),
        Ok(PublicKey::EC(point)) => KeyType::from_name(&format!("ECC{}", point.key_size())),
        Ok(_) => KeyType::Other(cert.public_key().algorithm.algorithm.to_id_string()),
        Err(_) => KeyType::Other("unreadable key".to_owned()),
    }
}

/// The key type a subject names (`… Root CA RSA4096 G1` → RSA4096), if it names one.
fn named_key_type(subject: &str) -> Option<KeyType> {
    subject
        .split_whitespace()
        .find(|w| {
            (w.starts_with("RSA") || w.starts_with("ECC")) && w.len() > 3 && w[3..].bytes().all(|b| b.is_ascii_digit())
        })
        .map(KeyType::from_name)
}

/// The first word of `subject` shaped like an AWS region ([`rds_iam_token::is_region`]).
pub(crate) fn region_in(subject: &str) -> Option<String> {
    subject
        .split_whitespace()
        .find(|w| rds_iam_token::is_region(w))
        .map(str::to_owned)
}

fn asn1_time(t: SystemTime) -> ASN1Time {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    // Out-of-range times clamp to the epoch (no certificate in a bundle predates it) or to the end of year 9999
    // (none outlives it).
    ASN1Time::from_timestamp(secs).unwrap_or_else(|_| {
        ASN1Time::new(if secs < 0 {
            time::OffsetDateTime::UNIX_EPOCH
        } else {
            time::PrimitiveDateTime::MAX.assume_utc()
        })
    })
}

/// A certificate's time (from a downloaded bundle or a server: untrusted) as a `SystemTime`, for reports. The
/// checks compare `ASN1Time`s; a time the platform cannot hold (before 1601 on Windows) is reported as the epoch
/// instead of panicking.
fn system_time(t: ASN1Time) -> SystemTime {
    let secs = t.timestamp();
    let magnitude = Duration::from_secs(secs.unsigned_abs());
    let time = if secs >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    };
    time.unwrap_or(UNIX_EPOCH)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_shows_the_start_but_no_secret() {
        let html = Received::of(b"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title>");
        assert_eq!(html.start, r"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title>");
        // A credentials file or a token file given as a bundle: the secret key and the token are not shown.
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let credentials = Received::of(format!("[default]\naws_secret_access_key = {secret}\n").as_bytes());
        assert_eq!(credentials.start, r"[default]\naws_secret_access_key = …\n");
        let jwt =
            Received::of(b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXBwIn0.c2lnbmF0dXJlX2J5dGVz");
        assert_eq!(jwt.start, "….….…");
        // Short words stay; a run cut off at the end of what is shown is hidden all the same.
        let long = format!("{}{}", "a ".repeat(25), "Q".repeat(500));
        let start = Received::of(long.as_bytes()).start;
        assert!(!start.contains('Q') && start.ends_with('…'), "{start}");
        assert_eq!(Received::of(b"short").start, "short");
    }

    #[test]
    fn regions_in_subjects() {
        assert_eq!(
            region_in("Amazon RDS eu-west-1 Root CA RSA2048 G1").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            region_in("Amazon RDS Beta us-east-1 Root CA ECC384 G1").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(
            region_in("Amazon RDS us-gov-west-1 Root CA RSA4096 G1").as_deref(),
            Some("us-gov-west-1")
        );
        assert_eq!(region_in("Amazon RDS Root 2019 CA"), None);
        assert_eq!(region_in("Amazon RDS rds-ca-2019 US-EAST-1 Root CA"), None);
    }

    /// Found with the `ca_bundle` fuzz target's input format: a check time past year 9999 was taken as the epoch
    /// (every root "not yet valid"), and its `NoValidRoot` message panicked.
    #[test]
    fn times_past_year_9999() {
        let far = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        let pem = rds_iam_testkit::RdsLikeCa::root("us-east-1").pem();
        let err = verify_bundle(pem.as_bytes(), far, &VerifyOptions::default()).unwrap_err();
        assert!(matches!(err, VerifyError::NoValidRoot { skipped: 1, .. }), "{err}");
        assert!(asn1_time(far) > asn1_time(UNIX_EPOCH + Duration::from_secs(2_000_000_000)));
    }

    /// Security review, finding 7: certificate times at both ends of X.509's range (years 0 and 9999) convert
    /// without panicking. (On Linux both fit a `SystemTime`; on Windows year 0 panicked and is now the epoch.)
    #[test]
    fn certificate_times_at_the_ends_of_the_range() {
        let last = ASN1Time::from_timestamp(253_402_300_799).unwrap(); // 9999-12-31T23:59:59Z
        assert_eq!(system_time(last), UNIX_EPOCH + Duration::from_secs(253_402_300_799));
        let first = ASN1Time::from_timestamp(-62_167_219_200).unwrap(); // 0000-01-01T00:00:00Z
        let shown = system_time(first);
        assert!(
            shown == UNIX_EPOCH || shown == UNIX_EPOCH - Duration::from_secs(62_167_219_200),
            "{shown:?}"
        );
    }

    #[test]
    fn named_key_types() {
        assert_eq!(
            named_key_type("Amazon RDS x Root CA RSA4096 G1"),
            Some(KeyType::Rsa4096)
        );
        assert_eq!(named_key_type("Amazon RDS x Root CA ECC384 G1"), Some(KeyType::Ecc384));
        assert_eq!(named_key_type("Amazon RDS Root 2019 CA"), None);
    }
}
