//! Dates for messages: RFC 3339 timestamps and plain dates.

use std::time::SystemTime;

/// `2061-05-19T19:06:26Z`; a time outside years 0–9999 as its `Debug` form.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    offset_date_time(t)
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| format!("{t:?}"))
}

/// `t` as a calendar time, if `time` can hold it (`OffsetDateTime::from` panics when it cannot).
fn offset_date_time(t: SystemTime) -> Option<time::OffsetDateTime> {
    let epoch = time::OffsetDateTime::UNIX_EPOCH;
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => epoch.checked_add(after.try_into().ok()?),
        Err(before) => epoch.checked_sub(before.duration().try_into().ok()?),
    }
}

/// `2061-05-19`.
pub(crate) fn date(t: SystemTime) -> String {
    rfc3339(t).split('T').next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Found with the `ca_bundle` fuzz target's input format: a check time past year 9999 panicked in the
    /// `NoValidRoot` message.
    #[test]
    fn times_past_year_9999_do_not_panic() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        assert_eq!(rfc3339(t), "2033-05-18T03:33:20Z");
        assert_eq!(date(t), "2033-05-18");
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        assert_eq!(rfc3339(far), format!("{far:?}"));
    }
}
