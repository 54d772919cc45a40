//! The authorization-server stand-in.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Event, Log, Serving, bind, spawn};
use crate::jwt::Es256Key;
use crate::pkce::random_string;
use crate::redact;

/// Where the authorization-server metadata document is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetadataLocation {
    /// `/.well-known/oauth-authorization-server{issuer path}` (RFC 8414).
    #[default]
    OAuth,
    /// `/.well-known/openid-configuration{issuer path}`.
    OidcInserted,
    /// `{issuer path}/.well-known/openid-configuration`.
    OidcAppended,
    /// Nowhere.
    None,
}

/// What the `iss` parameter of the authorization redirect holds (RFC 9207).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IssMode {
    /// The issuer.
    #[default]
    Correct,
    /// Absent.
    Omit,
    /// Another server's issuer.
    Wrong,
    /// The issuer with a trailing slash: equal after URL normalization only.
    Normalized,
}

/// How the authorization-server stand-in behaves. `Debug` redacts the secrets of
/// `pre_registered` clients.
#[derive(Clone)]
pub struct AsConfig {
    /// A path under which the issuer and its endpoints live (`""` or `/tenant1`).
    pub route_prefix: String,
    /// Where the metadata is served.
    pub metadata_location: MetadataLocation,
    /// An `issuer` to publish instead of the real one.
    pub issuer_override: Option<String>,
    /// `authorization_response_iss_parameter_supported`; `None` leaves it out.
    pub iss_parameter_supported: Option<bool>,
    /// The redirect's `iss`.
    pub iss_in_redirect: IssMode,
    /// `token_endpoint_auth_methods_supported`.
    pub token_endpoint_auth_methods: Vec<String>,
    /// Offer Dynamic Client Registration.
    pub registration: bool,
    /// `client_id_metadata_document_supported`.
    pub cimd_supported: bool,
    /// `scopes_supported`, when published.
    pub scopes_supported: Option<Vec<String>>,
    /// `code_challenge_methods_supported`; `None` leaves it out.
    pub pkce_methods: Option<Vec<String>>,
    /// Clients known without registration: id and secret (`None` for public clients).
    pub pre_registered: Vec<(String, Option<String>)>,
    /// Access token lifetime in seconds.
    pub token_lifetime: u64,
    /// An `expires_in` to announce instead of the real lifetime (a client whose
    /// idea of the expiry is wrong, as with clock skew).
    pub expires_in_override: Option<u64>,
    /// Publish this token endpoint instead of the real one.
    pub token_endpoint_override: Option<String>,
    /// Grant only these scopes (of those requested); `None` grants all requested.
    pub grantable_scopes: Option<Vec<String>>,
    /// Clients that authenticate with `private_key_jwt`: id and ES256 public key.
    pub assertion_keys: Vec<(String, Vec<u8>)>,
    /// Accept DPoP proofs (ES256) and bind tokens to their keys.
    pub dpop: bool,
    /// A nonce DPoP proofs at the token endpoint must carry (RFC 9449 §8).
    pub dpop_nonce: Option<String>,
    /// Issuers whose JWTs are accepted as JWT-bearer assertions and as token
    /// exchange subject tokens: issuer and ES256 public key.
    pub trusted_issuers: Vec<(String, Vec<u8>)>,
}

impl Default for AsConfig {
    fn default() -> Self {
        AsConfig {
            route_prefix: String::new(),
            metadata_location: MetadataLocation::OAuth,
            issuer_override: None,
            iss_parameter_supported: Some(true),
            iss_in_redirect: IssMode::Correct,
            token_endpoint_auth_methods: vec!["none".into()],
            registration: true,
            cimd_supported: false,
            scopes_supported: None,
            pkce_methods: Some(vec!["S256".into()]),
            pre_registered: Vec::new(),
            token_lifetime: 3600,
            expires_in_override: None,
            token_endpoint_override: None,
            grantable_scopes: None,
            assertion_keys: Vec::new(),
            trusted_issuers: Vec::new(),
            dpop: false,
            dpop_nonce: None,
        }
    }
}

impl fmt::Debug for AsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pre_registered: Vec<_> = self.pre_registered.iter().map(|(id, s)| (id, redact::option(s))).collect();
        f.debug_struct("AsConfig")
            .field("route_prefix", &self.route_prefix)
            .field("metadata_location", &self.metadata_location)
            .field("issuer_override", &self.issuer_override)
            .field("iss_parameter_supported", &self.iss_parameter_supported)
            .field("iss_in_redirect", &self.iss_in_redirect)
            .field("token_endpoint_auth_methods", &self.token_endpoint_auth_methods)
            .field("registration", &self.registration)
            .field("cimd_supported", &self.cimd_supported)
            .field("scopes_supported", &self.scopes_supported)
            .field("pkce_methods", &self.pkce_methods)
            .field("pre_registered", &pre_registered)
            .field("token_lifetime", &self.token_lifetime)
            .field("expires_in_override", &self.expires_in_override)
            .field("token_endpoint_override", &self.token_endpoint_override)
            .field("grantable_scopes", &self.grantable_scopes)
            .field("assertion_keys", &self.assertion_keys)
            .field("dpop", &self.dpop)
            .field("dpop_nonce", &self.dpop_nonce)
            .field("trusted_issuers", &self.trusted_issuers)
            .finish()
    }
}

/// A client the stand-in knows; `Debug` redacts its secret.
#[derive(Clone)]
pub(super) struct ClientRecord {
    pub(super) secret: Option<String>,
}

impl fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRecord").field("secret", &redact::option(&self.secret)).finish()
    }
}

#[derive(Debug, Clone)]
pub(super) struct Grant {
    pub(super) client_id: String,
    pub(super) scope: Option<String>,
    pub(super) resource: Option<String>,
    pub(super) challenge: Option<String>,
    pub(super) redirect_uri: Option<String>,
}

pub(super) struct Shared {
    pub(super) config: AsConfig,
    pub(super) base: String,
    pub(super) key: Es256Key,
    pub(super) log: Log,
    pub(super) clients: Mutex<HashMap<String, ClientRecord>>,
    pub(super) codes: Mutex<HashMap<String, Grant>>,
    pub(super) refresh: Mutex<HashMap<String, Grant>>,
}

impl Shared {
    /// The token endpoint's URL.
    pub(super) fn token_url(&self) -> String {
        format!("{}{}/token", self.base, self.config.route_prefix)
    }

    pub(super) fn issuer(&self) -> String {
        format!("{}{}", self.base, self.config.route_prefix)
    }

    pub(super) fn published_issuer(&self) -> String {
        self.config.issuer_override.clone().unwrap_or_else(|| self.issuer())
    }
}

/// A running authorization-server stand-in; stops when dropped.
pub struct AuthServer {
    shared: Arc<Shared>,
    _serving: Option<Arc<Serving>>,
}

impl AuthServer {
    /// Starts the stand-in on `127.0.0.1` with a fresh ES256 key.
    pub async fn start(config: AsConfig) -> std::io::Result<AuthServer> {
        let (listener, base) = bind().await?;
        let (auth, app) = AuthServer::unserved(config, base)?;
        Ok(auth.served_by(Arc::new(spawn(listener, app))))
    }

    /// The stand-in and its router, for serving at `base` together with other routes.
    pub(super) fn unserved(config: AsConfig, base: String) -> std::io::Result<(AuthServer, Router)> {
        let key = Es256Key::generate().map_err(std::io::Error::other)?;
        let clients =
            config.pre_registered.iter().map(|(id, s)| (id.clone(), ClientRecord { secret: s.clone() })).collect();
        let shared = Arc::new(Shared {
            clients: Mutex::new(clients),
            config,
            base,
            key,
            log: Log::default(),
            codes: Mutex::default(),
            refresh: Mutex::default(),
        });
        let app = router(shared.clone());
        Ok((AuthServer { shared, _serving: None }, app))
    }

    /// Ties the server's lifetime to `serving`.
    pub(super) fn served_by(self, serving: Arc<Serving>) -> AuthServer {
        AuthServer { _serving: Some(serving), ..self }
    }

    /// The issuer identifier (`http://127.0.0.1:PORT{prefix}`).
    pub fn issuer(&self) -> String {
        self.shared.issuer()
    }

    /// The log of requests.
    pub fn log(&self) -> &Log {
        &self.shared.log
    }

    /// Forgets every refresh token issued so far, so refreshing fails with `invalid_grant`.
    pub fn revoke_refresh_tokens(&self) {
        self.shared.refresh.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The token signing key's public point, to verify access tokens with.
    pub fn public_key(&self) -> Vec<u8> {
        self.shared.key.public_key()
    }
}

pub(super) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, axum::Json(json!({ "error": error, "error_description": description }))).into_response()
}

pub(super) fn find<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn router(shared: Arc<Shared>) -> Router {
    let p = shared.config.route_prefix.clone();
    let meta_path = match shared.config.metadata_location {
        MetadataLocation::OAuth => Some(format!("/.well-known/oauth-authorization-server{p}")),
        MetadataLocation::OidcInserted => Some(format!("/.well-known/openid-configuration{p}")),
        MetadataLocation::OidcAppended => Some(format!("{p}/.well-known/openid-configuration")),
        MetadataLocation::None => None,
    };
    let mut r = Router::new()
        .route(&format!("{p}/authorize"), get(authorize))
        .route(&format!("{p}/token"), post(super::token_endpoint::token))
        .route(&format!("{p}/jwks"), get(jwks));
    if shared.config.registration {
        r = r.route(&format!("{p}/register"), post(register));
    }
    if let Some(path) = meta_path {
        r = r.route(&path, get(metadata));
    }
    r.fallback(not_found).with_state(shared)
}

async fn not_found(State(s): State<Arc<Shared>>, uri: axum::http::Uri) -> StatusCode {
    s.log.not_found(uri.path())
}

async fn metadata(State(s): State<Arc<Shared>>, uri: axum::http::Uri) -> axum::Json<Value> {
    s.log.push(Event::Metadata(uri.path().to_owned()));
    let c = &s.config;
    let at = |path: &str| format!("{}{}{path}", s.base, c.route_prefix);
    let mut m = json!({
        "issuer": s.published_issuer(),
        "authorization_endpoint": at("/authorize"),
        "token_endpoint": c.token_endpoint_override.clone().unwrap_or_else(|| at("/token")),
        "jwks_uri": at("/jwks"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": c.token_endpoint_auth_methods,
        "client_id_metadata_document_supported": c.cimd_supported,
    });
    if c.registration {
        m["registration_endpoint"] = json!(at("/register"));
    }
    if let Some(v) = c.iss_parameter_supported {
        m["authorization_response_iss_parameter_supported"] = json!(v);
    }
    if let Some(v) = &c.pkce_methods {
        m["code_challenge_methods_supported"] = json!(v);
    }
    if let Some(v) = &c.scopes_supported {
        m["scopes_supported"] = json!(v);
    }
    if c.dpop {
        m["dpop_signing_alg_values_supported"] = json!(["ES256"]);
    }
    axum::Json(m)
}

async fn jwks(State(s): State<Arc<Shared>>) -> axum::Json<Value> {
    axum::Json(json!({ "keys": [s.key.public_jwk("stand-in")] }))
}

pub(super) fn known_client(s: &Shared, id: &str) -> Option<ClientRecord> {
    let clients = s.clients.lock().unwrap_or_else(|e| e.into_inner());
    clients
        .get(id)
        .cloned()
        .or_else(|| (s.config.cimd_supported && id.starts_with("https://")).then_some(ClientRecord { secret: None }))
}

async fn authorize(State(s): State<Arc<Shared>>, Query(q): Query<Vec<(String, String)>>) -> Response {
    s.log.push(Event::Authorize(q.clone()));
    let Some(Ok(mut redirect)) = find(&q, "redirect_uri").map(url::Url::parse) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "no valid redirect_uri");
    };
    let client_id = find(&q, "client_id").unwrap_or_default().to_owned();
    if known_client(&s, &client_id).is_none() {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "unknown client_id");
    }
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if find(&q, "response_type") != Some("code") {
        pairs.push(("error", "unsupported_response_type".into()));
    } else if find(&q, "code_challenge_method") != Some("S256") || find(&q, "code_challenge").is_none() {
        pairs.push(("error", "invalid_request".into()));
        pairs.push(("error_description", "PKCE S256 is required".into()));
    } else {
        let code = random_string(16).unwrap_or_default();
        let grant = Grant {
            client_id,
            scope: find(&q, "scope").map(str::to_owned),
            resource: find(&q, "resource").map(str::to_owned),
            challenge: find(&q, "code_challenge").map(str::to_owned),
            redirect_uri: find(&q, "redirect_uri").map(str::to_owned),
        };
        s.codes.lock().unwrap_or_else(|e| e.into_inner()).insert(code.clone(), grant);
        pairs.push(("code", code));
    }
    if let Some(state) = find(&q, "state") {
        pairs.push(("state", state.to_owned()));
    }
    match s.config.iss_in_redirect {
        IssMode::Correct => pairs.push(("iss", s.published_issuer())),
        IssMode::Omit => {}
        IssMode::Wrong => pairs.push(("iss", "https://evil.example.com".into())),
        IssMode::Normalized => pairs.push(("iss", format!("{}/", s.published_issuer()))),
    }
    redirect.query_pairs_mut().extend_pairs(pairs);
    (StatusCode::FOUND, [(header::LOCATION, redirect.to_string())]).into_response()
}

async fn register(State(s): State<Arc<Shared>>, axum::Json(body): axum::Json<Value>) -> Response {
    s.log.push(Event::Register(body.clone()));
    let supported = &s.config.token_endpoint_auth_methods;
    let requested = body.get("token_endpoint_auth_method").and_then(Value::as_str);
    let method = requested
        .filter(|m| supported.iter().any(|x| x == m))
        .or(supported.first().map(String::as_str))
        .unwrap_or("none")
        .to_owned();
    let id = format!("client-{}", random_string(8).unwrap_or_default());
    let secret = (method != "none").then(|| random_string(16).unwrap_or_default());
    s.clients.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), ClientRecord { secret: secret.clone() });
    let mut answer = json!({
        "client_id": id,
        "token_endpoint_auth_method": method,
        "redirect_uris": body.get("redirect_uris").cloned().unwrap_or(json!([])),
    });
    if let Some(secret) = secret {
        answer["client_secret"] = json!(secret);
    }
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_stand_in_clients_redacts_secrets() {
        let secret = "s3cr3t-value";
        let config = AsConfig {
            pre_registered: vec![("client-42".into(), Some(secret.into())), ("public".into(), None)],
            ..AsConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains(r#"("client-42", Some("<redacted>")), ("public", None)"#), "{shown}");
        assert!(shown.contains("token_lifetime: 3600"), "{shown}");

        let record = format!("{:?}", ClientRecord { secret: Some(secret.into()) });
        assert_eq!(record, r#"ClientRecord { secret: Some("<redacted>") }"#);
    }
}
