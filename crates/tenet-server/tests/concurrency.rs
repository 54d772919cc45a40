//! Per-tool concurrency caps over the wire: shared by every connection, a call past
//! the cap waits for a turn (up to half its timeout) and is then refused with -32004;
//! a turn comes back however a call ends; tasks count too.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::{Client, meta};
use serde_json::{Value, json};
use tenet_server::{Args, RATE_LIMITED, Server, ServerConfig, TaskSupport, ToolDef};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Mode {
    mode: String,
}

/// `queued` (cap 2, 100 ms runs) records the most calls it saw at once; `stuck`
/// (the server's default cap of 1) never finishes before its 400 ms timeout;
/// `fragile` (cap 1) panics, hangs or answers as told.
fn server(peak: &Arc<AtomicUsize>) -> Server {
    let running = Arc::new(AtomicUsize::new(0));
    let peak = peak.clone();
    let queued = move || {
        let (running, peak) = (running.clone(), peak.clone());
        async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(100)).await;
            running.fetch_sub(1, Ordering::SeqCst);
            "done"
        }
    };
    let stuck = || async {
        tokio::time::sleep(Duration::from_secs(10)).await;
        "never"
    };
    let fragile = |Args(Mode { mode }): Args<Mode>| async move {
        match mode.as_str() {
            "panic" => panic!("fragile broke"),
            "hang" => std::future::pending().await,
            _ => "fine",
        }
    };
    let config = ServerConfig { tool_concurrency: Some(1), ..ServerConfig::default() };
    Server::builder("capped", "1")
        .config(config)
        .tool(ToolDef::new("queued", queued).max_concurrency(2).timeout(Duration::from_secs(2)))
        .tool(ToolDef::new("stuck", stuck).timeout(Duration::from_millis(400)).task_support(TaskSupport::Optional))
        .tool(ToolDef::new("fragile", fragile).timeout(Duration::from_millis(300)))
        .build()
        .unwrap()
}

fn call(id: i64, name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": name, "arguments": arguments, "_meta": meta(json!({}))}})
}

#[track_caller]
fn assert_busy(response: &Value) {
    assert_eq!(response["error"]["code"], RATE_LIMITED.0, "{response}");
    assert!(response["error"]["data"]["retryAfterMs"].as_u64().unwrap() > 0, "{response}");
    assert!(response["error"]["message"].as_str().unwrap().contains("busy"), "{response}");
}

#[tokio::test]
async fn calls_past_the_cap_wait_for_a_turn() {
    let peak = Arc::new(AtomicUsize::new(0));
    let mut client = Client::start(server(&peak));
    let started = Instant::now();
    for id in 1..=5 {
        client.send(&call(id, "queued", json!({}))).await;
    }
    for id in 1..=5 {
        let response = client.response(&json!(id)).await;
        assert_eq!(response["result"]["content"][0]["text"], "done", "{response}");
    }
    assert_eq!(peak.load(Ordering::SeqCst), 2, "never more than the cap at once");
    assert!(started.elapsed() >= Duration::from_millis(300), "five 100 ms calls, two at a time");
    client.finish().await;
}

#[tokio::test]
async fn a_call_that_finds_no_turn_in_half_its_timeout_is_refused_on_any_connection() {
    let server = server(&Arc::new(AtomicUsize::new(0)));
    let mut first = Client::start(server.clone());
    let mut second = Client::start(server);
    first.send(&call(1, "stuck", json!({}))).await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let started = Instant::now();
    let refused = second.response_to(call(1, "stuck", json!({}))).await;
    assert_busy(&refused);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(190) && waited < Duration::from_millis(370), "{waited:?}");
    let timed_out = first.response(&json!(1)).await;
    assert_eq!(timed_out["result"]["isError"], true, "{timed_out}");
    first.finish().await;
    second.finish().await;
}

#[tokio::test]
async fn a_turn_comes_back_after_a_panic_or_a_timeout() {
    let mut client = Client::start(server(&Arc::new(AtomicUsize::new(0))));
    let ask = |id, mode: &str| call(id, "fragile", json!({ "mode": mode }));
    let panicked = client.response_to(ask(1, "panic")).await;
    assert!(panicked["result"]["content"][0]["text"].as_str().unwrap().contains("fragile broke"), "{panicked}");
    assert_eq!(client.response_to(ask(2, "ok")).await["result"]["content"][0]["text"], "fine");
    let hung = client.response_to(ask(3, "hang")).await;
    assert!(hung["result"]["content"][0]["text"].as_str().unwrap().contains("timed out"), "{hung}");
    assert_eq!(client.response_to(ask(4, "ok")).await["result"]["content"][0]["text"], "fine");
    client.finish().await;
}

#[tokio::test]
async fn a_running_task_holds_a_turn() {
    let mut client = Client::start(server(&Arc::new(AtomicUsize::new(0))));
    client.initialize("2025-11-25", json!({})).await;
    let task = client.call(1, "tools/call", json!({"name": "stuck", "arguments": {}, "task": {"ttl": 60_000}})).await;
    assert_eq!(task["result"]["task"]["status"], "working", "{task}");
    let refused = client.call(2, "tools/call", json!({"name": "stuck", "arguments": {}})).await;
    assert_busy(&refused);
    client.finish().await;
}

#[tokio::test]
async fn running_and_waiting_calls_are_gauges_per_capped_tool() {
    // `held` (cap 1) runs until the test lets it finish.
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let held = {
        let release = release.clone();
        move || {
            let release = release.clone();
            async move {
                release.acquire().await.unwrap().forget();
                "released"
            }
        }
    };
    let server = Server::builder("gauged", "1")
        .tool(ToolDef::new("held", held).max_concurrency(1).timeout(Duration::from_secs(20)))
        .tool(ToolDef::new("free", || async { "free" }))
        .build()
        .unwrap();
    let metrics = server.metrics().clone();
    let mut client = Client::start(server);
    let gauge = |series: &str| -> Option<f64> {
        let text = metrics.encode();
        text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    };
    const RUNNING: &str = r#"tenet_tool_calls_running{tool="held"}"#;
    const WAITING: &str = r#"tenet_tool_calls_waiting{tool="held"}"#;
    assert_eq!(gauge(r#"tenet_tool_concurrency_limit{tool="held"}"#), Some(1.0));
    assert_eq!((gauge(RUNNING), gauge(WAITING)), (Some(0.0), Some(0.0)));
    assert_eq!(gauge(r#"tenet_tool_calls_running{tool="free"}"#), None, "uncapped tools have no gauges");
    client.send(&call(1, "held", json!({}))).await;
    client.send(&call(2, "held", json!({}))).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while (gauge(RUNNING), gauge(WAITING)) != (Some(1.0), Some(1.0)) {
        assert!(Instant::now() < deadline, "never saw one call running and one waiting: {}", metrics.encode());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    release.add_permits(2);
    for id in 1..=2 {
        assert_eq!(client.response(&json!(id)).await["result"]["content"][0]["text"], "released");
    }
    assert_eq!((gauge(RUNNING), gauge(WAITING)), (Some(0.0), Some(0.0)));
    client.finish().await;
}
