//! Hostile and malformed input: DNS rebinding, foreign origins, huge or broken bodies,
//! wrong content types. The endpoint refuses each with its own status and stays up.

#![allow(clippy::unwrap_used)]

use crate::support;

use crate::support::{Harness, body, modern, post};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use tenet_http::HttpConfig;

#[tokio::test]
async fn a_forged_host_or_foreign_origin_is_forbidden() {
    let h = Harness::new();
    let mut forged = modern(1, "tools/list", json!({}));
    forged.headers_mut().insert("host", "evil.example.com".parse().unwrap());
    assert_eq!(h.call(forged).await.status, StatusCode::FORBIDDEN);

    let mut foreign = modern(1, "tools/list", json!({}));
    foreign.headers_mut().insert("origin", "https://evil.example".parse().unwrap());
    assert_eq!(h.call(foreign).await.status, StatusCode::FORBIDDEN);

    let mut local = modern(1, "tools/list", json!({}));
    local.headers_mut().insert("origin", "http://localhost:3020".parse().unwrap());
    assert_eq!(h.call(local).await.status, StatusCode::OK);

    let legacy = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}});
    let forged = Request::post("/mcp")
        .header("host", "attacker.test:80")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body(&legacy))
        .unwrap();
    let reply = h.call(forged).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "checked before a session is made");
    let doubled = post().header("host", "attacker.test:80").body(body(&legacy)).unwrap();
    assert_eq!(h.call(doubled).await.status, StatusCode::FORBIDDEN, "a second Host header");
    assert_eq!(h.endpoint.session_count(), 0);
}

#[tokio::test]
async fn configured_origins_are_allowed() {
    let config = HttpConfig { allowed_origins: vec!["https://app.example".into()], ..HttpConfig::default() };
    let h = Harness::with(config);
    let mut request = modern(1, "tools/list", json!({}));
    request.headers_mut().insert("origin", "https://app.example".parse().unwrap());
    assert_eq!(h.call(request).await.status, StatusCode::OK);
}

fn with_origin(mut request: Request<Body>, origin: &'static str) -> Request<Body> {
    request.headers_mut().insert("origin", origin.parse().unwrap());
    request
}

fn preflight(origin: &str, headers: &str) -> Request<Body> {
    Request::options("/mcp")
        .header("host", "localhost:3020")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", headers)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn cors_is_off_by_default() {
    let h = Harness::new();
    let reply = h.call(with_origin(modern(1, "tools/list", json!({})), "http://localhost:5173")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers.get("access-control-allow-origin").is_none());
    let reply = h.call(preflight("http://localhost:5173", "content-type")).await;
    assert!(reply.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn cors_grants_listed_origins_only() {
    let h = Harness::with(HttpConfig { cors_origins: vec!["https://app.example".into()], ..HttpConfig::default() });
    let reply = h.call(with_origin(modern(1, "tools/list", json!({})), "https://app.example")).await;
    assert_eq!(reply.status, StatusCode::OK, "a CORS origin passes the Origin check");
    assert_eq!(reply.headers["access-control-allow-origin"], "https://app.example");
    assert_eq!(reply.headers["access-control-expose-headers"], "mcp-session-id,www-authenticate");
    assert!(reply.headers["vary"].to_str().unwrap().starts_with("origin"), "{:?}", reply.headers["vary"]);

    let reply = h.call(with_origin(modern(1, "tools/list", json!({})), "https://evil.example")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.headers.get("access-control-allow-origin").is_none());

    let granted =
        h.call(preflight("https://app.example", "Content-Type, Mcp-Protocol-Version, Mcp-Param-Region")).await;
    assert_eq!(granted.status, StatusCode::OK);
    assert_eq!(granted.headers["access-control-allow-origin"], "https://app.example");
    assert_eq!(granted.headers["access-control-allow-methods"], "GET,POST,DELETE");
    assert_eq!(granted.headers["access-control-allow-headers"], "Content-Type, Mcp-Protocol-Version, Mcp-Param-Region");

    let denied = h.call(preflight("https://evil.example", "content-type")).await;
    assert!(denied.headers.get("access-control-allow-origin").is_none(), "the browser refuses the page");
}

#[tokio::test]
async fn a_50_mb_body_is_refused_with_413() {
    let h = Harness::new();
    let huge = vec![b' '; 50 * 1024 * 1024];
    let declared = post().header("content-length", huge.len()).body(Body::from(huge.clone())).unwrap();
    assert_eq!(h.call(declared).await.status, StatusCode::PAYLOAD_TOO_LARGE);

    let chunks = futures_util::stream::iter(
        huge.chunks(1 << 20).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>(),
    );
    let streamed = post().body(Body::from_stream(chunks)).unwrap();
    assert_eq!(h.call(streamed).await.status, StatusCode::PAYLOAD_TOO_LARGE);

    assert_eq!(h.call(modern(2, "tools/list", json!({}))).await.status, StatusCode::OK, "still serving");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_parse_error() {
    let h = Harness::new();
    for text in ["{\"jsonrpc\":", "hello", "\u{0}\u{1}"] {
        let reply = h.call(post().body(Body::from(text)).unwrap()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{text:?}");
        assert_eq!(reply.json()["error"]["code"], -32700);
    }
    let reply = h.call(post().body(Body::from("42")).unwrap()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"]["code"], -32600);
}

#[tokio::test]
async fn wrong_content_type_is_415_and_unacceptable_accept_is_406() {
    let h = Harness::new();
    let message = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let request = Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "text/plain")
        .body(body(&message))
        .unwrap();
    assert_eq!(h.call(request).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for accept in ["application/json", "text/event-stream", "text/html"] {
        let request = Request::post("/mcp")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header("accept", accept)
            .body(body(&message))
            .unwrap();
        assert_eq!(h.call(request).await.status, StatusCode::NOT_ACCEPTABLE, "{accept}");
    }
    let get = Request::get("/mcp").header("host", "localhost").header("accept", "application/json");
    let id = h.initialize(support::LEGACY, json!({})).await;
    let reply = h.call(get.header("mcp-session-id", id).body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
    let put = Request::put("/mcp").header("host", "localhost").body(Body::empty()).unwrap();
    assert_eq!(h.call(put).await.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn health_and_readiness_live_beside_the_endpoint() {
    let h = Harness::new();
    let health = Request::get("/health").body(Body::empty()).unwrap();
    assert_eq!(h.call(health).await.status, StatusCode::OK);
    let ready = || Request::get("/ready").body(Body::empty()).unwrap();
    assert_eq!(h.call(ready()).await.status, StatusCode::OK);
    h.shutdown.cancel();
    assert_eq!(h.call(ready()).await.status, StatusCode::SERVICE_UNAVAILABLE);
}
