//! Tokens already verified: a signature check costs far more than the request it
//! guards (an ES256 verification is ~100 µs), and a client sends the same token with
//! every request until it expires. So a token whose signature and claims checked out
//! is remembered with its grant and its validity window, keyed by the token itself in
//! a map with a randomly keyed hash (hashing a token with SHA-256 instead would cost
//! about as much as the rest of the request). A remembered token is still refused outside `nbf`/`exp` (with the
//! same leeway) and is verified again once the key set it was checked against has
//! been replaced or has grown stale, so a key the issuer withdraws stops working
//! within the key set's maximum age.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tenet_server::Grant;

#[derive(Debug)]
struct Entry {
    grant: Arc<Grant>,
    /// Valid from (`nbf` − leeway) to (`exp` + leeway), Unix seconds.
    from: u64,
    until: u64,
    /// The key set generation it was verified against.
    generation: u64,
}

/// Remembered tokens, at most `capacity` of them.
#[derive(Debug)]
pub(crate) struct Verified {
    entries: Mutex<HashMap<Box<str>, Entry>>,
    capacity: usize,
}

impl Verified {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { entries: Mutex::new(HashMap::new()), capacity }
    }

    /// The grant of a token verified against key set `generation`, when it is valid
    /// at `now`.
    pub(crate) fn get(&self, token: &str, generation: u64, now: u64) -> Option<Arc<Grant>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(token)?;
        let usable = entry.generation == generation && (entry.from..=entry.until).contains(&now);
        usable.then(|| entry.grant.clone())
    }

    /// Remembers a token valid from `from` to `until` (leeway included). When full,
    /// the entries no longer valid at `now` go first, and everything if that is not
    /// enough (a flood of distinct tokens costs verifications, never memory).
    pub(crate) fn insert(&self, token: &str, grant: Arc<Grant>, (from, until): (u64, u64), generation: u64, now: u64) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(token) {
            entries.retain(|_, e| e.generation == generation && e.until >= now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(token.into(), Entry { grant, from, until, generation });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(scope: &str) -> Arc<Grant> {
        Arc::new(Grant::from_scope_string(scope))
    }

    #[test]
    fn a_remembered_token_is_used_only_inside_its_window_and_key_generation() {
        let cache = Verified::new(8);
        let token = "header.claims.signature";
        cache.insert(token, grant("a b"), (100, 200), 1, 150);
        assert!(cache.get(token, 1, 150).is_some_and(|g| g.has("a") && g.has("b")));
        assert!(cache.get(token, 1, 100).is_some() && cache.get(token, 1, 200).is_some());
        assert!(cache.get(token, 1, 99).is_none(), "before nbf - leeway");
        assert!(cache.get(token, 1, 201).is_none(), "after exp + leeway");
        assert!(cache.get(token, 2, 150).is_none(), "the key set was replaced");
        assert!(cache.get("header.claims.signaturf", 1, 150).is_none());
    }

    #[test]
    fn a_full_cache_drops_what_expired_then_everything() {
        let cache = Verified::new(2);
        cache.insert("old", grant("x"), (0, 10), 1, 5);
        cache.insert("live", grant("x"), (0, 100), 1, 5);
        cache.insert("new", grant("x"), (0, 100), 1, 50);
        assert_eq!(cache.len(), 2);
        assert!(cache.get("old", 1, 5).is_none(), "expired entries go first");
        assert!(cache.get("live", 1, 50).is_some());
        cache.insert("newer", grant("x"), (0, 100), 1, 50);
        assert_eq!(cache.len(), 1, "nothing had expired: the cache starts over");
        assert!(cache.get("newer", 1, 50).is_some());
        let off = Verified::new(0);
        off.insert("t", grant("x"), (0, 100), 1, 5);
        assert!(off.get("t", 1, 5).is_none());
    }
}
