//! [`EcsProvider`]: credentials from the ECS task / EKS Pod Identity container credentials endpoint.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Instant;

use reqwest::Url;

use super::metadata::{self, Temporary, describe_body, send_with_retries};
use crate::http::{Http, HttpError, server_text, shown_url};
use crate::{Credentials, CredentialsError, Env, Fs, ProvideCredentials, ProviderConfig, Secret};

const SOURCE: &str = "container credentials";
const RELATIVE: &str = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
const FULL: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
const TOKEN: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
const TOKEN_FILE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
/// The ECS agent's credentials endpoint, the base of `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
const ECS_HOST: &str = "http://169.254.170.2";

/// Credentials from the container credentials endpoint of ECS tasks and EKS Pod Identity.
///
/// - URL: `http://169.254.170.2` + `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, else
///   `AWS_CONTAINER_CREDENTIALS_FULL_URI`. Plain `http` is allowed only to loopback addresses (and `localhost`),
///   the ECS endpoint `169.254.170.2` and the EKS Pod Identity endpoints `169.254.170.23` and `[fd00:ec2::23]`;
///   anything else must use `https`. Neither variable set means "not found".
/// - Authorization: the contents of the file named by `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read for every
///   request, since EKS rotates it), else `AWS_CONTAINER_AUTHORIZATION_TOKEN`, sent as the `Authorization` header.
/// - Response: `{AccessKeyId, SecretAccessKey, Token, Expiration, AccountId?}`.
///
/// Once the variables are set, any failure (including a timeout) stops the chain: the environment says credentials
/// should be here.
pub struct EcsProvider {
    env: Env,
    fs: Fs,
    http: Http,
}

impl EcsProvider {
    /// Reads the environment and files of `config`, talks HTTP with its metadata settings.
    pub fn new(config: &ProviderConfig) -> Self {
        Self {
            env: config.env().clone(),
            fs: config.fs().clone(),
            http: Http::new(config.metadata_http().clone()),
        }
    }

    /// The URL credentials are fetched from. Neither variable set is [`CredentialsError::NotFound`]; an invalid or
    /// disallowed URL is [`CredentialsError::InvalidConfiguration`].
    pub fn credentials_url(&self) -> Result<String, CredentialsError> {
        let invalid = |e: String| CredentialsError::invalid(SOURCE, e);
        if let Some(relative) = self.env.get_non_blank(RELATIVE) {
            let relative = relative.trim();
            let slash = if relative.starts_with('/') { "" } else { "/" };
            let url = metadata::parse_url(RELATIVE, &format!("{ECS_HOST}{slash}{relative}")).map_err(invalid)?;
            return Ok(url.to_string());
        }
        let Some(full) = self.env.get_non_blank(FULL) else {
            return Err(CredentialsError::not_found(
                SOURCE,
                format!(
                    "{RELATIVE} and {FULL} are unset (no environment variables were set to configure ECS provider)"
                ),
            ));
        };
        let url = metadata::parse_url(FULL, full.trim()).map_err(invalid)?;
        if url.scheme() == "http" && !allowed_http_host(&url) {
            return Err(invalid(format!(
                "{FULL} `{}` uses plain http to a host that is not allowed: use https, or http to a loopback \
                 address, 169.254.170.2, 169.254.170.23 or [fd00:ec2::23]",
                shown_url(url.as_str())
            )));
        }
        Ok(url.to_string())
    }

    /// The `Authorization` header value: the token file beats the token variable.
    fn authorization(&self) -> Result<Option<Secret<String>>, CredentialsError> {
        let (what, value) = if let Some(path) = self.env.get_non_blank(TOKEN_FILE) {
            let value = self.fs.read_to_string(Path::new(path.trim())).map_err(|e| {
                CredentialsError::invalid(
                    SOURCE,
                    format!("could not read the authorization token file {path} ({TOKEN_FILE}): {e}"),
                )
            })?;
            (format!("the authorization token file {path}"), Secret::new(value))
        } else if let Some(value) = self.env.get_non_blank(TOKEN) {
            (TOKEN.to_owned(), Secret::new(value))
        } else {
            return Ok(None);
        };
        let token = value.expose().trim();
        if token.is_empty() {
            return Err(CredentialsError::invalid(SOURCE, format!("{what} is empty")));
        }
        if token.chars().any(|c| c.is_control()) {
            return Err(CredentialsError::invalid(
                SOURCE,
                format!("{what} contains a line break or another control character: it must be one line"),
            ));
        }
        Ok(Some(Secret::new(token.to_owned())))
    }
}

/// Whether plain http may go to this URL's host.
fn allowed_http_host(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    // IPv6 hosts come in brackets; a name that is not `localhost` is not resolved (DNS could say anything).
    let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() else {
        return false;
    };
    const ECS: IpAddr = IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2));
    const EKS: IpAddr = IpAddr::V4(Ipv4Addr::new(169, 254, 170, 23));
    const EKS_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23));
    ip.is_loopback() || [ECS, EKS, EKS_V6].contains(&ip)
}

impl ProvideCredentials for EcsProvider {
    fn provide(&self) -> Result<Credentials, CredentialsError> {
        let url = self.credentials_url()?;
        let authorization = self.authorization()?;
        let mut headers = vec![("accept", "application/json")];
        if let Some(auth) = &authorization {
            headers.push(("authorization", auth.expose()));
        }
        let shown = shown_url(&url);
        let deadline = Instant::now() + self.http.settings().timeout * 3;
        let response = send_with_retries(&self.http, "GET", &url, &headers, deadline).map_err(|e| {
            let hint = match e {
                HttpError::Connect { .. } | HttpError::Timeout { .. } => {
                    "is the container credentials endpoint running, and is this the container it serves?"
                }
                _ => "check the container credentials endpoint",
            };
            CredentialsError::failed(SOURCE, format!("{e}; {hint}"))
        })?;
        match response.status {
            200 => {}
            status => {
                let tries = if (500..600).contains(&status) {
                    format!(" after {} attempts", metadata::ATTEMPTS)
                } else {
                    String::new()
                };
                let hint = match status {
                    401 | 403 => format!(": check {TOKEN_FILE} / {TOKEN}"),
                    404 => format!(": check {RELATIVE} / {FULL}"),
                    500..600 => ": try again later".to_owned(),
                    _ => String::new(),
                };
                let detail = error_detail(&response.body, authorization.as_ref());
                return Err(CredentialsError::failed(
                    SOURCE,
                    format!("GET {shown} answered HTTP {status}{tries} ({detail}){hint}"),
                ));
            }
        }
        tracing::debug!(url = shown, "credentials from the container credentials endpoint");
        metadata::parse_credentials(&response.body, Temporary::Optional, SOURCE.to_owned())
            .map_err(|e| CredentialsError::failed(SOURCE, format!("GET {shown}: {e}")))
    }
}

/// The `code` and `message` of an ECS agent / EKS Pod Identity agent error body, else a description of the
/// body. The authorization token is removed if the endpoint echoed it: from each piece before it is cut to length
/// (a token cut in two would no longer be found), and from the result.
pub(crate) fn error_detail(body: &[u8], authorization: Option<&Secret<String>>) -> String {
    let redact = |text: &str| match authorization {
        Some(token) => text.replace(token.expose().as_str(), "<redacted>"),
        None => text.to_owned(),
    };
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let secrets: Vec<&str> = authorization.map(|t| t.expose().as_str()).into_iter().collect();
    let field = |name: &str| {
        let json = json.as_ref()?;
        let value = json.get(name).or_else(|| json.get(capitalized(name)))?.as_str()?;
        Some(server_text(value, &secrets))
    };
    let detail = match (field("code"), field("message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => {
            let text = String::from_utf8_lossy(body);
            let redacted = redact(&text);
            describe_body(if redacted == text { body } else { redacted.as_bytes() })
        }
    };
    redact(&detail)
}

fn capitalized(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

impl fmt::Debug for EcsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcsProvider")
            .field("env", &self.env)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(vars: &[(&str, &str)]) -> Result<String, String> {
        let env = Env::from_vars(vars.iter().copied());
        EcsProvider::new(&ProviderConfig::new(env, Fs::from_files::<&str, &str>([])))
            .credentials_url()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn http_hosts() {
        for ok in [
            "http://127.0.0.2:9/c",
            "http://[::1]/c",
            "http://LOCALHOST/c",
            "https://example.com/c",
        ] {
            assert!(url(&[(FULL, ok)]).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/c",
            "http://169.254.169.254/",
            "http://10.0.0.1/",
            "http://[fd00:ec2::254]/",
        ] {
            let err = url(&[(FULL, bad)]).unwrap_err();
            assert!(err.contains("not allowed"), "{bad}: {err}");
        }
        assert_eq!(url(&[(RELATIVE, "creds")]).unwrap(), "http://169.254.170.2/creds");
    }

    #[test]
    fn error_details() {
        let token = Secret::new("tok-123".to_owned());
        let body = br#"{"code":"AccessDenied","message":"bad token tok-123"}"#;
        assert_eq!(error_detail(body, Some(&token)), "AccessDenied: bad token <redacted>");
        assert_eq!(error_detail(br#"{"Message":"m"}"#, None), "m");
        assert_eq!(error_detail(b"oops", None), "4 bytes: \"oops\"");
    }

    /// Found by the `ecs_json` fuzz target: a token cut by the 60-character preview (or the 200-character message
    /// limit) was no longer found by the redaction, and its first part was shown.
    #[test]
    fn error_details_redact_before_cutting() {
        let token = Secret::new("tok-".repeat(20));
        let text = format!("refused: {}", token.expose());
        assert_eq!(
            error_detail(text.as_bytes(), Some(&token)),
            "19 bytes: \"refused: <redacted>\""
        );
        let json = format!(r#"{{"message":"{}{}"}}"#, "x".repeat(190), token.expose());
        assert_eq!(
            error_detail(json.as_bytes(), Some(&token)),
            format!("{}<redacted>", "x".repeat(190))
        );
    }
}
