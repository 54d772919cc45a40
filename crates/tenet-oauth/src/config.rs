//! How an [`Authorizer`](crate::Authorizer) behaves.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::jwt::ClientAssertionKey;
use crate::redact::{self, REDACTED};
use crate::token::ClientCredentials;

/// The OIDC `application_type` sent with Dynamic Client Registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApplicationType {
    /// A native app (loopback or custom-scheme redirect URIs).
    #[default]
    Native,
    /// A web app (https redirect URIs).
    Web,
}

impl ApplicationType {
    /// `native` or `web`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationType::Native => "native",
            ApplicationType::Web => "web",
        }
    }
}

/// Which OAuth grant obtains tokens.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Grant {
    /// Authorization code with PKCE, through a [`UserAgent`](crate::UserAgent).
    #[default]
    AuthorizationCode,
    /// Client credentials (machine to machine), with `pre_registered` credentials
    /// or an `assertion_key`.
    ClientCredentials,
    /// The JWT bearer grant (RFC 7523 §2.1) with an assertion from `source`:
    /// workload identity federation, or enterprise-managed authorization.
    JwtBearer(AssertionSource),
    /// Token exchange (RFC 8693) on behalf of a user: the user's access token (at
    /// another service, the one they signed in to) buys a token for this resource that
    /// names them, and the user's own token goes no further than the authorization
    /// server. The token is never refreshed: when it expires it is exchanged again, with
    /// the user's token of the moment.
    TokenExchange(SubjectToken),
}

/// The user's token a [`Grant::TokenExchange`] acts for, kept current by its owner
/// ([`SubjectToken::set`]) as the user presents new ones. Clones share one value.
/// `Debug` redacts it; two are equal when they are the same one.
#[derive(Clone, Default)]
pub struct SubjectToken(Arc<std::sync::RwLock<Option<String>>>);

impl SubjectToken {
    /// Holds `token`, the user's token of the moment, in place of the one before.
    pub fn set(&self, token: &str) {
        let mut held = self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.as_deref() != Some(token) {
            *held = Some(token.to_owned());
        }
    }

    /// The token held, if any.
    pub fn current(&self) -> Option<String> {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl fmt::Debug for SubjectToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = if self.current().is_some() { REDACTED } else { "none" };
        f.debug_tuple("SubjectToken").field(&held).finish()
    }
}

impl PartialEq for SubjectToken {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SubjectToken {}

/// Where the assertion of a [`Grant::JwtBearer`] comes from. `Debug` redacts the
/// workload's JWT.
#[derive(Clone, PartialEq, Eq)]
pub enum AssertionSource {
    /// A JWT the platform gave the workload (workload identity federation).
    Jwt(String),
    /// An Identity Assertion JWT Authorization Grant (ID-JAG) obtained by token
    /// exchange (RFC 8693) at the enterprise identity provider.
    IdJag(IdJagExchange),
}

impl fmt::Debug for AssertionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssertionSource::Jwt(_) => f.debug_tuple("Jwt").field(&REDACTED).finish(),
            AssertionSource::IdJag(exchange) => f.debug_tuple("IdJag").field(exchange).finish(),
        }
    }
}

/// The token exchange that turns an identity provider's ID token into an ID-JAG
/// for the MCP server's authorization server. `Debug` redacts the secret and the
/// ID token.
#[derive(Clone, PartialEq, Eq)]
pub struct IdJagExchange {
    /// The identity provider's token endpoint.
    pub token_endpoint: String,
    /// The client's id at the identity provider.
    pub client_id: String,
    /// The client's secret there, if it has one (sent with `client_secret_post`).
    pub client_secret: Option<String>,
    /// The user's ID token from the identity provider.
    pub id_token: String,
}

impl fmt::Debug for IdJagExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdJagExchange")
            .field("token_endpoint", &self.token_endpoint)
            .field("client_id", &self.client_id)
            .field("client_secret", &redact::option(&self.client_secret))
            .field("id_token", &REDACTED)
            .finish()
    }
}

/// Settings of an [`Authorizer`](crate::Authorizer). Start from `Default` and set
/// what you need. `Debug` redacts the secrets the settings hold.
#[derive(Debug, Clone)]
pub struct AuthorizerConfig {
    /// The redirect URI registered for the client.
    pub redirect_uri: String,
    /// `client_name` for Dynamic Client Registration.
    pub client_name: String,
    /// The client's Client ID Metadata Document URL, used as `client_id` when the
    /// server supports such documents.
    pub client_metadata_url: Option<String>,
    /// Credentials registered out of band; they take priority over everything else.
    pub pre_registered: Option<ClientCredentials>,
    /// A signing key for `private_key_jwt` (client credentials grant).
    pub assertion_key: Option<Arc<ClientAssertionKey>>,
    /// `application_type` for Dynamic Client Registration.
    pub application_type: ApplicationType,
    /// The grant to use.
    pub grant: Grant,
    /// Ask for `offline_access` (a refresh token) when the server lists it.
    pub request_offline_access: bool,
    /// Bind tokens to a DPoP key (RFC 9449) when the authorization server accepts
    /// ES256 proofs. The transport must then send
    /// [`Authorizer::request_headers`](crate::Authorizer::request_headers).
    pub use_dpop: bool,
    /// How many authorizations for the same scopes may follow each other without a
    /// request succeeding in between (see [`Authorizer::record_success`](crate::Authorizer::record_success)).
    pub max_attempts: u32,
    /// Timeout of every HTTP request.
    pub timeout: Duration,
    /// Refresh a token this long before it expires.
    pub refresh_skew: Duration,
    /// The one authorization server to use, by its issuer: when the resource names
    /// another (or none, and its origin would stand in), authorization fails rather
    /// than send credentials there. For a grant that presents a user's token
    /// ([`Grant::TokenExchange`]), which must go nowhere the operator did not choose.
    pub authorization_server: Option<String>,
}

impl Default for AuthorizerConfig {
    fn default() -> Self {
        AuthorizerConfig {
            redirect_uri: "http://127.0.0.1/callback".into(),
            client_name: "Tenet".into(),
            client_metadata_url: None,
            pre_registered: None,
            assertion_key: None,
            application_type: ApplicationType::Native,
            grant: Grant::AuthorizationCode,
            request_offline_access: true,
            use_dpop: true,
            max_attempts: 3,
            timeout: Duration::from_secs(10),
            refresh_skew: Duration::from_secs(30),
            authorization_server: None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::Es256Key;

    const SECRET: &str = "s3cr3t-value";

    fn exchange() -> IdJagExchange {
        IdJagExchange {
            token_endpoint: "https://idp.example.com/token".into(),
            client_id: "idp-client".into(),
            client_secret: Some(SECRET.into()),
            id_token: SECRET.into(),
        }
    }

    #[test]
    fn debug_of_id_jag_exchange_redacts_the_secret_and_id_token() {
        let shown = format!("{:?}", exchange());
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("idp-client") && shown.contains("https://idp.example.com/token"), "{shown}");
        assert!(shown.contains(r#"client_secret: Some("<redacted>")"#), "{shown}");
    }

    #[test]
    fn debug_of_jwt_bearer_grant_redacts_the_assertion() {
        let shown = format!("{:?}", Grant::JwtBearer(AssertionSource::Jwt(SECRET.into())));
        assert!(!shown.contains(SECRET), "{shown}");
        assert_eq!(shown, r#"JwtBearer(Jwt("<redacted>"))"#);
    }

    #[test]
    fn debug_of_authorizer_config_redacts_nested_secrets() {
        let pem = Es256Key::generate().unwrap().to_pem();
        let config = AuthorizerConfig {
            pre_registered: Some(ClientCredentials::new("client-42", Some(SECRET.into()))),
            assertion_key: Some(Arc::new(ClientAssertionKey::from_pem(&pem, "ES256").unwrap())),
            grant: Grant::JwtBearer(AssertionSource::IdJag(exchange())),
            ..AuthorizerConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!shown.contains(line), "{shown}");
        }
        assert!(shown.contains("client-42") && shown.contains("idp-client"), "{shown}");
        assert!(shown.contains("http://127.0.0.1/callback"), "{shown}");
    }
}
