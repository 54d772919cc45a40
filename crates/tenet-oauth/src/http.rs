//! The HTTP plumbing: one `reqwest` client with timeouts and no redirects, JSON
//! fetching with typed errors, and the https-or-loopback rule.

use std::net::IpAddr;
use std::sync::Once;
use std::time::Duration;

use serde::de::DeserializeOwned;
use url::{Host, Url};

use crate::OAuthError;

static PROVIDER: Once = Once::new();

/// Installs rustls's ring crypto provider as the process default, once. A provider
/// installed earlier by someone else is left in place.
pub fn install_crypto_provider() {
    PROVIDER.call_once(|| {
        // An Err means another provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Builds the client every request goes through: a total timeout and a connect
/// timeout on each request, and redirects never followed (an authorization
/// redirect is read, not obeyed; a metadata redirect is not trusted).
pub fn build_client(timeout: Duration) -> Result<reqwest::Client, OAuthError> {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tenet-oauth/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|source| OAuthError::Network { url: String::new(), source })
}

/// Parses `text` as an absolute URL.
pub fn parse_url(text: &str) -> Result<Url, OAuthError> {
    Url::parse(text).map_err(|e| OAuthError::InvalidUrl { url: text.to_owned(), reason: e.to_string() })
}

/// Is the URL's host `localhost` or a loopback address?
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Refuses an endpoint that is not https, unless it is http on a loopback host.
pub fn require_secure(what: &'static str, url: &Url) -> Result<(), OAuthError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        _ => Err(OAuthError::InsecureEndpoint { what, url: url.to_string() }),
    }
}

/// The outcome of fetching a metadata document.
pub enum Fetched<T> {
    /// 2xx with a body that decoded.
    Found(T),
    /// A 4xx or 5xx answer: the document is not at this URL.
    Missing,
}

/// GETs `url` as JSON. Network failures are errors; error statuses are
/// [`Fetched::Missing`] so discovery can try the next location.
pub async fn get_json<T: DeserializeOwned>(
    client: &reqwest::Client,
    url: &Url,
    what: &'static str,
) -> Result<Fetched<T>, OAuthError> {
    let response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|source| OAuthError::Network { url: url.to_string(), source })?;
    let status = response.status();
    if !status.is_success() {
        tracing::debug!(%url, status = status.as_u16(), "no {what} here");
        return Ok(Fetched::Missing);
    }
    let body = response.bytes().await.map_err(|source| OAuthError::Network { url: url.to_string(), source })?;
    serde_json::from_slice(&body).map(Fetched::Found).map_err(|e| OAuthError::InvalidDocument {
        url: url.to_string(),
        what,
        reason: e.to_string(),
    })
}

/// Reads a JSON body from a response, with the URL for errors.
pub async fn read_json<T: DeserializeOwned>(
    response: reqwest::Response,
    url: &Url,
    what: &'static str,
) -> Result<T, OAuthError> {
    let body = response.bytes().await.map_err(|source| OAuthError::Network { url: url.to_string(), source })?;
    serde_json::from_slice(&body).map_err(|e| OAuthError::InvalidDocument {
        url: url.to_string(),
        what,
        reason: e.to_string(),
    })
}

/// Sends a prepared request, mapping transport failures to [`OAuthError::Network`].
pub async fn send(request: reqwest::RequestBuilder, url: &Url) -> Result<reqwest::Response, OAuthError> {
    request.send().await.map_err(|source| OAuthError::Network { url: url.to_string(), source })
}
