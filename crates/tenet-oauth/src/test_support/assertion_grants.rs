//! The stand-in's JWT bearer grant (RFC 7523) and token exchange (RFC 8693): for
//! ID-JAGs, so one stand-in can play the enterprise identity provider and another the
//! MCP server's authorization server, and for access tokens, so a gateway can act for
//! its callers at an upstream.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::state::{Grant, Shared, find, issue, oauth_error};
use crate::assertion::{ACCESS_TOKEN_TYPE, ID_JAG_TYPE, ID_TOKEN_TYPE};
use crate::jwt::{now_secs, verify_es256};
use crate::pkce::random_string;

fn invalid_grant(why: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why)
}

/// The claims of a JWT signed by one of the trusted issuers, not expired; else why not.
fn verify_trusted(s: &Shared, jwt: &str) -> Result<Value, &'static str> {
    let claims = s
        .config
        .trusted_issuers
        .iter()
        .find_map(|(issuer, key)| verify_es256(jwt, key).ok().filter(|c| c["iss"] == json!(issuer)))
        .ok_or("assertion not signed by a trusted issuer")?;
    if claims["exp"].as_u64().is_none_or(|exp| exp <= now_secs()) {
        return Err("assertion expired");
    }
    Ok(claims)
}

/// `grant_type=…:jwt-bearer`: an assertion for this server buys an access token.
pub(super) fn jwt_bearer(s: &Shared, client_id: String, form: &[(String, String)], jkt: Option<&str>) -> Response {
    let claims = match verify_trusted(s, find(form, "assertion").unwrap_or_default()) {
        Ok(c) => c,
        Err(why) => return invalid_grant(why),
    };
    if claims["aud"] != json!(s.issuer()) {
        return invalid_grant("assertion is for another audience");
    }
    let resource = find(form, "resource").map(str::to_owned);
    if claims.get("resource").is_some_and(|r| Some(r) != resource.as_ref().map(|x| json!(x)).as_ref()) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_target", "resource differs from the assertion's");
    }
    let scope = find(form, "scope").map(str::to_owned);
    issue(s, Grant { client_id, subject: None, scope, resource, challenge: None, redirect_uri: None }, jkt)
}

/// `grant_type=…:token-exchange`: an ID token from a trusted issuer becomes an
/// ID-JAG signed by this server, for the requested audience and resource; an access
/// token from a trusted issuer becomes this server's access token for the same user
/// (`sub`), with the client as its actor (`act`).
pub(super) fn token_exchange(s: &Shared, client_id: String, form: &[(String, String)], jkt: Option<&str>) -> Response {
    if find(form, "subject_token_type") == Some(ACCESS_TOKEN_TYPE) {
        return for_user(s, client_id, form, jkt);
    }
    if find(form, "subject_token_type") != Some(ID_TOKEN_TYPE)
        || find(form, "requested_token_type") != Some(ID_JAG_TYPE)
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "only id_token → id-jag exchanges");
    }
    let (Some(audience), Some(resource)) = (find(form, "audience"), find(form, "resource")) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "audience and resource are required");
    };
    let subject = match verify_trusted(s, find(form, "subject_token").unwrap_or_default()) {
        Ok(c) => c,
        Err(why) => return invalid_grant(why),
    };
    let now = now_secs();
    let claims = json!({
        "iss": s.issuer(), "sub": subject["sub"], "aud": audience, "resource": resource,
        "client_id": client_id, "iat": now, "exp": now + 300, "jti": random_string(8).unwrap_or_default(),
    });
    match s.key.sign("oauth-id-jag+jwt", Some("stand-in"), &claims) {
        Ok(jag) => {
            let body = json!({ "access_token": jag, "issued_token_type": ID_JAG_TYPE, "token_type": "N_A" });
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(_) => oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "signing failed"),
    }
}

/// An access token for the user of a trusted issuer's access token (`subject_token`),
/// issued to the client that acts for them.
fn for_user(s: &Shared, client_id: String, form: &[(String, String)], jkt: Option<&str>) -> Response {
    if find(form, "requested_token_type").is_some_and(|t| t != ACCESS_TOKEN_TYPE) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "an access token buys an access token");
    }
    let subject = match verify_trusted(s, find(form, "subject_token").unwrap_or_default()) {
        Ok(c) => c,
        Err(why) => return invalid_grant(why),
    };
    let Some(user) = subject["sub"].as_str().filter(|sub| !sub.is_empty()) else {
        return invalid_grant("the subject token names no user");
    };
    let grant = Grant {
        client_id,
        subject: Some(user.to_owned()),
        scope: find(form, "scope").map(str::to_owned),
        resource: find(form, "resource").map(str::to_owned),
        challenge: None,
        redirect_uri: None,
    };
    issue(s, grant, jkt)
}
