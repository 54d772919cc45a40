//! Getting a client identity at an authorization server: pre-registered
//! credentials, a Client ID Metadata Document, or Dynamic Client Registration
//! (RFC 7591), in that order.

use std::fmt;

use serde::Deserialize;
use serde_json::json;

use crate::http::{parse_url, read_json, require_secure, send};
use crate::metadata::ServerMetadata;
use crate::redact;
use crate::token::ClientCredentials;
use crate::{AuthorizerConfig, OAuthError};

/// A Dynamic Client Registration answer (RFC 7591 §3.2.1); `Debug` redacts the secret.
#[derive(Deserialize)]
struct RegistrationResponse {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
}

impl fmt::Debug for RegistrationResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistrationResponse")
            .field("client_id", &self.client_id)
            .field("client_secret", &redact::option(&self.client_secret))
            .field("token_endpoint_auth_method", &self.token_endpoint_auth_method)
            .finish()
    }
}

/// How a client identity was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationKind {
    /// From the configuration.
    PreRegistered,
    /// The Client ID Metadata Document URL is the `client_id`.
    MetadataDocument,
    /// Dynamic Client Registration.
    Dynamic,
}

/// Finds or creates the client's identity at the server described by `meta`.
pub(crate) async fn obtain_client(
    client: &reqwest::Client,
    config: &AuthorizerConfig,
    meta: &ServerMetadata,
) -> Result<(ClientCredentials, RegistrationKind), OAuthError> {
    if let Some(creds) = &config.pre_registered {
        return Ok((creds.clone(), RegistrationKind::PreRegistered));
    }
    if meta.client_id_metadata_document_supported
        && let Some(url) = &config.client_metadata_url
    {
        let creds = ClientCredentials {
            client_id: url.clone(),
            client_secret: None,
            token_endpoint_auth_method: Some("none".into()),
        };
        return Ok((creds, RegistrationKind::MetadataDocument));
    }
    let Some(endpoint) = meta.registration_endpoint.as_deref() else {
        return Err(OAuthError::NoRegistration { issuer: meta.issuer.clone() });
    };
    let endpoint = parse_url(endpoint)?;
    require_secure("registration endpoint", &endpoint)?;
    let supported = meta.token_endpoint_auth_methods_supported.as_deref().unwrap_or_default();
    // A native client is public when the server allows it; otherwise it asks for a secret.
    let method = ["none", "client_secret_basic", "client_secret_post"]
        .into_iter()
        .find(|m| supported.iter().any(|s| s == m))
        .unwrap_or("none");
    let body = json!({
        "client_name": config.client_name,
        "redirect_uris": [config.redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
        "application_type": config.application_type.as_str(),
    });
    let response = send(client.post(endpoint.clone()).json(&body), &endpoint).await?;
    let status = response.status();
    if !status.is_success() {
        return Err(OAuthError::UnexpectedStatus { url: endpoint.to_string(), status: status.as_u16() });
    }
    let reg: RegistrationResponse = read_json(response, &endpoint, "registration response").await?;
    tracing::debug!(issuer = %meta.issuer, client_id = %reg.client_id, "registered dynamically");
    let creds = ClientCredentials {
        client_id: reg.client_id,
        client_secret: reg.client_secret,
        token_endpoint_auth_method: reg.token_endpoint_auth_method,
    };
    Ok((creds, RegistrationKind::Dynamic))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn debug_of_registration_response_redacts_the_secret() {
        let body = r#"{"client_id":"client-42","client_secret":"s3cr3t-value","token_endpoint_auth_method":"client_secret_post"}"#;
        let reg: RegistrationResponse = serde_json::from_str(body).unwrap();
        let shown = format!("{reg:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("client-42") && shown.contains("client_secret_post"), "{shown}");
        assert!(shown.contains(r#"client_secret: Some("<redacted>")"#), "{shown}");
    }
}
