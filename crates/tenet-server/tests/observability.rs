//! Metrics and trace context over a stream client: requests counted by method and
//! outcome, rate-limit refusals counted, and a caller's `traceparent` seen by the
//! handler and carried on the requests it sends the client.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::common::Client;
use serde_json::{Value, json};
use tenet_server::protocol::TraceContext;
use tenet_server::spans::{AttributeValue, FinishedSpan, SpanKind, SpanSink};
use tenet_server::{Context, Metrics, Rate, RateLimiter, RateLimits, Server, ServerConfig, ToolDef, ToolError};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

async fn hello() -> String {
    "hello".into()
}

async fn fail() -> Result<String, ToolError> {
    Err(ToolError::msg("no luck"))
}

/// Answers with what it knows of the trace, after asking the client for its roots.
async fn traced(ctx: Context) -> Result<String, ToolError> {
    ctx.list_roots("roots").await?;
    let trace = ctx.trace().map(|t| format!("{} {}", t.trace_id(), t.parent_id())).unwrap_or_default();
    let span = ctx.span_id().map(|s| s.to_string()).unwrap_or_default();
    Ok(format!("{trace} {span}"))
}

fn server(config: ServerConfig) -> Server {
    Server::builder("observed", "1")
        .tool(ToolDef::new("hello", hello))
        .tool(ToolDef::new("fail", fail))
        .tool(ToolDef::new("traced", traced))
        .config(config)
        .build()
        .unwrap()
}

/// The value of the series `name` in an exposition; 0 when it is absent.
fn value(text: &str, name: &str) -> f64 {
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
}

#[tokio::test]
async fn requests_are_counted_by_method_and_outcome() {
    let server = server(ServerConfig::default());
    let metrics = server.metrics().clone();
    let mut c = Client::start(server);
    for id in 1..=3 {
        let ok = c.modern(id, "tools/call", json!({"name": "hello"}), json!({})).await;
        assert_eq!(ok["result"]["content"][0]["text"], "hello");
    }
    let failed = c.modern(4, "tools/call", json!({"name": "fail"}), json!({})).await;
    assert_eq!(failed["result"]["isError"], true, "{failed}");
    let unknown = c.modern(5, "tools/call", json!({"name": "nope"}), json!({})).await;
    assert_eq!(unknown["error"]["code"], -32602);
    let other = c.modern(6, "no/such/method", json!({}), json!({})).await;
    assert_eq!(other["error"]["code"], -32601);
    c.modern(7, "tools/list", json!({}), json!({})).await;
    c.finish().await;

    let text = metrics.encode();
    let count = |labels: &str| value(&text, &format!("tenet_requests_total{{{labels}}}"));
    assert_eq!(count(r#"method="tools/call",outcome="ok""#), 3.0, "{text}");
    assert_eq!(count(r#"method="tools/call",outcome="tool_error""#), 1.0, "{text}");
    assert_eq!(count(r#"method="tools/call",outcome="invalid_params""#), 1.0, "{text}");
    assert_eq!(count(r#"method="other",outcome="method_not_found""#), 1.0, "{text}");
    assert_eq!(count(r#"method="tools/list",outcome="ok""#), 1.0, "{text}");
    assert_eq!(value(&text, r#"tenet_request_duration_seconds_count{method="tools/call"}"#), 5.0, "{text}");
    assert_eq!(value(&text, "tenet_requests_in_flight"), 0.0, "{text}");
}

#[tokio::test]
async fn a_server_may_record_into_metrics_shared_with_its_application() {
    let shared = Metrics::new();
    let server = Server::builder("shared", "1").tool(ToolDef::new("hello", hello)).metrics(shared.clone()).build();
    let mut c = Client::start(server.unwrap());
    c.modern(1, "tools/call", json!({"name": "hello"}), json!({})).await;
    c.finish().await;
    assert_eq!(value(&shared.encode(), r#"tenet_requests_total{method="tools/call",outcome="ok"}"#), 1.0);
}

#[tokio::test]
async fn a_stdio_rate_limit_refusal_is_counted() {
    let limits = RateLimits { default: Some(Rate { per_second: 0.001, burst: 1 }), overrides: Vec::new() };
    let server =
        server(ServerConfig { rate_limit: Some(Arc::new(RateLimiter::new(limits))), ..ServerConfig::default() });
    let metrics = server.metrics().clone();
    let mut c = Client::start(server);
    c.modern(1, "tools/list", json!({}), json!({})).await;
    let refused = c.modern(2, "tools/list", json!({}), json!({})).await;
    assert_eq!(refused["error"]["code"], -32004);
    c.finish().await;
    assert_eq!(value(&metrics.encode(), "tenet_rate_limited_total"), 1.0);
}

#[tokio::test]
async fn the_callers_trace_reaches_the_handler_and_the_requests_it_sends() {
    let mut c = Client::start(server(ServerConfig::default()));
    c.initialize("2025-11-25", json!({"roots": {}})).await;
    let params = json!({"name": "traced", "_meta": {"traceparent": TRACEPARENT, "tracestate": "vendor=1"}});
    c.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})).await;
    let ask = c.next().await;
    assert_eq!(ask["method"], "roots/list", "{ask}");
    let sent = ask["params"]["_meta"]["traceparent"].as_str().unwrap().to_owned();
    assert_eq!(ask["params"]["_meta"]["tracestate"], "vendor=1", "{ask}");
    let parts: Vec<&str> = sent.split('-').collect();
    assert_eq!(parts.len(), 4, "{sent}");
    assert_eq!(parts[0], "00");
    assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736", "the same trace");
    assert_ne!(parts[2], "00f067aa0ba902b7", "a span of ours as the parent");
    assert_eq!(parts[2].len(), 16);
    c.send(&json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"roots": []}})).await;
    let answer = c.response(&json!(1)).await;
    let text = answer["result"]["content"][0]["text"].as_str().unwrap();
    assert_eq!(text, format!("4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 {}", parts[2]), "{answer}");

    // Without a trace (or with a broken one) nothing is added, and nothing fails.
    let params = json!({"name": "traced", "_meta": {"traceparent": "00-junk", "tracestate": 7}});
    c.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params})).await;
    let ask = c.next().await;
    assert_eq!(ask["params"].get("_meta"), None::<&Value>, "{ask}");
    c.send(&json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"roots": []}})).await;
    let answer = c.response(&json!(2)).await;
    assert_eq!(answer["result"]["content"][0]["text"], " ", "no trace, no span: {answer}");
    c.finish().await;
}

/// A sink that keeps what it is given, sampling by a fixed answer.
#[derive(Debug, Default)]
struct Kept {
    sample: bool,
    spans: std::sync::Mutex<Vec<FinishedSpan>>,
}

impl SpanSink for Kept {
    fn sampled(&self, _trace: tenet_server::protocol::TraceId, caller: Option<&TraceContext>) -> bool {
        caller.map_or(self.sample, TraceContext::sampled)
    }

    fn record(&self, span: FinishedSpan) {
        self.spans.lock().unwrap().push(span);
    }
}

/// Makes a call on the request's behalf, as a gateway does, traced as a child span.
async fn relay(ctx: Context) -> Result<String, ToolError> {
    let span =
        ctx.child_span(|| ("tools/call upstream".into(), vec![("tenet.upstream", AttributeValue::Text("up".into()))]));
    let sent = span.as_ref().map(|s| s.context().traceparent()).unwrap_or_default();
    if let Some(span) = span {
        span.end(None);
    }
    Ok(sent)
}

#[tokio::test]
async fn exported_spans_link_the_caller_the_request_and_the_calls_it_makes() {
    let sink = Arc::new(Kept { sample: true, ..Kept::default() });
    let config = ServerConfig { spans: Some(sink.clone()), ..ServerConfig::default() };
    let server = Server::builder("observed", "1")
        .tool(ToolDef::new("relay", relay))
        .tool(ToolDef::new("fail", fail))
        .config(config)
        .build()
        .unwrap();
    let mut c = Client::start(server);
    c.initialize("2025-11-25", json!({})).await;
    let params = json!({"name": "relay", "_meta": {"traceparent": TRACEPARENT, "tracestate": "vendor=1"}});
    let answer = c.call(1, "tools/call", params).await;
    let sent = answer["result"]["content"][0]["text"].as_str().unwrap().to_owned();
    let spans = std::mem::take(&mut *sink.spans.lock().unwrap());
    let request = spans.iter().find(|s| s.name == "tools/call relay").expect("the request's span");
    assert_eq!(request.kind, SpanKind::Server);
    let child = spans.iter().find(|s| s.kind == SpanKind::Client).expect("the relayed call's span");
    assert_eq!(request.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(request.parent.map(|p| p.to_string()).as_deref(), Some("00f067aa0ba902b7"));
    assert!(request.remote_parent);
    assert_eq!(request.name, "tools/call relay");
    assert_eq!(request.trace_state.as_deref(), Some("vendor=1"));
    assert_eq!(child.trace_id, request.trace_id);
    assert_eq!(child.parent, Some(request.span_id), "the call is a child of the request");
    assert!(!child.remote_parent);
    assert_eq!(sent, format!("00-{}-{}-01", child.trace_id, child.span_id), "the upstream continues from the call");

    // No caller's context: a trace starts here. A caller that did not sample: nothing
    // is recorded, and what goes on says so.
    c.call(2, "tools/call", json!({"name": "fail"})).await;
    let params =
        json!({"name": "relay", "_meta": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}});
    let answer = c.call(3, "tools/call", params).await;
    let sent = answer["result"]["content"][0]["text"].as_str().unwrap().to_owned();
    assert!(sent.ends_with("-00"), "{sent}");
    let spans = std::mem::take(&mut *sink.spans.lock().unwrap());
    assert_eq!(spans.len(), 1, "only the failed call's: {spans:#?}");
    assert_eq!(spans[0].parent, None);
    assert_eq!(spans[0].name, "tools/call fail");
    assert!(spans[0].error.is_some(), "a tool error is an error span");
    c.finish().await;
}
