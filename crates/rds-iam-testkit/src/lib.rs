//! Loopback servers for rds-iam's tests and demo. Not published; used only by tests and xtask.
//!
//! - [`FakeHttpServer`]: an HTTP/1.1 server on `127.0.0.1` that records every request and answers from a
//!   handler, which can also inject faults (hang, close, garbage, oversized bodies, delays).
//! - [`FakeSts`]: STS `AssumeRole` / `AssumeRoleWithWebIdentity` with deterministic answers, for differential
//!   tests against botocore.
//!
//! Every server listens on loopback only, on a free port, and stops when dropped.

mod http;
mod sts;

pub use http::{FakeHttpServer, Recorded, Reply};
pub use sts::FakeSts;
