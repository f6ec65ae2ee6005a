//! [`Clock`]: the current time, real or controlled by a test.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rds_iam_token::sync::lock;

/// Where providers and caches read the time: the system clock, or a manual clock tests move.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use rds_iam_credentials::Clock;
///
/// let clock = Clock::manual(SystemTime::UNIX_EPOCH);
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(60));
/// ```
#[derive(Clone)]
pub struct Clock(Source);

#[derive(Clone)]
enum Source {
    System,
    Manual(Arc<Mutex<SystemTime>>),
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock(Source::System)
    }

    /// A clock that stays at `start` until [`Clock::advance`] or [`Clock::set`] moves it. Clones share the time.
    pub fn manual(start: SystemTime) -> Clock {
        Clock(Source::Manual(Arc::new(Mutex::new(start))))
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        match &self.0 {
            #[allow(clippy::disallowed_methods, reason = "the one place this crate reads the real clock")]
            Source::System => SystemTime::now(),
            Source::Manual(t) => *lock(t),
        }
    }

    /// Moves a manual clock forward (no effect on the system clock).
    pub fn advance(&self, by: Duration) {
        if let Source::Manual(t) = &self.0 {
            *lock(t) += by;
        }
    }

    /// Sets a manual clock (no effect on the system clock).
    pub fn set(&self, to: SystemTime) {
        if let Source::Manual(t) = &self.0 {
            *lock(t) = to;
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::System => f.write_str("Clock::system()"),
            Source::Manual(_) => write!(f, "Clock::manual({:?})", self.now()),
        }
    }
}
