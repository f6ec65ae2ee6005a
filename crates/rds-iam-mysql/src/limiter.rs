//! [`ConnectRateLimiter`]: a token bucket for new IAM logins.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Keeps new connections under `per_second` on average, allowing bursts of `burst`.
///
/// RDS throttles new IAM-authenticated connections (around 200 per second per instance); a pool that opens many
/// connections at once — after a failover, at startup — should stay below that. The default is 150/s with bursts
/// of 20.
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

impl Default for ConnectRateLimiter {
    fn default() -> Self {
        Self::new(150.0, 20)
    }
}

impl ConnectRateLimiter {
    /// `per_second` new connections on average (must be > 0), bursts of up to `burst` (at least 1).
    pub fn new(per_second: f64, burst: u32) -> Self {
        let per_second = if per_second.is_finite() && per_second > 0.0 {
            per_second
        } else {
            1.0
        };
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

    /// The configured average rate.
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// Waits until a new connection may be opened.
    pub fn acquire(&self) {
        while let Err(wait) = self.try_acquire_at(Instant::now()) {
            std::thread::sleep(wait);
        }
    }

    /// Takes a permit if one is available at `now`; otherwise says how long to wait.
    pub fn try_acquire_at(&self, now: Instant) -> Result<(), Duration> {
        let mut bucket = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = bucket.updated.max(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second))
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
