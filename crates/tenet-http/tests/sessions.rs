//! Legacy sessions over HTTP: minting and ending sessions, server → client requests on
//! the POST stream, the standalone GET stream, resumption, batches, expiry and caps.

#![allow(clippy::unwrap_used)]

use crate::support;

use crate::support::{Harness, LEGACY, STEP, body, in_session, post, read_until, sse_json};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tenet_http::HttpConfig;

fn call(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn get(session: &str) -> axum::http::request::Builder {
    Request::get("/mcp")
        .header("host", "localhost")
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", LEGACY)
}

#[tokio::test]
async fn initialize_mints_a_session_that_later_requests_use() {
    let h = Harness::new();
    let id = h.initialize(LEGACY, json!({})).await;
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(id, h.initialize(LEGACY, json!({})).await, "every session id is fresh");
    assert_eq!(h.endpoint.session_count(), 2);

    let reply = h.call(in_session(&id, LEGACY).body(body(&call(1, "ping", json!({})))).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["result"], json!({}), "legacy results carry no 2026 members");

    // A missing version header means 2025-03-26; the session's own version still applies.
    let b = post().header("mcp-session-id", &id);
    let reply = h.call(b.body(body(&call(2, "tools/list", json!({})))).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.json()["result"]["tools"].is_array());
}

#[tokio::test]
async fn missing_unknown_and_deleted_sessions() {
    let h = Harness::new();
    let list = call(1, "tools/list", json!({}));
    let reply = h.call(post().body(body(&list)).unwrap()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "no session id");
    let reply = h.call(in_session("nope", LEGACY).body(body(&list)).unwrap()).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "unknown session");

    let id = h.initialize(LEGACY, json!({})).await;
    let delete = |id: &str| {
        Request::delete("/mcp").header("host", "localhost").header("mcp-session-id", id).body(Body::empty()).unwrap()
    };
    assert_eq!(h.call(delete(&id)).await.status, StatusCode::OK);
    let reply = h.call(in_session(&id, LEGACY).body(body(&list)).unwrap()).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "a stale session after DELETE");
    assert_eq!(h.call(delete(&id)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.endpoint.session_count(), 0);
    let reply = h.call(get(&id).body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn elicitation_goes_on_the_post_stream_and_the_answer_is_posted_back() {
    let h = Harness::new();
    let id = h.initialize(LEGACY, json!({"elicitation": {}})).await;
    let response =
        h.send(in_session(&id, LEGACY).body(body(&call(5, "tools/call", json!({"name": "ask"})))).unwrap()).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut stream = response.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("elicitation/create")).await;
    assert!(seen.starts_with("id: "), "a priming event comes first: {seen}");
    assert!(seen.contains("\nretry: "), "{seen}");
    let request = sse_json(&seen).into_iter().find(|e| e["method"] == "elicitation/create").unwrap();

    let answer =
        json!({"jsonrpc": "2.0", "id": request["id"], "result": {"action": "accept", "content": {"name": "Ada"}}});
    let reply = h.call(in_session(&id, LEGACY).body(body(&answer)).unwrap()).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    read_until(&mut stream, &mut seen, |t| t.contains("\"id\":5")).await;
    let last = sse_json(&seen).pop().unwrap();
    assert_eq!(last["result"]["content"][0]["text"], "\"Ada\"");
    let end = tokio::time::timeout(STEP, futures_util::StreamExt::next(&mut stream)).await.unwrap();
    assert!(end.is_none(), "the stream ends after the response");

    // The same answer again: nothing awaits it any more.
    let reply = h.call(in_session(&id, LEGACY).body(body(&answer)).unwrap()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"]["code"], -32600);
}

#[tokio::test]
async fn a_client_that_leaves_resumes_with_last_event_id() {
    let h = Harness::new();
    let id = h.initialize(LEGACY, json!({})).await;
    let request =
        in_session(&id, LEGACY).body(body(&call(8, "tools/call", json!({"name": "log_then_answer"})))).unwrap();
    let response = h.send(request).await;
    let mut stream = response.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("notifications/message")).await;
    drop(stream);
    let last_id = seen.lines().filter_map(|l| l.strip_prefix("id: ")).next_back().unwrap().to_owned();

    let resumed = h.call(get(&id).header("last-event-id", &last_id).body(Body::empty()).unwrap()).await;
    assert_eq!(resumed.status, StatusCode::OK);
    let events = resumed.events();
    assert_eq!(events.len(), 1, "only what came after {last_id}: {}", resumed.text());
    assert_eq!(events[0]["result"]["content"][0]["text"], "finished");

    let stream_id = last_id.split('.').next().unwrap();
    for bad in [format!("{stream_id}.99"), "77.1".to_owned(), "junk".to_owned()] {
        let reply = h.call(get(&id).header("last-event-id", &bad).body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn evicted_events_cannot_be_replayed() {
    let h = Harness::with(HttpConfig { replay_events: 1, ..HttpConfig::default() });
    let id = h.initialize(LEGACY, json!({})).await;
    let request =
        in_session(&id, LEGACY).body(body(&call(8, "tools/call", json!({"name": "log_then_answer"})))).unwrap();
    let reply = h.call(request).await;
    let first = reply.text().lines().filter_map(|l| l.strip_prefix("id: ")).next().unwrap().to_owned();
    let reply = h.call(get(&id).header("last-event-id", &first).body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "the log event is gone: only the answer is kept");
}

#[tokio::test]
async fn the_get_stream_carries_list_changes_once_and_closes_on_delete() {
    let h = Harness::new();
    let id = h.initialize(LEGACY, json!({})).await;
    let response = h.send(get(&id).body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second = h.call(get(&id).body(Body::empty()).unwrap()).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "one standalone stream per session");

    let mut stream = response.into_body().into_data_stream();
    h.server.remove_tool("slow");
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("notifications/tools/list_changed")).await;

    let delete = Request::delete("/mcp").header("host", "localhost").header("mcp-session-id", &id);
    assert_eq!(h.call(delete.body(Body::empty()).unwrap()).await.status, StatusCode::OK);
    let end = tokio::time::timeout(STEP, futures_util::StreamExt::next(&mut stream)).await.unwrap();
    assert!(end.is_none(), "DELETE ends the GET stream");
}

#[tokio::test]
async fn batches_only_for_2025_03_26_sessions() {
    let h = Harness::new();
    let batch = json!([call(1, "ping", json!({})), call(2, "tools/list", json!({})), {"jsonrpc": "2.0", "method": "notifications/x"}]);
    let old = h.initialize("2025-03-26", json!({})).await;
    let reply = h.call(in_session(&old, "2025-03-26").body(body(&batch)).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let answers = reply.json();
    assert_eq!(answers.as_array().unwrap().len(), 2, "{answers}");

    let new = h.initialize(LEGACY, json!({})).await;
    let reply = h.call(in_session(&new, LEGACY).body(body(&batch)).unwrap()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"]["code"], -32600);
}

#[tokio::test]
async fn the_session_cap_answers_503_with_retry_after() {
    let h = Harness::with(HttpConfig { max_sessions: 2, ..HttpConfig::default() });
    h.initialize(LEGACY, json!({})).await;
    h.initialize(LEGACY, json!({})).await;
    let init = call(
        0,
        "initialize",
        json!({"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
    );
    let reply = h.call(post().body(body(&init)).unwrap()).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.headers["retry-after"], "1");
}

#[tokio::test]
async fn a_failed_initialize_leaves_no_session() {
    let h = Harness::new();
    let bad = call(0, "initialize", json!({"protocolVersion": 5}));
    let reply = h.call(post().body(body(&bad)).unwrap()).await;
    assert_eq!(reply.json()["error"]["code"], -32602);
    assert!(reply.headers.get("mcp-session-id").is_none());
    assert_eq!(h.endpoint.session_count(), 0);
}

#[tokio::test]
async fn a_handler_may_end_its_stream_and_the_client_polls_for_the_answer() {
    let h = Harness::new();
    let id = h.initialize(LEGACY, json!({})).await;
    let reply =
        h.call(in_session(&id, LEGACY).body(body(&call(4, "tools/call", json!({"name": "poll"})))).unwrap()).await;
    assert_eq!(reply.content_type(), "text/event-stream");
    assert!(reply.events().is_empty(), "only the priming event: {}", reply.text());
    let priming = reply.text().lines().find_map(|l| l.strip_prefix("id: ")).unwrap().to_owned();
    let resumed = h.call(get(&id).header("last-event-id", &priming).body(Body::empty()).unwrap()).await;
    assert_eq!(resumed.events()[0]["result"]["content"][0]["text"], "polled");

    // Stateless requests cannot be resumed: the answer simply comes as JSON.
    let reply = h.call(support::modern(5, "tools/call", json!({"name": "poll"}))).await;
    assert_eq!(reply.content_type(), "application/json");
    assert_eq!(reply.json()["result"]["content"][0]["text"], "polled");
}
