//! Upstreams that misbehave: they never answer the handshake, answer garbage, exit at
//! start again and again, list 10 000 tools, flood `list_changed`, send a response to
//! no request, or redirect to another host. Each leaves the gateway serving the others.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::{
    HandServer, Harness, Probe, Running, STEP, names, quick, stdio_upstream, text, until, upstream, upstream_server,
};
use serde_json::{Value, json};
use tenet_gateway::{GatewayOptions, State};

/// A healthy upstream, `ok`, to show that the others keep serving.
async fn healthy() -> Running {
    Running::start(upstream_server("ok", &Arc::new(Probe::default())).build().unwrap()).await
}

/// Asserts that `ok` is up and answers through the gateway.
async fn ok_still_serves(h: &Harness) {
    until("ok is up", || h.status("ok").state == State::Up).await;
    assert_eq!(text(&h.call("ok__echo", json!({"text": "still here"})).await), "ok: still here");
}

/// A gateway in front of a hand-written upstream `name` listing `tools`, up and
/// listening for its notifications.
async fn before_hand(name: &str, tools: Value) -> (HandServer, Harness) {
    let hand = HandServer::start(tools).await;
    let h = Harness::start(vec![upstream(name, &hand.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    until("the gateway listens for notifications", || hand.listeners() > 0).await;
    (hand, h)
}

fn short_handshake() -> GatewayOptions {
    GatewayOptions { connect_timeout: Duration::from_millis(500), ..quick() }
}

#[tokio::test]
async fn an_upstream_that_never_answers_the_handshake_is_down_and_the_others_serve() {
    let ok = healthy().await;
    let silent = stdio_upstream("silent", &["sleep", "600"]);
    let h = Harness::start(vec![silent, upstream("ok", &ok.url())], short_handshake()).await;
    ok_still_serves(&h).await;
    until("silent is down", || h.status("silent").last_error.is_some()).await;
    let status = h.status("silent");
    assert_ne!(status.state, State::Up, "{status:?}");
    let error = status.last_error.unwrap();
    assert!(error.contains("not started within 0.5 s"), "{error}");
    assert!(!h.gateway.is_ready(), "a required upstream is not up");
    assert_eq!(h.tool_names().await, names(&["local_hello", "ok__echo", "ok__add"]));
    // A call to one of its tools is told why there is no such tool; another unknown
    // name is only unknown.
    let client = &h.client;
    let unknown = |name: &'static str| async move {
        match client.call_tool(name, json!({})).await {
            Err(tenet_client::ClientError::Server(e)) if e.code == tenet_server::jsonrpc::ErrorCode::INVALID_PARAMS => {
                e.message
            }
            other => panic!("{name}: {other:?}"),
        }
    };
    let message = unknown("silent__echo").await;
    let state =
        message.strip_prefix("Unknown tool: silent__echo (upstream silent is ").and_then(|m| m.strip_suffix(')'));
    assert!(matches!(state, Some("down" | "connecting")), "only its state (the reason is for /upstreams): {message}");
    assert_eq!(unknown("nobody__echo").await, "Unknown tool: nobody__echo");
    h.shutdown().await;
}

#[tokio::test]
async fn an_upstream_that_answers_garbage_is_down_and_the_others_serve() {
    let ok = healthy().await;
    let script =
        r#"while read -r line; do echo '<html>502 Bad Gateway</html>'; echo '{"jsonrpc": "2.0", "id": '; done"#;
    let garbage = stdio_upstream("garbage", &["sh", "-c", script]);
    let h = Harness::start(vec![garbage, upstream("ok", &ok.url())], short_handshake()).await;
    ok_still_serves(&h).await;
    until("garbage is down", || h.status("garbage").last_error.is_some()).await;
    let status = h.status("garbage");
    assert_ne!(status.state, State::Up, "{status:?}");
    let error = status.last_error.unwrap();
    assert!(error.contains("not started within 0.5 s"), "{error}");
    assert_eq!(h.tool_names().await, names(&["local_hello", "ok__echo", "ok__add"]));
    h.shutdown().await;
}

#[tokio::test]
async fn a_stdio_upstream_that_keeps_exiting_at_start_is_given_up_after_its_restarts() {
    let ok = healthy().await;
    let dir = tempfile::tempdir().unwrap();
    let starts = dir.path().join("starts");
    let script = format!("echo start >> '{}'; echo 'cannot open the database' >&2; exit 3", starts.display());
    let mut crashing = stdio_upstream("crashing", &["sh", "-c", &script]);
    crashing.max_restarts = Some(2);
    let h = Harness::start(vec![crashing, upstream("ok", &ok.url())], quick()).await;
    ok_still_serves(&h).await;
    until("crashing is given up", || h.status("crashing").state == State::Failed).await;
    let status = h.status("crashing");
    let error = status.last_error.clone().unwrap();
    assert!(error.starts_with("crash loop: restarted 2 times (max_restarts)"), "{error}");
    assert!(error.contains("the server exited (exit status: 3)"), "the last failure is given: {error}");
    assert_eq!(status.restarts, 2, "{status:?}");
    // Not started again: three starts, however long we wait.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(std::fs::read_to_string(&starts).unwrap().lines().count(), 3);
    assert_eq!(h.status("crashing").state, State::Failed);
    assert!(!h.gateway.is_ready());
    // Operators can alert on it.
    let metrics = h.server.metrics().encode();
    for (state, value) in [("failed", 1), ("up", 0), ("down", 0), ("connecting", 0)] {
        let line = format!("tenet_upstream_state{{upstream=\"crashing\",state=\"{state}\"}} {value}");
        assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
    }
    assert!(metrics.contains("tenet_upstream_state{upstream=\"ok\",state=\"up\"} 1"), "{metrics}");
    ok_still_serves(&h).await;
    h.shutdown().await;
}

#[tokio::test]
async fn ten_thousand_tools_are_listed_in_pages_and_each_can_be_called() {
    let tools: Vec<Value> = (0..10_000)
        .map(|i| json!({"name": format!("tool_{i:05}"), "inputSchema": {"type": "object", "properties": {"n": {"type": "integer"}}}}))
        .collect();
    let hand = HandServer::start(Value::Array(tools)).await;
    let h = Harness::start(vec![upstream("many", &hand.url())], quick()).await;
    assert!(h.gateway.wait_ready(Duration::from_secs(60)).await, "not ready: {:?}", h.gateway.statuses());
    assert_eq!(h.status("many").tools, 10_000);

    // Pages of the server's page size, every tool once.
    let first = h.client.list_tools(None).await.unwrap();
    assert_eq!(first.tools.len(), 100);
    assert!(first.next_cursor.is_some());
    let all = tokio::time::timeout(Duration::from_secs(30), h.client.list_all_tools()).await.unwrap().unwrap();
    assert_eq!(all.len(), 10_001, "10 000 tools and the local one");
    let distinct: std::collections::BTreeSet<_> = all.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(distinct.len(), 10_001);
    for name in ["many__tool_00000", "many__tool_09999"] {
        assert_eq!(text(&h.call(name, json!({"n": 1})).await), name.trim_start_matches("many__"));
    }
    let refused = h.call("many__tool_05000", json!({"n": "one"})).await;
    assert_eq!(refused.is_error, Some(true), "the gateway checks every tool's arguments");
    h.shutdown().await;
}

#[tokio::test]
async fn a_flood_of_list_changed_is_gathered_into_few_re_lists() {
    let (hand, h) = before_hand("flood", json!([{"name": "v0", "inputSchema": {"type": "object"}}])).await;
    let before = hand.counts().lists.load(Ordering::SeqCst);

    for i in 1..=500 {
        hand.set_tools(json!([{"name": format!("v{i}"), "inputSchema": {"type": "object"}}]));
    }
    let last = h.tools_until("the last list is served", |n| n.contains("flood__v500")).await;
    assert_eq!(last, names(&["local_hello", "flood__v500"]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let relists = hand.counts().lists.load(Ordering::SeqCst) - before;
    assert!((1..=10).contains(&relists), "500 notifications took {relists} re-lists");
    assert_eq!(h.status("flood").state, State::Up);
    h.shutdown().await;
}

#[tokio::test]
async fn a_response_to_no_request_is_ignored_and_the_upstream_keeps_serving() {
    let (hand, h) = before_hand("stray", json!([{"name": "t", "inputSchema": {"type": "object"}}])).await;
    hand.send_raw(r#"{"jsonrpc":"2.0","id":424242,"result":{"content":[]}}"#);
    hand.send_raw(r#"{"jsonrpc":"2.0","id":"nobody","error":{"code":-32603,"message":"for nobody"}}"#);
    assert_eq!(text(&h.call("stray__t", json!({})).await), "t");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = h.status("stray");
    assert_eq!((status.state, status.restarts), (State::Up, 0), "{status:?}");
    assert_eq!(text(&h.call("stray__t", json!({})).await), "t");
    h.shutdown().await;
}

#[tokio::test]
async fn an_upstream_url_that_redirects_to_another_host_is_refused_and_never_followed() {
    let target = HandServer::start(json!([{"name": "t", "inputSchema": {"type": "object"}}])).await;
    // 127.0.0.1 sends the gateway on to localhost: another host, though the same machine.
    let elsewhere = format!("http://localhost:{}/mcp", target.addr.port());
    let redirect = axum::Router::new().route(
        "/mcp",
        axum::routing::any(move || {
            let to = elsewhere.clone();
            async move { (axum::http::StatusCode::TEMPORARY_REDIRECT, [(axum::http::header::LOCATION, to)]) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, redirect).await });

    let ok = healthy().await;
    let mut moved = upstream("moved", &url);
    moved.headers.insert("Authorization".into(), "Bearer for-moved-only".into());
    let h = Harness::start(vec![moved, upstream("ok", &ok.url())], quick()).await;
    ok_still_serves(&h).await;
    until("moved is down", || h.status("moved").last_error.is_some()).await;
    let error = h.status("moved").last_error.unwrap();
    assert!(error.contains("redirects to another origin (http://localhost:"), "{error}");
    assert_eq!(target.counts().posts.load(Ordering::SeqCst), 0, "the other host never heard from the gateway");
    h.shutdown().await;
    server.abort();
}

/// Issue 60: an upstream's table sets the largest message taken from it. One whose
/// `tools/list` is larger than its `max_message_bytes` is not listed (the answer is
/// refused, not read whole), and the others serve.
#[tokio::test]
async fn an_upstream_whose_answers_pass_its_message_limit_is_refused_and_the_others_serve() {
    let ok = healthy().await;
    let wordy = upstream_server("wordy", &Arc::new(Probe::default()))
        .tool(tenet_server::ToolDef::new("long", || async { "" }).description("x".repeat(8 << 10)))
        .build()
        .unwrap();
    let wordy = Running::start(wordy).await;
    let limited = tenet_gateway::UpstreamConfig { max_message_bytes: Some(4 << 10), ..upstream("wordy", &wordy.url()) };
    let h = Harness::start(vec![limited, upstream("ok", &ok.url())], short_handshake()).await;
    ok_still_serves(&h).await;
    until("wordy is down", || h.status("wordy").last_error.is_some()).await;
    let status = h.status("wordy");
    assert_ne!(status.state, State::Up, "{status:?}");
    assert!(status.last_error.as_deref().unwrap().contains("4096"), "the limit is named: {status:?}");
    assert_eq!(h.tool_names().await, names(&["local_hello", "ok__echo", "ok__add"]));
    h.shutdown().await;
}
