//! The token endpoint: client authentication (RFC 6749 §2.3, RFC 7523), token
//! requests and responses (RFC 6749 §5).

use std::fmt;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use url::Url;
use url::form_urlencoded::byte_serialize;

use crate::OAuthError;
use crate::dpop::DpopKey;
use crate::http::{read_json, send};
use crate::jwt::ClientAssertionKey;
use crate::redact::{self, REDACTED};

/// A client's identity at one authorization server. `Debug` shows whether a
/// secret is set, never the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The `client_id` (a URL for a Client ID Metadata Document).
    pub client_id: String,
    /// The `client_secret`, for confidential clients.
    pub client_secret: Option<String>,
    /// The auth method the registration settled on, when it said.
    pub token_endpoint_auth_method: Option<String>,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &redact::option(&self.client_secret))
            .field("token_endpoint_auth_method", &self.token_endpoint_auth_method)
            .finish()
    }
}

impl ClientCredentials {
    /// Credentials with an id and an optional secret.
    pub fn new(client_id: impl Into<String>, client_secret: Option<String>) -> Self {
        ClientCredentials { client_id: client_id.into(), client_secret, token_endpoint_auth_method: None }
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// HTTP Basic with the form-encoded id and secret.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A public client: only `client_id` in the body.
    None,
    /// A signed JWT assertion (RFC 7523), for client_credentials.
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The method's registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost, AuthMethod::None, AuthMethod::PrivateKeyJwt]
            .into_iter()
            .find(|m| m.as_str() == name)
    }
}

/// Picks the token endpoint auth method: the one the registration named, else the
/// first secret-based method the server lists (its default is
/// `client_secret_basic`, RFC 8414 §2) when we hold a secret, else `none`.
pub fn choose_auth_method(creds: &ClientCredentials, supported: Option<&[String]>) -> Result<AuthMethod, OAuthError> {
    if let Some(m) = creds.token_endpoint_auth_method.as_deref().and_then(AuthMethod::from_name) {
        return Ok(m);
    }
    let default = ["client_secret_basic".to_owned()];
    let list = supported.unwrap_or(&default);
    let has_secret = creds.client_secret.is_some();
    let named: Vec<AuthMethod> = list.iter().filter_map(|n| AuthMethod::from_name(n)).collect();
    if has_secret
        && let Some(m) =
            named.iter().find(|m| matches!(m, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost))
    {
        return Ok(*m);
    }
    if named.contains(&AuthMethod::None) || (supported.is_none() && !has_secret) {
        return Ok(AuthMethod::None);
    }
    Err(OAuthError::NoAuthMethod { supported: list.to_vec() })
}

/// A successful token response (RFC 6749 §5.1). `Debug` redacts the tokens.
#[derive(Clone, Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// A refresh token, when issued.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// The granted scope, when it differs from the requested one.
    #[serde(default)]
    pub scope: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &REDACTED)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &redact::option(&self.refresh_token))
            .field("scope", &self.scope)
            .finish()
    }
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: Option<String>,
    error_description: Option<String>,
}

/// An access token with what we know about it. `Debug` redacts the tokens.
#[derive(Clone)]
pub struct TokenSet {
    /// The access token.
    pub access_token: String,
    /// `Bearer`, or `DPoP` for a token bound to the client's DPoP key.
    pub token_type: String,
    /// The refresh token, when the server issued one.
    pub refresh_token: Option<String>,
    /// When the access token stops working, when the server said.
    pub expires_at: Option<Instant>,
    /// The scopes granted (the response's `scope`, else those requested).
    pub scopes: Vec<String>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &REDACTED)
            .field("token_type", &self.token_type)
            .field("refresh_token", &redact::option(&self.refresh_token))
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl TokenSet {
    /// Builds the set from a response; `requested` stands in for an absent `scope`.
    pub fn from_response(response: TokenResponse, requested: &[String], previous_refresh: Option<String>) -> Self {
        let token_type = if response.token_type.eq_ignore_ascii_case("dpop") { "DPoP" } else { "Bearer" };
        TokenSet {
            access_token: response.access_token,
            token_type: token_type.to_owned(),
            refresh_token: response.refresh_token.or(previous_refresh),
            expires_at: response.expires_in.map(|s| Instant::now() + Duration::from_secs(s)),
            scopes: response.scope.as_deref().map(crate::scope::split).unwrap_or_else(|| requested.to_vec()),
        }
    }

    /// Has the token expired, or will it within `skew`?
    pub fn is_expired(&self, skew: Duration) -> bool {
        self.expires_at.is_some_and(|at| Instant::now() + skew >= at)
    }
}

fn form_encode(s: &str) -> String {
    byte_serialize(s.as_bytes()).collect()
}

/// The error of a token endpoint that refused a request (RFC 6749 §5.2).
pub(crate) async fn rejected(response: reqwest::Response, endpoint: &Url) -> OAuthError {
    let status = response.status().as_u16();
    // An error body too large or unreadable says nothing: the status still does.
    let body = crate::http::bounded_body(response, endpoint, "token error").await.unwrap_or_default();
    let parsed: Option<ErrorResponse> = serde_json::from_slice(&body).ok();
    let (error, description) = parsed.map(|e| (e.error, e.error_description)).unwrap_or((None, None));
    OAuthError::TokenRejected {
        url: endpoint.to_string(),
        status,
        error: error.unwrap_or_else(|| "unknown".into()),
        description,
    }
}

/// How the client proves who it is in one token request.
pub(crate) struct ClientAuth<'a> {
    pub creds: &'a ClientCredentials,
    pub method: AuthMethod,
    pub key: Option<&'a ClientAssertionKey>,
    /// The `aud` of a JWT assertion: the issuer.
    pub issuer: &'a str,
    /// The DPoP key, when tokens are to be bound to it.
    pub dpop: Option<&'a DpopKey>,
}

/// POSTs a token request with client authentication (and a DPoP proof, retried
/// once with the server's nonce when it asks for one) and decodes the answer.
pub(crate) async fn request_token(
    client: &reqwest::Client,
    endpoint: &Url,
    auth: &ClientAuth<'_>,
    mut form: Vec<(&'static str, String)>,
) -> Result<TokenResponse, OAuthError> {
    let mut headers = Vec::new();
    let creds = auth.creds;
    match auth.method {
        AuthMethod::ClientSecretBasic => {
            let secret = creds.client_secret.as_deref().unwrap_or_default();
            let pair = format!("{}:{}", form_encode(&creds.client_id), form_encode(secret));
            headers.push((reqwest::header::AUTHORIZATION, format!("Basic {}", STANDARD.encode(pair))));
        }
        AuthMethod::ClientSecretPost => {
            form.push(("client_id", creds.client_id.clone()));
            form.push(("client_secret", creds.client_secret.clone().unwrap_or_default()));
        }
        AuthMethod::None => form.push(("client_id", creds.client_id.clone())),
        AuthMethod::PrivateKeyJwt => {
            let key = auth.key.ok_or_else(|| OAuthError::InvalidKey("private_key_jwt needs a signing key".into()))?;
            form.push(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into()));
            form.push(("client_assertion", key.assertion(&creds.client_id, auth.issuer)?));
        }
    }
    let mut retried = false;
    let response = loop {
        let mut request = client.post(endpoint.clone()).header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        if let Some(dpop) = auth.dpop {
            request = request.header("DPoP", dpop.proof("POST", endpoint, None)?);
        }
        let response = send(request.form(&form), endpoint).await?;
        let nonce = response.headers().get("dpop-nonce").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let fresh_nonce = match (auth.dpop, &nonce) {
            (Some(dpop), Some(n)) => dpop.set_nonce(endpoint, n),
            _ => false,
        };
        if response.status().is_success() {
            break response;
        }
        let error = rejected(response, endpoint).await;
        let asks_nonce = matches!(&error, OAuthError::TokenRejected { error, .. } if error == "use_dpop_nonce");
        if asks_nonce && fresh_nonce && !retried {
            retried = true;
            continue;
        }
        return Err(error);
    };
    let token: TokenResponse = read_json(response, endpoint, "token response").await?;
    let dpop_bound = auth.dpop.is_some() && token.token_type.eq_ignore_ascii_case("dpop");
    if !token.token_type.eq_ignore_ascii_case("bearer") && !dpop_bound {
        return Err(OAuthError::InvalidDocument {
            url: endpoint.to_string(),
            what: "token response",
            reason: format!("token_type {:?} is not Bearer", token.token_type),
        });
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const SECRET: &str = "s3cr3t-value";

    #[test]
    fn debug_of_client_credentials_redacts_the_secret() {
        let creds = ClientCredentials::new("client-42", Some(SECRET.into()));
        let shown = format!("{creds:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("client-42"), "{shown}");
        assert!(shown.contains(r#"client_secret: Some("<redacted>")"#), "{shown}");

        let public = format!("{:?}", ClientCredentials::new("client-42", None));
        assert!(public.contains("client_secret: None"), "{public}");
    }

    #[test]
    fn debug_of_token_response_redacts_the_tokens() {
        let body = format!(
            r#"{{"access_token":"{SECRET}","token_type":"Bearer","expires_in":60,"refresh_token":"{SECRET}","scope":"read"}}"#
        );
        let response: TokenResponse = serde_json::from_str(&body).unwrap();
        let shown = format!("{response:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains(r#"token_type: "Bearer""#) && shown.contains("read"), "{shown}");
        assert!(shown.contains(r#"refresh_token: Some("<redacted>")"#), "{shown}");
    }

    #[test]
    fn debug_of_token_set_redacts_the_tokens() {
        let response = TokenResponse {
            access_token: SECRET.into(),
            token_type: "dpop".into(),
            expires_in: None,
            refresh_token: None,
            scope: Some("read write".into()),
        };
        let set = TokenSet::from_response(response, &[], Some(SECRET.into()));
        let shown = format!("{set:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains(r#"token_type: "DPoP""#) && shown.contains(r#""write""#), "{shown}");
        assert!(shown.contains(r#"access_token: "<redacted>""#), "{shown}");
        assert!(shown.contains(r#"refresh_token: Some("<redacted>")"#), "{shown}");
    }
}
