//! How an [`Authorizer`](crate::Authorizer) behaves.

use std::sync::Arc;
use std::time::Duration;

use crate::jwt::ClientAssertionKey;
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
}

/// Where the assertion of a [`Grant::JwtBearer`] comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssertionSource {
    /// A JWT the platform gave the workload (workload identity federation).
    Jwt(String),
    /// An Identity Assertion JWT Authorization Grant (ID-JAG) obtained by token
    /// exchange (RFC 8693) at the enterprise identity provider.
    IdJag(IdJagExchange),
}

/// The token exchange that turns an identity provider's ID token into an ID-JAG
/// for the MCP server's authorization server.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Settings of an [`Authorizer`](crate::Authorizer). Start from `Default` and set
/// what you need.
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
        }
    }
}
