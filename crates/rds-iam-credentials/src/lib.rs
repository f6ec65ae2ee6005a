//! The AWS credential chain for rds-iam: blocking, no tokio runtime, and errors that say where it looked.
// The crate guide is README.md, included so that its examples run as doctests.
#![doc = include_str!("../README.md")]

mod cache;
mod chain;
mod clock;
mod config;
mod env;
mod error;
mod fs;
/// The private readers of untrusted input, for the fuzz targets in `fuzz/` (feature `fuzzing`; not API).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod http;
pub mod profile;
mod providers;
mod region;
mod sdk;
mod sts;

pub use cache::{CachingProvider, DEFAULT_REFRESH_AHEAD, REFRESH_RETRY_INTERVAL};
pub use chain::{DefaultChain, DefaultChainBuilder};
pub use clock::Clock;
pub use config::ProviderConfig;
pub use env::Env;
pub use error::CredentialsError;
pub use fs::Fs;
pub use http::{HttpError, HttpSettings, install_crypto_provider};
/// Runners for the metadata-endpoint conformance suites, called by `cargo xtask conformance` (feature `conformance`;
/// not API).
#[cfg(feature = "conformance")]
#[doc(hidden)]
pub use providers::conformance as providers_conformance;
pub use providers::{EcsProvider, EndpointMode, ImdsProvider};
pub use providers::{EnvironmentProvider, ProfileProvider, WebIdentityProvider};
pub use rds_iam_token::{Credentials, Secret};
pub use region::{ConfiguredRegion, resolve_region};
pub use sdk::SdkCredentialsProvider;
pub use sts::{CallerIdentity, StsCheck, get_caller_identity};

/// Something that can produce AWS credentials.
pub trait ProvideCredentials: std::fmt::Debug + Send + Sync {
    /// Loads credentials. [`CredentialsError::NotFound`] means "nothing here, try the next source"; every other
    /// error means this source is configured but broken, and a chain stops with it.
    fn provide(&self) -> Result<Credentials, CredentialsError>;
}

/// A shared provider provides: one cache can serve several users (a connector, an RDS client, a check).
impl<T: ProvideCredentials + ?Sized> ProvideCredentials for std::sync::Arc<T> {
    fn provide(&self) -> Result<Credentials, CredentialsError> {
        (**self).provide()
    }
}
