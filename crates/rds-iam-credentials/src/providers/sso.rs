//! IAM Identity Center (SSO): the token `aws sso login` cached in `~/.aws/sso/cache/<sha1>.json`, exchanged for
//! role credentials with the portal's `GetRoleCredentials`; for `sso-session` profiles the token is refreshed with
//! SSO-OIDC `CreateToken` shortly before it expires and written back, as the AWS CLI does.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use percent_encoding::utf8_percent_encode;
use serde_json::{Map, Value};

use crate::http::{Http, server_text, shown_url};
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
    /// The token cache file: `~/.aws/sso/cache/<sha1 hex of the session name or start URL>.json`. `Err` when there
    /// is no home directory (never a `~` folder in the working directory).
    pub(crate) fn cache_file(&self, config: &ProviderConfig) -> Result<PathBuf, String> {
        let key = self.session_name.as_deref().unwrap_or(&self.start_url);
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, key.as_bytes());
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        let Some(home) = profile::home(config.env()) else {
            return Err(format!(
                "the SSO token cache ~/.aws/sso/cache cannot be found: {}",
                profile::NO_HOME
            ));
        };
        Ok([home.as_str(), ".aws", "sso", "cache", &format!("{hex}.json")]
            .iter()
            .collect())
    }
}

/// An `sso-session` token is refreshed when it expires within this long (botocore's window).
const TOKEN_REFRESH_WINDOW: Duration = Duration::from_secs(15 * 60);

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
    let failed = |message: String| CredentialsError::failed(source_name, message);
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
    let what = format!(
        "sso GetRoleCredentials for role {role_name} in account {account_id} at {}",
        shown_url(portal)
    );
    let response = Http::new(config.service_http().clone())
        .send(
            "GET",
            &url,
            &[("x-amz-sso_bearer_token", token.expose().as_str())],
            None,
            None,
        )
        .map_err(|e| failed(format!("{what} failed: {e}")))?;
    let json: Option<Value> = serde_json::from_slice(&response.body).ok();
    if !response.is_success() {
        let message = json
            .as_ref()
            .and_then(|j| j.get("message").or_else(|| j.get("Message")))
            .and_then(Value::as_str)
            .map_or_else(|| "no message".to_owned(), |m| server_text(m, &[token.expose()]));
        let hint = match response.status {
            401 => format!("the cached token was not accepted: {login}"),
            403 => "check that the role exists and is assigned to you in this account".to_owned(),
            _ => "try again later".to_owned(),
        };
        return Err(failed(format!(
            "{what} was refused (HTTP {}): {message}; {hint}",
            response.status
        )));
    }
    let role = json
        .as_ref()
        .and_then(|j| j.get("roleCredentials"))
        .ok_or_else(|| failed(format!("{what} answered without roleCredentials")))?;
    let field = |key: &str| {
        role.get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| failed(format!("{what} answered without roleCredentials.{key}")))
    };
    let expiration = role
        .get("expiration")
        .and_then(Value::as_u64)
        .ok_or_else(|| failed(format!("{what} answered without roleCredentials.expiration")))?;
    Ok(Credentials::new(field("accessKeyId")?, field("secretAccessKey")?)
        .with_session_token(field("sessionToken")?)
        .with_expiry(SystemTime::UNIX_EPOCH + Duration::from_millis(expiration))
        .with_source(source_name))
}

/// A token cache entry, read and checked.
pub(crate) struct Entry {
    pub(crate) fields: Map<String, Value>,
    pub(crate) token: Secret<String>,
    pub(crate) expires_at: String,
    pub(crate) expiry: SystemTime,
}

/// Reads the cache file; `Err` says what is wrong and ends with `login`.
fn read_entry(config: &ProviderConfig, path: &Path, what: &str, login: &str) -> Result<Entry, String> {
    let text = match config.fs().read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(format!(
                "no cached SSO token for {what} (looked for {}): {login}",
                path.display()
            ));
        }
        Err(e) => return Err(format!("could not read the SSO token cache {}: {e}", path.display())),
    };
    parse_entry(&text, path, login)
}

/// Reads a cache file's text; `Err` says what is wrong (never a token) and ends with `login`.
pub(crate) fn parse_entry(text: &str, path: &Path, login: &str) -> Result<Entry, String> {
    let bad = |why: &str| format!("the SSO token cache {} {why}: {login}", path.display());
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(text) else {
        return Err(bad("is not JSON"));
    };
    let token = Secret::new(
        text_field(&fields, "accessToken")
            .ok_or_else(|| bad("has no accessToken"))?
            .to_owned(),
    );
    let expires_at = fields
        .get("expiresAt")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("has no expiresAt"))?
        .to_owned();
    let expiry = parse_cache_time(&expires_at).ok_or_else(|| bad("has a bad expiresAt"))?;
    Ok(Entry {
        fields,
        token,
        expires_at,
        expiry,
    })
}

/// The access token from the cache file, if present and not expired; for an `sso-session`, refreshed first when
/// less than [`TOKEN_REFRESH_WINDOW`] is left and the cache holds a registration to refresh with.
fn cached_token(config: &ProviderConfig, sso: &SsoConfig, login: &str) -> Result<Secret<String>, String> {
    let path = sso.cache_file(config)?;
    let what = match &sso.session_name {
        Some(name) => format!("sso-session {name}"),
        None => sso.start_url.clone(),
    };
    let entry = read_entry(config, &path, &what, login)?;
    let now = config.clock().now();
    let refresh_due = now
        .checked_add(TOKEN_REFRESH_WINDOW)
        .is_none_or(|window_end| entry.expiry < window_end);
    if sso.session_name.is_some() && refresh_due {
        match refresh(config, sso, &entry.fields, now) {
            Ok(Some(fresh)) => {
                if let Err(e) = config
                    .fs()
                    .write_atomically(&path, &Value::Object(fresh.fields).to_string())
                {
                    tracing::warn!(path = %path.display(), error = %e, "could not store the refreshed SSO token");
                }
                tracing::debug!(session = %what, expires_at = fresh.expires_at, "SSO token refreshed");
                return Ok(fresh.token);
            }
            Ok(None) => {}
            Err(reason) => {
                // Another process (the AWS CLI, another rds-iam) may have refreshed it meanwhile: a refresh token
                // that rotates is then refused here, but the file holds the newer token.
                if let Ok(newer) = read_entry(config, &path, &what, login)
                    && newer.expiry > entry.expiry.max(now)
                {
                    return Ok(newer.token);
                }
                if entry.expiry <= now {
                    return Err(format!(
                        "the cached SSO token for {what} expired at {} and refreshing it failed ({reason}): {login}",
                        entry.expires_at
                    ));
                }
                tracing::warn!(session = %what, %reason, "refreshing the SSO token failed; using it until it expires");
            }
        }
    }
    if entry.expiry <= now {
        return Err(format!(
            "the cached SSO token for {what} expired at {}: {login}",
            entry.expires_at
        ));
    }
    Ok(entry.token)
}

/// A non-empty string field of a cache entry.
fn text_field<'a>(entry: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    entry.get(key).and_then(Value::as_str).filter(|v| !v.is_empty())
}

/// A time in the token cache: RFC 3339, or `2020-06-17T10:18:08UTC` as older AWS CLI versions wrote it.
fn parse_cache_time(text: &str) -> Option<SystemTime> {
    let normalized = text.trim().strip_suffix("UTC").map(|t| format!("{t}Z"));
    parse_rfc3339(normalized.as_deref().unwrap_or(text)).ok()
}

/// SSO-OIDC `CreateToken` with the cached refresh token: the new access token and the cache entry to write, built
/// as botocore builds it (start URL and region from the configuration, the client registration carried over, the
/// refresh token only if the answer has one). `Ok(None)`: the entry holds no client registration to refresh
/// with, or it has expired — then only `aws sso login` helps, as with the AWS CLI.
fn refresh(
    config: &ProviderConfig,
    sso: &SsoConfig,
    entry: &Map<String, Value>,
    now: SystemTime,
) -> Result<Option<Entry>, String> {
    let (Some(refresh_token), Some(client_id), Some(client_secret), Some(registration)) = (
        text_field(entry, "refreshToken"),
        text_field(entry, "clientId"),
        text_field(entry, "clientSecret"),
        text_field(entry, "registrationExpiresAt"),
    ) else {
        return Ok(None);
    };
    if parse_cache_time(registration).is_none_or(|expiry| expiry <= now) {
        tracing::debug!(
            registration,
            "the SSO client registration has expired (or is unreadable); no refresh"
        );
        return Ok(None);
    }
    let endpoint =
        configured_endpoint(config.env(), "SSO_OIDC").unwrap_or_else(|| default_endpoint("oidc", &sso.region));
    let endpoint = endpoint.trim_end_matches('/');
    let what = format!("sso-oidc CreateToken at {}", shown_url(endpoint));
    let body = serde_json::json!({
        "clientId": client_id,
        "clientSecret": client_secret,
        "grantType": "refresh_token",
        "refreshToken": refresh_token,
    })
    .to_string();
    let response = Http::new(config.service_http().clone())
        .send(
            "POST",
            &format!("{endpoint}/token"),
            &[("content-type", "application/json")],
            Some(body),
            None,
        )
        .map_err(|e| format!("{what} failed: {e}"))?;
    let registration = Registration {
        client_id,
        client_secret,
        expires_at: registration,
        refresh_token,
    };
    read_create_token(response.status, &response.body, &what, now, sso, &registration).map(Some)
}

/// The client registration a cache entry carries over to the next one, and the refresh token that was sent.
pub(crate) struct Registration<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) client_secret: &'a str,
    pub(crate) expires_at: &'a str,
    pub(crate) refresh_token: &'a str,
}

/// Reads `CreateToken`'s answer (`what` names the call in messages) into the entry to cache, built as botocore
/// builds it: start URL and region from the configuration, the registration carried over, the refresh token only
/// if the answer has one. `Err` says why the answer cannot be used; it never holds a token.
pub(crate) fn read_create_token(
    status: u16,
    body: &[u8],
    what: &str,
    now: SystemTime,
    sso: &SsoConfig,
    registration: &Registration<'_>,
) -> Result<Entry, String> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |key: &str| json.as_ref().and_then(|j| j.get(key));
    if !(200..300).contains(&status) {
        // OAuth errors: `{"error": "invalid_grant", "error_description": "…"}`.
        let sent = [registration.client_secret, registration.refresh_token];
        let code = field("error")
            .and_then(Value::as_str)
            .map_or_else(|| "no error code".to_owned(), |c| server_text(c, &sent));
        let description = field("error_description")
            .and_then(Value::as_str)
            .map(|d| format!(": {}", server_text(d, &sent)))
            .unwrap_or_default();
        return Err(format!("{what} was refused (HTTP {status}): {code}{description}"));
    }
    let access_token = field("accessToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("{what} answered without accessToken"))?;
    let expires_in = field("expiresIn")
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("{what} answered without expiresIn"))?;
    let expiry = now.checked_add(Duration::from_secs(expires_in));
    // `2024-01-02T03:04:05Z`, whole seconds, as the AWS CLI writes cache times.
    let (Some(expiry), Some(expires_at)) = (expiry, expiry.and_then(rds_iam_token::try_rfc3339)) else {
        return Err(format!("{what} answered an expiresIn out of range ({expires_in})"));
    };
    if expires_in == 0 {
        return Err(format!(
            "{what} answered a token that has already expired (expiresIn 0)"
        ));
    }
    let mut fresh = Map::new();
    fresh.insert("startUrl".to_owned(), Value::from(sso.start_url.as_str()));
    fresh.insert("region".to_owned(), Value::from(sso.region.as_str()));
    fresh.insert("accessToken".to_owned(), Value::from(access_token));
    fresh.insert("expiresAt".to_owned(), Value::from(expires_at.as_str()));
    for (key, value) in [
        ("clientId", registration.client_id),
        ("clientSecret", registration.client_secret),
        ("registrationExpiresAt", registration.expires_at),
    ] {
        fresh.insert(key.to_owned(), Value::from(value));
    }
    if let Some(new_refresh_token) = field("refreshToken").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        fresh.insert("refreshToken".to_owned(), Value::from(new_refresh_token));
    }
    Ok(Entry {
        token: Secret::new(access_token.to_owned()),
        fields: fresh,
        expires_at,
        expiry,
    })
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
            Ok(PathBuf::from(
                "/h/.aws/sso/cache/40a89917e3175433e361b710a9d43528d7f1890a.json"
            ))
        );
        sso.session_name = Some("dev".into());
        assert_eq!(
            sso.cache_file(&config),
            Ok(PathBuf::from(
                "/h/.aws/sso/cache/34c6fceca75e456f25e7e99531e2425c6c1de443.json"
            ))
        );
        // No home: no cache file (not `~/.aws/sso/cache/…` under the working directory).
        let homeless = ProviderConfig::new(Env::from_vars::<&str, &str>([]), Fs::from_files::<&str, &str>([]));
        let err = sso.cache_file(&homeless).unwrap_err();
        assert!(err.contains("no home directory"), "{err}");
        let from_user_database = ProviderConfig::new(
            Env::from_vars::<&str, &str>([]).with_user_database_home("/home/db"),
            Fs::from_files::<&str, &str>([]),
        );
        assert_eq!(
            sso.cache_file(&from_user_database),
            Ok(PathBuf::from(
                "/home/db/.aws/sso/cache/34c6fceca75e456f25e7e99531e2425c6c1de443.json"
            ))
        );
    }
}
