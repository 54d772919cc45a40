//! A loopback token issuer for the authorization tests: it signs whatever claims a
//! test asks for with an ES256 key and serves that key as a JWKS, which a test can
//! turn junk, failing or slow.

#![allow(clippy::unwrap_used, dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tenet_http::auth::{Auth, AuthConfig};
use tenet_http::{Endpoint, HttpConfig};
use tenet_oauth::Es256Key;
use tenet_server::{CancellationToken, Server, ToolDef};
use tokio::net::TcpListener;

/// How the JWKS endpoint behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jwks {
    Good,
    Down,
    Junk,
    Slow,
    /// Key k1 withdrawn, k2 in its place.
    Rotated,
}

/// An RSA key for RS256 tokens: a test fixture (PKCS#1 DER, made with `openssl genpkey
/// -algorithm RSA`), never used outside these tests.
const RSA_TEST_KEY: &[u8] = include_bytes!("rsa-test-key.der");

struct Shared {
    key: Es256Key,
    rsa: ring::signature::RsaKeyPair,
    next_key: Es256Key,
    mode: Mutex<Jwks>,
    fetches: Mutex<u32>,
}

/// The issuer; stops with the test's runtime.
pub struct Issuer {
    shared: Arc<Shared>,
    pub url: String,
}

async fn jwks(State(s): State<Arc<Shared>>) -> Response {
    *s.fetches.lock().unwrap() += 1;
    let mode = *s.mode.lock().unwrap();
    match mode {
        Jwks::Good => axum::Json(json!({"keys": [s.key.public_jwk("k1"), rsa_jwk(&s.rsa)]})).into_response(),
        Jwks::Down => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Jwks::Junk => "<html>not a key set</html>".into_response(),
        Jwks::Slow => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            axum::Json(json!({"keys": [s.key.public_jwk("k1")]})).into_response()
        }
        Jwks::Rotated => axum::Json(json!({"keys": [s.next_key.public_jwk("k2")]})).into_response(),
    }
}

impl Issuer {
    pub async fn start(mode: Jwks) -> Self {
        let shared = Arc::new(Shared {
            key: Es256Key::generate().unwrap(),
            rsa: ring::signature::RsaKeyPair::from_der(RSA_TEST_KEY).unwrap(),
            next_key: Es256Key::generate().unwrap(),
            mode: Mutex::new(mode),
            fetches: Mutex::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().route("/jwks", get(jwks)).with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { shared, url }
    }

    pub fn set_mode(&self, mode: Jwks) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    pub fn fetches(&self) -> u32 {
        *self.shared.fetches.lock().unwrap()
    }

    /// Signs `claims` with the issuer's key under `header` (`alg` ES256).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        self.shared.key.sign_with_header(header, claims).unwrap()
    }

    /// Signs `claims` as `kid` k1.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(&json!({"alg": "ES256", "typ": "at+jwt", "kid": "k1"}), claims)
    }

    /// Signs `claims` with the RSA key (`alg` RS256, `kid` r1).
    pub fn sign_rs256(&self, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": "r1"});
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let mut signature = vec![0; self.shared.rsa.public().modulus_len()];
        let rng = ring::rand::SystemRandom::new();
        self.shared.rsa.sign(&ring::signature::RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut signature).unwrap();
        format!("{input}.{}", b64(&signature))
    }

    /// Signs `claims` with the key that replaces k1 (`kid` k2).
    pub fn sign_rotated(&self, claims: &Value) -> String {
        self.shared.next_key.sign_with_header(&json!({"alg": "ES256", "typ": "at+jwt", "kid": "k2"}), claims).unwrap()
    }

    /// Good claims for `resource` with `scope`, valid for an hour.
    pub fn claims(&self, resource: &str, scope: &str) -> Value {
        let now = tenet_oauth::now_secs();
        json!({"iss": self.url, "aud": resource, "sub": "ann", "iat": now, "exp": now + 3600, "scope": scope})
    }

    /// The public JWK (for forging HMAC tokens with it as the secret).
    pub fn public_jwk(&self) -> Value {
        self.shared.key.public_jwk("k1")
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The public half of the RSA key as a JWK (`kid` r1).
fn rsa_jwk(pair: &ring::signature::RsaKeyPair) -> Value {
    let public: ring::rsa::PublicKeyComponents<Vec<u8>> = pair.public().into();
    json!({"kty": "RSA", "kid": "r1", "alg": "RS256", "use": "sig", "n": b64(&public.n), "e": b64(&public.e)})
}

pub const RESOURCE: &str = "http://localhost/mcp";

async fn echo() -> String {
    "read ok".into()
}

async fn admin() -> String {
    "admin ok".into()
}

/// A server with a read tool (`stdlib:read`) and an admin tool (`stdlib:admin`).
pub fn server() -> Server {
    server_with(tenet_server::ServerConfig::default())
}

/// [`server`], held to `limits` at its door.
pub fn server_limited(limits: tenet_server::RateLimits) -> Server {
    let limiter = std::sync::Arc::new(tenet_server::RateLimiter::new(limits));
    server_with(tenet_server::ServerConfig { rate_limit: Some(limiter), ..tenet_server::ServerConfig::default() })
}

fn server_with(config: tenet_server::ServerConfig) -> Server {
    Server::builder("auth-test", "1.0.0")
        .tool(ToolDef::new("read_thing", echo).scope("stdlib:read"))
        .tool(ToolDef::new("admin_thing", admin).scope("stdlib:admin"))
        .config(config)
        .build()
        .unwrap()
}

/// Auth settings for `resource` trusting `issuer`, requiring `stdlib:read`.
pub fn config(resource: &str, issuer: &str, jwks_url: Option<String>) -> AuthConfig {
    AuthConfig {
        issuer: Some(issuer.to_owned()),
        jwks_url,
        required_scopes: vec!["stdlib:read".into()],
        scopes_supported: vec!["stdlib:read".into(), "stdlib:admin".into()],
        jwks_timeout: Duration::from_millis(500),
        jwks_min_refetch: Duration::from_millis(200),
        ..AuthConfig::new(resource)
    }
}

/// An in-process endpoint protected by `config`.
pub fn endpoint(config: AuthConfig) -> Endpoint {
    let http = HttpConfig { auth: Some(Auth::new(config).unwrap()), ..HttpConfig::default() };
    Endpoint::new(server(), http, CancellationToken::new())
}

/// A stateless POST of `method` (naming `name`) with an optional `Authorization` value.
pub fn post(
    uri: &str,
    authorization: Option<&str>,
    method: &str,
    name: Option<&str>,
) -> axum::http::Request<axum::body::Body> {
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let mut params = json!({"_meta": meta});
    if let Some(name) = name {
        params["name"] = json!(name);
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut request = axum::http::Request::post(uri)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method);
    if let Some(name) = name {
        request = request.header("mcp-name", name);
    }
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.body(axum::body::Body::from(body.to_string())).unwrap()
}
