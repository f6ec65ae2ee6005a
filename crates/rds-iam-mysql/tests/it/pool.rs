//! The r2d2 manager: a fresh or cached token per new physical connection, past the 15-minute token lifetime.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mysql::prelude::Queryable;
use rds_iam_credentials::CachingProvider;
use rds_iam_mysql::{ConnectRateLimiter, IamConnectionManager};

use super::*;

/// Counts fetches, so credential caching can be asserted.
#[derive(Debug, Clone)]
struct Counted(Arc<AtomicUsize>);

impl ProvideCredentials for Counted {
    fn provide(&self) -> Result<Credentials, CredentialsError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Temporary(start()).provide()
    }
}

#[test]
fn new_connections_get_fresh_tokens_past_fifteen_minutes() {
    let clock = Clock::manual(start());
    // The server checks what RDS checks about time: the token is not expired at the (manual) current time.
    let server_clock = clock.clone();
    let bed = bed(move |o| {
        o.validator(move |attempt| {
            rds_iam_token::decode(&attempt.password).is_ok_and(|t| !t.is_expired(server_clock.now()))
        })
    });
    let fetches = Arc::new(AtomicUsize::new(0));
    let credentials = CachingProvider::new(Counted(fetches.clone()), clock.clone());
    let target = Target::new("localhost", bed.server.port(), "iam_app")
        .unwrap()
        .with_region("us-east-1");
    let connector = IamConnector::new(target, credentials, &bed.ca).with_clock(clock.clone());
    let manager = IamConnectionManager::new(connector).with_limiter(ConnectRateLimiter::new(10_000.0, 100));

    let threads = 64;
    let per_thread = 200;
    let login_all = |pool: &r2d2::Pool<IamConnectionManager>| {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for _ in 0..per_thread {
                        let mut conn = pool.get().unwrap();
                        conn.query_drop("SELECT 1").unwrap();
                    }
                });
            }
        });
    };
    // max_size 8: connections are reused; r2d2 opens new physical ones as needed.
    let pool = r2d2::Pool::builder()
        .max_size(8)
        .min_idle(Some(0))
        .build(manager.clone())
        .unwrap();
    login_all(&pool);
    drop(pool);
    let first = bed.server.attempts();
    assert!(
        first
            .iter()
            .all(|a| a.outcome == rds_iam_testkit::Outcome::Accepted && a.tls)
    );
    let tokens: std::collections::HashSet<_> = first.iter().map(|a| a.password.clone()).collect();
    assert_eq!(tokens.len(), 1, "{} logins, one signing", first.len());

    // 16 minutes later the first token is dead; a new pool (new physical connections) must still log in.
    clock.advance(Duration::from_secs(16 * 60));
    bed.server.clear();
    let pool = r2d2::Pool::builder()
        .max_size(8)
        .min_idle(Some(0))
        .build(manager)
        .unwrap();
    login_all(&pool);
    let second = bed.server.attempts();
    assert!(!second.is_empty() && second.iter().all(|a| a.outcome == rds_iam_testkit::Outcome::Accepted));
    let new_tokens: std::collections::HashSet<_> = second.iter().map(|a| a.password.clone()).collect();
    assert_eq!(new_tokens.len(), 1, "one new signing for the new window");
    assert!(new_tokens.is_disjoint(&tokens));
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "temporary credentials fetched once, reused from the cache"
    );
}

#[test]
fn the_limiter_paces_new_connections() {
    let bed = bed(|o| o);
    let clock = Clock::manual(start());
    let manager = IamConnectionManager::new(connector(&bed, &clock)).with_limiter(ConnectRateLimiter::new(50.0, 2));
    let started = std::time::Instant::now();
    for _ in 0..12 {
        r2d2::ManageConnection::connect(&manager).unwrap();
    }
    // 10 connections beyond the burst at 50/s: at least 200 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(190),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(bed.server.attempts().len(), 12);
}
