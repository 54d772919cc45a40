//! How the authorization-server stand-in is configured.

use std::fmt;

use crate::redact;

/// Where the authorization-server metadata document is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetadataLocation {
    /// `/.well-known/oauth-authorization-server{issuer path}` (RFC 8414).
    #[default]
    OAuth,
    /// `/.well-known/openid-configuration{issuer path}`.
    OidcInserted,
    /// `{issuer path}/.well-known/openid-configuration`.
    OidcAppended,
    /// Nowhere.
    None,
}

/// What the `iss` parameter of the authorization redirect holds (RFC 9207).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IssMode {
    /// The issuer.
    #[default]
    Correct,
    /// Absent.
    Omit,
    /// Another server's issuer.
    Wrong,
    /// The issuer with a trailing slash: equal after URL normalization only.
    Normalized,
}

/// How the authorization-server stand-in behaves. `Debug` redacts the secrets of
/// `pre_registered` clients.
#[derive(Clone)]
pub struct AsConfig {
    /// A path under which the issuer and its endpoints live (`""` or `/tenant1`).
    pub route_prefix: String,
    /// Where the metadata is served.
    pub metadata_location: MetadataLocation,
    /// An `issuer` to publish instead of the real one.
    pub issuer_override: Option<String>,
    /// `authorization_response_iss_parameter_supported`; `None` leaves it out.
    pub iss_parameter_supported: Option<bool>,
    /// The redirect's `iss`.
    pub iss_in_redirect: IssMode,
    /// `token_endpoint_auth_methods_supported`.
    pub token_endpoint_auth_methods: Vec<String>,
    /// Offer Dynamic Client Registration.
    pub registration: bool,
    /// `client_id_metadata_document_supported`.
    pub cimd_supported: bool,
    /// `scopes_supported`, when published.
    pub scopes_supported: Option<Vec<String>>,
    /// `code_challenge_methods_supported`; `None` leaves it out.
    pub pkce_methods: Option<Vec<String>>,
    /// Clients known without registration: id and secret (`None` for public clients).
    pub pre_registered: Vec<(String, Option<String>)>,
    /// Access token lifetime in seconds.
    pub token_lifetime: u64,
    /// The lifetime of every token issued after the first; `None` keeps
    /// `token_lifetime`. Lets a test expire the first token while the ones that
    /// replace it stay valid however slow the machine (a one-second token issued
    /// late in a second would otherwise expire almost at once).
    pub later_token_lifetime: Option<u64>,
    /// An `expires_in` to announce instead of the real lifetime (a client whose
    /// idea of the expiry is wrong, as with clock skew).
    pub expires_in_override: Option<u64>,
    /// Publish this token endpoint instead of the real one.
    pub token_endpoint_override: Option<String>,
    /// Grant only these scopes (of those requested); `None` grants all requested.
    pub grantable_scopes: Option<Vec<String>>,
    /// Clients that authenticate with `private_key_jwt`: id and ES256 public key.
    pub assertion_keys: Vec<(String, Vec<u8>)>,
    /// Accept DPoP proofs (ES256) and bind tokens to their keys.
    pub dpop: bool,
    /// A nonce DPoP proofs at the token endpoint must carry (RFC 9449 §8).
    pub dpop_nonce: Option<String>,
    /// Issuers whose JWTs are accepted as JWT-bearer assertions and as token
    /// exchange subject tokens: issuer and ES256 public key.
    pub trusted_issuers: Vec<(String, Vec<u8>)>,
}

impl Default for AsConfig {
    fn default() -> Self {
        AsConfig {
            route_prefix: String::new(),
            metadata_location: MetadataLocation::OAuth,
            issuer_override: None,
            iss_parameter_supported: Some(true),
            iss_in_redirect: IssMode::Correct,
            token_endpoint_auth_methods: vec!["none".into()],
            registration: true,
            cimd_supported: false,
            scopes_supported: None,
            pkce_methods: Some(vec!["S256".into()]),
            pre_registered: Vec::new(),
            token_lifetime: 3600,
            later_token_lifetime: None,
            expires_in_override: None,
            token_endpoint_override: None,
            grantable_scopes: None,
            assertion_keys: Vec::new(),
            trusted_issuers: Vec::new(),
            dpop: false,
            dpop_nonce: None,
        }
    }
}

impl fmt::Debug for AsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pre_registered: Vec<_> = self.pre_registered.iter().map(|(id, s)| (id, redact::option(s))).collect();
        f.debug_struct("AsConfig")
            .field("route_prefix", &self.route_prefix)
            .field("metadata_location", &self.metadata_location)
            .field("issuer_override", &self.issuer_override)
            .field("iss_parameter_supported", &self.iss_parameter_supported)
            .field("iss_in_redirect", &self.iss_in_redirect)
            .field("token_endpoint_auth_methods", &self.token_endpoint_auth_methods)
            .field("registration", &self.registration)
            .field("cimd_supported", &self.cimd_supported)
            .field("scopes_supported", &self.scopes_supported)
            .field("pkce_methods", &self.pkce_methods)
            .field("pre_registered", &pre_registered)
            .field("token_lifetime", &self.token_lifetime)
            .field("later_token_lifetime", &self.later_token_lifetime)
            .field("expires_in_override", &self.expires_in_override)
            .field("token_endpoint_override", &self.token_endpoint_override)
            .field("grantable_scopes", &self.grantable_scopes)
            .field("assertion_keys", &self.assertion_keys)
            .field("dpop", &self.dpop)
            .field("dpop_nonce", &self.dpop_nonce)
            .field("trusted_issuers", &self.trusted_issuers)
            .finish()
    }
}
