//! `[upstream.oauth]`: the gateway gets its own token for a protected upstream with
//! the client credentials grant (a secret, or a `private_key_jwt` assertion), keeps it
//! across calls, and an upstream whose authorization server refuses it stays down
//! with the reason; with `token_exchange`, each caller's calls go with a token of the
//! caller's own, got by token exchange for the token it signed in to the gateway with. The upstream is a real Tenet server behind Tenet's own bearer
//! check, its authorization server the loopback stand-in of `tenet-oauth`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use crate::support::{Harness, Probe, Running, STEP, quick, text, until, upstream, upstream_server};
use serde_json::json;
use tenet_client::oauth::{Es256Key, now_secs};
use tenet_client::protocol::{CompleteArgument, GetPromptResult, PromptMessage, Reference};
use tenet_gateway::{OAuthClient, State, UpstreamConfig};
use tenet_http::HttpConfig;
use tenet_http::auth::{Auth, AuthConfig};
use tenet_oauth::test_support::{AsConfig, AuthServer, Event};
use tenet_server::{Context, Grant, Principal, PromptDef, PromptRequest, ToolDef};
use tokio::net::TcpListener;

/// An upstream "secure" that takes only tokens from `auth`, with a tool `whoami` that
/// says whom the token it was called with names.
async fn protected(auth: &AuthServer) -> Running {
    tenet_oauth::install_crypto_provider();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let check = AuthConfig { issuer: Some(auth.issuer()), ..AuthConfig::new(&url) };
    let http = HttpConfig { auth: Some(Auth::new(check).unwrap()), ..HttpConfig::default() };
    let whoami =
        ToolDef::new("whoami", |ctx: Context| async move { ctx.principal_id().unwrap_or("no one").to_owned() });
    let greet = PromptDef::new("greet", |_: PromptRequest| async move {
        Ok(GetPromptResult { description: None, messages: vec![PromptMessage::user("Hello")], meta: None })
    })
    .argument("name", "Who", true)
    .complete("name", |_| async move { vec!["alice".to_owned()] });
    let server = upstream_server("secure", &Arc::new(Probe::default())).tool(whoami).prompt(greet).build().unwrap();
    Running::serve(listener, server, http)
}

fn with_oauth(running: &Running, oauth: OAuthClient) -> UpstreamConfig {
    UpstreamConfig { oauth: Some(oauth), ..upstream("secure", &running.url()) }
}

fn client(id: &str) -> OAuthClient {
    OAuthClient {
        client_id: id.into(),
        client_secret: None,
        client_secret_env: None,
        private_key_file: None,
        token_exchange: false,
        authorization_server: None,
    }
}

/// The token requests `auth` answered, as (grant type, the value of the form's `member`).
fn token_requests_with(auth: &AuthServer, member: &str) -> Vec<(String, Option<String>)> {
    auth.log()
        .tokens()
        .into_iter()
        .map(|event| {
            let Event::Token { form, .. } = &event else { unreachable!() };
            let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            (get("grant_type").unwrap_or_default(), get(member))
        })
        .collect()
}

/// The token requests `auth` answered, as (grant type, the subject token exchanged).
fn exchanges(auth: &AuthServer) -> Vec<(String, Option<String>)> {
    token_requests_with(auth, "subject_token")
}

/// The token requests `auth` answered, as (grant type, whether an assertion came).
fn token_requests(auth: &AuthServer) -> Vec<(String, bool)> {
    token_requests_with(auth, "client_assertion").into_iter().map(|(grant, a)| (grant, a.is_some())).collect()
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

/// Issue 60, item 2: each caller reaches the upstream as itself. The gateway lists with
/// its own token (client credentials); alice's and bob's calls go on sessions of their
/// own, each with a token the authorization server issued for that caller in exchange
/// for the one the caller signed in to the gateway with (which goes to the
/// authorization server alone, never to the upstream). A caller with an API key, or
/// none, has no token to exchange and is refused with the reason.
/// An authorization server that knows the gateway by a secret and trusts the tokens
/// of `idp` (the identity provider callers sign in to the gateway with), issuing tokens
/// that live `lifetime` s; a protected upstream behind it; a gateway in front with
/// token exchange on, at the authorization server `pinned` (that one when `None`).
async fn exchanging(idp: &Es256Key, lifetime: u64, pinned: Option<&str>) -> (AuthServer, Running, Harness) {
    let auth = AuthServer::start(AsConfig {
        registration: false,
        token_endpoint_auth_methods: vec!["client_secret_basic".into()],
        pre_registered: vec![("gateway".into(), Some("s3cret".into()))],
        trusted_issuers: vec![(IDP.into(), idp.public_key())],
        token_lifetime: lifetime,
        ..AsConfig::default()
    })
    .await
    .unwrap();
    let running = protected(&auth).await;
    let oauth = OAuthClient {
        client_secret: Some("s3cret".into()),
        token_exchange: true,
        authorization_server: Some(pinned.map_or_else(|| auth.issuer(), str::to_owned)),
        ..client("gateway")
    };
    let h = Harness::start(vec![with_oauth(&running, oauth)], quick()).await;
    (auth, running, h)
}

/// A grant of `user` signed in with a fresh token of `idp`, and that token.
fn signed_in(idp: &Es256Key, user: &str) -> (Grant, String) {
    signed_in_with(idp, user, &["mcp"])
}

/// A grant of `user` signed in with a fresh token of `idp` granting `scopes`, and that
/// token.
fn signed_in_with(idp: &Es256Key, user: &str, scopes: &[&str]) -> (Grant, String) {
    let jti = tenet_client::oauth::random_string(8).unwrap();
    let claims = json!({"iss": IDP, "sub": user, "exp": now_secs() + 600, "jti": jti, "scope": scopes.join(" ")});
    let token = idp.sign("JWT", None, &claims).unwrap();
    let principal = Principal::Token { issuer: IDP.into(), subject: user.into() };
    (Grant::new(scopes.iter().copied()).with_principal(principal).with_presented_token(&token), token)
}

async fn whoami(client: &tenet_client::Client) -> String {
    text(&client.call_tool("secure__whoami", json!({})).await.unwrap())
}

/// How the upstream names `user`, called with a token its authorization server issued.
fn seen_as(auth: &AuthServer, user: &str) -> String {
    let issuer = auth.issuer();
    format!("token:{}:{issuer}{user}", issuer.len())
}

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

#[tokio::test]
async fn token_exchange_lets_each_caller_reach_the_upstream_as_itself() {
    let idp = Es256Key::generate().unwrap();
    let (auth, running, h) = exchanging(&idp, 3600, None).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    let (alice_grant, alice_token) = signed_in(&idp, "alice");
    let (bob_grant, bob_token) = signed_in(&idp, "bob");
    let (alice, bob) = (h.caller(alice_grant).await, h.caller(bob_grant).await);
    // The upstream takes only its authorization server's tokens (a sign-in token passed
    // on would be refused there), and names the user of the one it was called with.
    assert_eq!(whoami(&alice).await, seen_as(&auth, "alice"));
    assert_eq!(whoami(&bob).await, seen_as(&auth, "bob"));
    assert_eq!(whoami(&alice).await, seen_as(&auth, "alice"), "alice's token is kept for her next call");
    assert_eq!(
        exchanges(&auth),
        [
            ("client_credentials".to_owned(), None),
            (EXCHANGE.to_owned(), Some(alice_token)),
            (EXCHANGE.to_owned(), Some(bob_token)),
        ],
        "the gateway's own token, then one exchange per caller"
    );
    // A 2026-07-28 upstream keeps no sessions, but each caller has a connection of its
    // own here: the one that carries its token.
    assert_eq!(h.status("secure").version, Some("2026-07-28"));
    assert_eq!(h.status("secure").sessions, 2, "alice's and bob's");
    let keyed = h.caller(Grant::new(["mcp"]).with_principal(Principal::ApiKey("carol".into()))).await;
    for client in [&keyed, &h.client] {
        let refused = client.call_tool("secure__whoami", json!({})).await.unwrap();
        assert_eq!(refused.is_error, Some(true));
        assert!(text(&refused).contains("token exchange"), "{}", text(&refused));
    }
    assert_eq!(exchanges(&auth).len(), 3, "nothing exchanged for a caller with no token");
    // Completions are asked with no caller to act for: none, rather than the gateway's.
    let reference = Reference::Prompt { name: "secure__greet".into() };
    let argument = CompleteArgument { name: "name".into(), value: "a".into() };
    let completed = alice.complete(reference, argument, None).await.unwrap();
    assert!(completed.completion.values.is_empty(), "{:?}", completed.completion.values);
    // Alice's token of other scopes (another app of hers) is exchanged on a session of its own.
    let (other_app, other_token) = signed_in_with(&idp, "alice", &["mcp", "files:write"]);
    assert_eq!(whoami(&h.caller(other_app).await).await, seen_as(&auth, "alice"));
    assert_eq!(exchanges(&auth).last(), Some(&(EXCHANGE.to_owned(), Some(other_token))));
    assert_eq!(h.status("secure").sessions, 3);
    h.shutdown().await;
    running.stop().await;
}

/// Callers' tokens go to the authorization server the operator named, never to one the
/// upstream names: with another pinned, the gateway sends nothing there (not even its
/// own secret), and the upstream stays down saying why.
#[tokio::test]
async fn token_exchange_sends_tokens_to_the_configured_authorization_server_alone() {
    let idp = Es256Key::generate().unwrap();
    let (auth, running, h) = exchanging(&idp, 3600, Some("https://as.example.com")).await;
    until("the upstream is down", || h.status("secure").state == State::Down).await;
    let reason = h.status("secure").last_error.unwrap_or_default();
    assert!(reason.contains("https://as.example.com"), "{reason}");
    let (grant, _) = signed_in(&idp, "alice");
    let refused = h.caller(grant).await.call_tool("secure__whoami", json!({})).await;
    assert!(refused.is_err() || refused.unwrap().is_error == Some(true));
    assert!(exchanges(&auth).is_empty(), "nothing sent to the server the upstream named: {:?}", exchanges(&auth));
    h.shutdown().await;
    running.stop().await;
}

/// An exchanged token is not refreshed: once it expires, the token the caller signed in
/// with last is exchanged, so the upstream never acts on a sign-in that has ended.
#[tokio::test]
async fn an_expired_exchanged_token_is_exchanged_again_with_the_callers_token_of_the_moment() {
    let idp = Es256Key::generate().unwrap();
    // 31 s, which the gateway counts as expired 30 s early: a second from now.
    let (auth, running, h) = exchanging(&idp, 31, None).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    let (grant, first) = signed_in(&idp, "alice");
    assert_eq!(whoami(&h.caller(grant).await).await, seen_as(&auth, "alice"));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (grant, second) = signed_in(&idp, "alice");
    assert_ne!(first, second);
    assert_eq!(whoami(&h.caller(grant).await).await, seen_as(&auth, "alice"));
    let exchanged: Vec<_> = exchanges(&auth).into_iter().filter(|(grant, _)| grant == EXCHANGE).collect();
    // Exchanged again (a refresh would have made no second exchange), with the new token.
    assert_eq!(exchanged, [(EXCHANGE.to_owned(), Some(first)), (EXCHANGE.to_owned(), Some(second))]);
    h.shutdown().await;
    running.stop().await;
}

const IDP: &str = "https://idp.example.com";
