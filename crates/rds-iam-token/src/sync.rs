//! [`lock`]: the workspace's one poison-tolerant `Mutex` lock (not part of the API; for the other rds-iam crates).

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, also after a thread panicked while holding it.
///
/// For values that are only ever replaced or updated in one step (caches, recorders, counters): a panic elsewhere
/// cannot leave them half-written, so the poison flag carries no information and every later user would panic too.
/// Used by the token cache and by rds-iam-credentials and rds-iam-mysql, which all depend on this crate; not a
/// supported API for other programs.
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn a_panic_while_locked_does_not_lock_others_out() {
        let mutex = Mutex::new(1);
        let _ = std::thread::scope(|s| {
            s.spawn(|| {
                let _guard = lock(&mutex);
                panic!("a holder panics");
            })
            .join()
        });
        assert!(mutex.is_poisoned());
        *lock(&mutex) += 1;
        assert_eq!(*lock(&mutex), 2);
    }
}
