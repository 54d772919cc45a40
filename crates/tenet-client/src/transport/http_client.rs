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
use super::secrets::Secrets;
use crate::error::{ClientError, Result};

/// How much of an error body goes into an error message.
const BODY_EXCERPT: usize = 300;

/// How much of an error body is read at most (a JSON-RPC error fits many times over).
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// The HTTP client with the application's headers and authorization hook.
pub(crate) struct HttpClient {
    inner: reqwest::Client,
    headers: HeaderMap,
    auth: Option<Arc<dyn AuthHook>>,
    /// The largest message read from a response (a JSON body, an SSE event).
    max_message: usize,
    /// What it sends that a server must not get to show anyone.
    secrets: Secrets,
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
        let secrets = Secrets::of(&headers);
        Ok(Self { inner, headers, auth, max_message: tenet_transport::DEFAULT_MAX_MESSAGE_BYTES, secrets })
    }

    /// The same, also keeping the credentials in the endpoint's `url` out of what its
    /// server says back ([`Secrets::with_url`]).
    pub(crate) fn with_url_secrets(mut self, url: &reqwest::Url) -> Self {
        self.secrets = std::mem::take(&mut self.secrets).with_url(url);
        self
    }

    /// The same, reading messages of at most `bytes`.
    pub(crate) fn with_max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes.max(1);
        self
    }

    /// The largest message read from a response.
    pub(crate) fn max_message(&self) -> usize {
        self.max_message
    }

    /// `error` with what this client sends taken out ([`Secrets::clean`]).
    pub(crate) fn clean(&self, error: ClientError) -> ClientError {
        self.secrets.clean(error)
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
                    self.secrets.saw(&name, &value);
                    request.headers_mut().append(name, value);
                }
            }
            *request.body_mut() = body.clone().map(reqwest::Body::from);
            let response = self.inner.execute(request).await.map_err(|e| super::connect_error(url.as_str(), &e))?;
            let seen = AuthResponse { status: response.status().as_u16(), headers: response.headers(), url, attempt };
            if !should_retry(self.auth.as_ref(), seen).await.map_err(|e| self.secrets.clean(e))? {
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

impl HttpClient {
    /// Turns a non-success response into an error, with what this client sent taken
    /// out of it ([`Secrets`]).
    pub(crate) async fn failure(&self, response: Response) -> ClientError {
        let status = response.status().as_u16();
        // Only the start of a long body (an error needs no more): whatever is past it is
        // left unread, however long the body says it is.
        let body = read_start(response, ERROR_BODY_LIMIT).await;
        failure_cleaned(&self.secrets, status, &body)
    }
}

/// The first `limit` bytes of a body (fewer if it ends first or the connection fails).
async fn read_start(response: Response, limit: usize) -> Vec<u8> {
    use futures_util::StreamExt;
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while body.len() < limit {
        let Some(Ok(chunk)) = chunks.next().await else { break };
        body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())]);
    }
    body
}

/// [`failure_of`] a body with `secrets` taken out first (so that none is cut in two and
/// half shown), and out of what comes of it.
pub(crate) fn failure_cleaned(secrets: &Secrets, status: u16, body: &[u8]) -> ClientError {
    let text = String::from_utf8_lossy(body);
    secrets.clean(failure_of(status, secrets.redact(&text).as_bytes()))
}

/// Why a body was not read whole.
pub(crate) enum Read {
    /// It is over the limit (what was read of it is let go).
    TooLarge,
    /// The connection failed, for this reason.
    Failed(String),
}

/// A response body of at most `limit` bytes, read as it arrives: one that says it is
/// longer (`Content-Length`) is refused before a byte is read, and one that turns out
/// longer as soon as it passes the limit.
pub(crate) async fn read_limited(response: Response, limit: usize) -> std::result::Result<Vec<u8>, Read> {
    use futures_util::StreamExt;
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(Read::TooLarge);
    }
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        // (reqwest's error names the URL, query and all: left out, as it may hold a token.)
        let chunk = chunk.map_err(|e| Read::Failed(e.without_url().to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(Read::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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
