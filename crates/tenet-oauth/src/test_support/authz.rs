//! The authorization-server stand-in ([`AuthServer`]) and its routes: metadata, JWKS,
//! authorization and registration (the token endpoint is `token_endpoint`).

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::config::{AsConfig, IssMode, MetadataLocation};
use super::state::{ClientRecord, Grant, Shared, find, known_client, oauth_error};
use super::{Event, Log, Serving, bind, spawn};
use crate::jwt::Es256Key;
use crate::pkce::random_string;

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
            issued: AtomicU64::new(0),
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
            subject: None,
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
