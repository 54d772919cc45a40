//! The HTTP+SSE transport of 2024-11-05: `GET` opens an event stream whose first
//! `endpoint` event says where to POST; answers come back on the stream.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method as HttpMethod, Url};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Answer;
use super::Outgoing;
use super::http_client::HttpClient;
use super::pending::{Pending, route};
use super::sse::Parser;
use crate::error::{ClientError, Result};
use crate::inbound::Inbound;

/// How long the server may take to announce its endpoint.
const ENDPOINT_WAIT: Duration = Duration::from_secs(10);

/// An open HTTP+SSE connection.
pub(crate) struct LegacySse {
    http: Arc<HttpClient>,
    endpoint: Url,
    pending: Arc<Pending>,
    reader: JoinHandle<()>,
    replier: JoinHandle<()>,
}

fn post_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers
}

impl LegacySse {
    /// Opens the event stream at `url` and waits for the `endpoint` event.
    pub(crate) async fn open(http: Arc<HttpClient>, url: &Url, inbound: Arc<Inbound>) -> Result<Self> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        let response = http.send(HttpMethod::GET, url, headers, None).await?;
        let is_sse = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !response.status().is_success() {
            return Err(http.failure(response).await);
        }
        if !is_sse {
            let url = super::shown_url(url.as_str());
            return Err(ClientError::Connect(format!("{url} offers neither Streamable HTTP nor an SSE stream")));
        }
        let mut body = response.bytes_stream();
        let mut parser = Parser::with_limit(http.max_message());
        let endpoint = tokio::time::timeout(ENDPOINT_WAIT, async {
            while let Some(chunk) = body.next().await {
                let chunk =
                    chunk.map_err(|e| ClientError::Closed(format!("the SSE stream failed: {}", e.without_url())))?;
                for event in parser.push(&chunk)? {
                    if event.kind.as_deref() == Some("endpoint") {
                        return url
                            .join(event.data.trim())
                            .map_err(|e| ClientError::Protocol(format!("bad endpoint {:?}: {e}", event.data)));
                    }
                }
            }
            Err(ClientError::Closed("the SSE stream ended before naming an endpoint".into()))
        })
        .await
        .map_err(|_| ClientError::Connect("the SSE stream named no endpoint".into()))??;
        if endpoint.origin() != url.origin() {
            return Err(ClientError::Protocol(format!("the endpoint {endpoint} is on another origin")));
        }
        let pending = Arc::new(Pending::default());
        let (replies, mut outbox) = mpsc::channel::<Vec<u8>>(16);
        let http_limit = http.max_message();
        let reader = {
            let pending = Arc::clone(&pending);
            tokio::spawn(async move {
                while let Some(Ok(chunk)) = body.next().await {
                    let Ok(events) = parser.push(&chunk) else {
                        // Every request waiting on this stream fails; nothing more is read.
                        pending.close_with(move || ClientError::TooLarge { limit: http_limit });
                        return;
                    };
                    for event in events {
                        if event.kind.as_deref().is_none_or(|k| k == "message") && !event.data.trim().is_empty() {
                            route(event.data.as_bytes(), &pending, &inbound, &replies);
                        }
                    }
                }
                pending.close("the SSE stream ended");
            })
        };
        let replier = {
            let http = Arc::clone(&http);
            let endpoint = endpoint.clone();
            tokio::spawn(async move {
                while let Some(reply) = outbox.recv().await {
                    if let Err(e) = http.send(HttpMethod::POST, &endpoint, post_headers(), Some(reply.into())).await {
                        tracing::warn!(error = %e, "could not send the answer to a server request");
                    }
                }
            })
        };
        Ok(Self { http, endpoint, pending, reader, replier })
    }

    async fn post(&self, body: Vec<u8>) -> Result<()> {
        let response = self.http.send(HttpMethod::POST, &self.endpoint, post_headers(), Some(body.into())).await?;
        if response.status().is_success() { Ok(()) } else { Err(self.http.failure(response).await) }
    }

    /// Sends a request and waits for its answer on the stream.
    pub(crate) async fn request(&self, outgoing: Outgoing) -> Result<Answer> {
        let waiter = self.pending.register(&outgoing.id)?;
        let sent = self.post(outgoing.body).await;
        if let Err(e) = sent {
            self.pending.forget(&outgoing.id);
            return Err(e);
        }
        let answer = waiter.await.map_err(|_| ClientError::Closed("the SSE stream ended".into()));
        self.pending.forget(&outgoing.id);
        answer?
    }

    /// Sends a notification.
    pub(crate) async fn notify(&self, body: Vec<u8>) -> Result<()> {
        self.post(body).await
    }

    /// Stops reading the stream.
    pub(crate) fn close(self) {
        self.pending.close("the client was closed");
    }
}

impl Drop for LegacySse {
    /// Closed or dropped, the transport stops reading the server's stream.
    fn drop(&mut self) {
        self.reader.abort();
        self.replier.abort();
    }
}
