//! HTTP+SSE (2024-11-05, deprecated), so old clients still connect: `GET /sse` opens a
//! stream whose first event, `endpoint`, names the URL to POST messages to; every
//! answer and notification comes back on that stream. Each stream is one connection
//! of the session driver: POSTed messages are its inbound frames (a POST waits while
//! the connection has too much to do), the stream is its outbound channel.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use futures_util::Stream;
use tenet_server::{Hangup, OUTBOUND_CAPACITY};
use tenet_transport::Frame;
use tokio::sync::mpsc;

use crate::body;
use crate::caller::Caller;
use crate::headers;
use crate::response;
use crate::session::owner_of;
use crate::shared::Shared;
use crate::sse_connections::Connection;

/// POSTed messages waiting for the connection to take them.
const INBOUND_CAPACITY: usize = 32;

/// `GET /sse`, behind the door: opens a connection and streams its output.
pub(crate) async fn open(shared: Arc<Shared>, caller: Caller, request: Request) -> Response {
    let headers = request.headers();
    if !headers::accepts(headers).sse {
        return response::not_acceptable("text/event-stream");
    }
    if shared.shutdown.is_cancelled() {
        return response::busy("shutting down");
    }
    let Some(id) = crate::session::new_id() else {
        return response::busy("no randomness for a session id");
    };
    let (inbound, frames) = mpsc::channel(INBOUND_CAPACITY);
    let key = caller.key();
    let seat = match shared.seat(key.clone()) {
        Ok(seat) => seat,
        Err(refused) => return refused.response(),
    };
    let connection = Connection { inbound, owner: owner_of(caller.grant.as_deref()), caller: key.clone() };
    let (max, per_caller) = (shared.config.max_sessions, shared.config.max_sessions_per_caller);
    if let Err(full) = shared.legacy_sse.insert(id.clone(), connection, max, per_caller) {
        return full.response();
    }
    let (out, lines) = mpsc::channel(OUTBOUND_CAPACITY);
    let options = caller.connection(key, shared.shutdown.clone());
    let server = shared.server.clone();
    let frames = futures_util::stream::unfold(frames, |mut rx| async move { rx.recv().await.map(|f| (f, rx)) });
    tokio::spawn(async move {
        // The client leaving ends the inbound frames: its requests are cancelled.
        let _ = server.serve_frames(Box::pin(frames), out, options, Hangup::Cancel).await;
    });
    let endpoint = format!("event: endpoint\ndata: {}?sessionId={id}\n\n", shared.config.sse_messages_path);
    let stream = Output { shared, id, lines, first: Some(Bytes::from(endpoint)) };
    response::event_stream(Body::from_stream(seat.hold(stream.into_stream())))
}

/// The connection's output as SSE; forgets the connection when dropped (the client
/// left), which ends the connection's input.
struct Output {
    shared: Arc<Shared>,
    id: String,
    lines: mpsc::Receiver<Vec<u8>>,
    first: Option<Bytes>,
}

impl Output {
    async fn next(&mut self) -> Option<Bytes> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        loop {
            let line = self.lines.recv().await?;
            // An empty message only marks where a resumable stream may end.
            if line.is_empty() {
                continue;
            }
            let data = String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(&line)).into_owned();
            return Some(Bytes::from(format!("event: message\ndata: {data}\n\n")));
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

/// `POST /messages?sessionId=…`, behind the door: hands one message (or batch) to the
/// connection; the answer comes on its stream.
pub(crate) async fn message(shared: Arc<Shared>, caller: Caller, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if !headers::is_json(&parts.headers) {
        return body::not_json();
    }
    let grant = caller.grant.as_deref();
    let connection = session_id(parts.uri.query()).and_then(|id| shared.legacy_sse.get(id, grant));
    let Some(connection) = connection else {
        return response::transport(StatusCode::NOT_FOUND, "Session not found");
    };
    let bytes = match shared.read_body(&parts.headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    match connection.inbound.send(Ok(Frame::Message(bytes))).await {
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
