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
//!
//! Callers waiting for turns take them **in turn**: a turn that comes free goes to the
//! next caller in a ring of those waiting, each caller's own calls in their order, so
//! one caller's burst of calls delays another caller's call by at most one turn per
//! caller ahead of it, however many calls the burst queued. A free turn is taken by
//! whoever asks (nobody is kept waiting while a turn is free), so a server with one
//! caller uses every turn.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// The retry delay suggested before any call has finished.
const FIRST_GUESS: Duration = Duration::from_secs(1);

/// The most turns a cap may have.
const MAX_TURNS: usize = 1 << 20;

/// One tool's cap.
#[derive(Debug)]
pub(crate) struct ConcurrencyLimit {
    turns: Mutex<Turns>,
    max: usize,
    /// Mean run time in milliseconds (exponentially weighted); 0 before any call ends.
    mean_ms: AtomicU64,
    /// Calls waiting for a turn now.
    waiting: AtomicUsize,
}

/// The turns of one cap: how many are free, and who waits for one.
#[derive(Debug, Default)]
struct Turns {
    free: usize,
    /// Each waiting caller's calls, in their order: a turn is handed to a call by its
    /// sender (a call that stopped waiting has closed its end, and is passed over).
    queues: HashMap<Arc<str>, VecDeque<oneshot::Sender<()>>>,
    /// The callers with calls waiting, in the order their turns come.
    ring: VecDeque<Arc<str>>,
}

impl Turns {
    /// Queues a call of `caller`'s; its turn comes on the returned receiver.
    fn wait(&mut self, caller: Arc<str>) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        match self.queues.entry(caller) {
            Entry::Occupied(mut queue) => {
                let queue = queue.get_mut();
                // Calls of this caller that stopped waiting go as it queues more.
                while queue.front().is_some_and(oneshot::Sender::is_closed) {
                    queue.pop_front();
                }
                queue.push_back(tx);
            }
            Entry::Vacant(vacant) => {
                self.ring.push_back(vacant.key().clone());
                vacant.insert(VecDeque::from([tx]));
            }
        }
        rx
    }

    /// A turn given back: to the next waiting caller's first call still waiting, else
    /// free.
    fn give_back(&mut self) {
        while let Some(caller) = self.ring.pop_front() {
            let Some(queue) = self.queues.get_mut(&caller) else { continue };
            let call = loop {
                match queue.pop_front() {
                    Some(call) if call.is_closed() => {}
                    next => break next,
                }
            };
            if queue.is_empty() {
                self.queues.remove(&caller);
            } else {
                self.ring.push_back(caller);
            }
            // A call that stopped waiting just now passes the turn on.
            if call.is_some_and(|call| call.send(()).is_ok()) {
                return;
            }
        }
        self.free += 1;
    }
}

/// One call waiting for a turn. Dropped without [`Waiter::holds`] (the call stopped
/// waiting, whatever the reason), it stops any turn from being handed to it, and passes
/// on one that was handed to it already.
struct Waiter<'a> {
    limit: &'a Arc<ConcurrencyLimit>,
    turn: oneshot::Receiver<()>,
    /// Whether it holds its turn (then the permit gives it back).
    held: bool,
}

impl<'a> Waiter<'a> {
    /// A call of `limit` waiting for `turn`, counted among the waiting while it lives.
    fn new(limit: &'a Arc<ConcurrencyLimit>, turn: oneshot::Receiver<()>) -> Self {
        limit.waiting.fetch_add(1, Ordering::Relaxed);
        Self { limit, turn, held: false }
    }

    /// Stops the wait: whether a turn was handed to it (which it then holds).
    fn handed(&mut self) -> bool {
        self.turn.close();
        self.turn.try_recv().is_ok()
    }

    /// The turn it was handed, to run with.
    fn holds(mut self) -> Permit {
        // Its turn is the permit's now: nothing is left to pass on.
        self.held = true;
        self.limit.turn()
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.limit.waiting.fetch_sub(1, Ordering::Relaxed);
        if !self.held && self.handed() {
            self.limit.turns().give_back();
        }
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
    limit: Arc<ConcurrencyLimit>,
    started: Instant,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limit.turns().give_back();
        let sample = crate::clock::millis(self.started.elapsed()).max(1);
        let _ = self.limit.mean_ms.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |mean| {
            Some(if mean == 0 { sample } else { mean - mean / 8 + sample / 8 })
        });
    }
}

impl ConcurrencyLimit {
    /// At most `max` calls at once (at least 1).
    pub fn new(max: usize) -> Arc<Self> {
        let max = max.clamp(1, MAX_TURNS);
        Arc::new(Self {
            turns: Mutex::new(Turns { free: max, ..Turns::default() }),
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
        self.max - self.turns().free
    }

    fn turns(&self) -> MutexGuard<'_, Turns> {
        self.turns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Calls waiting for a turn now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Waits up to `within` for a permit, giving up if `cancel` fires. `caller` names
    /// whose call it is (read only when the call must wait: the waiting take turns by
    /// caller); calls of no named caller wait as one caller.
    pub async fn acquire(
        self: &Arc<Self>,
        caller: impl FnOnce() -> Option<Arc<str>>,
        within: Duration,
        cancel: &CancellationToken,
    ) -> Result<Permit, Refused> {
        let turn = {
            let mut turns = self.turns();
            // A free turn is taken at once, without counting as a wait.
            if turns.free > 0 {
                turns.free -= 1;
                return Ok(self.turn());
            }
            turns.wait(caller().unwrap_or_else(|| Arc::from("")))
        };
        // However the wait ends (the future may be dropped at any await: a cancelled
        // task, a client gone), a turn handed to it is never lost.
        let mut waiter = Waiter::new(self, turn);
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(Refused::Cancelled),
            got = tokio::time::timeout(within, &mut waiter.turn) => match got {
                Ok(Ok(())) => Ok(waiter.holds()),
                // A turn handed over as the time ran out is taken: the run keeps what is left.
                Err(_) if waiter.handed() => Ok(waiter.holds()),
                // (The sender is never dropped unanswered while the limit lives.)
                Ok(Err(_)) | Err(_) => Err(Refused::Busy(self.retry_after())),
            },
        }
    }

    /// A turn starting now.
    fn turn(self: &Arc<Self>) -> Permit {
        Permit { limit: self.clone(), started: Instant::now() }
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
    crate::limits::refused(&format!("Tool {tool} is busy ({max} calls running)"), retry_after)
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    const LONG: Duration = Duration::from_secs(5);

    fn none() -> Option<Arc<str>> {
        None
    }

    #[tokio::test]
    async fn a_full_limit_makes_the_next_call_wait_then_refuses_it_in_time() {
        let limit = ConcurrencyLimit::new(2);
        let never = CancellationToken::new();
        let a = limit.acquire(none, LONG, &never).await.unwrap();
        let _b = limit.acquire(none, LONG, &never).await.unwrap();
        assert_eq!(limit.running(), 2);
        let started = Instant::now();
        let refused = limit.acquire(none, Duration::from_millis(50), &never).await.unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(refused, Refused::Busy(FIRST_GUESS));
        assert_eq!(limit.waiting(), 0, "a refused call no longer waits");
        // A waiter gets the permit as soon as one is given back.
        let waiter = tokio::spawn({
            let limit = limit.clone();
            async move { limit.acquire(none, LONG, &CancellationToken::new()).await.map(drop) }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(limit.waiting(), 1);
        drop(a);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(limit.waiting(), 0);
        assert_ne!(limit.retry_after(), FIRST_GUESS, "the run time of the finished calls is the new guess");
    }

    #[tokio::test]
    async fn waiting_callers_take_turns_so_a_burst_delays_another_caller_by_one_turn() {
        let limit = ConcurrencyLimit::new(1);
        let held = limit.acquire(none, LONG, &CancellationToken::new()).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut calls = Vec::new();
        for (caller, n) in [("alice", 1), ("alice", 2), ("alice", 3), ("alice", 4), ("bob", 1)] {
            let (limit, order) = (limit.clone(), order.clone());
            calls.push(tokio::spawn(async move {
                let permit = limit.acquire(|| Some(Arc::from(caller)), LONG, &CancellationToken::new()).await;
                order.lock().unwrap().push(format!("{caller}{n}"));
                drop(permit);
            }));
            // Queued in this order.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(limit.waiting(), 5);
        drop(held);
        for call in calls {
            call.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["alice1", "bob1", "alice2", "alice3", "alice4"]);
        assert_eq!((limit.running(), limit.waiting()), (0, 0));
    }

    #[tokio::test]
    async fn a_call_that_stops_waiting_passes_its_turn_on_and_none_is_lost() {
        let limit = ConcurrencyLimit::new(1);
        let held = limit.acquire(none, LONG, &CancellationToken::new()).await.unwrap();
        let cancel = CancellationToken::new();
        let gone = tokio::spawn({
            let (limit, cancel) = (limit.clone(), cancel.clone());
            async move { limit.acquire(|| Some(Arc::from("alice")), LONG, &cancel).await.map(drop) }
        });
        let next = tokio::spawn({
            let limit = limit.clone();
            async move { limit.acquire(|| Some(Arc::from("alice")), LONG, &CancellationToken::new()).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        cancel.cancel();
        assert_eq!(gone.await.unwrap(), Err(Refused::Cancelled));
        drop(held);
        let permit = next.await.unwrap().unwrap();
        assert_eq!(limit.running(), 1, "the turn went to the call still waiting");
        drop(permit);
        assert_eq!(limit.running(), 0);
        // Many calls that stopped waiting leave nothing behind once turns come again.
        let held = limit.acquire(none, LONG, &CancellationToken::new()).await.unwrap();
        let never = CancellationToken::new();
        for _ in 0..50 {
            let refused = limit.acquire(|| Some(Arc::from("bob")), Duration::from_millis(1), &never).await;
            assert!(matches!(refused, Err(Refused::Busy(_))));
        }
        drop(held);
        assert_eq!(limit.running(), 0);
        let turns = limit.turns();
        assert!(turns.queues.is_empty() && turns.ring.is_empty(), "{turns:?}");
    }

    #[tokio::test]
    async fn a_turn_handed_to_a_call_dropped_before_it_ran_again_is_passed_on() {
        let limit = ConcurrencyLimit::new(1);
        let held = limit.acquire(none, LONG, &CancellationToken::new()).await.unwrap();
        let never = CancellationToken::new();
        let mut waiting = Box::pin(limit.acquire(|| Some(Arc::from("alice")), LONG, &never));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(waiting.as_mut().poll(&mut cx).is_pending(), "it waits");
        // The turn is handed to it; then the call goes (a task cancelled, a client gone)
        // before it runs again to take the turn.
        drop(held);
        drop(waiting);
        assert_eq!((limit.running(), limit.waiting()), (0, 0), "the turn came back");
        let again = limit.acquire(none, Duration::from_millis(10), &never).await;
        assert!(again.is_ok(), "and the next call takes it at once");
    }

    #[tokio::test]
    async fn cancelling_stops_the_wait() {
        let limit = ConcurrencyLimit::new(1);
        let _held = limit.acquire(none, LONG, &CancellationToken::new()).await.unwrap();
        let cancel = CancellationToken::new();
        cancel.cancel();
        assert_eq!(limit.acquire(none, LONG, &cancel).await.unwrap_err(), Refused::Cancelled);
        assert_eq!(limit.running(), 1);
    }

    #[tokio::test]
    async fn a_permit_is_given_back_when_its_holder_panics_or_is_dropped() {
        let limit = ConcurrencyLimit::new(1);
        let holder = limit.clone();
        let panicked = tokio::spawn(async move {
            let _permit = holder.acquire(none, LONG, &CancellationToken::new()).await;
            panic!("the handler failed");
        });
        assert!(panicked.await.is_err());
        assert_eq!(limit.running(), 0);
        let holder = limit.clone();
        let stuck = tokio::spawn(async move {
            let _permit = holder.acquire(none, LONG, &CancellationToken::new()).await;
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
