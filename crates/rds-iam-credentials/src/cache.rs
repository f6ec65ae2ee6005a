//! [`CachingProvider`]: reuse temporary credentials, refresh them ahead of expiry, one fetch at a time.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, TryLockError};
use std::time::{Duration, SystemTime};

use rds_iam_token::sync::lock;

use crate::{Clock, Credentials, CredentialsError, ProvideCredentials};

/// How long before expiry credentials are refreshed, unless set with [`CachingProvider::with_refresh_ahead`].
pub const DEFAULT_REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);

/// After a refresh that failed, or that returned credentials already due for refresh (IMDS hands out the same
/// credentials until it rotates them), the next attempt waits this long while the current ones stay valid.
pub const REFRESH_RETRY_INTERVAL: Duration = Duration::from_secs(10);

/// Wraps a provider and caches what it returns.
///
/// - Credentials without an expiry (long-term keys) are fetched once.
/// - Temporary credentials are reused until `refresh_ahead` before they expire, then fetched again.
/// - One fetch at a time (single-flight): threads that need credentials while none are usable wait for the one
///   fetch, and share its result — credentials or error; threads that arrive while a refresh of still-valid
///   credentials runs get the current ones at once.
/// - If a refresh fails while the current credentials are still valid, they are kept (with a warning in the log)
///   and a call [`REFRESH_RETRY_INTERVAL`] later tries again; likewise when the source answers with credentials
///   that are themselves due for refresh, so a source that has nothing newer yet is not asked on every call.
///
/// ```
/// use rds_iam_credentials::{CachingProvider, Clock, Credentials, CredentialsError, ProvideCredentials};
///
/// #[derive(Debug)]
/// struct Static;
/// impl ProvideCredentials for Static {
///     fn provide(&self) -> Result<Credentials, CredentialsError> {
///         Ok(Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
///     }
/// }
/// let cached = CachingProvider::new(Static, Clock::system());
/// assert_eq!(cached.provide()?.access_key_id(), "AKIAIOSFODNN7EXAMPLE");
/// # Ok::<(), CredentialsError>(())
/// ```
pub struct CachingProvider {
    inner: Box<dyn ProvideCredentials>,
    clock: Clock,
    refresh_ahead: Duration,
    current: Mutex<Option<Cached>>,
    fetching: Mutex<()>,
    /// Fetches completed so far, and the error of the last one if it failed with nothing valid to fall back on:
    /// threads that waited for that fetch get its error instead of each asking the source again in turn.
    fetches: AtomicU64,
    last_error: Mutex<Option<CredentialsError>>,
}

/// Credentials and when to try to refresh them (`None`: never, they don't expire).
#[derive(Debug)]
struct Cached {
    credentials: Credentials,
    refresh_at: Option<SystemTime>,
}

impl CachingProvider {
    /// Caches what `inner` provides, judging expiry by `clock`.
    pub fn new(inner: impl ProvideCredentials + 'static, clock: Clock) -> Self {
        Self::from_boxed(Box::new(inner), clock)
    }

    /// Like [`CachingProvider::new`], for a provider already boxed.
    pub fn from_boxed(inner: Box<dyn ProvideCredentials>, clock: Clock) -> Self {
        Self {
            inner,
            clock,
            refresh_ahead: DEFAULT_REFRESH_AHEAD,
            current: Mutex::new(None),
            fetching: Mutex::new(()),
            fetches: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    /// Refresh this long before expiry.
    pub fn with_refresh_ahead(mut self, refresh_ahead: Duration) -> Self {
        self.refresh_ahead = refresh_ahead;
        self
    }

    /// The cached credentials if they need no refresh, and whether cached ones are at least still valid.
    fn cached(&self) -> (Option<Credentials>, Option<Credentials>) {
        let now = self.clock.now();
        let current = lock(&self.current);
        match current.as_ref() {
            Some(c) if c.refresh_at.is_none_or(|r| now < r) => (Some(c.credentials.clone()), None),
            Some(c) if !c.credentials.is_expired(now) => (None, Some(c.credentials.clone())),
            _ => (None, None),
        }
    }

    /// When to refresh credentials fetched (or kept) at `now`: `refresh_ahead` before they expire, but not sooner
    /// than [`REFRESH_RETRY_INTERVAL`] from now.
    fn refresh_at(&self, credentials: &Credentials, now: SystemTime) -> Option<SystemTime> {
        let expiry = credentials.expiry()?;
        let due = expiry.checked_sub(self.refresh_ahead).unwrap_or(now);
        Some(if due > now {
            due
        } else {
            (now + REFRESH_RETRY_INTERVAL).min(expiry)
        })
    }

    fn fetch(&self, still_valid: Option<Credentials>) -> Result<Credentials, CredentialsError> {
        let result = self.inner.provide();
        let now = self.clock.now();
        *lock(&self.last_error) = match (&result, &still_valid) {
            (Err(err), None) => Some(err.clone()),
            _ => None,
        };
        self.fetches.fetch_add(1, Ordering::AcqRel);
        match result {
            Ok(fresh) => {
                let refresh_at = self.refresh_at(&fresh, now);
                *lock(&self.current) = Some(Cached {
                    credentials: fresh.clone(),
                    refresh_at,
                });
                Ok(fresh)
            }
            Err(err) => match still_valid {
                Some(current) => {
                    tracing::warn!(error = %err, "refreshing credentials failed; using the current ones until they expire");
                    let refresh_at = self.refresh_at(&current, now);
                    if let Some(cached) = lock(&self.current).as_mut() {
                        cached.refresh_at = refresh_at;
                    }
                    Ok(current)
                }
                None => Err(err),
            },
        }
    }
}

impl ProvideCredentials for CachingProvider {
    fn provide(&self) -> Result<Credentials, CredentialsError> {
        if let (Some(fresh), _) = self.cached() {
            return Ok(fresh);
        }
        let (_, still_valid) = self.cached();
        if let Some(valid) = still_valid {
            // A refresh is due but the credentials still work: refresh unless someone already is. A poisoned lock
            // (a fetch panicked) guards nothing half-done (`()`): it is free, not busy, or refresh-ahead would stop
            // until the credentials expire.
            let _guard = match self.fetching.try_lock() {
                Ok(guard) => guard,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return Ok(valid),
            };
            if let (Some(fresh), _) = self.cached() {
                return Ok(fresh);
            }
            return self.fetch(Some(valid));
        }
        // Nothing usable: wait for the one fetch, then see whether it already produced what we need — or failed
        // while we waited, which answers this call too.
        let fetches = self.fetches.load(Ordering::Acquire);
        let _guard = lock(&self.fetching);
        match self.cached() {
            (Some(fresh), _) => Ok(fresh),
            (None, None) if self.fetches.load(Ordering::Acquire) != fetches => match lock(&self.last_error).as_ref() {
                Some(err) => Err(err.clone()),
                None => self.fetch(None),
            },
            (None, still_valid) => self.fetch(still_valid),
        }
    }
}

impl fmt::Debug for CachingProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachingProvider")
            .field("inner", &self.inner)
            .field("refresh_ahead", &self.refresh_ahead)
            .field("current", &lock(&self.current).as_ref().map(|c| &c.credentials))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::SystemTime;

    use super::*;

    /// Hands out numbered temporary credentials valid for an hour; fails while `failing` is set.
    #[derive(Debug)]
    struct Counting {
        clock: Clock,
        calls: Arc<AtomicUsize>,
        failing: Arc<std::sync::atomic::AtomicBool>,
        delay: Duration,
    }

    impl ProvideCredentials for Counting {
        fn provide(&self) -> Result<Credentials, CredentialsError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(self.delay);
            if self.failing.load(Ordering::SeqCst) {
                return Err(CredentialsError::failed("test source", "broken"));
            }
            Ok(Credentials::new(format!("ASIA{n}"), "secret")
                .with_session_token("token")
                .with_expiry(self.clock.now() + Duration::from_secs(3600)))
        }
    }

    fn setup(
        delay: Duration,
    ) -> (
        CachingProvider,
        Clock,
        Arc<AtomicUsize>,
        Arc<std::sync::atomic::AtomicBool>,
    ) {
        let clock = Clock::manual(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        let calls = Arc::new(AtomicUsize::new(0));
        let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let inner = Counting {
            clock: clock.clone(),
            calls: calls.clone(),
            failing: failing.clone(),
            delay,
        };
        (CachingProvider::new(inner, clock.clone()), clock, calls, failing)
    }

    #[test]
    fn reuses_then_refreshes_ahead_of_expiry() {
        let (cache, clock, calls, _) = setup(Duration::ZERO);
        assert_eq!(cache.provide().unwrap().access_key_id(), "ASIA0");
        clock.advance(Duration::from_secs(3600 - 301));
        assert_eq!(cache.provide().unwrap().access_key_id(), "ASIA0");
        clock.advance(Duration::from_secs(2));
        assert_eq!(cache.provide().unwrap().access_key_id(), "ASIA1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn keeps_last_good_while_valid() {
        let (cache, clock, _, failing) = setup(Duration::ZERO);
        cache.provide().unwrap();
        failing.store(true, Ordering::SeqCst);
        clock.advance(Duration::from_secs(3500));
        assert_eq!(
            cache.provide().unwrap().access_key_id(),
            "ASIA0",
            "refresh failed: the valid ones are kept"
        );
        clock.advance(Duration::from_secs(100));
        let err = cache.provide().unwrap_err();
        assert!(err.to_string().contains("broken"), "{err}");
        failing.store(false, Ordering::SeqCst);
        assert_eq!(cache.provide().unwrap().access_key_id(), "ASIA3");
    }

    #[test]
    fn failed_refresh_is_retried_after_the_interval() {
        let (cache, clock, calls, failing) = setup(Duration::ZERO);
        cache.provide().unwrap();
        failing.store(true, Ordering::SeqCst);
        clock.advance(Duration::from_secs(3400));
        for _ in 0..5 {
            assert_eq!(cache.provide().unwrap().access_key_id(), "ASIA0");
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "one failed refresh, then the valid ones without asking"
        );
        failing.store(false, Ordering::SeqCst);
        clock.advance(REFRESH_RETRY_INTERVAL);
        assert_eq!(cache.provide().unwrap().access_key_id(), "ASIA2");
    }

    /// Like IMDS before it rotates: the same credentials, with the same expiry, whenever asked.
    #[derive(Debug)]
    struct Unchanging {
        expiry: SystemTime,
        calls: Arc<AtomicUsize>,
    }

    impl ProvideCredentials for Unchanging {
        fn provide(&self) -> Result<Credentials, CredentialsError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(Credentials::new("ASIA", "secret").with_expiry(self.expiry))
        }
    }

    #[test]
    fn a_source_with_nothing_newer_is_not_asked_on_every_call() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let clock = Clock::manual(start);
        let calls = Arc::new(AtomicUsize::new(0));
        let expiry = start + Duration::from_secs(120);
        let cache = CachingProvider::new(
            Unchanging {
                expiry,
                calls: calls.clone(),
            },
            clock.clone(),
        );
        for _ in 0..5 {
            cache.provide().unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        clock.advance(REFRESH_RETRY_INTERVAL);
        cache.provide().unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        clock.set(expiry);
        cache.provide().unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3, "expired: fetched at once");
    }

    #[test]
    fn one_fetch_for_many_threads() {
        let (cache, clock, calls, _) = setup(Duration::from_millis(50));
        let barrier = Barrier::new(64);
        let run = || {
            std::thread::scope(|s| {
                for _ in 0..64 {
                    s.spawn(|| {
                        barrier.wait();
                        cache.provide().unwrap();
                    });
                }
            });
        };
        run();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "cold start: one fetch");
        clock.advance(Duration::from_secs(3400));
        run();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "refresh window: one fetch, the others keep the valid ones"
        );
    }

    #[test]
    fn threads_that_waited_for_a_failed_fetch_share_its_error() {
        // A source that takes a second to fail (a black-holed IMDS): callers that arrive meanwhile wait for that
        // one fetch and get its error; they do not each wait out another second.
        let (cache, _, calls, failing) = setup(Duration::from_secs(1));
        failing.store(true, Ordering::SeqCst);
        std::thread::scope(|s| {
            let first = s.spawn(|| cache.provide().unwrap_err());
            while calls.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            let waiting: Vec<_> = (0..15).map(|_| s.spawn(|| cache.provide().unwrap_err())).collect();
            for err in waiting
                .into_iter()
                .map(|t| t.join().unwrap())
                .chain([first.join().unwrap()])
            {
                assert!(err.to_string().contains("broken"), "{err}");
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one fetch for 16 callers");
        // A later call asks again.
        failing.store(false, Ordering::SeqCst);
        assert!(cache.provide().is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// Temporary credentials valid for an hour; panics on the call numbered `panic_on` (from 0).
    #[derive(Debug)]
    struct PanicsOnce {
        clock: Clock,
        calls: Arc<AtomicUsize>,
        panic_on: usize,
    }

    impl ProvideCredentials for PanicsOnce {
        fn provide(&self) -> Result<Credentials, CredentialsError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            assert_ne!(n, self.panic_on, "the source panics inside a fetch (on purpose)");
            Ok(
                Credentials::new(format!("ASIA{n}"), "secret")
                    .with_expiry(self.clock.now() + Duration::from_secs(3600)),
            )
        }
    }

    #[test]
    fn refresh_ahead_goes_on_after_a_fetch_panicked() {
        let clock = Clock::manual(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        let calls = Arc::new(AtomicUsize::new(0));
        let cache = CachingProvider::new(
            PanicsOnce {
                clock: clock.clone(),
                calls: calls.clone(),
                panic_on: 1,
            },
            clock.clone(),
        );
        assert_eq!(cache.provide().unwrap().access_key_id(), "ASIA0");
        clock.advance(Duration::from_secs(3400));
        // The refresh-ahead fetch panics on another thread, poisoning the fetch lock.
        let panicked = std::thread::scope(|s| s.spawn(|| cache.provide()).join());
        assert!(panicked.is_err(), "the fetch should have panicked");
        assert!(cache.fetching.is_poisoned());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // A later call in the refresh window still refreshes (the lock is free, not "someone is refreshing").
        assert_eq!(cache.provide().unwrap().access_key_id(), "ASIA2");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(
            cache.provide().unwrap().access_key_id(),
            "ASIA2",
            "and then reuses them"
        );
    }

    #[test]
    fn debug_has_no_secret() {
        let (cache, _, _, _) = setup(Duration::ZERO);
        cache.provide().unwrap();
        let shown = format!("{cache:?}");
        assert!(
            shown.contains("ASIA0") && !shown.contains("secret\"") && !shown.contains("\"token\""),
            "{shown}"
        );
    }
}
