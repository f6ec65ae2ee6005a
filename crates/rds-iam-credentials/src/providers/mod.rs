//! The credential sources, one module each.

#[doc(hidden)]
pub mod conformance;
mod ecs;
mod environment;
mod imds;
mod metadata;
mod profile;

pub use ecs::EcsProvider;
pub use environment::EnvironmentProvider;
pub use imds::{EndpointMode, ImdsProvider};
pub use profile::ProfileProvider;
