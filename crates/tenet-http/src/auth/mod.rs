//! The MCP endpoint as an OAuth 2.1 resource server.
//!
//! - Protected Resource Metadata (RFC 9728) at
//!   `/.well-known/oauth-protected-resource{path}` and at the root form, naming the
//!   authorization server, the scopes, and this server's canonical URI.
//! - Bearer JWTs checked against the issuer's JWKS (the `jwks` module) by the `jsonwebtoken`
//!   crate: signature (ES256 or RS256 only), `iss`, `aud` = the canonical URI (no
//!   passthrough of tokens meant for others), `exp`/`nbf` with a small leeway. Tokens
//!   in the query string are refused.
//! - Or static API keys ([`ApiKey`]), each with its scopes, compared in constant time.
//! - 401 `WWW-Authenticate: Bearer resource_metadata="…", scope="…"` without a valid
//!   credential, 403 `error="insufficient_scope"` when a scope is missing (step-up).
//!
//! The caller's scopes go to the server as a [`Grant`] in the request's extensions;
//! the server hides and refuses what the grant does not cover. `/health`, `/ready`
//! and the metadata stay open.

mod api_key;
mod error;
mod jwks;
pub(crate) mod jwt;
mod layer;
mod ring_verify;
mod verified;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, Uri};
use serde_json::json;
use tenet_server::{Grant, Principal};

pub use api_key::ApiKey;
pub use error::{AuthError, TokenError};
pub use jwt::Algorithm;
pub(crate) use layer::{finish, metadata_paths, metadata_router, refusal};

use jwks::{Jwks, KeySource};
use jwt::{Expectations, Unverified};
use verified::Verified;

/// How many verified tokens are remembered (see [`verified`]).
const VERIFIED_TOKENS: usize = 10_000;

/// How the endpoint checks its callers.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// This server's canonical URI, e.g. `https://mcp.example.com/mcp`: the `resource`
    /// of the metadata and the audience every token must name.
    pub resource: String,
    /// The authorization server (issuer) whose JWTs are accepted; `None` for API keys only.
    pub issuer: Option<String>,
    /// Where the issuer's keys are; `None` reads `jwks_uri` from its RFC 8414 metadata.
    pub jwks_url: Option<String>,
    /// Scopes every request needs (also the `scope` of the 401 challenge).
    pub required_scopes: Vec<String>,
    /// `scopes_supported` of the metadata.
    pub scopes_supported: Vec<String>,
    /// Static API keys / bearer tokens.
    pub api_keys: Vec<ApiKey>,
    /// Accepted signature algorithms (default ES256 and RS256).
    pub algorithms: Vec<Algorithm>,
    /// Clock skew allowed on `exp` and `nbf` (default 30 s).
    pub leeway: Duration,
    /// How long one JWKS fetch may take (default 5 s).
    pub jwks_timeout: Duration,
    /// The least time between JWKS fetches caused by unknown keys (default 30 s).
    pub jwks_min_refetch: Duration,
    /// How long fetched keys are used before being fetched again (default 1 h).
    pub jwks_max_age: Duration,
    /// Whether a verified token is kept with its caller's grant
    /// ([`tenet_server::Grant::presented_token`]), for a gateway that exchanges it for a
    /// token of the caller's at an upstream (default off: handlers never see it).
    pub keep_presented_tokens: bool,
}

impl AuthConfig {
    /// Settings for the server at `resource`, with the defaults above and no credentials yet.
    pub fn new(resource: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            issuer: None,
            jwks_url: None,
            required_scopes: Vec::new(),
            scopes_supported: Vec::new(),
            api_keys: Vec::new(),
            algorithms: vec![Algorithm::Es256, Algorithm::Rs256],
            leeway: Duration::from_secs(30),
            jwks_timeout: Duration::from_secs(5),
            jwks_min_refetch: Duration::from_secs(30),
            jwks_max_age: Duration::from_secs(3600),
            keep_presented_tokens: false,
        }
    }
}

/// A ready authorization check: its settings and the issuer's cached keys. Put it in
/// [`crate::HttpConfig::auth`]; clones share the key cache.
#[derive(Debug)]
pub struct Auth {
    config: AuthConfig,
    /// The issuer's keys, and what its tokens' claims must say.
    issuer: Option<(Jwks, Expectations)>,
    verified: Verified,
    /// The API keys by the digest of their secrets.
    keys: api_key::KeyIndex,
    metadata_url: String,
    metadata_path: String,
}

impl Auth {
    /// Checks `config` and prepares the key cache (nothing is fetched yet).
    ///
    /// # Errors
    /// A resource that is not an absolute http(s) URI, no issuer and no API key, or
    /// an HTTP client that cannot be built.
    pub fn new(config: AuthConfig) -> Result<Arc<Self>, AuthError> {
        let uri: Uri = config.resource.parse().map_err(|_| AuthError::Resource(config.resource.clone()))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(AuthError::Resource(config.resource));
        };
        if !matches!(scheme, "http" | "https") || uri.query().is_some() || config.resource.contains('#') {
            return Err(AuthError::Resource(config.resource));
        }
        if config.issuer.is_none() && config.api_keys.is_empty() {
            return Err(AuthError::Nothing);
        }
        let path = uri.path().trim_end_matches('/');
        let metadata_path = format!("/.well-known/oauth-protected-resource{path}");
        let metadata_url = format!("{scheme}://{authority}{metadata_path}");
        let issuer = match &config.issuer {
            None => None,
            Some(issuer) => {
                let source = match &config.jwks_url {
                    Some(url) => KeySource::Jwks(url.clone()),
                    None => KeySource::Issuer(issuer.clone()),
                };
                let jwks = Jwks::new(source, config.jwks_timeout, config.jwks_min_refetch, config.jwks_max_age)
                    .map_err(AuthError::Client)?;
                Some((jwks, Expectations::new(issuer, &config.resource, &config.algorithms, config.leeway)))
            }
        };
        let keys = api_key::KeyIndex::new(&config.api_keys);
        Ok(Arc::new(Self {
            config,
            issuer,
            verified: Verified::new(VERIFIED_TOKENS),
            keys,
            metadata_url,
            metadata_path,
        }))
    }

    /// The settings.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// The absolute URL of the Protected Resource Metadata.
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The Protected Resource Metadata document (RFC 9728).
    pub fn metadata(&self) -> serde_json::Value {
        let mut doc = json!({
            "resource": self.config.resource,
            "bearer_methods_supported": ["header"],
        });
        if let Some(issuer) = &self.config.issuer {
            doc["authorization_servers"] = json!([issuer]);
            let algs: Vec<&str> = self.config.algorithms.iter().map(|a| a.name()).collect();
            doc["resource_signing_alg_values_supported"] = json!(algs);
        }
        if !self.config.scopes_supported.is_empty() {
            doc["scopes_supported"] = json!(self.config.scopes_supported);
        }
        doc
    }

    /// The OpenAPI security scheme of these settings: a bearer token in `Authorization`
    /// (an API key, or a JWT from the issuer), described with where to learn more.
    pub fn openapi_scheme(&self) -> serde_json::Value {
        let mut description = match &self.config.issuer {
            Some(issuer) => format!("A JWT access token issued by {issuer} for {}", self.config.resource),
            None => "An API key".to_owned(),
        };
        if self.config.issuer.is_some() && !self.config.api_keys.is_empty() {
            description.push_str(", or an API key");
        }
        description.push_str(&format!(". Protected Resource Metadata: {}", self.metadata_url));
        if !self.config.required_scopes.is_empty() {
            description
                .push_str(&format!(". Every request needs the scopes {}", self.config.required_scopes.join(" ")));
        }
        let mut scheme = json!({ "type": "http", "scheme": "bearer", "description": description });
        if self.config.issuer.is_some() && self.config.api_keys.is_empty() {
            scheme["bearerFormat"] = json!("JWT");
        }
        scheme
    }

    /// Who is calling, and with which scopes: from the `Authorization` header, or, for
    /// a WebSocket upgrade without one (browsers cannot set headers there), from a
    /// `mcp.auth.<token>` subprotocol offered beside `mcp`.
    /// A JWT whose signature and claims checked out is remembered until it
    /// expires or the key set changes, so its next requests skip the signature check.
    ///
    /// # Errors
    /// Why the credentials were refused.
    pub async fn authenticate(&self, headers: &HeaderMap, uri: &Uri) -> Result<Arc<Grant>, TokenError> {
        if uri.query().is_some_and(query_has_token) {
            return Err(TokenError::InQuery);
        }
        let token = match bearer(headers) {
            Err(TokenError::Missing) if crate::headers::is_upgrade(headers) => {
                crate::headers::subprotocol_token(headers).ok_or(TokenError::Missing)?
            }
            other => other?,
        };
        if let Some(key) = self.keys.find(&self.config.api_keys, token) {
            return Ok(key.grant().clone());
        }
        let Some((jwks, expect)) = &self.issuer else {
            return Err(TokenError::Unknown);
        };
        let now = jwt::now_secs();
        if let Some(generation) = jwks.fresh_generation()
            && let Some(grant) = self.verified.get(token, generation, now)
        {
            return Ok(grant);
        }
        let unverified = Unverified::parse(token, &self.config.algorithms)?;
        let (key, generation) = jwks.key(unverified.kid.as_deref(), unverified.alg).await?;
        let claims = unverified.verify(&key, expect)?;
        let granted = jwt::granted(&claims, expect)?;
        // The issuer is the one configured: `verify` checked the token names it.
        let issuer = self.config.issuer.clone().unwrap_or_default();
        let principal = match granted.subject {
            Some(subject) => Principal::Token { issuer, subject },
            // No subject: the token is its own caller, sharing nothing with another.
            None => Principal::Unnamed {
                digest: tenet_server::hex(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref()),
            },
        };
        let mut grant = Grant::from_scope_string(&granted.scope).with_principal(principal);
        if self.config.keep_presented_tokens {
            // A gateway in this server exchanges it for the caller's token at an upstream.
            grant = grant.with_presented_token(token);
        }
        let grant = Arc::new(grant);
        self.verified.insert(token, grant.clone(), granted.window, generation, now);
        Ok(grant)
    }
}

/// Whether a query string carries an access token (RFC 6750 §2.3), which we refuse.
pub(crate) fn query_has_token(query: &str) -> bool {
    query.split('&').any(|pair| pair.split('=').next().is_some_and(|k| k.eq_ignore_ascii_case("access_token")))
}

/// The token of the single `Authorization: Bearer` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, TokenError> {
    let mut values = headers.get_all(axum::http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else { return Err(TokenError::Missing) };
    if values.next().is_some() {
        return Err(TokenError::BadHeader("more than one Authorization header"));
    }
    let value = value.to_str().map_err(|_| TokenError::BadHeader("not visible ASCII"))?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::BadHeader("expected `Bearer <token>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::Missing);
    }
    let token = token.trim_matches(' ');
    if token.is_empty() || token.contains(' ') {
        return Err(TokenError::BadHeader("expected `Bearer <token>`"));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_well_formed_bearer_header_is_read() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), Err(TokenError::Missing));
        headers.insert("authorization", "bearer abc".parse().unwrap());
        assert_eq!(bearer(&headers), Ok("abc"));
        headers.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), Err(TokenError::Missing));
        headers.insert("authorization", "Bearer a b".parse().unwrap());
        assert!(matches!(bearer(&headers), Err(TokenError::BadHeader(_))));
        headers.insert("authorization", "Bearer abc".parse().unwrap());
        headers.append("authorization", "Bearer def".parse().unwrap());
        assert!(matches!(bearer(&headers), Err(TokenError::BadHeader(_))));
    }

    #[test]
    fn the_query_string_is_searched_for_tokens() {
        assert!(query_has_token("a=1&access_token=x"));
        assert!(query_has_token("ACCESS_TOKEN=x"));
        assert!(!query_has_token("token_access=x&b"));
    }

    #[test]
    fn settings_are_checked() {
        let keys = vec![ApiKey::new("k", "0123456789abcdef", ["s"])];
        let ok =
            Auth::new(AuthConfig { api_keys: keys.clone(), ..AuthConfig::new("https://mcp.example/mcp/") }).unwrap();
        assert_eq!(ok.metadata_url(), "https://mcp.example/.well-known/oauth-protected-resource/mcp");
        for bad in ["/mcp", "ftp://x/mcp", "https://x/mcp?a=1", "https://x/mcp#f"] {
            let config = AuthConfig { api_keys: keys.clone(), ..AuthConfig::new(bad) };
            assert!(matches!(Auth::new(config), Err(AuthError::Resource(_))), "{bad}");
        }
        assert!(matches!(Auth::new(AuthConfig::new("https://x/mcp")), Err(AuthError::Nothing)));
    }
}
