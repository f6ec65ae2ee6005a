//! [`TokenRequest`] and [`AuthToken`]: signing a token exactly as botocore's `generate_db_auth_token` does.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::endpoint::is_region;
use crate::{Credentials, Error, Secret};

/// The longest lifetime RDS accepts for a token, and the default.
pub const MAX_EXPIRES_IN: Duration = Duration::from_secs(900);

/// The SigV4 service name for RDS IAM authentication.
pub const SERVICE: &str = "rds-db";

/// RFC 3986 unreserved characters stay literal; everything else, including every UTF-8 byte, is `%XX`.
pub(crate) const RFC3986: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// What a token is for: the endpoint it is signed for, the database user, the region, its lifetime.
///
/// The host is the **signing host**: the RDS endpoint name the server expects, even when you dial a tunnel or
/// a CNAME. Construct once and sign as often as needed.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use rds_iam_token::{Credentials, TokenRequest};
///
/// let request = TokenRequest::new("mydb.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com", 3306, "app_user", "us-east-1")?;
/// let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_546_300_800); // 2019-01-01T00:00:00Z
/// let token = request.sign(&creds, now)?;
/// assert!(token.expose().starts_with(
///     "mydb.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com:3306/?Action=connect&DBUser=app_user&X-Amz-Algorithm="));
/// assert_eq!(token.expires_at(), now + Duration::from_secs(900));
/// # Ok::<(), rds_iam_token::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenRequest {
    host: String,
    port: u16,
    user: String,
    region: String,
    expires_in: Duration,
}

impl TokenRequest {
    /// A request for a 15-minute token. Fails on an empty or malformed host (a scheme or `:port` inside it), port
    /// 0, an empty user or one with a control character ([`Error::ControlCharacter`]: NUL, CR, LF, TAB, any C0 or
    /// C1 control), or a region that is not a region name. Any other character is fine in the user name and is
    /// percent-encoded as botocore does.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        user: impl Into<String>,
        region: impl Into<String>,
    ) -> Result<Self, Error> {
        let host = host.into();
        validate_host(&host)?;
        if port == 0 {
            return Err(Error::InvalidPort);
        }
        let user = user.into();
        if user.is_empty() {
            return Err(Error::EmptyUser);
        }
        Error::reject_control_characters("DB user", &user)?;
        let region = region.into();
        if !is_region(&region) {
            return Err(Error::InvalidRegion { region });
        }
        Ok(Self {
            host,
            port,
            user,
            region,
            expires_in: MAX_EXPIRES_IN,
        })
    }

    /// A shorter lifetime, 1 to 900 seconds (whole seconds; RDS's maximum and the default is 900).
    pub fn with_expires_in(mut self, expires_in: Duration) -> Result<Self, Error> {
        let seconds = expires_in.as_secs();
        if seconds == 0 || seconds > MAX_EXPIRES_IN.as_secs() || expires_in.subsec_nanos() != 0 {
            return Err(Error::ExpiresInOutOfRange { seconds });
        }
        self.expires_in = expires_in;
        Ok(self)
    }

    /// The signing host, as given (its case is kept in the token).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The region the token is signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// How long a token is valid after signing.
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// Signs a token at `now` with `credentials`.
    ///
    /// The result is byte-identical to botocore's `generate_db_auth_token` for the same inputs. Fails if the
    /// credentials are incomplete or already expired at `now`, or if `now` is past the year 9999.
    pub fn sign(&self, credentials: &Credentials, now: SystemTime) -> Result<AuthToken, Error> {
        if credentials.access_key_id().is_empty() || credentials.secret_access_key().expose().is_empty() {
            return Err(Error::IncompleteCredentials);
        }
        if !is_calendar_time(now) {
            // aws-sigv4 formats `X-Amz-Date` with `OffsetDateTime::from`, which panics outside years ±9999.
            return Err(Error::SigningTimeOutOfRange);
        }
        if credentials.is_expired(now) {
            return Err(Error::CredentialsExpired {
                access_key_id: credentials.access_key_id().to_owned(),
            });
        }
        let value = self.presign(credentials, now)?;
        Ok(AuthToken(Arc::new(Inner {
            value: Secret::new(value),
            signed_at: now,
            expires_at: now + self.expires_in,
            credentials_expiry: credentials.expiry(),
        })))
    }

    fn presign(&self, credentials: &Credentials, now: SystemTime) -> Result<String, Error> {
        let user = utf8_percent_encode(&self.user, RFC3986).to_string();
        // botocore signs the lowercased host and, like any HTTPS client, leaves the default port out of the
        // `host` header; the token itself keeps the host as given and always carries the port.
        let signed_host = self.host.to_ascii_lowercase();
        let host_header = if self.port == 443 {
            signed_host.clone()
        } else {
            format!("{signed_host}:{}", self.port)
        };
        let uri = format!("https://{host_header}/?Action=connect&DBUser={user}");

        let identity = credentials.identity();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(self.expires_in);
        let params = v4::SigningParams::builder()
            .identity(identity)
            .region(&self.region)
            .name(SERVICE)
            .time(now)
            .settings(settings)
            .build()
            .map_err(|e| Error::Signing(e.to_string()))?
            .into();
        let request = SignableRequest::new(
            "GET",
            uri,
            [("host", host_header.as_str())].into_iter(),
            SignableBody::Bytes(&[]),
        )
        .map_err(|e| Error::Signing(e.to_string()))?;
        // aws-sigv4 logs the canonical request at TRACE, session token included: silence it for this call so no
        // subscriber of any program using this crate can record the secret.
        let signed =
            tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || sign(request, &params));
        let (instructions, signature) = signed.map_err(|e| Error::Signing(e.to_string()))?.into_parts();

        let value_of = |name: &str| {
            instructions
                .params()
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_ref())
                .ok_or_else(|| Error::Signing(format!("aws-sigv4 returned no {name}")))
        };
        let token_len = credentials.session_token().map_or(0, |t| t.expose().len());
        let mut out = String::with_capacity(self.host.len() + user.len() + 320 + token_len * 5 / 4);
        out.push_str(&self.host);
        out.push(':');
        out.push_str(&self.port.to_string());
        out.push_str("/?Action=connect&DBUser=");
        out.push_str(&user);
        for name in [
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Date",
            "X-Amz-Expires",
            "X-Amz-SignedHeaders",
        ] {
            push_param(&mut out, name, value_of(name)?);
        }
        if credentials.session_token().is_some() {
            push_param(&mut out, "X-Amz-Security-Token", value_of("X-Amz-Security-Token")?);
        }
        push_param(&mut out, "X-Amz-Signature", &signature);
        Ok(out)
    }
}

/// Whether `time` can hold `t` as a date (years -9999 to 9999).
fn is_calendar_time(t: SystemTime) -> bool {
    let epoch = time::OffsetDateTime::UNIX_EPOCH;
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => time::Duration::try_from(after).is_ok_and(|d| epoch.checked_add(d).is_some()),
        Err(before) => time::Duration::try_from(before.duration()).is_ok_and(|d| epoch.checked_sub(d).is_some()),
    }
}

fn push_param(out: &mut String, name: &str, value: &str) {
    out.push('&');
    out.push_str(name);
    out.push('=');
    out.extend(utf8_percent_encode(value, RFC3986));
}

/// Checks that `host` is a bare DNS name or IP literal — no scheme, no `:port`, no path — as
/// [`TokenRequest::new`] does. Rejects what botocore would silently turn into a token no server accepts. A control
/// character (a trailing newline, a NUL, a TAB, …) is reported as [`Error::ControlCharacter`] with the field
/// `"host"`.
///
/// ```
/// use rds_iam_token::{validate_host, Error};
/// assert!(validate_host("mydb.abc123.us-east-1.rds.amazonaws.com").is_ok());
/// assert!(matches!(validate_host("mydb.example.com:3306"), Err(Error::HostHasPort { .. })));
/// assert!(matches!(validate_host("mydb.example.com\n"), Err(Error::ControlCharacter { field: "host", .. })));
/// ```
pub fn validate_host(host: &str) -> Result<(), Error> {
    let invalid = |reason| {
        Err(Error::InvalidHost {
            host: host.to_owned(),
            reason,
        })
    };
    if host.is_empty() {
        return Err(Error::EmptyHost);
    }
    Error::reject_control_characters("host", host)?;
    if host.contains("://") {
        return Err(Error::HostHasScheme { host: host.to_owned() });
    }
    if let Some(inner) = host.strip_prefix('[') {
        return match inner.strip_suffix(']') {
            Some(ip) if ip.parse::<std::net::Ipv6Addr>().is_ok() => Ok(()),
            _ => invalid("a bracketed host must be an IPv6 address such as [fd00::1]"),
        };
    }
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        return invalid("write an IPv6 address in brackets, e.g. [fd00::1]");
    }
    if let Some((_, port)) = host.rsplit_once(':') {
        if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::HostHasPort {
                host: host.to_owned(),
                port: port.to_owned(),
            });
        }
        return invalid("it contains ':'");
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Err(Error::InvalidHost {
            host: host.to_owned(),
            reason: if c == '/' {
                "it contains '/': pass the bare endpoint name"
            } else {
                "only letters, digits, '-', '_' and '.' are allowed in a DNS name"
            },
        });
    }
    Ok(())
}

/// A signed RDS IAM auth token: the password to send over TLS with `mysql_clear_password`.
///
/// Cheap to clone (shared). `Debug` shows the times, never the token; the token's memory is zeroed when the last
/// clone is dropped.
#[derive(Clone)]
pub struct AuthToken(Arc<Inner>);

struct Inner {
    value: Secret<String>,
    signed_at: SystemTime,
    expires_at: SystemTime,
    credentials_expiry: Option<SystemTime>,
}

impl AuthToken {
    /// The token text (`HOST:PORT/?Action=connect&…`). Send it only over TLS.
    pub fn expose(&self) -> &str {
        self.0.value.expose()
    }

    /// When it was signed.
    pub fn signed_at(&self) -> SystemTime {
        self.0.signed_at
    }

    /// When RDS stops accepting it (signing time + lifetime).
    pub fn expires_at(&self) -> SystemTime {
        self.0.expires_at
    }

    /// When the temporary credentials that signed it expire (`None`: long-term keys, or no expiry known).
    pub fn credentials_expiry(&self) -> Option<SystemTime> {
        self.0.credentials_expiry
    }

    /// The end of its real usefulness: the earlier of its own expiry and the expiry of the credentials that
    /// signed it (RDS rejects a token whose temporary credentials have expired).
    pub fn usable_until(&self) -> SystemTime {
        match self.0.credentials_expiry {
            Some(creds) if creds < self.0.expires_at => creds,
            _ => self.0.expires_at,
        }
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthToken")
            .field("value", &self.0.value)
            .field("signed_at", &self.0.signed_at)
            .field("expires_at", &self.0.expires_at)
            .field("credentials_expiry", &self.0.credentials_expiry)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn host_validation() {
        let req = |h: &str| TokenRequest::new(h, 3306, "u", "us-east-1");
        assert_eq!(req(""), Err(Error::EmptyHost));
        assert!(matches!(
            req("https://db.example.com"),
            Err(Error::HostHasScheme { .. })
        ));
        assert!(matches!(req("db.example.com:3306"), Err(Error::HostHasPort { port, .. }) if port == "3306"));
        assert!(matches!(req("db.example.com/"), Err(Error::InvalidHost { .. })));
        assert!(matches!(req("db example"), Err(Error::InvalidHost { .. })));
        assert!(matches!(req("::1"), Err(Error::InvalidHost { .. })));
        assert!(req("[::1]").is_ok());
        assert!(req("127.0.0.1").is_ok());
        assert!(req("MyDB.example.com").is_ok());
    }

    /// Security review, finding 2: a control character in the user or the host is refused with
    /// [`Error::ControlCharacter`], naming the field and where it is.
    #[test]
    fn control_characters_are_refused_in_user_and_host() {
        let host = "mydb.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com";
        for (bad, position) in [
            ("app\r\n", 3),
            ("app\n", 3),
            ("\napp", 0),
            ("ap\0p", 2),
            ("a\tpp", 1),
            ("app\u{85}", 3),
            ("app\u{7f}", 3),
            ("äpp\u{1b}[0m", 3),
        ] {
            let character = bad.chars().nth(position).unwrap();
            assert_eq!(
                TokenRequest::new(host, 3306, bad, "us-east-1"),
                Err(Error::ControlCharacter {
                    field: "DB user",
                    character,
                    position,
                }),
                "user {bad:?}"
            );
            let bad_host = format!("{host}{bad}");
            let expected = Error::ControlCharacter {
                field: "host",
                character,
                position: host.chars().count() + position,
            };
            assert_eq!(validate_host(&bad_host), Err(expected.clone()), "host {bad_host:?}");
            assert_eq!(
                TokenRequest::new(bad_host.as_str(), 3306, "app", "us-east-1"),
                Err(expected)
            );
        }
        let message = TokenRequest::new(host, 3306, "app\n", "us-east-1")
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "the DB user contains the control character U+000A at position 3 (counting from 0): remove line breaks, \
             tabs and other control characters (a value read from a file or pasted often ends in a newline)"
        );
        assert!(
            validate_host("h\u{85}")
                .unwrap_err()
                .to_string()
                .starts_with("the host contains the control character U+0085 at position 1")
        );
    }

    /// Security review, finding 2: refusing control characters keeps every other user name, and those are signed
    /// byte for byte as botocore 1.43 signs them (signatures from `tests/py/botocore_tokens.py`).
    #[test]
    fn special_user_names_still_sign_like_botocore() {
        let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        for (user, encoded, signature) in [
            (
                "a+b",
                "a%2Bb",
                "32388b07dd91c82ba76a69546529acbffbee876b875f6091c1c1a7a69598a53f",
            ),
            (
                "o'brien",
                "o%27brien",
                "65738c3f131b683ca005f5cf288231c9917a6a06ef641d9dd76145c9dbacded1",
            ),
            (
                "app user",
                "app%20user",
                "9be8369af7ab9e494c9f0f213cf812d7f1c3c824bf18e7600e394c01c851f7da",
            ),
            (
                "#admin",
                "%23admin",
                "9b5b90732ce8a961457edbbef53385fadd0c35409062d3be80261301159a81ae",
            ),
            (
                "dom\\user",
                "dom%5Cuser",
                "1ba47bd437e83955716bfc2912e38a360bbe991c3647bf60593e9759ceb1440d",
            ),
            (
                "ユーザー😀",
                "%E3%83%A6%E3%83%BC%E3%82%B6%E3%83%BC%F0%9F%98%80",
                "f14a2e5c6a590fcb270bec8a29f22ffb2242939bd640339341fd0b7115e9e3bc",
            ),
            (
                "Zoë-ß_1.~",
                "Zo%C3%AB-%C3%9F_1.~",
                "1e98e859dc8de9a04fc522da5ab3fda5e4e0d8e31ee2c1db4d841ca615cfc7ab",
            ),
        ] {
            let request = TokenRequest::new("MyDB.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com", 3306, user, "us-east-1")
                .unwrap_or_else(|e| panic!("{user:?} refused: {e}"));
            let token = request.sign(&creds, at(1_546_300_800)).unwrap();
            assert_eq!(
                token.expose(),
                format!(
                    "MyDB.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com:3306/?Action=connect&DBUser={encoded}\
                     &X-Amz-Algorithm=AWS4-HMAC-SHA256\
                     &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20190101%2Fus-east-1%2Frds-db%2Faws4_request\
                     &X-Amz-Date=20190101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
                     &X-Amz-Signature={signature}"
                ),
                "user {user:?}"
            );
        }
    }

    #[test]
    fn other_validation() {
        assert_eq!(TokenRequest::new("h", 0, "u", "us-east-1"), Err(Error::InvalidPort));
        assert_eq!(TokenRequest::new("h", 1, "", "us-east-1"), Err(Error::EmptyUser));
        assert!(matches!(
            TokenRequest::new("h", 1, "u", "mars"),
            Err(Error::InvalidRegion { .. })
        ));
        let req = TokenRequest::new("h", 1, "u", "us-east-1").unwrap();
        assert_eq!(
            req.clone().with_expires_in(Duration::from_secs(901)),
            Err(Error::ExpiresInOutOfRange { seconds: 901 })
        );
        assert!(req.clone().with_expires_in(Duration::ZERO).is_err());
        assert!(req.clone().with_expires_in(Duration::from_millis(1500)).is_err());
        assert_eq!(
            req.with_expires_in(Duration::from_secs(1)).unwrap().expires_in(),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn refuses_bad_credentials() {
        let req = TokenRequest::new("h", 1, "u", "us-east-1").unwrap();
        assert_eq!(
            req.sign(&Credentials::new("", "x"), at(0)).unwrap_err(),
            Error::IncompleteCredentials
        );
        let expired = Credentials::new("ASIA1", "x")
            .with_session_token("t")
            .with_expiry(at(100));
        assert!(matches!(
            req.sign(&expired, at(100)),
            Err(Error::CredentialsExpired { .. })
        ));
    }

    /// Found by the `token_roundtrip` fuzz target: a signing time past the year 9999 panicked in aws-sigv4.
    #[test]
    fn refuses_times_past_year_9999() {
        let req = TokenRequest::new("h", 1, "u", "us-east-1").unwrap();
        let creds = Credentials::new("AKIA1", "x");
        assert_eq!(
            req.sign(&creds, at(3_298_534_883_327)).unwrap_err(),
            Error::SigningTimeOutOfRange
        );
        let last_second = at(253_402_300_799); // 9999-12-31T23:59:59Z
        let token = req.sign(&creds, last_second).unwrap();
        assert!(token.expose().contains("X-Amz-Date=99991231T235959Z"));
    }

    #[test]
    fn usable_until_respects_credentials() {
        let req = TokenRequest::new("h", 1, "u", "us-east-1").unwrap();
        let creds = Credentials::new("ASIA1", "x")
            .with_session_token("t")
            .with_expiry(at(300));
        let token = req.sign(&creds, at(0)).unwrap();
        assert_eq!(token.expires_at(), at(900));
        assert_eq!(token.usable_until(), at(300));
        let shown = format!("{token:?}");
        assert!(!shown.contains("Signature"), "{shown}");
    }

    #[test]
    fn nothing_secret_reaches_a_trace_subscriber() {
        let logs = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || Capture(sink.clone()))
            .finish();
        let creds = Credentials::new("ASIAEXAMPLE", "SECRETKEYVALUE").with_session_token("SESSIONTOKENVALUE");
        let req = TokenRequest::new("h", 1, "u", "us-east-1").unwrap();
        let token = tracing::subscriber::with_default(subscriber, || {
            tracing::trace!("subscriber is live");
            req.sign(&creds, at(0)).unwrap()
        });
        let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
        assert!(logs.contains("subscriber is live"), "{logs}");
        let signature = token.expose().rsplit_once('=').unwrap().1;
        for secret in ["SECRETKEYVALUE", "SESSIONTOKENVALUE", signature] {
            assert!(!logs.contains(secret), "{secret} logged: {logs}");
        }
    }

    struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn shorter_expiry_is_in_token() {
        let req = TokenRequest::new("h", 1, "u", "us-east-1")
            .unwrap()
            .with_expires_in(Duration::from_secs(60))
            .unwrap();
        let token = req.sign(&Credentials::new("A", "x"), at(0)).unwrap();
        assert!(token.expose().contains("&X-Amz-Expires=60&"));
        assert_eq!(token.expires_at(), at(60));
    }
}
