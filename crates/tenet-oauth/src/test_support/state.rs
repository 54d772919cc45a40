//! What the authorization-server stand-in knows (its clients, codes and refresh
//! tokens) and what its endpoints share: looking up a client or a form or query field,
//! an OAuth error, and issuing a token.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Log;
use super::config::AsConfig;
use crate::jwt::{Es256Key, now_secs};
use crate::pkce::random_string;
use crate::redact;

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
    /// The user the token is for, when a token exchange named one (else the client).
    pub(super) subject: Option<String>,
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
    /// How many access tokens have been issued.
    pub(super) issued: AtomicU64,
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

pub(super) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, axum::Json(json!({ "error": error, "error_description": description }))).into_response()
}

pub(super) fn find<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

pub(super) fn known_client(s: &Shared, id: &str) -> Option<ClientRecord> {
    let clients = s.clients.lock().unwrap_or_else(|e| e.into_inner());
    clients
        .get(id)
        .cloned()
        .or_else(|| (s.config.cimd_supported && id.starts_with("https://")).then_some(ClientRecord { secret: None }))
}

/// Signs an access token for `grant` (bound to `jkt` for DPoP) and stores a fresh
/// refresh token.
pub(super) fn issue(s: &Shared, mut grant: Grant, jkt: Option<&str>) -> Response {
    if let (Some(allowed), Some(scope)) = (&s.config.grantable_scopes, &grant.scope) {
        let kept: Vec<String> = crate::scope::split(scope).into_iter().filter(|x| allowed.contains(x)).collect();
        grant.scope = Some(kept.join(" "));
    }
    let now = now_secs();
    let lifetime = match s.issued.fetch_add(1, Ordering::Relaxed) {
        0 => s.config.token_lifetime,
        _ => s.config.later_token_lifetime.unwrap_or(s.config.token_lifetime),
    };
    let mut claims = json!({
        "iss": s.published_issuer(),
        "sub": grant.subject.as_deref().unwrap_or(&grant.client_id),
        "client_id": grant.client_id,
        "aud": grant.resource,
        "iat": now,
        "exp": now + lifetime,
        "scope": grant.scope.clone().unwrap_or_default(),
        "jti": random_string(8).unwrap_or_default(),
    });
    if grant.subject.is_some() {
        // The client acts for the user (RFC 8693 §4.1).
        claims["act"] = json!({ "sub": grant.client_id });
    }
    if let Some(jkt) = jkt {
        claims["cnf"] = json!({ "jkt": jkt });
    }
    let Ok(access_token) = s.key.sign("at+jwt", Some("stand-in"), &claims) else {
        return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "signing failed");
    };
    let refresh_token = random_string(16).unwrap_or_default();
    let scope = grant.scope.clone();
    s.refresh.lock().unwrap_or_else(|e| e.into_inner()).insert(refresh_token.clone(), grant);
    let mut body = json!({
        "access_token": access_token,
        "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": s.config.expires_in_override.unwrap_or(lifetime),
        "refresh_token": refresh_token,
    });
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    (StatusCode::OK, axum::Json(body)).into_response()
}
