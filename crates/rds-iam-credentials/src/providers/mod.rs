//! The credential sources, one module each.

mod environment;
mod profile;

pub use environment::EnvironmentProvider;
pub use profile::ProfileProvider;
