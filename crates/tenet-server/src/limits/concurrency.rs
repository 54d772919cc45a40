//! A cap on how many calls of one tool run at once, across every connection,
//! session and transport of a server (tasks included).
//!
//! When the cap is reached a call **waits** for a turn, in arrival order, for at most
//! half of the tool's timeout; the run gets what is left (so at least the other half),
//! and the whole call still ends within the timeout. If no turn comes in time the
//! call is **refused** with -32004 ([`crate::RATE_LIMITED`]; HTTP 429 with
//! `Retry-After`), `data.retryAfterMs` being the tool's mean run time. The tool never
//! ran, so the client may safely retry. A cancelled request stops waiting at once.
//!
//! Why wait rather than refuse at once: agents fire calls in bursts, and a turn is
//! usually a few milliseconds away; refusing would turn every burst into errors and
//! retries. Why only half the timeout: a call that waited its whole budget would start
//! with no time left, occupy a turn and then be cut off — work wasted while others
//! queue. Waiting for ever is out too: a stuck backend would pile requests up without
//! bound.
//!
//! A turn is held by a guard: it is given back however the call ends — result,
//! error, panic, timeout, or cancellation (the future dropped).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// The retry delay suggested before any call has finished.
const FIRST_GUESS: Duration = Duration::from_secs(1);

/// One tool's cap.
#[derive(Debug)]
pub(crate) struct ConcurrencyLimit {
    permits: Arc<Semaphore>,
    max: usize,
    /// Mean run time in milliseconds (exponentially weighted); 0 before any call ends.
    mean_ms: AtomicU64,
    /// Calls waiting for a turn now.
    waiting: AtomicUsize,
}

/// Counts one waiting call for as long as it lives (however the wait ends).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn start(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why no permit was given.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// None came within the budget; retry after this long.
    Busy(Duration),
    /// The request was cancelled while waiting.
    Cancelled,
}

/// Leave to run one call; dropping it frees the slot and records the run time.
#[derive(Debug)]
pub(crate) struct Permit {
    _permit: OwnedSemaphorePermit,
    limit: Arc<ConcurrencyLimit>,
    started: Instant,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let sample = crate::clock::millis(self.started.elapsed()).max(1);
        let _ = self.limit.mean_ms.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |mean| {
            Some(if mean == 0 { sample } else { mean - mean / 8 + sample / 8 })
        });
    }
}

impl ConcurrencyLimit {
    /// At most `max` calls at once (at least 1).
    pub fn new(max: usize) -> Arc<Self> {
        let max = max.clamp(1, Semaphore::MAX_PERMITS);
        Arc::new(Self {
            permits: Arc::new(Semaphore::new(max)),
            max,
            mean_ms: AtomicU64::new(0),
            waiting: AtomicUsize::new(0),
        })
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Calls running now.
    pub fn running(&self) -> usize {
        self.max - self.permits.available_permits()
    }

    /// Calls waiting for a turn now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Waits up to `within` for a permit, giving up if `cancel` fires.
    pub async fn acquire(self: &Arc<Self>, within: Duration, cancel: &CancellationToken) -> Result<Permit, Refused> {
        // A free turn is taken at once, without counting as a wait.
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(self.turn(permit));
        }
        let _waiting = Waiting::start(&self.waiting);
        let wait = self.permits.clone().acquire_owned();
        let permit = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Refused::Cancelled),
            got = tokio::time::timeout(within, wait) => match got {
                Ok(Ok(permit)) => permit,
                // The semaphore is never closed; treat it like a full one.
                Ok(Err(_)) | Err(_) => return Err(Refused::Busy(self.retry_after())),
            },
        };
        Ok(self.turn(permit))
    }

    /// A turn starting now with `permit`.
    fn turn(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> Permit {
        Permit { _permit: permit, limit: self.clone(), started: Instant::now() }
    }

    /// When a permit is likely to be free: the mean run time.
    fn retry_after(&self) -> Duration {
        match self.mean_ms.load(Ordering::Relaxed) {
            0 => FIRST_GUESS,
            ms => Duration::from_millis(ms),
        }
    }
}

/// One gauge family of [`ConcurrencyCollector`]: name, help, and how to read it.
type Gauge = (&'static str, &'static str, fn(&ConcurrencyLimit) -> usize);

/// `tenet_tool_calls_running`, `tenet_tool_calls_waiting` and
/// `tenet_tool_concurrency_limit`, by `tool`, for every tool with a cap: read from the
/// live limits at each scrape, so counting costs the calls nothing. `capped` lists the
/// tools that have a cap, with their limits (empty once the server is gone).
pub(crate) struct ConcurrencyCollector(pub Box<dyn Fn() -> Vec<(String, Arc<ConcurrencyLimit>)> + Send + Sync>);

impl std::fmt::Debug for ConcurrencyCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConcurrencyCollector")
    }
}

impl Collector for ConcurrencyCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let capped = (self.0)();
        if capped.is_empty() {
            return Ok(());
        }
        let gauges: [Gauge; 3] = [
            ("tenet_tool_calls_running", "Calls of a capped tool running now", ConcurrencyLimit::running),
            ("tenet_tool_calls_waiting", "Calls of a capped tool waiting for a turn", ConcurrencyLimit::waiting),
            ("tenet_tool_concurrency_limit", "How many calls of a tool may run at once", ConcurrencyLimit::max),
        ];
        for (name, help, read) in gauges {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (tool, limit) in &capped {
                let gauge = ConstGauge::new(i64::try_from(read(limit)).unwrap_or(i64::MAX));
                gauge.encode(family.encode_family(&[("tool", tool.as_str())])?)?;
            }
        }
        Ok(())
    }
}

/// The -32004 refusal of a call to `tool` that found no free turn: the rate-limited
/// error (so HTTP answers 429 with `Retry-After`), naming the cap.
pub(crate) fn busy(tool: &str, max: usize, retry_after: Duration) -> tenet_jsonrpc::ErrorObject {
    let mut error = crate::limits::rate_limited(retry_after);
    error.message = format!("Tool {tool} is busy ({max} calls running): {}", error.message).into();
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn a_full_limit_makes_the_next_call_wait_then_refuses_it_in_time() {
        let limit = ConcurrencyLimit::new(2);
        let never = CancellationToken::new();
        let a = limit.acquire(LONG, &never).await.unwrap();
        let _b = limit.acquire(LONG, &never).await.unwrap();
        assert_eq!(limit.running(), 2);
        let started = Instant::now();
        let refused = limit.acquire(Duration::from_millis(50), &never).await.unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(refused, Refused::Busy(FIRST_GUESS));
        assert_eq!(limit.waiting(), 0, "a refused call no longer waits");
        // A waiter gets the permit as soon as one is given back.
        let waiter = tokio::spawn({
            let limit = limit.clone();
            async move { limit.acquire(LONG, &CancellationToken::new()).await.map(drop) }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(limit.waiting(), 1);
        drop(a);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(limit.waiting(), 0);
        assert_ne!(limit.retry_after(), FIRST_GUESS, "the run time of the finished calls is the new guess");
    }

    #[tokio::test]
    async fn cancelling_stops_the_wait() {
        let limit = ConcurrencyLimit::new(1);
        let _held = limit.acquire(LONG, &CancellationToken::new()).await.unwrap();
        let cancel = CancellationToken::new();
        cancel.cancel();
        assert_eq!(limit.acquire(LONG, &cancel).await.unwrap_err(), Refused::Cancelled);
        assert_eq!(limit.running(), 1);
    }

    #[tokio::test]
    async fn a_permit_is_given_back_when_its_holder_panics_or_is_dropped() {
        let limit = ConcurrencyLimit::new(1);
        let holder = limit.clone();
        let panicked = tokio::spawn(async move {
            let _permit = holder.acquire(LONG, &CancellationToken::new()).await;
            panic!("the handler failed");
        });
        assert!(panicked.await.is_err());
        assert_eq!(limit.running(), 0);
        let holder = limit.clone();
        let stuck = tokio::spawn(async move {
            let _permit = holder.acquire(LONG, &CancellationToken::new()).await;
            std::future::pending::<()>().await;
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(limit.running(), 1);
        stuck.abort();
        assert!(stuck.await.is_err());
        assert_eq!(limit.running(), 0);
        assert_eq!(ConcurrencyLimit::new(0).max(), 1);
    }
}
