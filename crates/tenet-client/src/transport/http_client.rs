//! The HTTP client the Streamable HTTP and HTTP+SSE transports share: the
//! application's headers and authorization on every request, redirects only within
//! the server's origin, and a refusal read into an error (the WebSocket transport reads
//! a refused upgrade with it too).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method as HttpMethod, Response, Url};
use tenet_jsonrpc::{Incoming, Message};

use super::auth::{AuthHook, AuthResponse, should_retry};
use super::pending::outcome;
use crate::error::{ClientError, Result};

/// How much of an error body goes into an error message.
const BODY_EXCERPT: usize = 300;

/// The HTTP client with the application's headers and authorization hook.
pub(crate) struct HttpClient {
    inner: reqwest::Client,
    headers: HeaderMap,
    auth: Option<Arc<dyn AuthHook>>,
}

impl HttpClient {
    /// A client sending `headers` on every request, with optional authorization.
    pub(crate) fn new(headers: HeaderMap, auth: Option<Arc<dyn AuthHook>>) -> Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let inner = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::custom(same_origin_redirects))
            .build()
            .map_err(|e| ClientError::Connect(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { inner, headers, auth })
    }

    /// Sends a request with `headers` (the client's own added where the request sets
    /// none of the same name) and `body`, asking the hook for credentials and retrying
    /// after a challenge it accepts.
    pub(crate) async fn send(
        &self,
        method: HttpMethod,
        url: &Url,
        mut headers: HeaderMap,
        body: Option<Bytes>,
    ) -> Result<Response> {
        for name in self.headers.keys() {
            if !headers.contains_key(name) {
                for value in self.headers.get_all(name) {
                    headers.append(name.clone(), value.clone());
                }
            }
        }
        let mut attempt = 0;
        loop {
            let mut request = reqwest::Request::new(method.clone(), url.clone());
            // Kept for another attempt only when there can be one.
            *request.headers_mut() = if self.auth.is_some() { headers.clone() } else { std::mem::take(&mut headers) };
            if let Some(auth) = &self.auth {
                for (name, value) in auth.request_headers(&method, url).await.map_err(ClientError::Auth)? {
                    request.headers_mut().append(name, value);
                }
            }
            *request.body_mut() = body.clone().map(reqwest::Body::from);
            let response = self.inner.execute(request).await.map_err(|e| super::connect_error(url.as_str(), &e))?;
            let seen = AuthResponse { status: response.status().as_u16(), headers: response.headers(), url, attempt };
            if !should_retry(self.auth.as_ref(), seen).await? {
                return Ok(response);
            }
            attempt += 1;
        }
    }
}

/// Redirects are followed only within the server's origin (scheme, host and port),
/// at most [`MAX_REDIRECTS`] of them: the headers configured for a server (its
/// credentials, say) must never reach another.
fn same_origin_redirects(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let first = attempt.previous().first().map(Url::origin);
    if first.as_ref().is_some_and(|origin| *origin != attempt.url().origin()) {
        let to = attempt.url().origin().ascii_serialization();
        attempt.error(format!("the server redirects to another origin ({to}), which Tenet does not follow"))
    } else if attempt.previous().len() > MAX_REDIRECTS {
        attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
    } else {
        attempt.follow()
    }
}

/// The most redirects followed for one request.
const MAX_REDIRECTS: usize = 5;

/// Turns a non-success response into an error: the JSON-RPC error in its body if it
/// has one, else the status.
pub(crate) async fn failure(response: Response) -> ClientError {
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap_or_default();
    failure_of(status, &body)
}

/// The error for a non-success `status` with `body`: the JSON-RPC error in the body if
/// it has one, else the status with the start of the body.
pub(crate) fn failure_of(status: u16, body: &[u8]) -> ClientError {
    if let Ok(Incoming::Single(Message::Response(reply))) = tenet_jsonrpc::parse(body)
        && let Err(error) = outcome(reply.outcome)
    {
        return error;
    }
    let excerpt: String = String::from_utf8_lossy(body).chars().take(BODY_EXCERPT).collect();
    ClientError::Http { status, body: excerpt.trim().to_owned() }
}
