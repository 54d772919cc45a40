//! The stand-in's token endpoint: client authentication, the three grants, and
//! ES256 JWT access tokens.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use url::form_urlencoded;

use super::Event;
use super::assertion_grants::{jwt_bearer, token_exchange};
use super::dpop_check::check_proof;
use super::state::{Grant, Shared, find, issue, known_client, oauth_error};
use crate::assertion::{JWT_BEARER, TOKEN_EXCHANGE};
use crate::jwt::{now_secs, verify_es256};
use crate::pkce::s256;

fn invalid_client(why: &str) -> Response {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", why)
}

fn invalid_grant(why: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why)
}

fn reject(why: &str) -> String {
    why.to_owned()
}

/// Authenticates the client by the method it used, which must be one the server
/// allows; returns its id.
fn authenticate(s: &Shared, form: &[(String, String)], authorization: Option<&str>) -> Result<String, String> {
    if let Some(assertion) = find(form, "client_assertion") {
        return authenticate_jwt(s, form, assertion);
    }
    let (id, secret, method) = if let Some(b64) = authorization.and_then(|a| a.strip_prefix("Basic ")) {
        let decoded = STANDARD.decode(b64.trim()).map_err(|_| reject("Basic credentials are not base64"))?;
        let text = String::from_utf8(decoded).map_err(|_| reject("Basic credentials are not UTF-8"))?;
        let (id, secret) = text.split_once(':').ok_or_else(|| reject("Basic credentials lack ':'"))?;
        let decode = |v: &str| form_urlencoded::parse(format!("v={v}").as_bytes()).map(|(_, v)| v.into_owned()).next();
        (decode(id).unwrap_or_default(), decode(secret), "client_secret_basic")
    } else if let Some(secret) = find(form, "client_secret") {
        (find(form, "client_id").unwrap_or_default().to_owned(), Some(secret.to_owned()), "client_secret_post")
    } else {
        (find(form, "client_id").unwrap_or_default().to_owned(), None, "none")
    };
    if !s.config.token_endpoint_auth_methods.iter().any(|m| m == method) {
        return Err(reject(&format!("{method} is not allowed here")));
    }
    let record = known_client(s, &id).ok_or_else(|| reject("unknown client"))?;
    match (record.secret, secret) {
        (None, None) => Ok(id),
        (Some(expected), Some(given)) if expected == given => Ok(id),
        _ => Err(reject("wrong client credentials")),
    }
}

/// `private_key_jwt` (RFC 7523 §3): a signed assertion about the client, for this server.
fn authenticate_jwt(s: &Shared, form: &[(String, String)], assertion: &str) -> Result<String, String> {
    if !s.config.token_endpoint_auth_methods.iter().any(|m| m == "private_key_jwt") {
        return Err(reject("private_key_jwt is not allowed here"));
    }
    if find(form, "client_assertion_type") != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
        return Err(reject("wrong client_assertion_type"));
    }
    for (id, key) in &s.config.assertion_keys {
        if let Ok(claims) = verify_es256(assertion, key) {
            let fresh = claims["exp"].as_u64().is_some_and(|exp| exp > now_secs());
            let ok = claims["iss"] == json!(id) && claims["sub"] == json!(id) && claims["aud"] == json!(s.issuer());
            return if ok && fresh { Ok(id.clone()) } else { Err(reject("assertion claims are wrong")) };
        }
    }
    Err(reject("assertion signed by no known key"))
}

/// `POST /token`.
pub(super) async fn token(State(s): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    s.log.push(Event::Token { form: form.clone(), authorization: authorization.clone() });
    let client_id = match authenticate(&s, &form, authorization.as_deref()) {
        Ok(id) => id,
        Err(why) => return invalid_client(&why),
    };
    let jkt = match dpop_binding(&s, &headers) {
        Ok(jkt) => jkt,
        Err(response) => return *response,
    };
    let jkt = jkt.as_deref();
    let resource = find(&form, "resource").map(str::to_owned);
    match find(&form, "grant_type") {
        Some("authorization_code") => {
            let code = find(&form, "code").unwrap_or_default();
            let Some(grant) = s.codes.lock().unwrap_or_else(|e| e.into_inner()).remove(code) else {
                return invalid_grant("unknown or used code");
            };
            if grant.client_id != client_id {
                return invalid_grant("code was issued to another client");
            }
            let verifier = find(&form, "code_verifier").unwrap_or_default();
            if grant.challenge.as_deref() != Some(s256(verifier).as_str()) {
                return invalid_grant("PKCE verification failed");
            }
            if grant.redirect_uri.as_deref() != find(&form, "redirect_uri") {
                return invalid_grant("redirect_uri differs from the authorization request");
            }
            if grant.resource != resource {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_target", "resource differs");
            }
            issue(&s, grant, jkt)
        }
        Some("refresh_token") => {
            let presented = find(&form, "refresh_token").unwrap_or_default();
            let Some(grant) = s.refresh.lock().unwrap_or_else(|e| e.into_inner()).remove(presented) else {
                return invalid_grant("unknown refresh token");
            };
            if grant.client_id != client_id {
                return invalid_grant("refresh token was issued to another client");
            }
            if resource.is_some() && grant.resource != resource {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_target", "resource differs");
            }
            issue(&s, grant, jkt)
        }
        Some("client_credentials") => {
            let scope = find(&form, "scope").map(str::to_owned);
            issue(&s, Grant { client_id, subject: None, scope, resource, challenge: None, redirect_uri: None }, jkt)
        }
        Some(JWT_BEARER) => jwt_bearer(&s, client_id, &form, jkt),
        Some(TOKEN_EXCHANGE) => token_exchange(&s, client_id, &form, jkt),
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "unsupported grant_type"),
    }
}

/// The thumbprint to bind the token to when a DPoP proof came with the request;
/// a bad proof, or one without the required nonce, is refused.
fn dpop_binding(s: &Shared, headers: &HeaderMap) -> Result<Option<String>, Box<Response>> {
    let Some(proof) = headers.get("dpop").and_then(|v| v.to_str().ok()) else { return Ok(None) };
    if !s.config.dpop {
        return Ok(None);
    }
    let bad = |why: &str| Box::new(oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof", why));
    let checked = check_proof(Some(proof), "POST", &s.token_url(), None).map_err(bad)?;
    if let Some(nonce) = &s.config.dpop_nonce
        && checked.claims["nonce"] != nonce.as_str()
    {
        let mut response = oauth_error(StatusCode::BAD_REQUEST, "use_dpop_nonce", "a DPoP nonce is required");
        if let Ok(value) = nonce.parse() {
            response.headers_mut().insert("dpop-nonce", value);
        }
        return Err(Box::new(response));
    }
    Ok(Some(checked.jkt))
}
