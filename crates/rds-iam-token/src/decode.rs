//! [`decode`]: reading a token back into its fields, without any secret.

use std::time::{Duration, SystemTime};

use percent_encoding::percent_decode_str;

use crate::Error;
use crate::sign::{MAX_EXPIRES_IN, SERVICE};

/// The fields of a token, as [`decode`] reads them. Contains nothing secret: the signature and session token
/// are not kept.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodedToken {
    /// The signing host, as written in the token.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The database user (percent-decoded).
    pub user: String,
    /// The region in the credential scope.
    pub region: String,
    /// The service in the credential scope (always `rds-db` for tokens RDS accepts).
    pub service: String,
    /// The access key id that signed the token.
    pub access_key_id: String,
    /// When it was signed (`X-Amz-Date`).
    pub signed_at: SystemTime,
    /// Its lifetime (`X-Amz-Expires`).
    pub expires_in: Duration,
    /// Whether it carries a session token (temporary credentials).
    pub has_session_token: bool,
    /// The signed headers (`host` for tokens RDS accepts).
    pub signed_headers: String,
}

impl DecodedToken {
    /// When the token stops being accepted. If that time cannot be represented (only possible after the fields
    /// were changed by hand), the signing time: such a token counts as expired.
    pub fn expires_at(&self) -> SystemTime {
        self.signed_at.checked_add(self.expires_in).unwrap_or(self.signed_at)
    }

    /// Whether the token is expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires_at() <= now
    }

    /// How long the token stays valid after `now` (zero once expired).
    pub fn remaining(&self, now: SystemTime) -> Duration {
        self.expires_at().duration_since(now).unwrap_or(Duration::ZERO)
    }
}

/// Reads a token (`HOST:PORT/?Action=connect&DBUser=…&X-Amz-…`, with or without `https://`).
///
/// Checks the structure — every parameter present once, `Action=connect`, a `rds-db` credential scope, a 64-hex
/// signature, a lifetime of 1..=900 s — but not the signature itself, which only AWS can check.
///
/// ```
/// use rds_iam_token::decode;
///
/// let token = "mydb.c1a2b3c4d5e6.us-west-2.rds.amazonaws.com:3307/?Action=connect&DBUser=a%2Bb\
///     &X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20190101%2Fus-west-2%2Frds-db%2Faws4_request\
///     &X-Amz-Date=20190101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
///     &X-Amz-Signature=5f0e3c9a7d2b4e6f8a1c0b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f";
/// let decoded = decode(token)?;
/// assert_eq!((decoded.port, decoded.user.as_str(), decoded.region.as_str()), (3307, "a+b", "us-west-2"));
/// assert!(!decoded.has_session_token);
/// # Ok::<(), rds_iam_token::Error>(())
/// ```
pub fn decode(token: &str) -> Result<DecodedToken, Error> {
    let token = token.trim();
    let token = token.strip_prefix("https://").unwrap_or(token);
    let Some((authority, query)) = token.split_once("/?") else {
        return Err(Error::malformed(
            "expected HOST:PORT/?Action=connect&… (no \"/?\" found)",
        ));
    };
    let Some((host, port)) = authority.rsplit_once(':') else {
        return Err(Error::malformed(format!(
            "expected HOST:PORT before \"/?\", found {authority:?}"
        )));
    };
    if host.is_empty() {
        return Err(Error::malformed("the host is empty"));
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| Error::malformed(format!("the port {port:?} is not a number from 1 to 65535")))?;

    let mut fields = Fields::default();
    for pair in query.split('&') {
        let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| Error::malformed(format!("{name} is not valid UTF-8 after percent-decoding")))?
            .into_owned();
        let slot = match name {
            "Action" => &mut fields.action,
            "DBUser" => &mut fields.user,
            "X-Amz-Algorithm" => &mut fields.algorithm,
            "X-Amz-Credential" => &mut fields.credential,
            "X-Amz-Date" => &mut fields.date,
            "X-Amz-Expires" => &mut fields.expires,
            "X-Amz-SignedHeaders" => &mut fields.signed_headers,
            "X-Amz-Security-Token" => &mut fields.session_token,
            "X-Amz-Signature" => &mut fields.signature,
            _ => return Err(Error::malformed(format!("unexpected parameter {name:?}"))),
        };
        if slot.replace(value).is_some() {
            return Err(Error::malformed(format!("{name} appears twice")));
        }
    }
    let required =
        |value: Option<String>, name: &str| value.ok_or_else(|| Error::malformed(format!("{name} is missing")));
    let action = required(fields.action, "Action")?;
    if action != "connect" {
        return Err(Error::malformed(format!("Action is {action:?}, not \"connect\"")));
    }
    let user = required(fields.user, "DBUser")?;
    if user.is_empty() {
        return Err(Error::malformed("DBUser is empty"));
    }
    let algorithm = required(fields.algorithm, "X-Amz-Algorithm")?;
    if algorithm != "AWS4-HMAC-SHA256" {
        return Err(Error::malformed(format!(
            "X-Amz-Algorithm is {algorithm:?}, not \"AWS4-HMAC-SHA256\""
        )));
    }
    let credential = required(fields.credential, "X-Amz-Credential")?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, scope_date, region, service, "aws4_request"] = scope[..] else {
        return Err(Error::malformed(format!(
            "X-Amz-Credential {credential:?} is not ACCESS_KEY/DATE/REGION/SERVICE/aws4_request"
        )));
    };
    if service != SERVICE {
        return Err(Error::malformed(format!(
            "the credential scope's service is {service:?}, not \"rds-db\""
        )));
    }
    let date = required(fields.date, "X-Amz-Date")?;
    let signed_at = parse_amz_date(&date)
        .ok_or_else(|| Error::malformed(format!("X-Amz-Date {date:?} is not YYYYMMDDTHHMMSSZ")))?;
    if !date.starts_with(scope_date) || scope_date.len() != 8 {
        return Err(Error::malformed(format!(
            "the credential scope date {scope_date:?} does not match X-Amz-Date"
        )));
    }
    let expires = required(fields.expires, "X-Amz-Expires")?;
    let expires_in = expires
        .parse::<u64>()
        .ok()
        .filter(|s| (1..=MAX_EXPIRES_IN.as_secs()).contains(s))
        .map(Duration::from_secs)
        .ok_or_else(|| {
            Error::malformed(format!(
                "X-Amz-Expires {expires:?} is not 1 to {} seconds",
                MAX_EXPIRES_IN.as_secs()
            ))
        })?;
    let signed_headers = required(fields.signed_headers, "X-Amz-SignedHeaders")?;
    let signature = required(fields.signature, "X-Amz-Signature")?;
    if signature.len() != 64
        || !signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(Error::malformed("X-Amz-Signature is not 64 lowercase hex digits"));
    }
    Ok(DecodedToken {
        host: host.to_owned(),
        port,
        user,
        region: region.to_owned(),
        service: service.to_owned(),
        access_key_id: access_key_id.to_owned(),
        signed_at,
        expires_in,
        has_session_token: fields.session_token.is_some_and(|t| !t.is_empty()),
        signed_headers,
    })
}

#[derive(Default)]
struct Fields {
    action: Option<String>,
    user: Option<String>,
    algorithm: Option<String>,
    credential: Option<String>,
    date: Option<String>,
    expires: Option<String>,
    signed_headers: Option<String>,
    session_token: Option<String>,
    signature: Option<String>,
}

/// `YYYYMMDDTHHMMSSZ` → time, checking the calendar.
fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = s.get(range)?;
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let month = time::Month::try_from(u8::try_from(num(4..6)?).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::try_from(num(0..4)?).ok()?, month, u8::try_from(num(6..8)?).ok()?).ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(num(9..11)?).ok()?,
        u8::try_from(num(11..13)?).ok()?,
        u8::try_from(num(13..15)?).ok()?,
    )
    .ok()?;
    // Not `SystemTime::from`: it panics where `SystemTime` cannot hold the date (before 1601 on Windows), and
    // this date comes from an untrusted token.
    let seconds = date.with_time(clock).assume_utc().unix_timestamp();
    let magnitude = Duration::from_secs(seconds.unsigned_abs());
    if seconds >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(magnitude)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(magnitude)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "h.example.com:3306/?Action=connect&DBUser=u&X-Amz-Algorithm=AWS4-HMAC-SHA256\
        &X-Amz-Credential=AKID%2F20190101%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20190101T000000Z\
        &X-Amz-Expires=900&X-Amz-SignedHeaders=host\
        &X-Amz-Signature=5f0e3c9a7d2b4e6f8a1c0b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f";

    #[test]
    fn reads_fields() {
        let d = decode(GOOD).unwrap();
        assert_eq!(d.host, "h.example.com");
        assert_eq!(d.access_key_id, "AKID");
        assert_eq!(d.signed_at, SystemTime::UNIX_EPOCH + Duration::from_secs(1_546_300_800));
        assert_eq!(
            d.remaining(d.signed_at + Duration::from_secs(100)),
            Duration::from_secs(800)
        );
        assert!(d.is_expired(d.signed_at + Duration::from_secs(900)));
        assert_eq!(decode(&format!("https://{GOOD}\n")).unwrap(), d);
    }

    /// Security review, finding 7: the date of an untrusted token feeds time arithmetic without panicking, at
    /// both ends of what `X-Amz-Date` can say. (On Linux these fit a `SystemTime`; on Windows, where it starts in
    /// 1601, year 0 panicked in `SystemTime::from` and is now a malformed token.)
    #[test]
    fn extreme_dates_do_not_panic() {
        let last = GOOD
            .replace("20190101T000000Z", "99991231T235959Z")
            .replace("%2F20190101%2F", "%2F99991231%2F");
        let d = decode(&last).unwrap();
        assert_eq!(
            d.signed_at,
            SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799)
        );
        assert_eq!(d.expires_at(), d.signed_at + Duration::from_secs(900));
        assert!(!d.is_expired(SystemTime::UNIX_EPOCH));

        let first = GOOD
            .replace("20190101T000000Z", "00000101T000000Z")
            .replace("%2F20190101%2F", "%2F00000101%2F");
        match decode(&first) {
            Ok(d) => assert_eq!(
                d.signed_at,
                SystemTime::UNIX_EPOCH - Duration::from_secs(62_167_219_200)
            ),
            Err(e) => assert!(e.to_string().contains("X-Amz-Date"), "{e}"),
        }

        // Fields changed by hand cannot make `expires_at` overflow: such a token counts as expired.
        let mut far = decode(GOOD).unwrap();
        far.expires_in = Duration::MAX;
        assert_eq!(far.expires_at(), far.signed_at);
        assert!(far.is_expired(far.signed_at));
        assert_eq!(far.remaining(far.signed_at), Duration::ZERO);
    }

    #[test]
    fn rejects_malformed() {
        let cases = [
            ("", "no \"/?\""),
            ("h.example.com/?Action=connect", "HOST:PORT"),
            ("h:0/?Action=connect", "port"),
            (&GOOD.replace("Action=connect", "Action=Connect"), "Action"),
            (&GOOD.replace("DBUser=u", "DBUser="), "DBUser is empty"),
            (&GOOD.replace("rds-db", "rds"), "service"),
            (&GOOD.replace("20190101T000000Z", "20191301T000000Z"), "X-Amz-Date"),
            (&GOOD.replace("X-Amz-Expires=900", "X-Amz-Expires=901"), "X-Amz-Expires"),
            (&GOOD.replace("X-Amz-Signature=5f", "X-Amz-Signature=5"), "64"),
            (&format!("{GOOD}&Action=connect"), "twice"),
            (&format!("{GOOD}&Foo=1"), "unexpected"),
            (
                &GOOD.replace("&X-Amz-SignedHeaders=host", ""),
                "X-Amz-SignedHeaders is missing",
            ),
            (&GOOD.replace("DBUser=u", "DBUser=%FF"), "UTF-8"),
        ];
        for (token, expected) in cases {
            let err = decode(token).unwrap_err().to_string();
            assert!(err.contains(expected), "{token}: {err}");
        }
    }
}
