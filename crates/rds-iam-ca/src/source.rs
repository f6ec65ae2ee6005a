//! [`BundleSource`]: which RDS CA bundle (global or one region's) and where it is published, by partition; and
//! what to say about the retired `rds-ca-2019` file names.

use std::fmt;

use rds_iam_token::{Endpoint, Partition, is_region};

use crate::Error;

/// The commercial partition's bundle host.
const AWS: &str = "https://truststore.pki.rds.amazonaws.com";
/// GovCloud's host (serves both us-gov-west-1 and us-gov-east-1).
const AWS_US_GOV: &str = "https://truststore.pki.us-gov-west-1.rds.amazonaws.com";
/// China's (an S3 bucket in cn-north-1, serving both China regions).
const AWS_CN: &str = "https://rds-truststore.s3.cn-north-1.amazonaws.com.cn";

/// File names of the bundles that expired in 2024; asking for them gets [`Error::Retired`].
pub const RETIRED_BUNDLES: [&str; 3] = [
    "rds-ca-2019-root.pem",
    "rds-combined-ca-bundle.pem",
    "rds-ca-2015-root.pem",
];

/// Which bundle: the global one (every region's roots) or one region's, in a partition.
///
/// ```
/// use rds_iam_ca::BundleSource;
///
/// assert_eq!(
///     BundleSource::global().url(None).unwrap(),
///     "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
/// );
/// assert_eq!(
///     BundleSource::region("cn-northwest-1").unwrap().url(None).unwrap(),
///     "https://rds-truststore.s3.cn-north-1.amazonaws.com.cn/cn-northwest-1/cn-northwest-1-bundle.pem"
/// );
/// assert_eq!(
///     BundleSource::region("eu-west-1").unwrap().url(Some("https://mirror.example/rds/")).unwrap(),
///     "https://mirror.example/rds/eu-west-1/eu-west-1-bundle.pem"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleSource {
    partition: Partition,
    region: Option<String>,
}

impl BundleSource {
    /// The global bundle of the commercial partition.
    pub fn global() -> BundleSource {
        BundleSource {
            partition: Partition::Aws,
            region: None,
        }
    }

    /// The global bundle as published in `partition` (GovCloud and China have their own hosts).
    pub fn global_in(partition: Partition) -> BundleSource {
        BundleSource {
            partition,
            region: None,
        }
    }

    /// `region`'s bundle (partition from the region name).
    pub fn region(region: &str) -> Result<BundleSource, Error> {
        if !is_region(region) {
            return Err(Error::BadRegion {
                region: region.to_owned(),
            });
        }
        Ok(BundleSource {
            partition: Partition::from_region(region),
            region: Some(region.to_owned()),
        })
    }

    /// The bundle for a DB endpoint: its region's when the hostname names one, else the global bundle.
    pub fn for_endpoint(endpoint: &Endpoint) -> BundleSource {
        match endpoint.region().and_then(|r| BundleSource::region(r).ok()) {
            Some(source) => source,
            None => BundleSource::global_in(endpoint.partition().unwrap_or(Partition::Aws)),
        }
    }

    /// A bundle by file or short name: `global`, `global-bundle.pem`, `eu-west-1`, `eu-west-1-bundle.pem`. The
    /// retired names (`rds-ca-2019-root.pem`, `rds-combined-ca-bundle.pem`) are [`Error::Retired`].
    pub fn from_name(name: &str) -> Result<BundleSource, Error> {
        let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
        if let Some(retired) = retired_bundle(file) {
            return Err(Error::Retired { name: retired });
        }
        match file.strip_suffix("-bundle.pem").unwrap_or(file) {
            "global" => Ok(BundleSource::global()),
            region => BundleSource::region(region),
        }
    }

    /// The region, for a regional bundle.
    pub fn region_name(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The partition whose host publishes it.
    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// `global-bundle.pem` or `{region}-bundle.pem`: the published (and cached) file name.
    pub fn file_name(&self) -> String {
        match &self.region {
            None => "global-bundle.pem".to_owned(),
            Some(region) => format!("{region}-bundle.pem"),
        }
    }

    /// Where to download it: `base` (a mirror or test server; HTTPS) if given, else the partition's host.
    pub fn url(&self, base: Option<&str>) -> Result<String, Error> {
        let base = match base {
            Some(base) => base.trim_end_matches('/'),
            None => match self.partition {
                Partition::Aws => AWS,
                Partition::AwsUsGov => AWS_US_GOV,
                Partition::AwsCn => AWS_CN,
                other => {
                    return Err(Error::UnknownHost {
                        partition: other.as_str().to_owned(),
                    });
                }
            },
        };
        let folder = self.region.as_deref().unwrap_or("global");
        Ok(format!("{base}/{folder}/{}", self.file_name()))
    }
}

impl fmt::Display for BundleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.region {
            None => write!(f, "the global RDS CA bundle"),
            Some(region) => write!(f, "the {region} RDS CA bundle"),
        }
    }
}

/// If `name` (a file name or path) is one of the retired bundles, its canonical name.
pub fn retired_bundle(name: &str) -> Option<&'static str> {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    RETIRED_BUNDLES.into_iter().find(|r| r.eq_ignore_ascii_case(file))
}

/// What to tell someone who asked for a retired bundle.
pub fn retired_advice(name: &str) -> String {
    format!(
        "{name} is a retired RDS CA bundle: its rds-ca-2019 certificates expired in 2024 and RDS no longer uses \
         them; use the global bundle (`rds-iam ca fetch --global`, {AWS}/global/global-bundle.pem) or your \
         region's (`rds-iam ca fetch --region REGION`), which hold rds-ca-rsa2048-g1, rds-ca-rsa4096-g1 and \
         rds-ca-ecc384-g1"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_by_partition() {
        let url = |r: &str| BundleSource::region(r).unwrap().url(None).unwrap();
        assert_eq!(
            url("us-gov-east-1"),
            "https://truststore.pki.us-gov-west-1.rds.amazonaws.com/us-gov-east-1/us-gov-east-1-bundle.pem"
        );
        assert_eq!(
            url("eu-west-1"),
            "https://truststore.pki.rds.amazonaws.com/eu-west-1/eu-west-1-bundle.pem"
        );
        assert_eq!(
            BundleSource::global_in(Partition::AwsUsGov).url(None).unwrap(),
            "https://truststore.pki.us-gov-west-1.rds.amazonaws.com/global/global-bundle.pem"
        );
        let iso = BundleSource::region("us-iso-east-1").unwrap().url(None).unwrap_err();
        assert!(iso.to_string().contains("aws-iso"), "{iso}");
        assert!(
            BundleSource::region("us-iso-east-1")
                .unwrap()
                .url(Some("https://mirror"))
                .is_ok()
        );
    }

    #[test]
    fn names() {
        assert_eq!(BundleSource::from_name("global").unwrap(), BundleSource::global());
        assert_eq!(
            BundleSource::from_name("/tmp/global-bundle.pem").unwrap(),
            BundleSource::global()
        );
        assert_eq!(
            BundleSource::from_name("ap-south-2-bundle.pem").unwrap().region_name(),
            Some("ap-south-2")
        );
        let err = BundleSource::from_name("certs/rds-combined-ca-bundle.pem").unwrap_err();
        assert!(err.to_string().contains("expired in 2024"), "{err}");
        assert!(matches!(BundleSource::from_name("nope"), Err(Error::BadRegion { .. })));
    }

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("db.abc123.eu-central-1.rds.amazonaws.com");
        assert_eq!(BundleSource::for_endpoint(&e).region_name(), Some("eu-central-1"));
        assert_eq!(
            BundleSource::for_endpoint(&Endpoint::parse("10.0.0.1")),
            BundleSource::global()
        );
    }
}
