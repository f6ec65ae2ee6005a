//! The endpoint model: what an RDS hostname says about partition, region and kind of endpoint.

use std::fmt;
use std::net::IpAddr;

/// An AWS partition: a group of regions with its own ARN prefix and DNS suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Partition {
    /// Commercial regions (`arn:aws`, `amazonaws.com`).
    Aws,
    /// China (`arn:aws-cn`, `amazonaws.com.cn`).
    AwsCn,
    /// AWS GovCloud (US) (`arn:aws-us-gov`).
    AwsUsGov,
    /// AWS European Sovereign Cloud (`arn:aws-eusc`, `amazonaws.eu`).
    AwsEusc,
    /// US ISO East/West (`arn:aws-iso`, `c2s.ic.gov`).
    AwsIso,
    /// US ISOB (`arn:aws-iso-b`, `sc2s.sgov.gov`).
    AwsIsoB,
    /// EU ISOE (`arn:aws-iso-e`, `cloud.adc-e.uk`).
    AwsIsoE,
    /// US ISOF (`arn:aws-iso-f`, `csp.hci.ic.gov`).
    AwsIsoF,
}

impl Partition {
    /// The partition a region belongs to, from its name (`cn-north-1` → [`Partition::AwsCn`]).
    ///
    /// ```
    /// use rds_iam_token::Partition;
    /// assert_eq!(Partition::from_region("us-gov-west-1"), Partition::AwsUsGov);
    /// assert_eq!(Partition::from_region("eu-west-1").as_str(), "aws");
    /// ```
    pub fn from_region(region: &str) -> Partition {
        // Longest prefixes first: `us-isob-` also starts with `us-iso`.
        const PREFIXES: [(&str, Partition); 6] = [
            ("us-isob-", Partition::AwsIsoB),
            ("us-isof-", Partition::AwsIsoF),
            ("eu-isoe-", Partition::AwsIsoE),
            ("us-iso-", Partition::AwsIso),
            ("us-gov-", Partition::AwsUsGov),
            ("cn-", Partition::AwsCn),
        ];
        PREFIXES
            .iter()
            .find(|(prefix, _)| region.starts_with(prefix))
            .map(|&(_, partition)| partition)
            .or_else(|| region.starts_with("eusc-").then_some(Partition::AwsEusc))
            .unwrap_or(Partition::Aws)
    }

    /// The partition's name as it appears in ARNs (`aws`, `aws-cn`, `aws-us-gov`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsEusc => "aws-eusc",
            Partition::AwsIso => "aws-iso",
            Partition::AwsIsoB => "aws-iso-b",
            Partition::AwsIsoE => "aws-iso-e",
            Partition::AwsIsoF => "aws-iso-f",
        }
    }

    /// The partition's DNS suffix (`amazonaws.com`, `amazonaws.com.cn`, …).
    pub fn dns_suffix(self) -> &'static str {
        match self {
            Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
            Partition::AwsCn => "amazonaws.com.cn",
            Partition::AwsEusc => "amazonaws.eu",
            Partition::AwsIso => "c2s.ic.gov",
            Partition::AwsIsoB => "sc2s.sgov.gov",
            Partition::AwsIsoE => "cloud.adc-e.uk",
            Partition::AwsIsoF => "csp.hci.ic.gov",
        }
    }

    fn from_dns_suffix(suffix: &str) -> Option<Partition> {
        [
            Partition::Aws,
            Partition::AwsCn,
            Partition::AwsEusc,
            Partition::AwsIso,
            Partition::AwsIsoB,
            Partition::AwsIsoE,
            Partition::AwsIsoF,
        ]
        .into_iter()
        .find(|p| p.dns_suffix() == suffix)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of endpoint a hostname names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndpointKind {
    /// A DB instance: `NAME.ID.REGION.rds.amazonaws.com`.
    Instance,
    /// An Aurora cluster's writer endpoint: `NAME.cluster-ID.REGION.rds.amazonaws.com`.
    Cluster,
    /// An Aurora cluster's reader endpoint: `NAME.cluster-ro-ID.…`.
    ClusterReader,
    /// An Aurora custom endpoint: `NAME.cluster-custom-ID.…`.
    ClusterCustom,
    /// An Aurora Limitless shard group endpoint: `NAME.shardgrp-ID.…`.
    ShardGroup,
    /// An RDS Proxy's default endpoint: `NAME.proxy-ID.…`.
    Proxy,
    /// An RDS Proxy's additional endpoint: `NAME.endpoint.proxy-ID.…`.
    ProxyEndpoint,
    /// An IPv4 or IPv6 literal: region and signing host must be given.
    IpAddress,
    /// A name that is not an RDS endpoint (a CNAME, `localhost`, a tunnel): region must be given.
    Unknown,
}

impl EndpointKind {
    /// A short lowercase name for messages and JSON (`instance`, `cluster-reader`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::Instance => "instance",
            EndpointKind::Cluster => "cluster",
            EndpointKind::ClusterReader => "cluster-reader",
            EndpointKind::ClusterCustom => "cluster-custom",
            EndpointKind::ShardGroup => "shard-group",
            EndpointKind::Proxy => "proxy",
            EndpointKind::ProxyEndpoint => "proxy-endpoint",
            EndpointKind::IpAddress => "ip-address",
            EndpointKind::Unknown => "unknown",
        }
    }

    /// Whether this is an Aurora cluster endpoint (writer, reader, custom or shard group).
    pub fn is_cluster(self) -> bool {
        matches!(
            self,
            EndpointKind::Cluster
                | EndpointKind::ClusterReader
                | EndpointKind::ClusterCustom
                | EndpointKind::ShardGroup
        )
    }

    /// Whether this is an RDS Proxy endpoint (default or additional).
    pub fn is_proxy(self) -> bool {
        matches!(self, EndpointKind::Proxy | EndpointKind::ProxyEndpoint)
    }
}

impl fmt::Display for EndpointKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a hostname says about the database behind it.
///
/// Parsing never fails: names that are not RDS endpoints are [`EndpointKind::Unknown`] (or
/// [`EndpointKind::IpAddress`]) with no region or partition.
///
/// ```
/// use rds_iam_token::{Endpoint, EndpointKind, Partition};
///
/// let ep = Endpoint::parse("mycluster.cluster-ro-c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com");
/// assert_eq!(ep.kind(), EndpointKind::ClusterReader);
/// assert_eq!(ep.region(), Some("eu-west-1"));
/// assert_eq!(ep.partition(), Some(Partition::Aws));
/// assert_eq!(ep.identifier(), Some("mycluster"));
///
/// let china = Endpoint::parse("mydb.c1a2b3c4d5e6.rds.cn-north-1.amazonaws.com.cn");
/// assert_eq!(china.partition(), Some(Partition::AwsCn));
///
/// assert_eq!(Endpoint::parse("10.0.0.5").kind(), EndpointKind::IpAddress);
/// assert_eq!(Endpoint::parse("db.example.com").region(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    kind: EndpointKind,
    region: Option<String>,
    partition: Option<Partition>,
    identifier: Option<String>,
    fips: bool,
}

impl Endpoint {
    /// Reads `host` (no scheme, no port; any case; a trailing dot is allowed).
    pub fn parse(host: &str) -> Endpoint {
        let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        if bare.parse::<IpAddr>().is_ok() {
            return Endpoint::other(EndpointKind::IpAddress);
        }
        parse_rds_name(&host.trim_end_matches('.').to_ascii_lowercase())
            .unwrap_or_else(|| Endpoint::other(EndpointKind::Unknown))
    }

    fn other(kind: EndpointKind) -> Endpoint {
        Endpoint {
            kind,
            region: None,
            partition: None,
            identifier: None,
            fips: false,
        }
    }

    /// The kind of endpoint.
    pub fn kind(&self) -> EndpointKind {
        self.kind
    }

    /// The region in the hostname, lowercased; `None` for IP literals and unknown names.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The partition of the region; `None` when there is no region.
    pub fn partition(&self) -> Option<Partition> {
        self.partition
    }

    /// The first label: the DB instance, cluster, shard group or proxy (endpoint) name.
    pub fn identifier(&self) -> Option<&str> {
        self.identifier.as_deref()
    }

    /// Whether the name uses a FIPS endpoint (`rds-fips`).
    pub fn is_fips(&self) -> bool {
        self.fips
    }

    /// Whether this names an RDS endpoint (not an IP literal or an unknown name).
    pub fn is_rds(&self) -> bool {
        !matches!(self.kind, EndpointKind::IpAddress | EndpointKind::Unknown)
    }
}

/// `NAME[.endpoint].ID.REGION.rds[-fips].SUFFIX` or (China) `NAME.ID.rds.REGION.amazonaws.com.cn`.
fn parse_rds_name(host: &str) -> Option<Endpoint> {
    let labels: Vec<&str> = host.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return None;
    }
    let service_at = labels.iter().position(|l| *l == "rds" || *l == "rds-fips")?;
    let fips = labels[service_at] == "rds-fips";
    let (region, prefix, suffix) = if service_at >= 1 && is_region(labels[service_at - 1]) {
        // NAME.ID.REGION.rds.SUFFIX
        (
            labels[service_at - 1],
            &labels[..service_at - 1],
            &labels[service_at + 1..],
        )
    } else if labels.get(service_at + 1).is_some_and(|l| is_region(l)) {
        // NAME.ID.rds.REGION.SUFFIX (China's current form)
        (labels[service_at + 1], &labels[..service_at], &labels[service_at + 2..])
    } else {
        return None;
    };
    let suffix_partition = Partition::from_dns_suffix(&suffix.join("."))?;
    let partition = Partition::from_region(region);
    let consistent =
        suffix_partition == partition || (suffix_partition == Partition::Aws && partition == Partition::AwsUsGov);
    if !consistent {
        return None;
    }
    let (kind, identifier) = match prefix {
        [name, "endpoint", id] if id.starts_with("proxy-") => (EndpointKind::ProxyEndpoint, *name),
        [name, id] => (kind_of_id(id)?, *name),
        _ => return None,
    };
    Some(Endpoint {
        kind,
        region: Some(region.to_owned()),
        partition: Some(partition),
        identifier: Some(identifier.to_owned()),
        fips,
    })
}

fn kind_of_id(id: &str) -> Option<EndpointKind> {
    const PREFIXES: [(&str, EndpointKind); 5] = [
        ("cluster-custom-", EndpointKind::ClusterCustom),
        ("cluster-ro-", EndpointKind::ClusterReader),
        ("cluster-", EndpointKind::Cluster),
        ("shardgrp-", EndpointKind::ShardGroup),
        ("proxy-", EndpointKind::Proxy),
    ];
    for (prefix, kind) in PREFIXES {
        if let Some(rest) = id.strip_prefix(prefix) {
            return is_id(rest).then_some(kind);
        }
    }
    is_id(id).then_some(EndpointKind::Instance)
}

/// The account-and-region-specific part of an RDS hostname: lowercase letters and digits.
fn is_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Whether `name` is shaped like an AWS region name: `us-east-1`, `us-gov-west-1`, `cn-north-1`,
/// `us-isob-east-1`, `eusc-de-east-1`.
///
/// The rule, from the regions botocore knows (`partitions.json`): an area code of 2 to 4 lowercase letters (`us`,
/// `eusc`), one to three more lowercase words, and a number of one or two digits; 3 to 5 parts joined by `-`.
/// Anything else — `us_east_1`, `US-EAST-1`, `east`, an availability zone (`us-east-1a`), a local zone
/// (`us-west-2-lax-1`), a CA bundle name (`rds-ca-2019`), path characters — is not a region. It checks the shape
/// only: a region that does not exist yet but is named like the others is accepted.
///
/// ```
/// assert!(rds_iam_token::is_region("eu-central-2"));
/// assert!(!rds_iam_token::is_region("us-east-1/../x"));
/// ```
pub fn is_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    let word = |w: &&str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase());
    (2..=4).contains(&words.len())
        && words.first().is_some_and(|area| (2..=4).contains(&area.len()))
        && words.iter().all(word)
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(host: &str, kind: EndpointKind, region: Option<&str>, partition: Option<Partition>, id: Option<&str>) {
        let ep = Endpoint::parse(host);
        assert_eq!(
            (ep.kind(), ep.region(), ep.partition(), ep.identifier()),
            (kind, region, partition, id),
            "{host}"
        );
    }

    #[test]
    fn forms() {
        use EndpointKind::*;
        use Partition::*;
        let aws = Some(Aws);
        check(
            "mydb.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com",
            Instance,
            Some("us-east-1"),
            aws,
            Some("mydb"),
        );
        check(
            "MyDB.C1A2B3C4D5E6.US-EAST-1.rds.amazonaws.com.",
            Instance,
            Some("us-east-1"),
            aws,
            Some("mydb"),
        );
        check(
            "c.cluster-abc123.us-west-2.rds.amazonaws.com",
            Cluster,
            Some("us-west-2"),
            aws,
            Some("c"),
        );
        check(
            "c.cluster-ro-abc123.eu-west-1.rds.amazonaws.com",
            ClusterReader,
            Some("eu-west-1"),
            aws,
            Some("c"),
        );
        check(
            "e.cluster-custom-abc123.ap-south-1.rds.amazonaws.com",
            ClusterCustom,
            Some("ap-south-1"),
            aws,
            Some("e"),
        );
        check(
            "g.shardgrp-abc123.us-east-2.rds.amazonaws.com",
            ShardGroup,
            Some("us-east-2"),
            aws,
            Some("g"),
        );
        check(
            "p.proxy-abc123.us-east-1.rds.amazonaws.com",
            Proxy,
            Some("us-east-1"),
            aws,
            Some("p"),
        );
        check(
            "ro.endpoint.proxy-abc123.us-east-1.rds.amazonaws.com",
            ProxyEndpoint,
            Some("us-east-1"),
            aws,
            Some("ro"),
        );
        check(
            "mydb.abc123.rds.cn-north-1.amazonaws.com.cn",
            Instance,
            Some("cn-north-1"),
            Some(AwsCn),
            Some("mydb"),
        );
        check(
            "mydb.abc123.cn-northwest-1.rds.amazonaws.com.cn",
            Instance,
            Some("cn-northwest-1"),
            Some(AwsCn),
            Some("mydb"),
        );
        check(
            "c.cluster-abc123.us-gov-west-1.rds.amazonaws.com",
            Cluster,
            Some("us-gov-west-1"),
            Some(AwsUsGov),
            Some("c"),
        );
        check(
            "mydb.abc123.us-gov-east-1.rds-fips.amazonaws.com",
            Instance,
            Some("us-gov-east-1"),
            Some(AwsUsGov),
            Some("mydb"),
        );
        check(
            "mydb.abc123.eusc-de-east-1.rds.amazonaws.eu",
            Instance,
            Some("eusc-de-east-1"),
            Some(AwsEusc),
            Some("mydb"),
        );
        check(
            "mydb.abc123.us-iso-east-1.rds.c2s.ic.gov",
            Instance,
            Some("us-iso-east-1"),
            Some(AwsIso),
            Some("mydb"),
        );
        check(
            "mydb.abc123.us-isob-east-1.rds.sc2s.sgov.gov",
            Instance,
            Some("us-isob-east-1"),
            Some(AwsIsoB),
            Some("mydb"),
        );
    }

    #[test]
    fn fips_flag() {
        assert!(Endpoint::parse("mydb.abc123.us-east-1.rds-fips.amazonaws.com").is_fips());
        assert!(!Endpoint::parse("mydb.abc123.us-east-1.rds.amazonaws.com").is_fips());
    }

    #[test]
    fn not_rds() {
        use EndpointKind::*;
        for host in ["127.0.0.1", "::1", "[::1]", "fd00:ec2::254"] {
            check(host, IpAddress, None, None, None);
        }
        for host in [
            "localhost",
            "db.example.com",
            "rds.amazonaws.com",
            "x.us-east-1.rds.amazonaws.com",
            "a.b.c.abc123.us-east-1.rds.amazonaws.com",
            "mydb.abc123.us-east-1.rds.example.com",
            "mydb.abc123.cn-north-1.rds.amazonaws.com",
            "mydb.ab-c.us-east-1.rds.amazonaws.com",
            "mydb..us-east-1.rds.amazonaws.com",
            "mydb.abc.notaregion.rds.amazonaws.com",
            "",
        ] {
            check(host, Unknown, None, None, None);
        }
    }

    #[test]
    fn partitions() {
        assert_eq!(Partition::from_region("us-east-1"), Partition::Aws);
        assert_eq!(Partition::from_region("cn-northwest-1"), Partition::AwsCn);
        assert_eq!(Partition::from_region("us-isob-east-1"), Partition::AwsIsoB);
        assert_eq!(Partition::from_region("us-iso-west-1"), Partition::AwsIso);
        assert_eq!(Partition::AwsUsGov.to_string(), "aws-us-gov");
    }

    /// One rule for the whole workspace (the token request, endpoint parsing, the CA bundle's region): every
    /// partition's region names, and nothing that only looks close.
    #[test]
    fn region_names() {
        for region in [
            "us-east-1",
            "us-gov-west-1",
            "cn-north-1",
            "cn-northwest-1",
            "eu-central-2",
            "ap-southeast-5",
            "us-isob-east-1",
            "us-iso-west-1",
            "us-isof-south-1",
            "eu-isoe-west-1",
            "eusc-de-east-1",
            "mx-central-1",
            "il-central-1",
        ] {
            assert!(is_region(region), "{region} is a region");
        }
        for not in [
            "",
            "east",
            "us-east",
            "us_east_1",
            "US-EAST-1",
            "Us-east-1",
            "us-east-1a",
            "us-east-",
            "-east-1",
            "us--east-1",
            "us-east--1",
            "us-east-1-",
            " us-east-1",
            "us-east-1 ",
            "us-east-1.",
            "us-east-1/..",
            "../us-east-1",
            "us-east-1/x",
            "us/east-1",
            "us.east-1",
            "us-east-1\\",
            "us-east-1\0",
            "us-eäst-1",
            "u-east-1",
            "abcde-east-1",
            "us-east-123",
            "us-east-x",
            "us-west-2-lax-1",
            "rds-ca-2019",
            "us-a-b-c-d-1",
            "aws-global",
            "aws-iso-b-global",
        ] {
            assert!(!is_region(not), "{not:?} is not a region");
        }
    }
}
