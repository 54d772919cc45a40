//! End-to-end tests of `tenet serve` over stdio: the real binary, newline-delimited
//! JSON-RPC on its stdin/stdout, malformed input, lifecycle, both protocol eras,
//! cancellation, shutdown (EOF and SIGTERM), back-pressure and stdout hygiene.
//!
//! Every test that leaves the server running ends by checking it is still up and still
//! answers a valid request.

use crate::common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::common::{
    LATEST_LEGACY, MODERN, Tenet, assert_error, assert_error_with_null_id, assert_result, initialize_params,
    is_response_to, legacy, meta, stateless, stateless_echo, tool_text,
};
use serde_json::{Value, json};

// JSON-RPC and MCP error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// `params` for a `countdown` call.
fn countdown(steps: u32, step_ms: u64) -> Value {
    json!({"name": "countdown", "arguments": {"steps": steps, "step_ms": step_ms}})
}

// ---------------------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------------------

#[test]
fn invalid_utf8_line_is_a_parse_error_without_id() {
    let mut server = Tenet::start();
    server.send_raw(b"\xff\xfe");
    let response = server.next_message();
    assert_error(&response, PARSE_ERROR, &Value::Null);

    // An otherwise well-formed request with an invalid byte inside a string.
    server.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":\"u\",\"method\":\"ping\",\"params\":{\"a\":\"\xc3\x28\"}}");
    let response = server.next_message();
    assert_error(&response, PARSE_ERROR, &Value::Null);
    server.assert_alive();
}

#[test]
fn sessions_before_2025_11_25_get_a_null_id_for_unreadable_requests() {
    let mut server = Tenet::start();
    server.initialize("2025-06-18");
    server.send_raw(br#"{"jsonrpc":"2.0","id":1,"method":"pi"#);
    assert_error_with_null_id(&server.next_message(), PARSE_ERROR);
    server.assert_alive();
}

#[test]
fn truncated_json_is_a_parse_error_without_id() {
    let mut server = Tenet::start();
    server.send_raw(br#"{"jsonrpc":"2.0","id":1,"method":"pi"#);
    let response = server.next_message();
    assert_error(&response, PARSE_ERROR, &Value::Null);
    server.assert_alive();
}

#[test]
fn batch_is_rejected_on_a_2025_11_25_session() {
    let mut server = Tenet::start();
    server.initialize(LATEST_LEGACY);
    let batch = json!([legacy("b1", "ping", Value::Null), legacy("b2", "tools/list", Value::Null)]);
    server.send(&batch);
    let response = server.next_message();
    assert!(response.is_object(), "a rejected batch gets one error object, not an array: {response}");
    assert_error(&response, INVALID_REQUEST, &Value::Null);
    server.assert_alive();
    // The batch's requests were not run.
    let stray: Vec<Value> = server
        .collect_for(Duration::from_millis(200))
        .into_iter()
        .filter(|m| is_response_to(m, &json!("b1")) || is_response_to(m, &json!("b2")))
        .collect();
    assert!(stray.is_empty(), "requests of a rejected batch were answered: {stray:?}");
}

#[test]
fn batch_of_two_requests_is_answered_as_one_array_on_a_2025_03_26_session() {
    let mut server = Tenet::start();
    let init = server.initialize("2025-03-26");
    assert_eq!(init["protocolVersion"], "2025-03-26");
    server.send(&json!([legacy(1, "ping", Value::Null), legacy(2, "tools/list", Value::Null)]));
    let response = server.next_message();
    let entries = response.as_array().unwrap_or_else(|| panic!("expected one JSON array, got {response}"));
    assert_eq!(entries.len(), 2, "expected both responses in the array: {response}");
    let ping = entries.iter().find(|r| r["id"] == 1).unwrap_or_else(|| panic!("no response to id 1: {response}"));
    assert_eq!(assert_result(ping, &json!(1)), &json!({}));
    let list = entries.iter().find(|r| r["id"] == 2).unwrap_or_else(|| panic!("no response to id 2: {response}"));
    assert!(assert_result(list, &json!(2))["tools"].is_array(), "tools/list result: {list}");
    server.assert_alive();
}

#[test]
fn jsonrpc_1_0_is_an_invalid_request_with_its_id() {
    let mut server = Tenet::start();
    server.send_raw(br#"{"jsonrpc":"1.0","id":41,"method":"ping"}"#);
    let response = server.next_message();
    assert_error(&response, INVALID_REQUEST, &json!(41));
    server.assert_alive();
}

#[test]
fn request_without_method_is_an_invalid_request_with_its_id() {
    let mut server = Tenet::start();
    server.send_raw(br#"{"jsonrpc":"2.0","id":"no-method","params":{}}"#);
    let response = server.next_message();
    assert_error(&response, INVALID_REQUEST, &json!("no-method"));
    server.assert_alive();
}

#[test]
fn scalar_params_are_an_invalid_request_and_array_params_are_invalid_params() {
    let mut server = Tenet::start();
    server.send_raw(br#"{"jsonrpc":"2.0","id":5,"method":"ping","params":5}"#);
    let response = server.next_message();
    assert_error(&response, INVALID_REQUEST, &json!(5));

    server.send_raw(br#"{"jsonrpc":"2.0","id":6,"method":"ping","params":[]}"#);
    let response = server.next_message();
    assert_error(&response, INVALID_PARAMS, &json!(6));
    server.assert_alive();
}

#[test]
fn null_request_id_is_an_invalid_request_without_id() {
    let mut server = Tenet::start();
    server.send_raw(br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#);
    let response = server.next_message();
    assert_error(&response, INVALID_REQUEST, &Value::Null);
    server.assert_alive();
}

#[test]
fn ten_megabyte_line_gets_one_parse_error_and_the_next_line_is_served() {
    let mut server = Tenet::start();
    let big =
        stateless("big", "tools/call", json!({"name": "echo", "arguments": {"text": "x".repeat(10 * 1024 * 1024)}}));
    let mut bytes = serde_json::to_vec(&big).expect("serialize");
    bytes.push(b'\n');
    // The next valid request follows right on the next line, in the same write.
    serde_json::to_writer(&mut bytes, &stateless_echo("after", "next line")).expect("serialize");
    bytes.push(b'\n');
    server.write_bulk(&bytes);

    let after = server.response("after");
    assert_eq!(tool_text(assert_result(&after, &json!("after"))), "next line");
    let mut seen = server.take_pending();
    seen.extend(server.collect_for(Duration::from_millis(300)));
    let parse_errors = seen.iter().filter(|m| m["error"]["code"] == PARSE_ERROR).count();
    assert_eq!(parse_errors, 1, "expected exactly one -32700 for the over-long line: {seen:?}");
    for message in &seen {
        assert_error(message, PARSE_ERROR, &Value::Null);
    }
    server.assert_alive();
}

#[test]
fn ten_thousand_levels_of_nesting_are_a_parse_error_not_a_crash() {
    let mut server = Tenet::start();
    let depth = 10_000;
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let nested = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        let line = format!(
            r#"{{"jsonrpc":"2.0","id":"deep","method":"tools/call","params":{{"_meta":{},"name":"echo","arguments":{{"text":{nested}}}}}}}"#,
            meta()
        );
        server.send_raw(line.as_bytes());
        let response = server.next_message();
        assert_error(&response, PARSE_ERROR, &Value::Null);
        server.assert_alive();
    }
}

// ---------------------------------------------------------------------------------------
// Request ids, lifecycle, versions
// ---------------------------------------------------------------------------------------

/// A batch is admitted whole, so it alone could put any number of requests in flight:
/// past the session's bound (1 024), each further one is refused (-32004), the others
/// are served, and so is the next request.
#[test]
fn a_batch_past_the_bound_on_requests_in_flight_gets_its_excess_refused() {
    const RATE_LIMITED: i64 = -32004;
    let mut server = Tenet::start();
    server.initialize("2025-03-26");
    let batch: Vec<Value> = (0..1030).map(|id| legacy(id, "tools/call", countdown(1, 300))).collect();
    server.send(&Value::Array(batch));
    // The countdowns' log messages come first; then the batch's one array.
    let response = loop {
        let message = server.next_message();
        if message.is_array() || message.get("method").is_none() {
            break message;
        }
    };
    let entries = response.as_array().unwrap_or_else(|| panic!("expected one JSON array, got {response}"));
    assert_eq!(entries.len(), 1030);
    let refused: Vec<&Value> = entries.iter().filter(|e| e["error"]["code"] == RATE_LIMITED).collect();
    assert_eq!(refused.len(), 6, "{refused:?}");
    assert!(refused[0]["error"]["message"].as_str().is_some_and(|m| m.contains("in flight")), "{}", refused[0]);
    // A -32004 says when to retry, as every rate-limited refusal does.
    assert!(refused.iter().all(|e| e["error"]["data"]["retryAfterMs"] == 100), "{}", refused[0]);
    let served = entries.iter().filter(|e| tool_text(&e["result"]) == "counted down 1 steps").count();
    assert_eq!(served, 1024);
    server.assert_alive();
}

#[test]
fn duplicate_in_flight_id_is_rejected_and_the_original_still_completes() {
    let mut server = Tenet::start();
    server.send(&stateless(7, "tools/call", countdown(5, 100)));
    server.send(&stateless_echo(7, "same id"));
    let first = server.response(7);
    assert_error(&first, INVALID_REQUEST, &json!(7));
    let second = server.response(7);
    let result = assert_result(&second, &json!(7));
    assert_eq!(result.get("isError"), None, "{second}");
    assert_eq!(tool_text(result), "counted down 5 steps");
    server.assert_alive();
}

#[test]
fn requests_before_initialize_are_rejected_but_ping_is_answered() {
    let mut server = Tenet::start();
    let response = server.call(&legacy(1, "tools/list", Value::Null));
    assert_error(&response, INVALID_REQUEST, &json!(1));
    let response = server.call(&legacy(2, "tools/call", json!({"name": "echo", "arguments": {"text": "x"}})));
    assert_error(&response, INVALID_REQUEST, &json!(2));
    let response = server.call(&legacy(3, "ping", Value::Null));
    assert_eq!(assert_result(&response, &json!(3)), &json!({}));

    server.initialize(LATEST_LEGACY);
    let response = server.call(&legacy(4, "tools/list", Value::Null));
    assert!(assert_result(&response, &json!(4))["tools"].is_array());
    let response = server.call(&legacy(5, "ping", Value::Null));
    assert_eq!(assert_result(&response, &json!(5)), &json!({}));
    server.assert_alive();
}

/// Lifecycle state is judged in the order messages are read: a request read before
/// `initialize` is a request before initialize, even when `initialize` is the very next
/// line and the two arrive in one write.
#[test]
fn requests_read_before_initialize_are_rejected_even_if_initialize_follows_at_once() {
    for round in 0..5 {
        let mut server = Tenet::start();
        let mut lines = Vec::new();
        for id in 1..=50 {
            lines.push(legacy(id, "tools/list", Value::Null));
        }
        lines.push(legacy("init", "initialize", initialize_params(LATEST_LEGACY)));
        server.send_many(lines);
        assert_result(&server.response("init"), &json!("init"));
        for id in 1..=50 {
            let response = server.response(id);
            assert_eq!(
                response["error"]["code"],
                INVALID_REQUEST,
                "round {round}: tools/list id {id}, read before initialize, was served as if after it: {}",
                response.to_string().chars().take(200).collect::<String>()
            );
        }
        server.assert_alive();
    }
}

#[test]
fn second_initialize_is_an_invalid_request() {
    let mut server = Tenet::start();
    server.initialize(LATEST_LEGACY);
    let response = server.call(&legacy(2, "initialize", initialize_params(LATEST_LEGACY)));
    assert_error(&response, INVALID_REQUEST, &json!(2));
    let response = server.call(&legacy(3, "ping", Value::Null));
    assert_eq!(assert_result(&response, &json!(3)), &json!({}));
    server.assert_alive();
}

#[test]
fn unknown_legacy_version_negotiates_the_latest_legacy_version() {
    let mut server = Tenet::start();
    let result = server.initialize("1999-01-01");
    assert_eq!(result["protocolVersion"], LATEST_LEGACY, "{result}");
    assert!(result["serverInfo"]["name"].is_string(), "{result}");
    let response = server.call(&legacy(2, "ping", Value::Null));
    assert_eq!(assert_result(&response, &json!(2)), &json!({}));
    server.assert_alive();
}

#[test]
fn unsupported_stateless_version_is_32022_with_supported_and_requested() {
    let mut server = Tenet::start();
    let bad_meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2099-01-01",
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    for (id, method, params) in [
        ("call", "tools/call", json!({"_meta": bad_meta, "name": "echo", "arguments": {"text": "x"}})),
        ("discover", "server/discover", json!({"_meta": bad_meta})),
    ] {
        let response = server.call(&legacy(id, method, params));
        let error = assert_error(&response, UNSUPPORTED_PROTOCOL_VERSION, &json!(id));
        let supported = error["data"]["supported"].as_array().unwrap_or_else(|| panic!("data.supported: {response}"));
        assert!(supported.contains(&json!(MODERN)), "data.supported lacks {MODERN}: {response}");
        assert_eq!(error["data"]["requested"], "2099-01-01", "{response}");
    }
    server.assert_alive();
}

// ---------------------------------------------------------------------------------------
// Methods and tools
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_method_is_method_not_found_in_both_eras() {
    let mut server = Tenet::start();
    let response = server.call(&stateless("s", "tools/frobnicate", json!({})));
    assert_error(&response, METHOD_NOT_FOUND, &json!("s"));
    server.initialize(LATEST_LEGACY);
    let response = server.call(&legacy("l", "tools/frobnicate", json!({})));
    assert_error(&response, METHOD_NOT_FOUND, &json!("l"));
    server.assert_alive();
}

#[test]
fn methods_removed_in_2026_are_method_not_found_statelessly() {
    let mut server = Tenet::start();
    for (id, method, params) in [
        ("ping", "ping", json!({})),
        ("set-level", "logging/setLevel", json!({"level": "debug"})),
        ("subscribe", "resources/subscribe", json!({"uri": "tenet://about"})),
    ] {
        let response = server.call(&stateless(id, method, params));
        assert_error(&response, METHOD_NOT_FOUND, &json!(id));
    }
    server.assert_alive();
}

#[test]
fn unknown_tool_is_invalid_params_in_both_eras() {
    let mut server = Tenet::start();
    let params = json!({"name": "no-such-tool", "arguments": {}});
    let response = server.call(&stateless("s", "tools/call", params.clone()));
    assert_error(&response, INVALID_PARAMS, &json!("s"));
    server.initialize(LATEST_LEGACY);
    let response = server.call(&legacy("l", "tools/call", params));
    assert_error(&response, INVALID_PARAMS, &json!("l"));
    server.assert_alive();
}

#[test]
fn bad_tool_arguments_are_is_error_results_naming_the_field() {
    let mut server = Tenet::start();
    server.initialize(LATEST_LEGACY);
    let cases = [
        ("wrong type", json!({"name": "countdown", "arguments": {"steps": 1, "step_ms": "fast"}}), "step_ms"),
        ("missing required", json!({"name": "countdown", "arguments": {"steps": 1}}), "step_ms"),
        ("extra argument", json!({"name": "echo", "arguments": {"text": "x", "bogus_field": 1}}), "bogus_field"),
    ];
    for (n, (what, params, field)) in cases.into_iter().enumerate() {
        for (era, request) in [
            ("stateless", stateless(format!("s{n}"), "tools/call", params.clone())),
            ("legacy", legacy(format!("l{n}"), "tools/call", params.clone())),
        ] {
            let response = server.call(&request);
            let result = assert_result(&response, &request["id"]);
            assert_eq!(result["isError"], true, "{era} {what}: expected an isError result: {response}");
            let text = tool_text(result);
            assert!(text.contains(field), "{era} {what}: the error text does not name {field:?}: {text:?}");
        }
    }
    server.assert_alive();
}

// ---------------------------------------------------------------------------------------
// Cancellation
// ---------------------------------------------------------------------------------------

#[test]
fn cancellation_for_an_unknown_id_is_ignored() {
    let mut server = Tenet::start();
    server.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 12345}}));
    server.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "nope"}}));
    let seen = server.collect_for(Duration::from_millis(500));
    assert!(seen.is_empty(), "a cancellation of nothing was answered: {seen:?}");
    server.assert_alive();
}

#[test]
fn cancelled_in_flight_request_never_gets_a_response() {
    let mut server = Tenet::start();
    // 20 steps of 100 ms: it would answer after about 2 s.
    server.send(&stateless(9, "tools/call", countdown(20, 100)));
    std::thread::sleep(Duration::from_millis(300));
    server.send(&json!({
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": 9, "reason": "test"},
    }));
    // Other requests still work while (and after) the cancellation lands.
    let response = server.call(&stateless_echo("other", "meanwhile"));
    assert_eq!(tool_text(assert_result(&response, &json!("other"))), "meanwhile");
    // Wait past the time the countdown would have finished.
    let seen = server.collect_for(Duration::from_millis(2500));
    let answered: Vec<&Value> = seen.iter().filter(|m| m.get("id") == Some(&json!(9))).collect();
    assert!(answered.is_empty(), "the cancelled request was answered: {answered:?}");
    // Its id is free again.
    let response = server.call(&stateless_echo(9, "reused"));
    assert_eq!(tool_text(assert_result(&response, &json!(9))), "reused");
    server.assert_alive();
}

// ---------------------------------------------------------------------------------------
// Shutdown, throughput, back-pressure
// ---------------------------------------------------------------------------------------

#[test]
fn eof_right_after_a_burst_answers_every_request_and_exits_0() {
    const N: u64 = 2_000;
    let mut server = Tenet::start();
    server.send_many((0..N).map(|i| stateless_echo(i, &format!("m{i}"))));
    server.close_stdin();
    let messages = server.messages_to_eof(Duration::from_secs(60));
    assert_eq!(messages.len() as u64, N, "expected exactly {N} responses");
    let mut ids = HashSet::new();
    for message in &messages {
        let id = message["id"].as_u64().unwrap_or_else(|| panic!("unexpected message: {message}"));
        let result = assert_result(message, &json!(id));
        assert_eq!(tool_text(result), format!("m{id}"), "{message}");
        assert!(ids.insert(id), "id {id} answered twice");
    }
    assert_eq!(ids, (0..N).collect::<HashSet<_>>());
    let status = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "exit status {status}");
}

#[test]
fn sigterm_writes_the_in_flight_response_then_exits_0() {
    let mut server = Tenet::start();
    let mut params = countdown(5, 100);
    params["_meta"] = meta();
    params["_meta"]["progressToken"] = json!("term");
    server.send(&json!({"jsonrpc": "2.0", "id": "slow", "method": "tools/call", "params": params}));
    // Two progress notifications: the request is surely in flight.
    let mut progress = 0;
    let deadline = Instant::now() + common::TIMEOUT;
    while progress < 2 {
        let message = server.next_message_before(deadline).expect("no progress from the countdown");
        assert_eq!(message["method"], "notifications/progress", "unexpected message: {message}");
        progress += 1;
    }
    server.sigterm();
    let response = server.response("slow");
    assert_eq!(tool_text(assert_result(&response, &json!("slow"))), "counted down 5 steps");
    // stdin is still open: the signal alone ends the process.
    let status = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "exit status {status}");
}

/// Guards the back-pressure design: input is read only as fast as work is admitted
/// (bounded in-flight requests, a bounded outbound queue), so a client writing
/// 100 000 requests as fast as it can must not make the server buffer them: its peak
/// resident memory (VmHWM) during the burst stays within 16 MB of what it held after
/// 1 000 requests one at a time (code paged in, pools warmed), where buffering the burst
/// would take far more (its requests alone are 22 MB of JSON). Growth, not the total: the
/// total of a debug binary follows how much of its code is resident, and with it the
/// build's settings.
#[test]
fn burst_of_100k_requests_is_all_answered_in_bounded_memory() {
    const WARM: usize = 1_000;
    const N: usize = 100_000;
    const MAX_GROWTH_KB: u64 = 16 * 1024;
    let mut server = Tenet::start();
    let deadline = Instant::now() + Duration::from_secs(120);
    for i in 0..WARM {
        server.send(&stateless_echo(N + i, "warm"));
        let message = server.next_message_before(deadline).expect("an answer to the warm-up");
        assert!(message.get("result").is_some(), "{message}");
    }
    let warm_kb = server.proc_status_kb("VmRSS");
    let started = Instant::now();
    // The reader thread drains stdout while this thread writes.
    server.send_many((0..N).map(|i| stateless_echo(i, "burst")));
    let mut seen = vec![false; N];
    let mut answered = 0;
    while answered < N {
        let Some(message) = server.next_message_before(deadline) else {
            panic!("only {answered} of {N} answered after {:?}", started.elapsed());
        };
        let id = message["id"].as_u64().unwrap_or_else(|| panic!("unexpected message: {message}"));
        let id = usize::try_from(id).expect("id fits");
        assert!(message.get("result").is_some(), "{message}");
        assert!(!std::mem::replace(&mut seen[id], true), "id {id} answered twice");
        answered += 1;
    }
    let hwm_kb = server.proc_status_kb("VmHWM");
    let growth_kb = hwm_kb.saturating_sub(warm_kb);
    eprintln!("{N} requests answered in {:?}; peak RSS {hwm_kb} kB, {warm_kb} kB after the warm-up", started.elapsed());
    assert!(
        growth_kb < MAX_GROWTH_KB,
        "peak RSS {hwm_kb} kB is {growth_kb} kB over the {warm_kb} kB after the warm-up (bound {MAX_GROWTH_KB} kB)"
    );
    server.assert_alive();
    server.close_stdin();
    let status = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "exit status {status}");
}

// ---------------------------------------------------------------------------------------
// Output hygiene, progress, era shapes
// ---------------------------------------------------------------------------------------

#[test]
fn stdout_carries_only_json_rpc_even_with_debug_logging() {
    let mut server = Tenet::start_with(&["serve", "--demo", "--log-level", "debug"]);
    let mut with_progress = countdown(3, 10);
    with_progress["_meta"] = json!({"progressToken": 4});
    let mut lines = vec![
        legacy(1, "ping", Value::Null),
        legacy(2, "initialize", initialize_params(LATEST_LEGACY)),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        legacy(3, "logging/setLevel", json!({"level": "debug"})),
        legacy(4, "tools/call", with_progress),
        legacy(5, "tools/call", json!({"name": "echo", "arguments": {"text": "line\nbreak \u{2028} \"quoted\""}})),
        legacy(6, "tools/frobnicate", Value::Null),
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 999}}),
        stateless(7, "server/discover", json!({})),
    ];
    let mut logged = stateless(8, "tools/call", countdown(3, 10));
    logged["params"]["_meta"]["io.modelcontextprotocol/logLevel"] = json!("debug");
    logged["params"]["_meta"]["progressToken"] = json!("eight");
    lines.push(logged);
    // `initialize` is handled before anything read after it, so the whole session can go
    // in one write; then EOF, and every line the server ever wrote is read raw.
    server.send_many(lines);
    server.send_raw(b"not json at all");
    server.close_stdin();
    let raw = server.raw_lines_to_eof(Duration::from_secs(20));
    let mut ids = HashSet::new();
    let mut log_notifications = 0;
    for line in &raw {
        let text = String::from_utf8_lossy(line);
        let message: Value =
            serde_json::from_slice(line).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {text:?}"));
        let entries = match &message {
            Value::Array(entries) => entries.clone(),
            other => vec![other.clone()],
        };
        for entry in entries {
            assert_eq!(entry["jsonrpc"], "2.0", "stdout line is not a JSON-RPC 2.0 message: {text:?}");
            if let Some(id) = entry["id"].as_u64() {
                ids.insert(id);
            }
            if entry["method"] == "notifications/message" {
                log_notifications += 1;
            }
        }
    }
    assert_eq!(ids, (1..=8).collect::<HashSet<_>>(), "every request of the session is answered");
    assert!(log_notifications > 0, "the countdowns' log messages should reach stdout as notifications");
    assert_eq!(server.wait_exit(Duration::from_secs(10)).code(), Some(0));
    assert!(!server.stderr_text().trim().is_empty(), "the session logged nothing to stderr at debug level");
}

#[test]
fn progress_notifications_carry_the_token_increase_strictly_and_precede_the_response() {
    let mut server = Tenet::start();
    server.initialize(LATEST_LEGACY);
    let mut modern = countdown(5, 20);
    modern["_meta"] = meta();
    modern["_meta"]["progressToken"] = json!("tok-modern");
    let mut old = countdown(5, 20);
    old["_meta"] = json!({"progressToken": 77});
    for (id, token, params) in [("modern", json!("tok-modern"), modern), ("legacy", json!(77), old)] {
        server.take_pending();
        let response = server.call(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}));
        assert_eq!(tool_text(assert_result(&response, &json!(id))), "counted down 5 steps");
        let before: Vec<Value> =
            server.take_pending().into_iter().filter(|m| m["method"] == "notifications/progress").collect();
        assert!(before.len() >= 5, "{id}: expected a progress notification per step before the response: {before:?}");
        let mut last = f64::NEG_INFINITY;
        for notification in &before {
            assert_eq!(notification["params"]["progressToken"], token, "{id}: wrong token: {notification}");
            let progress = notification["params"]["progress"].as_f64().expect("progress is a number");
            assert!(progress > last, "{id}: progress not strictly increasing: {before:?}");
            last = progress;
        }
        let after: Vec<Value> = server
            .collect_for(Duration::from_millis(300))
            .into_iter()
            .filter(|m| m["method"] == "notifications/progress")
            .collect();
        assert!(after.is_empty(), "{id}: progress after the response: {after:?}");
    }
    server.assert_alive();
}

#[test]
fn stateless_results_carry_result_type_and_cache_hints_and_legacy_results_do_not() {
    let mut server = Tenet::start();
    let response = server.call(&stateless("discover", "server/discover", json!({})));
    let result = assert_result(&response, &json!("discover"));
    assert_eq!(result["resultType"], "complete", "{response}");
    assert_eq!(result["supportedVersions"], json!([MODERN]), "{response}");
    assert!(result["ttlMs"].as_u64().is_some(), "ttlMs must be a non-negative integer: {response}");
    assert!(matches!(result["cacheScope"].as_str(), Some("public" | "private")), "cacheScope: {response}");
    assert!(result["capabilities"].is_object(), "{response}");

    let response = server.call(&stateless("list", "tools/list", json!({})));
    let result = assert_result(&response, &json!("list"));
    assert_eq!(result["resultType"], "complete", "{response}");
    assert!(result["ttlMs"].as_u64().is_some(), "tools/list lacks ttlMs: {response}");
    assert!(matches!(result["cacheScope"].as_str(), Some("public" | "private")), "cacheScope: {response}");

    let response = server.call(&stateless_echo("call", "modern"));
    let result = assert_result(&response, &json!("call"));
    assert_eq!(result["resultType"], "complete", "{response}");
    assert_eq!(tool_text(result), "modern");

    server.initialize(LATEST_LEGACY);
    let response = server.call(&legacy("old", "tools/call", json!({"name": "echo", "arguments": {"text": "legacy"}})));
    let result = assert_result(&response, &json!("old"));
    assert_eq!(result.get("resultType"), None, "a legacy result must not carry resultType: {response}");
    assert_eq!(tool_text(result), "legacy");
    server.assert_alive();
}
