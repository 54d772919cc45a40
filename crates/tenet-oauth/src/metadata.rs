//! Discovery: Protected Resource Metadata (RFC 9728) and authorization-server
//! metadata (RFC 8414 and OpenID Connect Discovery), in the order the MCP
//! authorization spec fixes.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::OAuthError;
use crate::http::{Fetched, get_json, parse_url};

/// Protected Resource Metadata (RFC 9728 §2), the fields a client uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceMetadata {
    /// The resource's identifier; must match the server being accessed.
    pub resource: String,
    /// Issuer identifiers of the authorization servers that protect it.
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    /// Scopes the resource understands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
}

/// Authorization-server metadata (RFC 8414 §2 and RFC 9207 §3), the fields a
/// client uses. Unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerMetadata {
    /// The issuer identifier; equals the identifier the document was fetched for.
    pub issuer: String,
    /// Where the user agent is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// Where codes and refresh tokens are exchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// Dynamic Client Registration (RFC 7591), when offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// Scopes the server issues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// Grant types the server accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// Client authentication methods at the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// PKCE methods; must include `S256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Whether URL client IDs (Client ID Metadata Documents) are accepted.
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
    /// DPoP proof algorithms the server accepts (RFC 9449 §5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// Whether the authorization response carries `iss` (RFC 9207).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// The URL with only its origin kept and `path` set.
fn at_path(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    url.set_path(path);
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// The URL's path without a trailing slash (`""` for the root).
fn trimmed_path(url: &Url) -> &str {
    url.path().trim_end_matches('/')
}

/// Where to look for a resource's metadata when the challenge does not say:
/// the path-inserted well-known URI first, then the root one (RFC 9728 §3.1).
pub fn resource_metadata_urls(resource: &Url) -> Vec<Url> {
    const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
    let path = trimmed_path(resource);
    let mut urls = Vec::new();
    if !path.is_empty() {
        urls.push(at_path(resource, &format!("{WELL_KNOWN}{path}")));
    }
    urls.push(at_path(resource, WELL_KNOWN));
    urls
}

/// Where to look for an issuer's metadata, in the MCP spec's order: RFC 8414 with
/// path insertion, OIDC with path insertion, OIDC with path appending; for an
/// issuer without a path, the two root documents.
pub fn server_metadata_urls(issuer: &Url) -> Vec<Url> {
    const OAUTH: &str = "/.well-known/oauth-authorization-server";
    const OIDC: &str = "/.well-known/openid-configuration";
    let path = trimmed_path(issuer);
    if path.is_empty() {
        return vec![at_path(issuer, OAUTH), at_path(issuer, OIDC)];
    }
    vec![
        at_path(issuer, &format!("{OAUTH}{path}")),
        at_path(issuer, &format!("{OIDC}{path}")),
        at_path(issuer, &format!("{path}{OIDC}")),
    ]
}

/// The resource identifier for `server` when no metadata names one: the URL
/// without fragment, and without the lone `/` of an empty path.
pub fn canonical_resource(server: &Url) -> String {
    let mut url = server.clone();
    url.set_fragment(None);
    let text = url.to_string();
    if url.path() == "/" && url.query().is_none() { text.trim_end_matches('/').to_owned() } else { text }
}

/// The origin of `url` as an issuer identifier (`scheme://host[:port]`), used as
/// the authorization server of a 2025-03-26 server that publishes no metadata.
pub fn origin_issuer(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Does the metadata's `resource` identify `server`? Same scheme, host and port,
/// and a path that is `server`'s path or a parent of it at a segment boundary.
pub fn resource_matches(server: &Url, resource: &str) -> bool {
    let Ok(resource) = Url::parse(resource) else { return false };
    if resource.scheme() != server.scheme()
        || resource.host_str() != server.host_str()
        || resource.port_or_known_default() != server.port_or_known_default()
        || resource.fragment().is_some()
    {
        return false;
    }
    let (rp, sp) = (trimmed_path(&resource), trimmed_path(server));
    rp.is_empty() || sp == rp || sp.strip_prefix(rp).is_some_and(|rest| rest.starts_with('/'))
}

/// Fetches the Protected Resource Metadata for `server`: from the challenge's
/// `resource_metadata` URL when given, else from the well-known URIs. `Ok(None)`
/// means no metadata anywhere (a 2025-03-26 server).
pub async fn discover_resource_metadata(
    client: &reqwest::Client,
    server: &Url,
    from_challenge: Option<&str>,
) -> Result<Option<(Url, ResourceMetadata)>, OAuthError> {
    let mut candidates = Vec::new();
    if let Some(url) = from_challenge {
        candidates.push(parse_url(url)?);
    }
    candidates.extend(resource_metadata_urls(server));
    for url in candidates {
        if let Fetched::Found(doc) = get_json::<ResourceMetadata>(client, &url, "protected resource metadata").await? {
            tracing::debug!(%url, "protected resource metadata found");
            return Ok(Some((url, doc)));
        }
    }
    Ok(None)
}

/// Fetches the metadata of the authorization server `issuer`, trying each
/// well-known URL in order. The document's `issuer` must equal `issuer` exactly,
/// else it is refused. `Ok(None)` means no document at any URL.
pub async fn discover_server_metadata(
    client: &reqwest::Client,
    issuer: &str,
) -> Result<Option<ServerMetadata>, OAuthError> {
    let issuer_url = parse_url(issuer)?;
    for url in server_metadata_urls(&issuer_url) {
        if let Fetched::Found(doc) = get_json::<ServerMetadata>(client, &url, "authorization server metadata").await? {
            if doc.issuer != issuer {
                return Err(OAuthError::IssuerMismatch {
                    url: url.to_string(),
                    expected: issuer.to_owned(),
                    found: doc.issuer,
                });
            }
            tracing::debug!(%url, "authorization server metadata found");
            return Ok(Some(doc));
        }
    }
    Ok(None)
}

/// Metadata for a 2025-03-26 server without any: the default endpoints
/// `/authorize`, `/token` and `/register` at the issuer's origin.
pub fn default_server_metadata(issuer: &str) -> Result<ServerMetadata, OAuthError> {
    let base = parse_url(issuer)?;
    Ok(ServerMetadata {
        issuer: issuer.to_owned(),
        authorization_endpoint: Some(at_path(&base, "/authorize").to_string()),
        token_endpoint: Some(at_path(&base, "/token").to_string()),
        registration_endpoint: Some(at_path(&base, "/register").to_string()),
        code_challenge_methods_supported: Some(vec!["S256".into()]),
        ..ServerMetadata::default()
    })
}

/// What discovery found out about a protected resource.
#[derive(Debug, Clone)]
pub(crate) struct Discovery {
    /// The `resource` parameter to send (RFC 8707).
    pub resource: String,
    /// The authorization server's issuer identifier.
    pub issuer: String,
    /// Its metadata (or the 2025-03-26 defaults).
    pub metadata: ServerMetadata,
    /// `scopes_supported` of the Protected Resource Metadata.
    pub resource_scopes: Option<Vec<String>>,
    /// No Protected Resource Metadata: a 2025-03-26 server.
    pub legacy: bool,
}
