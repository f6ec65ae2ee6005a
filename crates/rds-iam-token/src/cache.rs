//! [`TokenCache`]: reuse tokens until shortly before they (or their credentials) expire.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::sync::lock;
use crate::{AuthToken, Credentials, Error, TokenRequest};

/// How long before expiry a cached token is replaced, unless set with [`TokenCache::with_refresh_margin`].
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// How far the clock may step back before a cached token counts as signed in the future.
const CLOCK_STEP_TOLERANCE: Duration = Duration::from_secs(60);

/// Entries beyond which stale ones are dropped when a new key is added.
const PRUNE_ABOVE: usize = 256;

/// A thread-safe cache of signed tokens for long-running programs and connection pools.
///
/// Tokens are keyed by host, port, user, region, lifetime and access key id, and reused until
/// `refresh margin` before the earlier of their own expiry and their credentials' expiry. The margin is capped at
/// half the token lifetime, so short tokens are reused too. Signing for one key happens at most once at a time
/// (single-flight): threads that miss together wait for the one signing and share its token. Time is passed in.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use rds_iam_token::{Credentials, TokenCache, TokenRequest};
///
/// let cache = TokenCache::new();
/// let request = TokenRequest::new("mydb.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com", 3306, "app", "us-east-1")?;
/// let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
/// let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
///
/// let first = cache.get_or_sign(&request, &creds, t0)?;
/// let again = cache.get_or_sign(&request, &creds, t0 + Duration::from_secs(60))?;
/// assert_eq!(first.expose(), again.expose()); // reused
/// let later = cache.get_or_sign(&request, &creds, t0 + Duration::from_secs(11 * 60))?;
/// assert_ne!(first.expose(), later.expose()); // within 5 minutes of expiry: signed anew
/// # Ok::<(), rds_iam_token::Error>(())
/// ```
#[derive(Debug)]
pub struct TokenCache {
    slots: Mutex<HashMap<u64, Vec<Entry>>>,
    hasher: RandomState,
    refresh_margin: Duration,
}

#[derive(Debug)]
struct Entry {
    request: TokenRequest,
    access_key_id: String,
    slot: Arc<Mutex<Option<AuthToken>>>,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenCache {
    /// An empty cache with the [`DEFAULT_REFRESH_MARGIN`].
    pub fn new() -> Self {
        Self {
            slots: Mutex::default(),
            hasher: RandomState::new(),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
        }
    }

    /// Replace tokens this long before they expire.
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// A cached token for `request` signed by `credentials`' access key, or a new one signed at `now`.
    ///
    /// Errors are those of [`TokenRequest::sign`]; a failed signing caches nothing.
    pub fn get_or_sign(
        &self,
        request: &TokenRequest,
        credentials: &Credentials,
        now: SystemTime,
    ) -> Result<AuthToken, Error> {
        let slot = self.slot(request, credentials.access_key_id(), now);
        let mut cached = lock(&slot);
        if let Some(token) = cached.as_ref().filter(|t| self.is_fresh(t, request, now)) {
            return Ok(token.clone());
        }
        let token = request.sign(credentials, now)?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// A new token in place of `rejected`, which the server refused although the cache held it (credentials rotated
    /// or revoked, a clock that was off): signed at `now` unless another caller already replaced it, in which case
    /// that replacement is returned. For one retry with a fresh token, as AWS's JDBC wrapper does.
    ///
    /// Errors are those of [`TokenRequest::sign`]; a failed signing leaves the cache as it was.
    pub fn replace_rejected(
        &self,
        request: &TokenRequest,
        credentials: &Credentials,
        now: SystemTime,
        rejected: &AuthToken,
    ) -> Result<AuthToken, Error> {
        let slot = self.slot(request, credentials.access_key_id(), now);
        let mut cached = lock(&slot);
        if let Some(token) = cached
            .as_ref()
            .filter(|t| t.expose() != rejected.expose() && self.is_fresh(t, request, now))
        {
            return Ok(token.clone());
        }
        let token = request.sign(credentials, now)?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// How many keys the cache holds.
    pub fn len(&self) -> usize {
        lock(&self.slots).values().map(Vec::len).sum()
    }

    /// Whether the cache holds no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every token (e.g. after the credentials were revoked).
    pub fn clear(&self) {
        lock(&self.slots).clear();
    }

    fn slot(&self, request: &TokenRequest, access_key_id: &str, now: SystemTime) -> Arc<Mutex<Option<AuthToken>>> {
        let hash = self.hasher.hash_one((request, access_key_id));
        let mut slots = lock(&self.slots);
        let found = slots.get(&hash).and_then(|bucket| {
            bucket
                .iter()
                .find(|e| e.request == *request && e.access_key_id == access_key_id)
        });
        if let Some(entry) = found {
            return entry.slot.clone();
        }
        if slots.values().map(Vec::len).sum::<usize>() >= PRUNE_ABOVE {
            prune(&mut slots, now);
        }
        let slot = Arc::new(Mutex::new(None));
        slots.entry(hash).or_default().push(Entry {
            request: request.clone(),
            access_key_id: access_key_id.to_owned(),
            slot: slot.clone(),
        });
        slot
    }

    fn is_fresh(&self, token: &AuthToken, request: &TokenRequest, now: SystemTime) -> bool {
        let margin = self.refresh_margin.min(request.expires_in() / 2);
        // A clock that moved far back makes the token "from the future" (RDS would reject it): sign anew.
        token.signed_at() <= now + CLOCK_STEP_TOLERANCE && now + margin < token.usable_until()
    }
}

/// Drops entries whose token is unusable at `now` and that nobody is signing right now.
fn prune(slots: &mut HashMap<u64, Vec<Entry>>, now: SystemTime) {
    for bucket in slots.values_mut() {
        bucket.retain(|e| match e.slot.try_lock() {
            Ok(token) => token.as_ref().is_some_and(|t| t.usable_until() > now),
            Err(_) => true,
        });
    }
    slots.retain(|_, bucket| !bucket.is_empty());
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    fn request(user: &str) -> TokenRequest {
        TokenRequest::new("db.abc.us-east-1.rds.amazonaws.com", 3306, user, "us-east-1").unwrap()
    }

    #[test]
    fn reuses_until_margin() {
        let cache = TokenCache::new().with_refresh_margin(Duration::from_secs(60));
        let creds = Credentials::new("AKID", "secret");
        let t0 = cache.get_or_sign(&request("u"), &creds, at(0)).unwrap();
        let t1 = cache.get_or_sign(&request("u"), &creds, at(839)).unwrap();
        assert_eq!(t0.expose(), t1.expose());
        let t2 = cache.get_or_sign(&request("u"), &creds, at(840)).unwrap();
        assert_ne!(t0.expose(), t2.expose());
        assert_eq!(t2.signed_at(), at(840));
    }

    #[test]
    fn a_rejected_token_is_replaced_once() {
        let cache = TokenCache::new();
        let creds = Credentials::new("AKID", "secret");
        let first = cache.get_or_sign(&request("u"), &creds, at(0)).unwrap();
        let fresh = cache.replace_rejected(&request("u"), &creds, at(5), &first).unwrap();
        assert_ne!(first.expose(), fresh.expose());
        assert_eq!(fresh.signed_at(), at(5));
        // A second caller that saw the same rejection gets the replacement, not a third token.
        let again = cache.replace_rejected(&request("u"), &creds, at(6), &first).unwrap();
        assert_eq!(again.expose(), fresh.expose());
        assert_eq!(
            cache.get_or_sign(&request("u"), &creds, at(7)).unwrap().expose(),
            fresh.expose()
        );
    }

    #[test]
    fn keyed_by_user_and_access_key() {
        let cache = TokenCache::new();
        let a = Credentials::new("AKIDA", "secret");
        let b = Credentials::new("AKIDB", "secret");
        let ua = cache.get_or_sign(&request("u"), &a, at(0)).unwrap();
        let va = cache.get_or_sign(&request("v"), &a, at(0)).unwrap();
        let ub = cache.get_or_sign(&request("u"), &b, at(0)).unwrap();
        assert_ne!(ua.expose(), va.expose());
        assert_ne!(ua.expose(), ub.expose());
        assert_eq!(cache.len(), 3);
        cache.clear();
        assert!(cache.is_empty());
    }

    #[test]
    fn never_past_credentials_expiry() {
        let cache = TokenCache::new().with_refresh_margin(Duration::from_secs(60));
        let creds = Credentials::new("ASIA", "s")
            .with_session_token("t")
            .with_expiry(at(200));
        let t0 = cache.get_or_sign(&request("u"), &creds, at(0)).unwrap();
        assert_eq!(
            cache.get_or_sign(&request("u"), &creds, at(139)).unwrap().expose(),
            t0.expose()
        );
        // 60 s before the credentials expire the token is no longer reused, and signing fails once they have.
        let t1 = cache.get_or_sign(&request("u"), &creds, at(140)).unwrap();
        assert_ne!(t1.expose(), t0.expose());
        assert!(matches!(
            cache.get_or_sign(&request("u"), &creds, at(200)),
            Err(Error::CredentialsExpired { .. })
        ));
    }

    #[test]
    fn short_tokens_still_reused() {
        let cache = TokenCache::new();
        let req = request("u").with_expires_in(Duration::from_secs(60)).unwrap();
        let creds = Credentials::new("AKID", "s");
        let t0 = cache.get_or_sign(&req, &creds, at(0)).unwrap();
        assert_eq!(cache.get_or_sign(&req, &creds, at(29)).unwrap().expose(), t0.expose());
        assert_ne!(cache.get_or_sign(&req, &creds, at(30)).unwrap().expose(), t0.expose());
    }

    #[test]
    fn clock_going_back_signs_anew() {
        let cache = TokenCache::new();
        let creds = Credentials::new("AKID", "s");
        let t0 = cache.get_or_sign(&request("u"), &creds, at(200)).unwrap();
        assert_eq!(
            cache.get_or_sign(&request("u"), &creds, at(140)).unwrap().expose(),
            t0.expose()
        );
        assert_ne!(
            cache.get_or_sign(&request("u"), &creds, at(139)).unwrap().expose(),
            t0.expose()
        );
    }

    #[test]
    fn single_flight_across_threads() {
        let cache = TokenCache::new();
        let creds = Credentials::new("AKID", "s");
        let threads = 8;
        let barrier = Barrier::new(threads);
        let distinct = Mutex::new(std::collections::HashSet::new());
        let calls = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for thread in 0..threads {
                let (cache, creds, barrier, distinct, calls) = (&cache, &creds, &barrier, &distinct, &calls);
                s.spawn(move || {
                    barrier.wait();
                    for _ in 0..100 {
                        // Each thread has its own clock: a second signing would give a different token.
                        let token = cache.get_or_sign(&request("u"), creds, at(thread as u64)).unwrap();
                        calls.fetch_add(1, Ordering::Relaxed);
                        distinct.lock().unwrap().insert(token.expose().to_owned());
                    }
                });
            }
        });
        assert_eq!(calls.load(Ordering::Relaxed), 800);
        // One signing: every thread got the token of whichever thread signed first.
        assert_eq!(distinct.lock().unwrap().len(), 1);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn debug_shows_no_token() {
        let cache = TokenCache::new();
        let creds = Credentials::new("ASIA", "SECRETKEYVALUE").with_session_token("SESSIONTOKENVALUE");
        let token = cache.get_or_sign(&request("u"), &creds, at(0)).unwrap();
        let shown = format!("{cache:?} {cache:#?} {token:?}");
        let signature = token.expose().rsplit_once('=').unwrap().1;
        for secret in ["SECRETKEYVALUE", "SESSIONTOKENVALUE", signature] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn prunes_stale_keys() {
        let cache = TokenCache::new();
        let creds = Credentials::new("AKID", "s");
        for i in 0..=PRUNE_ABOVE {
            cache.get_or_sign(&request(&format!("user{i}")), &creds, at(0)).unwrap();
        }
        // Pruning runs when a key is added to a full cache, and keeps tokens still usable.
        assert_eq!(cache.len(), PRUNE_ABOVE + 1);
        cache.get_or_sign(&request("late"), &creds, at(10_000)).unwrap();
        assert_eq!(cache.len(), 1);
        let late = cache.get_or_sign(&request("late"), &creds, at(10_001)).unwrap();
        assert_eq!(late.signed_at(), at(10_000), "the new key survived the pruning");
    }
}
