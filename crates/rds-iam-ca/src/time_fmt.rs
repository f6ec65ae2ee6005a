//! Dates for messages: RFC 3339 timestamps and plain dates.

use std::time::SystemTime;

/// `2061-05-19T19:06:26Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| format!("{t:?}"))
}

/// `2061-05-19`.
pub(crate) fn date(t: SystemTime) -> String {
    rfc3339(t).split('T').next().unwrap_or_default().to_owned()
}
