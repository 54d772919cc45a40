//! The middleware in front of the MCP endpoint, its challenges, and the metadata routes.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;

use super::{Auth, TokenError};
use crate::response;

/// The largest error body looked into for the scope a 403 needs.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Puts the caller's [`tenet_server::Grant`] in the request's extensions; or returns
/// the challenge to answer instead.
pub(crate) async fn refusal(auth: &Auth, request: &mut Request) -> Option<Response> {
    let grant = match auth.authenticate(request.headers(), request.uri()).await {
        Ok(grant) => grant,
        Err(error) => {
            tracing::info!(reason = %error, "refused a request's credentials");
            return Some(token_refused(auth, &error));
        }
    };
    if !grant.covers(&auth.config.required_scopes) {
        let mut needed: Vec<String> = grant.scopes().map(str::to_owned).collect();
        add_missing(&mut needed, &auth.config.required_scopes);
        return Some(insufficient(auth, &needed.join(" ")));
    }
    tracing::debug!(caller = grant.principal().map_or("-", tenet_server::Principal::name), "authorized");
    request.extensions_mut().insert(grant);
    None
}

/// A 403 from the endpoint (a scope missing for one tool, resource or prompt) gets
/// the step-up challenge; any other response passes unchanged.
pub(crate) async fn finish(auth: &Auth, response: Response) -> Response {
    if response.status() == StatusCode::FORBIDDEN { with_step_up(auth, response).await } else { response }
}

fn add_missing(scopes: &mut Vec<String>, more: &[String]) {
    for scope in more {
        if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
}

/// Quotes a value for a challenge parameter (RFC 9110 quoted-string).
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn challenge(auth: &Auth, error: Option<&str>, scope: &str) -> HeaderValue {
    let mut params = Vec::with_capacity(3);
    if let Some(error) = error {
        params.push(format!("error={}", quoted(error)));
    }
    if !scope.is_empty() {
        params.push(format!("scope={}", quoted(scope)));
    }
    params.push(format!("resource_metadata={}", quoted(&auth.metadata_url)));
    HeaderValue::from_str(&format!("Bearer {}", params.join(", ")))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// The answer to refused credentials: 401 (or 400 / 503) with the challenge.
fn token_refused(auth: &Auth, error: &TokenError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = response::transport(status, format!("{}: {error}", status.canonical_reason().unwrap_or("")));
    let scope = auth.config.required_scopes.join(" ");
    response.headers_mut().insert(WWW_AUTHENTICATE, challenge(auth, error.code(), &scope));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}

/// 403 asking for `scope` (everything the caller should hold to go on).
fn insufficient(auth: &Auth, scope: &str) -> Response {
    let mut response =
        response::transport(StatusCode::FORBIDDEN, format!("Forbidden: insufficient scope; needs {scope}"));
    response.headers_mut().insert(WWW_AUTHENTICATE, challenge(auth, Some("insufficient_scope"), scope));
    response
}

/// Adds the step-up challenge to a 403 the server gave for a missing scope (its
/// JSON-RPC error data names the scope).
async fn with_step_up(auth: &Auth, response: Response) -> Response {
    let is_json = response.headers().get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_json || response.headers().contains_key(WWW_AUTHENTICATE) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        return response::transport(StatusCode::FORBIDDEN, "Forbidden");
    };
    let scope = serde_json::from_slice::<serde_json::Value>(&bytes).ok().and_then(|reply| {
        let error = &reply["error"];
        (error["code"] == tenet_server::INSUFFICIENT_SCOPE.0)
            .then(|| error["data"]["scope"].as_str().map(str::to_owned))?
    });
    if let Some(scope) = scope {
        parts.headers.insert(WWW_AUTHENTICATE, challenge(auth, Some("insufficient_scope"), &scope));
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The paths [`metadata_router`] serves.
pub(crate) fn metadata_paths(auth: &Auth) -> Vec<&str> {
    vec!["/.well-known/oauth-protected-resource", auth.metadata_path.as_str()]
}

/// The Protected Resource Metadata, at the path for the endpoint and at the root form.
pub(crate) fn metadata_router<S: Clone + Send + Sync + 'static>(auth: &Arc<Auth>) -> Router<S> {
    let serve = |auth: Arc<Auth>| {
        get(move || {
            let doc = auth.metadata().to_string();
            async move { response::json(StatusCode::OK, doc) }
        })
    };
    let mut router = Router::new().route("/.well-known/oauth-protected-resource", serve(auth.clone()));
    if auth.metadata_path != "/.well-known/oauth-protected-resource" {
        router = router.route(&auth.metadata_path, serve(auth.clone()));
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_values_are_quoted_safely() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quoted("x\r\ny"), r#""xy""#);
    }
}
