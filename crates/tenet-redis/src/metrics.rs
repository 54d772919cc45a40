//! The store's metrics: operations by name and outcome, and how long they took.

use std::time::Duration;

use tenet_server::prometheus_client::metrics::counter::Counter;
use tenet_server::prometheus_client::metrics::family::Family;
use tenet_server::prometheus_client::metrics::histogram::Histogram;
use tenet_server::prometheus_client::registry::Unit;

type Labels<const N: usize> = [(&'static str, &'static str); N];

/// Bucket bounds in seconds: a loopback round trip is ~0.1 ms, a timeout is seconds.
const BUCKETS: [f64; 10] = [0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05, 0.25, 1.0];

/// Counted and timed store operations.
pub(crate) struct StoreMetrics {
    operations: Family<Labels<2>, Counter>,
    durations: Family<Labels<1>, Histogram, fn() -> Histogram>,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        fn histogram() -> Histogram {
            Histogram::new(BUCKETS)
        }
        Self { operations: Family::default(), durations: Family::new_with_constructor(histogram) }
    }
}

impl StoreMetrics {
    /// Counts one operation `op` that succeeded (`ok`) or failed, taking `elapsed`.
    pub(crate) fn record(&self, op: &'static str, ok: bool, elapsed: Duration) {
        let outcome = if ok { "ok" } else { "error" };
        self.operations.get_or_create(&[("op", op), ("outcome", outcome)]).inc();
        self.durations.get_or_create(&[("op", op)]).observe(elapsed.as_secs_f64());
    }

    /// Adds them to `metrics`.
    pub(crate) fn register(&self, metrics: &tenet_server::Metrics) {
        metrics.with_registry(|r| {
            r.register("tenet_store_operations", "Operations on the shared store, by outcome", self.operations.clone());
            r.register_with_unit(
                "tenet_store_operation",
                "How long operations on the shared store took",
                Unit::Seconds,
                self.durations.clone(),
            );
        });
    }
}
