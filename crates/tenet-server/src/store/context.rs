//! Where conversations' contexts are kept: the [`ContextStore`] trait, the rules every
//! store applies ([`ContextData`]), and the in-memory store.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use serde_json::Value;
use tenet_protocol::context::{ContextEntry, ContextId, ContextOp, Expect, MAX_CONTEXT_KEY};

/// Whose conversation, and which: a context is kept per caller (the subject of its
/// grant; empty when the transport does no access control) and conversation id, so
/// that one caller cannot read another's by guessing its id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContextKey {
    /// Who the caller is.
    pub owner: String,
    /// The conversation.
    pub id: ContextId,
}

/// Why a change to a context was not made.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// A compare-and-set found something else than it expected.
    #[error(
        "context key {key:?} is not as expected ({expected}; it is {}): it changed meanwhile; read it again and retry",
        found.map_or_else(|| "absent".to_owned(), |v| format!("at version {v}"))
    )]
    Conflict {
        /// The key.
        key: String,
        /// What the change expected.
        expected: ExpectShown,
        /// The version there (`None`: no value).
        found: Option<u64>,
    },
    /// The change would make the context larger than its limit.
    #[error("the conversation's context would hold {needed} bytes, over its limit of {limit}; remove keys first")]
    Full {
        /// What it would hold.
        needed: usize,
        /// The limit.
        limit: usize,
    },
    /// A key that is empty or too long.
    #[error("context key {0:?} must be 1 to {MAX_CONTEXT_KEY} bytes (UTF-8)")]
    InvalidKey(String),
    /// The store cannot be reached.
    #[error("the context store is unavailable: {0}")]
    Unavailable(String),
    /// A caller whose credentials name nobody (a token without `sub`) named a
    /// conversation by an id it chose: another such caller could name the same one.
    #[error(
        "this caller's credentials name no subject (a token without sub), so a conversation id it chose could be \
         another's: name only ids the server made (told in a result's _meta[\"io.tenet/context\"]), or use \
         credentials that name a subject"
    )]
    Anonymous,
}

/// An [`Expect`] as an error message shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectShown(pub Expect);

impl std::fmt::Display for ExpectShown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Expect::Any => f.write_str("expected anything"),
            Expect::Absent => f.write_str("expected no value"),
            Expect::Version(v) => write!(f, "expected version {v}"),
        }
    }
}

/// Where conversations' contexts are kept. Every implementation applies a batch of
/// changes atomically with [`ContextData`]'s rules, bounds each context to
/// [`ContextStore::max_bytes`], and lets contexts expire when unused.
pub trait ContextStore: Send + Sync + std::fmt::Debug + 'static {
    /// Every entry of the context `key` (none when it has none, or expired).
    fn entries(&self, key: &ContextKey) -> BoxFuture<'_, Result<BTreeMap<String, ContextEntry>, ContextError>>;

    /// The entry `name` of the context `key`.
    fn get<'a>(
        &'a self,
        key: &'a ContextKey,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ContextEntry>, ContextError>>;

    /// Applies `ops` to the context `key`, all or none; the version each leaves its
    /// key at (`None` for a removal). A store that writes a batch's final state at once
    /// gives every op on a key the version the batch left it at. A context this makes
    /// counts against `share` (whom per-caller bounds count the request against,
    /// [`crate::share_key`]; `None`: the totals alone bound it).
    fn apply<'a>(
        &'a self,
        key: &'a ContextKey,
        share: Option<&'a str>,
        ops: &'a [ContextOp],
    ) -> BoxFuture<'a, Result<Vec<Option<u64>>, ContextError>>;

    /// The most bytes one context may hold (keys and values as JSON).
    fn max_bytes(&self) -> usize;
}

/// How large and how long-lived contexts may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextLimits {
    /// The most bytes one context may hold (keys and values as JSON): past it, a change
    /// is refused ([`ContextError::Full`]). Default 64 KiB.
    pub max_bytes: usize,
    /// The most bytes all contexts together may hold (each also counts for its id and
    /// a fixed overhead): past it, the contexts used least recently of the caller holding
    /// the most bytes are dropped. Default 64 MiB.
    pub max_total_bytes: usize,
    /// The most bytes one caller's contexts may hold (counted as for the total): past
    /// it, that caller's contexts used least recently are dropped, never another's.
    /// Default 4 MiB (a sixteenth of the total).
    pub max_caller_bytes: usize,
    /// The most contexts one caller may hold: past it, that caller's context used least
    /// recently is dropped. Default 1 024.
    pub max_caller_contexts: usize,
    /// How long a context lives after it was last read or written. Default 1 hour.
    pub ttl: Duration,
}

impl Default for ContextLimits {
    fn default() -> Self {
        Self {
            max_bytes: 64 << 10,
            max_total_bytes: 64 << 20,
            max_caller_bytes: 4 << 20,
            max_caller_contexts: 1024,
            ttl: Duration::from_secs(3600),
        }
    }
}

/// One context's entries, with the rules every store applies to them: versions that
/// only grow, compare-and-set, JSON Merge Patch, and the size bound.
///
/// ```
/// use serde_json::json;
/// use tenet_protocol::context::{ContextOp, Expect};
/// use tenet_server::store::ContextData;
///
/// let mut data = ContextData::default();
/// let set = |value, expect| ContextOp::Set { key: "k".into(), value, expect };
/// let v1 = data.apply(&[set(json!(1), Expect::Absent)], 1024).unwrap()[0].unwrap();
/// assert!(data.apply(&[set(json!(2), Expect::Absent)], 1024).is_err(), "already there");
/// let v2 = data.apply(&[set(json!(2), Expect::Version(v1))], 1024).unwrap()[0].unwrap();
/// assert!(v2 > v1);
/// assert_eq!(data.entries()["k"].value, json!(2));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContextData {
    entries: BTreeMap<String, ContextEntry>,
    bytes: usize,
    /// The last version given.
    last_version: u64,
}

/// The bytes `key` and `value` take.
fn size(key: &str, value: &Value) -> usize {
    key.len() + crate::body::json_len(value)
}

impl ContextData {
    /// A context holding `entries` (as carried from another node): new versions
    /// continue after the highest there.
    pub fn from_entries(entries: BTreeMap<String, ContextEntry>) -> Self {
        let bytes = Self::bytes_of(&entries);
        let last_version = entries.values().map(|e| e.version).max().unwrap_or(0);
        Self { entries, bytes, last_version }
    }

    /// An empty context whose versions start after `version`: a context made again
    /// (after it emptied or expired) never gives a version it gave before.
    pub fn after(version: u64) -> Self {
        Self { last_version: version, ..Self::default() }
    }

    /// The last version it gave.
    pub fn last_version(&self) -> u64 {
        self.last_version
    }

    /// The bytes `entries` take (keys and values as JSON), as a context counts them.
    pub fn bytes_of(entries: &BTreeMap<String, ContextEntry>) -> usize {
        entries.iter().map(|(k, e)| size(k, &e.value)).sum()
    }

    /// Its entries.
    pub fn entries(&self) -> &BTreeMap<String, ContextEntry> {
        &self.entries
    }

    /// The bytes it holds (keys and values as JSON).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Applies `ops`, all or none; the version each leaves its key at.
    ///
    /// # Errors
    /// The first op that cannot apply ([`ContextError::Conflict`], an invalid key), or
    /// a result over `max_bytes` ([`ContextError::Full`]); nothing is changed then.
    pub fn apply(&mut self, ops: &[ContextOp], max_bytes: usize) -> Result<Vec<Option<u64>>, ContextError> {
        let mut next = self.clone();
        let versions = ops.iter().map(|op| next.one(op)).collect::<Result<Vec<_>, _>>()?;
        if next.bytes > max_bytes && next.bytes > self.bytes {
            return Err(ContextError::Full { needed: next.bytes, limit: max_bytes });
        }
        *self = next;
        Ok(versions)
    }

    fn one(&mut self, op: &ContextOp) -> Result<Option<u64>, ContextError> {
        let key = op.key();
        if key.is_empty() || key.len() > MAX_CONTEXT_KEY {
            return Err(ContextError::InvalidKey(key.to_owned()));
        }
        let found = self.entries.get(key).map(|e| e.version);
        let check = |expect: Expect| {
            let holds = match expect {
                Expect::Any => true,
                Expect::Absent => found.is_none(),
                Expect::Version(v) => found == Some(v),
            };
            if holds {
                Ok(())
            } else {
                Err(ContextError::Conflict { key: key.to_owned(), expected: ExpectShown(expect), found })
            }
        };
        match op {
            ContextOp::Set { value, expect, .. } => {
                check(*expect)?;
                Ok(Some(self.put(key, value.clone())))
            }
            ContextOp::Merge { patch, .. } => {
                let mut value = self.entries.get(key).map_or(Value::Null, |e| e.value.clone());
                merge_patch(&mut value, patch);
                Ok(Some(self.put(key, value)))
            }
            ContextOp::Delete { expect, .. } => {
                check(*expect)?;
                if let Some(gone) = self.entries.remove(key) {
                    self.bytes -= size(key, &gone.value);
                }
                Ok(None)
            }
        }
    }

    fn put(&mut self, key: &str, value: Value) -> u64 {
        self.last_version += 1;
        let added = size(key, &value);
        let entry = ContextEntry { value, version: self.last_version };
        if let Some(old) = self.entries.insert(key.to_owned(), entry) {
            self.bytes -= size(key, &old.value);
        }
        self.bytes += added;
        self.last_version
    }
}

/// Applies a JSON Merge Patch (RFC 7396) to `target`.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(target) = target {
        for (name, value) in patch {
            if value.is_null() {
                target.remove(name);
            } else {
                merge_patch(target.entry(name.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Contexts kept in this process: each bounded, each caller's bounded (its own least
/// recently used dropped first), all together bounded, each gone `ttl` after it was last
/// used ([`ContextLimits`]).
#[derive(Debug)]
pub struct MemoryContextStore {
    limits: ContextLimits,
    inner: Mutex<Memory>,
}

#[derive(Debug, Default)]
struct Memory {
    contexts: HashMap<ContextKey, Slot>,
    /// The contexts by when they were last used (a tick), oldest first.
    by_use: BTreeMap<u64, ContextKey>,
    /// What each caller's contexts hold (by the share that made them; `None`: callers of
    /// no known name), and their contexts by use, oldest first.
    shares: HashMap<Option<String>, Holding>,
    /// The callers by the bytes they hold: who gives way past the total.
    by_bytes: super::Ranking,
    tick: u64,
    bytes: usize,
    /// The last version any context gave: a context made anew starts after it, so a
    /// version is never given twice.
    last_version: u64,
}

/// One caller's contexts.
#[derive(Debug, Default)]
struct Holding {
    bytes: usize,
    by_use: BTreeMap<u64, ContextKey>,
}

#[derive(Debug)]
struct Slot {
    data: ContextData,
    used: Instant,
    tick: u64,
    /// Whose share it counts against.
    share: Option<String>,
}

/// What keeping one context costs beyond its keys and values: its key (three times: the
/// map and the use indexes), the slot, the maps' own entries.
const CONTEXT_OVERHEAD: usize = 320;

impl Slot {
    /// The bytes this context counts for against the totals.
    fn footprint(&self, key: &ContextKey) -> usize {
        self.data.bytes() + CONTEXT_OVERHEAD + 3 * (key.owner.len() + key.id.as_str().len())
    }
}

impl MemoryContextStore {
    /// A store with these limits.
    pub fn new(limits: ContextLimits) -> Self {
        Self { limits, inner: Mutex::new(Memory::default()) }
    }

    /// How many contexts it holds and their bytes.
    pub fn usage(&self) -> (usize, usize) {
        let memory = self.lock();
        (memory.contexts.len(), memory.bytes)
    }

    /// How many contexts `share` holds and their bytes.
    pub fn usage_of(&self, share: Option<&str>) -> (usize, usize) {
        let memory = self.lock();
        memory.shares.get(&share.map(str::to_owned)).map_or((0, 0), |h| (h.by_use.len(), h.bytes))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryContextStore {
    fn default() -> Self {
        Self::new(ContextLimits::default())
    }
}

impl Memory {
    /// Drops the contexts unused for `ttl`, oldest first.
    fn expire(&mut self, ttl: Duration, now: Instant) {
        while let Some((_, key)) = self.by_use.first_key_value() {
            let stale = self.contexts.get(key).is_none_or(|slot| now.duration_since(slot.used) >= ttl);
            if !stale {
                break;
            }
            let key = key.clone();
            self.drop_context(&key);
        }
    }

    /// Forgets the context `key` everywhere.
    fn drop_context(&mut self, key: &ContextKey) {
        let Some(slot) = self.contexts.remove(key) else { return };
        self.by_use.remove(&slot.tick);
        self.resize(&slot.share, slot.footprint(key), 0);
        if let Some(holding) = self.shares.get_mut(&slot.share) {
            holding.by_use.remove(&slot.tick);
            if holding.by_use.is_empty() {
                self.shares.remove(&slot.share);
            }
        }
    }

    /// Counts a context of `share` that took `before` bytes as taking `after`: in the
    /// total, in that caller's holding and in the ranking.
    fn resize(&mut self, share: &Option<String>, before: usize, after: usize) {
        self.bytes = self.bytes - before + after;
        if let Some(holding) = self.shares.get_mut(share) {
            let held = holding.bytes;
            holding.bytes = held - before + after;
            let now_held = holding.bytes;
            self.by_bytes.moved(share, held, now_held);
        }
    }

    /// The context `key`, marked as used now.
    fn touch(&mut self, key: &ContextKey, now: Instant) -> Option<&mut Slot> {
        self.tick += 1;
        let tick = self.tick;
        let slot = self.contexts.get_mut(key)?;
        self.by_use.remove(&slot.tick);
        self.by_use.insert(tick, key.clone());
        if let Some(holding) = self.shares.get_mut(&slot.share) {
            holding.by_use.remove(&slot.tick);
            holding.by_use.insert(tick, key.clone());
        }
        slot.tick = tick;
        slot.used = now;
        Some(slot)
    }

    /// The context `share` used least recently, but for `keep`.
    fn oldest_of(&self, share: &Option<String>, keep: &ContextKey) -> Option<ContextKey> {
        self.shares.get(share)?.by_use.values().find(|k| *k != keep).cloned()
    }

    /// Brings `share` within its bounds (its contexts used least recently go), then
    /// everyone within the total (the contexts used least recently of the caller holding
    /// the most bytes go). Never `keep` (the context just changed).
    fn bound(&mut self, share: &Option<String>, keep: &ContextKey, limits: &ContextLimits) {
        let over_share = |m: &Self| {
            share.is_some()
                && m.shares
                    .get(share)
                    .is_some_and(|h| h.bytes > limits.max_caller_bytes || h.by_use.len() > limits.max_caller_contexts)
        };
        while over_share(self) {
            let Some(oldest) = self.oldest_of(share, keep) else { break };
            tracing::warn!(owner = %oldest.owner, id = %oldest.id, "context dropped: its caller's contexts are over their share");
            self.drop_context(&oldest);
        }
        while self.bytes > limits.max_total_bytes {
            // The caller holding the most (but not by `keep` alone).
            let oldest = self.by_bytes.most().take(2).find_map(|most| self.oldest_of(most, keep));
            let Some(oldest) = oldest else { break };
            tracing::warn!(owner = %oldest.owner, id = %oldest.id, "context dropped: all contexts together are over their limit");
            self.drop_context(&oldest);
        }
    }
}

impl ContextStore for MemoryContextStore {
    fn entries(&self, key: &ContextKey) -> BoxFuture<'_, Result<BTreeMap<String, ContextEntry>, ContextError>> {
        let now = Instant::now();
        let mut memory = self.lock();
        memory.expire(self.limits.ttl, now);
        let entries = memory.touch(key, now).map(|slot| slot.data.entries().clone()).unwrap_or_default();
        Box::pin(std::future::ready(Ok(entries)))
    }

    fn get<'a>(
        &'a self,
        key: &'a ContextKey,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ContextEntry>, ContextError>> {
        let now = Instant::now();
        let mut memory = self.lock();
        memory.expire(self.limits.ttl, now);
        let entry = memory.touch(key, now).and_then(|slot| slot.data.entries().get(name).cloned());
        Box::pin(std::future::ready(Ok(entry)))
    }

    fn apply<'a>(
        &'a self,
        key: &'a ContextKey,
        share: Option<&'a str>,
        ops: &'a [ContextOp],
    ) -> BoxFuture<'a, Result<Vec<Option<u64>>, ContextError>> {
        let now = Instant::now();
        let mut memory = self.lock();
        memory.expire(self.limits.ttl, now);
        if memory.touch(key, now).is_none() {
            let tick = memory.tick;
            let share = share.map(str::to_owned);
            let slot = Slot { data: ContextData::after(memory.last_version), used: now, tick, share: share.clone() };
            let footprint = slot.footprint(key);
            memory.contexts.insert(key.clone(), slot);
            memory.by_use.insert(tick, key.clone());
            memory.shares.entry(share.clone()).or_default().by_use.insert(tick, key.clone());
            memory.resize(&share, 0, footprint);
        }
        let memory = &mut *memory;
        let Some(slot) = memory.contexts.get_mut(key) else {
            return Box::pin(std::future::ready(Err(ContextError::Unavailable("lost a context just made".into()))));
        };
        let before = slot.footprint(key);
        let applied = slot.data.apply(ops, self.limits.max_bytes);
        let after = slot.footprint(key);
        let owner = slot.share.clone();
        memory.last_version = memory.last_version.max(slot.data.last_version());
        let emptied = slot.data.entries().is_empty();
        memory.resize(&owner, before, after);
        // A context with nothing in it (made by a batch that failed, or emptied) is not
        // kept: it would hold memory the byte count cannot see coming.
        if emptied {
            memory.drop_context(key);
        }
        memory.bound(&owner, key, &self.limits);
        Box::pin(std::future::ready(applied))
    }

    fn max_bytes(&self) -> usize {
        self.limits.max_bytes
    }
}

/// A new conversation id: 32 hex digits of randomness.
pub(crate) fn new_id() -> ContextId {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: the time and a counter still make it unique in this process.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        bytes[8..].copy_from_slice(&(t as u64).to_le_bytes());
    }
    crate::hex::hex(&bytes).parse().unwrap_or_else(|_| unreachable!("hex digits are a valid id"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(id: &str) -> ContextKey {
        ContextKey { owner: String::new(), id: id.parse().unwrap() }
    }

    fn set(k: &str, value: Value) -> ContextOp {
        ContextOp::Set { key: k.into(), value, expect: Expect::Any }
    }

    #[test]
    fn a_batch_applies_whole_or_not_at_all() {
        let mut data = ContextData::default();
        data.apply(&[set("a", json!(1))], 1024).unwrap();
        let conflicting = [set("b", json!(2)), ContextOp::Delete { key: "a".into(), expect: Expect::Version(99) }];
        let e = data.apply(&conflicting, 1024).unwrap_err();
        assert!(matches!(&e, ContextError::Conflict { key, found: Some(1), .. } if key == "a"), "{e}");
        assert!(e.to_string().contains("expected version 99; it is at version 1"), "{e}");
        assert!(!data.entries().contains_key("b"), "nothing of the batch applied");
        assert_eq!(data.apply(&[set("", json!(1))], 1024).unwrap_err(), ContextError::InvalidKey(String::new()));
    }

    #[test]
    fn merges_follow_rfc_7396() {
        let mut data = ContextData::default();
        let merge = |patch| ContextOp::Merge { key: "m".into(), patch };
        data.apply(&[merge(json!({"a": 1, "b": {"c": 2, "d": 3}}))], 1024).unwrap();
        data.apply(&[merge(json!({"a": null, "b": {"c": 4}, "e": [1]}))], 1024).unwrap();
        assert_eq!(data.entries()["m"].value, json!({"b": {"c": 4, "d": 3}, "e": [1]}));
        data.apply(&[merge(json!("plain"))], 1024).unwrap();
        assert_eq!(data.entries()["m"].value, json!("plain"));
    }

    #[test]
    fn a_context_stays_within_its_bytes_and_can_always_shrink() {
        let mut data = ContextData::default();
        data.apply(&[set("k", json!("x".repeat(95)))], 100).unwrap();
        let e = data.apply(&[set("l", json!("y"))], 100).unwrap_err();
        assert!(matches!(e, ContextError::Full { limit: 100, .. }), "{e}");
        // Under a lowered limit, a change that shrinks it still applies.
        data.apply(&[set("k", json!("x"))], 10).unwrap();
        assert_eq!(data.bytes(), "k".len() + "\"x\"".len());
        data.apply(&[ContextOp::Delete { key: "k".into(), expect: Expect::Any }], 10).unwrap();
        assert_eq!(data.bytes(), 0);
    }

    #[tokio::test]
    async fn the_store_keeps_contexts_apart_expires_them_and_drops_the_least_used_past_its_total() {
        // Each of these contexts counts its overhead, ids and 13 to 23 bytes of entries.
        let one = CONTEXT_OVERHEAD + 3;
        let limits = ContextLimits {
            max_bytes: 1000,
            max_total_bytes: 3 * one + 45,
            ttl: Duration::from_millis(200),
            ..ContextLimits::default()
        };
        let store = MemoryContextStore::new(limits);
        store.apply(&key("a"), None, &[set("k", json!("1234567890"))]).await.unwrap();
        let other_owner = ContextKey { owner: "someone".into(), ..key("a") };
        assert!(store.entries(&other_owner).await.unwrap().is_empty(), "another caller's context is its own");
        store.apply(&key("b"), None, &[set("k", json!("1234567890"))]).await.unwrap();
        store.get(&key("a"), "k").await.unwrap().expect("a is there");
        // c takes the total over 45 bytes: b, used least recently, goes.
        store.apply(&key("c"), None, &[set("k", json!("12345678901234567890"))]).await.unwrap();
        assert!(store.get(&key("b"), "k").await.unwrap().is_none());
        assert!(store.get(&key("a"), "k").await.unwrap().is_some());
        assert!(store.usage().1 <= limits.max_total_bytes, "{:?}", store.usage());
        // A batch that fails, and one that leaves nothing, keep no context.
        let refused = [ContextOp::Delete { key: "k".into(), expect: Expect::Version(9) }];
        assert!(store.apply(&key("d"), None, &refused).await.is_err());
        store.apply(&key("e"), None, &[ContextOp::Delete { key: "k".into(), expect: Expect::Any }]).await.unwrap();
        assert_eq!(store.usage().0, 2, "only a and c");
        // A context made again gives no version it gave before.
        let first = store.apply(&key("f"), None, &[set("k", json!(1))]).await.unwrap()[0].unwrap();
        store.apply(&key("f"), None, &[ContextOp::Delete { key: "k".into(), expect: Expect::Any }]).await.unwrap();
        let again = store.apply(&key("f"), None, &[set("k", json!(1))]).await.unwrap()[0].unwrap();
        assert!(again > first, "{again} after {first}");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(store.entries(&key("a")).await.unwrap().is_empty(), "expired");
        assert_eq!(store.usage(), (0, 0));
    }

    fn owned(owner: &str, id: &str) -> ContextKey {
        ContextKey { owner: owner.into(), id: id.parse().unwrap() }
    }

    #[tokio::test]
    async fn one_callers_flood_of_contexts_drops_only_its_own() {
        let limits = ContextLimits { max_caller_contexts: 3, ..ContextLimits::default() };
        let store = MemoryContextStore::new(limits);
        for id in ["v1", "v2"] {
            store.apply(&owned("key:victim", id), Some("key:victim"), &[set("k", json!(id))]).await.unwrap();
        }
        for n in 0..100 {
            let id = format!("f{n}");
            store.apply(&owned("key:flood", &id), Some("key:flood"), &[set("k", json!(n))]).await.unwrap();
        }
        assert_eq!(store.usage_of(Some("key:flood")).0, 3, "the flood keeps its share");
        for n in 97..100 {
            assert!(store.get(&owned("key:flood", &format!("f{n}")), "k").await.unwrap().is_some(), "its newest stay");
        }
        for id in ["v1", "v2"] {
            assert!(store.get(&owned("key:victim", id), "k").await.unwrap().is_some(), "{id}: another's stay");
        }
        // Without authorization every caller is one owner, yet each address its own share.
        for n in 0..10 {
            let id = format!("a{n}");
            store.apply(&owned("", &id), Some("ip:192.0.2.1"), &[set("k", json!(n))]).await.unwrap();
        }
        store.apply(&owned("", "b"), Some("ip:192.0.2.2"), &[set("k", json!(1))]).await.unwrap();
        assert_eq!(store.usage_of(Some("ip:192.0.2.1")).0, 3);
        assert!(store.get(&owned("", "b"), "k").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn one_callers_bytes_are_bounded_and_past_the_total_the_biggest_holder_gives_way() {
        let big = json!("x".repeat(900));
        let each = CONTEXT_OVERHEAD + 1 + 902 + 3 * (3 + 2);
        let limits = ContextLimits {
            max_bytes: 1000,
            max_caller_bytes: 3 * each,
            max_total_bytes: 7 * each,
            ..ContextLimits::default()
        };
        let store = MemoryContextStore::new(limits);
        for n in 0..10 {
            store.apply(&owned("big", &format!("b{n}")), Some("big"), &[set("k", big.clone())]).await.unwrap();
        }
        assert_eq!(store.usage_of(Some("big")), (3, 3 * each), "its share, in bytes");
        for n in 0..3 {
            store.apply(&owned("mid", &format!("m{n}")), Some("mid"), &[set("k", big.clone())]).await.unwrap();
        }
        store.apply(&owned("one", "o1"), Some("one"), &[set("k", big.clone())]).await.unwrap();
        assert_eq!(store.usage().1, 7 * each);
        // An eighth context takes the total over; its caller holds no other, so one of
        // the callers holding the most gives up its oldest.
        store.apply(&owned("new", "n1"), Some("new"), &[set("k", big.clone())]).await.unwrap();
        assert!(store.usage().1 <= limits.max_total_bytes);
        assert_eq!(store.usage_of(Some("one")).0, 1, "a caller holding less than others keeps its context");
        assert_eq!(store.usage_of(Some("new")).0, 1);
        assert_eq!(store.usage_of(Some("big")).0 + store.usage_of(Some("mid")).0, 5);
        // The next from a caller that holds some: its own oldest goes.
        store.apply(&owned("mid", "m3"), Some("mid"), &[set("k", big.clone())]).await.unwrap();
        assert!(store.get(&owned("one", "o1"), "k").await.unwrap().is_some());
        assert!(store.usage().1 <= limits.max_total_bytes);
    }

    #[tokio::test]
    async fn concurrent_compare_and_sets_on_one_key_let_exactly_one_win_each_round() {
        let store = std::sync::Arc::new(MemoryContextStore::default());
        let k = key("counter");
        store.apply(&k, None, &[set("n", json!(0))]).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (store, k) = (store.clone(), k.clone());
            tasks.push(tokio::spawn(async move {
                let mut wins = 0;
                for _ in 0..50 {
                    loop {
                        let now = store.get(&k, "n").await.unwrap().unwrap();
                        let next = json!(now.value.as_i64().unwrap() + 1);
                        let op = ContextOp::Set { key: "n".into(), value: next, expect: Expect::Version(now.version) };
                        match store.apply(&k, None, &[op]).await {
                            Ok(_) => break,
                            Err(ContextError::Conflict { .. }) => tokio::task::yield_now().await,
                            Err(e) => panic!("{e}"),
                        }
                    }
                    wins += 1;
                }
                wins
            }));
        }
        let mut total = 0;
        for task in tasks {
            total += task.await.unwrap();
        }
        assert_eq!(total, 400);
        assert_eq!(store.get(&k, "n").await.unwrap().unwrap().value, json!(400), "no increment was lost");
    }
}
