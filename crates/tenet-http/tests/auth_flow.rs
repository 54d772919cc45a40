//! The whole authorization flow over real sockets: an unauthenticated request gets
//! the 401 challenge; Tenet's OAuth client discovers the metadata, gets a token from
//! the loopback authorization server, lists and calls tools, is refused a tool
//! outside its scope with 403, steps up, and succeeds.

#![allow(clippy::unwrap_used)]

use crate::issuer;

use serde_json::{Value, json};
use tenet_http::HttpConfig;
use tenet_http::auth::{Auth, AuthConfig};
use tenet_oauth::test_support::{AsConfig, AuthServer};
use tenet_oauth::{Authorizer, AuthorizerConfig};
use tenet_server::CancellationToken;
use tokio::net::TcpListener;

struct Client {
    http: reqwest::Client,
    authorizer: Authorizer,
    url: String,
    /// Every HTTP status seen, in order.
    statuses: Vec<u16>,
}

impl Client {
    /// Sends one stateless request, letting the authorizer answer challenges.
    async fn request(&mut self, method: &str, name: Option<&str>) -> (u16, Value) {
        let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
        let mut params = json!({"_meta": meta});
        if let Some(name) = name {
            params["name"] = json!(name);
        }
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        loop {
            let mut request = self
                .http
                .post(&self.url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2026-07-28")
                .header("mcp-method", method)
                .body(body.clone());
            if let Some(name) = name {
                request = request.header("mcp-name", name);
            }
            for (header, value) in self.authorizer.request_headers("POST", &self.url).await {
                request = request.header(header, value);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            self.statuses.push(status);
            if self.authorizer.on_response(&self.url, status, response.headers()).await.unwrap() {
                continue;
            }
            return (status, response.json().await.unwrap_or(Value::Null));
        }
    }
}

#[tokio::test]
async fn a_client_is_challenged_authorizes_is_refused_a_tool_steps_up_and_succeeds() {
    tenet_oauth::install_crypto_provider();
    let scopes = vec!["stdlib:read".to_owned(), "stdlib:admin".to_owned()];
    let auth_server =
        AuthServer::start(AsConfig { scopes_supported: Some(scopes.clone()), ..AsConfig::default() }).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    // No JWKS URL: the keys are found through the issuer's RFC 8414 metadata.
    let auth = AuthConfig {
        issuer: Some(auth_server.issuer()),
        required_scopes: vec!["stdlib:read".into()],
        scopes_supported: scopes,
        ..AuthConfig::new(&url)
    };
    let http = HttpConfig { auth: Some(Auth::new(auth).unwrap()), ..HttpConfig::default() };
    let shutdown = CancellationToken::new();
    let serving = tokio::spawn(tenet_http::serve_listener(listener, issuer::server(), http, shutdown.clone()));

    let authorizer = Authorizer::new(AuthorizerConfig {
        client_name: "tenet-e2e".into(),
        use_dpop: false,
        ..AuthorizerConfig::default()
    })
    .unwrap();
    let mut client = Client { http: reqwest::Client::new(), authorizer, url, statuses: Vec::new() };

    let (status, listed) = client.request("tools/list", None).await;
    assert_eq!(status, 200);
    assert_eq!(client.statuses, [401, 200], "challenged first, then served");
    let names: Vec<&str> =
        listed["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["read_thing"], "only what the first token's scope covers");
    let token_scope = |i: usize| auth_server.log().authorizations()[i].param("scope").map(str::to_owned);
    assert_eq!(token_scope(0).as_deref(), Some("stdlib:read"), "the challenge's scope was asked for");

    let (status, called) = client.request("tools/call", Some("read_thing")).await;
    assert_eq!((status, called["result"]["content"][0]["text"].as_str()), (200, Some("read ok")));

    client.statuses.clear();
    let (status, called) = client.request("tools/call", Some("admin_thing")).await;
    assert_eq!(client.statuses, [403, 200], "refused, stepped up, served");
    assert_eq!((status, called["result"]["content"][0]["text"].as_str()), (200, Some("admin ok")));
    let stepped = token_scope(auth_server.log().authorizations().len() - 1).unwrap();
    let mut stepped = tenet_oauth::scope::split(&stepped);
    stepped.sort();
    assert_eq!(stepped, ["stdlib:admin", "stdlib:read"], "the step-up asked for both scopes");

    shutdown.cancel();
    serving.await.unwrap().unwrap();
}

/// A verified token is kept with its caller's grant (for a gateway's token exchange) only
/// when the settings ask: otherwise no handler ever sees it.
#[tokio::test]
async fn a_verified_token_is_kept_with_the_grant_only_when_asked() {
    tenet_oauth::install_crypto_provider();
    let auth_server = AuthServer::start(AsConfig {
        registration: false,
        token_endpoint_auth_methods: vec!["client_secret_post".into()],
        pre_registered: vec![("c".into(), Some("s".into()))],
        ..AsConfig::default()
    })
    .await
    .unwrap();
    let resource = "http://127.0.0.1:1/mcp";
    let form =
        [("grant_type", "client_credentials"), ("client_id", "c"), ("client_secret", "s"), ("resource", resource)];
    let issued: Value = reqwest::Client::new()
        .post(format!("{}/token", auth_server.issuer()))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = issued["access_token"].as_str().unwrap();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let uri = axum::http::Uri::from_static("/mcp");
    for keep in [false, true] {
        let config =
            AuthConfig { issuer: Some(auth_server.issuer()), keep_presented_tokens: keep, ..AuthConfig::new(resource) };
        let grant = Auth::new(config).unwrap().authenticate(&headers, &uri).await.unwrap();
        assert!(grant.principal().is_some());
        assert_eq!(grant.presented_token(), keep.then_some(token), "kept: {keep}");
    }
}
