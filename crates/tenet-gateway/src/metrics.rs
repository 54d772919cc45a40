//! The upstreams' metrics, read from their status at each scrape (so relaying a call
//! costs one atomic add, and nothing is kept twice):
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `tenet_upstream_up` | gauge | `upstream` |
//! | `tenet_upstream_state` | gauge (1 for the state it is in, 0 for the others) | `upstream`, `state` |
//! | `tenet_upstream_heartbeat_latency_seconds` | gauge | `upstream` |
//! | `tenet_upstream_restarts_total` | counter | `upstream` |
//! | `tenet_upstream_calls_total` | counter | `upstream`, `outcome` |
//! | `tenet_upstream_sessions` | gauge | `upstream` |
//!
//! Peers are counted as upstreams, under their names. Names come from the config, or
//! (a peer) from the node id it announced first, so the number of series is bounded.

use std::sync::Weak;

use tenet_server::prometheus_client::collector::Collector;
use tenet_server::prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use tenet_server::prometheus_client::metrics::MetricType;
use tenet_server::prometheus_client::metrics::counter::ConstCounter;
use tenet_server::prometheus_client::metrics::gauge::ConstGauge;
use tenet_server::prometheus_client::registry::Unit;

use crate::upstream::{State, Upstream};

/// Encodes the metrics of the upstreams it still finds.
pub(crate) struct UpstreamCollector(pub(crate) Vec<Weak<Upstream>>);

impl std::fmt::Debug for UpstreamCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UpstreamCollector")
    }
}

impl Collector for UpstreamCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        // A peer named by its node id has no name (and no series) until the id is known.
        let statuses: Vec<_> =
            self.0.iter().filter_map(Weak::upgrade).map(|u| u.status()).filter(|s| !s.name.is_empty()).collect();
        if statuses.is_empty() {
            return Ok(());
        }
        let mut up = encoder.encode_descriptor(
            "tenet_upstream_up",
            "Whether the upstream is connected and answering heartbeats",
            None,
            MetricType::Gauge,
        )?;
        for s in &statuses {
            ConstGauge::new(i64::from(s.state == State::Up)).encode(up.encode_family(&[("upstream", &*s.name)])?)?;
        }
        let mut state = encoder.encode_descriptor(
            "tenet_upstream_state",
            "1 for the state the upstream is in (connecting, up, down, failed: given up after a crash loop), 0 for the others",
            None,
            MetricType::Gauge,
        )?;
        for s in &statuses {
            for candidate in State::ALL {
                let labels = [("upstream", &*s.name), ("state", candidate.label())];
                ConstGauge::new(i64::from(s.state == candidate)).encode(state.encode_family(&labels)?)?;
            }
        }
        let mut latency = encoder.encode_descriptor(
            "tenet_upstream_heartbeat_latency",
            "How long the upstream's last answered heartbeat took",
            Some(&Unit::Seconds),
            MetricType::Gauge,
        )?;
        for s in &statuses {
            if let Some(ms) = s.latency_ms {
                ConstGauge::new(ms / 1000.0).encode(latency.encode_family(&[("upstream", &*s.name)])?)?;
            }
        }
        let mut restarts = encoder.encode_descriptor(
            "tenet_upstream_restarts",
            "Attempts to reconnect to the upstream (or start its process again) after it failed",
            None,
            MetricType::Counter,
        )?;
        for s in &statuses {
            ConstCounter::new(s.restarts).encode(restarts.encode_family(&[("upstream", &*s.name)])?)?;
        }
        let mut sessions = encoder.encode_descriptor(
            "tenet_upstream_sessions",
            "Callers' own sessions open at the upstream (a process each for a stdio server)",
            None,
            MetricType::Gauge,
        )?;
        for s in &statuses {
            let open = i64::try_from(s.sessions).unwrap_or(i64::MAX);
            ConstGauge::new(open).encode(sessions.encode_family(&[("upstream", &*s.name)])?)?;
        }
        let mut calls = encoder.encode_descriptor(
            "tenet_upstream_calls",
            "Requests relayed to the upstream (tool calls, prompts, reads, completions), by outcome",
            None,
            MetricType::Counter,
        )?;
        for s in &statuses {
            for (outcome, count) in s.calls.by_outcome() {
                let labels = [("upstream", &*s.name), ("outcome", outcome)];
                ConstCounter::new(count).encode(calls.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}
