//! A small STS client for the credential sources: `AssumeRole` (SigV4-signed with aws-sigv4) and
//! `AssumeRoleWithWebIdentity` (unsigned), query protocol over [`crate::http`], XML answers read with quick-xml.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use quick_xml::events::Event;
use quick_xml::reader::Reader;

use crate::http::{Http, HttpError, Response, server_text, shown_url};
use crate::profile::ProfileSet;
use crate::{Credentials, Env, ProviderConfig};

/// The STS API version of the query protocol.
const VERSION: &str = "2011-06-15";

/// STS has a global default: without any configured region the SDKs (and the AWS CLI) call `us-east-1`. This is the
/// one place rds-iam falls back to a default region: it only picks the STS endpoint, never what a token is signed
/// for.
const DEFAULT_REGION: &str = "us-east-1";

/// RFC 3986 unreserved characters stay literal in form values; everything else is `%XX`.
const FORM: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Where and how to call STS.
#[derive(Debug)]
pub(crate) struct Sts {
    http: Http,
    endpoint: String,
    region: String,
    clock: crate::Clock,
}

/// The parameters of one `AssumeRole` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AssumeRoleParams<'a> {
    pub(crate) role_arn: &'a str,
    pub(crate) session_name: &'a str,
    pub(crate) external_id: Option<&'a str>,
    pub(crate) duration_seconds: Option<u32>,
}

impl Sts {
    /// The client for `config`, with the endpoint and region from the environment and the selected profile.
    pub(crate) fn new(config: &ProviderConfig, profiles: Option<&ProfileSet>) -> Sts {
        let profile_name = config.profile_name();
        let profile = profiles.and_then(|set| set.get(&profile_name));
        let non_blank = |key: &str| {
            profile
                .and_then(|p| p.get(key))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let env = config.env();
        let region = env
            .get_non_blank("AWS_REGION")
            .or_else(|| env.get_non_blank("AWS_DEFAULT_REGION"))
            .map(|r| r.trim().to_owned())
            .or_else(|| non_blank("region"))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let ignore_configured = is_true(env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").as_deref())
            || is_true(non_blank("ignore_configured_endpoint_urls").as_deref());
        let services_url = || {
            let services = profiles?.services(&non_blank("services")?)?;
            Some(services.sub_property("sts", "endpoint_url")?.trim().to_owned())
        };
        let configured = (!ignore_configured)
            .then(|| {
                configured_endpoint(env, "STS")
                    .or_else(services_url)
                    .or_else(|| non_blank("endpoint_url"))
            })
            .flatten();
        let endpoint = configured.unwrap_or_else(|| default_endpoint("sts", &region));
        Sts {
            http: Http::new(config.service_http().clone()),
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region,
            clock: config.clock().clone(),
        }
    }

    /// The endpoint this client calls.
    #[cfg(test)]
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `AssumeRole` signed with `source`. The error says what failed and passes STS's own code and message through.
    pub(crate) fn assume_role(
        &self,
        source: &Credentials,
        params: &AssumeRoleParams<'_>,
    ) -> Result<Credentials, String> {
        let mut form = vec![
            ("Action", "AssumeRole"),
            ("Version", VERSION),
            ("RoleArn", params.role_arn),
            ("RoleSessionName", params.session_name),
        ];
        if let Some(id) = params.external_id {
            form.push(("ExternalId", id));
        }
        let duration = params.duration_seconds.map(|d| d.to_string());
        if let Some(duration) = &duration {
            form.push(("DurationSeconds", duration));
        }
        let body = encode_form(&form);
        let what = format!(
            "sts AssumeRole for {} at {}",
            params.role_arn,
            shown_url(&self.endpoint)
        );
        let signed = self.sign(source, &body).map_err(|e| format!("{what}: {e}"))?;
        let mut headers: Vec<(&str, &str)> = vec![("content-type", CONTENT_TYPE)];
        headers.extend(signed.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let mut secrets = signing_secrets(source, &signed);
        secrets.extend(params.external_id);
        self.call(&what, &headers, body, &secrets)
    }

    /// `AssumeRoleWithWebIdentity` (unsigned: the web identity token is the proof).
    pub(crate) fn assume_role_with_web_identity(
        &self,
        role_arn: &str,
        session_name: &str,
        token: &str,
    ) -> Result<Credentials, String> {
        let body = encode_form(&[
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", VERSION),
            ("RoleArn", role_arn),
            ("RoleSessionName", session_name),
            ("WebIdentityToken", token),
        ]);
        let what = format!(
            "sts AssumeRoleWithWebIdentity for {role_arn} at {}",
            shown_url(&self.endpoint)
        );
        self.call(&what, &[("content-type", CONTENT_TYPE)], body, &[token])
    }

    /// `GetCallerIdentity` signed with `source`: who the credentials belong to, and the server's clock. `Err` only
    /// when STS did not answer at all; a refusal is in [`StsCheck::identity`].
    pub(crate) fn caller_identity(&self, source: &Credentials) -> Result<StsCheck, HttpError> {
        let body = encode_form(&[("Action", "GetCallerIdentity"), ("Version", VERSION)]);
        let what = format!("sts GetCallerIdentity at {}", shown_url(&self.endpoint));
        let check = |server_date, identity| StsCheck {
            endpoint: shown_url(&self.endpoint),
            server_date,
            identity,
        };
        let signed = match self.sign(source, &body) {
            Ok(signed) => signed,
            Err(e) => return Ok(check(None, Err(format!("{what}: {e}")))),
        };
        let mut headers: Vec<(&str, &str)> = vec![("content-type", CONTENT_TYPE)];
        headers.extend(signed.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let response = self
            .http
            .send("POST", &format!("{}/", self.endpoint), &headers, Some(body), None)?;
        let server_date = response.date.as_deref().and_then(parse_http_date);
        let identity = answer(&what, &response, &signing_secrets(source, &signed)).and_then(|fields| {
            let field = |name: &str| {
                fields
                    .get(&format!("GetCallerIdentityResult/{name}"))
                    .cloned()
                    .ok_or_else(|| format!("{what} answered without GetCallerIdentityResult/{name}"))
            };
            Ok(CallerIdentity {
                arn: field("Arn")?,
                account: field("Account")?,
                user_id: field("UserId")?,
            })
        });
        Ok(check(server_date, identity))
    }

    /// POSTs `body`; `secrets` (what the request carried that an echoing endpoint could send back) are redacted
    /// from the error.
    fn call(
        &self,
        what: &str,
        headers: &[(&str, &str)],
        body: String,
        secrets: &[&str],
    ) -> Result<Credentials, String> {
        let url = format!("{}/", self.endpoint);
        let response = self
            .http
            .send("POST", &url, headers, Some(body), None)
            .map_err(|e| format!("{what} failed: {e}"))?;
        let fields = answer(what, &response, secrets)?;
        credentials_from(&fields).map_err(|missing| format!("{what} answered without {missing}"))
    }

    /// The SigV4 headers (`authorization`, `x-amz-date`, `x-amz-security-token`) for a POST of `body`.
    fn sign(&self, source: &Credentials, body: &str) -> Result<Vec<(String, String)>, String> {
        let url = reqwest::Url::parse(&format!("{}/", self.endpoint))
            .map_err(|e| format!("the endpoint is not a URL ({e}); check AWS_ENDPOINT_URL_STS / endpoint_url"))?;
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => return Err("the endpoint has no host; check AWS_ENDPOINT_URL_STS / endpoint_url".into()),
        };
        let identity: Identity = aws_credential_types::Credentials::new(
            source.access_key_id(),
            source.secret_access_key().expose(),
            source.session_token().map(|t| t.expose().clone()),
            None,
            "rds-iam",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("sts")
            .time(self.clock.now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("signing failed: {e}"))?
            .into();
        let request = SignableRequest::new(
            "POST",
            url.as_str(),
            [("host", host.as_str()), ("content-type", CONTENT_TYPE)].into_iter(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| format!("signing failed: {e}"))?;
        // aws-sigv4 logs the canonical request at TRACE, session token included: no subscriber may see it.
        let signed =
            tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || sign(request, &params));
        let (instructions, _signature) = signed.map_err(|e| format!("signing failed: {e}"))?.into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect())
    }
}

const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Who a set of credentials belongs to, as `sts:GetCallerIdentity` says.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallerIdentity {
    /// The principal: `arn:aws:iam::123456789012:user/ann`, `arn:aws:sts::123456789012:assumed-role/app/i-0abc`, …
    pub arn: String,
    /// The account id.
    pub account: String,
    /// The unique id (`AIDA…`, `AROA…:session`).
    pub user_id: String,
}

/// What one `GetCallerIdentity` call showed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StsCheck {
    /// The endpoint called, as messages may show it: without user info, query string or fragment.
    pub endpoint: String,
    /// The server's `Date` header. Present on refusals too: STS answers a request signed with a skewed clock with
    /// `SignatureDoesNotMatch` (or "Signature expired") and its own time.
    pub server_date: Option<SystemTime>,
    /// The identity, or STS's refusal with its code (`InvalidClientTokenId`, `ExpiredToken`, …).
    pub identity: Result<CallerIdentity, String>,
}

/// Asks STS who `credentials` belong to (`GetCallerIdentity`, which needs no permission), with the endpoint and
/// region [`ProviderConfig`]'s environment and profile configure (`AWS_ENDPOINT_URL_STS`, `AWS_REGION`, …; STS's
/// global default `us-east-1` when no region is set). `Err` when STS could not be reached.
pub fn get_caller_identity(config: &ProviderConfig, credentials: &Credentials) -> Result<StsCheck, HttpError> {
    let profiles = crate::profile::load(config.env(), config.fs()).ok();
    Sts::new(config, profiles.as_ref()).caller_identity(credentials)
}

/// What a signed request carries that an endpoint (or a proxy) could echo back: the source's secret key and
/// session token, and the signature.
fn signing_secrets<'a>(source: &'a Credentials, signed: &'a [(String, String)]) -> Vec<&'a str> {
    let mut secrets = vec![source.secret_access_key().expose().as_str()];
    secrets.extend(source.session_token().map(|t| t.expose().as_str()));
    for (name, value) in signed {
        if name.eq_ignore_ascii_case("authorization") {
            secrets.extend(value.rsplit_once("Signature=").map(|(_, signature)| signature));
        } else if name.eq_ignore_ascii_case("x-amz-security-token") {
            secrets.push(value);
        }
    }
    secrets
}

/// The fields of a successful answer, or STS's refusal (code and message) as a sentence. The server's text is
/// shown without `secrets` (as sent and as form-encoded: an endpoint may echo the request) and cut short.
fn answer(what: &str, response: &Response, secrets: &[&str]) -> Result<HashMap<String, String>, String> {
    let text = response.text();
    let fields = parse_xml(&text);
    if !response.is_success() {
        let encoded: Vec<String> = secrets
            .iter()
            .map(|s| utf8_percent_encode(s, FORM).to_string())
            .collect();
        let secrets: Vec<&str> = secrets
            .iter()
            .copied()
            .chain(encoded.iter().map(String::as_str))
            .collect();
        let shown = |text: &str| server_text(text, &secrets);
        let fields = fields.unwrap_or_default();
        return Err(match (fields.get("Error/Code"), fields.get("Error/Message")) {
            (Some(code), message) => format!(
                "{what} was refused (HTTP {}): {}: {}",
                response.status,
                shown(code),
                message.map_or_else(|| "no message".to_owned(), |m| shown(m))
            ),
            _ => format!(
                "{what} answered HTTP {} without an STS error document: {}",
                response.status,
                excerpt(&shown(text.trim()))
            ),
        });
    }
    fields.map_err(|e| format!("{what} answered something that is not XML ({e})"))
}

/// An HTTP `Date` header (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) fn parse_http_date(text: &str) -> Option<SystemTime> {
    let parsed = time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc2822).ok()?;
    let seconds = u64::try_from(parsed.unix_timestamp()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

/// `AWS_ENDPOINT_URL_{SERVICE}` > `AWS_ENDPOINT_URL` (blank counts as unset).
pub(crate) fn configured_endpoint(env: &Env, service: &str) -> Option<String> {
    env.get_non_blank(&format!("AWS_ENDPOINT_URL_{service}"))
        .or_else(|| env.get_non_blank("AWS_ENDPOINT_URL"))
        .map(|url| url.trim().to_owned())
}

/// `https://{prefix}.{region}.amazonaws.com` (`.com.cn` in China).
pub(crate) fn default_endpoint(prefix: &str, region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://{prefix}.{region}.{suffix}")
}

fn is_true(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn encode_form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, FORM)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A body already redacted and cut by [`server_text`], or a note that it is empty.
fn excerpt(text: &str) -> String {
    if text.trim().is_empty() {
        "(empty body)".to_owned()
    } else {
        text.to_owned()
    }
}

/// The text of every leaf element, keyed by `Parent/Child` (local names): `Credentials/AccessKeyId`, `Error/Code`.
fn parse_xml(text: &str) -> Result<HashMap<String, String>, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<String> = Vec::new();
    let mut fields = HashMap::new();
    let mut current = String::new();
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(start) => {
                stack.push(start.local_name().as_ref().to_owned());
                current.clear();
            }
            Event::End(_) => {
                let value = current.trim();
                if !value.is_empty() {
                    let key = match stack.as_slice() {
                        [.., parent, child] => format!("{parent}/{child}"),
                        [child] => child.clone(),
                        [] => String::new(),
                    };
                    fields.entry(key).or_insert_with(|| value.to_owned());
                }
                current.clear();
                stack.pop();
            }
            Event::Text(t) => current.push_str(&t.xml10_content()),
            Event::CData(c) => current.push_str(&c.xml10_content()),
            Event::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
                    current.push(c);
                } else {
                    let name = r.xml10_content();
                    let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?;
                    current.push_str(resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if fields.is_empty() {
        return Err("no elements".into());
    }
    Ok(fields)
}

/// Credentials from `<Credentials><AccessKeyId>…<SecretAccessKey>…<SessionToken>…<Expiration>…`; `Err` names
/// the missing field.
fn credentials_from(fields: &HashMap<String, String>) -> Result<Credentials, String> {
    let field = |name: &str| {
        fields
            .get(&format!("Credentials/{name}"))
            .ok_or_else(|| format!("Credentials/{name}"))
    };
    let expiration = field("Expiration")?;
    let expiry = parse_rfc3339(expiration).map_err(|e| format!("a valid Expiration ({expiration:?}: {e})"))?;
    Ok(
        Credentials::new(field("AccessKeyId")?, field("SecretAccessKey")?.as_str())
            .with_session_token(field("SessionToken")?.as_str())
            .with_expiry(expiry),
    )
}

/// An RFC 3339 / ISO 8601 timestamp (`2024-01-01T00:00:00Z`, fractions and offsets allowed).
pub(crate) fn parse_rfc3339(text: &str) -> Result<SystemTime, String> {
    let parsed = time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|e| e.to_string())?;
    // Checked both ways: `SystemTime::from` panics where the platform's time cannot go (before 1601 on Windows).
    let since_epoch = parsed - time::OffsetDateTime::UNIX_EPOCH;
    let at = if since_epoch.is_negative() {
        SystemTime::UNIX_EPOCH.checked_sub(since_epoch.unsigned_abs())
    } else {
        SystemTime::UNIX_EPOCH.checked_add(since_epoch.unsigned_abs())
    };
    at.ok_or_else(|| "outside the times this system can represent".to_owned())
}

/// A role session name when none is configured: `rds-iam-<milliseconds since the epoch>`.
pub(crate) fn default_session_name(now: SystemTime) -> String {
    let millis = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    format!("rds-iam-{millis}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_far_from_now() {
        let at = |secs: i64| match u64::try_from(secs) {
            Ok(s) => SystemTime::UNIX_EPOCH + Duration::from_secs(s),
            Err(_) => SystemTime::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()),
        };
        // Past 2554, where nanoseconds since the epoch no longer fit in a u64 (found by fuzzing the SSO cache).
        assert_eq!(parse_rfc3339("4896-05-27T10:23:57Z"), Ok(at(92_348_418_237)));
        assert_eq!(parse_rfc3339("9999-12-31T23:59:59Z"), Ok(at(253_402_300_799)));
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Ok(at(-1)));
        // Year 0 with an offset is year -1 in UTC: before the epoch by 62,167,305,540 s (or unrepresentable).
        assert!(
            parse_rfc3339("0000-01-01T00:00:00+23:59").is_ok_and(|t| t < at(-62_000_000_000))
                || parse_rfc3339("0000-01-01T00:00:00+23:59").is_err()
        );
        assert_eq!(
            parse_rfc3339(" 2024-01-02T03:04:05.5+01:00 "),
            Ok(at(1_704_161_045) + Duration::from_millis(500))
        );
    }
    use crate::{Fs, profile};

    fn sts(vars: &[(&str, &str)], config: &str) -> Sts {
        let mut all = vec![("HOME", "/h")];
        all.extend_from_slice(vars);
        let env = Env::from_vars(all);
        let fs = Fs::from_files([("/h/.aws/config", config)]);
        let set = profile::load(&env, &fs).unwrap();
        Sts::new(&ProviderConfig::new(env, fs), Some(&set))
    }

    #[test]
    fn endpoint_precedence() {
        let config = "[default]\nregion = eu-west-3\nendpoint_url = http://profile\nservices = local\n\
                      [services local]\nsts =\n  endpoint_url = http://services\n[profile plain]\nregion = cn-north-1\n";
        assert_eq!(sts(&[], "").endpoint(), "https://sts.us-east-1.amazonaws.com");
        assert_eq!(
            sts(&[("AWS_REGION", "eu-west-1")], "").endpoint(),
            "https://sts.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            sts(&[("AWS_PROFILE", "plain")], config).endpoint(),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(sts(&[], config).endpoint(), "http://services");
        assert_eq!(
            sts(&[("AWS_ENDPOINT_URL", "http://all/")], config).endpoint(),
            "http://all"
        );
        let both = [
            ("AWS_ENDPOINT_URL", "http://all"),
            ("AWS_ENDPOINT_URL_STS", "http://sts"),
        ];
        assert_eq!(sts(&both, config).endpoint(), "http://sts");
        let ignore = [
            ("AWS_ENDPOINT_URL", "http://all"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ];
        assert_eq!(sts(&ignore, config).endpoint(), "https://sts.eu-west-3.amazonaws.com");
        let config = "[default]\nendpoint_url = http://profile\n";
        assert_eq!(sts(&[], config).endpoint(), "http://profile");
    }

    #[test]
    fn reads_credentials_and_errors() {
        let ok = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <AssumeRoleResult><AssumedRoleUser><Arn>arn:x</Arn></AssumedRoleUser>
          <Credentials><AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>s&amp;k</SecretAccessKey>
          <SessionToken>t&#x2B;k</SessionToken><Expiration>2030-01-01T00:00:00.000Z</Expiration></Credentials>
          </AssumeRoleResult></AssumeRoleResponse>"#;
        let creds = credentials_from(&parse_xml(ok).unwrap()).unwrap();
        assert_eq!(creds.access_key_id(), "ASIAX");
        assert_eq!(creds.secret_access_key().expose(), "s&k");
        assert_eq!(creds.session_token().unwrap().expose(), "t+k");
        assert_eq!(
            creds.expiry(),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000))
        );
        let err = r#"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>
          <Message>not authorized to perform sts:AssumeRole</Message></Error></ErrorResponse>"#;
        let fields = parse_xml(err).unwrap();
        assert_eq!(fields["Error/Code"], "AccessDenied");
        assert_eq!(credentials_from(&fields).unwrap_err(), "Credentials/Expiration");
        assert!(parse_xml("not xml").is_err());
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn form_and_session_names() {
        assert_eq!(
            encode_form(&[("A", "x y+z/@"), ("B", "-_.~")]),
            "A=x%20y%2Bz%2F%40&B=-_.~"
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(default_session_name(now), "rds-iam-1700000000123");
    }
}
