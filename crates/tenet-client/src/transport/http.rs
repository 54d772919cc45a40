//! Streamable HTTP, both eras: one POST per message, answered with JSON or an SSE
//! stream; legacy sessions (`Mcp-Session-Id`, DELETE on close), resumption of a
//! dropped stream with `Last-Event-ID` after the server's `retry`, and a fall back to
//! HTTP+SSE for 2024-11-05 servers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method as HttpMethod, Response, Url};
use tenet_jsonrpc::{Id, Incoming, Message};
use tenet_protocol::ProtocolVersion;

use super::Answer;
use super::http_client::{HttpClient, Read, read_limited};
use super::legacy_sse::LegacySse;
use super::pending::outcome;
use super::sse::Parser;
use super::{Outgoing, Transport};
use crate::error::{ClientError, Result};
use crate::inbound::Inbound;

/// How many times a dropped stream is resumed before the request fails.
const MAX_RESUMES: u32 = 5;
/// The wait before resuming when the server named no `retry`.
const DEFAULT_RETRY: Duration = Duration::from_millis(1000);
/// How long opening the standalone stream may take.
const STREAM_OPEN_WAIT: Duration = Duration::from_secs(10);

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue)> {
    let name =
        HeaderName::from_bytes(name.as_bytes()).map_err(|e| ClientError::Protocol(format!("header {name}: {e}")))?;
    let value = HeaderValue::from_str(value).map_err(|e| ClientError::Protocol(format!("header {name}: {e}")))?;
    Ok((name, value))
}

struct Shared {
    http: Arc<HttpClient>,
    url: Url,
    inbound: Arc<Inbound>,
    session: Mutex<Option<String>>,
    version: Mutex<Option<ProtocolVersion>>,
}

/// The Streamable HTTP transport (and, after a downgrade, HTTP+SSE).
pub(crate) struct HttpTransport {
    shared: Arc<Shared>,
    legacy: tokio::sync::RwLock<Option<LegacySse>>,
    standalone: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl HttpTransport {
    /// A transport to the MCP endpoint at `url`.
    pub(crate) fn new(url: Url, http: HttpClient, inbound: Arc<Inbound>) -> Self {
        let shared =
            Shared { http: Arc::new(http), url, inbound, session: Mutex::new(None), version: Mutex::new(None) };
        Self { shared: Arc::new(shared), legacy: tokio::sync::RwLock::new(None), standalone: Mutex::new(None) }
    }
}

impl Shared {
    fn headers(&self, method: &str, modern: bool, extra: &[(String, String)]) -> Result<HeaderMap> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json, text/event-stream"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let version = self.version.lock().ok().and_then(|v| *v);
        if let Some(version) = version {
            headers.insert("mcp-protocol-version", HeaderValue::from_static(version.as_str()));
        }
        if let Some(session) = self.session.lock().ok().and_then(|s| s.clone()) {
            let (name, value) = header("mcp-session-id", &session)?;
            headers.insert(name, value);
        }
        if modern {
            let (name, value) = header("mcp-method", method)?;
            headers.insert(name, value);
        }
        for (name, value) in extra {
            let (name, value) = header(name, value)?;
            headers.insert(name, value);
        }
        Ok(headers)
    }

    fn remember_session(&self, response: &Response) {
        let Some(id) = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()) else { return };
        if let Ok(mut session) = self.session.lock()
            && session.is_none()
        {
            *session = Some(id.to_owned());
        }
    }

    async fn post(self: &Arc<Self>, outgoing: Outgoing) -> Result<Answer> {
        let headers = self.headers(&outgoing.method, outgoing.modern, &outgoing.headers)?;
        let response = self.http.send(HttpMethod::POST, &self.url, headers, Some(outgoing.body.into())).await?;
        if !outgoing.modern {
            self.remember_session(&response);
        }
        let status = response.status();
        if status.as_u16() == 404 && self.session.lock().ok().and_then(|mut s| s.take()).is_some() {
            return Err(ClientError::SessionExpired);
        }
        if !status.is_success() {
            return Err(self.http.failure(response).await);
        }
        if status.as_u16() == 202 {
            return Err(ClientError::Protocol("the server accepted the request (202) but sent no response".into()));
        }
        let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        if content_type.is_some_and(|v| v.starts_with("text/event-stream")) {
            return self.read_stream(response, &outgoing.id, outgoing.modern).await;
        }
        let limit = self.http.max_message();
        let body = read_limited(response, limit).await.map_err(|e| match e {
            Read::TooLarge => ClientError::TooLarge { limit },
            Read::Failed(why) => ClientError::Closed(format!("reading the response: {why}")),
        })?;
        match self.handle(&body, Some(&outgoing.id)) {
            Some(result) => result,
            None => Err(ClientError::Protocol("the response body is not the answer to the request".into())),
        }
    }

    /// Handles one message from a response body or stream; `Some` when it is the
    /// answer to `id`.
    fn handle(self: &Arc<Self>, bytes: &[u8], id: Option<&Id>) -> Option<Result<Answer>> {
        let messages = match tenet_jsonrpc::parse_from_server(bytes) {
            Ok(Incoming::Single(message)) => vec![message],
            Ok(Incoming::Batch(entries)) => entries.into_iter().filter_map(Result::ok).collect(),
            Err(rejection) => {
                tracing::warn!(error = %rejection.error.message, "ignored a message that is not JSON-RPC");
                return None;
            }
        };
        let mut answer = None;
        for message in messages {
            match message {
                Message::Response(response) if id.is_some() && response.id.as_ref() == id => {
                    answer = Some(outcome(response.outcome));
                }
                Message::Response(response) => {
                    tracing::warn!(id = ?response.id, "ignored a response to another request");
                }
                Message::Notification(notification) => self.inbound.notification(&notification, id),
                Message::Request(request) => {
                    // Past the connection's turns the request goes unanswered: a refusal
                    // would need a POST, and so a task, of its own (the server's own
                    // timeout ends it).
                    let Some(turn) = self.inbound.answer_turn(&request, id) else { continue };
                    let shared = Arc::clone(self);
                    let related = id.cloned();
                    tokio::spawn(async move {
                        let reply = shared.inbound.request(&request, related.as_ref()).await;
                        if let Err(e) = shared.post_reply(reply).await {
                            tracing::warn!(error = %e, "could not send the answer to a server request");
                        }
                        drop(turn);
                    });
                }
            }
        }
        answer
    }

    /// Sends the answer to a server's request: POSTed as a notification is, with no
    /// 2026 headers and nothing to read back.
    async fn post_reply(&self, body: Vec<u8>) -> Result<()> {
        self.notify("", body, false).await
    }

    /// Reads an SSE response until the answer to `id`; a legacy stream that ends
    /// early is resumed with `Last-Event-ID` after the server's `retry` delay.
    async fn read_stream(self: &Arc<Self>, response: Response, id: &Id, modern: bool) -> Result<Answer> {
        let mut parser = Parser::with_limit(self.http.max_message());
        let mut body = response.bytes_stream();
        let mut resumes = 0;
        loop {
            let mut dropped = None;
            while let Some(chunk) = body.next().await {
                let chunk = match chunk {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        dropped = Some(e.without_url().to_string());
                        break;
                    }
                };
                for event in parser.push(&chunk)? {
                    if event.data.trim().is_empty() {
                        continue;
                    }
                    if let Some(result) = self.handle(event.data.as_bytes(), Some(id)) {
                        return result;
                    }
                }
            }
            let why = dropped.unwrap_or_else(|| "the server ended the stream".into());
            let Some(last_id) = parser.last_id.clone().filter(|_| !modern && resumes < MAX_RESUMES) else {
                return Err(ClientError::Closed(format!("{why} before answering")));
            };
            resumes += 1;
            let wait = parser.retry_ms.map_or(DEFAULT_RETRY, Duration::from_millis);
            tracing::debug!(?wait, %last_id, "resuming a dropped stream");
            tokio::time::sleep(wait).await;
            parser.restart();
            body = self.get_stream(Some(&last_id)).await?.bytes_stream();
        }
    }

    /// Opens a GET event stream (the standalone stream, or a resumption after
    /// `last_id`).
    async fn get_stream(&self, last_id: Option<&str>) -> Result<Response> {
        let mut headers = self.headers("", false, &[])?;
        headers.remove(CONTENT_TYPE);
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        if let Some(last_id) = last_id {
            let (name, value) = header("last-event-id", last_id)?;
            headers.insert(name, value);
        }
        let response = self.http.send(HttpMethod::GET, &self.url, headers, None).await?;
        if !response.status().is_success() {
            return Err(self.http.failure(response).await);
        }
        Ok(response)
    }

    /// Reads the legacy standalone stream (already opened as `response`): server
    /// requests and notifications outside any request. Resumes a few times after
    /// drops; stops when the server refuses it.
    async fn standalone(self: Arc<Self>, mut response: Response) {
        let mut parser = Parser::with_limit(self.http.max_message());
        for _ in 0..=MAX_RESUMES {
            let mut body = response.bytes_stream();
            while let Some(Ok(chunk)) = body.next().await {
                let events = match parser.push(&chunk) {
                    Ok(events) => events,
                    Err(oversized) => {
                        // Not resumed: the server would send the same again.
                        tracing::warn!(
                            limit = oversized.limit,
                            "the standalone stream sent a message over the limit; it is closed"
                        );
                        return;
                    }
                };
                for event in events {
                    if !event.data.trim().is_empty() {
                        self.handle(event.data.as_bytes(), None);
                    }
                }
            }
            tokio::time::sleep(parser.retry_ms.map_or(DEFAULT_RETRY, Duration::from_millis)).await;
            parser.restart();
            response = match self.get_stream(parser.last_id.clone().as_deref()).await {
                Ok(response) => response,
                Err(error) => {
                    tracing::debug!(%error, "the standalone stream ended");
                    return;
                }
            };
        }
    }

    async fn notify(&self, method: &str, body: Vec<u8>, modern: bool) -> Result<()> {
        let headers = self.headers(method, modern, &[])?;
        let response = self.http.send(HttpMethod::POST, &self.url, headers, Some(body.into())).await?;
        if response.status().is_success() { Ok(()) } else { Err(self.http.failure(response).await) }
    }
}

impl Drop for HttpTransport {
    /// A transport dropped without [`Transport::close`] stops listening on its
    /// standalone stream (its session, if any, is left to the server's idle timeout).
    fn drop(&mut self) {
        if let Some(task) = self.standalone.get_mut().ok().and_then(Option::take) {
            task.abort();
        }
    }
}

impl Transport for HttpTransport {
    fn request(&self, outgoing: Outgoing) -> BoxFuture<'_, Result<Answer>> {
        Box::pin(async move {
            if let Some(legacy) = self.legacy.read().await.as_ref() {
                return legacy.request(outgoing).await;
            }
            self.shared.post(outgoing).await
        })
    }

    fn notify(&self, method: String, body: Vec<u8>, modern: bool) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            if let Some(legacy) = self.legacy.read().await.as_ref() {
                return legacy.notify(body).await;
            }
            self.shared.notify(&method, body, modern).await
        })
    }

    fn set_version(&self, version: Option<ProtocolVersion>) {
        if let Ok(mut v) = self.shared.version.lock() {
            *v = version;
        }
    }

    fn is_http(&self) -> bool {
        true
    }

    fn clean(&self, error: ClientError) -> ClientError {
        self.shared.http.clean(error)
    }

    fn downgrade(&self) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            let sse =
                LegacySse::open(Arc::clone(&self.shared.http), &self.shared.url, Arc::clone(&self.shared.inbound))
                    .await?;
            *self.legacy.write().await = Some(sse);
            Ok(true)
        })
    }

    fn session_started(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.legacy.read().await.is_some() {
                return;
            }
            // Open the stream before the first request, so nothing the server sends
            // on it in answer to that request is lost.
            let response = match tokio::time::timeout(STREAM_OPEN_WAIT, self.shared.get_stream(None)).await {
                Ok(Ok(response)) => response,
                Ok(Err(error)) => return tracing::debug!(%error, "no standalone stream"),
                Err(_) => return tracing::debug!("the standalone stream did not open in time"),
            };
            let task = tokio::spawn(Arc::clone(&self.shared).standalone(response));
            if let Ok(mut slot) = self.standalone.lock()
                && let Some(old) = slot.replace(task)
            {
                old.abort();
            }
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(task) = self.standalone.lock().ok().and_then(|mut t| t.take()) {
                task.abort();
            }
            if let Some(legacy) = self.legacy.write().await.take() {
                legacy.close();
            }
            let session = self.shared.session.lock().ok().and_then(|mut s| s.take());
            if let Some(session) = session {
                let Ok(mut headers) = self.shared.headers("", false, &[]) else { return };
                if let Ok((name, value)) = header("mcp-session-id", &session) {
                    headers.insert(name, value);
                }
                match self.shared.http.send(HttpMethod::DELETE, &self.shared.url, headers, None).await {
                    Ok(response) => tracing::debug!(status = %response.status(), "ended the session"),
                    Err(e) => tracing::debug!(error = %e, "could not end the session"),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::handler::NoHandler;

    /// Sets its flag when dropped.
    struct Dropped(Arc<AtomicBool>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_dropped_transport_stops_listening() {
        let http = HttpClient::new(HeaderMap::new(), None).expect("a client");
        let url = Url::parse("http://127.0.0.1:9/mcp").expect("a URL");
        let transport = HttpTransport::new(url, http, Arc::new(Inbound::new(Arc::new(NoHandler))));
        let stopped = Arc::new(AtomicBool::new(false));
        let guard = Dropped(Arc::clone(&stopped));
        let listening = tokio::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        *transport.standalone.lock().expect("unpoisoned") = Some(listening);
        tokio::task::yield_now().await;
        assert!(!stopped.load(Ordering::SeqCst));
        drop(transport);
        tokio::task::yield_now().await;
        assert!(stopped.load(Ordering::SeqCst), "the standalone stream's task was stopped");
    }
}
