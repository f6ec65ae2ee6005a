//! [`choose_region`]: which region a token is signed for — never a silent `us-east-1`.

use crate::Endpoint;

/// Where the chosen region came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegionSource {
    /// Given explicitly (`--region`, a builder setting).
    Explicit,
    /// Read from the RDS hostname.
    Hostname,
    /// From configuration; the string names where (`AWS_REGION`, `profile default in ~/.aws/config`, …).
    Configured(String),
}

/// The region to sign for, where it came from, and any disagreement worth a warning.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegionChoice {
    /// The region.
    pub region: String,
    /// Where it came from.
    pub source: RegionSource,
    /// The hostname's region when an explicit region differs from it (the token will likely be rejected).
    pub hostname_region: Option<String>,
}

/// Picks the region: `explicit` > the hostname's > `configured` (a region and where it was found).
///
/// Returns `None` when none is known; callers must then ask for one rather than assume `us-east-1`.
///
/// ```
/// use rds_iam_token::{choose_region, Endpoint, RegionSource};
///
/// let ep = Endpoint::parse("mydb.abc123.eu-west-1.rds.amazonaws.com");
/// let choice = choose_region(None, &ep, Some(("us-east-1", "AWS_REGION"))).unwrap();
/// assert_eq!((choice.region.as_str(), choice.source), ("eu-west-1", RegionSource::Hostname));
///
/// let explicit = choose_region(Some("us-west-2"), &ep, None).unwrap();
/// assert_eq!(explicit.hostname_region.as_deref(), Some("eu-west-1")); // worth a warning
///
/// assert!(choose_region(None, &Endpoint::parse("10.0.0.5"), None).is_none());
/// ```
pub fn choose_region(
    explicit: Option<&str>,
    endpoint: &Endpoint,
    configured: Option<(&str, &str)>,
) -> Option<RegionChoice> {
    let explicit = explicit.filter(|r| !r.is_empty());
    let configured = configured.filter(|(r, _)| !r.is_empty());
    if let Some(region) = explicit {
        let hostname_region = endpoint
            .region()
            .filter(|h| !h.eq_ignore_ascii_case(region))
            .map(str::to_owned);
        return Some(RegionChoice {
            region: region.to_owned(),
            source: RegionSource::Explicit,
            hostname_region,
        });
    }
    if let Some(region) = endpoint.region() {
        return Some(RegionChoice {
            region: region.to_owned(),
            source: RegionSource::Hostname,
            hostname_region: None,
        });
    }
    configured.map(|(region, from)| RegionChoice {
        region: region.to_owned(),
        source: RegionSource::Configured(from.to_owned()),
        hostname_region: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let rds = Endpoint::parse("mydb.abc123.eu-west-1.rds.amazonaws.com");
        let other = Endpoint::parse("localhost");
        let pick = |e, ep, c| choose_region(e, ep, c).map(|c| (c.region, c.source, c.hostname_region));
        assert_eq!(
            pick(Some("eu-west-1"), &rds, None),
            Some(("eu-west-1".into(), RegionSource::Explicit, None))
        );
        assert_eq!(
            pick(Some("us-east-1"), &rds, None),
            Some(("us-east-1".into(), RegionSource::Explicit, Some("eu-west-1".into())))
        );
        assert_eq!(
            pick(None, &other, Some(("ap-south-1", "AWS_REGION"))),
            Some(("ap-south-1".into(), RegionSource::Configured("AWS_REGION".into()), None))
        );
        assert_eq!(pick(Some(""), &other, Some(("", "AWS_REGION"))), None);
    }
}
