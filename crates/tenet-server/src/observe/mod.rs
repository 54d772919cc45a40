//! What one request leaves behind: the in-flight gauge while it runs, its count and
//! latency in [`Metrics`], one structured log event under [`REQUEST_TARGET`], and —
//! when the caller sent a W3C `traceparent`, or the server exports spans — a span of
//! ours in the trace, handed to the [`SpanSink`] when sampled.
//!
//! This folder holds that record of each request, the span model ([`spans`]) and, in
//! [`metrics`], the server's Prometheus metrics.

pub mod metrics;
pub mod spans;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tenet_jsonrpc::Request;
use tenet_protocol::{Method, TraceContext};
use tracing::Level;

use metrics::{Metrics, Outcome};
use spans::{AttributeValue, FinishedSpan, SpanKind, SpanSink, new_span_id, new_trace_id};

/// The `tracing` target of the per-request log event, so operators can filter it
/// (`TENET_LOG=info,tenet::request=debug`).
pub const REQUEST_TARGET: &str = "tenet::request";

/// The level of the per-request event: `debug`, so that the default `info` level
/// costs nothing per request. A line (formatting, timestamp, a write to stderr) costs a
/// few microseconds: as much as a whole stdio `tools/call` (~3 µs in release) and a
/// noticeable share of an HTTP one (~40 µs on one core). Measured in a debug build on
/// a 50 000-call stdio burst: +5–9 µs per request with the line on.
const REQUEST_LEVEL: Level = Level::DEBUG;

/// The trace a request is served in: the caller's context (when it sent one), and
/// ours for what the handler sends on its behalf (the same trace, a fresh span id as
/// the parent, and our sampling decision when spans are exported).
#[derive(Debug)]
pub(crate) struct RequestTrace {
    pub caller: Option<TraceContext>,
    pub ours: TraceContext,
    /// Whether the request's span goes to the [`SpanSink`].
    pub recorded: bool,
}

impl RequestTrace {
    /// The caller's trace, continued (spans are not exported).
    pub(crate) fn new(caller: TraceContext) -> Arc<Self> {
        Arc::new(Self { ours: caller.child(new_span_id()), caller: Some(caller), recorded: false })
    }

    /// The caller's trace continued, or a new one begun, as `sink` samples it; `None`
    /// for a request that would begin a trace nobody records (nothing to continue,
    /// nothing to pass on).
    pub(crate) fn sampled(sink: &dyn SpanSink, caller: Option<TraceContext>) -> Option<Arc<Self>> {
        let (ours, recorded) = match &caller {
            Some(caller) => {
                let recorded = sink.sampled(caller.trace_id(), Some(caller));
                (caller.child(new_span_id()).with_sampled(recorded), recorded)
            }
            None => {
                let trace_id = new_trace_id();
                if !sink.sampled(trace_id, None) {
                    return None;
                }
                (TraceContext::root(trace_id, new_span_id(), true), true)
            }
        };
        Some(Arc::new(Self { caller, ours, recorded }))
    }
}

/// What a request is counted, logged and traced as: its method, when routing knew it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Label {
    /// A method of the protocol.
    Core(Method),
    /// A method added to the server's table ([`crate::MethodDef`]), by its name.
    Added(&'static str),
    /// Anything else (`other`).
    Other,
}

impl Label {
    fn name(self) -> &'static str {
        match self {
            Label::Core(method) => method.name(),
            Label::Added(name) => name,
            Label::Other => metrics::OTHER_METHOD,
        }
    }

    fn core(self) -> Option<Method> {
        match self {
            Label::Core(method) => Some(method),
            _ => None,
        }
    }
}

/// Watches one request from routing to answer. Dropped unfinished (the client
/// cancelled, the connection closed), it records the request as cancelled.
pub(crate) struct Watch<'a> {
    metrics: &'a Metrics,
    sink: Option<&'a dyn SpanSink>,
    request: &'a Request,
    method: Label,
    trace: Option<Arc<RequestTrace>>,
    started: Instant,
    finished: bool,
}

impl<'a> Watch<'a> {
    pub(crate) fn start(
        metrics: &'a Metrics,
        sink: Option<&'a dyn SpanSink>,
        request: &'a Request,
        method: Label,
        trace: Option<Arc<RequestTrace>>,
    ) -> Self {
        if metrics.is_enabled() {
            metrics.in_flight().inc();
        }
        Self { metrics, sink, request, method, trace, started: Instant::now(), finished: false }
    }

    /// The span handler logs go in: only for traced requests, which carry the ids.
    pub(crate) fn span(&self) -> Option<tracing::Span> {
        let trace = self.trace.as_deref()?;
        Some(tracing::info_span!(
            target: REQUEST_TARGET,
            "request",
            trace_id = %trace.ours.trace_id(),
            span_id = %trace.ours.parent_id(),
        ))
    }

    /// Records the outcome.
    pub(crate) fn finish(mut self, outcome: Outcome) {
        self.finished = true;
        self.record(outcome);
    }

    fn record(&self, outcome: Outcome) {
        let elapsed = self.started.elapsed();
        match self.method {
            Label::Added(name) => self.metrics.record_added(name, outcome, elapsed),
            label => self.metrics.record(label.core(), outcome, elapsed),
        }
        if tracing::event_enabled!(target: REQUEST_TARGET, REQUEST_LEVEL) {
            // Microsecond precision: 0.151, not 0.15099999999999998.
            self.log(outcome, elapsed.as_micros() as f64 / 1000.0);
        }
        if let (Some(sink), Some(trace)) = (self.sink, self.trace.as_deref())
            && trace.recorded
        {
            sink.record(self.finished_span(trace, outcome, elapsed));
        }
    }

    /// The request as a finished span: named `<method> <target>`, with OpenTelemetry's
    /// MCP attribute names.
    fn finished_span(&self, trace: &RequestTrace, outcome: Outcome, elapsed: std::time::Duration) -> FinishedSpan {
        let method = self.method.name();
        let target = Target::of(self.request, self.method.core());
        let mut attributes = vec![
            ("mcp.method.name", AttributeValue::Text(method.to_owned())),
            ("jsonrpc.request.id", AttributeValue::Text(self.request.id.to_string())),
            ("tenet.outcome", AttributeValue::Text(outcome.label().to_owned())),
        ];
        let named = target.tool.as_deref().or(target.prompt.as_deref());
        if let Some(tool) = &target.tool {
            attributes.push(("gen_ai.tool.name", AttributeValue::Text(tool.to_string())));
        }
        if let Some(prompt) = &target.prompt {
            attributes.push(("gen_ai.prompt.name", AttributeValue::Text(prompt.to_string())));
        }
        if let Some(uri) = &target.uri {
            attributes.push(("mcp.resource.uri", AttributeValue::Text(uri.to_string())));
        }
        let error = match outcome {
            Outcome::Error(code) => {
                attributes.push(("rpc.jsonrpc.error_code", AttributeValue::Int(i64::from(code.0))));
                attributes.push(("error.type", AttributeValue::Text(outcome.label().to_owned())));
                Some(outcome.label().to_owned())
            }
            Outcome::ToolError => {
                attributes.push(("error.type", AttributeValue::Text("tool_error".into())));
                Some("the tool returned an error result".into())
            }
            Outcome::Cancelled => Some("cancelled".into()),
            _ => None,
        };
        FinishedSpan {
            trace_id: trace.ours.trace_id(),
            span_id: trace.ours.parent_id(),
            parent: trace.caller.as_ref().map(TraceContext::parent_id),
            remote_parent: trace.caller.is_some(),
            trace_state: trace.ours.state().map(str::to_owned),
            kind: SpanKind::Server,
            name: named.map_or_else(|| method.to_owned(), |n| format!("{method} {n}")),
            start: SystemTime::now().checked_sub(elapsed).unwrap_or(SystemTime::UNIX_EPOCH),
            duration: elapsed,
            attributes,
            error,
        }
    }

    fn log(&self, outcome: Outcome, duration_ms: f64) {
        let target = Target::of(self.request, self.method.core());
        let code = match outcome {
            Outcome::Error(code) => Some(code.0),
            _ => None,
        };
        let trace = self.trace.as_deref();
        tracing::event!(
            target: REQUEST_TARGET,
            REQUEST_LEVEL,
            id = %self.request.id,
            method = self.method.name(),
            tool = target.tool.as_deref(),
            prompt = target.prompt.as_deref(),
            uri = target.uri.as_deref(),
            duration_ms,
            outcome = outcome.label(),
            code,
            trace_id = trace.map(|t| display(t.ours.trace_id())),
            parent_id = trace.and_then(|t| t.caller.as_ref()).map(|c| display(c.parent_id())),
            span_id = trace.map(|t| display(t.ours.parent_id())),
            "request",
        );
    }
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.record(Outcome::Cancelled);
        }
        if self.metrics.is_enabled() {
            self.metrics.in_flight().dec();
        }
    }
}

/// What a request acts on: a tool, a prompt or a resource — names, never arguments.
#[derive(Default)]
struct Target<'a> {
    tool: Option<Cow<'a, str>>,
    prompt: Option<Cow<'a, str>>,
    uri: Option<Cow<'a, str>>,
}

impl<'a> Target<'a> {
    fn of(request: &'a Request, method: Option<Method>) -> Self {
        #[derive(serde::Deserialize)]
        struct Probe<'a> {
            #[serde(borrow, default)]
            name: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            uri: Option<Cow<'a, str>>,
        }
        let (Some(method @ (Method::ToolsCall | Method::PromptsGet | Method::ResourcesRead)), Some(params)) =
            (method, request.params.as_deref())
        else {
            return Self::default();
        };
        let Ok(probe) = serde_json::from_str::<Probe<'a>>(params.get()) else { return Self::default() };
        match method {
            Method::ToolsCall => Self { tool: probe.name, ..Self::default() },
            Method::PromptsGet => Self { prompt: probe.name, ..Self::default() },
            _ => Self { uri: probe.uri, ..Self::default() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, params: &str) -> Request {
        let line = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
        match tenet_jsonrpc::parse(line.as_bytes()) {
            Ok(tenet_jsonrpc::Incoming::Single(tenet_jsonrpc::Message::Request(r))) => r,
            _ => panic!("not a request: {line}"),
        }
    }

    #[test]
    fn the_target_is_the_name_or_uri_and_never_the_arguments() {
        let call = request("tools/call", r#"{"name":"search","arguments":{"query":"secret"}}"#);
        let t = Target::of(&call, Some(Method::ToolsCall));
        assert_eq!((t.tool.as_deref(), t.prompt, t.uri), (Some("search"), None, None));
        let get = request("prompts/get", r#"{"name":"brief","arguments":{"x":"y"}}"#);
        assert_eq!(Target::of(&get, Some(Method::PromptsGet)).prompt.as_deref(), Some("brief"));
        let read = request("resources/read", r#"{"uri":"stdlib://rust/testing"}"#);
        assert_eq!(Target::of(&read, Some(Method::ResourcesRead)).uri.as_deref(), Some("stdlib://rust/testing"));
        let list = request("tools/list", r#"{"name":"x"}"#);
        assert!(Target::of(&list, Some(Method::ToolsList)).tool.is_none(), "lists act on nothing by name");
        let odd = request("tools/call", r#"{"name":7}"#);
        assert!(Target::of(&odd, Some(Method::ToolsCall)).tool.is_none());
    }

    #[test]
    fn a_watch_counts_in_flight_and_records_cancellation_when_dropped() {
        let metrics = Metrics::new();
        let call = request("tools/call", r#"{"name":"slow"}"#);
        let watch = Watch::start(&metrics, None, &call, Label::Core(Method::ToolsCall), None);
        assert!(metrics.encode().contains("tenet_requests_in_flight 1\n"));
        drop(watch);
        let text = metrics.encode();
        assert!(text.contains("tenet_requests_in_flight 0\n"), "{text}");
        assert!(text.contains("tenet_requests_total{method=\"tools/call\",outcome=\"cancelled\"} 1\n"), "{text}");
        Watch::start(&metrics, None, &call, Label::Core(Method::ToolsCall), None).finish(Outcome::Ok);
        assert!(metrics.encode().contains("{method=\"tools/call\",outcome=\"ok\"} 1\n"));
    }

    #[test]
    fn span_ids_are_fresh_and_keep_the_callers_trace() {
        let caller = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        let (a, b) = (RequestTrace::new(caller.clone()), RequestTrace::new(caller.clone()));
        assert_ne!(a.ours.parent_id(), b.ours.parent_id());
        assert_ne!(a.ours.parent_id(), caller.parent_id());
        assert_eq!(a.ours.trace_id(), caller.trace_id());
    }
}
