//! The Amazon RDS CA bundle: URLs, HTTPS download, X.509 verification at a given time, and an on-disk cache.
// The crate guide is README.md, included so that its examples run as doctests.
#![doc = include_str!("../README.md")]

mod amazon;
mod download;
mod error;
mod source;
mod store;
mod time_fmt;
mod verify;

pub use amazon::{AMAZON_TRUST_SERVICES_FILE, amazon_trust_services_pem};
pub use download::DownloadSettings;
pub use error::Error;
pub use source::{BundleSource, RETIRED_BUNDLES, retired_advice, retired_bundle};
pub use store::{Bundle, BundleStore, CACHE_DIR_VAR, Outcome, Refresh};
pub use verify::{
    BundleReport, CertInfo, KeyType, Received, ServerCertificate, VerifyError, VerifyOptions,
    describe_server_certificate, verify_bundle,
};
