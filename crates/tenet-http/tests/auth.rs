//! The endpoint as an OAuth 2.1 resource server: challenges, metadata, scopes, and
//! every kind of bad token, against a real loopback JWKS.

#![allow(clippy::unwrap_used)]

use crate::issuer;

use std::time::{Duration, Instant};

use crate::issuer::{Issuer, Jwks, RESOURCE, config, endpoint, post};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tenet_http::Endpoint;
use tenet_http::auth::{ApiKey, AuthConfig};
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    challenge: Option<String>,
    body: Value,
}

async fn send(endpoint: &Endpoint, request: Request<Body>) -> Reply {
    let response = endpoint.router().oneshot(request).await.unwrap();
    let status = response.status();
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    Reply { status, challenge, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

async fn setup() -> (Issuer, Endpoint) {
    let issuer = Issuer::start(Jwks::Good).await;
    let endpoint = endpoint(config(RESOURCE, &issuer.url, Some(format!("{}/jwks", issuer.url))));
    (issuer, endpoint)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Sends `token` to list tools and expects the 401 `invalid_token` challenge.
async fn assert_refused(endpoint: &Endpoint, token: &str) {
    let reply = send(endpoint, post("/mcp", Some(&bearer(token)), "tools/list", None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token}");
    let challenge = reply.challenge.unwrap();
    assert!(challenge.contains(r#"error="invalid_token""#), "{challenge}");
    assert!(challenge.contains(r#"resource_metadata="http://localhost/.well-known/oauth-protected-resource/mcp""#));
}

fn tool_names(reply: &Reply) -> Vec<&str> {
    reply.body["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn without_a_token_the_endpoint_challenges_but_metadata_and_health_stay_open() {
    let (_issuer, endpoint) = setup().await;
    let reply = send(&endpoint, post("/mcp", None, "tools/list", None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.challenge.unwrap(),
        r#"Bearer scope="stdlib:read", resource_metadata="http://localhost/.well-known/oauth-protected-resource/mcp""#
    );
    for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"] {
        let reply = send(&endpoint, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body["resource"], RESOURCE);
        assert_eq!(reply.body["authorization_servers"], json!([_issuer.url]));
        assert_eq!(reply.body["scopes_supported"], json!(["stdlib:read", "stdlib:admin"]));
    }
    let health = send(&endpoint, Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(health.status, StatusCode::OK);
}

#[tokio::test]
async fn a_token_sees_and_calls_only_what_its_scopes_cover_and_gets_a_step_up_challenge() {
    let (issuer, endpoint) = setup().await;
    let read = issuer.sign(&issuer.claims(RESOURCE, "stdlib:read"));
    let listed = send(&endpoint, post("/mcp", Some(&bearer(&read)), "tools/list", None)).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(tool_names(&listed), ["read_thing"]);
    let called = send(&endpoint, post("/mcp", Some(&bearer(&read)), "tools/call", Some("read_thing"))).await;
    assert_eq!(called.body["result"]["content"][0]["text"], "read ok");
    let refused = send(&endpoint, post("/mcp", Some(&bearer(&read)), "tools/call", Some("admin_thing"))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.body["error"]["code"], tenet_server::INSUFFICIENT_SCOPE.0);
    let challenge = refused.challenge.unwrap();
    assert!(
        challenge.starts_with(r#"Bearer error="insufficient_scope", scope="stdlib:admin stdlib:read""#),
        "{challenge}"
    );

    let both = issuer.sign(&issuer.claims(RESOURCE, "stdlib:read stdlib:admin"));
    let listed = send(&endpoint, post("/mcp", Some(&bearer(&both)), "tools/list", None)).await;
    assert_eq!(tool_names(&listed), ["admin_thing", "read_thing"], "listed by name");
    let called = send(&endpoint, post("/mcp", Some(&bearer(&both)), "tools/call", Some("admin_thing"))).await;
    assert_eq!(called.body["result"]["content"][0]["text"], "admin ok");
}

#[tokio::test]
async fn a_token_without_the_required_scope_is_refused_with_403() {
    let (issuer, endpoint) = setup().await;
    let token = issuer.sign(&issuer.claims(RESOURCE, "other"));
    let reply = send(&endpoint, post("/mcp", Some(&bearer(&token)), "tools/list", None)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.challenge.unwrap().contains(r#"error="insufficient_scope", scope="other stdlib:read""#));
}

#[tokio::test]
async fn odd_whitespace_in_the_scope_claim_still_separates_scopes() {
    let (issuer, endpoint) = setup().await;
    let token = issuer.sign(&issuer.claims(RESOURCE, "  stdlib:read\t\tstdlib:admin\n "));
    let called = send(&endpoint, post("/mcp", Some(&bearer(&token)), "tools/call", Some("admin_thing"))).await;
    assert_eq!(called.status, StatusCode::OK);
    let glued = issuer.sign(&issuer.claims(RESOURCE, "stdlib:read,stdlib:admin"));
    let refused = send(&endpoint, post("/mcp", Some(&bearer(&glued)), "tools/list", None)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "a comma is not a separator");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let (issuer, endpoint) = setup().await;
    let mut claims = issuer.claims(RESOURCE, "stdlib:read");
    claims["exp"] = json!(tenet_oauth::now_secs() - 120);
    assert_refused(&endpoint, &issuer.sign(&claims)).await;
}

#[tokio::test]
async fn a_token_not_yet_valid_is_refused() {
    let (issuer, endpoint) = setup().await;
    let mut claims = issuer.claims(RESOURCE, "stdlib:read");
    claims["nbf"] = json!(tenet_oauth::now_secs() + 120);
    assert_refused(&endpoint, &issuer.sign(&claims)).await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let (issuer, endpoint) = setup().await;
    assert_refused(&endpoint, &issuer.sign(&issuer.claims("http://localhost/other", "stdlib:read"))).await;
    assert_refused(&endpoint, &issuer.sign(&issuer.claims("http://localhost/mcp/", "stdlib:read"))).await;
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let (issuer, endpoint) = setup().await;
    let mut claims = issuer.claims(RESOURCE, "stdlib:read");
    claims["iss"] = json!("http://127.0.0.1:1");
    assert_refused(&endpoint, &issuer.sign(&claims)).await;
}

#[tokio::test]
async fn an_unsigned_token_is_refused() {
    let (issuer, endpoint) = setup().await;
    let claims = issuer.claims(RESOURCE, "stdlib:read");
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    for header in [json!({"alg": "none"}), json!({"alg": "none", "kid": "k1"}), json!({"alg": "None"})] {
        assert_refused(&endpoint, &format!("{}.{}.", enc(&header), enc(&claims))).await;
    }
}

#[tokio::test]
async fn an_hmac_token_keyed_with_the_public_key_is_refused() {
    let (issuer, endpoint) = setup().await;
    let claims = issuer.claims(RESOURCE, "stdlib:read");
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!("{}.{}", enc(&json!({"alg": "HS256", "kid": "k1"})), enc(&claims));
    let jwk = issuer.public_jwk();
    let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    let y = URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap();
    let point = [&[4u8][..], &x, &y].concat();
    for secret in [jwk.to_string().into_bytes(), point] {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
        let tag = ring::hmac::sign(&key, input.as_bytes());
        assert_refused(&endpoint, &format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))).await;
    }
}

#[tokio::test]
async fn a_tampered_token_is_refused() {
    let (issuer, endpoint) = setup().await;
    let token = issuer.sign(&issuer.claims(RESOURCE, "stdlib:read"));
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let forged = issuer.claims(RESOURCE, "stdlib:read stdlib:admin");
    parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
    assert_refused(&endpoint, &parts.join(".")).await;
    // A flipped signature byte.
    let mut sig = URL_SAFE_NO_PAD.decode(token.rsplit('.').next().unwrap()).unwrap();
    sig[5] ^= 1;
    let head = token.rsplit_once('.').unwrap().0;
    assert_refused(&endpoint, &format!("{head}.{}", URL_SAFE_NO_PAD.encode(sig))).await;
}

#[tokio::test]
async fn garbage_tokens_are_refused() {
    let (_issuer, endpoint) = setup().await;
    for token in ["abc", "a.b.c", "....", "eyJhbGciOiJFUzI1NiJ9.e30.", "%%%.%%%.%%%", &"x".repeat(20_000)] {
        assert_refused(&endpoint, token).await;
    }
    let reply = send(&endpoint, post("/mcp", Some("Bearer"), "tools/list", None)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_token_in_the_query_string_is_never_read() {
    let (issuer, endpoint) = setup().await;
    let token = issuer.sign(&issuer.claims(RESOURCE, "stdlib:read"));
    let reply = send(&endpoint, post(&format!("/mcp?access_token={token}"), None, "tools/list", None)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.challenge.unwrap().contains(r#"error="invalid_request""#));
    // Not even next to a good header.
    let reply =
        send(&endpoint, post(&format!("/mcp?access_token={token}"), Some(&bearer(&token)), "tools/list", None)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_jwks_that_is_down_fails_closed_and_recovers() {
    let (issuer, endpoint) = setup().await;
    issuer.set_mode(Jwks::Down);
    let token = issuer.sign(&issuer.claims(RESOURCE, "stdlib:read"));
    let reply = send(&endpoint, post("/mcp", Some(&bearer(&token)), "tools/list", None)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("HTTP 500"), "{}", reply.body);
    issuer.set_mode(Jwks::Good);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let reply = send(&endpoint, post("/mcp", Some(&bearer(&token)), "tools/list", None)).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn a_jwks_of_junk_fails_closed() {
    let (issuer, endpoint) = setup().await;
    issuer.set_mode(Jwks::Junk);
    let token = issuer.sign(&issuer.claims(RESOURCE, "stdlib:read"));
    let reply = send(&endpoint, post("/mcp", Some(&bearer(&token)), "tools/list", None)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("not JSON"), "{}", reply.body);
}

#[tokio::test]
async fn a_slow_jwks_times_out_and_fails_closed() {
    let (issuer, endpoint) = setup().await;
    issuer.set_mode(Jwks::Slow);
    let token = issuer.sign(&issuer.claims(RESOURCE, "stdlib:read"));
    let started = Instant::now();
    let reply = send(&endpoint, post("/mcp", Some(&bearer(&token)), "tools/list", None)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(3), "the 500 ms fetch timeout applies");
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("timed out"), "{}", reply.body);
}

#[tokio::test]
async fn unknown_key_ids_refetch_the_jwks_at_most_once_per_interval() {
    let (issuer, endpoint) = setup().await;
    let good = issuer.sign(&issuer.claims(RESOURCE, "stdlib:read"));
    assert_eq!(send(&endpoint, post("/mcp", Some(&bearer(&good)), "tools/list", None)).await.status, StatusCode::OK);
    let unknown =
        issuer.sign_with_header(&json!({"alg": "ES256", "kid": "k2"}), &issuer.claims(RESOURCE, "stdlib:read"));
    for _ in 0..20 {
        assert_refused(&endpoint, &unknown).await;
    }
    assert!(issuer.fetches() <= 2, "fetched {} times", issuer.fetches());
    // Known keys keep working from the cache meanwhile.
    assert_eq!(send(&endpoint, post("/mcp", Some(&bearer(&good)), "tools/list", None)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn rs256_tokens_are_verified_against_the_issuers_rsa_key() {
    let (issuer, endpoint) = setup().await;
    let token = issuer.sign_rs256(&issuer.claims(RESOURCE, "stdlib:read"));
    let reply = send(&endpoint, post("/mcp", Some(&bearer(&token)), "tools/list", None)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(tool_names(&reply), ["read_thing"]);
    // The same claims with a flipped signature byte, and RS256 claims under an EC kid.
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    assert_refused(&endpoint, std::str::from_utf8(&tampered).unwrap()).await;
    let (head, rest) = token.split_once('.').unwrap();
    assert!(head.len() > 10);
    let wrong_kid = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k1"}"#));
    assert_refused(&endpoint, &wrong_kid).await;
}

#[tokio::test]
async fn a_verified_token_is_not_checked_again_until_its_key_is_withdrawn() {
    let (issuer, endpoint) = setup().await;
    let old = issuer.sign(&issuer.claims(RESOURCE, "stdlib:read"));
    for _ in 0..3 {
        assert_eq!(send(&endpoint, post("/mcp", Some(&bearer(&old)), "tools/list", None)).await.status, StatusCode::OK);
    }
    assert_eq!(issuer.fetches(), 1);
    // The issuer rotates: k1 is withdrawn. A token signed with k2 makes the server
    // refetch the set, after which the remembered k1 token must be refused.
    issuer.set_mode(Jwks::Rotated);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let new = issuer.sign_rotated(&issuer.claims(RESOURCE, "stdlib:read"));
    assert_eq!(send(&endpoint, post("/mcp", Some(&bearer(&new)), "tools/list", None)).await.status, StatusCode::OK);
    assert_eq!(issuer.fetches(), 2);
    assert_refused(&endpoint, &old).await;
}

#[tokio::test]
async fn api_keys_grant_their_own_scopes() {
    let keys = ApiKey::parse_list(
        "ci 0123456789abcdef-ci stdlib:read\nops 0123456789abcdef-ops stdlib:read stdlib:admin",
        "test",
    )
    .unwrap();
    let endpoint = issuer::endpoint(AuthConfig {
        api_keys: keys,
        required_scopes: vec!["stdlib:read".into()],
        ..AuthConfig::new(RESOURCE)
    });
    let ci = send(&endpoint, post("/mcp", Some("Bearer 0123456789abcdef-ci"), "tools/list", None)).await;
    assert_eq!(tool_names(&ci), ["read_thing"]);
    let ops =
        send(&endpoint, post("/mcp", Some("Bearer 0123456789abcdef-ops"), "tools/call", Some("admin_thing"))).await;
    assert_eq!(ops.body["result"]["content"][0]["text"], "admin ok");
    let refused =
        send(&endpoint, post("/mcp", Some("Bearer 0123456789abcdef-ci"), "tools/call", Some("admin_thing"))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let wrong = send(&endpoint, post("/mcp", Some("Bearer 0123456789abcdef-cj"), "tools/list", None)).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_legacy_session_is_held_to_its_token_and_gets_the_step_up_challenge() {
    let (issuer, endpoint) = setup().await;
    let read = bearer(&issuer.sign(&issuer.claims(RESOURCE, "stdlib:read")));
    let legacy = |session: Option<&str>, body: Value| {
        let mut request = Request::post("/mcp")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("authorization", &read);
        if let Some(session) = session {
            request = request.header("mcp-session-id", session).header("mcp-protocol-version", "2025-06-18");
        }
        request.body(Body::from(body.to_string())).unwrap()
    };
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "old", "version": "0"}}});
    let response = endpoint.router().oneshot(legacy(None, init)).await.unwrap();
    let session = response.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(send(&endpoint, legacy(Some(&session), initialized)).await.status, StatusCode::ACCEPTED);
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "admin_thing"}});
    let refused = send(&endpoint, legacy(Some(&session), call)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.body["error"]["code"], tenet_server::INSUFFICIENT_SCOPE.0);
    assert!(
        refused
            .challenge
            .unwrap()
            .starts_with(r#"Bearer error="insufficient_scope", scope="stdlib:admin stdlib:read""#)
    );
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let listed = send(&endpoint, legacy(Some(&session), list)).await;
    assert_eq!(tool_names(&listed), ["read_thing"]);
}

/// A legacy `initialize` with `authorization`, then the session id it got.
async fn open_session(endpoint: &Endpoint, authorization: &str) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25",
        "capabilities": {}, "clientInfo": {"name": "old", "version": "0"}}});
    let response = endpoint.router().oneshot(legacy_post(authorization, None, &init)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.headers()["mcp-session-id"].to_str().unwrap().to_owned()
}

fn legacy_post(authorization: &str, session: Option<&str>, body: &Value) -> Request<Body> {
    let mut request = Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", authorization);
    if let Some(session) = session {
        request = request.header("mcp-session-id", session).header("mcp-protocol-version", "2025-11-25");
    }
    request.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn a_token_whose_subject_is_an_api_keys_name_is_another_caller() {
    let issuer = Issuer::start(Jwks::Good).await;
    let keys = ApiKey::parse_list("ann 0123456789abcdef-ann stdlib:read", "test").unwrap();
    let config = AuthConfig { api_keys: keys, ..config(RESOURCE, &issuer.url, Some(format!("{}/jwks", issuer.url))) };
    let endpoint = endpoint(config);
    // The issuer's tokens name `ann` as their subject, as the key is named.
    let token = bearer(&issuer.sign(&issuer.claims(RESOURCE, "stdlib:read")));
    let session = open_session(&endpoint, "Bearer 0123456789abcdef-ann").await;
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let own = send(&endpoint, legacy_post("Bearer 0123456789abcdef-ann", Some(&session), &ping)).await;
    assert_eq!(own.status, StatusCode::OK);
    let other = send(&endpoint, legacy_post(&token, Some(&session), &ping)).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "the key's session is not the token's");
}

#[tokio::test]
async fn tokens_without_a_subject_share_no_session() {
    let (issuer, endpoint) = setup().await;
    let unnamed = |scope: &str| {
        let mut claims = issuer.claims(RESOURCE, scope);
        claims.as_object_mut().unwrap().remove("sub");
        bearer(&issuer.sign(&claims))
    };
    let (first, second) = (unnamed("stdlib:read"), unnamed("stdlib:read stdlib:admin"));
    assert_ne!(first, second);
    let session = open_session(&endpoint, &first).await;
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    assert_eq!(send(&endpoint, legacy_post(&first, Some(&session), &ping)).await.status, StatusCode::OK);
    let other = send(&endpoint, legacy_post(&second, Some(&session), &ping)).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "another token without a subject is another caller");
}

#[tokio::test]
async fn keys_whose_names_look_like_other_callers_ids_share_no_session() {
    // Names a naive id (the bare name, or `kind:name` read back at the first `:`) would
    // confuse: with each other, with another principal kind's id, with an address's.
    let names = ["alice", "key:alice", "a", "a:b", "a/b", "zoë", "zoe", "token:0:alice", "ip:127.0.0.1", "unnamed:x"];
    let text: Vec<String> =
        names.iter().enumerate().map(|(i, name)| format!("{name} 0123456789abcdef-{i} stdlib:read")).collect();
    let keys = ApiKey::parse_list(&text.join("\n"), "test").unwrap();
    assert_eq!(keys.iter().map(ApiKey::name).collect::<Vec<_>>(), names, "the format takes every one of these names");
    let endpoint = issuer::endpoint(AuthConfig {
        api_keys: keys,
        required_scopes: vec!["stdlib:read".into()],
        ..AuthConfig::new(RESOURCE)
    });
    let authorization = |i: usize| format!("Bearer 0123456789abcdef-{i}");
    let mut sessions = Vec::new();
    for i in 0..names.len() {
        sessions.push(open_session(&endpoint, &authorization(i)).await);
    }
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    for (owner, session) in sessions.iter().enumerate() {
        for caller in 0..names.len() {
            let reply = send(&endpoint, legacy_post(&authorization(caller), Some(session), &ping)).await;
            let expected = if caller == owner { StatusCode::OK } else { StatusCode::NOT_FOUND };
            assert_eq!(reply.status, expected, "{:?}'s session used by {:?}", names[owner], names[caller]);
        }
    }
}
