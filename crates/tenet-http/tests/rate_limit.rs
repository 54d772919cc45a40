//! Rate limits: a burst of 10 000 requests from one client is throttled with 429 and
//! `Retry-After` while another client keeps being served.

#![allow(clippy::unwrap_used)]

use crate::issuer;

use crate::issuer::{RESOURCE, post};
use axum::http::StatusCode;
use tenet_http::auth::{ApiKey, Auth, AuthConfig};
use tenet_http::{Endpoint, HttpConfig};
use tenet_server::{CancellationToken, RATE_LIMITED, Rate, RateLimits};
use tower::ServiceExt;

const NOISY: &str = "Bearer 0123456789abcdef-noisy";
const QUIET: &str = "Bearer 0123456789abcdef-quiet";

fn endpoint() -> Endpoint {
    let keys = "noisy 0123456789abcdef-noisy stdlib:read\nquiet 0123456789abcdef-quiet stdlib:read";
    let auth = AuthConfig { api_keys: ApiKey::parse_list(keys, "test").unwrap(), ..AuthConfig::new(RESOURCE) };
    let limits = RateLimits {
        default: Some(Rate { per_second: 20.0, burst: 40 }),
        overrides: vec![("tools/call:read_thing".into(), Rate { per_second: 1.0, burst: 5 })],
    };
    let http = HttpConfig { auth: Some(Auth::new(auth).unwrap()), ..HttpConfig::default() };
    Endpoint::new(issuer::server_limited(limits), http, CancellationToken::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_from_one_client_does_not_starve_another() {
    let router = endpoint().router();
    let noisy: Vec<_> = (0..10_000)
        .map(|_| {
            let router = router.clone();
            tokio::spawn(async move {
                router.oneshot(post("/mcp", Some(NOISY), "tools/list", None)).await.unwrap().status()
            })
        })
        .collect();
    // The quiet client keeps asking while the burst is under way.
    for _ in 0..30 {
        let status = router.clone().oneshot(post("/mcp", Some(QUIET), "tools/list", None)).await.unwrap().status();
        assert_eq!(status, StatusCode::OK);
        tokio::task::yield_now().await;
    }
    let mut served = 0;
    let mut limited = 0;
    for task in noisy {
        match task.await.unwrap() {
            StatusCode::OK => served += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(served >= 40, "the burst allowance is served ({served})");
    assert!(limited > 9_000, "the rest is throttled ({limited} limited, {served} served)");
}

#[tokio::test]
async fn over_the_limit_a_client_gets_429_with_retry_after_per_tool() {
    let router = endpoint().router();
    for _ in 0..5 {
        let ok = router.clone().oneshot(post("/mcp", Some(QUIET), "tools/call", Some("read_thing"))).await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
    }
    let refused = router.clone().oneshot(post("/mcp", Some(QUIET), "tools/call", Some("read_thing"))).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "1");
    let bytes = axum::body::to_bytes(refused.into_body(), 1 << 16).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["error"]["code"], RATE_LIMITED.0);
    assert!(body["error"]["data"]["retryAfterMs"].as_u64().unwrap() > 0);
    // Other methods have their own bucket.
    let list = router.clone().oneshot(post("/mcp", Some(QUIET), "tools/list", None)).await.unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    // The refusal is counted; the metrics need no token (a scraper has none).
    let scrape = axum::http::Request::get("/metrics").header("host", "localhost").body(axum::body::Body::empty());
    let metrics = router.oneshot(scrape.unwrap()).await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = String::from_utf8(axum::body::to_bytes(metrics.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
    assert!(text.contains("\ntenet_rate_limited_total 1\n"), "{text}");
}

#[tokio::test]
async fn an_unknown_key_is_a_counted_refusal_and_a_throttled_call_is_not() {
    let limits = RateLimits { default: Some(Rate { per_second: 0.001, burst: 1 }), overrides: Vec::new() };
    let server = issuer::server_limited(limits);
    let metrics = server.metrics().clone();
    let keys = "quiet 0123456789abcdef-quiet stdlib:read";
    let auth = AuthConfig { api_keys: ApiKey::parse_list(keys, "test").unwrap(), ..AuthConfig::new(RESOURCE) };
    let http = HttpConfig { auth: Some(Auth::new(auth).unwrap()), ..HttpConfig::default() };
    let router = Endpoint::new(server, http, CancellationToken::new()).router();
    let send = |authorization| router.clone().oneshot(post("/mcp", Some(authorization), "tools/list", None));
    assert_eq!(send("Bearer 0123456789abcdef-wrong").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(send(QUIET).await.unwrap().status(), StatusCode::OK);
    assert_eq!(send(QUIET).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    let text = metrics.encode();
    assert!(text.contains("tenet_http_refused_total{status=\"401\"} 1\n"), "{text}");
    assert!(!text.contains("tenet_http_refused_total{status=\"429\"}"), "{text}");
    assert!(text.contains("tenet_rate_limited_total 1\n"), "{text}");
}

/// A tool's own rate ([`tenet_server::ToolDef::rate_limit`]), with no rate limits
/// configured: held at the one door in a legacy session and on 2026-07-28 requests
/// alike (the bucket is the caller's, whatever transport the call came by), another
/// caller has a bucket of its own, and the other tools none.
#[tokio::test]
async fn a_tools_own_rate_holds_in_a_legacy_session_and_statelessly_per_caller() {
    use crate::support::{Harness, body, builder, in_session, modern};
    use serde_json::json;
    let (builder, probe) = builder();
    let rated = tenet_server::ToolDef::new("rated", || async { "ok" }).rate_limit(Rate { per_second: 0.001, burst: 2 });
    let server = builder.tool(rated).build().unwrap();
    assert!(server.rate_limiter().is_some(), "a rated tool brings a limiter");
    let harness = Harness::serving(server, probe, HttpConfig::default());
    let from = |ip: &str, mut request: axum::http::Request<axum::body::Body>| {
        let addr: std::net::SocketAddr = format!("{ip}:40000").parse().unwrap();
        request.extensions_mut().insert(tenet_http::ClientAddr(addr));
        request
    };
    let code = |reply: &crate::support::Reply| {
        let message = reply.events().pop().unwrap_or_else(|| reply.json());
        assert_ne!(message["result"]["isError"], true, "{message}");
        message["error"]["code"].as_i64()
    };
    let version = "2025-11-25";
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    let reply = harness.call(from("10.0.0.1", crate::support::post().body(body(&init)).unwrap())).await;
    let session = reply.headers["mcp-session-id"].to_str().unwrap().to_owned();
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    harness.call(from("10.0.0.1", in_session(&session, version).body(body(&done)).unwrap())).await;
    let legacy = |id: i64, tool: &str| {
        let arguments = if tool == "echo" { json!({"text": "hi"}) } else { json!({}) };
        let params = json!({"name": tool, "arguments": arguments});
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
        from("10.0.0.1", in_session(&session, version).body(body(&call)).unwrap())
    };
    for id in 1..=2 {
        let reply = harness.call(legacy(id, "rated")).await;
        assert_eq!(code(&reply), None, "within the burst: {}", reply.text());
    }
    let refused = harness.call(legacy(3, "rated")).await;
    assert_eq!(code(&refused), Some(RATE_LIMITED.0.into()), "the third call in a legacy session: {}", refused.text());
    let other = harness.call(legacy(4, "echo")).await;
    assert_eq!(code(&other), None, "a tool without a rate: {}", other.text());
    // The same caller on 2026-07-28: the same bucket, empty.
    let stateless = || modern(5, "tools/call", json!({"name": "rated", "arguments": {}}));
    let refused = harness.call(from("10.0.0.1", stateless())).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.text());
    // Another caller: a bucket of its own.
    for _ in 0..2 {
        let reply = harness.call(from("10.0.0.2", stateless())).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    assert_eq!(harness.call(from("10.0.0.2", stateless())).await.status, StatusCode::TOO_MANY_REQUESTS);
}
