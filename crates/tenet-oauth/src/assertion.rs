//! Assertions for the JWT bearer grant (RFC 7523 §2.1): a workload's own JWT, or an
//! ID-JAG from the enterprise identity provider by token exchange (RFC 8693).

use serde::Deserialize;

use crate::OAuthError;
use crate::config::{AssertionSource, IdJagExchange};
use crate::flow::Discovery;
use crate::http::{parse_url, read_json, require_secure, send};
use crate::token::rejected;

/// `grant_type` of the JWT bearer grant.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// `grant_type` of token exchange.
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The token type of an ID token.
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// The token type of an Identity Assertion JWT Authorization Grant.
pub const ID_JAG_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";

#[derive(Deserialize)]
struct ExchangeResponse {
    access_token: String,
    #[serde(default)]
    issued_token_type: Option<String>,
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
