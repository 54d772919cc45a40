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
    let body = bounded_body(response, url, what).await?;
    serde_json::from_slice(&body).map(Fetched::Found).map_err(|e| OAuthError::InvalidDocument {
        url: url.to_string(),
        what,
        reason: e.to_string(),
    })
}

/// The most bytes of a document or token response read: metadata, keys and tokens are
/// a few kilobytes; a server (or the upstream that named it) sending more is refused
/// rather than held in memory.
pub(crate) const MAX_BODY_BYTES: usize = 1 << 20;

/// The body of `response`, read chunk by chunk up to [`MAX_BODY_BYTES`].
///
/// # Errors
/// [`OAuthError::Network`] when reading fails; [`OAuthError::InvalidDocument`] past the
/// bound.
pub(crate) async fn bounded_body(
    mut response: reqwest::Response,
    url: &Url,
    what: &'static str,
) -> Result<Vec<u8>, OAuthError> {
    let too_large = || OAuthError::InvalidDocument {
        url: url.to_string(),
        what,
        reason: format!("larger than {} KiB", MAX_BODY_BYTES >> 10),
    };
    if response.content_length().is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) =
        response.chunk().await.map_err(|source| OAuthError::Network { url: url.to_string(), source })?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads a JSON body from a response, with the URL for errors.
pub async fn read_json<T: DeserializeOwned>(
    response: reqwest::Response,
    url: &Url,
    what: &'static str,
) -> Result<T, OAuthError> {
    let body = bounded_body(response, url, what).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers one request with `size` bytes of JSON string, announced by
    /// `Content-Length` or sent chunked: its URL.
    async fn serve_body(size: usize, chunked: bool) -> Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/doc", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await;
            let body = format!("\"{}\"", "x".repeat(size.saturating_sub(2)));
            let head = if chunked {
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".to_owned()
            } else {
                format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", body.len())
            };
            let _ = socket.write_all(head.as_bytes()).await;
            if chunked {
                for piece in body.as_bytes().chunks(64 << 10) {
                    let _ = socket.write_all(format!("{:x}\r\n", piece.len()).as_bytes()).await;
                    let _ = socket.write_all(piece).await;
                    let _ = socket.write_all(b"\r\n").await;
                }
                let _ = socket.write_all(b"0\r\n\r\n").await;
            } else {
                let _ = socket.write_all(body.as_bytes()).await;
            }
        });
        url
    }

    /// Issue 60: metadata and token answers were read whole, whatever their size (and a
    /// resource's metadata names where they come from). Past a megabyte they are refused,
    /// announced or not.
    #[tokio::test]
    async fn a_body_past_the_bound_is_refused_announced_or_not() {
        let client = build_client(Duration::from_secs(10)).unwrap();
        for chunked in [false, true] {
            let url = serve_body(4 << 20, chunked).await;
            let response = client.get(url.clone()).send().await.unwrap();
            let e = bounded_body(response, &url, "metadata").await.unwrap_err().to_string();
            assert!(e.contains("larger than 1024 KiB"), "chunked {chunked}: {e}");
            let url = serve_body(4 << 10, chunked).await;
            let response = client.get(url.clone()).send().await.unwrap();
            assert_eq!(bounded_body(response, &url, "metadata").await.unwrap().len(), 4 << 10);
        }
    }
}
