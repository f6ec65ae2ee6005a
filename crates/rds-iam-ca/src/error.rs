//! [`Error`]: why a bundle could not be located, downloaded, verified or stored.

use std::path::PathBuf;
use std::time::Duration;

use crate::verify::{Received, VerifyError};

/// Why a bundle operation failed. `Display` says what failed and what to do; [`std::error::Error::source`] carries
/// the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not a region name.
    #[error("{region:?} is not an AWS region name (expected something like eu-west-1)")]
    BadRegion {
        /// What was given.
        region: String,
    },
    /// No public bundle host is known for the partition.
    #[error(
        "no public RDS CA bundle host is known for partition {partition}: pass a mirror's base URL \
         (RDS_IAM_CA_BASE_URL) or verify a bundle file you already have"
    )]
    UnknownHost {
        /// The partition.
        partition: String,
    },
    /// A bundle that expired in 2024 was asked for.
    #[error("{}", crate::source::retired_advice(name))]
    Retired {
        /// The retired file name.
        name: &'static str,
    },
    /// Only HTTPS downloads are allowed.
    #[error("refusing to download a CA bundle over anything but HTTPS: {url}")]
    NotHttps {
        /// The URL.
        url: String,
    },
    /// No connection, TLS failure, broken transfer.
    #[error(
        "downloading {url} failed: {reason} (behind a TLS-inspecting proxy? trust its root with \
         RDS_IAM_CA_DOWNLOAD_ROOT)"
    )]
    Download {
        /// The URL.
        url: String,
        /// The cause.
        reason: String,
    },
    /// The server did not answer in time.
    #[error("{url} did not answer within {after:?}: check the network or try again")]
    Timeout {
        /// The URL.
        url: String,
        /// The limit.
        after: Duration,
    },
    /// The body was larger than the cap.
    #[error("{url} sent more than {limit} bytes, too much for a CA bundle: check the URL")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: usize,
    },
    /// A status other than 200 or 304.
    #[error("{url} answered HTTP {status} ({received}): check the region, or the mirror's URL")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// What came with it.
        received: Received,
    },
    /// The server answered 304 to a request that had no validators.
    #[error(
        "{url} answered 304 Not Modified, but there is no stored copy: download it unconditionally (Refresh::Force)"
    )]
    UnexpectedNotModified {
        /// The URL.
        url: String,
    },
    /// The bundle (downloaded or on disk) failed verification.
    #[error("the CA bundle from {from} was rejected")]
    Rejected {
        /// A URL or a path.
        from: String,
        /// What is wrong with it.
        #[source]
        source: VerifyError,
    },
    /// Reading or writing the cache.
    #[error("{action} {path} failed: check the cache directory (RDS_IAM_CACHE_DIR)", path = path.display())]
    Io {
        /// What was being done: `reading`, `writing`, …
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The cache folder can be written by group or others (Unix), so another user could swap the bundle TLS
    /// trusts. See [`BundleStore`](crate::BundleStore#permissions).
    #[error(
        "refusing the CA bundle cache {path}: group or others can write it (mode {mode:04o}), so another user could \
         swap the bundle TLS trusts; run `chmod go-w {path}` or set RDS_IAM_CACHE_DIR to a folder only you can write",
        path = path.display()
    )]
    InsecureCacheDir {
        /// The folder.
        path: PathBuf,
        /// Its permission bits (`st_mode & 0o7777`).
        mode: u32,
    },
    /// No cache directory could be determined.
    #[error("no cache directory: set RDS_IAM_CACHE_DIR or HOME")]
    NoCacheDir,
}
