//! Entry points for the fuzz targets in `fuzz/` (its own workspace): the private readers of untrusted input —
//! the metadata endpoints' credentials JSON, the container endpoint's error bodies, `credential_process` output,
//! the SSO token cache and SSO-OIDC's `CreateToken` answers. Not part of the API; they only forward to the real
//! code.

use std::path::Path;
use std::time::SystemTime;

use crate::providers::sso::{self, Registration, SsoConfig};
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

/// Reads an SSO token cache file (as `aws sso login` writes it): its expiry.
pub fn sso_cache_entry(text: &str) -> Result<SystemTime, String> {
    sso::parse_entry(text, Path::new("cache.json"), "run `aws sso login`").map(|entry| entry.expiry)
}

/// Reads an SSO-OIDC `CreateToken` answer (HTTP `status`, `body`) at `now`, for a request that sent
/// `client_secret` and `refresh_token`: the cache entry it gives (JSON) and its expiry.
pub fn sso_create_token(
    status: u16,
    body: &[u8],
    now: SystemTime,
    client_secret: &str,
    refresh_token: &str,
) -> Result<(String, SystemTime), String> {
    let config = SsoConfig {
        session_name: Some("fuzz".to_owned()),
        start_url: "https://d-fuzz.awsapps.com/start".to_owned(),
        region: "us-east-1".to_owned(),
        account_id: None,
        role_name: None,
    };
    let registration = Registration {
        client_id: "client",
        client_secret,
        expires_at: "2099-01-01T00:00:00Z",
        refresh_token,
    };
    sso::read_create_token(status, body, "CreateToken", now, &config, &registration)
        .map(|entry| (serde_json::Value::Object(entry.fields).to_string(), entry.expiry))
}
