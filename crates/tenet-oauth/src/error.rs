//! The crate's error type.

use thiserror::Error;

/// Everything that can go wrong while authorizing against a protected resource.
///
/// Every variant names the URL or value at fault, so the message alone tells an
/// operator what to fix.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// A `WWW-Authenticate` header that does not follow RFC 9110 §11.6.1.
    #[error("malformed WWW-Authenticate header at byte {position}: {reason}")]
    MalformedChallenge {
        /// Byte offset where parsing stopped.
        position: usize,
        /// What was expected there.
        reason: &'static str,
    },
    /// A URL that does not parse, or that cannot serve as a base for discovery.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The offending text.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// An endpoint that would carry codes or credentials over plain HTTP to a
    /// host that is not loopback.
    #[error("refusing non-https {what} {url} (only loopback hosts may use http)")]
    InsecureEndpoint {
        /// Which endpoint (`token endpoint`, `authorization endpoint`, …).
        what: &'static str,
        /// The endpoint's URL.
        url: String,
    },
    /// The request never got an answer: connection refused, timeout, TLS failure.
    #[error("request to {url} failed: {source}")]
    Network {
        /// The URL that was requested.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// A metadata or registration endpoint answered with an unexpected status.
    #[error("{url} answered HTTP {status}")]
    UnexpectedStatus {
        /// The URL that was requested.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// A response body that is not the JSON document we expected.
    #[error("{url} returned an invalid {what}: {reason}")]
    InvalidDocument {
        /// The URL that was requested.
        url: String,
        /// What the document should have been.
        what: &'static str,
        /// The decoding error.
        reason: String,
    },
    /// No Protected Resource Metadata and no way to fall back.
    #[error("no protected resource metadata found for {resource} (tried {tried:?})")]
    NoResourceMetadata {
        /// The protected resource.
        resource: String,
        /// Every URL that was tried.
        tried: Vec<String>,
    },
    /// The metadata's `resource` is not the server we are talking to (RFC 9728 §3.3).
    #[error("protected resource metadata names resource {found:?}, but the server is {expected:?}")]
    ResourceMismatch {
        /// The server's canonical URI.
        expected: String,
        /// The `resource` in the metadata.
        found: String,
    },
    /// Protected Resource Metadata that lists no authorization server.
    #[error("protected resource metadata at {url} lists no authorization server")]
    NoAuthorizationServer {
        /// Where the metadata came from.
        url: String,
    },
    /// No authorization-server metadata at any of the well-known URLs.
    #[error("no authorization server metadata for issuer {issuer} (tried {tried:?})")]
    NoServerMetadata {
        /// The issuer identifier.
        issuer: String,
        /// Every URL that was tried.
        tried: Vec<String>,
    },
    /// Authorization-server metadata whose `issuer` is not the one it was fetched for
    /// (RFC 8414 §3.3).
    #[error("authorization server metadata at {url} claims issuer {found:?}, expected {expected:?}")]
    IssuerMismatch {
        /// Where the metadata came from.
        url: String,
        /// The issuer the well-known URL was built from.
        expected: String,
        /// The `issuer` in the document.
        found: String,
    },
    /// The authorization server does not advertise PKCE with S256.
    #[error("authorization server {issuer} does not support PKCE S256")]
    PkceUnsupported {
        /// The issuer.
        issuer: String,
    },
    /// Neither pre-registered credentials, a Client ID Metadata Document nor
    /// dynamic registration is available for this authorization server.
    #[error("no way to register a client with {issuer}: no pre-registered credentials, CIMD or registration endpoint")]
    NoRegistration {
        /// The issuer.
        issuer: String,
    },
    /// None of the token endpoint authentication methods the server supports can be
    /// used with our credentials.
    #[error("no usable token endpoint auth method: server supports {supported:?}")]
    NoAuthMethod {
        /// What the server advertised.
        supported: Vec<String>,
    },
    /// The authorization redirect carried an `error` (RFC 6749 §4.1.2.1).
    #[error("authorization denied: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    AuthorizationDenied {
        /// The `error` code.
        error: String,
        /// The `error_description`, when given.
        description: Option<String>,
    },
    /// The authorization redirect was not what we asked for.
    #[error("invalid authorization response: {0}")]
    InvalidRedirect(String),
    /// The `iss` on the redirect is missing or not the authorization server's (RFC 9207).
    #[error("authorization response issuer {found:?} does not match {expected:?}")]
    IssMismatch {
        /// The recorded issuer.
        expected: String,
        /// The `iss` parameter, or `None` when it was required but absent.
        found: Option<String>,
    },
    /// The token endpoint refused the request (RFC 6749 §5.2).
    #[error("token endpoint {url} refused the request (HTTP {status}): {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    TokenRejected {
        /// The token endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The `error` code, or `unknown` when the body had none.
        error: String,
        /// The `error_description`, when given.
        description: Option<String>,
    },
    /// The resource named an authorization server other than the one configured
    /// ([`AuthorizerConfig::authorization_server`](crate::AuthorizerConfig::authorization_server)).
    #[error(
        "the resource names authorization server {found:?}, not the configured {expected:?}: refusing to send credentials there"
    )]
    UnexpectedAuthorizationServer {
        /// The configured issuer.
        expected: String,
        /// The issuer discovery found.
        found: String,
    },
    /// A [`Grant::TokenExchange`](crate::Grant::TokenExchange) has no user's token to
    /// exchange.
    #[error("token exchange needs the user's token, and none is held")]
    NoSubjectToken,
    /// The user agent could not complete the authorization step.
    #[error("user agent failed: {0}")]
    UserAgent(String),
    /// A client assertion key that cannot be used (client_credentials with private_key_jwt).
    #[error("invalid client assertion key: {0}")]
    InvalidKey(String),
    /// The system's random number generator failed.
    #[error("random number generator failed: {0}")]
    Random(String),
}
