//! [`ConnectRateLimiter`]: a token bucket for new IAM logins.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rds_iam_token::sync::lock;

/// Keeps new connections under `per_second` on average, allowing bursts of `burst`.
///
/// RDS throttles new IAM-authenticated connections (around 200 per second per instance); a pool that opens many
/// connections at once — after a failover, at startup — should stay below that. The default is 150/s with bursts
/// of 20.
///
/// The rate is clamped into [`MIN_PER_SECOND`](Self::MIN_PER_SECOND) (one an hour) ..=
/// [`MAX_PER_SECOND`](Self::MAX_PER_SECOND) (a million a second), so no rate can make it panic or wait longer
/// than an hour for a permit; see [`ConnectRateLimiter::new`].
///
/// ```
/// use rds_iam_mysql::ConnectRateLimiter;
///
/// let limiter = ConnectRateLimiter::new(100.0, 10);
/// for _ in 0..10 {
///     limiter.acquire(); // the burst passes at once
/// }
/// ```
#[derive(Debug)]
pub struct ConnectRateLimiter {
    per_second: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The longest wait for a permit: one at [`ConnectRateLimiter::MIN_PER_SECOND`].
const MAX_WAIT: Duration = Duration::from_secs(3600);

impl Default for ConnectRateLimiter {
    fn default() -> Self {
        Self::new(150.0, 20)
    }
}

impl ConnectRateLimiter {
    /// The slowest rate: one new connection an hour. Slower rates are raised to it.
    pub const MIN_PER_SECOND: f64 = 1.0 / 3600.0;

    /// The fastest rate: a million new connections a second, far above what any server accepts (so no limit in
    /// practice). Faster rates, infinity included, are lowered to it.
    pub const MAX_PER_SECOND: f64 = 1e6;

    /// `per_second` new connections on average, bursts of up to `burst` (0 counts as 1).
    ///
    /// The rate is clamped into [`MIN_PER_SECOND`](Self::MIN_PER_SECOND) ..= [`MAX_PER_SECOND`](Self::MAX_PER_SECOND)
    /// (one an hour to a million a second): zero, negative, subnormal and NaN rates become the minimum — the most
    /// cautious reading of a rate that allows no connections — and `f64::INFINITY` the maximum. Never panics; a
    /// clamped rate is logged as a warning, and [`per_second`](Self::per_second) returns the rate in use.
    /// Clamping rather than failing keeps the constructor infallible like [`Default`]: a rate is a tuning knob,
    /// and one out of range is better slowed to something safe than turned into an error at startup.
    pub fn new(per_second: f64, burst: u32) -> Self {
        let requested = per_second;
        // `f64::clamp` would keep NaN: it is tested first.
        let per_second = if per_second.is_nan() || per_second < Self::MIN_PER_SECOND {
            Self::MIN_PER_SECOND
        } else {
            per_second.min(Self::MAX_PER_SECOND)
        };
        // NaN is never equal to the rate used, so it is reported too.
        if per_second != requested {
            tracing::warn!(
                requested,
                used = per_second,
                "connect rate out of range (one an hour to a million a second); clamped"
            );
        }
        let burst = f64::from(burst.max(1));
        Self {
            per_second,
            burst,
            state: Mutex::new(Bucket {
                tokens: burst,
                updated: Instant::now(),
            }),
        }
    }

    /// The average rate in use (after clamping, see [`ConnectRateLimiter::new`]).
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// Waits until a new connection may be opened.
    pub fn acquire(&self) {
        while let Err(wait) = self.try_acquire_at(Instant::now()) {
            std::thread::sleep(wait);
        }
    }

    /// Takes a permit if one is available at `now`; otherwise says how long to wait (at most an hour, see
    /// [`MIN_PER_SECOND`](Self::MIN_PER_SECOND)).
    pub fn try_acquire_at(&self, now: Instant) -> Result<(), Duration> {
        let mut bucket = lock(&self.state);
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = bucket.updated.max(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            // At most 1 / MIN_PER_SECOND = 3600 s; `try_from` all the same, so no arithmetic surprise can panic.
            let wait = (1.0 - bucket.tokens) / self.per_second;
            Err(Duration::try_from_secs_f64(wait).unwrap_or(MAX_WAIT))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let limiter = ConnectRateLimiter::new(10.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.try_acquire_at(t0), Ok(()));
        }
        let wait = limiter.try_acquire_at(t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-6, "{wait:?}");
        assert!(limiter.try_acquire_at(t0 + Duration::from_millis(50)).is_err());
        assert_eq!(limiter.try_acquire_at(t0 + Duration::from_millis(100)), Ok(()));
        // A long pause refills only up to the burst.
        let later = t0 + Duration::from_secs(60);
        let granted = (0..10).filter(|_| limiter.try_acquire_at(later).is_ok()).count();
        assert_eq!(granted, 3);
    }

    /// Security review, finding 10a: no rate makes the limiter panic — tiny rates used to overflow
    /// `Duration::from_secs_f64` in `try_acquire_at` — and every rate is clamped into one an hour ..= a million a
    /// second.
    #[test]
    fn any_rate_is_clamped_and_never_panics() {
        let min = ConnectRateLimiter::MIN_PER_SECOND;
        let max = ConnectRateLimiter::MAX_PER_SECOND;
        let cases = [
            (f64::NAN, min),
            (-f64::NAN, min),
            (f64::INFINITY, max),
            (f64::NEG_INFINITY, min),
            (0.0, min),
            (-0.0, min),
            (-1.0, min),
            (f64::MIN, min),
            (f64::from_bits(1), min), // the smallest subnormal
            (f64::MIN_POSITIVE / 2.0, min),
            (f64::MIN_POSITIVE, min),
            (1e-300, min),
            (1e-5, min),
            (min, min),
            (1.0 / 60.0, 1.0 / 60.0),
            (150.0, 150.0),
            (max, max),
            (1e7, max),
            (1e300, max),
            (f64::MAX, max),
        ];
        for (requested, expected) in cases {
            let limiter = ConnectRateLimiter::new(requested, 1);
            assert_eq!(limiter.per_second(), expected, "rate {requested:e}");
            let t0 = Instant::now();
            assert_eq!(limiter.try_acquire_at(t0), Ok(()), "rate {requested:e}: the burst");
            let wait = limiter.try_acquire_at(t0).unwrap_err();
            assert!(wait <= MAX_WAIT, "rate {requested:e}: waits {wait:?}");
            assert!(
                (wait.as_secs_f64() - 1.0 / expected).abs() <= 1e-6 * (1.0 / expected),
                "rate {requested:e}: waits {wait:?}"
            );
            // After the wait, a permit; after a very long pause, only the burst.
            let refilled = t0 + wait + Duration::from_millis(1);
            assert_eq!(limiter.try_acquire_at(refilled), Ok(()), "rate {requested:e}");
            let later = refilled + Duration::from_secs(10 * 365 * 86_400);
            assert_eq!(limiter.try_acquire_at(later), Ok(()), "rate {requested:e}");
            assert!(limiter.try_acquire_at(later).is_err(), "rate {requested:e}");
        }
        // Burst 0 counts as 1, and the largest burst is fine too.
        let t0 = Instant::now();
        let limiter = ConnectRateLimiter::new(1e300, 0);
        assert_eq!(limiter.try_acquire_at(t0), Ok(()));
        assert!(limiter.try_acquire_at(t0).is_err());
        let limiter = ConnectRateLimiter::new(f64::NAN, u32::MAX);
        assert!((0..1000).all(|_| limiter.try_acquire_at(t0).is_ok()));
    }

    #[test]
    fn acquire_waits_for_the_rate() {
        let limiter = ConnectRateLimiter::new(100.0, 1);
        let started = Instant::now();
        for _ in 0..11 {
            limiter.acquire();
        }
        // 10 permits beyond the burst at 100/s: at least 100 ms.
        assert!(
            started.elapsed() >= Duration::from_millis(95),
            "{:?}",
            started.elapsed()
        );
    }
}
