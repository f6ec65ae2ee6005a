//! [`ImdsProvider`]: the EC2 instance role's credentials from the instance metadata service (IMDSv2 only).

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use rds_iam_token::sync::lock;

use super::metadata::{self, Temporary, describe_body, send_with_retries};
use crate::http::{Http, HttpError, Response};
use crate::{Clock, Credentials, CredentialsError, Env, Fs, ProvideCredentials, ProviderConfig, Secret, profile};

const SOURCE: &str = "ec2 instance metadata";
const TOKEN_PATH: &str = "/latest/api/token";
const ROLES_PATH: &str = "/latest/meta-data/iam/security-credentials/";
const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// The session token lifetime asked for: 6 hours, the maximum.
const TOKEN_TTL: Duration = Duration::from_secs(21_600);
/// A session token is replaced this long before it would expire.
const TOKEN_MARGIN: Duration = Duration::from_secs(120);

/// Which address family's default endpoint to use when no endpoint is configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointMode {
    /// `http://169.254.169.254` (the default).
    Ipv4,
    /// `http://[fd00:ec2::254]` (Nitro instances in IPv6-enabled subnets).
    Ipv6,
}

impl EndpointMode {
    /// The default endpoint of this mode.
    pub fn endpoint(self) -> &'static str {
        match self {
            EndpointMode::Ipv4 => "http://169.254.169.254",
            EndpointMode::Ipv6 => "http://[fd00:ec2::254]",
        }
    }
}

impl FromStr for EndpointMode {
    type Err = String;

    /// `IPv4` or `IPv6`, case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ipv4" => Ok(EndpointMode::Ipv4),
            "ipv6" => Ok(EndpointMode::Ipv6),
            _ => Err(format!("`{s}` is not a valid endpoint mode: use IPv4 or IPv6")),
        }
    }
}

/// The credentials of the EC2 instance's IAM role, from the instance metadata service (IMDSv2).
///
/// - Endpoint: [`ImdsProvider::with_endpoint`] > `AWS_EC2_METADATA_SERVICE_ENDPOINT` > the profile's
///   `ec2_metadata_service_endpoint` > the default of the endpoint mode ([`ImdsProvider::with_endpoint_mode`] >
///   `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` > the profile's `ec2_metadata_service_endpoint_mode` > `IPv4`).
/// - `AWS_EC2_METADATA_DISABLED=true` turns it off ("not found").
/// - Requests: `PUT /latest/api/token` for a session token (cached and reused until shortly before its 6 hours
///   end), then `GET /latest/meta-data/iam/security-credentials/` for the role name and `GET …/{role}` for its
///   credentials. A 401 renews the session token once; a 5xx is retried twice after a short pause.
/// - Off EC2 it fails fast: a refused connection or a timeout (1 s by default, see
///   [`ProviderConfig::metadata_http`]) is "not found", and is never retried.
/// - IMDSv1 is never used: a token request answered 403 is an error (as in aws-config; botocore would fall back
///   to IMDSv1).
///
/// ```no_run
/// use rds_iam_credentials::{ImdsProvider, ProvideCredentials, ProviderConfig};
///
/// let creds = ImdsProvider::new(&ProviderConfig::real()).provide()?;
/// println!("{}", creds.access_key_id());
/// # Ok::<(), rds_iam_credentials::CredentialsError>(())
/// ```
pub struct ImdsProvider {
    env: Env,
    fs: Fs,
    clock: Clock,
    profile: String,
    http: Http,
    endpoint_override: Option<String>,
    mode_override: Option<EndpointMode>,
    token: Mutex<Option<SessionToken>>,
}

/// A session token, for the endpoint it came from, and when to stop using it.
struct SessionToken {
    endpoint: String,
    value: Secret<String>,
    renew_at: SystemTime,
}

impl ImdsProvider {
    /// Reads settings from `config`'s environment and profile, talks HTTP with its metadata settings.
    pub fn new(config: &ProviderConfig) -> Self {
        Self {
            env: config.env().clone(),
            fs: config.fs().clone(),
            clock: config.clock().clone(),
            profile: config.profile_name(),
            http: Http::new(config.metadata_http().clone()),
            endpoint_override: None,
            mode_override: None,
            token: Mutex::new(None),
        }
    }

    /// Uses this endpoint (e.g. `http://127.0.0.1:8080`), beating the environment and the profile.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint_override = Some(endpoint.into());
        self
    }

    /// Uses this mode's default endpoint when no endpoint is configured, beating the environment and the profile.
    pub fn with_endpoint_mode(mut self, mode: EndpointMode) -> Self {
        self.mode_override = Some(mode);
        self
    }

    /// The endpoint requests go to (`http://169.254.169.254` unless configured otherwise), without a trailing
    /// slash. An invalid setting is [`CredentialsError::InvalidConfiguration`], naming the setting.
    pub fn endpoint(&self) -> Result<String, CredentialsError> {
        let configured = |env_name: &str, key: &str| -> Result<Option<(String, String)>, CredentialsError> {
            if let Some(value) = self.env.get_non_blank(env_name) {
                return Ok(Some((env_name.to_owned(), value)));
            }
            let files = profile::load(&self.env, &self.fs)?;
            let value = files.get(&self.profile).and_then(|p| p.get(key)).map(str::trim);
            Ok(value
                .filter(|v| !v.is_empty())
                .map(|v| (format!("`{key}` of profile {}", self.profile), v.to_owned())))
        };
        let endpoint = match &self.endpoint_override {
            Some(endpoint) => Some(("the configured endpoint".to_owned(), endpoint.clone())),
            None => configured("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ec2_metadata_service_endpoint")?,
        };
        if let Some((what, value)) = endpoint {
            let url = metadata::parse_url(&what, &value).map_err(|e| CredentialsError::invalid(SOURCE, e))?;
            if url.query().is_some() || url.fragment().is_some() {
                return Err(CredentialsError::invalid(
                    SOURCE,
                    format!("{what} `{value}` has a query or fragment: give only scheme, host, port and path"),
                ));
            }
            return Ok(url.as_str().trim_end_matches('/').to_owned());
        }
        let mode = match self.mode_override {
            Some(mode) => mode,
            None => match configured(
                "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
                "ec2_metadata_service_endpoint_mode",
            )? {
                Some((what, value)) => value
                    .parse()
                    .map_err(|e| CredentialsError::invalid(SOURCE, format!("{what}: {e}")))?,
                None => EndpointMode::Ipv4,
            },
        };
        Ok(mode.endpoint().to_owned())
    }

    /// The URL of the session-token request.
    #[cfg(feature = "conformance")]
    pub(crate) fn token_url(&self) -> Result<String, CredentialsError> {
        Ok(format!("{}{TOKEN_PATH}", self.endpoint()?))
    }

    fn disabled(&self) -> bool {
        self.env
            .get("AWS_EC2_METADATA_DISABLED")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// The cached session token, or a new one.
    fn session_token(&self, endpoint: &str, deadline: Instant) -> Result<Secret<String>, CredentialsError> {
        let mut cached = lock(&self.token);
        let now = self.clock.now();
        if let Some(token) = cached.as_ref().filter(|t| t.endpoint == endpoint && now < t.renew_at) {
            return Ok(token.value.clone());
        }
        let url = format!("{endpoint}{TOKEN_PATH}");
        let ttl = TOKEN_TTL.as_secs().to_string();
        let response = send_with_retries(&self.http, "PUT", &url, &[(TTL_HEADER, &ttl)], deadline)
            .map_err(|e| no_answer(endpoint, &e, true))?;
        let token = match response.status {
            200 => {
                let value = response.text().trim().to_owned();
                if value.is_empty() || !value.chars().all(|c| c.is_ascii_graphic()) {
                    return Err(CredentialsError::failed(
                        SOURCE,
                        format!(
                            "the session token from PUT {url} is empty or not printable ASCII ({} bytes)",
                            value.len()
                        ),
                    ));
                }
                Secret::new(value)
            }
            403 => {
                return Err(CredentialsError::failed(
                    SOURCE,
                    format!(
                        "PUT {url} was refused (HTTP 403): the instance metadata service is disabled on this instance \
                         or refuses IMDSv2 session tokens; rds-iam uses IMDSv2 only and does not fall back to \
                         IMDSv1: enable the metadata service (`aws ec2 modify-instance-metadata-options \
                         --http-endpoint enabled`) or configure credentials another way"
                    ),
                ));
            }
            404 | 405 => {
                return Err(CredentialsError::not_found(
                    SOURCE,
                    format!(
                        "{endpoint} answered HTTP {} to the IMDSv2 session-token request: it is not an EC2 instance \
                         metadata service with IMDSv2 (rds-iam does not use IMDSv1)",
                        response.status
                    ),
                ));
            }
            status => return Err(bad_status("PUT", &url, &response, status)),
        };
        tracing::debug!(endpoint, "got an IMDSv2 session token");
        *cached = Some(SessionToken {
            endpoint: endpoint.to_owned(),
            value: token.clone(),
            renew_at: now + TOKEN_TTL - TOKEN_MARGIN,
        });
        Ok(token)
    }

    fn forget_session_token(&self) {
        *lock(&self.token) = None;
    }

    /// `GET url` with the session token; a 401 renews the token and tries once more.
    fn get(&self, endpoint: &str, url: &str, deadline: Instant) -> Result<Response, CredentialsError> {
        let mut renewed = false;
        loop {
            let token = self.session_token(endpoint, deadline)?;
            let response = send_with_retries(&self.http, "GET", url, &[(TOKEN_HEADER, token.expose())], deadline)
                .map_err(|e| no_answer(endpoint, &e, false))?;
            if response.status != 401 {
                return Ok(response);
            }
            if renewed {
                return Err(CredentialsError::failed(
                    SOURCE,
                    format!(
                        "GET {url} refused a new session token (HTTP 401 twice): check the instance's metadata options"
                    ),
                ));
            }
            tracing::debug!(url, "session token refused (401): renewing it");
            self.forget_session_token();
            renewed = true;
        }
    }
}

/// A request that got no HTTP answer. Off EC2 this is the usual outcome, so a refused connection, a timeout or
/// (on first contact) a non-HTTP answer means "not found"; an oversized answer means something is wrong.
fn no_answer(endpoint: &str, error: &HttpError, first_contact: bool) -> CredentialsError {
    match error {
        HttpError::Connect { .. } | HttpError::Timeout { .. } if first_contact => CredentialsError::not_found(
            SOURCE,
            format!("no instance metadata service at {endpoint} (not on EC2?): {error}"),
        ),
        HttpError::Other { .. } if first_contact => CredentialsError::not_found(
            SOURCE,
            format!("no instance metadata service at {endpoint} (not on EC2?): {error}"),
        ),
        HttpError::Connect { .. } | HttpError::Timeout { .. } => CredentialsError::not_found(
            SOURCE,
            format!("the instance metadata service at {endpoint} stopped answering: {error}"),
        ),
        _ => CredentialsError::failed(
            SOURCE,
            format!("{error}: that is not an answer of an instance metadata service; check the endpoint setting"),
        ),
    }
}

fn bad_status(method: &str, url: &str, response: &Response, status: u16) -> CredentialsError {
    let tries = if (500..600).contains(&status) {
        format!(" after {} attempts", metadata::ATTEMPTS)
    } else {
        String::new()
    };
    CredentialsError::failed(
        SOURCE,
        format!(
            "{method} {url} answered HTTP {status}{tries} ({}); try again later, or check the instance's metadata \
             options",
            describe_body(&response.body)
        ),
    )
}

/// IAM role names: 1 to 128 of `[A-Za-z0-9+=,.@_-]`.
fn is_role_name(name: &str) -> bool {
    (1..=128).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

impl ProvideCredentials for ImdsProvider {
    fn provide(&self) -> Result<Credentials, CredentialsError> {
        if self.disabled() {
            return Err(CredentialsError::not_found(SOURCE, "AWS_EC2_METADATA_DISABLED is true"));
        }
        let endpoint = self.endpoint()?;
        // Retries never stretch one provide() beyond a few request timeouts, however the service misbehaves.
        let deadline = Instant::now() + self.http.settings().timeout * 3;

        let roles_url = format!("{endpoint}{ROLES_PATH}");
        let listing = self.get(&endpoint, &roles_url, deadline)?;
        let role = match listing.status {
            200 => listing.text().lines().next().unwrap_or_default().trim().to_owned(),
            404 => {
                return Err(CredentialsError::not_found(
                    SOURCE,
                    "no IAM role is attached to this instance (attach an instance profile to use its role)",
                ));
            }
            status => return Err(bad_status("GET", &roles_url, &listing, status)),
        };
        if role.is_empty() {
            return Err(CredentialsError::not_found(
                SOURCE,
                "no IAM role is attached to this instance (empty role list)",
            ));
        }
        if !is_role_name(&role) {
            return Err(CredentialsError::failed(
                SOURCE,
                format!(
                    "GET {roles_url} did not answer with an IAM role name ({})",
                    describe_body(&listing.body)
                ),
            ));
        }

        let creds_url = format!("{roles_url}{role}");
        let response = self.get(&endpoint, &creds_url, deadline)?;
        match response.status {
            200 => {}
            404 => {
                return Err(CredentialsError::not_found(
                    SOURCE,
                    format!(
                        "the instance's role `{role}` has no credentials (HTTP 404 from {creds_url}): was the instance profile just changed?"
                    ),
                ));
            }
            status => return Err(bad_status("GET", &creds_url, &response, status)),
        }
        tracing::debug!(role, "credentials from the instance metadata service");
        metadata::parse_credentials(&response.body, Temporary::Required, format!("{SOURCE} (role {role})"))
            .map_err(|e| CredentialsError::failed(SOURCE, format!("GET {creds_url}: {e}")))
    }
}

impl fmt::Debug for ImdsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImdsProvider")
            .field("profile", &self.profile)
            .field("endpoint_override", &self.endpoint_override)
            .field("mode_override", &self.mode_override)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(vars: &[(&str, &str)], files: &[(&str, &str)]) -> ImdsProvider {
        let env = Env::from_vars(vars.iter().copied());
        ImdsProvider::new(&ProviderConfig::new(env, Fs::from_files(files.iter().copied())))
    }

    #[test]
    fn endpoint_precedence() {
        let config = [(
            "/h/.aws/config",
            "[profile p]\nec2_metadata_service_endpoint = http://profile:1/\n",
        )];
        let p = provider(&[("HOME", "/h"), ("AWS_PROFILE", "p")], &config);
        assert_eq!(p.endpoint().unwrap(), "http://profile:1");
        let p = p.with_endpoint("http://explicit/x/");
        assert_eq!(p.token_url().unwrap(), "http://explicit/x/latest/api/token");
        let p = provider(&[("HOME", "/h")], &config).with_endpoint_mode(EndpointMode::Ipv6);
        assert_eq!(p.endpoint().unwrap(), "http://[fd00:ec2::254]");
        let err = provider(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://x/?a=b")], &[])
            .endpoint()
            .unwrap_err();
        assert!(err.to_string().contains("query"), "{err}");
    }

    #[test]
    fn modes_and_role_names() {
        assert_eq!("ipV4".parse(), Ok(EndpointMode::Ipv4));
        assert!(
            "v6".parse::<EndpointMode>()
                .unwrap_err()
                .contains("`v6` is not a valid endpoint mode")
        );
        assert!(is_role_name("my-role_1+=,.@"));
        assert!(!is_role_name("../etc"));
        assert!(!is_role_name(""));
    }

    #[test]
    fn disabled() {
        let err = provider(&[("AWS_EC2_METADATA_DISABLED", " TRUE ")], &[])
            .provide()
            .unwrap_err();
        assert!(matches!(err, CredentialsError::NotFound { .. }), "{err}");
        assert!(!provider(&[("AWS_EC2_METADATA_DISABLED", "false")], &[]).disabled());
    }
}
