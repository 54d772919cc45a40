//! The stand-in's JWT bearer grant (RFC 7523) and token exchange for ID-JAGs
//! (RFC 8693), so one stand-in can play the enterprise identity provider and
//! another the MCP server's authorization server.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::state::{Grant, Shared, find, issue, oauth_error};
use crate::assertion::{ID_JAG_TYPE, ID_TOKEN_TYPE};
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
    issue(s, Grant { client_id, scope, resource, challenge: None, redirect_uri: None }, jkt)
}

/// `grant_type=…:token-exchange`: an ID token from a trusted issuer becomes an
/// ID-JAG signed by this server, for the requested audience and resource.
pub(super) fn token_exchange(s: &Shared, client_id: String, form: &[(String, String)]) -> Response {
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
