//! The RDS control plane for IAM database authentication: describe a DB, turn IAM auth on, write the
//! least-privilege policy, and the SQL that creates a DB user who logs in with tokens.
//!
//! - [`RdsAdmin`]: a blocking client over aws-sdk-rds (configured by aws-config, signing with rds-iam's credential
//!   chain through [`rds_iam_credentials::SdkCredentialsProvider`]) on a private current-thread tokio runtime;
//!   callers need no async runtime. [`RdsAdmin::describe`] and [`RdsAdmin::enable_iam_auth`].
//! - [`Policy`]: the `rds-db:connect` policy for one DB user on an instance (`db-…`), a cluster (`cluster-…`) or an
//!   RDS Proxy (`prx-…`), in any partition; a pure function of its inputs.
//! - [`CreateUser`]: `CREATE USER … IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL` and grants, with
//!   every name escaped; [`MasterLogin`] runs them as the master user over verified TLS.
//!
//! ```
//! use rds_iam_admin::{CreateUser, Engine, Policy};
//! use rds_iam_token::Partition;
//!
//! let policy = Policy::new(Partition::AwsCn, "cn-north-1", "123456789012", "cluster-ABCDEFG", "app")?;
//! assert_eq!(policy.resource_arn(), "arn:aws-cn:rds-db:cn-north-1:123456789012:dbuser:cluster-ABCDEFG/app");
//!
//! let sql = CreateUser::new("app", Engine::Mariadb)?.grant("SELECT ON shop.*")?;
//! assert_eq!(sql.statements().len(), 2);
//! # Ok::<(), rds_iam_admin::Error>(())
//! ```
//!
//! # Crate features
//! None. aws-sdk-rds and aws-config are built without their default HTTPS client (no aws-lc); the client is
//! aws-smithy-http-client on rustls with ring, the crypto provider the rest of rds-iam uses.

mod error;
mod master;
mod policy;
mod rds;
mod sql;

pub use error::Error;
pub use master::MasterLogin;
pub use policy::{Policy, ResourceKind, shell_quote};
pub use rds::{Apply, DbInfo, DbKind, DbTarget, Enabled, RdsAdmin, Wait, endpoint_url};
pub use sql::{Authentication, CreateUser, Engine, quote_identifier, sql_string};
