//! Prometheus metrics of a [`crate::Server`], in the OpenMetrics text format.
//!
//! Every request served through [`crate::Server::respond`] — over stdio, HTTP or any
//! other transport — is counted by method and outcome and timed; transports add what
//! only they see (sessions, HTTP rate-limit refusals). Labels only ever hold values
//! from fixed lists (method names from [`Method`] and from the methods added to the
//! server's table when it was built, outcome names), never a string a client chose, so
//! the number of series stays bounded.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `tenet_requests_total` | counter | `method`, `outcome` |
//! | `tenet_request_duration_seconds` | histogram | `method` |
//! | `tenet_requests_in_flight` | gauge | |
//! | `tenet_rate_limited_total` | counter | |
//! | `tenet_sessions` | gauge | `transport` (`streamable_http`, `sse`) |
//! | `tenet_cache_hits_total`, `tenet_cache_misses_total` | counter | |
//!
//! ```
//! use tenet_server::Metrics;
//! use tenet_server::prometheus_client::metrics::counter::Counter;
//!
//! let metrics = Metrics::new();
//! let searches: Counter = Counter::default();
//! metrics.with_registry(|registry| registry.register("myapp_searches", "Searches run", searches.clone()));
//! searches.inc();
//! metrics.cache(true);
//! let text = metrics.encode();
//! assert!(text.contains("myapp_searches_total 1\n"));
//! assert!(text.contains("tenet_cache_hits_total 1\n"));
//! assert!(text.ends_with("# EOF\n"));
//! ```

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tenet_jsonrpc::ErrorCode;
use tenet_protocol::Method;

/// The `Content-Type` of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the latency buckets, in seconds: 100 µs to 30 s.
const BUCKETS: [f64; 17] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The `method` label of requests whose method MCP does not define.
pub(crate) const OTHER_METHOD: &str = "other";

/// How a request ended, as the `outcome` label of `tenet_requests_total` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A result (`ok`).
    Ok,
    /// A tool result with `isError: true` (`tool_error`).
    ToolError,
    /// An input-required result, 2026-07-28 (`input_required`).
    InputRequired,
    /// The client cancelled it or went away before the answer (`cancelled`).
    Cancelled,
    /// A task handle instead of the result: the tasks extension, 2026-07-28 (`task`).
    Task,
    /// A JSON-RPC error, labelled by its code's name (`invalid_params`,
    /// `method_not_found`, …; `error` for codes without a name).
    Error(ErrorCode),
}

/// Names of the error codes the runtime and its transports send.
const ERROR_NAMES: [(ErrorCode, &str); 14] = [
    (ErrorCode::PARSE_ERROR, "parse_error"),
    (ErrorCode::INVALID_REQUEST, "invalid_request"),
    (ErrorCode::METHOD_NOT_FOUND, "method_not_found"),
    (ErrorCode::INVALID_PARAMS, "invalid_params"),
    (ErrorCode::INTERNAL_ERROR, "internal_error"),
    (ErrorCode(-32000), "transport_error"),
    (ErrorCode(-32001), "session_not_found"),
    (ErrorCode::RESOURCE_NOT_FOUND, "resource_not_found"),
    (crate::grant::INSUFFICIENT_SCOPE, "insufficient_scope"),
    (crate::error::RATE_LIMITED, "rate_limited"),
    (ErrorCode::HEADER_MISMATCH, "header_mismatch"),
    (ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY, "missing_capability"),
    (ErrorCode::UNSUPPORTED_PROTOCOL_VERSION, "unsupported_version"),
    (ErrorCode::URL_ELICITATION_REQUIRED, "url_elicitation_required"),
];

/// Outcomes that are not errors; then come [`ERROR_NAMES`], then `error`.
const PLAIN_OUTCOMES: [&str; 5] = ["ok", "tool_error", "input_required", "cancelled", "task"];
/// Every method of [`Method::ALL`], and `other`.
const METHOD_SLOTS: usize = Method::ALL.len() + 1;

impl Outcome {
    /// Its position among every outcome label.
    fn index(self) -> usize {
        match self {
            Outcome::Ok => 0,
            Outcome::ToolError => 1,
            Outcome::InputRequired => 2,
            Outcome::Cancelled => 3,
            Outcome::Task => 4,
            Outcome::Error(code) => {
                PLAIN_OUTCOMES.len() + ERROR_NAMES.iter().position(|(c, _)| *c == code).unwrap_or(ERROR_NAMES.len())
            }
        }
    }

    /// The label value.
    pub fn label(self) -> &'static str {
        let i = self.index();
        match i.checked_sub(PLAIN_OUTCOMES.len()) {
            None => PLAIN_OUTCOMES[i],
            Some(e) => ERROR_NAMES.get(e).map_or("error", |(_, name)| name),
        }
    }
}

/// Which transport's sessions a `tenet_sessions` series counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// Legacy Streamable HTTP sessions (`Mcp-Session-Id`).
    StreamableHttp,
    /// HTTP+SSE (2024-11-05) connections.
    Sse,
    /// WebSocket connections.
    WebSocket,
}

impl SessionKind {
    fn label(self) -> &'static str {
        match self {
            SessionKind::StreamableHttp => "streamable_http",
            SessionKind::Sse => "sse",
            SessionKind::WebSocket => "websocket",
        }
    }
}

type Labels<const N: usize> = [(&'static str, &'static str); N];

/// A server's metrics and the registry they are exposed from. Cheap to clone; clones
/// share everything. Register metrics of your own with [`Metrics::with_registry`] or
/// [`Metrics::register_collector`]; they are exposed alongside.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    /// `false` for [`Metrics::off`]: nothing is recorded.
    enabled: bool,
    registry: Mutex<Registry>,
    requests: Family<Labels<2>, Counter>,
    durations: Family<Labels<1>, Histogram, fn() -> Histogram>,
    /// Handles by method slot, made on first use: the `ok` series of `requests` and
    /// the method's histogram. Other outcomes are looked up in the family (a read
    /// lock and a hash): a full method × outcome table would cost the cold start
    /// more than it saves.
    handles: [OnceLock<(Counter, Histogram)>; METHOD_SLOTS],
    in_flight: Gauge,
    rate_limited: Counter,
    refused: Family<Labels<1>, Counter>,
    sessions: Family<Labels<1>, Gauge>,
    cache_hits: Counter,
    cache_misses: Counter,
    frames: Family<Labels<2>, Counter>,
}

/// Which way a WebSocket frame went, for [`Metrics::frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client.
    In,
    /// To the client.
    Out,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("in_flight", &self.inner.in_flight.get()).finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// A status code as a label; the ones transports refuse with, else `other`.
fn status_label(status: u16) -> &'static str {
    match status {
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        406 => "406",
        409 => "409",
        413 => "413",
        415 => "415",
        429 => "429",
        503 => "503",
        _ => "other",
    }
}

/// The slot of a method in the handle arrays: its position in [`Method::ALL`], and
/// one more for methods MCP does not define.
fn slot(method: Option<Method>) -> usize {
    method.map_or(Method::ALL.len(), |m| m as usize)
}

impl Metrics {
    /// A fresh registry holding the server's metrics, all at zero.
    pub fn new() -> Self {
        Self::make(true)
    }

    /// Metrics that record nothing (they encode as all zero): for a server whose
    /// operator turned metrics off, so that not even the counting costs anything.
    pub fn off() -> Self {
        Self::make(false)
    }

    /// Whether anything is recorded (see [`Metrics::off`]).
    pub fn is_enabled(&self) -> bool {
        self.inner.enabled
    }

    fn make(enabled: bool) -> Self {
        let inner = Inner {
            enabled,
            registry: Mutex::new(Registry::default()),
            requests: Family::default(),
            durations: Family::new_with_constructor(|| Histogram::new(BUCKETS)),
            handles: [const { OnceLock::new() }; METHOD_SLOTS],
            in_flight: Gauge::default(),
            rate_limited: Counter::default(),
            refused: Family::default(),
            sessions: Family::default(),
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
            frames: Family::default(),
        };
        {
            let mut r = inner.registry.lock().unwrap_or_else(PoisonError::into_inner);
            r.register("tenet_requests", "Requests answered, by method and outcome", inner.requests.clone());
            r.register_with_unit(
                "tenet_request_duration",
                "Time from routing a request to its answer, by method",
                Unit::Seconds,
                inner.durations.clone(),
            );
            r.register("tenet_requests_in_flight", "Requests being served now", inner.in_flight.clone());
            r.register("tenet_rate_limited", "Requests refused for their rate limit", inner.rate_limited.clone());
            r.register(
                "tenet_http_refused",
                "HTTP requests refused before the server saw a message (bad headers, body, session or credentials), by status",
                inner.refused.clone(),
            );
            r.register("tenet_sessions", "Sessions alive, by transport", inner.sessions.clone());
            r.register(
                "tenet_websocket_frames",
                "WebSocket frames, by direction and kind (text, binary, ping, pong, close)",
                inner.frames.clone(),
            );
            r.register("tenet_cache_hits", "Responses served from the cache", inner.cache_hits.clone());
            r.register(
                "tenet_cache_misses",
                "Responses computed because the cache had none",
                inner.cache_misses.clone(),
            );
        }
        Self { inner: Arc::new(inner) }
    }

    /// The whole registry in the OpenMetrics text format (see [`CONTENT_TYPE`]),
    /// ending in `# EOF`. Collectors run now.
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(8 * 1024);
        let registry = self.inner.registry.lock().unwrap_or_else(PoisonError::into_inner);
        // Writing to a String cannot fail; a collector's own error ends the text early.
        if prometheus_client::encoding::text::encode(&mut text, &registry).is_err() {
            tracing::warn!("a metrics collector failed; the exposition is incomplete");
            text.push_str("# EOF\n");
        }
        text
    }

    /// Adds a collector, asked for its metrics at every [`Metrics::encode`] (e.g.
    /// gauges read from live state). It must not call back into these metrics.
    pub fn register_collector(&self, collector: Box<dyn Collector>) {
        self.with_registry(|registry| registry.register_collector(collector));
    }

    /// Runs `f` on the registry, e.g. to register metrics of your own. Do not encode
    /// from within `f`.
    pub fn with_registry<R>(&self, f: impl FnOnce(&mut Registry) -> R) -> R {
        f(&mut self.inner.registry.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Counts one response served from a cache (`hit`) or computed (`!hit`).
    pub fn cache(&self, hit: bool) {
        if !self.inner.enabled {
            return;
        }
        if hit { &self.inner.cache_hits } else { &self.inner.cache_misses }.inc();
    }

    /// Counts one WebSocket frame of `kind` (`text`, `binary`, `ping`, `pong`, `close`)
    /// going `direction`.
    pub fn frame(&self, direction: Direction, kind: &'static str) {
        if self.inner.enabled {
            let direction = match direction {
                Direction::In => "in",
                Direction::Out => "out",
            };
            self.inner.frames.get_or_create(&[("direction", direction), ("kind", kind)]).inc();
        }
    }

    /// Counts one request refused for its rate limit.
    pub fn rate_limited(&self) {
        if self.inner.enabled {
            self.inner.rate_limited.inc();
        }
    }

    /// Counts one HTTP request a transport refused before any message in it reached the
    /// server (415, 406, 413, an unparseable body, a missing or unknown session, a
    /// failed header check, 401/403 from authorization, 503 when full), by `status`.
    /// Such requests are not in `tenet_requests`, which counts answered messages.
    pub fn refused(&self, status: u16) {
        if self.inner.enabled {
            self.inner.refused.get_or_create(&[("status", status_label(status))]).inc();
        }
    }

    /// The `tenet_sessions` gauge of one transport, for the transport to raise when a
    /// session opens and lower when it ends (several endpoints may share it).
    pub fn sessions(&self, kind: SessionKind) -> Gauge {
        self.inner.sessions.get_or_create_owned(&[("transport", kind.label())])
    }

    /// Counts one answered request of `method` (`None`: a method MCP does not define)
    /// that took `elapsed`. [`crate::Server::respond`] calls it for every request; a
    /// transport answering requests without it may too.
    pub fn record(&self, method: Option<Method>, outcome: Outcome, elapsed: Duration) {
        if !self.inner.enabled {
            return;
        }
        let name = method.map_or(OTHER_METHOD, Method::name);
        let (ok, histogram) = self.inner.handles[slot(method)].get_or_init(|| {
            let ok = self.inner.requests.get_or_create_owned(&[("method", name), ("outcome", Outcome::Ok.label())]);
            (ok, self.inner.durations.get_or_create_owned(&[("method", name)]))
        });
        match outcome {
            Outcome::Ok => ok.inc(),
            other => self.inner.requests.get_or_create(&[("method", name), ("outcome", other.label())]).inc(),
        };
        histogram.observe(elapsed.as_secs_f64());
    }

    /// Counts and times a request for a method added to the server's table
    /// ([`crate::MethodDef`]), under its own name: the table is fixed when the server is
    /// built, so the names are few.
    pub(crate) fn record_added(&self, name: &'static str, outcome: Outcome, elapsed: Duration) {
        if !self.inner.enabled {
            return;
        }
        self.inner.requests.get_or_create(&[("method", name), ("outcome", outcome.label())]).inc();
        self.inner.durations.get_or_create(&[("method", name)]).observe(elapsed.as_secs_f64());
    }

    /// The in-flight gauge, raised while [`crate::Server::respond`] serves a request.
    pub(crate) fn in_flight(&self) -> &Gauge {
        &self.inner.in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_turned_off_record_nothing() {
        let off = Metrics::off();
        assert!(!off.is_enabled() && Metrics::new().is_enabled());
        off.record(Some(Method::ToolsCall), Outcome::Ok, Duration::from_millis(3));
        off.cache(true);
        off.rate_limited();
        let text = off.encode();
        assert!(!text.contains("tools/call"), "{text}");
        assert!(text.contains("tenet_rate_limited_total 0\n") && text.contains("tenet_cache_hits_total 0\n"), "{text}");
    }

    #[test]
    fn every_method_has_its_own_slot() {
        for (i, m) in Method::ALL.iter().enumerate() {
            assert_eq!(slot(Some(*m)), i, "{m:?}");
        }
        assert_eq!(slot(None), Method::ALL.len());
    }

    #[test]
    fn outcome_labels_are_distinct_and_unknown_codes_share_one() {
        let mut labels: Vec<&str> = PLAIN_OUTCOMES.to_vec();
        labels.extend(ERROR_NAMES.iter().map(|(_, n)| *n));
        labels.push("error");
        let count = labels.len();
        let indexed: Vec<&str> = (0..count)
            .map(|i| match i {
                0 => Outcome::Ok,
                1 => Outcome::ToolError,
                2 => Outcome::InputRequired,
                3 => Outcome::Cancelled,
                4 => Outcome::Task,
                i if i < count - 1 => Outcome::Error(ERROR_NAMES[i - PLAIN_OUTCOMES.len()].0),
                _ => Outcome::Error(ErrorCode(-1)),
            })
            .map(Outcome::label)
            .collect();
        assert_eq!(indexed, labels);
        let mut unique = labels.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), labels.len());
        assert_eq!(Outcome::Error(ErrorCode(-32099)).label(), "error");
        assert_eq!(Outcome::Error(ErrorCode::INVALID_PARAMS).label(), "invalid_params");
    }

    #[test]
    fn requests_are_counted_by_method_and_outcome_and_timed() {
        let m = Metrics::new();
        m.record(Some(Method::ToolsCall), Outcome::Ok, Duration::from_micros(300));
        m.record(Some(Method::ToolsCall), Outcome::Ok, Duration::from_millis(2));
        m.record(Some(Method::ToolsCall), Outcome::ToolError, Duration::from_millis(1));
        m.record(None, Outcome::Error(ErrorCode::METHOD_NOT_FOUND), Duration::from_micros(5));
        let text = m.encode();
        for line in [
            "tenet_requests_total{method=\"tools/call\",outcome=\"ok\"} 2\n",
            "tenet_requests_total{method=\"tools/call\",outcome=\"tool_error\"} 1\n",
            "tenet_requests_total{method=\"other\",outcome=\"method_not_found\"} 1\n",
            "tenet_request_duration_seconds_bucket{le=\"0.0005\",method=\"tools/call\"} 1\n",
            "tenet_request_duration_seconds_bucket{le=\"0.001\",method=\"tools/call\"} 2\n",
            "tenet_request_duration_seconds_bucket{le=\"+Inf\",method=\"tools/call\"} 3\n",
            "tenet_request_duration_seconds_count{method=\"other\"} 1\n",
            "# UNIT tenet_request_duration_seconds seconds\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
        assert!(!text.contains("outcome=\"cancelled\""), "unused series are not exposed:\n{text}");
    }

    #[test]
    fn gauges_and_counters_move_and_collectors_are_asked_at_every_scrape() {
        #[derive(Debug)]
        struct Answer;
        impl Collector for Answer {
            fn encode(&self, mut encoder: prometheus_client::encoding::DescriptorEncoder) -> std::fmt::Result {
                use prometheus_client::encoding::EncodeMetric;
                let gauge = prometheus_client::metrics::gauge::ConstGauge::new(42_i64);
                gauge.encode(encoder.encode_descriptor("answer", "The answer", None, gauge.metric_type())?)
            }
        }
        let m = Metrics::new();
        m.register_collector(Box::new(Answer));
        let clone = m.clone();
        clone.in_flight().inc();
        clone.rate_limited();
        clone.cache(false);
        let sse = m.sessions(SessionKind::Sse);
        sse.set(3);
        m.sessions(SessionKind::Sse).dec();
        let text = m.encode();
        for line in [
            "tenet_requests_in_flight 1\n",
            "tenet_rate_limited_total 1\n",
            "tenet_cache_misses_total 1\n",
            "tenet_cache_hits_total 0\n",
            "tenet_sessions{transport=\"sse\"} 2\n",
            "answer 42\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
    }
}
