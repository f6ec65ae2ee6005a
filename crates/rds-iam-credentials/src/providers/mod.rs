//! The credential sources, one module each.

#[cfg(feature = "conformance")]
#[doc(hidden)]
pub mod conformance;
pub(crate) mod ecs;
mod environment;
mod imds;
pub(crate) mod metadata;
pub(crate) mod process;
mod profile;
mod profile_chain;
pub(crate) mod sso;
mod web_identity;

pub use ecs::EcsProvider;
pub use environment::EnvironmentProvider;
pub use imds::{EndpointMode, ImdsProvider};
pub use profile::ProfileProvider;
pub use web_identity::WebIdentityProvider;

#[cfg(feature = "conformance")]
pub(crate) use profile_chain::plan_for_conformance;

use crate::{CredentialsError, ProvideCredentials, ProviderConfig};

/// The provider behind a profile's `credential_source` (`Environment`, `Ec2InstanceMetadata`, `EcsContainer`).
pub(crate) fn named_source(
    name: &str,
    config: &ProviderConfig,
) -> Result<Box<dyn ProvideCredentials>, CredentialsError> {
    let source_name = format!("credential_source {name}");
    match name {
        "Environment" => Ok(Box::new(EnvironmentProvider::new(config))),
        "Ec2InstanceMetadata" => Ok(Box::new(ImdsProvider::new(config))),
        "EcsContainer" => Ok(Box::new(EcsProvider::new(config))),
        _ => Err(CredentialsError::invalid(
            source_name,
            "unknown credential_source: use Environment, Ec2InstanceMetadata or EcsContainer",
        )),
    }
}
