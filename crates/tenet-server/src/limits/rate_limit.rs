//! Token-bucket rate limits per client, per method or tool.
//!
//! Each client (a token's subject, an API key's name, an address) gets its own bucket
//! for each limited method or tool, so one client's burst never spends another's
//! budget. Transports turn a refusal into their own answer: HTTP 429 with
//! `Retry-After`, or the JSON-RPC error [`RATE_LIMITED`] with the delay in `data`.
//!
//! The buckets live in this process, or, for replicas behind one load balancer, in a
//! [`RateStore`] they share (`tenet-redis` has one), so that a client gets its rate in
//! total rather than per replica.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use serde_json::json;
use tenet_jsonrpc::{ErrorCode, ErrorObject};

use crate::store::Unavailable;

/// Where token buckets are kept when several replicas share them: one bucket per
/// client and limit, refilled at the limit's rate up to its burst.
pub trait RateStore: Send + Sync + std::fmt::Debug + 'static {
    /// Takes a token from the bucket of `client` for the limit named `limit` (`*` for
    /// the default rate, else the method or `tools/call:<tool>` it covers), which
    /// refills at `rate`: `Ok(())`, or how long until the next token.
    fn take<'a>(
        &'a self,
        client: &'a str,
        limit: &'a str,
        rate: Rate,
    ) -> BoxFuture<'a, Result<Result<(), Duration>, Unavailable>>;
}

/// The JSON-RPC error code for a request over its rate limit; `data` is
/// `{"retryAfterMs": <milliseconds>}`.
pub const RATE_LIMITED: ErrorCode = ErrorCode(-32004);

/// Clients tracked at most; past it, buckets that are full again are forgotten.
const MAX_CLIENTS: usize = 100_000;

/// A sustained rate and the burst allowed on top.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests allowed at once after a quiet spell (the bucket's size, at least 1).
    pub burst: u32,
}

/// Which rate applies to what.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RateLimits {
    /// The rate of every request not covered below; `None` leaves them unlimited.
    pub default: Option<Rate>,
    /// Rates for one method (`tools/list`) or one tool (`tools/call:get_stdlib`).
    pub overrides: Vec<(String, Rate)>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// One client's buckets, by limit index.
type Buckets = Vec<(usize, Bucket)>;

/// Token buckets for every client and limited method or tool.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    /// Per client, its buckets by limit index (0: the default rate, i + 1: override i).
    clients: Mutex<HashMap<Box<str>, Buckets>>,
    /// The buckets replicas share, when they do.
    shared: Option<Arc<dyn RateStore>>,
    /// Until when the shared store is left alone after it failed (each replica limits
    /// on its own meanwhile, rather than every request waiting for it to time out).
    resting: Mutex<Option<Instant>>,
}

/// How long the shared store is left alone after it failed.
const REST: Duration = Duration::from_secs(1);

impl RateLimiter {
    /// A limiter enforcing `limits`.
    pub fn new(limits: RateLimits) -> Self {
        Self { limits, clients: Mutex::new(HashMap::new()), shared: None, resting: Mutex::new(None) }
    }

    /// This limiter with its buckets in `store`, shared with other replicas, for
    /// [`RateLimiter::take`]; while the store does not answer, each replica limits on
    /// its own.
    #[must_use]
    pub fn shared(mut self, store: Arc<dyn RateStore>) -> Self {
        self.shared = Some(store);
        self
    }

    /// Takes one token from `client`'s bucket for `method`/`tool`, in the shared store
    /// when there is one (a client gets its rate across every replica), else here.
    ///
    /// # Errors
    /// How long to wait before the next request would be let through.
    pub async fn take(&self, client: &str, method: &str, tool: Option<&str>) -> Result<(), Duration> {
        let Some(store) = &self.shared else { return self.check(client, method, tool) };
        let Some((index, rate)) = self.rate_for(method, tool) else { return Ok(()) };
        let resting =
            |now| self.resting.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_some_and(|t| now < t);
        if resting(Instant::now()) {
            return self.check(client, method, tool);
        }
        let limit = match index {
            0 => "*",
            i => self.limits.overrides[i - 1].0.as_str(),
        };
        match store.take(client, limit, rate).await {
            Ok(taken) => {
                *self.resting.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
                taken
            }
            Err(e) => {
                tracing::warn!("rate limits are per replica for {} s: {e}", REST.as_secs());
                *self.resting.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now() + REST);
                self.check(client, method, tool)
            }
        }
    }

    /// The limits.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// Which rate applies to `method` (and `tool`, for `tools/call`), with its index.
    fn rate_for(&self, method: &str, tool: Option<&str>) -> Option<(usize, Rate)> {
        let names_tool =
            |k: &str| tool.is_some_and(|t| k.strip_prefix(method).and_then(|rest| rest.strip_prefix(':')) == Some(t));
        let overrides = &self.limits.overrides;
        let found = overrides
            .iter()
            .position(|(k, _)| names_tool(k))
            .or_else(|| overrides.iter().position(|(k, _)| k == method));
        match found {
            Some(i) => Some((i + 1, self.limits.overrides[i].1)),
            None => self.limits.default.map(|rate| (0, rate)),
        }
    }

    /// Takes one token from `client`'s bucket for `method`/`tool`.
    ///
    /// # Errors
    /// How long to wait before the next request would be let through.
    pub fn check(&self, client: &str, method: &str, tool: Option<&str>) -> Result<(), Duration> {
        self.check_at(client, method, tool, Instant::now())
    }

    fn check_at(&self, client: &str, method: &str, tool: Option<&str>, now: Instant) -> Result<(), Duration> {
        let Some((index, rate)) = self.rate_for(method, tool) else { return Ok(()) };
        let burst = f64::from(rate.burst.max(1));
        let per_second = rate.per_second.max(f64::MIN_POSITIVE);
        let mut clients = self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(buckets) = clients.get_mut(client) {
            return take(buckets, index, burst, per_second, now);
        }
        if clients.len() >= MAX_CLIENTS {
            clients.retain(|_, buckets| {
                buckets.retain(|(_, b)| b.tokens + now.duration_since(b.updated).as_secs_f64() * per_second < burst);
                !buckets.is_empty()
            });
        }
        take(clients.entry(client.into()).or_default(), index, burst, per_second, now)
    }
}

/// Refills bucket `index` of one client for the time passed and takes a token from it.
fn take(buckets: &mut Buckets, index: usize, burst: f64, per_second: f64, now: Instant) -> Result<(), Duration> {
    let at = match buckets.iter().position(|(i, _)| *i == index) {
        Some(at) => at,
        None => {
            buckets.push((index, Bucket { tokens: burst, updated: now }));
            buckets.len() - 1
        }
    };
    let bucket = &mut buckets[at].1;
    let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
    bucket.updated = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        Ok(())
    } else {
        Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
    }
}

/// The JSON-RPC error for a request refused for `retry_after`.
pub fn rate_limited(retry_after: Duration) -> ErrorObject {
    let ms = crate::millis(retry_after).max(1);
    ErrorObject::new(RATE_LIMITED, format!("Rate limited: retry in {ms} ms")).with_data(json!({ "retryAfterMs": ms }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> RateLimiter {
        RateLimiter::new(RateLimits {
            default: Some(Rate { per_second: 10.0, burst: 2 }),
            overrides: vec![
                ("tools/call:slow".into(), Rate { per_second: 1.0, burst: 1 }),
                ("tools/list".into(), Rate { per_second: 1000.0, burst: 1000 }),
            ],
        })
    }

    #[test]
    fn a_bucket_refills_at_its_rate_and_says_when_to_retry() {
        let l = limiter();
        let t0 = Instant::now();
        assert!(l.check_at("a", "ping", None, t0).is_ok());
        assert!(l.check_at("a", "ping", None, t0).is_ok());
        let wait = l.check_at("a", "ping", None, t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
        assert!(l.check_at("a", "ping", None, t0 + Duration::from_millis(100)).is_ok());
    }

    #[test]
    fn clients_and_limited_tools_have_their_own_buckets() {
        let l = limiter();
        let t0 = Instant::now();
        assert!(l.check_at("a", "tools/call", Some("slow"), t0).is_ok());
        assert_eq!(l.check_at("a", "tools/call", Some("slow"), t0), Err(Duration::from_secs(1)));
        assert!(l.check_at("b", "tools/call", Some("slow"), t0).is_ok(), "another client");
        assert!(l.check_at("a", "tools/call", Some("fast"), t0).is_ok(), "another tool: the default rate");
        for _ in 0..1000 {
            assert!(l.check_at("a", "tools/list", None, t0).is_ok());
        }
        let error = rate_limited(Duration::from_millis(250));
        assert_eq!(error.code, RATE_LIMITED);
        assert_eq!(error.data.unwrap()["retryAfterMs"], 250);
    }

    #[test]
    fn without_limits_nothing_is_refused() {
        let l = RateLimiter::new(RateLimits::default());
        assert!((0..10_000).all(|_| l.check("a", "tools/call", Some("x")).is_ok()));
    }
}
