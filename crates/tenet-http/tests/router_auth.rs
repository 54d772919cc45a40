//! The router with authorization on: CORS still applies (preflights answered before
//! the auth check, refusals readable by the page), and HTTP+SSE is served behind the
//! same gate as the MCP endpoint rather than dropped.

#![allow(clippy::unwrap_used)]

use crate::support::{Harness, body, modern, read_until};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use tenet_http::HttpConfig;
use tenet_http::auth::{ApiKey, Auth, AuthConfig};

const ORIGIN: &str = "https://app.example";
const KEY: &str = "Bearer 0123456789abcdef-ci";

/// The test server behind an API key, with CORS for [`ORIGIN`].
fn guarded() -> Harness {
    let keys = ApiKey::parse_list("ci 0123456789abcdef-ci stdlib:read", "test").unwrap();
    let auth = Auth::new(AuthConfig { api_keys: keys, ..AuthConfig::new("http://localhost:3020/mcp") }).unwrap();
    Harness::with(HttpConfig { auth: Some(auth), cors_origins: vec![ORIGIN.into()], ..HttpConfig::default() })
}

fn from_origin(mut request: Request<Body>) -> Request<Body> {
    request.headers_mut().insert("origin", ORIGIN.parse().unwrap());
    request
}

fn with_key(mut request: Request<Body>) -> Request<Body> {
    request.headers_mut().insert("authorization", KEY.parse().unwrap());
    request
}

fn open_sse() -> Request<Body> {
    Request::get("/sse")
        .header("host", "localhost:3020")
        .header("accept", "text/event-stream")
        .body(Body::empty())
        .unwrap()
}

fn post_message(url: &str, message: &serde_json::Value) -> Request<Body> {
    Request::post(url)
        .header("host", "localhost:3020")
        .header("content-type", "application/json")
        .body(body(message))
        .unwrap()
}

#[tokio::test]
async fn with_auth_on_a_preflight_is_answered_without_credentials() {
    let h = guarded();
    for path in ["/mcp", "/sse", "/messages"] {
        let preflight = Request::options(path)
            .header("host", "localhost:3020")
            .header("origin", ORIGIN)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "Authorization, Content-Type, Mcp-Protocol-Version")
            .body(Body::empty())
            .unwrap();
        let reply = h.call(preflight).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
        assert_eq!(reply.headers["access-control-allow-origin"], ORIGIN, "{path}");
        assert_eq!(reply.headers["access-control-allow-methods"], "GET,POST,DELETE", "{path}");
        assert_eq!(
            reply.headers["access-control-allow-headers"], "Authorization, Content-Type, Mcp-Protocol-Version",
            "{path}"
        );
        assert!(reply.headers.get("www-authenticate").is_none(), "{path}: the preflight met the auth check");
    }
}

#[tokio::test]
async fn with_auth_on_answers_and_refusals_carry_the_cors_headers() {
    let h = guarded();
    let granted = h.call(from_origin(with_key(modern(1, "tools/list", json!({}))))).await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.text());
    assert_eq!(granted.headers["access-control-allow-origin"], ORIGIN);
    assert!(granted.json()["result"]["tools"].is_array());

    let refused = h.call(from_origin(modern(2, "tools/list", json!({})))).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.headers["access-control-allow-origin"], ORIGIN);
    let exposed = refused.headers["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("www-authenticate"), "the page must be able to read the challenge: {exposed}");
    assert!(refused.headers["www-authenticate"].to_str().unwrap().contains("resource_metadata="));

    let mut wrong = from_origin(modern(3, "tools/list", json!({})));
    wrong.headers_mut().insert("authorization", "Bearer 0123456789abcdef-cj".parse().unwrap());
    let wrong = h.call(wrong).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.headers["access-control-allow-origin"], ORIGIN);

    let metadata = Request::get("/.well-known/oauth-protected-resource/mcp")
        .header("host", "localhost:3020")
        .body(Body::empty())
        .unwrap();
    let metadata = h.call(from_origin(metadata)).await;
    assert_eq!(metadata.status, StatusCode::OK, "the metadata stays open");
    assert_eq!(metadata.headers["access-control-allow-origin"], ORIGIN);
    assert_eq!(metadata.json()["resource"], "http://localhost:3020/mcp");

    let health = h.call(Request::get("/health").header("host", "localhost:3020").body(Body::empty()).unwrap()).await;
    assert_eq!(health.status, StatusCode::OK, "health stays open");
}

#[tokio::test]
async fn with_auth_on_http_sse_is_served_and_needs_credentials() {
    let h = guarded();
    let refused = h.call(open_sse()).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.text());
    assert!(refused.headers.contains_key("www-authenticate"));

    let response = h.send(with_key(open_sse())).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut stream = response.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("\n\n")).await;
    assert!(seen.starts_with("event: endpoint\ndata: /messages?sessionId="), "{seen}");
    let url = seen.lines().nth(1).unwrap().strip_prefix("data: ").unwrap().to_owned();

    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "old", "version": "0"}}});
    let refused = h.call(post_message(&url, &init)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "a message needs credentials too");
    let accepted = h.call(with_key(post_message(&url, &init))).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.text());
    read_until(&mut stream, &mut seen, |t| t.contains("protocolVersion")).await;
}

/// A status page listing what is behind the server, as a gateway's `/upstreams` does.
struct Pages;

impl tenet_http::StatusSource for Pages {
    fn paths(&self) -> Vec<String> {
        vec!["/upstreams".into()]
    }
    fn page(&self, _: &str) -> Option<String> {
        Some(r#"{"upstreams":[{"name":"billing","target":"http://10.0.0.7/mcp"}]}"#.into())
    }
    fn not_ready(&self) -> Option<String> {
        None
    }
}

#[tokio::test]
async fn with_authorization_on_the_status_pages_need_a_token_with_their_own_scope() {
    let keys = "ci 0123456789abcdef-ci stdlib:read\nops 0123456789abcdef-ops tenet:status";
    let keys = ApiKey::parse_list(keys, "test").unwrap();
    let auth = Auth::new(AuthConfig { api_keys: keys, ..AuthConfig::new("http://localhost:3020/mcp") }).unwrap();
    let status = Some(std::sync::Arc::new(Pages) as std::sync::Arc<dyn tenet_http::StatusSource>);
    let h = Harness::with(HttpConfig { auth: Some(auth), status, ..HttpConfig::default() });
    let page = |key: Option<&str>| {
        let mut request = Request::get("/upstreams").header("host", "localhost:3020");
        if let Some(key) = key {
            request = request.header("authorization", key);
        }
        request.body(Body::empty()).unwrap()
    };
    let anonymous = h.call(page(None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(!anonymous.text().contains("billing"));
    let reader = h.call(page(Some(KEY))).await;
    assert_eq!(reader.status, StatusCode::FORBIDDEN, "{}", reader.text());
    let challenge = reader.headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains(r#"error="insufficient_scope", scope="stdlib:read tenet:status""#), "{challenge}");
    assert!(!reader.text().contains("billing"));
    let operator = h.call(page(Some("Bearer 0123456789abcdef-ops"))).await;
    assert_eq!(operator.status, StatusCode::OK);
    assert!(operator.text().contains("billing"));
    // Without authorization, the pages stay open, as /health is.
    let open = Harness::with(HttpConfig {
        status: Some(std::sync::Arc::new(Pages) as std::sync::Arc<dyn tenet_http::StatusSource>),
        ..HttpConfig::default()
    });
    assert_eq!(open.call(page(None)).await.status, StatusCode::OK);
}
