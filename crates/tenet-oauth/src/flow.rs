//! One authorization: discovery of the resource's authorization server, then the
//! authorization code (PKCE), client credentials, JWT bearer or token exchange grant.

use url::Url;

use crate::assertion;
use crate::challenge::BearerChallenge;
use crate::config::Grant;
use crate::dpop::DpopKey;
use crate::http::{parse_url, require_secure};
use crate::metadata::{
    Discovery, ServerMetadata, canonical_resource, default_server_metadata, discover_resource_metadata,
    discover_server_metadata, origin_issuer, resource_matches, server_metadata_urls,
};
use crate::pkce::{Pkce, random_string};
use crate::token::{AuthMethod, ClientAuth, ClientCredentials, TokenResponse, choose_auth_method, request_token};
use crate::{AuthorizerConfig, OAuthError, UserAgent};

/// Finds the authorization server for `server` and checks its metadata.
pub(crate) async fn discover(
    client: &reqwest::Client,
    server: &Url,
    challenge: &BearerChallenge,
) -> Result<Discovery, OAuthError> {
    let prm = discover_resource_metadata(client, server, challenge.resource_metadata.as_deref()).await?;
    let (resource, issuer, resource_scopes, legacy) = match prm {
        Some((url, doc)) => {
            if !resource_matches(server, &doc.resource) {
                return Err(OAuthError::ResourceMismatch { expected: canonical_resource(server), found: doc.resource });
            }
            let issuer = doc
                .authorization_servers
                .first()
                .cloned()
                .ok_or_else(|| OAuthError::NoAuthorizationServer { url: url.to_string() })?;
            (doc.resource, issuer, doc.scopes_supported, false)
        }
        None => (canonical_resource(server), origin_issuer(server), None, true),
    };
    let metadata = match discover_server_metadata(client, &issuer).await? {
        Some(m) => m,
        None if legacy => default_server_metadata(&issuer)?,
        None => {
            let tried = server_metadata_urls(&parse_url(&issuer)?).iter().map(Url::to_string).collect();
            return Err(OAuthError::NoServerMetadata { issuer, tried });
        }
    };
    Ok(Discovery { resource, issuer, metadata, resource_scopes, legacy })
}

/// The token endpoint, checked to be https or loopback.
pub(crate) fn token_endpoint(meta: &ServerMetadata) -> Result<Url, OAuthError> {
    let text = meta.token_endpoint.as_deref().ok_or_else(|| OAuthError::InvalidDocument {
        url: meta.issuer.clone(),
        what: "authorization server metadata",
        reason: "no token_endpoint".into(),
    })?;
    let url = parse_url(text)?;
    require_secure("token endpoint", &url)?;
    Ok(url)
}

/// Everything one grant needs.
pub(crate) struct GrantInput<'a> {
    pub http: &'a reqwest::Client,
    pub config: &'a AuthorizerConfig,
    pub user_agent: &'a dyn UserAgent,
    pub discovery: &'a Discovery,
    pub creds: &'a ClientCredentials,
    pub scope: Option<String>,
    pub dpop: Option<&'a DpopKey>,
}

/// Runs the configured grant and returns the token response and the auth method used.
pub(crate) async fn run_grant(input: &GrantInput<'_>) -> Result<(TokenResponse, AuthMethod), OAuthError> {
    let meta = &input.discovery.metadata;
    let token_url = token_endpoint(meta)?;
    let method = match (&input.config.grant, &input.config.assertion_key) {
        (Grant::ClientCredentials, Some(_)) => AuthMethod::PrivateKeyJwt,
        _ => choose_auth_method(input.creds, meta.token_endpoint_auth_methods_supported.as_deref())?,
    };
    let auth = ClientAuth {
        creds: input.creds,
        method,
        key: input.config.assertion_key.as_deref(),
        issuer: &input.discovery.issuer,
        dpop: input.dpop,
    };
    let mut form = match &input.config.grant {
        Grant::AuthorizationCode => authorization_code(input).await?,
        Grant::ClientCredentials => vec![("grant_type", "client_credentials".to_owned())],
        Grant::JwtBearer(source) => {
            let assertion = assertion::obtain(input.http, source, input.discovery).await?;
            vec![("grant_type", assertion::JWT_BEARER.to_owned()), ("assertion", assertion)]
        }
        Grant::TokenExchange(subject) => {
            let token = subject.current().ok_or(OAuthError::NoSubjectToken)?;
            vec![
                ("grant_type", assertion::TOKEN_EXCHANGE.to_owned()),
                ("subject_token", token),
                ("subject_token_type", assertion::ACCESS_TOKEN_TYPE.to_owned()),
                ("requested_token_type", assertion::ACCESS_TOKEN_TYPE.to_owned()),
            ]
        }
    };
    if !matches!(input.config.grant, Grant::AuthorizationCode)
        && let Some(scope) = &input.scope
    {
        form.push(("scope", scope.clone()));
    }
    form.push(("resource", input.discovery.resource.clone()));
    let response = request_token(input.http, &token_url, &auth, form).await?;
    Ok((response, method))
}

/// The user-agent leg: builds the authorization URL, sends the user agent, checks
/// the redirect, and returns the token request form for the code.
async fn authorization_code(input: &GrantInput<'_>) -> Result<Vec<(&'static str, String)>, OAuthError> {
    let d = input.discovery;
    let meta = &d.metadata;
    let supports_s256 = meta.code_challenge_methods_supported.as_ref().is_some_and(|m| m.iter().any(|x| x == "S256"));
    if !supports_s256 && !d.legacy {
        return Err(OAuthError::PkceUnsupported { issuer: d.issuer.clone() });
    }
    let endpoint = meta.authorization_endpoint.as_deref().ok_or_else(|| OAuthError::InvalidDocument {
        url: meta.issuer.clone(),
        what: "authorization server metadata",
        reason: "no authorization_endpoint".into(),
    })?;
    let mut url = parse_url(endpoint)?;
    require_secure("authorization endpoint", &url)?;
    let pkce = Pkce::new()?;
    let state = random_string(16)?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &input.creds.client_id)
            .append_pair("redirect_uri", &input.config.redirect_uri)
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", &state)
            .append_pair("resource", &d.resource);
        if let Some(scope) = &input.scope {
            q.append_pair("scope", scope);
        }
    }
    let redirect = input.user_agent.authorize(&url, &input.config.redirect_uri).await?;
    let code = check_redirect(&redirect, &input.config.redirect_uri, &state, meta)?;
    Ok(vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code),
        ("redirect_uri", input.config.redirect_uri.clone()),
        ("code_verifier", pkce.verifier),
    ])
}

/// Checks an authorization response and returns its `code`.
///
/// The `iss` parameter (RFC 9207) is compared with the issuer by simple string
/// comparison, never normalized: when present it must match, and when the server
/// advertises `authorization_response_iss_parameter_supported` it must be present.
pub fn check_redirect(
    redirect: &Url,
    redirect_uri: &str,
    expected_state: &str,
    meta: &ServerMetadata,
) -> Result<String, OAuthError> {
    let expected = parse_url(redirect_uri)?;
    // Compared part by part: custom schemes (`myapp:/callback`) have opaque origins.
    let same = redirect.scheme() == expected.scheme()
        && redirect.host_str() == expected.host_str()
        && redirect.port_or_known_default() == expected.port_or_known_default()
        && redirect.path() == expected.path();
    if !same {
        return Err(OAuthError::InvalidRedirect(format!("redirected to {redirect}, not to {redirect_uri}")));
    }
    let param = |name: &str| redirect.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    match (param("iss"), meta.authorization_response_iss_parameter_supported) {
        (Some(iss), _) if iss != meta.issuer => {
            return Err(OAuthError::IssMismatch { expected: meta.issuer.clone(), found: Some(iss) });
        }
        (None, true) => return Err(OAuthError::IssMismatch { expected: meta.issuer.clone(), found: None }),
        _ => {}
    }
    if param("state").as_deref() != Some(expected_state) {
        return Err(OAuthError::InvalidRedirect("state does not match the request".into()));
    }
    if let Some(error) = param("error") {
        return Err(OAuthError::AuthorizationDenied { error, description: param("error_description") });
    }
    param("code").filter(|c| !c.is_empty()).ok_or_else(|| OAuthError::InvalidRedirect("no code".into()))
}
