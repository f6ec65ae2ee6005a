//! [`rfc3339`]: the workspace's one way to write a time (`2019-01-01T00:15:00Z`).

use std::time::SystemTime;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `t` as RFC 3339 in UTC, whole seconds: `2019-01-01T00:15:00Z`, as AWS writes times (token and credential
/// expiry, certificate validity). A time RFC 3339 cannot write (before year 0 or after 9999) is shown as its
/// `Debug` form rather than panicking; [`try_rfc3339`] tells it apart.
///
/// ```
/// use std::time::{Duration, SystemTime};
///
/// let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_546_301_700_999);
/// assert_eq!(rds_iam_token::rfc3339(t), "2019-01-01T00:15:00Z");
/// ```
pub fn rfc3339(t: SystemTime) -> String {
    try_rfc3339(t).unwrap_or_else(|| format!("{t:?}"))
}

/// [`rfc3339`], or `None` when `t` is outside years 0 to 9999 (for text that must be a valid time, such as a
/// cache file).
pub fn try_rfc3339(t: SystemTime) -> Option<String> {
    // Not `OffsetDateTime::from(t)`: it panics on times it cannot hold.
    let epoch = OffsetDateTime::UNIX_EPOCH;
    let at = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => epoch.checked_add(after.try_into().ok()?),
        Err(before) => epoch.checked_sub(before.duration().try_into().ok()?),
    }?;
    // Whole seconds: what people read and what AWS timestamps carry (the fraction is dropped, not rounded).
    at.replace_nanosecond(0).ok()?.format(&Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn whole_seconds_utc_and_no_panic_out_of_range() {
        let at = |secs: u64, nanos: u32| SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
        assert_eq!(rfc3339(at(2_000_000_000, 0)), "2033-05-18T03:33:20Z");
        assert_eq!(rfc3339(at(2_000_000_000, 999_999_999)), "2033-05-18T03:33:20Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let before = SystemTime::UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(rfc3339(before), "1969-12-31T23:59:59Z");
        assert_eq!(
            try_rfc3339(at(253_402_300_799, 0)).as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        let far = at(300_000_000_000, 0);
        assert_eq!(try_rfc3339(far), None);
        assert_eq!(rfc3339(far), format!("{far:?}"));
    }
}
