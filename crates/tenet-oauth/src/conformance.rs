//! The settings the official MCP conformance suite's `auth/*` client scenarios call
//! for, from the scenario name and its `MCP_CONFORMANCE_CONTEXT` (see
//! `docs/oauth-client.md`). Shared by every conformance client built on this crate.

use std::sync::Arc;

use serde_json::Value;

use crate::{
    AssertionSource, AuthorizerConfig, ClientAssertionKey, ClientCredentials, Grant, IdJagExchange, OAuthError,
};

/// The Client ID Metadata Document URL the suite expects in `auth/basic-cimd`.
pub const CIMD_URL: &str = "https://conformance-test.local/client-metadata.json";

/// The authorizer's settings for `scenario` with its `context`: the CIMD URL always,
/// pre-registered credentials when the context has a `client_id`, and the grant the
/// scenario needs (client credentials with an optional `private_key_jwt` key, a
/// workload JWT, or an enterprise ID-JAG exchange).
pub fn config_for(scenario: &str, context: &Value) -> Result<AuthorizerConfig, OAuthError> {
    let text = |k: &str| context.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut config = AuthorizerConfig {
        client_name: "tenet-conformance".into(),
        client_metadata_url: Some(CIMD_URL.into()),
        ..AuthorizerConfig::default()
    };
    if let Some(id) = text("client_id") {
        config.pre_registered = Some(ClientCredentials::new(id, text("client_secret")));
    }
    if scenario == "auth/wif-jwt-bearer"
        && let Some(jwt) = text("valid_jwt")
    {
        config.grant = Grant::JwtBearer(AssertionSource::Jwt(jwt));
    }
    if let (Some(endpoint), Some(idp_client), Some(id_token)) =
        (text("idp_token_endpoint"), text("idp_client_id"), text("idp_id_token"))
    {
        let exchange = IdJagExchange { token_endpoint: endpoint, client_id: idp_client, client_secret: None, id_token };
        config.grant = Grant::JwtBearer(AssertionSource::IdJag(exchange));
    }
    if scenario.starts_with("auth/client-credentials") {
        config.grant = Grant::ClientCredentials;
        if let Some(pem) = text("private_key_pem") {
            let alg = text("signing_algorithm").unwrap_or_else(|| "ES256".into());
            config.assertion_key = Some(Arc::new(ClientAssertionKey::from_pem(&pem, &alg)?));
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn the_context_picks_credentials_and_grant() {
        let plain = config_for("auth/metadata-default", &Value::Null).unwrap();
        assert_eq!(plain.client_metadata_url.as_deref(), Some(CIMD_URL));
        assert!(plain.pre_registered.is_none());
        assert!(matches!(plain.grant, Grant::AuthorizationCode));

        let context = json!({"client_id": "c1", "client_secret": "s1"});
        let basic = config_for("auth/client-credentials-basic", &context).unwrap();
        let creds = basic.pre_registered.unwrap();
        assert_eq!((creds.client_id.as_str(), creds.client_secret.as_deref()), ("c1", Some("s1")));
        assert!(matches!(basic.grant, Grant::ClientCredentials));

        let wif = config_for("auth/wif-jwt-bearer", &json!({"client_id": "w", "valid_jwt": "a.b.c"})).unwrap();
        assert!(matches!(wif.grant, Grant::JwtBearer(AssertionSource::Jwt(ref jwt)) if jwt == "a.b.c"));

        let idp = json!({"idp_token_endpoint": "http://idp/token", "idp_client_id": "i", "idp_id_token": "t"});
        let enterprise = config_for("auth/enterprise-managed-authorization", &idp).unwrap();
        assert!(matches!(enterprise.grant, Grant::JwtBearer(AssertionSource::IdJag(ref x)) if x.id_token == "t"));
    }

    #[test]
    fn a_bad_signing_key_is_an_error() {
        let context = json!({"client_id": "c", "private_key_pem": "not a key"});
        assert!(config_for("auth/client-credentials-jwt", &context).is_err());
    }
}
