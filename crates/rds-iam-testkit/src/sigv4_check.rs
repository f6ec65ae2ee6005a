//! [`validate_token`]: an RDS IAM auth token checker written from the AWS SigV4 spec (hmac + sha2, not aws-sigv4),
//! the server side of the test MariaDB's PAM service.
//!
//! It checks what RDS checks: the signed `host:port` and `DBUser`, `Action=connect`, the algorithm, the credential
//! scope (a known access key id, the date of `X-Amz-Date`, region, service `rds-db`, `aws4_request`), the signed
//! headers, the validity window, and the signature recomputed from the canonical request with the known secret key.
//! Host and signature follow botocore: the host is lowercased and `:443` is left out of the signed `host` header.

use std::fmt;
use std::time::{Duration, SystemTime};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The only algorithm SigV4 query signing uses.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The signing name of RDS IAM authentication.
pub const SERVICE: &str = "rds-db";
/// The longest lifetime a token may claim (`X-Amz-Expires`), in seconds.
pub const MAX_EXPIRES: u64 = 900;
/// How far in the future `X-Amz-Date` may be (client clock ahead of the server's).
pub const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// What the server knows: its signing endpoint, its region, the user logging in, and the one key pair it trusts.
///
/// `Debug` redacts the secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct Expectation {
    host: String,
    port: u16,
    user: String,
    region: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl Expectation {
    /// A token must be signed for `host:port` (the signing host, not necessarily the address dialled), for DB user
    /// `user`, in `region`, with the long-term key pair `access_key_id` / `secret_access_key`.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        user: impl Into<String>,
        region: impl Into<String>,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Expectation {
        Expectation {
            host: host.into(),
            port,
            user: user.into(),
            region: region.into(),
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }

    /// Temporary credentials: the token must carry this `X-Amz-Security-Token`. Without it, a token that carries
    /// one is rejected.
    pub fn with_session_token(mut self, session_token: impl Into<String>) -> Expectation {
        self.session_token = Some(session_token.into());
        self
    }

    /// The same expectation for another DB user.
    pub fn with_user(mut self, user: impl Into<String>) -> Expectation {
        self.user = user.into();
        self
    }

    /// The signing host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The signing port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The DB user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The trusted access key id.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// Everything but the user as `key=value` lines, for the PAM helper's config file (which holds the secret key:
    /// write it with mode 0600). [`Expectation::from_config`] reads it back.
    pub fn to_config(&self) -> String {
        let mut text = format!(
            "host={}\nport={}\nregion={}\naccess_key_id={}\nsecret_access_key={}\n",
            self.host, self.port, self.region, self.access_key_id, self.secret_access_key
        );
        if let Some(token) = &self.session_token {
            text.push_str(&format!("session_token={token}\n"));
        }
        text
    }

    /// Parses [`Expectation::to_config`]'s format (blank lines and `#` comments allowed) for DB user `user`.
    pub fn from_config(text: &str, user: &str) -> Result<Expectation, String> {
        let (mut host, mut port, mut region, mut key, mut secret, mut session) = (None, None, None, None, None, None);
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (name, value) = line
                .split_once('=')
                .ok_or_else(|| format!("config line without `=`: {line:?}"))?;
            let value = value.trim().to_owned();
            match name.trim() {
                "host" => host = Some(value),
                "port" => {
                    port = Some(
                        value
                            .parse::<u16>()
                            .map_err(|e| format!("config port {value:?}: {e}"))?,
                    )
                }
                "region" => region = Some(value),
                "access_key_id" => key = Some(value),
                "secret_access_key" => secret = Some(value),
                "session_token" => session = Some(value),
                other => return Err(format!("unknown config key {other:?}")),
            }
        }
        let missing = |name: &str| format!("config has no {name}");
        let mut expectation = Expectation::new(
            host.ok_or_else(|| missing("host"))?,
            port.ok_or_else(|| missing("port"))?,
            user,
            region.ok_or_else(|| missing("region"))?,
            key.ok_or_else(|| missing("access_key_id"))?,
            secret.ok_or_else(|| missing("secret_access_key"))?,
        );
        expectation.session_token = session;
        Ok(expectation)
    }
}

impl fmt::Debug for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expectation")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("session_token", &self.session_token.as_ref().map(|_| "** redacted **"))
            .finish()
    }
}

/// Why a token was refused. [`Rejection::code`] is a stable short name (what the PAM helper logs); `Display` adds
/// the details (never a secret or a signature).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// Not `host:port/?query`, a parameter missing, repeated, or badly encoded.
    Malformed(String),
    /// The path is not `/`.
    WrongPath(String),
    /// Signed for another host.
    WrongHost {
        /// The host the server expects.
        expected: String,
        /// The token's host.
        found: String,
    },
    /// Signed for another port.
    WrongPort {
        /// The port the server expects.
        expected: u16,
        /// The token's port.
        found: String,
    },
    /// `Action` is not `connect`.
    WrongAction(String),
    /// `DBUser` is not the user logging in.
    WrongUser {
        /// The user logging in (PAM_USER).
        expected: String,
        /// The token's `DBUser`.
        found: String,
    },
    /// `X-Amz-Algorithm` is not `AWS4-HMAC-SHA256`.
    WrongAlgorithm(String),
    /// `X-Amz-Credential` is not `KEY/DATE/REGION/SERVICE/aws4_request`.
    MalformedCredential(String),
    /// The access key id is not the one the server knows.
    UnknownAccessKey(String),
    /// The scope's date is not the date of `X-Amz-Date`.
    WrongScopeDate {
        /// The date of `X-Amz-Date`.
        expected: String,
        /// The scope's date.
        found: String,
    },
    /// Signed for another region.
    WrongRegion {
        /// The server's region.
        expected: String,
        /// The scope's region.
        found: String,
    },
    /// The scope's service is not `rds-db`.
    WrongService(String),
    /// The scope does not end with `aws4_request`.
    WrongTerminator(String),
    /// `X-Amz-SignedHeaders` is not `host`.
    WrongSignedHeaders(String),
    /// `X-Amz-Date` is not `YYYYMMDDTHHMMSSZ`.
    BadDate(String),
    /// `X-Amz-Expires` is not a number from 1 to 900.
    BadExpires(String),
    /// `X-Amz-Date` is more than the allowed clock skew in the future.
    NotYetValid {
        /// Seconds between now and `X-Amz-Date`.
        ahead_secs: u64,
    },
    /// The token's lifetime is over.
    Expired {
        /// Seconds since the token expired (0: it expires this second).
        since_secs: u64,
    },
    /// A session token was expected and is missing or different, or one came that was not expected.
    WrongSessionToken,
    /// The signature does not match the one recomputed with the known secret key.
    SignatureMismatch,
}

impl Rejection {
    /// A stable short name: `malformed`, `wrong-host`, `wrong-port`, `wrong-user`, `wrong-region`, `expired`,
    /// `not-yet-valid`, `signature-mismatch`, ….
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed(_) => "malformed",
            Rejection::WrongPath(_) => "wrong-path",
            Rejection::WrongHost { .. } => "wrong-host",
            Rejection::WrongPort { .. } => "wrong-port",
            Rejection::WrongAction(_) => "wrong-action",
            Rejection::WrongUser { .. } => "wrong-user",
            Rejection::WrongAlgorithm(_) => "wrong-algorithm",
            Rejection::MalformedCredential(_) => "malformed-credential",
            Rejection::UnknownAccessKey(_) => "unknown-access-key",
            Rejection::WrongScopeDate { .. } => "wrong-scope-date",
            Rejection::WrongRegion { .. } => "wrong-region",
            Rejection::WrongService(_) => "wrong-service",
            Rejection::WrongTerminator(_) => "wrong-terminator",
            Rejection::WrongSignedHeaders(_) => "wrong-signed-headers",
            Rejection::BadDate(_) => "bad-date",
            Rejection::BadExpires(_) => "bad-expires",
            Rejection::NotYetValid { .. } => "not-yet-valid",
            Rejection::Expired { .. } => "expired",
            Rejection::WrongSessionToken => "wrong-session-token",
            Rejection::SignatureMismatch => "signature-mismatch",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Malformed(why) => write!(f, "malformed token: {why}"),
            Rejection::WrongPath(path) => write!(f, "path is {path:?}, expected \"/\""),
            Rejection::WrongHost { expected, found } => write!(f, "signed for host {found:?}, expected {expected:?}"),
            Rejection::WrongPort { expected, found } => write!(f, "signed for port {found:?}, expected {expected}"),
            Rejection::WrongAction(action) => write!(f, "Action is {action:?}, expected \"connect\""),
            Rejection::WrongUser { expected, found } => write!(f, "DBUser is {found:?}, the login is for {expected:?}"),
            Rejection::WrongAlgorithm(alg) => write!(f, "X-Amz-Algorithm is {alg:?}, expected {ALGORITHM:?}"),
            Rejection::MalformedCredential(cred) => write!(f, "X-Amz-Credential {cred:?} is not a SigV4 scope"),
            Rejection::UnknownAccessKey(key) => write!(f, "unknown access key id {key:?}"),
            Rejection::WrongScopeDate { expected, found } => {
                write!(f, "credential scope date {found:?} is not X-Amz-Date's {expected:?}")
            }
            Rejection::WrongRegion { expected, found } => {
                write!(f, "signed for region {found:?}, expected {expected:?}")
            }
            Rejection::WrongService(service) => write!(f, "signed for service {service:?}, expected {SERVICE:?}"),
            Rejection::WrongTerminator(term) => write!(f, "scope ends with {term:?}, expected \"aws4_request\""),
            Rejection::WrongSignedHeaders(headers) => {
                write!(f, "X-Amz-SignedHeaders is {headers:?}, expected \"host\"")
            }
            Rejection::BadDate(date) => write!(f, "X-Amz-Date {date:?} is not YYYYMMDDTHHMMSSZ"),
            Rejection::BadExpires(expires) => write!(f, "X-Amz-Expires {expires:?} is not 1 to {MAX_EXPIRES}"),
            Rejection::NotYetValid { ahead_secs } => {
                write!(
                    f,
                    "X-Amz-Date is {ahead_secs} s in the future (allowed skew {} s)",
                    CLOCK_SKEW.as_secs()
                )
            }
            Rejection::Expired { since_secs } => write!(f, "token expired {since_secs} s ago"),
            Rejection::WrongSessionToken => f.write_str("X-Amz-Security-Token missing, unexpected or unknown"),
            Rejection::SignatureMismatch => f.write_str("signature does not match"),
        }
    }
}

impl std::error::Error for Rejection {}

/// Checks an RDS IAM auth token (`host:port/?Action=connect&DBUser=…&X-Amz-…`) against `expect` at time `now`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use rds_iam_testkit::sigv4_check::{Expectation, Rejection, validate_token};
///
/// let token = "mydb.c1a2b3c4d5e6.us-west-2.rds.amazonaws.com:3307/?Action=connect&DBUser=a%2Bb\
///     &X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20190101%2Fus-west-2%2Frds-db\
///     %2Faws4_request&X-Amz-Date=20190101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
///     &X-Amz-Signature=5f0e3c9a7d2b4e6f8a1c0b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f";
/// let expect = Expectation::new(
///     "mydb.c1a2b3c4d5e6.us-west-2.rds.amazonaws.com", 3307, "a+b", "us-west-2",
///     "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
/// );
/// let signed_at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_546_300_800);
/// // Well-formed and in time, but this signature was made up: only the secret key's owner can make a valid one.
/// let err = validate_token(token, &expect, signed_at + Duration::from_secs(60)).unwrap_err();
/// assert_eq!(err.code(), "signature-mismatch");
/// let late = signed_at + Duration::from_secs(901);
/// assert!(matches!(validate_token(token, &expect, late), Err(Rejection::Expired { .. })));
/// ```
pub fn validate_token(token: &str, expect: &Expectation, now: SystemTime) -> Result<(), Rejection> {
    let parsed = ParsedToken::parse(token)?;

    let algorithm = parsed.required("X-Amz-Algorithm")?;
    if algorithm != ALGORITHM {
        return Err(Rejection::WrongAlgorithm(algorithm.to_owned()));
    }
    if !parsed.host.eq_ignore_ascii_case(&expect.host) {
        return Err(Rejection::WrongHost {
            expected: expect.host.clone(),
            found: parsed.host.clone(),
        });
    }
    if parsed.port.parse::<u16>().ok() != Some(expect.port) || parsed.port.starts_with(['+', '0']) {
        return Err(Rejection::WrongPort {
            expected: expect.port,
            found: parsed.port.clone(),
        });
    }
    if parsed.path != "/" {
        return Err(Rejection::WrongPath(parsed.path.clone()));
    }
    let action = parsed.required("Action")?;
    if action != "connect" {
        return Err(Rejection::WrongAction(action.to_owned()));
    }
    let user = parsed.required("DBUser")?;
    if user != expect.user {
        return Err(Rejection::WrongUser {
            expected: expect.user.clone(),
            found: user.to_owned(),
        });
    }

    let amz_date = parsed.required("X-Amz-Date")?;
    let signed_at = parse_amz_date(amz_date).ok_or_else(|| Rejection::BadDate(amz_date.to_owned()))?;
    let credential = parsed.required("X-Amz-Credential")?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, terminator] = scope[..] else {
        return Err(Rejection::MalformedCredential(credential.to_owned()));
    };
    if key_id != expect.access_key_id {
        return Err(Rejection::UnknownAccessKey(key_id.to_owned()));
    }
    if date != &amz_date[..8] {
        return Err(Rejection::WrongScopeDate {
            expected: amz_date[..8].to_owned(),
            found: date.to_owned(),
        });
    }
    if region != expect.region {
        return Err(Rejection::WrongRegion {
            expected: expect.region.clone(),
            found: region.to_owned(),
        });
    }
    if service != SERVICE {
        return Err(Rejection::WrongService(service.to_owned()));
    }
    if terminator != "aws4_request" {
        return Err(Rejection::WrongTerminator(terminator.to_owned()));
    }
    let signed_headers = parsed.required("X-Amz-SignedHeaders")?;
    if signed_headers != "host" {
        return Err(Rejection::WrongSignedHeaders(signed_headers.to_owned()));
    }
    if parsed.get("X-Amz-Security-Token") != expect.session_token.as_deref() {
        return Err(Rejection::WrongSessionToken);
    }

    let expires = parsed.required("X-Amz-Expires")?;
    let expires_secs = expires
        .parse::<u64>()
        .ok()
        .filter(|e| (1..=MAX_EXPIRES).contains(e) && !expires.starts_with(['+', '0']))
        .ok_or_else(|| Rejection::BadExpires(expires.to_owned()))?;
    if let Ok(ahead) = signed_at.duration_since(now)
        && ahead > CLOCK_SKEW
    {
        return Err(Rejection::NotYetValid {
            ahead_secs: ahead.as_secs(),
        });
    }
    let expires_at = signed_at + Duration::from_secs(expires_secs);
    if let Ok(since) = now.duration_since(expires_at) {
        return Err(Rejection::Expired {
            since_secs: since.as_secs(),
        });
    }

    let signature = parsed.required("X-Amz-Signature")?;
    let expected = signature_for(&parsed, expect, amz_date);
    if !constant_time_eq(signature.as_bytes(), expected.as_bytes()) {
        return Err(Rejection::SignatureMismatch);
    }
    Ok(())
}

/// The signature SigV4 gives `parsed`'s canonical request under `expect`'s secret key and region.
fn signature_for(parsed: &ParsedToken, expect: &Expectation, amz_date: &str) -> String {
    let mut query: Vec<(String, String)> = parsed
        .params
        .iter()
        .filter(|(name, _)| name != "X-Amz-Signature")
        .map(|(name, value)| (uri_encode(name), uri_encode(value)))
        .collect();
    query.sort();
    let canonical_query = query
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    let host = parsed.host.to_ascii_lowercase();
    let host_header = if parsed.port == "443" {
        host
    } else {
        format!("{host}:{}", parsed.port)
    };
    let empty_payload = hex::encode(Sha256::digest(b""));
    let canonical_request = format!("GET\n/\n{canonical_query}\nhost:{host_header}\n\nhost\n{empty_payload}");

    let date = &amz_date[..8];
    let scope = format!("{date}/{}/{SERVICE}/aws4_request", expect.region);
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );

    let k_date = hmac(format!("AWS4{}", expect.secret_access_key).as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, expect.region.as_bytes());
    let k_service = hmac(&k_region, SERVICE.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hex::encode(hmac(&k_signing, string_to_sign.as_bytes()))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// RFC 3986 encoding as SigV4 wants it: only `A-Za-z0-9-_.~` stay literal.
fn uri_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (and nothing else: a `+` stays a `+`, as SigV4 signs it).
fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

struct ParsedToken {
    host: String,
    port: String,
    path: String,
    params: Vec<(String, String)>,
}

impl ParsedToken {
    fn parse(token: &str) -> Result<ParsedToken, Rejection> {
        let malformed = |why: &str| Rejection::Malformed(why.to_owned());
        if token.starts_with("https://") || token.starts_with("http://") {
            return Err(malformed("starts with a URL scheme"));
        }
        let (before_query, query) = token.split_once('?').ok_or_else(|| malformed("no query string"))?;
        let slash = before_query
            .find('/')
            .ok_or_else(|| malformed("no path before the query"))?;
        let (authority, path) = before_query.split_at(slash);
        let (host, port) = authority
            .rsplit_once(':')
            .ok_or_else(|| malformed("no port after the host"))?;
        if host.is_empty() || port.is_empty() {
            return Err(malformed("empty host or port"));
        }
        let mut params: Vec<(String, String)> = Vec::new();
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = percent_decode(name).ok_or_else(|| malformed("bad percent-encoding in a name"))?;
            let value = percent_decode(value).ok_or_else(|| malformed("bad percent-encoding in a value"))?;
            if params.iter().any(|(n, _)| *n == name) {
                return Err(Rejection::Malformed(format!("parameter {name} repeated")));
            }
            params.push((name, value));
        }
        Ok(ParsedToken {
            host: host.to_owned(),
            port: port.to_owned(),
            path: path.to_owned(),
            params,
        })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> Result<&str, Rejection> {
        self.get(name)
            .ok_or_else(|| Rejection::Malformed(format!("parameter {name} missing")))
    }
}

/// `YYYYMMDDTHHMMSSZ` as a time.
fn parse_amz_date(value: &str) -> Option<SystemTime> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u64> {
        let s = value.get(range)?;
        s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok())?
    };
    let (year, month, day) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (hour, minute, second) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if day == 0 || day > month_days[(month - 1) as usize] {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(days * 86_400 + hour * 3600 + minute * 60 + second))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`), for years ≥ 1970.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "mydb.c1a2b3c4d5e6.us-west-2.rds.amazonaws.com";
    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    /// A token for `a+b` on port 3307, signed by rds-iam-token at [`SIGNED_AT`]. (That this validator also accepts
    /// botocore's tokens is checked against botocore itself in `tests/e2e/botocore_tokens.rs`.)
    static TOKEN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        rds_iam_token::TokenRequest::new(HOST, 3307, "a+b", "us-west-2")
            .expect("valid request")
            .sign(&rds_iam_token::Credentials::new(KEY, SECRET), at(SIGNED_AT))
            .expect("signed")
            .expose()
            .to_owned()
    });
    /// 2019-01-01T00:00:00Z.
    const SIGNED_AT: u64 = 1_546_300_800;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn expect() -> Expectation {
        Expectation::new(HOST, 3307, "a+b", "us-west-2", KEY, SECRET)
    }

    fn check(token: &str, expect: &Expectation) -> Result<(), Rejection> {
        validate_token(token, expect, at(SIGNED_AT + 60))
    }

    #[test]
    fn our_signers_token_validates() {
        assert_eq!(check(&TOKEN, &expect()), Ok(()));
        // Hostname case does not matter: the signature covers the lowercased host.
        let upper = TOKEN.replacen("mydb.c1a2b3c4d5e6", "MyDB.C1A2B3C4D5E6", 1);
        assert_eq!(check(&upper, &expect()), Ok(()));
    }

    #[test]
    fn tokens_from_our_signer_validate() {
        use rds_iam_token::{Credentials, TokenRequest};
        let creds = Credentials::new(KEY, SECRET);
        let cases: [(&str, u16, &str); 5] = [
            ("localhost", 3306, "iam_app"),
            ("MyDB.cluster-abc.eu-west-1.rds.amazonaws.com", 443, "user with space"),
            ("127.0.0.1", 13306, "a+b@c/d=e&f"),
            ("db.example", 3306, "ユーザー"),
            ("db.example", 1, "x"),
        ];
        for (host, port, user) in cases {
            let token = TokenRequest::new(host, port, user, "eu-west-1")
                .expect("valid request")
                .sign(&creds, at(SIGNED_AT))
                .expect("sign");
            let expect = Expectation::new(host, port, user, "eu-west-1", KEY, SECRET);
            assert_eq!(check(token.expose(), &expect), Ok(()), "{host}:{port} {user}");
        }
        let with_session = Credentials::new(KEY, SECRET).with_session_token("FQoG/session+token==");
        let token = TokenRequest::new("localhost", 3306, "iam_app", "eu-west-1")
            .expect("valid request")
            .sign(&with_session, at(SIGNED_AT))
            .expect("sign");
        let expect = Expectation::new("localhost", 3306, "iam_app", "eu-west-1", KEY, SECRET);
        assert_eq!(check(token.expose(), &expect), Err(Rejection::WrongSessionToken));
        let expect = expect.with_session_token("FQoG/session+token==");
        assert_eq!(check(token.expose(), &expect), Ok(()));
        let other = expect.clone().with_session_token("other");
        assert_eq!(check(token.expose(), &other), Err(Rejection::WrongSessionToken));
    }

    #[test]
    fn each_tampering_has_its_own_rejection() {
        let flipped_signature = {
            let (head, sig) = TOKEN.split_at(TOKEN.len() - 64);
            let first = if sig.starts_with('0') { "1" } else { "0" };
            format!("{head}{first}{}", &sig[1..])
        };
        let cases: Vec<(String, Expectation, &str)> = vec![
            (flipped_signature, expect(), "signature-mismatch"),
            (TOKEN.to_owned(), expect().with_user("a b"), "wrong-user"),
            (
                TOKEN.replacen("DBUser=a%2Bb", "DBUser=a%2Bc", 1),
                expect(),
                "wrong-user",
            ),
            (TOKEN.replacen("mydb.", "other.", 1), expect(), "wrong-host"),
            (TOKEN.replacen(":3307/", ":3306/", 1), expect(), "wrong-port"),
            (TOKEN.replacen(":3307/", ":03307/", 1), expect(), "wrong-port"),
            (
                TOKEN.replacen("us-west-2%2Frds", "us-east-1%2Frds", 1),
                expect(),
                "wrong-region",
            ),
            (TOKEN.replacen("rds-db", "rds", 1), expect(), "wrong-service"),
            (
                TOKEN.replacen("AKIAIOSFODNN7EXAMPLE", "AKIAOTHER", 1),
                expect(),
                "unknown-access-key",
            ),
            (
                TOKEN.replacen("%2F20190101%2F", "%2F20190102%2F", 1),
                expect(),
                "wrong-scope-date",
            ),
            (
                TOKEN.replacen("Action=connect", "Action=login", 1),
                expect(),
                "wrong-action",
            ),
            (
                TOKEN.replacen("HMAC-SHA256", "HMAC-SHA1", 1),
                expect(),
                "wrong-algorithm",
            ),
            (
                TOKEN.replacen("SignedHeaders=host", "SignedHeaders=host%3Bx", 1),
                expect(),
                "wrong-signed-headers",
            ),
            (TOKEN.replacen("Expires=900", "Expires=901", 1), expect(), "bad-expires"),
            (TOKEN.replacen("Expires=900", "Expires=0", 1), expect(), "bad-expires"),
            (
                TOKEN.replacen("Expires=900", "Expires=600", 1),
                expect(),
                "signature-mismatch",
            ),
            (
                TOKEN.replacen("20190101T000000Z", "20190101T000001Z", 1),
                expect(),
                "signature-mismatch",
            ),
            (
                TOKEN.replacen("20190101T000000Z", "20190132T000000Z", 1),
                expect(),
                "bad-date",
            ),
            (TOKEN.replacen("3307/?", "3307?", 1), expect(), "malformed"),
            (TOKEN.replacen("3307/?", "3307/x?", 1), expect(), "wrong-path"),
            (format!("https://{}", *TOKEN), expect(), "malformed"),
            (TOKEN.replacen("&DBUser=a%2Bb", "", 1), expect(), "malformed"),
            (format!("{}&DBUser=a%2Bb", *TOKEN), expect(), "malformed"),
            (
                format!("{}&X-Amz-Security-Token=abc", *TOKEN),
                expect(),
                "wrong-session-token",
            ),
            (format!("{}&Extra=1", *TOKEN), expect(), "signature-mismatch"),
            (
                TOKEN.to_owned(),
                Expectation::new(HOST, 3307, "a+b", "us-west-2", KEY, "other"),
                "signature-mismatch",
            ),
        ];
        for (token, expect, code) in cases {
            let rejection = check(&token, &expect).expect_err(&token);
            assert_eq!(rejection.code(), code, "{token}: {rejection}");
        }
    }

    #[test]
    fn validity_window() {
        let e = expect();
        // Valid from 5 minutes before X-Amz-Date (clock skew) until X-Amz-Date + 900 s, exclusive.
        assert_eq!(validate_token(&TOKEN, &e, at(SIGNED_AT - 300)), Ok(()));
        assert_eq!(
            validate_token(&TOKEN, &e, at(SIGNED_AT - 301)),
            Err(Rejection::NotYetValid { ahead_secs: 301 })
        );
        assert_eq!(validate_token(&TOKEN, &e, at(SIGNED_AT + 899)), Ok(()));
        assert_eq!(
            validate_token(&TOKEN, &e, at(SIGNED_AT + 900)),
            Err(Rejection::Expired { since_secs: 0 })
        );
        assert_eq!(
            validate_token(&TOKEN, &e, at(SIGNED_AT + 3600)),
            Err(Rejection::Expired { since_secs: 2700 })
        );
    }

    #[test]
    fn dates() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(at(0)));
        assert_eq!(parse_amz_date("20190101T000000Z"), Some(at(SIGNED_AT)));
        assert_eq!(parse_amz_date("20240229T235959Z"), Some(at(1_709_251_199)));
        for bad in [
            "20230229T000000Z",
            "20190101T240000Z",
            "2019010T000000Z",
            "20190101 000000Z",
            "+0190101T000000Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn config_round_trip_and_debug_redacts() {
        let e = expect().with_session_token("SessionValue42");
        let text = e.to_config();
        assert_eq!(Expectation::from_config(&text, "a+b"), Ok(e.clone()));
        let debug = format!("{e:?}");
        assert!(!debug.contains(SECRET) && !debug.contains("SessionValue42"), "{debug}");
        assert!(Expectation::from_config("host=x\n", "u").is_err());
        assert!(Expectation::from_config("bogus=1\n", "u").is_err());
    }
}
