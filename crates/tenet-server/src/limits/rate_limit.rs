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
use tenet_jsonrpc::ErrorObject;

use crate::error::RATE_LIMITED;
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

/// Clients tracked at most; past it, buckets that are full again are forgotten.
const MAX_CLIENTS: usize = 100_000;

/// Buckets for tools' own rates one client keeps at most: past it, those full again are
/// forgotten, and failing that the call of yet another tool waits until one is (were the
/// least recently used forgotten instead, a client calling more tools than this in turn
/// would find each bucket full again).
const MAX_TOOL_BUCKETS: usize = 64;

/// The slowest rate a bucket refills at (one request in about 11.6 days): a slower one,
/// or zero, is taken as this, so that a wait can always be said.
const MIN_PER_SECOND: f64 = 1e-6;

/// A sustained rate and the burst allowed on top.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests allowed at once after a quiet spell (the bucket's size, at least 1).
    pub burst: u32,
}

impl Rate {
    /// The sustained rate a client may be given, in requests per second: above zero, at
    /// most a billion.
    ///
    /// # Errors
    /// Says what is wrong with `s`.
    pub fn parse_per_second(s: &str) -> Result<f64, String> {
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && (MIN_PER_SECOND..=1e9).contains(&v) => Ok(v),
            _ => Err(format!("{s:?} is not a number of requests per second from 0.000001 to 1000000000")),
        }
    }
}

/// `PER_SECOND[/BURST]`, as the command line and configuration files write a rate: `5`
/// (five a second, one at a time), `0.1/2` (one every ten seconds, two at once).
///
/// ```
/// use tenet_server::Rate;
///
/// assert_eq!("0.1/2".parse::<Rate>(), Ok(Rate { per_second: 0.1, burst: 2 }));
/// assert_eq!("5".parse::<Rate>(), Ok(Rate { per_second: 5.0, burst: 1 }));
/// assert!("0/2".parse::<Rate>().is_err());
/// ```
impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (rate, burst) = match s.split_once('/') {
            Some((rate, burst)) => (rate, burst.parse::<u32>().map_err(|_| format!("{s:?}: bad burst {burst:?}"))?),
            None => (s, 1),
        };
        Ok(Rate { per_second: Rate::parse_per_second(rate)?, burst: burst.max(1) })
    }
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
    /// When it is full again if nothing is taken: past it, forgetting it changes nothing.
    full_at: Instant,
}

/// Which limit a bucket counts for.
#[derive(Debug)]
enum Slot {
    /// The limits' own: 0 the default rate, i + 1 override i.
    Index(usize),
    /// The rate a tool's definition carries ([`crate::ToolDef::rate_limit`]), by the tool's
    /// name.
    Tool(Box<str>),
}

/// The limit that applies to one request, as [`RateLimiter`] looks its bucket up.
#[derive(Clone, Copy)]
enum Which<'a> {
    Index(usize),
    Tool(&'a str),
}

impl Slot {
    fn is(&self, which: Which<'_>) -> bool {
        match (self, which) {
            (Slot::Index(a), Which::Index(b)) => *a == b,
            (Slot::Tool(a), Which::Tool(b)) => **a == *b,
            _ => false,
        }
    }
}

/// One client's buckets.
type Buckets = Vec<(Slot, Bucket)>;

/// Token buckets for every client and limited method or tool.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    /// Per client, its buckets by limit.
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
        self.take_with(client, method, tool, None).await
    }

    /// As [`RateLimiter::take`], for a call of a tool whose definition carries its own
    /// rate (`own`, [`crate::ToolDef::rate_limit`]). The most specific rate applies: an
    /// override for the tool in these limits (the operator's word), then the tool's own,
    /// then an override for the method, then the default.
    ///
    /// # Errors
    /// How long to wait before the next request would be let through.
    pub async fn take_with(
        &self,
        client: &str,
        method: &str,
        tool: Option<&str>,
        own: Option<Rate>,
    ) -> Result<(), Duration> {
        let Some(store) = &self.shared else { return self.check_at(client, method, tool, own, Instant::now()) };
        let Some((which, rate)) = self.rate_for(method, tool, own) else { return Ok(()) };
        let resting =
            |now| self.resting.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_some_and(|t| now < t);
        if resting(Instant::now()) {
            return self.check_at(client, method, tool, own, Instant::now());
        }
        let named;
        let limit = match which {
            Which::Index(0) => "*",
            Which::Index(i) => self.limits.overrides[i - 1].0.as_str(),
            Which::Tool(tool) => {
                named = format!("{method}:{tool}");
                named.as_str()
            }
        };
        match store.take(client, limit, rate).await {
            Ok(taken) => {
                *self.resting.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
                taken
            }
            Err(e) => {
                tracing::warn!("rate limits are per replica for {} s: {e}", REST.as_secs());
                *self.resting.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now() + REST);
                self.check_at(client, method, tool, own, Instant::now())
            }
        }
    }

    /// The limits.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// Which rate applies to `method` (and `tool`, for `tools/call`, with the tool's
    /// `own` rate), and which bucket counts it.
    fn rate_for<'a>(&self, method: &str, tool: Option<&'a str>, own: Option<Rate>) -> Option<(Which<'a>, Rate)> {
        let names_tool =
            |k: &str| tool.is_some_and(|t| k.strip_prefix(method).and_then(|rest| rest.strip_prefix(':')) == Some(t));
        let overrides = &self.limits.overrides;
        let configured = |i: usize| Some((Which::Index(i + 1), overrides[i].1));
        if let Some(i) = overrides.iter().position(|(k, _)| names_tool(k)) {
            return configured(i);
        }
        if let (Some(tool), Some(rate)) = (tool, own) {
            return Some((Which::Tool(tool), rate));
        }
        match overrides.iter().position(|(k, _)| k == method) {
            Some(i) => configured(i),
            None => self.limits.default.map(|rate| (Which::Index(0), rate)),
        }
    }

    /// Takes one token from `client`'s bucket for `method`/`tool`.
    ///
    /// # Errors
    /// How long to wait before the next request would be let through.
    pub fn check(&self, client: &str, method: &str, tool: Option<&str>) -> Result<(), Duration> {
        self.check_at(client, method, tool, None, Instant::now())
    }

    fn check_at(
        &self,
        client: &str,
        method: &str,
        tool: Option<&str>,
        own: Option<Rate>,
        now: Instant,
    ) -> Result<(), Duration> {
        let Some((which, rate)) = self.rate_for(method, tool, own) else { return Ok(()) };
        let burst = f64::from(rate.burst.max(1));
        // NaN too: `max` takes the number.
        let per_second = rate.per_second.max(MIN_PER_SECOND);
        let mut clients = self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(buckets) = clients.get_mut(client) {
            return take(buckets, which, burst, per_second, now);
        }
        if clients.len() >= MAX_CLIENTS {
            clients.retain(|_, buckets| {
                buckets.retain(|(_, b)| b.full_at > now);
                !buckets.is_empty()
            });
        }
        take(clients.entry(client.into()).or_default(), which, burst, per_second, now)
    }
}

/// Refills one client's bucket for `which` for the time passed and takes a token from it.
fn take(buckets: &mut Buckets, which: Which<'_>, burst: f64, per_second: f64, now: Instant) -> Result<(), Duration> {
    let at = match buckets.iter().position(|(slot, _)| slot.is(which)) {
        Some(at) => at,
        None => {
            let slot = match which {
                Which::Index(i) => Slot::Index(i),
                Which::Tool(tool) => {
                    make_room_for_a_tool(buckets, now)?;
                    Slot::Tool(tool.into())
                }
            };
            buckets.push((slot, Bucket { tokens: burst, updated: now, full_at: now }));
            buckets.len() - 1
        }
    };
    let bucket = &mut buckets[at].1;
    let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
    bucket.updated = now;
    let taken = if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        Ok(())
    } else {
        Err(seconds((1.0 - bucket.tokens) / per_second))
    };
    // Rates are at least MIN_PER_SECOND, so this is never past what an Instant holds.
    bucket.full_at = now.checked_add(seconds((burst - bucket.tokens) / per_second)).unwrap_or(now);
    taken
}

/// `s` seconds, or as many as a [`Duration`] holds.
fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX)
}

/// Keeps one client's buckets for tools' own rates under [`MAX_TOOL_BUCKETS`] before
/// another is added: those full again go (forgetting them changes nothing); if none is,
/// how long until the first will be.
fn make_room_for_a_tool(buckets: &mut Buckets, now: Instant) -> Result<(), Duration> {
    let tools = |buckets: &Buckets| buckets.iter().filter(|(slot, _)| matches!(slot, Slot::Tool(_))).count();
    if tools(buckets) < MAX_TOOL_BUCKETS {
        return Ok(());
    }
    buckets.retain(|(slot, b)| matches!(slot, Slot::Index(_)) || b.full_at > now);
    if tools(buckets) < MAX_TOOL_BUCKETS {
        return Ok(());
    }
    let first = buckets.iter().filter(|(slot, _)| matches!(slot, Slot::Tool(_))).map(|(_, b)| b.full_at).min();
    Err(first.map_or(Duration::ZERO, |at| at.saturating_duration_since(now)).max(Duration::from_millis(1)))
}

/// The JSON-RPC error for a request refused for `retry_after`.
pub fn rate_limited(retry_after: Duration) -> ErrorObject {
    let ms = crate::clock::millis(retry_after).max(1);
    ErrorObject::new(RATE_LIMITED, format!("Rate limited: retry in {ms} ms")).with_data(json!({ "retryAfterMs": ms }))
}

/// [`rate_limited`], its message led by `why`: the refusal of a request that found a
/// share full (a tool's turns, a session's requests in flight).
pub(crate) fn refused(why: &str, retry_after: Duration) -> ErrorObject {
    let mut error = rate_limited(retry_after);
    error.message = format!("{why}: {}", error.message).into();
    error
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
        assert!(l.check_at("a", "ping", None, None, t0).is_ok());
        assert!(l.check_at("a", "ping", None, None, t0).is_ok());
        let wait = l.check_at("a", "ping", None, None, t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
        assert!(l.check_at("a", "ping", None, None, t0 + Duration::from_millis(100)).is_ok());
    }

    #[test]
    fn clients_and_limited_tools_have_their_own_buckets() {
        let l = limiter();
        let t0 = Instant::now();
        assert!(l.check_at("a", "tools/call", Some("slow"), None, t0).is_ok());
        assert_eq!(l.check_at("a", "tools/call", Some("slow"), None, t0), Err(Duration::from_secs(1)));
        assert!(l.check_at("b", "tools/call", Some("slow"), None, t0).is_ok(), "another client");
        assert!(l.check_at("a", "tools/call", Some("fast"), None, t0).is_ok(), "another tool: the default rate");
        for _ in 0..1000 {
            assert!(l.check_at("a", "tools/list", None, None, t0).is_ok());
        }
        let error = rate_limited(Duration::from_millis(250));
        assert_eq!(error.code, RATE_LIMITED);
        assert_eq!(error.data.unwrap()["retryAfterMs"], 250);
    }

    #[test]
    fn a_tools_own_rate_applies_unless_the_limits_name_the_tool() {
        let l = limiter();
        let t0 = Instant::now();
        let own = Some(Rate { per_second: 0.5, burst: 3 });
        for _ in 0..3 {
            assert!(l.check_at("a", "tools/call", Some("fast"), own, t0).is_ok(), "its own burst, not the default's");
        }
        assert_eq!(l.check_at("a", "tools/call", Some("fast"), own, t0), Err(Duration::from_secs(2)));
        assert!(l.check_at("a", "tools/call", Some("quick"), own, t0).is_ok(), "each tool its own bucket");
        assert!(l.check_at("a", "ping", None, None, t0).is_ok(), "the default's bucket untouched");
        assert!(l.check_at("a", "tools/call", Some("slow"), own, t0).is_ok());
        assert_eq!(
            l.check_at("a", "tools/call", Some("slow"), own, t0),
            Err(Duration::from_secs(1)),
            "the limits name the tool: their rate wins"
        );
        let bare = RateLimiter::new(RateLimits::default());
        let one = Some(Rate { per_second: 1.0, burst: 1 });
        assert!(bare.check_at("a", "tools/call", Some("t"), one, t0).is_ok());
        assert!(bare.check_at("a", "tools/call", Some("t"), one, t0).is_err(), "no limits, yet the tool's own");
        assert!(bare.check_at("b", "tools/call", Some("t"), one, t0).is_ok(), "another client");
    }

    #[test]
    fn a_zero_or_tiny_rate_refuses_with_a_wait_and_never_panics() {
        let bare = RateLimiter::new(RateLimits::default());
        let t0 = Instant::now();
        for per_second in [0.0, 1e-300, -1.0, f64::NAN] {
            let own = Some(Rate { per_second, burst: 1 });
            assert!(bare.check_at("a", "tools/call", Some("t"), own, t0).is_ok());
            let wait = bare.check_at("a", "tools/call", Some("t"), own, t0).unwrap_err();
            assert!(wait >= Duration::from_secs(999_999), "{per_second}: {wait:?}");
            bare.clients.lock().unwrap().clear();
        }
        assert!("1e-300".parse::<Rate>().is_err() && "0".parse::<Rate>().is_err() && "NaN".parse::<Rate>().is_err());
    }

    #[test]
    fn one_client_keeps_a_bounded_number_of_tool_buckets() {
        let bare = RateLimiter::new(RateLimits::default());
        let t0 = Instant::now();
        let slow = Some(Rate { per_second: 0.001, burst: 1 });
        let served =
            (0..1_000).filter(|i| bare.check_at("a", "tools/call", Some(&format!("t{i}")), slow, t0).is_ok()).count();
        assert_eq!(served, MAX_TOOL_BUCKETS, "past that many tools in deficit, a client waits");
        let held =
            (0..1_000).filter(|i| bare.check_at("a", "tools/call", Some(&format!("t{i}")), slow, t0).is_err()).count();
        assert_eq!(held, 1_000, "no bucket forgotten while it is not full: every tool is still held");
        assert_eq!(bare.clients.lock().unwrap()["a"].len(), MAX_TOOL_BUCKETS);
        let t1 = t0 + Duration::from_secs(1_000);
        assert!(bare.check_at("a", "tools/call", Some("t999"), slow, t1).is_ok(), "full again: room for another");
    }

    #[test]
    fn without_limits_nothing_is_refused() {
        let l = RateLimiter::new(RateLimits::default());
        assert!((0..10_000).all(|_| l.check("a", "tools/call", Some("x")).is_ok()));
    }
}
