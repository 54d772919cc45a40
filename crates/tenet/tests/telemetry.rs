//! Traces exported over OTLP: `tenet serve` sends its request spans to a collector on
//! loopback (a receiver in this test that decodes the OTLP protobuf), continuing the
//! caller's `traceparent`; a collector that is down or never answers costs the server
//! nothing; bad `OTEL_*` values stop it at start with the variable named.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{Tenet, initialize_params, legacy};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind, status::StatusCode};
use prost::Message;
use serde_json::{Value, json};

/// A collector on loopback: each request to `/v1/traces` decoded and kept, or (when
/// `hang`) read and never answered.
struct Collector {
    port: u16,
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

impl Collector {
    fn start(hang: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = kept.clone();
                thread::spawn(move || serve(stream, &kept, hang));
            }
        });
        Self { port, received }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spans(&self) -> Vec<(Vec<(String, String)>, Span)> {
        let received = self.received.lock().unwrap();
        let mut spans = Vec::new();
        for request in received.iter() {
            for resource_spans in &request.resource_spans {
                let resource = resource_spans.resource.as_ref().map(|r| attributes(&r.attributes)).unwrap_or_default();
                for scope in &resource_spans.scope_spans {
                    spans.extend(scope.spans.iter().map(|s| (resource.clone(), s.clone())));
                }
            }
        }
        spans
    }
}

fn serve(stream: TcpStream, kept: &Mutex<Vec<ExportTraceServiceRequest>>, hang: bool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut length = 0usize;
        let mut path = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if path.is_empty() {
                path = line.split(' ').nth(1).unwrap_or_default().to_owned();
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        if hang {
            thread::sleep(Duration::from_secs(3600));
        }
        assert_eq!(path, "/v1/traces");
        kept.lock().unwrap().push(ExportTraceServiceRequest::decode(body.as_slice()).unwrap());
        let _ =
            writer.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n");
    }
}

fn attributes(list: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> Vec<(String, String)> {
    list.iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(AnyValue::StringValue(s)) => s.clone(),
                Some(AnyValue::IntValue(n)) => n.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    attributes(&span.attributes).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `tenet serve --demo` on stdio, exporting to `endpoint`, with `env` too.
fn traced_server(endpoint: &str, env: &[(&str, &str)]) -> Tenet {
    let mut set = vec![("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint), ("OTEL_BSP_SCHEDULE_DELAY", "50")];
    set.extend_from_slice(env);
    let mut tenet = Tenet::start_with_env(&["serve", "--demo", "--log-level", "warn"], &OTEL_VARIABLES, &set);
    tenet.call(&legacy(0, "initialize", initialize_params("2025-11-25")));
    tenet.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    tenet
}

/// The variables a developer's shell may have set: removed, so that only the test's count.
const OTEL_VARIABLES: [&str; 8] = [
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_SERVICE_NAME",
    "OTEL_SDK_DISABLED",
];

fn echo(id: u64, traceparent: Option<&str>) -> Value {
    let mut params = json!({"name": "echo", "arguments": {"text": "hi"}});
    if let Some(tp) = traceparent {
        params["_meta"] = json!({"traceparent": tp, "tracestate": "vendor=1"});
    }
    legacy(id, "tools/call", params)
}

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

#[test]
fn request_spans_reach_the_collector_in_the_callers_trace() {
    let collector = Collector::start(false);
    let mut tenet = traced_server(&collector.url(), &[("OTEL_SERVICE_NAME", "standards")]);
    let sampled = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let unsampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    tenet.call(&echo(1, Some(&sampled)));
    tenet.call(&echo(2, None));
    tenet.call(&echo(3, Some(unsampled)));
    tenet.call(&legacy(4, "tools/call", json!({"name": "no_such_tool", "arguments": {}})));
    // Closing stdin ends the server, which sends what is still queued before it exits.
    tenet.close_stdin();
    assert!(tenet.wait_exit(Duration::from_secs(20)).success(), "{}", tenet.stderr_text());

    let spans = collector.spans();
    let calls: Vec<&(Vec<(String, String)>, Span)> =
        spans.iter().filter(|(_, s)| attribute(s, "mcp.method.name").as_deref() == Some("tools/call")).collect();
    // The caller's sampled trace, continued: its trace id, its span as the parent.
    let (resource, continued) = calls
        .iter()
        .find(|(_, s)| hex(&s.trace_id) == CALLER_TRACE)
        .unwrap_or_else(|| panic!("no span in the caller's trace among {spans:#?}"));
    assert_eq!(hex(&continued.parent_span_id), CALLER_SPAN);
    assert_eq!(continued.name, "tools/call echo");
    assert_eq!(continued.kind, SpanKind::Server as i32);
    assert_eq!(attribute(continued, "gen_ai.tool.name").as_deref(), Some("echo"));
    assert_eq!(attribute(continued, "tenet.outcome").as_deref(), Some("ok"));
    assert_eq!(attribute(continued, "jsonrpc.request.id").as_deref(), Some("1"));
    assert_eq!(continued.trace_state, "vendor=1");
    assert!(continued.end_time_unix_nano >= continued.start_time_unix_nano);
    assert!(resource.contains(&("service.name".into(), "standards".into())), "{resource:?}");
    // A request without a trace context starts a trace (parentbased_always_on); the one
    // whose caller did not sample is not recorded.
    let roots: Vec<_> = calls.iter().filter(|(_, s)| s.parent_span_id.is_empty()).collect();
    assert_eq!(roots.len(), 2, "request 2 and the failed call start traces: {calls:#?}");
    assert!(calls.iter().all(|(_, s)| hex(&s.trace_id) != "0af7651916cd43dd8448eb211c80319c"), "{calls:#?}");
    let failed = roots.iter().find(|(_, s)| attribute(s, "jsonrpc.request.id").as_deref() == Some("4")).unwrap();
    assert_eq!(failed.1.status.as_ref().map(|s| s.code), Some(StatusCode::Error as i32));
    assert!(attribute(&failed.1, "rpc.jsonrpc.error_code").is_some() || attribute(&failed.1, "error.type").is_some());
}

#[test]
fn the_ratio_sampler_records_about_its_share_of_new_traces() {
    let collector = Collector::start(false);
    let mut tenet =
        traced_server(&collector.url(), &[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.1")]);
    for id in 1..=400 {
        tenet.send(&echo(id, None));
    }
    for id in 1..=400u64 {
        tenet.response(id);
    }
    tenet.close_stdin();
    assert!(tenet.wait_exit(Duration::from_secs(20)).success());
    let calls = collector.spans().iter().filter(|(_, s)| s.name == "tools/call echo").count();
    assert!((15..=70).contains(&calls), "{calls} of 400 recorded at 10 %");
}

#[test]
fn a_collector_that_is_down_or_never_answers_costs_the_server_nothing() {
    // Down: nothing listens on the port.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    // Slow: it reads each request and never answers.
    let hanging = Collector::start(true);
    for endpoint in [down, hanging.url()] {
        let mut tenet = traced_server(&endpoint, &[("OTEL_EXPORTER_OTLP_TIMEOUT", "500")]);
        let started = Instant::now();
        for id in 1..=200 {
            tenet.send(&echo(id, Some(&format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))));
        }
        for id in 1..=200u64 {
            let response = tenet.response(id);
            assert!(response.get("result").is_some(), "{response}");
        }
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "200 calls took {took:?} with the collector at {endpoint}");
        // It shuts down in bounded time, saying what it could not send.
        tenet.close_stdin();
        assert!(tenet.wait_exit(Duration::from_secs(15)).success(), "{}", tenet.stderr_text());
        let stderr = tenet.stderr_text();
        assert!(stderr.contains("WARN") && stderr.to_lowercase().contains("export"), "no warning: {stderr}");
    }
}

#[test]
fn bad_otel_values_stop_the_server_at_start_naming_the_variable() {
    let collector = Collector::start(false);
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("OTEL_TRACES_SAMPLER", "sometimes")], "--traces-sampler"),
        (&[("OTEL_TRACES_SAMPLER_ARG", "often")], "--traces-sampler-arg"),
        (&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")], "--otlp-protocol"),
        (&[("OTEL_BSP_SCHEDULE_DELAY", "soon")], "OTEL_BSP_SCHEDULE_DELAY"),
    ];
    for (env, named) in cases {
        let mut set = vec![("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())];
        set.extend(env.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let set: Vec<(&str, &str)> = set.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut tenet = Tenet::start_with_env(&["serve", "--demo"], &OTEL_VARIABLES, &set);
        let status = tenet.wait_exit(Duration::from_secs(10));
        assert_eq!(status.code(), Some(2), "{env:?}: {}", tenet.stderr_text());
        let stderr = tenet.stderr_text();
        assert!(stderr.contains(named), "{env:?} should name {named}: {stderr}");
    }
}
