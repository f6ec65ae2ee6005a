//! The credentials cache in front of a real (loopback) source: one fetch for many threads, asserted from the
//! server's request log.

use std::sync::Barrier;
use std::time::{Duration, SystemTime};

use rds_iam_credentials::{CachingProvider, Clock, Env, Fs, ImdsProvider, ProvideCredentials, ProviderConfig};
use rds_iam_testkit::FakeImds;

use super::*;

fn credential_fetches(imds: &FakeImds) -> usize {
    imds.requests()
        .iter()
        .filter(|r| r.path == "/latest/meta-data/iam/security-credentials/app-role")
        .count()
}

#[test]
fn sixty_four_threads_cause_one_fetch() {
    let imds = FakeImds::start("app-role", FakeImds::credentials_json(KEY, SECRET, SESSION, EXPIRATION));
    let expiry = SystemTime::UNIX_EPOCH + Duration::from_secs(EXPIRATION_SECS);
    let clock = Clock::manual(expiry - Duration::from_secs(3600));
    let config = ProviderConfig::new(
        Env::from_vars([("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url())]),
        Fs::from_files::<&str, &str>([]),
    )
    .with_clock(clock.clone());
    let provider = CachingProvider::new(ImdsProvider::new(&config), clock.clone());
    let barrier = Barrier::new(64);
    let burst = || {
        std::thread::scope(|s| {
            for _ in 0..64 {
                s.spawn(|| {
                    barrier.wait();
                    assert_eq!(provider.provide().unwrap().access_key_id(), KEY);
                });
            }
        });
    };

    burst();
    assert_eq!(credential_fetches(&imds), 1, "cold cache: one fetch for 64 threads");
    burst();
    assert_eq!(credential_fetches(&imds), 1, "fresh credentials: no fetch");

    // Four minutes before expiry: inside the 5-minute refresh window, still valid.
    clock.set(expiry - Duration::from_secs(240));
    burst();
    assert_eq!(credential_fetches(&imds), 2, "refresh window: one fetch for 64 threads");
    assert_eq!(imds.tokens_issued(), 1, "the IMDSv2 session token was reused");
}
