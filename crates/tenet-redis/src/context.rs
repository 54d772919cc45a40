//! Conversations' contexts on Redis: the same on every replica and node that shares the
//! server.
//!
//! A context is a hash (`<prefix>ctx:<owner digest>:<id>`, each field a key, each value
//! `<version>:<JSON>`, and the field `""` the bytes it holds), expiring after the
//! context's time to live unused. A batch of changes is worked out here on the entries
//! it touches, as read, with the rules every store applies (`ContextData`:
//! compare-and-set, JSON Merge Patch, the size bound), then written by one Lua script
//! that checks nothing it read has changed meanwhile, checks the size, takes versions
//! from one store-wide counter and writes — all at once, or, when something changed
//! meanwhile, not at all (the batch is worked out again).
//!
//! The same script keeps Tenet's own bounds, so that nothing rests on Redis's eviction
//! policy: every context counts against the share of the caller that made it
//! (`<prefix>ctx-meta`: its footprint and share; `<prefix>ctxs:<share digest>`: that
//! caller's contexts by last write; `<prefix>ctx-holders`: the shares by bytes held;
//! `<prefix>ctx-bytes`: the total). Past a caller's share, its contexts written least
//! recently are deleted; past the total, those of the caller holding the most. Contexts
//! that expire are forgotten by later writes, a few at a time. (The script names keys it
//! is not given: one Redis server, not Redis Cluster.)

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::Value;
use tenet_protocol::context::{ContextEntry, ContextOp, Expect};
use tenet_server::store::{ContextData, ContextError, ContextKey, ContextLimits, ContextStore};

use crate::{Redis, StoreError};

/// How many times a batch is worked out again when its keys changed meanwhile.
const ATTEMPTS: usize = 32;

/// Conversations' contexts on Redis ([`ContextStore`]), with the in-memory store's
/// limits ([`ContextLimits`]: each context, each caller's, all together). Order among a
/// caller's contexts is by last write (reads keep a context alive, as in memory, but do
/// not move it in that order).
#[derive(Debug)]
pub struct RedisContextStore {
    redis: Redis,
    limits: ContextLimits,
    script: redis::Script,
    /// The keys the script keeps: the version counter, the footprints, the contexts by
    /// last write, the shares by bytes, the total, and the prefix of each share's set.
    counter: String,
    meta: String,
    all: String,
    holders: String,
    total: String,
    shares: String,
}

/// What one context takes in the store beyond its keys and values, as counted against
/// the bounds: its hash, its entries in the bookkeeping.
const CONTEXT_OVERHEAD: usize = 512;

impl RedisContextStore {
    /// The contexts on `redis`, each at most `limits.max_bytes` and gone `limits.ttl`
    /// after its last use.
    pub fn new(redis: Redis, limits: ContextLimits) -> Self {
        Self {
            counter: redis.key("ctx-version"),
            meta: redis.key("ctx-meta"),
            all: redis.key("ctx-all"),
            holders: redis.key("ctx-holders"),
            total: redis.key("ctx-bytes"),
            shares: redis.key("ctxs:"),
            script: redis::Script::new(include_str!("scripts/context_apply.lua")),
            redis,
            limits,
        }
    }

    /// The context's key.
    fn key_of(&self, key: &ContextKey) -> String {
        let owner = crate::digest(&key.owner);
        self.redis.key(&format!("ctx:{owner}:{}", key.id))
    }

    fn ttl_ms(&self) -> i64 {
        crate::millis(self.limits.ttl)
    }

    /// The entries of `names` (all of them when `None`), keeping the context alive.
    async fn read(
        &self,
        key: &ContextKey,
        names: Option<&[&str]>,
    ) -> Result<BTreeMap<String, ContextEntry>, ContextError> {
        let context = self.key_of(key);
        let ttl = self.ttl_ms();
        let stored: Vec<(String, String)> = match names {
            None => {
                let map: HashMap<String, String> = self
                    .redis
                    .run("context_read", async |c| {
                        let (map, _): (HashMap<String, String>, Value) =
                            redis::pipe().hgetall(&context).pexpire(&context, ttl).query_async(c).await?;
                        Ok(map)
                    })
                    .await
                    .map_err(unavailable)?;
                // The field "" is the context's byte count, not a key.
                map.into_iter().filter(|(name, _)| !name.is_empty()).collect()
            }
            Some([]) => Vec::new(),
            Some(names) => {
                let values: Vec<Option<String>> = self
                    .redis
                    .run("context_read", async |c| {
                        let (values, _): (Vec<Option<String>>, Value) =
                            redis::pipe().hmget(&context, names).pexpire(&context, ttl).query_async(c).await?;
                        Ok(values)
                    })
                    .await
                    .map_err(unavailable)?;
                names.iter().zip(values).filter_map(|(n, v)| Some(((*n).to_owned(), v?))).collect()
            }
        };
        stored.into_iter().map(|(name, value)| Ok((name, parse(&value)?))).collect()
    }

    /// [`ContextStore::apply`], without its deadline.
    async fn try_apply(
        &self,
        key: &ContextKey,
        share: Option<&str>,
        ops: &[ContextOp],
    ) -> Result<Vec<Option<u64>>, ContextError> {
        let share = share.map(crate::digest).unwrap_or_default();
        let mut touched: Vec<&str> = Vec::new();
        for op in ops {
            if !touched.contains(&op.key()) {
                touched.push(op.key());
            }
        }
        // A key whose changes do not depend on what is there (plain sets and removals)
        // is written whatever another writer did meanwhile.
        let depends = |name: &str| {
            ops.iter().filter(|op| op.key() == name).any(|op| match op {
                ContextOp::Merge { .. } => true,
                ContextOp::Set { expect, .. } | ContextOp::Delete { expect, .. } => *expect != Expect::Any,
            })
        };
        let context = self.key_of(key);
        for attempt in 0..ATTEMPTS {
            let read = self.read(key, Some(&touched)).await?;
            let mut data = ContextData::from_entries(read.clone());
            // The rules (compare-and-set, merge, the bound on what these keys hold)
            // apply to the entries as read; the script checks they are still so.
            data.apply(ops, self.limits.max_bytes)?;
            let mut invocation = self.script.key(&context);
            invocation.key(&self.counter).key(&self.meta).key(&self.all).key(&self.holders).key(&self.total);
            let limits = &self.limits;
            invocation.arg(limits.max_bytes).arg(self.ttl_ms()).arg(&share);
            invocation.arg(limits.max_caller_bytes).arg(limits.max_caller_contexts).arg(limits.max_total_bytes);
            invocation.arg(&self.shares).arg(CONTEXT_OVERHEAD);
            for name in &touched {
                let was = match read.get(*name) {
                    _ if !depends(name) => "*".to_owned(),
                    Some(entry) => entry.version.to_string(),
                    None => String::new(),
                };
                let now = data.entries().get(*name).map_or_else(String::new, |e| e.value.to_string());
                invocation.arg(*name).arg(was).arg(now);
            }
            let reply: Vec<Value> = self
                .redis
                .run("context_apply", async |c| invocation.invoke_async(c).await)
                .await
                .map_err(unavailable)?;
            match written(reply)? {
                Written::Ok(versions) => {
                    let at: HashMap<&str, u64> = touched.iter().copied().zip(versions).collect();
                    return Ok(ops.iter().map(|op| at.get(op.key()).copied().filter(|v| *v > 0)).collect());
                }
                Written::Full { needed, limit } => return Err(ContextError::Full { needed, limit }),
                Written::Changed => {
                    // Another writer got there first: read again, after a moment that
                    // grows with each attempt.
                    let wait = Duration::from_micros(50 * (1 << attempt.min(8)));
                    tokio::time::sleep(wait).await;
                }
            }
        }
        Err(ContextError::Unavailable(format!(
            "the context kept changing under other writers ({ATTEMPTS} attempts); try again"
        )))
    }
}

/// A stored entry, `<version>:<JSON>`.
fn parse(stored: &str) -> Result<ContextEntry, ContextError> {
    let corrupt =
        || ContextError::Unavailable(format!("a context entry in the store is not <version>:<JSON>: {stored:.40}"));
    let (version, json) = stored.split_once(':').ok_or_else(corrupt)?;
    let version = version.parse().map_err(|_| corrupt())?;
    let value = serde_json::from_str(json).map_err(|_| corrupt())?;
    Ok(ContextEntry { value, version })
}

fn unavailable(e: StoreError) -> ContextError {
    ContextError::Unavailable(match e {
        StoreError::Unavailable(message) => message,
        other => other.to_string(),
    })
}

/// What the script said.
enum Written {
    /// Done: the version each key was left at (0: removed), in the order given.
    Ok(Vec<u64>),
    /// A key changed since it was read.
    Changed,
    /// The context would hold `needed` bytes, over `limit`.
    Full { needed: usize, limit: usize },
}

fn written(reply: Vec<Value>) -> Result<Written, ContextError> {
    let odd = || ContextError::Unavailable("the store answered the context script oddly".into());
    let mut reply = reply.into_iter();
    let status: String = reply.next().and_then(|v| redis::from_redis_value(v).ok()).ok_or_else(odd)?;
    let numbers = |reply: std::vec::IntoIter<Value>| -> Result<Vec<u64>, ContextError> {
        reply.map(|v| redis::from_redis_value::<u64>(v).map_err(|_| odd())).collect()
    };
    match status.as_str() {
        "ok" => Ok(Written::Ok(numbers(reply)?)),
        "changed" => Ok(Written::Changed),
        "full" => match numbers(reply)?.as_slice() {
            [needed, limit] => Ok(Written::Full {
                needed: usize::try_from(*needed).unwrap_or(usize::MAX),
                limit: usize::try_from(*limit).unwrap_or(usize::MAX),
            }),
            _ => Err(odd()),
        },
        _ => Err(odd()),
    }
}

impl ContextStore for RedisContextStore {
    fn entries(&self, key: &ContextKey) -> BoxFuture<'_, Result<BTreeMap<String, ContextEntry>, ContextError>> {
        let key = key.clone();
        Box::pin(async move { self.read(&key, None).await })
    }

    fn get<'a>(
        &'a self,
        key: &'a ContextKey,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ContextEntry>, ContextError>> {
        Box::pin(async move { Ok(self.read(key, Some(&[name])).await?.remove(name)) })
    }

    fn apply<'a>(
        &'a self,
        key: &'a ContextKey,
        share: Option<&'a str>,
        ops: &'a [ContextOp],
    ) -> BoxFuture<'a, Result<Vec<Option<u64>>, ContextError>> {
        Box::pin(async move {
            // One deadline for the whole batch, its retries included. (A write whose
            // answer came too late may have been made.)
            let timeout = self.redis.timeout();
            match tokio::time::timeout(timeout, self.try_apply(key, share, ops)).await {
                Ok(applied) => applied,
                Err(_) => Err(ContextError::Unavailable(format!(
                    "no answer within {} ms (the change may have been made)",
                    timeout.as_millis()
                ))),
            }
        })
    }

    fn max_bytes(&self) -> usize {
        self.limits.max_bytes
    }
}
