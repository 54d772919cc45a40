//! Authorization over HTTP: Tenet's own server behind a gate that checks tokens from
//! `tenet-oauth`'s stand-in authorization server, driven by [`OAuthHook`] (discovery,
//! registration, the code flow and DPoP proofs) and by a hook with only the two
//! simple methods.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use serde_json::json;
use tenet_client::oauth::test_support::{AsConfig, AuthServer};
use tenet_client::oauth::{Authorizer, AuthorizerConfig, verify_es256};
use tenet_client::protocol::ProtocolVersion;
use tenet_client::{AuthChallenge, AuthHook, Client, ClientError, HookError, OAuthHook, StaticAuth, VersionPin};
use tenet_http::HttpConfig;
use tenet_http::axum::extract::{Request, State};
use tenet_http::axum::http::{HeaderMap, StatusCode, header};
use tenet_http::axum::middleware::{Next, from_fn_with_state};
use tenet_http::axum::response::{IntoResponse, Response};
use tenet_http::axum::routing::get;
use tenet_http::axum::{Json, Router};
use tenet_server::CancellationToken;

/// What the gate accepts: JWTs signed by an authorization server, or one fixed value.
enum Accepts {
    Jwt { issuer: String, key: Vec<u8>, audience: String },
    Fixed(&'static str),
}

/// The gate in front of the MCP endpoint, with a log of the requests it let through:
/// (`Authorization` scheme, `DPoP` proof).
struct Gate {
    accepts: Accepts,
    metadata_url: String,
    passed: Mutex<Vec<(String, Option<String>)>>,
}

impl Gate {
    /// Whether the request carries an acceptable credential (a DPoP-bound token also
    /// needs the DPoP scheme and a proof).
    fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
        let proof = headers.get("dpop").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let admitted = match &self.accepts {
            Accepts::Fixed(expected) => value == *expected,
            Accepts::Jwt { issuer, key, audience } => {
                let Some((scheme, token)) = value.split_once(' ') else { return false };
                let Ok(claims) = verify_es256(token, key) else { return false };
                let bound = claims["cnf"]["jkt"].is_string();
                claims["iss"] == json!(issuer)
                    && claims["aud"] == json!(audience)
                    && (!bound || (scheme == "DPoP" && proof.is_some()))
            }
        };
        if admitted {
            let scheme = value.split(' ').next().unwrap_or_default().to_owned();
            self.passed.lock().unwrap().push((scheme, proof));
        }
        admitted
    }
}

async fn gate(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    if gate.admits(request.headers()) {
        return next.run(request).await;
    }
    let challenge = format!("Bearer resource_metadata=\"{}\"", gate.metadata_url);
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)]).into_response()
}

/// Serves the common fixture at `/mcp` behind a gate, with Protected Resource
/// Metadata naming `issuer`; returns the MCP URL and the gate.
async fn serve(shutdown: &CancellationToken, accepts: impl FnOnce(String) -> Accepts) -> (String, Arc<Gate>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let url = format!("{base}/mcp");
    let metadata_path = "/.well-known/oauth-protected-resource/mcp";
    let accepts = accepts(url.clone());
    let issuer = match &accepts {
        Accepts::Jwt { issuer, .. } => issuer.clone(),
        Accepts::Fixed(_) => String::new(),
    };
    let gate = Arc::new(Gate { accepts, metadata_url: format!("{base}{metadata_path}"), passed: Mutex::default() });
    let metadata = json!({"resource": url, "authorization_servers": [issuer]});
    let mcp = tenet_http::router(common::server(), HttpConfig::default(), shutdown.clone())
        .layer(from_fn_with_state(gate.clone(), self::gate));
    let app = Router::new().route(metadata_path, get(move || async move { Json(metadata) })).merge(mcp);
    tokio::spawn(async move { tenet_http::axum::serve(listener, app).await });
    (url, gate)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oauth_hook_authorizes_sessions_of_both_eras_with_dpop() {
    tenet_client::oauth::install_crypto_provider();
    let auth = AuthServer::start(AsConfig { dpop: true, ..AsConfig::default() }).await.unwrap();
    let shutdown = CancellationToken::new();
    let (url, gate) =
        serve(&shutdown, |audience| Accepts::Jwt { issuer: auth.issuer(), key: auth.public_key(), audience }).await;
    let authorizer =
        Arc::new(Authorizer::new(AuthorizerConfig { client_name: "test".into(), ..Default::default() }).unwrap());
    for (pin, expected) in
        [(VersionPin::Auto, ProtocolVersion::V2026_07_28), (VersionPin::Legacy, ProtocolVersion::V2025_11_25)]
    {
        let hook = OAuthHook::new(authorizer.clone());
        let client = Client::builder().version(pin).auth(hook).connect_http(&url).await.unwrap();
        assert_eq!(client.version(), expected);
        let result = client.call_tool("add", json!({"a": 1, "b": 2})).await.unwrap();
        assert_eq!(serde_json::to_value(&result.content[0]).unwrap()["text"], "3");
        client.close().await;
    }
    assert_eq!(auth.log().authorizations().len(), 1, "one authorization serves both sessions");
    let passed = gate.passed.lock().unwrap().clone();
    assert!(passed.len() >= 4, "{passed:?}");
    assert!(passed.iter().all(|(scheme, _)| scheme == "DPoP"), "{passed:?}");
    let mut proofs: Vec<_> = passed.iter().filter_map(|(_, proof)| proof.clone()).collect();
    proofs.sort();
    proofs.dedup();
    assert_eq!(proofs.len(), passed.len(), "a fresh proof for every request");
    shutdown.cancel();
}

/// Sends nothing until challenged, then a fixed credential; counts the challenges.
#[derive(Clone, Default)]
struct LateCredential {
    challenges: Arc<AtomicU32>,
}

impl AuthHook for LateCredential {
    fn authorization<'a>(&'a self, _url: &'a reqwest::Url) -> BoxFuture<'a, Result<Option<String>, HookError>> {
        let challenged = self.challenges.load(Ordering::SeqCst) > 0;
        Box::pin(async move { Ok(challenged.then(|| "Bearer letmein".to_owned())) })
    }

    fn challenge<'a>(&'a self, challenge: &'a AuthChallenge) -> BoxFuture<'a, Result<bool, HookError>> {
        Box::pin(async move {
            assert_eq!(challenge.status, 401);
            assert!(challenge.www_authenticate.as_deref().unwrap().contains("resource_metadata="));
            self.challenges.fetch_add(1, Ordering::SeqCst);
            Ok(true)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_with_only_the_simple_methods_answers_challenges() {
    let shutdown = CancellationToken::new();
    let (url, gate) = serve(&shutdown, |_| Accepts::Fixed("Bearer letmein")).await;
    let hook = LateCredential::default();
    let client = Client::builder().auth(hook.clone()).connect_http(&url).await.unwrap();
    assert_eq!(client.list_all_tools().await.unwrap().len(), 6);
    client.close().await;
    assert_eq!(hook.challenges.load(Ordering::SeqCst), 1);
    assert!(gate.passed.lock().unwrap().iter().all(|(scheme, proof)| scheme == "Bearer" && proof.is_none()));

    match Client::builder().auth(StaticAuth("Bearer wrong".into())).connect_http(&url).await {
        Err(ClientError::Unauthorized { status, www_authenticate }) => {
            assert_eq!(status, 401);
            assert!(www_authenticate.unwrap().starts_with("Bearer resource_metadata="));
        }
        other => panic!("expected a refusal, got {:?}", other.map(|c| c.version())),
    }
    shutdown.cancel();
}
