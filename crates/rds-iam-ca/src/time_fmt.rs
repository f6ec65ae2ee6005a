//! Dates for messages: plain dates; timestamps are [`rds_iam_token::rfc3339`], the workspace's one format.

use std::time::SystemTime;

use rds_iam_token::rfc3339;

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
