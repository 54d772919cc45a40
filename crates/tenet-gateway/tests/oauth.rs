//! `[upstream.oauth]`: the gateway gets its own token for a protected upstream with
//! the client credentials grant (a secret, or a `private_key_jwt` assertion), keeps it
//! across calls, and an upstream whose authorization server refuses it stays down
//! with the reason. The upstream is a real Tenet server behind Tenet's own bearer
//! check, its authorization server the loopback stand-in of `tenet-oauth`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use crate::support::{Harness, Probe, Running, STEP, quick, text, until, upstream, upstream_server};
use serde_json::json;
use tenet_client::oauth::Es256Key;
use tenet_gateway::{OAuthClient, State, UpstreamConfig};
use tenet_http::HttpConfig;
use tenet_http::auth::{Auth, AuthConfig};
use tenet_oauth::test_support::{AsConfig, AuthServer, Event};
use tokio::net::TcpListener;

/// An upstream "secure" that takes only tokens from `auth`.
async fn protected(auth: &AuthServer) -> Running {
    tenet_oauth::install_crypto_provider();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let check = AuthConfig { issuer: Some(auth.issuer()), ..AuthConfig::new(&url) };
    let http = HttpConfig { auth: Some(Auth::new(check).unwrap()), ..HttpConfig::default() };
    let server = upstream_server("secure", &Arc::new(Probe::default())).build().unwrap();
    Running::serve(listener, server, http)
}

fn with_oauth(running: &Running, oauth: OAuthClient) -> UpstreamConfig {
    UpstreamConfig { oauth: Some(oauth), ..upstream("secure", &running.url()) }
}

fn client(id: &str) -> OAuthClient {
    OAuthClient { client_id: id.into(), client_secret: None, client_secret_env: None, private_key_file: None }
}

/// The token requests `auth` answered, as (grant type, whether an assertion came).
fn token_requests(auth: &AuthServer) -> Vec<(String, bool)> {
    auth.log()
        .tokens()
        .into_iter()
        .map(|event| {
            let Event::Token { form, .. } = &event else { unreachable!() };
            let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            (get("grant_type").unwrap_or_default(), get("client_assertion").is_some())
        })
        .collect()
}

/// An authorization server that knows the client `gateway` by the secret `s3cret`.
async fn knows_secret() -> AuthServer {
    AuthServer::start(AsConfig {
        registration: false,
        token_endpoint_auth_methods: vec!["client_secret_basic".into()],
        pre_registered: vec![("gateway".into(), Some("s3cret".into()))],
        ..AsConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_secret_gets_the_gateway_one_token_for_every_call() {
    let auth = knows_secret().await;
    let running = protected(&auth).await;
    let oauth = OAuthClient { client_secret: Some("s3cret".into()), ..client("gateway") };
    let h = Harness::start(vec![with_oauth(&running, oauth)], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    for i in 0..3 {
        assert_eq!(text(&h.call("secure__echo", json!({"text": i.to_string()})).await), format!("secure: {i}"));
    }
    assert_eq!(token_requests(&auth), [("client_credentials".to_owned(), false)], "one token, kept");
    h.shutdown().await;
    running.stop().await;
}

#[tokio::test]
async fn a_private_key_jwt_assertion_gets_the_gateway_its_token() {
    let key = Es256Key::generate().unwrap();
    let auth = AuthServer::start(AsConfig {
        registration: false,
        token_endpoint_auth_methods: vec!["private_key_jwt".into()],
        assertion_keys: vec![("gateway".into(), key.public_key())],
        ..AsConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("gateway.pem");
    std::fs::write(&pem, key.to_pem()).unwrap();
    let running = protected(&auth).await;
    let oauth = OAuthClient { private_key_file: Some(pem), ..client("gateway") };
    let upstreams = vec![with_oauth(&running, oauth)];
    let h = Harness::start(upstreams, quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    assert_eq!(text(&h.call("secure__add", json!({"a": 2, "b": 3})).await), "5");
    assert_eq!(token_requests(&auth), [("client_credentials".to_owned(), true)]);
    h.shutdown().await;
    running.stop().await;
}

#[tokio::test]
async fn a_refused_secret_leaves_the_upstream_down_with_the_reason() {
    let auth = knows_secret().await;
    let running = protected(&auth).await;
    let oauth = OAuthClient { client_secret: Some("wrong".into()), ..client("gateway") };
    let h = Harness::start(vec![with_oauth(&running, oauth)], quick()).await;
    until("the upstream is down", || h.status("secure").state == State::Down).await;
    let reason = h.status("secure").last_error.unwrap_or_default();
    assert!(reason.contains("invalid_client"), "{reason}");
    assert!(!h.tool_names().await.iter().any(|n| n.starts_with("secure__")));
    h.shutdown().await;
    running.stop().await;
}
