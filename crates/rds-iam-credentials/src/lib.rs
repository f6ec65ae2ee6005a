//! The AWS credential chain for rds-iam: blocking, no tokio runtime, and errors that say where it looked.
//!
//! - [`EnvironmentProvider`]: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
//! - [`EcsProvider`]: the ECS / EKS Pod Identity container credentials endpoint.
//! - [`ImdsProvider`]: the EC2 instance role, from the instance metadata service (IMDSv2).
//! - [`ProfileProvider`]: the selected profile of the shared `config` / `credentials` files: static keys,
//!   `credential_process`, SSO, web identity and `role_arn` chains (STS `AssumeRole`).
//! - [`WebIdentityProvider`]: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (EKS IRSA).
//! - [`DefaultChain`]: the providers in the AWS order; "not found" moves on, any other error stops.
//! - [`resolve_region`]: `AWS_REGION` > `AWS_DEFAULT_REGION` > the profile's `region`.
//! - [`profile`]: the shared-config file parser and file locations.
//!
//! Environment and files are read through [`Env`] and [`Fs`], so every provider is testable without the real
//! `HOME`.
//!
//! ```
//! use rds_iam_credentials::{DefaultChain, Env, Fs, ProvideCredentials};
//!
//! let env = Env::from_vars([("HOME", "/home/me"), ("AWS_PROFILE", "ci")]);
//! let fs = Fs::from_files([(
//!     "/home/me/.aws/credentials",
//!     "[ci]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
//! )]);
//! let creds = DefaultChain::new(env, fs).provide()?;
//! assert_eq!(creds.access_key_id(), "AKIAIOSFODNN7EXAMPLE");
//! assert_eq!(creds.source(), Some("profile ci"));
//! # Ok::<(), rds_iam_credentials::CredentialsError>(())
//! ```
//!
//! # Crate features
//! None.

mod cache;
mod chain;
mod clock;
mod config;
mod env;
mod error;
mod fs;
/// The private readers of untrusted input, for the fuzz targets in `fuzz/`.
#[doc(hidden)]
pub mod fuzzing;
#[allow(dead_code)] // used by the HTTP-based sources as they land
mod http;
pub mod profile;
mod providers;
mod region;
mod sdk;
mod sts;

pub use cache::{CachingProvider, DEFAULT_REFRESH_AHEAD};
pub use chain::DefaultChain;
pub use clock::Clock;
pub use config::ProviderConfig;
pub use env::Env;
pub use error::CredentialsError;
pub use fs::Fs;
pub use http::{HttpError, HttpSettings};
/// Runners for the metadata-endpoint conformance suites, called by `cargo xtask conformance`.
#[doc(hidden)]
pub use providers::conformance as providers_conformance;
pub use providers::{EcsProvider, EndpointMode, ImdsProvider};
pub use providers::{EnvironmentProvider, ProfileProvider, WebIdentityProvider};
pub use rds_iam_token::{Credentials, Secret};
pub use region::{ConfiguredRegion, resolve_region};
pub use sdk::SdkCredentialsProvider;

/// Something that can produce AWS credentials.
pub trait ProvideCredentials: std::fmt::Debug + Send + Sync {
    /// Loads credentials. [`CredentialsError::NotFound`] means "nothing here, try the next source"; every other
    /// error means this source is configured but broken, and a chain stops with it.
    fn provide(&self) -> Result<Credentials, CredentialsError>;
}
