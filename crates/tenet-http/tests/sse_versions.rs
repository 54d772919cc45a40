//! What each legacy version's clients get on an SSE stream, byte for byte: every
//! `data:` is one JSON message, except the 2025-11-25 priming event (an id, `retry:`
//! and empty data), which older clients would try to parse as JSON. Event ids and
//! `Last-Event-ID` replay start with 2025-03-26; SSE polling is 2025-11-25 only.

#![allow(clippy::unwrap_used)]

use crate::support::{Harness, body, in_session, read_until};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

const OLD: [&str; 3] = ["2024-11-05", "2025-03-26", "2025-06-18"];
const POLLING: &str = "2025-11-25";

fn call(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn get(session: &str, version: &str) -> axum::http::request::Builder {
    Request::get("/mcp")
        .header("host", "localhost")
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", version)
}

/// A `progress` call with a progress token: two notifications, then the result.
fn progress_call(id: i64) -> Value {
    call(id, "tools/call", json!({"name": "progress", "_meta": {"progressToken": "p"}}))
}

/// The SSE events of `text`, each as its `(field, value)` lines, checked the way an
/// old client reads them: every event carries exactly one `data:`, and it is JSON.
fn strict_events(text: &str) -> Vec<Vec<(String, String)>> {
    let mut events = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.is_empty()) {
        let fields: Vec<(String, String)> = block
            .lines()
            .map(|line| {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                (field.to_owned(), value.strip_prefix(' ').unwrap_or(value).to_owned())
            })
            .collect();
        let data: Vec<&String> = fields.iter().filter(|(f, _)| f == "data").map(|(_, v)| v).collect();
        assert_eq!(data.len(), 1, "one data line per event: {block:?} in {text:?}");
        assert!(serde_json::from_str::<Value>(data[0]).is_ok(), "data is not JSON: {block:?} in {text:?}");
        assert!(!fields.iter().any(|(f, _)| f == "retry"), "no retry field before 2025-11-25: {text:?}");
        events.push(fields);
    }
    events
}

fn ids(events: &[Vec<(String, String)>]) -> Vec<String> {
    events.iter().filter_map(|e| e.iter().find(|(f, _)| f == "id").map(|(_, v)| v.clone())).collect()
}

#[tokio::test]
async fn a_streamed_post_response_has_no_priming_event_before_2025_11_25() {
    for version in OLD {
        let h = Harness::new();
        let session = h.initialize(version, json!({})).await;
        let reply = h.call(in_session(&session, version).body(body(&progress_call(3))).unwrap()).await;
        assert_eq!(reply.status, StatusCode::OK, "{version}");
        assert_eq!(reply.content_type(), "text/event-stream", "{version}");
        let text = reply.text();
        assert!(text.starts_with("data: ") || text.starts_with("id: "), "{version}: {text:?}");
        let events = strict_events(&text);
        let messages = reply.events();
        assert_eq!(events.len(), 3, "{version}: two progress notifications and the result: {text:?}");
        assert_eq!(messages[0]["method"], "notifications/progress", "{version}");
        assert_eq!(messages[2]["result"]["content"][0]["text"], "done", "{version}");
        let ids = ids(&events);
        if version == "2024-11-05" {
            assert!(ids.is_empty(), "2024-11-05 defines no event ids: {text:?}");
        } else {
            assert_eq!(ids.len(), 3, "{version}: every event can be resumed from: {text:?}");
        }
    }
}

#[tokio::test]
async fn a_streamed_post_response_opens_with_the_priming_event_in_2025_11_25() {
    let h = Harness::new();
    let session = h.initialize(POLLING, json!({})).await;
    let reply = h.call(in_session(&session, POLLING).body(body(&progress_call(3))).unwrap()).await;
    let text = reply.text();
    let (priming, rest) = text.split_once("\n\n").unwrap();
    let priming: Vec<&str> = priming.lines().collect();
    assert_eq!(priming.len(), 3, "{text:?}");
    assert!(priming[0].starts_with("id: "), "{text:?}");
    assert_eq!(priming[1], "retry: 3000", "{text:?}");
    assert_eq!(priming[2], "data: ", "{text:?}");
    let events = strict_events(rest);
    assert_eq!(events.len(), 3, "{text:?}");
    assert_eq!(ids(&events).len(), 3, "{text:?}");
}

#[tokio::test]
async fn the_get_stream_has_no_priming_event_before_2025_11_25() {
    for version in OLD {
        let h = Harness::new();
        let session = h.initialize(version, json!({})).await;
        let response = h.send(get(&session, version).body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::OK, "{version}");
        let mut stream = response.into_body().into_data_stream();
        h.server.remove_tool("slow");
        let mut seen = String::new();
        read_until(&mut stream, &mut seen, |t| t.contains("list_changed") && t.ends_with("\n\n")).await;
        let events = strict_events(&seen);
        assert_eq!(events.len(), 1, "{version}: only the notification: {seen:?}");
        assert_eq!(ids(&events).len(), usize::from(version != "2024-11-05"), "{version}: {seen:?}");
    }
}

#[tokio::test]
async fn the_get_stream_opens_with_the_priming_event_in_2025_11_25() {
    let h = Harness::new();
    let session = h.initialize(POLLING, json!({})).await;
    let response = h.send(get(&session, POLLING).body(Body::empty()).unwrap()).await;
    let mut stream = response.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.ends_with("\n\n")).await;
    assert!(seen.starts_with("id: ") && seen.ends_with("\nretry: 3000\ndata: \n\n"), "{seen:?}");
}

#[tokio::test]
async fn a_stream_is_never_ended_early_for_polling_before_2025_11_25() {
    for version in OLD {
        let h = Harness::new();
        let session = h.initialize(version, json!({})).await;
        let poll = call(4, "tools/call", json!({"name": "poll"}));
        let reply = h.call(in_session(&session, version).body(body(&poll)).unwrap()).await;
        assert_eq!(reply.status, StatusCode::OK, "{version}");
        assert_eq!(reply.content_type(), "application/json", "{version}: the answer itself: {}", reply.text());
        assert_eq!(reply.json()["result"]["content"][0]["text"], "polled", "{version}");
    }
}

#[tokio::test]
async fn clients_of_2025_03_26_and_2025_06_18_still_resume_with_last_event_id() {
    for version in ["2025-03-26", "2025-06-18"] {
        let h = Harness::new();
        let session = h.initialize(version, json!({})).await;
        let request = call(8, "tools/call", json!({"name": "log_then_answer"}));
        let response = h.send(in_session(&session, version).body(body(&request)).unwrap()).await;
        let mut stream = response.into_body().into_data_stream();
        let mut seen = String::new();
        read_until(&mut stream, &mut seen, |t| t.contains("notifications/message") && t.ends_with("\n\n")).await;
        drop(stream);
        let last = ids(&strict_events(&seen)).pop().unwrap();
        let resumed = h.call(get(&session, version).header("last-event-id", &last).body(Body::empty()).unwrap()).await;
        assert_eq!(resumed.status, StatusCode::OK, "{version}");
        let events = strict_events(&resumed.text());
        assert_eq!(events.len(), 1, "{version}: {}", resumed.text());
        assert_eq!(resumed.events()[0]["result"]["content"][0]["text"], "finished", "{version}");
    }
}

#[tokio::test]
async fn a_2024_11_05_client_has_nothing_to_resume() {
    let h = Harness::new();
    let session = h.initialize("2024-11-05", json!({})).await;
    let reply = h.call(in_session(&session, "2024-11-05").body(body(&progress_call(3))).unwrap()).await;
    assert_eq!(strict_events(&reply.text()).len(), 3);
    let guess = get(&session, "2024-11-05").header("last-event-id", "1.1").body(Body::empty()).unwrap();
    assert_eq!(h.call(guess).await.status, StatusCode::BAD_REQUEST);
}
