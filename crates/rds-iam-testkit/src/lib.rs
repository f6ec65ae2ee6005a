//! Loopback servers for rds-iam's tests and demo. Not published; used only by tests and xtask.
//!
//! - [`FakeHttpServer`]: an HTTP/1.1 server on `127.0.0.1` that records every request and answers from a
//!   handler, which can also inject faults (hang, close, garbage, oversized bodies, delays).
//! - [`FakeSts`]: STS `AssumeRole` / `AssumeRoleWithWebIdentity` with deterministic answers, for differential
//!   tests against botocore.
//! - [`FakeImds`]: an EC2 instance metadata service (IMDSv2 session tokens and role credentials).
//! - [`FakeEcs`]: an ECS / EKS Pod Identity container credentials endpoint.
//! - [`MotoServer`]: moto's AWS API fake (STS, RDS, …) as a child process on a free loopback port.
//! - [`FakeSsoPortal`]: the IAM Identity Center portal's `GetRoleCredentials`, with fault knobs.
//! - [`RdsLikeServer`]: an in-process MySQL server that logs in like RDS / Aurora with IAM tokens: TLS required,
//!   auth switch to `mysql_clear_password`, a validation callback, every attempt recorded.
//! - [`TestPki`]: a root → intermediate → leaf chain generated with rcgen at test time.
//! - [`MariaDb`]: a real MariaDB 10.11 that accepts only valid RDS IAM auth tokens, over TLS, checked by
//!   [`sigv4_check`] (a SigV4 validator written from the spec) through PAM.
//! - [`FakeBundleServer`]: HTTPS (rustls, test PKI) serving RDS CA bundles, with ETags and faults;
//!   [`FakeHttpServer::start_tls`] is the same server over TLS for anything else.
//! - [`TestPki`], [`RdsLikeCa`]: certificates generated at test time with rcgen (a TLS root and server leaf; RDS-like
//!   CA roots: good, expired, not a CA, tampered).
//! - [`tools`]: where the reference tools are (MariaDB, moto, botocore, the AWS CLI, faketime, MySQL clients) and
//!   [`require_or_skip`], the one place that decides whether a test without its tool fails or is skipped.
//!
//! Every server listens on loopback only, on a free port, and stops when dropped.
//!
//! # Crate features
//!
//! All on by default; dependents turn default features off and name what they use, so each test binary builds only
//! the servers it starts.
//!
//! - `http`: [`FakeHttpServer`], [`FakeImds`], [`FakeEcs`], [`FakeSts`], [`FakeSsoPortal`] (and, with `pki`,
//!   [`FakeBundleServer`]).
//! - `pki`: [`TestPki`], [`RdsLikeCa`].
//! - `moto`: [`MotoServer`].
//! - `mysql-server`: [`RdsLikeServer`] (turns on `pki`).
//! - `mariadb`: [`MariaDb`], [`sigv4_check`] and the `rds-iam-pam-check` binary (turns on `pki`).
//!
//! [`tools`] is always built.

#[cfg(all(feature = "http", feature = "pki"))]
mod bundle;
#[cfg(feature = "http")]
mod ecs;
#[cfg(feature = "http")]
mod http;
#[cfg(feature = "http")]
mod imds;
#[cfg(feature = "mariadb")]
mod mariadb;
#[cfg(feature = "moto")]
mod moto;
#[cfg(feature = "mysql-server")]
mod mysql_server;
#[cfg(feature = "pki")]
mod pki;
#[cfg(feature = "mariadb")]
pub mod sigv4_check;
#[cfg(feature = "http")]
mod sso;
#[cfg(feature = "http")]
mod sts;
pub mod tools;

#[cfg(all(feature = "http", feature = "pki"))]
pub use bundle::{BundleReply, FakeBundleServer};
#[cfg(feature = "http")]
pub use ecs::FakeEcs;
#[cfg(feature = "http")]
pub use http::{FakeHttpServer, Recorded, Reply};
#[cfg(feature = "http")]
pub use imds::FakeImds;
#[cfg(feature = "mariadb")]
pub use mariadb::{
    ADMIN_USER, MariaDb, MariaDbOptions, PamAttempt, PamAttemptLog, PamOutcome, TEST_ACCESS_KEY_ID,
    TEST_SECRET_ACCESS_KEY,
};
#[cfg(feature = "moto")]
pub use moto::MotoServer;
#[cfg(feature = "mysql-server")]
pub use mysql_server::{Greeting, LoginAttempt, Outcome, RdsLikeOptions, RdsLikeServer};
#[cfg(feature = "pki")]
pub use pki::{PkiFiles, RdsLikeCa, TestPki, at_year, pem_certificate};
#[cfg(feature = "http")]
pub use sso::{FakeSsoPortal, SsoFault, SsoRoleCredentials};
#[cfg(feature = "http")]
pub use sts::FakeSts;
pub use tools::{Tool, require_or_skip};

/// Locks `mutex`, also after a panic in another holder (a test that failed while a server thread held it): the
/// servers' state is recorded or replaced in one step, so it is never half-written, and the next test still runs.
/// rds-iam-testkit depends on no rds-iam crate, so it has its own copy of `rds_iam_token::sync::lock`.
#[cfg(any(feature = "http", feature = "mysql-server"))]
fn lock<T: ?Sized>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
