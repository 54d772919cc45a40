//! HTTP+SSE (2024-11-05): the `endpoint` event, POSTed messages answered on the stream.

#![allow(clippy::unwrap_used)]

use crate::support::{Harness, body, read_until, sse_json};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

fn post_message(url: &str, message: &serde_json::Value) -> Request<Body> {
    Request::post(url)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(body(message))
        .unwrap()
}

#[tokio::test]
async fn old_clients_post_to_the_announced_endpoint_and_read_answers_from_the_stream() {
    let h = Harness::new();
    let open = Request::get("/sse").header("host", "localhost").header("accept", "text/event-stream");
    let response = h.send(open.body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut stream = response.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("\n\n")).await;
    assert!(seen.starts_with("event: endpoint\ndata: /messages?sessionId="), "{seen}");
    let url = seen.lines().nth(1).unwrap().strip_prefix("data: ").unwrap().to_owned();

    // Pretty-printed JSON is still one message.
    let init = "{\n \"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"initialize\",\n \"params\": {\"protocolVersion\": \"2024-11-05\", \"capabilities\": {}, \"clientInfo\": {\"name\": \"old\", \"version\": \"0\"}}\n}";
    let reply = h
        .call(
            Request::post(&url)
                .header("host", "localhost")
                .header("content-type", "application/json")
                .body(Body::from(init))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    read_until(&mut stream, &mut seen, |t| t.contains("protocolVersion")).await;
    let reply = h.call(post_message(&url, &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "old"}}});
    assert_eq!(h.call(post_message(&url, &call)).await.status, StatusCode::ACCEPTED);
    read_until(&mut stream, &mut seen, |t| t.contains("\"id\":2")).await;
    let messages: String = seen.lines().filter(|l| l.starts_with("data: {")).map(|l| format!("{l}\n")).collect();
    let events = sse_json(&messages);
    assert_eq!(events[0]["result"]["protocolVersion"], "2024-11-05");
    assert_eq!(events.last().unwrap()["result"]["content"][0]["text"], "old");

    drop(stream);
    let gone = h.call(post_message(&url, &call)).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "the connection ended with its stream");
    let unknown = h.call(post_message("/messages?sessionId=nope", &call)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let forged = Request::get("/sse").header("host", "evil.example").header("accept", "text/event-stream");
    assert_eq!(h.call(forged.body(Body::empty()).unwrap()).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_per_tool_rate_limit_holds_over_http_sse() {
    let (builder, probe) = crate::support::builder();
    let limits = tenet_server::RateLimits {
        overrides: vec![("tools/call:echo".into(), tenet_server::Rate { per_second: 0.01, burst: 2 })],
        ..tenet_server::RateLimits::default()
    };
    let limiter = std::sync::Arc::new(tenet_server::RateLimiter::new(limits));
    let config = tenet_server::ServerConfig { rate_limit: Some(limiter), ..tenet_server::ServerConfig::default() };
    let h = Harness::serving(builder.config(config).build().unwrap(), probe, tenet_http::HttpConfig::default());
    let open = Request::get("/sse").header("host", "localhost").header("accept", "text/event-stream");
    let mut stream = h.send(open.body(Body::empty()).unwrap()).await.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("\n\n")).await;
    let url = seen.lines().nth(1).unwrap().strip_prefix("data: ").unwrap().to_owned();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2024-11-05",
        "capabilities": {}, "clientInfo": {"name": "old", "version": "0"}}});
    assert_eq!(h.call(post_message(&url, &init)).await.status, StatusCode::ACCEPTED);
    read_until(&mut stream, &mut seen, |t| t.contains("protocolVersion")).await;
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(h.call(post_message(&url, &initialized)).await.status, StatusCode::ACCEPTED);
    for id in 2..=4 {
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "x"}}});
        assert_eq!(h.call(post_message(&url, &call)).await.status, StatusCode::ACCEPTED);
        read_until(&mut stream, &mut seen, |t| t.contains(&format!("\"id\":{id}"))).await;
    }
    let messages: String = seen.lines().filter(|l| l.starts_with("data: {")).map(|l| format!("{l}\n")).collect();
    let answers = sse_json(&messages);
    let of = |id: i64| answers.iter().find(|m| m["id"] == id).unwrap();
    assert_eq!(of(2)["result"]["content"][0]["text"], "x");
    assert_eq!(of(3)["result"]["content"][0]["text"], "x");
    assert_eq!(of(4)["error"]["code"], tenet_server::RATE_LIMITED.0, "the third call is over the burst of 2");
    assert!(of(4)["error"]["data"]["retryAfterMs"].as_u64().unwrap() > 0);
}
