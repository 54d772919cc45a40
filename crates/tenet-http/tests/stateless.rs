//! 2026-07-28 over HTTP: status codes, header rules, JSON vs SSE, cancellation by
//! closing the stream, listen streams.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::{Harness, LEGACY, MODERN, STEP, body, in_session, meta, modern, post, read_until, sse_json};
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

#[tokio::test]
async fn a_plain_call_is_json_with_result_type() {
    let h = Harness::new();
    let reply = h.call(modern(1, "tools/call", json!({"name": "echo", "arguments": {"text": "hi"}}))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/json");
    let v = reply.json();
    assert_eq!(v["result"]["content"][0]["text"], "hi");
    assert_eq!(v["result"]["resultType"], "complete");
    assert!(reply.headers.get("mcp-session-id").is_none(), "2026-07-28 has no sessions");
}

#[tokio::test]
async fn progress_streams_before_the_answer_and_the_stream_ends() {
    let h = Harness::new();
    let mut request = modern(7, "tools/call", json!({"name": "progress", "arguments": {}}));
    let text = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"progress","arguments":{},"_meta":{"progressToken":"p","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    *request.body_mut() = axum::body::Body::from(text);
    let reply = h.call(request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "text/event-stream");
    let events = reply.events();
    let methods: Vec<&str> = events.iter().map(|e| e["method"].as_str().unwrap_or("response")).collect();
    assert_eq!(methods, ["notifications/progress", "notifications/progress", "response"]);
    assert_eq!(events[2]["id"], 7);
    assert!(!reply.text().contains("id: "), "no event ids: 2026-07-28 has no resumption");
}

#[tokio::test]
async fn each_error_gets_its_status_and_echoes_the_id() {
    let h = Harness::new();
    let cases: Vec<(Request<axum::body::Body>, StatusCode, i64)> = vec![
        (modern(1, "unknown/method", json!({})), StatusCode::NOT_FOUND, -32601),
        (modern(2, "ping", json!({})), StatusCode::NOT_FOUND, -32601),
        (modern(3, "initialize", json!({})), StatusCode::NOT_FOUND, -32601),
        (modern(4, "tools/call", json!({"name": "nope"})), StatusCode::BAD_REQUEST, -32602),
    ];
    for (request, status, code) in cases {
        let reply = h.call(request).await;
        assert_eq!(reply.status, status, "{}", reply.text());
        assert_eq!(reply.json()["error"]["code"], code);
        assert!(reply.json()["id"].is_number());
    }
}

fn discover(version_header: Option<&str>, meta: &Value, method_header: Option<&str>) -> Request<axum::body::Body> {
    let message = json!({"jsonrpc": "2.0", "id": 9, "method": "server/discover", "params": {"_meta": meta}});
    let mut b = post();
    if let Some(v) = version_header {
        b = b.header("mcp-protocol-version", v);
    }
    if let Some(m) = method_header {
        b = b.header("mcp-method", m);
    }
    b.body(body(&message)).unwrap()
}

#[tokio::test]
async fn meta_then_header_then_version_then_method_are_checked_in_order() {
    let h = Harness::new();
    let no_caps = json!({"io.modelcontextprotocol/protocolVersion": MODERN});
    let v999 =
        json!({"io.modelcontextprotocol/protocolVersion": "v999", "io.modelcontextprotocol/clientCapabilities": {}});
    let cases = [
        (discover(Some(MODERN), &no_caps, Some("server/discover")), -32602),
        (discover(Some(MODERN), &v999, Some("server/discover")), -32020),
        (discover(Some("v999"), &v999, Some("server/discover")), -32022),
        (discover(Some(MODERN), &meta(json!({})), None), -32020),
        (discover(Some(MODERN), &meta(json!({})), Some("tools/list")), -32020),
        (discover(None, &meta(json!({})), Some("server/discover")), -32020),
    ];
    for (request, code) in cases {
        let reply = h.call(request).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
        assert_eq!(reply.json()["error"]["code"], code, "{}", reply.text());
        assert_eq!(reply.json()["id"], 9);
    }
    let reply = h.call(discover(Some(MODERN), &meta(json!({})), Some("server/discover"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["result"]["supportedVersions"], json!([MODERN]));
}

#[tokio::test]
async fn a_wrong_or_missing_mcp_name_is_a_header_mismatch() {
    let h = Harness::new();
    let message = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "x"}, "_meta": meta(json!({}))}});
    for name in [None, Some("other"), Some("=?base64?ZWNobw?=")] {
        let mut b = post().header("mcp-protocol-version", MODERN).header("mcp-method", "tools/call");
        if let Some(name) = name {
            b = b.header("mcp-name", name);
        }
        let reply = h.call(b.body(body(&message)).unwrap()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{name:?}");
        assert_eq!(reply.json()["error"]["code"], -32020);
    }
    let b = post().header("mcp-protocol-version", MODERN).header("mcp-method", "tools/call");
    let reply = h.call(b.header("mcp-name", "=?base64?ZWNobw==?=").body(body(&message)).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "the base64 form decodes to the name");
}

#[tokio::test]
async fn a_missing_capability_is_400_and_a_declared_one_asks_for_input() {
    let h = Harness::new();
    let reply = h.call(modern(5, "tools/call", json!({"name": "ask"}))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    assert_eq!(reply.json()["error"]["code"], -32021);
    assert!(reply.json()["error"]["data"]["requiredCapabilities"]["elicitation"].is_object());

    let message = json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call",
        "params": {"name": "ask", "_meta": meta(json!({"elicitation": {}}))}});
    let b = post().header("mcp-protocol-version", MODERN).header("mcp-method", "tools/call").header("mcp-name", "ask");
    let reply = h.call(b.body(body(&message)).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["result"]["resultType"], "input_required");
    assert!(reply.json()["result"]["requestState"].is_string());
}

#[tokio::test]
async fn notifications_are_accepted_and_responses_refused() {
    let h = Harness::new();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/progress",
        "params": {"progressToken": 1, "progress": 1, "_meta": meta(json!({}))}});
    let b = post().header("mcp-protocol-version", MODERN);
    assert_eq!(h.call(b.body(body(&note)).unwrap()).await.status, StatusCode::ACCEPTED);
    let response = json!({"jsonrpc": "2.0", "id": 1, "result": {}});
    let b = post().header("mcp-protocol-version", MODERN);
    let reply = h.call(b.body(body(&response)).unwrap()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let batch = json!([{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta(json!({}))}}]);
    let b = post().header("mcp-protocol-version", MODERN);
    assert_eq!(h.call(b.body(body(&batch)).unwrap()).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn get_and_delete_are_not_allowed() {
    let h = Harness::new();
    for method in ["GET", "DELETE"] {
        let request = Request::builder()
            .method(method)
            .uri("/mcp")
            .header("host", "localhost")
            .header("accept", "text/event-stream")
            .header("mcp-protocol-version", MODERN)
            .body(axum::body::Body::empty())
            .unwrap();
        let reply = h.call(request).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(reply.headers["allow"], "POST");
    }
}

#[tokio::test]
async fn closing_the_stream_cancels_the_request() {
    let h = Harness::new();
    let text = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"wait_for_cancel","_meta":{"progressToken":1,"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let mut request = modern(3, "tools/call", json!({"name": "wait_for_cancel"}));
    *request.body_mut() = axum::body::Body::from(text);
    let response = h.send(request).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut stream = response.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("notifications/progress")).await;
    drop(stream);
    let deadline = tokio::time::Instant::now() + STEP;
    while !h.probe.cancelled.load(Ordering::SeqCst) {
        assert!(tokio::time::Instant::now() < deadline, "the handler was not cancelled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn listen_acknowledges_first_tags_events_and_ends_on_shutdown() {
    let h = Harness::new();
    let request = modern(11, "subscriptions/listen", json!({"notifications": {"toolsListChanged": true}}));
    let response = h.send(request).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut stream = response.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("acknowledged")).await;
    h.server.remove_tool("slow");
    read_until(&mut stream, &mut seen, |t| t.contains("list_changed")).await;
    h.shutdown.cancel();
    read_until(&mut stream, &mut seen, |t| t.contains("\"result\"")).await;
    let events = sse_json(&seen);
    assert_eq!(events[0]["method"], "notifications/subscriptions/acknowledged");
    for event in &events {
        let tag = event.pointer("/params/_meta/io.modelcontextprotocol~1subscriptionId");
        let tag = tag.or_else(|| event.pointer("/result/_meta/io.modelcontextprotocol~1subscriptionId"));
        assert_eq!(tag, Some(&json!(11)), "{event}");
    }
    let end = tokio::time::timeout(STEP, futures_util::StreamExt::next(&mut stream)).await.unwrap();
    assert!(end.is_none(), "the stream ends after the response");
}

#[tokio::test]
async fn mcp_param_headers_must_repeat_annotated_arguments() {
    let h = Harness::new();
    let call = |header: Option<&str>, text: &str| {
        let message = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "region", "arguments": {"text": text}, "_meta": meta(json!({}))}});
        let mut b = post()
            .header("mcp-protocol-version", MODERN)
            .header("mcp-method", "tools/call")
            .header("mcp-name", "region");
        if let Some(value) = header {
            b = b.header("Mcp-Param-Region", value);
        }
        b.body(body(&message)).unwrap()
    };
    for (header, text, status) in [
        (Some("Hello"), "Hello", StatusCode::OK),
        (Some("=?base64?SGVsbG8=?="), "Hello", StatusCode::OK),
        (Some("=?base64?SGVsbG8?="), "Hello", StatusCode::BAD_REQUEST),
        (Some("=?base64?SGVs!!!bG8=?="), "Hello", StatusCode::BAD_REQUEST),
        (Some("SGVsbG8="), "SGVsbG8=", StatusCode::OK),
        (Some("Other"), "Hello", StatusCode::BAD_REQUEST),
        (None, "Hello", StatusCode::BAD_REQUEST),
    ] {
        let reply = h.call(call(header, text)).await;
        assert_eq!(reply.status, status, "{header:?} / {text}: {}", reply.text());
        if status == StatusCode::BAD_REQUEST {
            assert_eq!(reply.json()["error"]["code"], -32020);
        }
    }
}

#[tokio::test]
async fn a_call_to_a_busy_tool_is_429_with_retry_after_in_both_eras() {
    let h = Harness::new();
    let session = h.initialize(LEGACY, json!({})).await;
    let legacy_call = |id: i64| {
        let message = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "single"}});
        in_session(&session, LEGACY).body(body(&message)).unwrap()
    };
    let requests = [modern(1, "tools/call", json!({"name": "single"})), legacy_call(2)];
    for refused in requests {
        let holder = h.router.clone().oneshot(modern(9, "tools/call", json!({"name": "single"})));
        let holder = tokio::spawn(holder);
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The holder runs 300 ms; waiting half of the 400 ms timeout is not enough.
        let reply = h.call(refused).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{}", reply.text());
        assert_eq!(reply.headers["retry-after"], "1");
        assert_eq!(reply.json()["error"]["code"], tenet_server::RATE_LIMITED.0);
        assert_eq!(holder.await.unwrap().unwrap().status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn a_method_added_to_the_table_is_served_over_http_in_both_eras() {
    async fn shout(tenet_server::Params(p): tenet_server::Params<Value>) -> Result<Value, tenet_server::ToolError> {
        Ok(json!({"shouted": p["text"].as_str().unwrap_or_default().to_uppercase()}))
    }
    let (builder, probe) = crate::support::builder();
    let server = builder.method(tenet_server::MethodDef::new("example/shout", shout)).build().unwrap();
    let h = Harness::serving(server, probe, tenet_http::HttpConfig::default());
    let reply = h.call(modern(1, "example/shout", json!({"text": "hi"}))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let v = reply.json();
    assert_eq!(v["result"]["shouted"], "HI", "{v}");
    assert_eq!(v["result"]["resultType"], "complete", "{v}");
    // The Mcp-Method header must name it, as for any method.
    let mut wrong = modern(2, "example/shout", json!({"text": "hi"}));
    wrong.headers_mut().insert("mcp-method", "tools/list".parse().unwrap());
    assert_eq!(h.call(wrong).await.json()["error"]["code"], -32020);

    let session = h.initialize(LEGACY, json!({})).await;
    let message = json!({"jsonrpc": "2.0", "id": 3, "method": "example/shout", "params": {"text": "yo"}});
    let reply = h.call(in_session(&session, LEGACY).body(body(&message)).unwrap()).await;
    let v = reply.events().into_iter().next().unwrap_or_else(|| reply.json());
    assert_eq!(v["result"]["shouted"], "YO", "{v}");
}
