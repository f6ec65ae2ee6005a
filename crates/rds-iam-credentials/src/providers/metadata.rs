//! What the metadata-endpoint providers (EC2 IMDS, ECS/EKS container) share: URL checks, the credentials JSON
//! document, retries on 5xx, and describing a bad response without echoing it.

use std::time::{Duration, Instant, SystemTime};

use reqwest::Url;
use serde_json::Value;

use crate::Credentials;
use crate::http::{Http, HttpError, Response, shown_url};

/// How often a request answered with 5xx is tried in all.
pub(crate) const ATTEMPTS: u32 = 3;

/// The pause before the second attempt; it doubles for each further attempt.
const BACKOFF: Duration = Duration::from_millis(50);

/// Parses an endpoint URL given by `what` (an environment variable or setting name). The message says what is
/// wrong with it; the URL itself is not secret and is part of it.
pub(crate) fn parse_url(what: &str, value: &str) -> Result<Url, String> {
    let bad = |why: &str| format!("{what} `{value}` is not a valid URL: {why}");
    if let Some(c) = value.chars().find(|c| !is_uri_char(*c)) {
        return Err(bad(&format!("invalid uri character {c:?}")));
    }
    if !value.contains("://") {
        return Err(bad("URI did not specify a host (expected e.g. http://169.254.169.254)"));
    }
    let url = Url::parse(value).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(&format!("the scheme `{}` is not http or https", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("URI did not specify a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("user names and passwords in the URL are not supported"));
    }
    Ok(url)
}

/// Characters RFC 3986 allows in a URI (reserved, unreserved and `%`).
fn is_uri_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)
}

/// Sends a request, repeating it (after a short pause) while the answer is a 5xx, up to [`ATTEMPTS`] times in all.
/// Connection failures and timeouts are returned at once: retrying them would multiply the wait off EC2.
/// `deadline` bounds the whole sequence; no request is given more time than is left.
pub(crate) fn send_with_retries(
    http: &Http,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    deadline: Instant,
) -> Result<Response, HttpError> {
    let mut attempt = 1;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HttpError::Timeout {
                url: shown_url(url),
                after: http.settings().timeout,
            });
        }
        let response = http.send(method, url, headers, None, Some(left.min(http.settings().timeout)))?;
        if !(500..600).contains(&response.status) || attempt >= ATTEMPTS {
            return Ok(response);
        }
        let pause = BACKOFF * 2u32.pow(attempt - 1);
        tracing::debug!(
            status = response.status,
            attempt,
            ?pause,
            url = shown_url(url),
            "retrying after a 5xx"
        );
        if Instant::now() + pause >= deadline {
            return Ok(response);
        }
        std::thread::sleep(pause);
        attempt += 1;
    }
}

/// Describes a response body for an error message without echoing anything that might be secret: text that
/// looks like it holds credentials is reported by its length only.
pub(crate) fn describe_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    let risky = ["secret", "token", "accesskey", "password", "authorization"]
        .iter()
        .any(|word| lower.contains(word));
    if body.is_empty() {
        "an empty body".to_owned()
    } else if risky || serde_json::from_slice::<Value>(body).is_ok() {
        format!("{} bytes", body.len())
    } else {
        let start: String = text.chars().take(60).collect();
        let more = if start.len() < text.len() { "…" } else { "" };
        format!("{} bytes: {start:?}{more}", body.len())
    }
}

/// Which fields a credentials document must have besides the keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Temporary {
    /// `Token` and `Expiration` are required (IMDS always sends them).
    Required,
    /// `Token` and `Expiration` may be missing (a container endpoint may serve long-term keys).
    Optional,
}

/// Parses the JSON credentials document IMDS and the container endpoints serve:
/// `{Code?, AccessKeyId, SecretAccessKey, Token, Expiration, AccountId?}`. Messages name fields, never values
/// (apart from `Code` and `Expiration`, which are not secret).
pub(crate) fn parse_credentials(body: &[u8], temporary: Temporary, source: String) -> Result<Credentials, String> {
    let json: Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "the response is not a JSON credentials document ({}; {e})",
            describe_body(body)
        )
    })?;
    if !json.is_object() {
        return Err("the response is JSON but not an object with credentials".to_owned());
    }
    if let Some(code) = json.get("Code") {
        let code = code.as_str().unwrap_or("(not a string)");
        if code != "Success" {
            let message = json
                .get("Message")
                .and_then(Value::as_str)
                .map(|m| format!(" ({})", m.chars().take(200).collect::<String>()))
                .unwrap_or_default();
            return Err(format!("the response has Code `{code}` instead of `Success`{message}"));
        }
    }
    let field = |name: &str| match json.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(format!("the field `{name}` of the response is not a non-empty string")),
    };
    let required = |name: &str| field(name)?.ok_or_else(|| format!("the response has no `{name}` field"));
    let access_key_id = required("AccessKeyId")?;
    let secret_access_key = required("SecretAccessKey")?;
    let (token, expiration) = match temporary {
        Temporary::Required => (Some(required("Token")?), Some(required("Expiration")?)),
        Temporary::Optional => (field("Token")?, field("Expiration")?),
    };
    let mut creds = Credentials::new(access_key_id, secret_access_key).with_source(source);
    if let Some(token) = token {
        creds = creds.with_session_token(token);
    }
    if let Some(expiration) = expiration {
        creds = creds.with_expiry(parse_rfc3339(&expiration)?);
    }
    Ok(creds)
}

/// An RFC 3339 timestamp (`2024-05-01T12:00:00Z`) as a time.
pub(crate) fn parse_rfc3339(s: &str) -> Result<SystemTime, String> {
    crate::sts::parse_rfc3339(s).map_err(|e| format!("`Expiration` {s:?} is not an RFC 3339 time ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(parse_url("X", "http://a:1").unwrap().as_str(), "http://a:1/");
        for (value, why) in [
            ("not a uri", "invalid uri character ' '"),
            ("/credentials", "URI did not specify a host"),
            ("169.254.169.254", "URI did not specify a host"),
            ("ftp://x/", "scheme `ftp`"),
            ("http://u:p@x/", "user names"),
            ("http://[zz]/", "invalid IPv6"),
        ] {
            let err = parse_url("X", value).unwrap_err();
            assert!(err.contains(why), "{value}: {err}");
        }
    }

    #[test]
    fn bodies_are_described_not_echoed() {
        assert_eq!(describe_body(b""), "an empty body");
        assert_eq!(describe_body(b"<html>oops</html>"), "17 bytes: \"<html>oops</html>\"");
        assert_eq!(describe_body(br#"{"SecretAccessKey": "abc"#), "24 bytes");
        assert_eq!(describe_body(br#"{"a": 1}"#), "8 bytes");
    }

    #[test]
    fn credentials_documents() {
        let doc = br#"{"Code":"Success","AccessKeyId":"ASIA1","SecretAccessKey":"S3CR3T","Token":"T0K3N",
            "Expiration":"2030-01-02T03:04:05Z"}"#;
        let creds = parse_credentials(doc, Temporary::Required, "x".into()).unwrap();
        assert_eq!(creds.access_key_id(), "ASIA1");
        assert_eq!(creds.session_token().unwrap().expose(), "T0K3N");
        assert_eq!(
            creds.expiry(),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_553_445))
        );
        let bad = [
            (
                &br#"{"AccessKeyId":"A","SecretAccessKey":"S3CR3T"}"#[..],
                Temporary::Required,
                "no `Token`",
            ),
            (
                br#"{"Code":"Failure","Message":"m","SecretAccessKey":"S3CR3T"}"#,
                Temporary::Optional,
                "`Failure`",
            ),
            (
                br#"{"AccessKeyId":"A","SecretAccessKey":7}"#,
                Temporary::Optional,
                "`SecretAccessKey`",
            ),
            (
                br#"{"AccessKeyId":"A","SecretAccessKey":"S3CR3T","Expiration":"soon"}"#,
                Temporary::Optional,
                "RFC 3339",
            ),
            (
                br#"{"AccessKeyId":"A","SecretAccessKey":"S3CR3T""#,
                Temporary::Optional,
                "not a JSON",
            ),
            (b"[1]", Temporary::Optional, "not an object"),
        ];
        for (body, temporary, why) in bad {
            let err = parse_credentials(body, temporary, "x".into()).unwrap_err();
            assert!(err.contains(why), "{err}");
            assert!(!err.contains("S3CR3T"), "{err}");
        }
        let long_term = parse_credentials(
            br#"{"AccessKeyId":"A","SecretAccessKey":"S"}"#,
            Temporary::Optional,
            "x".into(),
        );
        assert!(long_term.unwrap().session_token().is_none());
    }
}
