//! Spans for a tracing system: when the server is given a [`SpanSink`], every request
//! it serves becomes a span (continuing the caller's trace, or starting one), sampled
//! by the sink, and each request a handler makes on its behalf (a gateway's upstream,
//! a node's peer) becomes a child span ([`ChildSpan`]). The sink (an OpenTelemetry
//! exporter, in `tenet-telemetry`) batches and sends them off the request's path.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tenet_protocol::{SpanId, TraceContext, TraceId};

/// Where finished spans go. Implementations must not block: [`SpanSink::record`] runs
/// on the request's path, after its answer is made.
pub trait SpanSink: Send + Sync + fmt::Debug {
    /// Whether to record a request of trace `trace_id`, whose caller sent `caller`
    /// (`None`: the request starts the trace).
    fn sampled(&self, trace_id: TraceId, caller: Option<&TraceContext>) -> bool;
    /// Takes a finished, sampled span.
    fn record(&self, span: FinishedSpan);
}

/// Whether a span serves a request or makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// A request this server answered.
    Server,
    /// A request this server made on a request's behalf (to an upstream or a peer).
    Client,
}

/// A span, finished.
#[derive(Debug, Clone)]
pub struct FinishedSpan {
    /// Its trace.
    pub trace_id: TraceId,
    /// Its own id.
    pub span_id: SpanId,
    /// Its parent: the caller's span for a server span that continues a trace, the
    /// request's span for a client span; `None` for a trace's first span.
    pub parent: Option<SpanId>,
    /// Whether the parent is in another process (the caller's).
    pub remote_parent: bool,
    /// The caller's `tracestate`, passed on.
    pub trace_state: Option<String>,
    /// Server or client.
    pub kind: SpanKind,
    /// `"<method> <target>"` (`tools/call get_stdlib`), or the method alone.
    pub name: String,
    /// When it started.
    pub start: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// Attributes, by OpenTelemetry's names where it has them (`mcp.method.name`,
    /// `gen_ai.tool.name`, `error.type` …).
    pub attributes: Vec<(&'static str, AttributeValue)>,
    /// `Some(description)` when it failed.
    pub error: Option<String>,
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
}

/// Random bytes for ids: a per-thread generator (splitmix64), seeded from the OS
/// once per thread, so that an id costs a few instructions rather than a system call
/// (span and trace ids need to be unique and unguessable enough for sampling by
/// ratio, not secret).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
    }
    fn seed() -> u64 {
        let mut bytes = [0u8; 8];
        if getrandom::fill(&mut bytes).is_err() {
            let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            bytes = (nanos as u64 ^ u64::from(std::process::id()).rotate_left(32)).to_le_bytes();
        }
        u64::from_le_bytes(bytes)
    }
    let mut bytes = [0u8; N];
    STATE.with(|state| {
        for chunk in bytes.chunks_mut(8) {
            let mut z = state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
            state.set(z);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    });
    if bytes.iter().all(|&b| b == 0) {
        bytes[0] = 1;
    }
    bytes
}

/// A fresh span id.
pub(crate) fn new_span_id() -> SpanId {
    SpanId::from_bytes(random_bytes()).unwrap_or_else(|| unreachable!("the bytes are not all zero"))
}

/// A fresh trace id.
pub(crate) fn new_trace_id() -> TraceId {
    TraceId::from_bytes(random_bytes()).unwrap_or_else(|| unreachable!("the bytes are not all zero"))
}

/// A request made on a request's behalf, traced as a child of the request's span:
/// send [`ChildSpan::context`] with it, then [`ChildSpan::end`] it. Dropped without
/// an end (the request was cancelled), it is recorded as cancelled.
#[derive(Debug)]
pub struct ChildSpan {
    sink: Option<Arc<dyn SpanSink>>,
    context: TraceContext,
    parent: SpanId,
    name: String,
    attributes: Vec<(&'static str, AttributeValue)>,
    started: Instant,
    wall: SystemTime,
}

impl ChildSpan {
    /// A child of the span `parent` (whose context is `parent_context`); recorded in
    /// `sink` when that context is sampled.
    pub(crate) fn new(
        sink: Option<Arc<dyn SpanSink>>,
        parent_context: &TraceContext,
        describe: impl FnOnce() -> (String, Vec<(&'static str, AttributeValue)>),
    ) -> Self {
        let parent = parent_context.parent_id();
        let context = parent_context.child(new_span_id());
        let sink = sink.filter(|_| context.sampled());
        // A span that is not recorded needs no name.
        let (name, attributes) = if sink.is_some() { describe() } else { (String::new(), Vec::new()) };
        Self { sink, context, parent, name, attributes, started: Instant::now(), wall: SystemTime::now() }
    }

    /// The trace context to send with the request (`_meta.traceparent`): this span as
    /// the parent of what the receiver does.
    pub fn context(&self) -> &TraceContext {
        &self.context
    }

    /// Ends the span: `error` says why the request failed, if it did.
    pub fn end(mut self, error: Option<String>) {
        self.finish(error);
    }

    fn finish(&mut self, error: Option<String>) {
        let Some(sink) = self.sink.take() else { return };
        sink.record(FinishedSpan {
            trace_id: self.context.trace_id(),
            span_id: self.context.parent_id(),
            parent: Some(self.parent),
            remote_parent: false,
            trace_state: self.context.state().map(str::to_owned),
            kind: SpanKind::Client,
            name: std::mem::take(&mut self.name),
            start: self.wall,
            duration: self.started.elapsed(),
            attributes: std::mem::take(&mut self.attributes),
            error,
        });
    }
}

impl Drop for ChildSpan {
    fn drop(&mut self) {
        self.finish(Some("cancelled".into()));
    }
}
