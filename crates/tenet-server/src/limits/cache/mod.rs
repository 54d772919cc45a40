//! The response cache: successful results of the tools, resources and templates that
//! opted in with `cacheable(ttl)`, shared by every connection and transport.
//!
//! - **What is stored**: the encoded result of a complete, successful call or read —
//!   never an error, an `isError` result, an input-required (MRTR) result, a request
//!   that carried `inputResponses`/`requestState`, or a call whose handler asked the
//!   client something. Arguments are checked and access is decided before the lookup,
//!   so a bad or forbidden request is never answered from the cache.
//! - **Key**: see [`key`]: kind, name or URI, protocol version, the
//!   caller's scopes, canonical arguments.
//! - **Bounds**: each entry lives for its capability's TTL; all entries together
//!   weigh at most `ServerConfig::cache_max_bytes` (body + key + a fixed overhead),
//!   the least recently used going first; an entry heavier than a quarter of the
//!   budget is not stored. A budget of 0 turns the cache off.
//! - **Invalidation**: every change the server announces drops what it may affect,
//!   synchronously, before listeners hear of it: a resource update drops that
//!   resource's reads and every tool and template result (they may be derived from
//!   it); a list change drops everything. A generation counter keeps a call that was
//!   already running when the change came from storing its (possibly stale) result.

mod key;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use lru::LruCache;

pub(crate) use key::{CacheKey, Kind};

use crate::body::{Body, OwnMeta};
use crate::event::ServerEvent;

/// What an entry costs besides its key and body: the map slot, the list links, the
/// shared string's header, the expiry.
const ENTRY_OVERHEAD: usize = 96;

/// A snapshot of the response cache's counters (see [`crate::Server::cache_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that found nothing fresh (absent or expired).
    pub misses: u64,
    /// Entries dropped to stay within the byte budget.
    pub evictions: u64,
    /// Entries dropped because the server announced a change.
    pub invalidations: u64,
    /// Entries held now.
    pub entries: u64,
    /// Bytes held now (bodies, keys and per-entry overhead).
    pub bytes: u64,
    /// The byte budget (0: the cache is off).
    pub max_bytes: u64,
}

/// A fresh cached response.
#[derive(Debug)]
pub(crate) struct Hit {
    /// The result object, as first encoded.
    pub body: Arc<str>,
    /// Where its own `_meta` is.
    pub meta: OwnMeta,
    /// How long it stays fresh.
    pub remaining: Duration,
}

impl Hit {
    /// The cached result, as a reply's body (copied out of the shared entry).
    pub fn into_body(self) -> Body {
        Body { json: self.body.to_string(), meta: self.meta }
    }
}

struct Entry {
    body: Arc<str>,
    meta: OwnMeta,
    expires: Instant,
    weight: usize,
}

struct Store {
    lru: LruCache<CacheKey, Entry>,
    bytes: usize,
}

/// The cache itself: one lock around an LRU map; the counters are atomics so
/// statistics never wait for it.
pub(crate) struct ResponseCache {
    max_bytes: usize,
    store: Mutex<Store>,
    /// Bumped (under the lock) by every invalidation.
    generation: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    invalidations: AtomicU64,
    entries: AtomicU64,
    bytes: AtomicU64,
}

impl ResponseCache {
    /// A cache holding at most `max_bytes` (0: off).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            store: Mutex::new(Store { lru: LruCache::unbounded(), bytes: 0 }),
            generation: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
            entries: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// Whether anything is ever stored.
    pub fn is_enabled(&self) -> bool {
        self.max_bytes > 0
    }

    /// The current generation: pass it to [`ResponseCache::insert`] for a result
    /// computed from now on.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fresh response under `key`, if any; an expired one is dropped.
    pub fn get(&self, key: &CacheKey, now: Instant) -> Option<Hit> {
        let mut store = self.lock();
        let found = store.lru.get(key).map(|e| (e.body.clone(), e.meta, e.expires));
        let hit = match found {
            Some((body, meta, expires)) if expires > now => Some(Hit { body, meta, remaining: expires - now }),
            Some(_) => {
                if let Some(entry) = store.lru.pop(key) {
                    store.bytes -= entry.weight;
                }
                self.publish(&store);
                None
            }
            None => None,
        };
        drop(store);
        let counter = if hit.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        hit
    }

    /// Stores `body` under `key` for `ttl`, unless the cache changed generation since
    /// `generation` was read (the body may be stale), the TTL is zero, or the entry is
    /// too heavy. Evicts the least recently used entries to make room. Returns whether
    /// it was stored.
    pub fn insert(&self, key: CacheKey, body: &Body, ttl: Duration, generation: u64, now: Instant) -> bool {
        let weight = key.len() + body.json.len() + ENTRY_OVERHEAD;
        if ttl.is_zero() || !self.is_enabled() || weight > self.max_bytes / 4 {
            return false;
        }
        let Some(expires) = now.checked_add(ttl) else { return false };
        let mut store = self.lock();
        if self.generation.load(Ordering::Acquire) != generation {
            return false;
        }
        if let Some(old) =
            store.lru.put(key, Entry { body: body.json.as_str().into(), meta: body.meta, expires, weight })
        {
            store.bytes -= old.weight;
        }
        store.bytes += weight;
        let mut evicted = 0;
        while store.bytes > self.max_bytes {
            let Some((_, entry)) = store.lru.pop_lru() else { break };
            store.bytes -= entry.weight;
            evicted += 1;
        }
        self.evictions.fetch_add(evicted, Ordering::Relaxed);
        self.publish(&store);
        true
    }

    /// Drops what `event` may have made stale.
    pub fn invalidate(&self, event: &ServerEvent) {
        match event {
            ServerEvent::ResourceUpdated(uri) => {
                self.drop_where(|key| key.kind() != Kind::Resource || key.is_resource(uri));
            }
            ServerEvent::ToolsChanged | ServerEvent::PromptsChanged | ServerEvent::ResourcesChanged => self.clear(),
            // Says nothing of what any answer holds.
            ServerEvent::ElicitationComplete(_) => {}
        }
    }

    /// Drops everything.
    pub fn clear(&self) {
        self.drop_where(|_| true);
    }

    fn drop_where(&self, stale: impl Fn(&CacheKey) -> bool) {
        let mut store = self.lock();
        // Under the lock, so no insert can slip in between the bump and the sweep.
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut dropped = 0;
        let mut freed = 0;
        store.lru.retain(|key, entry| {
            let keep = !stale(key);
            if !keep {
                dropped += 1;
                freed += entry.weight;
            }
            keep
        });
        store.bytes -= freed;
        self.invalidations.fetch_add(dropped, Ordering::Relaxed);
        self.publish(&store);
    }

    /// Mirrors the store's size into the atomics (called with the lock held).
    fn publish(&self, store: &Store) {
        self.entries.store(store.lru.len() as u64, Ordering::Relaxed);
        self.bytes.store(store.bytes as u64, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            invalidations: self.invalidations.load(Ordering::Relaxed),
            entries: self.entries.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            max_bytes: self.max_bytes as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tenet_protocol::ProtocolVersion;

    const V: ProtocolVersion = ProtocolVersion::V2026_07_28;
    const MINUTE: Duration = Duration::from_secs(60);

    fn tool(n: u64) -> CacheKey {
        CacheKey::tool("t", V, None, &json!({ "n": n }))
    }

    fn resource(uri: &str) -> CacheKey {
        CacheKey::read(Kind::Resource, uri, V, None)
    }

    #[test]
    fn a_hit_returns_the_stored_bytes_until_the_ttl_runs_out() {
        let cache = ResponseCache::new(1 << 20);
        let t0 = Instant::now();
        assert!(cache.get(&tool(1), t0).is_none());
        assert!(cache.insert(tool(1), &Body::plain(r#"{"content":[]}"#), MINUTE, cache.generation(), t0));
        let hit = cache.get(&tool(1), t0 + Duration::from_secs(20)).unwrap();
        assert_eq!(&*hit.body, r#"{"content":[]}"#);
        assert_eq!(hit.remaining, Duration::from_secs(40));
        assert!(cache.get(&tool(2), t0).is_none(), "other arguments");
        assert!(cache.get(&tool(1), t0 + MINUTE).is_none(), "expired");
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.entries, stats.bytes), (1, 3, 0, 0));
    }

    #[test]
    fn the_byte_budget_evicts_the_least_recently_used() {
        let body = Body::plain(&"x".repeat(200));
        let weight = tool(0).len() + body.json.len() + ENTRY_OVERHEAD;
        let cache = ResponseCache::new(weight * 4);
        let t0 = Instant::now();
        for n in 0..4 {
            assert!(cache.insert(tool(n), &body, MINUTE, cache.generation(), t0));
        }
        assert!(cache.get(&tool(0), t0).is_some(), "0 is now the most recently used");
        assert!(cache.insert(tool(4), &body, MINUTE, cache.generation(), t0));
        assert!(cache.get(&tool(1), t0).is_none(), "1 was the least recently used");
        for n in [0, 2, 3, 4] {
            assert!(cache.get(&tool(n), t0).is_some(), "{n}");
        }
        let stats = cache.stats();
        assert_eq!((stats.entries, stats.evictions), (4, 1));
        assert!(stats.bytes <= stats.max_bytes);
        // Too heavy for a quarter of the budget: not stored at all.
        assert!(!cache.insert(tool(9), &Body::plain(&"y".repeat(weight * 2)), MINUTE, cache.generation(), t0));
        assert_eq!(cache.stats().entries, 4);
    }

    #[test]
    fn a_resource_update_drops_its_reads_and_everything_derived() {
        let cache = ResponseCache::new(1 << 20);
        let t0 = Instant::now();
        let template = CacheKey::read(Kind::Template, "doc://a", V, None);
        for key in [resource("doc://a"), resource("doc://b"), tool(1), template.clone()] {
            assert!(cache.insert(key, &Body::plain("{}"), MINUTE, cache.generation(), t0));
        }
        cache.invalidate(&ServerEvent::ResourceUpdated("doc://a".into()));
        assert!(cache.get(&resource("doc://a"), t0).is_none());
        assert!(cache.get(&tool(1), t0).is_none());
        assert!(cache.get(&template, t0).is_none());
        assert!(cache.get(&resource("doc://b"), t0).is_some(), "another resource is unaffected");
        assert_eq!(cache.stats().invalidations, 3);
        cache.invalidate(&ServerEvent::ToolsChanged);
        assert_eq!(cache.stats().entries, 0);
    }

    #[test]
    fn a_result_computed_before_an_invalidation_is_not_stored() {
        let cache = ResponseCache::new(1 << 20);
        let t0 = Instant::now();
        let before = cache.generation();
        cache.invalidate(&ServerEvent::ResourcesChanged);
        assert!(!cache.insert(tool(1), &Body::plain("{}"), MINUTE, before, t0));
        assert!(cache.get(&tool(1), t0).is_none());
        assert!(cache.insert(tool(1), &Body::plain("{}"), MINUTE, cache.generation(), t0));
    }

    #[test]
    fn an_empty_budget_or_ttl_stores_nothing() {
        let t0 = Instant::now();
        let off = ResponseCache::new(0);
        assert!(!off.is_enabled());
        assert!(!off.insert(tool(1), &Body::plain("{}"), MINUTE, off.generation(), t0));
        let on = ResponseCache::new(1 << 20);
        assert!(!on.insert(tool(1), &Body::plain("{}"), Duration::ZERO, on.generation(), t0));
        assert_eq!(on.stats().entries, 0);
    }
}
