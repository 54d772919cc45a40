//! HTTP+SSE (2024-11-05, deprecated), so old clients still connect: `GET /sse` opens a
//! stream whose first event, `endpoint`, names the URL to POST messages to; every
//! answer and notification comes back on that stream. Each stream is one connection of
//! the server's own line-based transport, over an in-memory pipe.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures_util::Stream;
use tenet_server::prometheus_client::metrics::gauge::Gauge;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};

use crate::endpoint::{Shared, read_body};
use crate::headers;
use crate::response;

/// Bytes buffered between a POST and the server reading it.
const PIPE_BYTES: usize = 64 * 1024;

type Writer = Arc<tokio::sync::Mutex<WriteHalf<DuplexStream>>>;

/// The open HTTP+SSE connections, by session id.
pub(crate) struct Connections {
    map: Mutex<HashMap<String, Writer>>,
    /// `tenet_sessions{transport="sse"}`: up and down with the map.
    gauge: Gauge,
}

impl Connections {
    pub(crate) fn new(gauge: Gauge) -> Self {
        Self { map: Mutex::new(HashMap::new()), gauge }
    }

    fn get(&self, id: &str) -> Option<Writer> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner).get(id).cloned()
    }

    fn insert(&self, id: String, writer: Writer, max: usize) -> bool {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= max {
            return false;
        }
        if map.insert(id, writer).is_none() {
            self.gauge.inc();
        }
        true
    }

    fn remove(&self, id: &str) {
        if self.map.lock().unwrap_or_else(PoisonError::into_inner).remove(id).is_some() {
            self.gauge.dec();
        }
    }
}

/// `GET /sse`: opens a connection and streams its output. Refusals are counted.
pub(crate) async fn open(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let response = open_stream(&shared, &headers);
    response::counted(shared.server.metrics(), response)
}

fn open_stream(shared: &Arc<Shared>, headers: &HeaderMap) -> Response {
    if let Err(refusal) = shared.guard.check(headers) {
        return response::transport(StatusCode::FORBIDDEN, refusal.to_string());
    }
    if !headers::accepts(headers).sse {
        return response::transport(StatusCode::NOT_ACCEPTABLE, "Not Acceptable: Accept must allow text/event-stream");
    }
    if shared.shutdown.is_cancelled() {
        return response::busy("shutting down");
    }
    let Some(id) = crate::session::new_id() else {
        return response::busy("no randomness for a session id");
    };
    let (client, server_end) = tokio::io::duplex(PIPE_BYTES);
    let (client_read, client_write) = tokio::io::split(client);
    if !shared.legacy_sse.insert(
        id.clone(),
        Arc::new(tokio::sync::Mutex::new(client_write)),
        shared.config.max_sessions,
    ) {
        return response::busy("too many sessions");
    }
    let (read, write) = tokio::io::split(server_end);
    let (server, shutdown) = (shared.server.clone(), shared.shutdown.clone());
    tokio::spawn(async move {
        if let Err(e) = server.serve(read, write, shutdown).await {
            tracing::debug!("HTTP+SSE connection ended: {e}");
        }
    });
    let endpoint = format!("event: endpoint\ndata: {}?sessionId={id}\n\n", shared.config.sse_messages_path);
    let stream =
        Output { shared: shared.clone(), id, lines: BufReader::new(client_read), first: Some(Bytes::from(endpoint)) };
    response::event_stream(Body::from_stream(stream.into_stream()))
}

/// The server's output for one connection, as SSE; forgets the connection when dropped
/// (the client left), which ends the server's side of it.
struct Output {
    shared: Arc<Shared>,
    id: String,
    lines: BufReader<ReadHalf<DuplexStream>>,
    first: Option<Bytes>,
}

impl Output {
    async fn next(&mut self) -> Option<Bytes> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        let mut line = String::new();
        match self.lines.read_line(&mut line).await {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(Bytes::from(format!("event: message\ndata: {}\n\n", line.trim_end()))),
        }
    }

    fn into_stream(self) -> impl Stream<Item = Result<Bytes, Infallible>> {
        futures_util::stream::unfold(self, |mut s| async move { s.next().await.map(|b| (Ok(b), s)) })
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.shared.legacy_sse.remove(&self.id);
    }
}

/// The `sessionId` query parameter (our ids are hex: no decoding needed).
fn session_id(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|pair| pair.strip_prefix("sessionId="))
}

/// `POST /messages?sessionId=…`: hands one message (or batch) to the connection; the
/// answer comes on its stream. Refusals are counted.
pub(crate) async fn message(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let response = post_message(&shared, request).await;
    response::counted(shared.server.metrics(), response)
}

async fn post_message(shared: &Arc<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if let Err(refusal) = shared.guard.check(&parts.headers) {
        return response::transport(StatusCode::FORBIDDEN, refusal.to_string());
    }
    if !headers::is_json(&parts.headers) {
        return response::transport(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type: send application/json",
        );
    }
    let Some(writer) = session_id(parts.uri.query()).and_then(|id| shared.legacy_sse.get(id)) else {
        return response::transport(StatusCode::NOT_FOUND, "Session not found");
    };
    let mut bytes = match read_body(&parts.headers, body, shared.config.max_body_bytes).await {
        Ok(bytes) => bytes.to_vec(),
        Err(response) => return response,
    };
    // Raw line breaks can only be whitespace in JSON: one message stays one line.
    for b in &mut bytes {
        if matches!(*b, b'\n' | b'\r') {
            *b = b' ';
        }
    }
    bytes.push(b'\n');
    let mut writer = writer.lock().await;
    match writer.write_all(&bytes).await {
        Ok(()) => response::accepted(),
        Err(_) => response::transport(StatusCode::NOT_FOUND, "Session not found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_id_comes_from_the_query() {
        assert_eq!(session_id(Some("sessionId=ab12")), Some("ab12"));
        assert_eq!(session_id(Some("x=1&sessionId=ab12")), Some("ab12"));
        assert_eq!(session_id(Some("x=1")), None);
        assert_eq!(session_id(None), None);
    }
}
