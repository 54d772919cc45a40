//! The per-request log event of the real binary over stdio: one event per request
//! under the `tenet::request` target with id, method, tool, duration and outcome, the
//! caller's trace id from `_meta.traceparent`, and never the arguments.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::{Tenet, meta};
use serde_json::{Value, json};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";
const SECRET: &str = "do-not-log-this-argument";

/// A stateless `echo` of [`SECRET`] that carries a W3C trace context.
fn traced_echo(id: i64) -> Value {
    let mut m = meta();
    m["traceparent"] = json!(format!("00-{TRACE_ID}-{PARENT_ID}-01"));
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": SECRET}, "_meta": m}})
}

/// Serves a traced echo and an unknown method, then returns stderr once both
/// requests have been logged (or the wait ran out).
fn serve_two(format: &str, level: &str) -> String {
    let mut tenet = Tenet::start_with(&["serve", "--demo", "--log-level", level, "--log-format", format]);
    let reply = tenet.call(&traced_echo(1));
    assert_eq!(reply["result"]["content"][0]["text"], SECRET, "{reply}");
    let unknown = tenet.call(&json!({"jsonrpc": "2.0", "id": 2, "method": "no/such", "params": {"_meta": meta()}}));
    assert_eq!(unknown["error"]["code"], -32601);
    tenet.close_stdin();
    tenet.wait_exit(Duration::from_secs(20));
    tenet.wait_stderr(Duration::from_secs(5), |text| text.contains("every response written"))
}

#[test]
fn json_request_events_carry_the_fields_and_the_callers_trace() {
    let stderr = serve_two("json", "debug");
    let events: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .filter(|event: &Value| event["target"] == "tenet::request")
        .collect();
    assert_eq!(events.len(), 2, "one event per request:\n{stderr}");
    let echo = &events[0];
    assert_eq!(echo["level"], "DEBUG");
    assert_eq!(echo["id"], "1");
    assert_eq!(echo["method"], "tools/call");
    assert_eq!(echo["tool"], "echo");
    assert_eq!(echo["outcome"], "ok");
    assert!(echo["duration_ms"].as_f64().unwrap() > 0.0, "{echo}");
    assert_eq!(echo["trace_id"], TRACE_ID);
    assert_eq!(echo["parent_id"], PARENT_ID);
    let span = echo["span_id"].as_str().unwrap();
    assert!(span.len() == 16 && span != PARENT_ID && span.bytes().all(|b| b.is_ascii_hexdigit()), "{echo}");
    let unknown = &events[1];
    assert_eq!(
        (&unknown["method"], &unknown["outcome"], &unknown["code"]),
        (&json!("other"), &json!("method_not_found"), &json!(-32601))
    );
    assert!(unknown.get("trace_id").is_none() && unknown.get("tool").is_none(), "{unknown}");
    assert!(!stderr.contains(SECRET), "arguments are never logged:\n{stderr}");
}

#[test]
fn pretty_request_lines_show_the_same_fields() {
    let stderr = serve_two("pretty", "debug");
    let line = stderr.lines().find(|l| l.contains(" request id=1 ")).unwrap_or_else(|| panic!("{stderr}"));
    for field in [
        "method=\"tools/call\"",
        "tool=\"echo\"",
        "outcome=\"ok\"",
        "duration_ms=",
        &format!("trace_id={TRACE_ID}"),
        &format!("parent_id={PARENT_ID}"),
        "span_id=",
    ] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
    assert!(!stderr.contains(SECRET), "arguments are never logged:\n{stderr}");
}

#[test]
fn at_the_default_info_level_requests_are_not_logged() {
    let stderr = serve_two("json", "info");
    assert!(stderr.contains("serving MCP on stdio"), "{stderr}");
    assert!(!stderr.contains("tenet::request"), "a request line at info would cost more than the request:\n{stderr}");
}
