//! RDS IAM authentication tokens: sign, decode and cache the password Amazon RDS / Aurora MySQL and MariaDB accept.
// The crate guide is README.md, included so that its examples run as doctests.
#![doc = include_str!("../README.md")]

mod cache;
mod credentials;
mod decode;
mod endpoint;
mod error;
mod region;
mod secret;
mod sign;
#[doc(hidden)]
pub mod sync;
mod time_fmt;

pub use cache::{DEFAULT_REFRESH_MARGIN, TokenCache};
pub use credentials::Credentials;
pub use decode::{DecodedToken, decode};
pub use endpoint::{Endpoint, EndpointKind, Partition, is_region};
pub use error::Error;
pub use region::{RegionChoice, RegionSource, choose_region};
pub use secret::Secret;
pub use sign::{AuthToken, MAX_EXPIRES_IN, SERVICE, TokenRequest, validate_host};
pub use time_fmt::{rfc3339, try_rfc3339};
