//! OAuth 2.1 client for protected MCP servers, with no MCP dependency.
//!
//! An HTTP transport holds one [`Authorizer`]. Before each request it adds
//! [`Authorizer::request_headers`] (`Authorization`, and a `DPoP` proof for a
//! DPoP-bound token); after each answer it calls [`Authorizer::on_response`] and
//! sends the request again when that returns `true`. ([`Authorizer::authorization`]
//! and [`Authorizer::on_challenge`] are the same for transports that only handle
//! the `Authorization` header and 401/403.) Behind those calls:
//!
//! - **Discovery**: Protected Resource Metadata (RFC 9728) from the challenge's
//!   `resource_metadata`, else the path-inserted then the root well-known URI; its
//!   `resource` must name the server. Authorization-server metadata by RFC 8414 and
//!   OpenID Connect discovery in the MCP spec's order; its `issuer` must equal the
//!   issuer it was fetched for. A 2025-03-26 server without resource metadata is its
//!   own authorization server, with `/authorize`, `/token` and `/register` as
//!   defaults when it has no metadata either.
//! - **Registration**: pre-registered credentials, else a Client ID Metadata
//!   Document URL as `client_id` when the server supports it, else Dynamic Client
//!   Registration with `application_type`. Identities are kept per issuer, so a
//!   resource that moves to another authorization server gets a fresh registration.
//! - **Grant**: authorization code with PKCE S256 and `state`, through a pluggable
//!   [`UserAgent`] ([`LoopbackUserAgent`] sends a person's browser and listens on
//!   loopback for its return; [`HeadlessUserAgent`] reads the redirect without a
//!   browser); the
//!   RFC 8707 `resource` in the authorization and token requests; RFC 9207 `iss`
//!   checked by exact comparison. Or client credentials with a secret or a
//!   `private_key_jwt` assertion.
//! - **Token endpoint auth**: `client_secret_basic`, `client_secret_post` or `none`,
//!   from the registration and the server's list. Endpoints must be https unless
//!   they are on a loopback host.
//! - **Scopes**: the challenge's `scope`, else the resource's `scopes_supported`,
//!   else none; `offline_access` when the authorization server lists it; step-up on
//!   403 `insufficient_scope` with the union of the old and new scopes, at most
//!   [`AuthorizerConfig::max_attempts`] times for the same scopes.
//! - **Refresh**: an expired token is refreshed before it is handed out.
//! - **More grants**: the JWT bearer grant with a workload's JWT or with an ID-JAG
//!   from token exchange at an enterprise identity provider ([`Grant::JwtBearer`]).
//! - **DPoP** (RFC 9449): when the authorization server takes ES256 proofs, tokens
//!   are bound to a per-client key, every request carries a fresh proof, and the
//!   nonces servers ask for are used.
//!
//! Every request has a timeout ([`AuthorizerConfig::timeout`]) and redirects are
//! never followed, so a server that is down or slow ends in a clear
//! [`OAuthError`], not a hang.
//!
//! Below, the transport is a bare `reqwest` loop and the protected server and its
//! authorization server are the loopback stand-ins of `test_support`:
//!
//! ```
//! use tenet_oauth::test_support::{AsConfig, AuthServer, ResourceConfig, ResourceServer};
//! use tenet_oauth::{Authorizer, AuthorizerConfig};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let auth = AuthServer::start(AsConfig::default()).await.unwrap();
//! let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
//! let url = resource.url();
//!
//! let authorizer = Authorizer::new(AuthorizerConfig::default()).unwrap();
//! let http = reqwest::Client::new(); // Authorizer::new installed the TLS provider
//! let status = loop {
//!     let mut request = http.get(&url);
//!     for (name, value) in authorizer.request_headers("GET", &url).await {
//!         request = request.header(name, value);
//!     }
//!     let response = request.send().await.unwrap();
//!     let status = response.status().as_u16();
//!     if authorizer.on_response(&url, status, response.headers()).await.unwrap() {
//!         continue; // authorized: send the request again
//!     }
//!     break status;
//! };
//! assert_eq!(status, 200);
//! # });
//! ```
//!
//! The `test-support` feature adds `test_support`, a loopback authorization
//! server and protected resource that issue and check ES256-signed JWTs.

mod assertion;
mod authorizer;
mod challenge;
mod config;
pub mod conformance;
mod dpop;
mod error;
mod flow;
mod http;
mod jwt;
mod loopback;
mod metadata;
mod pkce;
mod redact;
mod registration;
pub mod scope;
mod token;
mod user_agent;

#[cfg(feature = "test-support")]
pub mod test_support;

pub use authorizer::Authorizer;
pub use challenge::{BearerChallenge, Challenge, parse_www_authenticate};
pub use config::{ApplicationType, AssertionSource, AuthorizerConfig, Grant, IdJagExchange, SubjectToken};
pub use dpop::{DpopKey, htu};
pub use error::OAuthError;
pub use flow::check_redirect;
pub use http::{install_crypto_provider, is_loopback, require_secure};
pub use jwt::{ClientAssertionKey, Es256Key, jwk_public_key, jwk_thumbprint, now_secs, verify_es256};
pub use loopback::{LoopbackUserAgent, Opener};
pub use metadata::{
    ResourceMetadata, ServerMetadata, canonical_resource, default_server_metadata, discover_resource_metadata,
    discover_server_metadata, origin_issuer, resource_matches, resource_metadata_urls, server_metadata_urls,
};
pub use pkce::{Pkce, random_string, s256};
pub use registration::RegistrationKind;
pub use token::{AuthMethod, ClientCredentials, TokenResponse, TokenSet, choose_auth_method};
pub use user_agent::{BoxFuture, HeadlessUserAgent, UserAgent};
