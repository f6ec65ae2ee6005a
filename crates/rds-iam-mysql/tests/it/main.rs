//! Integration tests of rds-iam-mysql against the in-process RDS-like server (rds-iam-testkit): TLS-only login,
//! classified errors, the pool and the limiter.
#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed; the panic says where"
)]

mod connect;
mod pool;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use rds_iam_credentials::{Clock, Credentials, CredentialsError, ProvideCredentials};
use rds_iam_mysql::{IamConnector, Target};
use rds_iam_testkit::{RdsLikeOptions, RdsLikeServer, TestPki};

const KEY: &str = "ASIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// A session token long enough to make the auth token > 1 KB, like real STS/SSO/IMDS credentials.
fn session_token() -> String {
    "IQoJb3JpZ2luX2VjEXAMPLE+/=".repeat(40)
}

/// Temporary credentials valid for a day from `clock`'s start.
#[derive(Debug)]
struct Temporary(SystemTime);

impl ProvideCredentials for Temporary {
    fn provide(&self) -> Result<Credentials, CredentialsError> {
        Ok(Credentials::new(KEY, SECRET)
            .with_session_token(session_token())
            .with_expiry(self.0 + Duration::from_secs(86_400)))
    }
}

/// A server with a test PKI for `localhost`, and the CA file clients trust.
struct Bed {
    server: RdsLikeServer,
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

fn bed(options: impl FnOnce(RdsLikeOptions) -> RdsLikeOptions) -> Bed {
    let pki = TestPki::generate(&["localhost"]);
    let dir = tempfile::tempdir().unwrap();
    let files = pki.write_to(dir.path()).unwrap();
    let server = RdsLikeServer::start(options(RdsLikeOptions::from_pki(&pki)));
    Bed {
        server,
        ca: files.ca,
        _dir: dir,
    }
}

fn start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn connector(bed: &Bed, clock: &Clock) -> IamConnector {
    let target = Target::new("localhost", bed.server.port(), "iam_app")
        .unwrap()
        .with_region("us-east-1");
    IamConnector::new(target, Temporary(start()), &bed.ca).with_clock(clock.clone())
}
