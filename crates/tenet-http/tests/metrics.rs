//! `GET /metrics`: the server's Prometheus metrics beside the MCP endpoint, behind the
//! Host/Origin guard, with session gauges that follow legacy and HTTP+SSE sessions.

#![allow(clippy::unwrap_used)]

use crate::support;

use crate::support::{Harness, LEGACY, Reply, body, in_session, modern};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use tenet_http::HttpConfig;

fn scrape_at(path: &str) -> Request<Body> {
    Request::get(path).header("host", "localhost:3020").body(Body::empty()).unwrap()
}

/// The value of the series `name` (with its labels) in an exposition; 0 when absent.
fn value(reply: &Reply, name: &str) -> f64 {
    reply.text().lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_requests_and_follow_sessions() {
    let h = Harness::new();
    let scrape = || h.call(scrape_at("/metrics"));
    let first = scrape().await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.content_type(), "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert!(first.text().ends_with("# EOF\n"), "{}", first.text());

    let echo = h.call(modern(1, "tools/call", json!({"name": "echo", "arguments": {"text": "hi"}}))).await;
    assert_eq!(echo.status, StatusCode::OK);
    let id = h.initialize(LEGACY, json!({})).await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    assert_eq!(h.call(in_session(&id, LEGACY).body(body(&list)).unwrap()).await.status, StatusCode::OK);
    let during = scrape().await;
    assert_eq!(value(&during, r#"tenet_requests_total{method="tools/call",outcome="ok"}"#), 1.0, "{}", during.text());
    assert_eq!(value(&during, r#"tenet_requests_total{method="initialize",outcome="ok"}"#), 1.0);
    assert_eq!(value(&during, r#"tenet_requests_total{method="tools/list",outcome="ok"}"#), 1.0);
    assert_eq!(value(&during, r#"tenet_sessions{transport="streamable_http"}"#), 1.0, "{}", during.text());

    let delete = Request::delete("/mcp").header("host", "localhost").header("mcp-session-id", &id);
    assert_eq!(h.call(delete.body(Body::empty()).unwrap()).await.status, StatusCode::OK);
    let after = scrape().await;
    assert_eq!(value(&after, r#"tenet_sessions{transport="streamable_http"}"#), 0.0, "{}", after.text());
}

#[tokio::test]
async fn http_sse_connections_are_sessions_while_their_stream_is_open() {
    let h = Harness::new();
    let open = Request::get("/sse").header("host", "localhost").header("accept", "text/event-stream");
    let stream = h.send(open.body(Body::empty()).unwrap()).await;
    assert_eq!(stream.status(), StatusCode::OK);
    let during = h.call(scrape_at("/metrics")).await;
    assert_eq!(value(&during, r#"tenet_sessions{transport="sse"}"#), 1.0, "{}", during.text());
    drop(stream);
    let after = h.call(scrape_at("/metrics")).await;
    assert_eq!(value(&after, r#"tenet_sessions{transport="sse"}"#), 0.0, "{}", after.text());
}

#[tokio::test]
async fn the_host_and_origin_guard_applies_to_metrics() {
    let h = Harness::new();
    let foreign = Request::get("/metrics").header("host", "evil.example").body(Body::empty()).unwrap();
    assert_eq!(h.call(foreign).await.status, StatusCode::FORBIDDEN);
    let origin = Request::get("/metrics")
        .header("host", "localhost")
        .header("origin", "https://evil.example")
        .body(Body::empty());
    assert_eq!(h.call(origin.unwrap()).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_metrics_path_can_be_moved_or_turned_off() {
    let moved = Harness::with(HttpConfig { metrics_path: Some("/internal/metrics".into()), ..HttpConfig::default() });
    assert_eq!(moved.call(scrape_at("/internal/metrics")).await.status, StatusCode::OK);
    assert_eq!(moved.call(scrape_at("/metrics")).await.status, StatusCode::NOT_FOUND);
    let off = Harness::with(HttpConfig { metrics_path: None, ..HttpConfig::default() });
    assert_eq!(off.call(scrape_at("/metrics")).await.status, StatusCode::NOT_FOUND);
    let clash = Harness::with(HttpConfig { metrics_path: Some("/mcp".into()), ..HttpConfig::default() });
    let mcp = clash.call(scrape_at("/mcp")).await;
    assert_eq!(
        (mcp.status, mcp.content_type()),
        (StatusCode::BAD_REQUEST, "application/json"),
        "still the MCP endpoint"
    );
}

#[tokio::test]
async fn requests_refused_before_the_server_are_counted_by_status() {
    let h = Harness::new();
    let mcp = |builder: axum::http::request::Builder, body: &str| builder.body(Body::from(body.to_owned())).unwrap();
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string();
    // 415: not JSON.
    let plain = Request::post("/mcp").header("host", "localhost").header("content-type", "text/plain");
    assert_eq!(h.call(mcp(plain, &list)).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // 406: cannot take the answer.
    let html = Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "text/html");
    assert_eq!(h.call(mcp(html, &list)).await.status, StatusCode::NOT_ACCEPTABLE);
    // 400 twice: no session, and a body that is not JSON.
    let sessionless = support::post().header("mcp-protocol-version", LEGACY);
    assert_eq!(h.call(mcp(sessionless, &list)).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(h.call(mcp(support::post(), "{not json")).await.status, StatusCode::BAD_REQUEST);
    // 404: a session that does not exist.
    let unknown = in_session("no-such-session", LEGACY);
    assert_eq!(h.call(mcp(unknown, &list)).await.status, StatusCode::NOT_FOUND);
    // 403: a forged Host.
    let forged = Request::post("/mcp").header("host", "evil.example").header("content-type", "application/json");
    assert_eq!(h.call(mcp(forged, &list)).await.status, StatusCode::FORBIDDEN);

    let scrape = h.call(scrape_at("/metrics")).await;
    let refused = |status: &str| value(&scrape, &format!(r#"tenet_http_refused_total{{status="{status}"}}"#));
    assert_eq!(
        [refused("415"), refused("406"), refused("400"), refused("404"), refused("403")],
        [1.0, 1.0, 2.0, 1.0, 1.0],
        "{}",
        scrape.text()
    );
    // None of them was a request the server answered.
    assert!(!scrape.text().contains(r#"method="tools/list""#), "{}", scrape.text());

    // An answered request, even an error, is not a refusal.
    let unknown_tool = h.call(modern(2, "tools/call", json!({"name": "nope", "arguments": {}}))).await;
    assert_eq!(unknown_tool.status, StatusCode::BAD_REQUEST);
    let after = h.call(scrape_at("/metrics")).await;
    assert_eq!(value(&after, r#"tenet_http_refused_total{status="400"}"#), 2.0, "{}", after.text());
    assert_eq!(value(&after, r#"tenet_requests_total{method="tools/call",outcome="invalid_params"}"#), 1.0);
}
