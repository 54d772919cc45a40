//! Assertions for the JWT bearer grant (RFC 7523 §2.1): a workload's own JWT, or an
//! ID-JAG from the enterprise identity provider by token exchange (RFC 8693).

use std::fmt;

use serde::Deserialize;

use crate::OAuthError;
use crate::config::{AssertionSource, IdJagExchange};
use crate::http::{parse_url, read_json, require_secure, send};
use crate::metadata::Discovery;
use crate::redact::REDACTED;
use crate::token::rejected;

/// `grant_type` of the JWT bearer grant.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// `grant_type` of token exchange.
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The token type of an OAuth access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The token type of an ID token.
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// The token type of an Identity Assertion JWT Authorization Grant.
pub const ID_JAG_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";

/// A token exchange answer (RFC 8693 §2.2.1); `Debug` redacts the issued token.
#[derive(Deserialize)]
struct ExchangeResponse {
    access_token: String,
    #[serde(default)]
    issued_token_type: Option<String>,
}

impl fmt::Debug for ExchangeResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeResponse")
            .field("access_token", &REDACTED)
            .field("issued_token_type", &self.issued_token_type)
            .finish()
    }
}

/// The assertion to present to the authorization server found by discovery.
pub(crate) async fn obtain(
    client: &reqwest::Client,
    source: &AssertionSource,
    discovery: &Discovery,
) -> Result<String, OAuthError> {
    match source {
        AssertionSource::Jwt(jwt) => Ok(jwt.clone()),
        AssertionSource::IdJag(exchange) => id_jag(client, exchange, discovery).await,
    }
}

/// Exchanges the ID token for an ID-JAG whose audience is the authorization server
/// and whose resource is the MCP server.
async fn id_jag(client: &reqwest::Client, x: &IdJagExchange, d: &Discovery) -> Result<String, OAuthError> {
    let url = parse_url(&x.token_endpoint)?;
    require_secure("identity provider token endpoint", &url)?;
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE.to_owned()),
        ("requested_token_type", ID_JAG_TYPE.to_owned()),
        ("subject_token", x.id_token.clone()),
        ("subject_token_type", ID_TOKEN_TYPE.to_owned()),
        ("audience", d.issuer.clone()),
        ("resource", d.resource.clone()),
        ("client_id", x.client_id.clone()),
    ];
    if let Some(secret) = &x.client_secret {
        form.push(("client_secret", secret.clone()));
    }
    let response = send(client.post(url.clone()).form(&form), &url).await?;
    if !response.status().is_success() {
        return Err(rejected(response, &url).await);
    }
    let answer: ExchangeResponse = read_json(response, &url, "token exchange response").await?;
    match answer.issued_token_type.as_deref() {
        None | Some(ID_JAG_TYPE) => Ok(answer.access_token),
        Some(other) => Err(OAuthError::InvalidDocument {
            url: url.to_string(),
            what: "token exchange response",
            reason: format!("issued_token_type {other:?} is not an ID-JAG"),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn debug_of_exchange_response_redacts_the_token() {
        let body = format!(r#"{{"access_token":"s3cr3t-value","issued_token_type":"{ID_JAG_TYPE}"}}"#);
        let answer: ExchangeResponse = serde_json::from_str(&body).unwrap();
        let shown = format!("{answer:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains(ID_JAG_TYPE), "{shown}");
    }
}
