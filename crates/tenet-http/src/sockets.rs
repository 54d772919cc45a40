//! The WebSocket sockets open now, against their cap, and the tasks that serve them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tenet_server::metrics::{Metrics, SessionKind};
use tenet_server::prometheus_client::metrics::gauge::Gauge;

/// The sockets open now, against the cap.
pub(crate) struct Sockets {
    open: Arc<AtomicUsize>,
    gauge: Gauge,
    /// Every socket's task, so that shutdown can wait for their drain.
    pub(crate) tasks: tokio_util::task::TaskTracker,
}

impl Sockets {
    pub(crate) fn new(metrics: &Metrics) -> Self {
        Self {
            open: Arc::default(),
            gauge: metrics.sessions(SessionKind::WebSocket),
            tasks: tokio_util::task::TaskTracker::new(),
        }
    }

    /// Takes a seat; `None` when `max` sockets are open.
    pub(crate) fn seat(&self, max: usize) -> Option<Seat> {
        let taken = self.open.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1));
        taken.ok()?;
        self.gauge.inc();
        Some(Seat { open: self.open.clone(), gauge: self.gauge.clone() })
    }
}

/// One open socket's place under the cap; given back when dropped.
pub(crate) struct Seat {
    open: Arc<AtomicUsize>,
    gauge: Gauge,
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
        self.gauge.dec();
    }
}
