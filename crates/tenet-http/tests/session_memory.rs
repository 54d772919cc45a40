//! Abandoned legacy sessions: 10 000 opened and left, all expire and their memory
//! goes back to the allocator: 10 000 more fit in it without the process growing.
//! (The allocator keeps freed pages for reuse rather than handing them to the OS, so
//! resident memory does not drop; that it does not grow again is what shows nothing
//! is kept.) Alone in its own test binary (a `[[test]]` of its own in Cargo.toml, not a
//! module of tests/main.rs) so that the process's memory is this test's alone.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use support::{Harness, LEGACY, STEP, body, post};
use tenet_http::HttpConfig;

/// Resident memory of this process, in bytes (Linux); `None` elsewhere.
fn resident() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Opens `n` sessions and leaves them; returns once the endpoint holds `n`.
async fn abandon(h: &Harness, n: usize) {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    for _ in 0..n {
        let reply = h.call(post().body(body(&init)).unwrap()).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    assert_eq!(h.endpoint.session_count(), n);
}

/// Waits until every session has expired.
async fn expired(h: &Harness) {
    let deadline = tokio::time::Instant::now() + STEP;
    while h.endpoint.session_count() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "{} sessions left", h.endpoint.session_count());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn ten_thousand_abandoned_sessions_expire_and_their_memory_comes_back() {
    // One caller opens them all: its share is the whole table here.
    let h = Harness::with(HttpConfig {
        session_idle_timeout: Duration::from_millis(300),
        max_sessions_per_caller: 10_000,
        ..HttpConfig::default()
    });
    // A first round warms up whatever is allocated once (allocator arenas, caches).
    abandon(&h, 2_000).await;
    expired(&h).await;
    let baseline = resident();

    abandon(&h, 10_000).await;
    let first = resident();
    expired(&h).await;
    abandon(&h, 10_000).await;
    let second = resident();
    expired(&h).await;

    let (Some(baseline), Some(first), Some(second)) = (baseline, first, second) else { return };
    let grown = first.saturating_sub(baseline);
    let regrown = second.saturating_sub(first);
    eprintln!("resident: baseline {baseline} B, 10 000 sessions +{grown} B, 10 000 more after expiry +{regrown} B");
    assert!(grown > 10_000 * 1024, "10 000 sessions should take at least 10 MB, took {grown} B");
    assert!(regrown < grown / 4, "the second 10 000 sessions grew the process by {regrown} of {grown} bytes");
}
