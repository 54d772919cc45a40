//! The protected-resource stand-in: Protected Resource Metadata and an endpoint
//! that checks ES256 access tokens.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Value, json};

use super::authz::AuthServer;
use super::config::AsConfig;
use super::dpop_check::check_proof;
use super::{Event, Log, Serving, bind, spawn};
use crate::jwt::{now_secs, verify_es256};

/// Where the Protected Resource Metadata is served.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PrmLocation {
    /// `/.well-known/oauth-protected-resource{path}`; the resource is the endpoint URL.
    #[default]
    PathInserted,
    /// `/.well-known/oauth-protected-resource`; the resource is the origin.
    Root,
    /// Another path (announced only through the challenge).
    Custom(String),
    /// Nowhere (a 2025-03-26 server).
    None,
}

/// How the resource stand-in behaves.
#[derive(Debug, Clone)]
pub struct ResourceConfig {
    /// The protected endpoint's path.
    pub path: String,
    /// Where the metadata lives.
    pub prm_location: PrmLocation,
    /// Put `resource_metadata` in the challenge.
    pub prm_in_header: bool,
    /// `scope` in the 401 challenge.
    pub challenge_scope: Option<String>,
    /// `scopes_supported` in the metadata.
    pub scopes_supported: Option<Vec<String>>,
    /// A `resource` to publish instead of the real one.
    pub resource_override: Option<String>,
    /// Scopes a token needs; without them the answer is 403 `insufficient_scope`.
    pub required_scopes: Vec<String>,
    /// A nonce DPoP proofs must carry (RFC 9449 §9).
    pub dpop_nonce: Option<String>,
}

impl Default for ResourceConfig {
    fn default() -> Self {
        ResourceConfig {
            path: "/mcp".into(),
            prm_location: PrmLocation::PathInserted,
            prm_in_header: true,
            challenge_scope: None,
            scopes_supported: None,
            resource_override: None,
            required_scopes: Vec::new(),
            dpop_nonce: None,
        }
    }
}

struct Shared {
    config: ResourceConfig,
    base: String,
    log: Log,
    /// The authorization server whose tokens are accepted: issuer and public key.
    trusted: Mutex<(String, Vec<u8>)>,
    /// `jti`s of the DPoP proofs seen, to refuse replays.
    seen_jtis: Mutex<HashSet<String>>,
}

impl Shared {
    fn prm_path(&self) -> Option<String> {
        match &self.config.prm_location {
            PrmLocation::PathInserted => Some(format!("/.well-known/oauth-protected-resource{}", self.config.path)),
            PrmLocation::Root => Some("/.well-known/oauth-protected-resource".into()),
            PrmLocation::Custom(p) => Some(p.clone()),
            PrmLocation::None => None,
        }
    }

    fn resource_id(&self) -> String {
        match (&self.config.resource_override, &self.config.prm_location) {
            (Some(r), _) => r.clone(),
            (None, PrmLocation::Root) => self.base.clone(),
            (None, _) => format!("{}{}", self.base, self.config.path),
        }
    }

    /// Records a proof's `jti`; false when it was seen before (a replay).
    fn first_use(&self, jti: &Value) -> bool {
        let jti = jti.as_str().unwrap_or_default().to_owned();
        self.seen_jtis.lock().unwrap_or_else(|e| e.into_inner()).insert(jti)
    }

    fn trusted(&self) -> (String, Vec<u8>) {
        self.trusted.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A running protected-resource stand-in; stops when dropped.
pub struct ResourceServer {
    shared: Arc<Shared>,
    _serving: Arc<Serving>,
}

impl ResourceServer {
    /// Starts the resource on its own port, trusting `auth`.
    pub async fn start(config: ResourceConfig, auth: &AuthServer) -> std::io::Result<ResourceServer> {
        let (listener, base) = bind().await?;
        let shared = new_shared(config, base, auth);
        let app = router(shared.clone()).fallback(not_found).with_state(shared.clone());
        let serving = Arc::new(spawn(listener, app));
        Ok(ResourceServer { shared, _serving: serving })
    }

    /// Starts an authorization server and a resource on one origin, as a
    /// 2025-03-26 server that is its own authorization server.
    pub async fn start_same_origin(
        config: ResourceConfig,
        as_config: AsConfig,
    ) -> std::io::Result<(AuthServer, ResourceServer)> {
        let (listener, base) = bind().await?;
        let (auth, as_router) = AuthServer::unserved(as_config, base.clone())?;
        let shared = new_shared(config, base, &auth);
        let serving = Arc::new(spawn(listener, router(shared.clone()).with_state(shared.clone()).merge(as_router)));
        let auth = auth.served_by(serving.clone());
        Ok((auth, ResourceServer { shared, _serving: serving }))
    }

    /// The protected endpoint's URL.
    pub fn url(&self) -> String {
        format!("{}{}", self.shared.base, self.shared.config.path)
    }

    /// The `resource` the metadata publishes.
    pub fn resource_id(&self) -> String {
        self.shared.resource_id()
    }

    /// Moves the resource to another authorization server: the metadata lists it
    /// and only its tokens are accepted from now on.
    pub fn trust(&self, auth: &AuthServer) {
        *self.shared.trusted.lock().unwrap_or_else(|e| e.into_inner()) = (auth.issuer(), auth.public_key());
    }

    /// The log of requests.
    pub fn log(&self) -> &Log {
        &self.shared.log
    }
}

fn new_shared(config: ResourceConfig, base: String, auth: &AuthServer) -> Arc<Shared> {
    Arc::new(Shared {
        config,
        base,
        log: Log::default(),
        trusted: Mutex::new((auth.issuer(), auth.public_key())),
        seen_jtis: Mutex::default(),
    })
}

fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    let mut r = Router::new().route(&shared.config.path, any(protected));
    if let Some(p) = shared.prm_path() {
        r = r.route(&p, get(metadata));
    }
    r
}

async fn not_found(State(s): State<Arc<Shared>>, uri: axum::http::Uri) -> StatusCode {
    s.log.not_found(uri.path())
}

async fn metadata(State(s): State<Arc<Shared>>, uri: axum::http::Uri) -> axum::Json<Value> {
    s.log.push(Event::Metadata(uri.path().to_owned()));
    let mut doc = json!({ "resource": s.resource_id(), "authorization_servers": [s.trusted().0] });
    if let Some(scopes) = &s.config.scopes_supported {
        doc["scopes_supported"] = json!(scopes);
    }
    axum::Json(doc)
}

fn challenge(s: &Shared, status: StatusCode, error: Option<&str>, scope: Option<&str>) -> Response {
    challenge_with(s, "Bearer", status, error, scope)
}

fn challenge_with(s: &Shared, scheme: &str, status: StatusCode, error: Option<&str>, scope: Option<&str>) -> Response {
    let mut params = Vec::new();
    if let Some(e) = error {
        params.push(format!("error=\"{e}\""));
    }
    if let Some(scope) = scope {
        params.push(format!("scope=\"{scope}\""));
    }
    if let (true, Some(p)) = (s.config.prm_in_header, s.prm_path()) {
        params.push(format!("resource_metadata=\"{}{p}\"", s.base));
    }
    let value = if params.is_empty() { scheme.to_owned() } else { format!("{scheme} {}", params.join(", ")) };
    (status, [(header::WWW_AUTHENTICATE, value)], axum::Json(json!({ "error": error.unwrap_or("unauthorized") })))
        .into_response()
}

/// Checks the DPoP side of a request: a token bound to a key needs the DPoP
/// scheme and a proof by that key for this request (and the nonce, when set).
fn check_binding(
    s: &Shared,
    claims: &Value,
    scheme: &str,
    method: &str,
    headers: &HeaderMap,
    token: &str,
) -> Option<Response> {
    let is_dpop = scheme.eq_ignore_ascii_case("dpop");
    let Some(jkt) = claims["cnf"]["jkt"].as_str() else {
        return is_dpop.then(|| challenge(s, StatusCode::UNAUTHORIZED, Some("invalid_token"), None));
    };
    let invalid = || challenge_with(s, "DPoP", StatusCode::UNAUTHORIZED, Some("invalid_token"), None);
    if !is_dpop {
        return Some(invalid());
    }
    let proof = headers.get("dpop").and_then(|v| v.to_str().ok());
    let url = format!("{}{}", s.base, s.config.path);
    match check_proof(proof, method, &url, Some(token)) {
        Ok(p) if p.jkt != jkt => Some(invalid()),
        Ok(p) if !s.first_use(&p.claims["jti"]) => Some(invalid()),
        Ok(p) => match &s.config.dpop_nonce {
            Some(nonce) if p.claims["nonce"] != nonce.as_str() => {
                let mut r = challenge_with(s, "DPoP", StatusCode::UNAUTHORIZED, Some("use_dpop_nonce"), None);
                if let Ok(value) = nonce.parse() {
                    r.headers_mut().insert("dpop-nonce", value);
                }
                Some(r)
            }
            _ => None,
        },
        Err(_) => Some(invalid()),
    }
}

async fn protected(State(s): State<Arc<Shared>>, method: Method, headers: HeaderMap) -> Response {
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    s.log.push(Event::Resource(auth.clone()));
    let scope = s.config.challenge_scope.as_deref();
    let Some((scheme, token)) = auth.as_deref().and_then(|a| a.split_once(' ')) else {
        return challenge(&s, StatusCode::UNAUTHORIZED, None, scope);
    };
    let (issuer, key) = s.trusted();
    let claims = match verify_es256(token, &key) {
        Ok(c) => c,
        Err(_) => return challenge(&s, StatusCode::UNAUTHORIZED, Some("invalid_token"), scope),
    };
    let valid = claims["iss"] == json!(issuer)
        && claims["aud"] == json!(s.resource_id())
        && claims["exp"].as_u64().is_some_and(|exp| exp > now_secs());
    if !valid || !(scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop")) {
        return challenge(&s, StatusCode::UNAUTHORIZED, Some("invalid_token"), scope);
    }
    if let Some(refusal) = check_binding(&s, &claims, scheme, method.as_str(), &headers, token) {
        return refusal;
    }
    let granted = crate::scope::split(claims["scope"].as_str().unwrap_or_default());
    if !s.config.required_scopes.iter().all(|r| granted.contains(r)) {
        let needed = s.config.required_scopes.join(" ");
        return challenge(&s, StatusCode::FORBIDDEN, Some("insufficient_scope"), Some(&needed));
    }
    axum::Json(json!({ "ok": true, "scope": granted })).into_response()
}
