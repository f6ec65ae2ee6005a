//! The RDS control plane for IAM database authentication: describe, enable, policy, CREATE USER.
// The crate guide is README.md, included so that its examples run as doctests.
#![doc = include_str!("../README.md")]

mod error;
mod master;
mod policy;
mod rds;
mod sql;

pub use error::{AnswerProblem, Error, ErrorSource, GrantProblem, InputProblem, Lookup, NotFound};
pub use master::MasterLogin;
pub use policy::{Policy, ResourceKind, shell_quote};
pub use rds::{Apply, DbInfo, DbKind, DbTarget, Enabled, RdsAdmin, Wait, endpoint_url};
pub use sql::{Authentication, CreateUser, Engine, quote_identifier, sql_string};
