//! The Amazon RDS CA bundle: where it is published, HTTPS download, X.509 verification at a given time, and an
//! on-disk cache that hands a TLS client a verified file.
//!
//! - [`BundleSource`]: the global or a regional bundle, and its URL by partition (commercial, GovCloud, China) or
//!   under a mirror's base URL.
//! - [`verify_bundle`]: every PEM block is a certificate that parses, `CA:TRUE` with keyCertSign, self-signed
//!   roots verify their own signature (others against an issuer in the bundle); expired certificates are
//!   skipped with a warning, and the bundle fails only when no valid root remains (or the requested region has
//!   none). Optional SHA-256 pins; "expires within N days" warnings. The [`BundleReport`] lists the valid roots,
//!   the skipped ones, the regions and key types covered, and the earliest expiry.
//! - [`BundleStore`]: the cache. Verified before it is written, written atomically, revalidated with ETag /
//!   Last-Modified after a refresh age, the last good copy kept when a refresh fails.
//!
//! Time and environment are arguments: nothing here reads the clock or the process environment.
//!
//! ```
//! use rds_iam_ca::{BundleSource, BundleStore, Error};
//!
//! let source = BundleSource::region("eu-west-1")?;
//! let store = BundleStore::new("/var/cache/rds-iam/ca");
//! assert_eq!(store.path(&source), std::path::Path::new("/var/cache/rds-iam/ca/eu-west-1-bundle.pem"));
//! assert_eq!(source.url(None)?, "https://truststore.pki.rds.amazonaws.com/eu-west-1/eu-west-1-bundle.pem");
//!
//! // The retired bundles are explained, not fetched.
//! let err = BundleSource::from_name("rds-combined-ca-bundle.pem").unwrap_err();
//! assert!(err.to_string().contains("expired in 2024"));
//! # Ok::<(), Error>(())
//! ```
//!
//! # Crate features
//! None. Downloads use reqwest's blocking client on rustls with the ring provider (installed as the process
//! default if the program has not chosen one).

mod download;
mod error;
mod source;
mod store;
mod time_fmt;
mod verify;

pub use download::DownloadSettings;
pub use error::Error;
pub use source::{BundleSource, RETIRED_BUNDLES, retired_advice, retired_bundle};
pub use store::{Bundle, BundleStore, CACHE_DIR_VAR, Outcome, Refresh};
pub use verify::{
    BundleReport, CertInfo, KeyType, Received, ServerCertificate, VerifyError, VerifyOptions,
    describe_server_certificate, verify_bundle,
};
