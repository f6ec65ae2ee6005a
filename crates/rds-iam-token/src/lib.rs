//! RDS IAM authentication tokens: the password you send to Amazon RDS / Aurora MySQL and MariaDB instead of a
//! stored one.
//!
//! - [`Endpoint`]: what an RDS hostname says (partition, region, instance / cluster / proxy).
//! - [`TokenRequest::sign`]: a token byte-identical to botocore's `generate_db_auth_token`, signed with aws-sigv4.
//! - [`decode`]: a token's fields (host, user, region, access key, times) without any secret.
//! - [`TokenCache`]: thread-safe, single-flight reuse of tokens until shortly before they or their credentials
//!   expire.
//! - [`Secret`] and [`Credentials`]: shared with the other `rds-iam` crates; secrets never print.
//!
//! This crate does no I/O, reads no clock and no environment: time and credentials are arguments.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use rds_iam_token::{Credentials, Endpoint, TokenRequest};
//!
//! let host = "mycluster.cluster-c1a2b3c4d5e6.us-east-2.rds.amazonaws.com";
//! let region = Endpoint::parse(host).region().expect("an RDS hostname names its region").to_owned();
//! let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_546_300_800);
//! let token = TokenRequest::new(host, 3306, "iam_user", region)?.sign(&creds, now)?;
//!
//! let fields = rds_iam_token::decode(token.expose())?;
//! assert_eq!(fields.region, "us-east-2");
//! assert_eq!(fields.access_key_id, "AKIAIOSFODNN7EXAMPLE");
//! # Ok::<(), rds_iam_token::Error>(())
//! ```
//!
//! # Crate features
//! None. The dependency tree is aws-sigv4's (with its `sign-http` feature only), `percent-encoding`, `time`
//! and `zeroize`. aws-sigv4 brings tokio's `sync` module (no runtime, no I/O driver) through aws-smithy-async.

mod cache;
mod credentials;
mod decode;
mod endpoint;
mod error;
mod region;
mod secret;
mod sign;

pub use cache::{DEFAULT_REFRESH_MARGIN, TokenCache};
pub use credentials::Credentials;
pub use decode::{DecodedToken, decode};
pub use endpoint::{Endpoint, EndpointKind, Partition};
pub use error::Error;
pub use region::{RegionChoice, RegionSource, choose_region};
pub use secret::Secret;
pub use sign::{AuthToken, MAX_EXPIRES_IN, SERVICE, TokenRequest, validate_host};
