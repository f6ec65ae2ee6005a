//! IAM Identity Center (SSO): the token `aws sso login` cached in `~/.aws/sso/cache/<sha1>.json`, exchanged for
//! role credentials with the portal's `GetRoleCredentials`.

use std::io;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use percent_encoding::utf8_percent_encode;
use serde_json::Value;

use crate::http::Http;
use crate::sts::{configured_endpoint, default_endpoint, parse_rfc3339};
use crate::{Credentials, CredentialsError, ProviderConfig, Secret, profile};

/// An SSO configuration from a profile (legacy `sso_start_url` form) or a profile plus its `[sso-session]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SsoConfig {
    /// `sso_session`, when the profile uses the `[sso-session NAME]` form (the token cache is keyed by it).
    pub(crate) session_name: Option<String>,
    pub(crate) start_url: String,
    pub(crate) region: String,
    pub(crate) account_id: Option<String>,
    pub(crate) role_name: Option<String>,
}

impl SsoConfig {
    /// The token cache file: `~/.aws/sso/cache/<sha1 hex of the session name or start URL>.json`.
    pub(crate) fn cache_file(&self, config: &ProviderConfig) -> PathBuf {
        let key = self.session_name.as_deref().unwrap_or(&self.start_url);
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, key.as_bytes());
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        let home = profile::home(config.env()).unwrap_or_else(|| "~".to_owned());
        [home.as_str(), ".aws", "sso", "cache", &format!("{hex}.json")]
            .iter()
            .collect()
    }
}

const URL_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Role credentials for `sso`, using the cached token. `profile_name` goes into the `aws sso login` hint.
pub(crate) fn provide(
    config: &ProviderConfig,
    sso: &SsoConfig,
    profile_name: &str,
    source_name: &str,
) -> Result<Credentials, CredentialsError> {
    let invalid = |message: String| CredentialsError::invalid(source_name, message);
    let login = format!("run `aws sso login --profile {profile_name}`");
    let (Some(account_id), Some(role_name)) = (&sso.account_id, &sso.role_name) else {
        return Err(invalid(
            "the profile sets no sso_account_id and sso_role_name: add both to get role credentials".into(),
        ));
    };
    let token = cached_token(config, sso, &login).map_err(invalid)?;

    let portal =
        configured_endpoint(config.env(), "SSO").unwrap_or_else(|| default_endpoint("portal.sso", &sso.region));
    let portal = portal.trim_end_matches('/');
    let url = format!(
        "{portal}/federation/credentials?role_name={}&account_id={}",
        utf8_percent_encode(role_name, URL_VALUE),
        utf8_percent_encode(account_id, URL_VALUE)
    );
    let what = format!("sso GetRoleCredentials for role {role_name} in account {account_id} at {portal}");
    let response = Http::new(config.service_http().clone())
        .send(
            "GET",
            &url,
            &[("x-amz-sso_bearer_token", token.expose().as_str())],
            None,
            None,
        )
        .map_err(|e| invalid(format!("{what} failed: {e}")))?;
    let json: Option<Value> = serde_json::from_slice(&response.body).ok();
    if !response.is_success() {
        let message = json
            .as_ref()
            .and_then(|j| j.get("message").or_else(|| j.get("Message")))
            .and_then(Value::as_str)
            .unwrap_or("no message");
        let hint = match response.status {
            401 => format!("the cached token was not accepted: {login}"),
            403 => "check that the role exists and is assigned to you in this account".to_owned(),
            _ => "try again later".to_owned(),
        };
        return Err(invalid(format!(
            "{what} was refused (HTTP {}): {message}; {hint}",
            response.status
        )));
    }
    let role = json
        .as_ref()
        .and_then(|j| j.get("roleCredentials"))
        .ok_or_else(|| invalid(format!("{what} answered without roleCredentials")))?;
    let field = |key: &str| {
        role.get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| invalid(format!("{what} answered without roleCredentials.{key}")))
    };
    let expiration = role
        .get("expiration")
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid(format!("{what} answered without roleCredentials.expiration")))?;
    Ok(Credentials::new(field("accessKeyId")?, field("secretAccessKey")?)
        .with_session_token(field("sessionToken")?)
        .with_expiry(SystemTime::UNIX_EPOCH + Duration::from_millis(expiration))
        .with_source(source_name))
}

/// The access token from the cache file, if present and not expired.
fn cached_token(config: &ProviderConfig, sso: &SsoConfig, login: &str) -> Result<Secret<String>, String> {
    let path = sso.cache_file(config);
    let what = match &sso.session_name {
        Some(name) => format!("sso-session {name}"),
        None => sso.start_url.clone(),
    };
    let text = match config.fs().read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(format!(
                "no cached SSO token for {what} (looked for {}): {login}",
                path.display()
            ));
        }
        Err(e) => return Err(format!("could not read the SSO token cache {}: {e}", path.display())),
    };
    let bad = |why: &str| format!("the SSO token cache {} {why}: {login}", path.display());
    let json: Value = serde_json::from_str(&text).map_err(|_| bad("is not JSON"))?;
    let token = json
        .get("accessToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("has no accessToken"))?;
    let expires_at = json
        .get("expiresAt")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("has no expiresAt"))?;
    // Older AWS CLI versions wrote `2020-06-17T10:18:08UTC`.
    let normalized = expires_at.trim().strip_suffix("UTC").map(|t| format!("{t}Z"));
    let expiry = parse_rfc3339(normalized.as_deref().unwrap_or(expires_at)).map_err(|_| bad("has a bad expiresAt"))?;
    if expiry <= config.clock().now() {
        return Err(format!(
            "the cached SSO token for {what} expired at {expires_at}: {login}"
        ));
    }
    Ok(Secret::new(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Env, Fs};

    #[test]
    fn cache_file_names() {
        let config = ProviderConfig::new(Env::from_vars([("HOME", "/h")]), Fs::from_files::<&str, &str>([]));
        let mut sso = SsoConfig {
            session_name: None,
            start_url: "https://d-abc123.awsapps.com/start".into(),
            region: "us-east-1".into(),
            account_id: None,
            role_name: None,
        };
        // `printf %s KEY | sha1sum`, as botocore computes the key.
        assert_eq!(
            sso.cache_file(&config),
            PathBuf::from("/h/.aws/sso/cache/40a89917e3175433e361b710a9d43528d7f1890a.json")
        );
        sso.session_name = Some("dev".into());
        assert_eq!(
            sso.cache_file(&config),
            PathBuf::from("/h/.aws/sso/cache/34c6fceca75e456f25e7e99531e2425c6c1de443.json")
        );
    }
}
