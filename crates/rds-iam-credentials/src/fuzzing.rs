//! Entry points for the fuzz targets in `fuzz/` (its own workspace): the private readers of untrusted input —
//! the metadata endpoints' credentials JSON, the container endpoint's error bodies and `credential_process`
//! output. Not part of the API; they only forward to the real code.

use std::time::SystemTime;

use crate::providers::{ecs, metadata, process};
use crate::{Credentials, Secret};

/// Reads an IMDS credentials document (`Token` and `Expiration` required), as `ImdsProvider` does.
pub fn imds_credentials(body: &[u8]) -> Result<Credentials, String> {
    metadata::parse_credentials(body, metadata::Temporary::Required, "fuzz".to_owned())
}

/// Reads a container (ECS / EKS Pod Identity) credentials document (`Token` and `Expiration` optional).
pub fn container_credentials(body: &[u8]) -> Result<Credentials, String> {
    metadata::parse_credentials(body, metadata::Temporary::Optional, "fuzz".to_owned())
}

/// The description of a container endpoint's error body, with `authorization` redacted.
pub fn container_error_detail(body: &[u8], authorization: Option<&str>) -> String {
    let token = authorization.map(|t| Secret::new(t.to_owned()));
    ecs::error_detail(body, token.as_ref())
}

/// Reads `credential_process` output at `now`.
pub fn process_credentials(stdout: &[u8], now: SystemTime) -> Result<Credentials, String> {
    process::parse_output(stdout, now)
}
