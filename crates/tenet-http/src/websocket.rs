//! The WebSocket transport (the MCP SEP-1288 draft): `GET` on the MCP path with
//! `Upgrade: websocket` and the subprotocol `mcp`; then one JSON-RPC message per text
//! frame, both ways, for clients of either era on one socket (an `initialize`
//! session, or self-describing 2026-07-28 requests). Each socket is one connection of
//! the session driver; this file only moves frames and keeps the socket healthy.
//!
//! Limits: at most [`WebSocketConfig::max_sockets`] sockets (503 before the upgrade);
//! messages up to [`crate::HttpConfig::max_body_bytes`] (close 1009 past it); text only
//! (close 1003 for binary); invalid UTF-8 fails the socket as RFC 6455 requires
//! (close 1007); pings every [`WebSocketConfig::ping_interval`]; a client that does
//! not read for [`WebSocketConfig::send_timeout`] is dropped. When the server shuts
//! down, requests in flight are answered, then the socket closes with 1001.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, UPGRADE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use tenet_server::metrics::{Direction, Metrics};
use tenet_server::{CancellationToken, Driver, DriverOptions, OUTBOUND_CAPACITY, Server};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig as Limits};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::caller::Caller;
use crate::config::WebSocketConfig;
use crate::headers::{self, SUBPROTOCOL, offered};
use crate::response;
use crate::shared::Shared;

/// Checks the handshake and answers `101 Switching Protocols`, handing the socket to
/// the session driver once the upgrade completes.
pub(crate) fn upgrade(shared: &Arc<Shared>, parts: &mut Parts, caller: Caller) -> Response {
    let config = &shared.config;
    if !config.websocket.enabled {
        return response::transport(StatusCode::BAD_REQUEST, "Bad Request: WebSocket is turned off on this server");
    }
    let headers = &parts.headers;
    if !headers::lists(headers, CONNECTION, "upgrade") {
        return response::transport(
            StatusCode::BAD_REQUEST,
            "Bad Request: a WebSocket upgrade needs Connection: upgrade",
        );
    }
    if headers.get("sec-websocket-version").and_then(|v| v.to_str().ok()) != Some("13") {
        let mut response = response::transport(
            StatusCode::UPGRADE_REQUIRED,
            "Upgrade Required: only WebSocket version 13 (RFC 6455) is spoken",
        );
        response.headers_mut().insert("sec-websocket-version", HeaderValue::from_static("13"));
        return response;
    }
    let Some(key) = headers.get(SEC_WEBSOCKET_KEY).filter(|k| is_valid_key(k.as_bytes())) else {
        return response::transport(
            StatusCode::BAD_REQUEST,
            "Bad Request: Sec-WebSocket-Key must be 16 bytes in base64 (RFC 6455 §4.1)",
        );
    };
    if !offered(headers).any(|p| p == SUBPROTOCOL) {
        return response::transport(
            StatusCode::BAD_REQUEST,
            "Bad Request: offer the WebSocket subprotocol \"mcp\" (Sec-WebSocket-Protocol: mcp)",
        );
    }
    if shared.shutdown.is_cancelled() {
        return response::busy("shutting down");
    }
    // A socket leaves the HTTP connections (it has a cap of its own), but counts in its
    // caller's share of streams.
    let counted_as = caller.key();
    let held = match shared.streams.seat(counted_as.clone(), config.max_streams_per_caller, false) {
        Ok(held) => held,
        Err(refused) => return refused.response(),
    };
    let Some(seat) = shared.sockets.seat(config.websocket.max_sockets) else {
        return response::busy("too many WebSocket connections");
    };
    let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        return response::transport(
            StatusCode::BAD_REQUEST,
            "Bad Request: this connection cannot be upgraded (HTTP/1.1 is required)",
        );
    };
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let socket = Socket {
        server: shared.server.clone(),
        options: caller.connection(counted_as, shared.shutdown.clone()),
        limits: config.websocket.clone(),
        max_message: config.max_body_bytes,
    };
    shared.sockets.tasks.spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => socket.run(TokioIo::new(upgraded)).await,
            Err(e) => tracing::debug!("WebSocket upgrade failed: {e}"),
        }
        drop((seat, held));
    });
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = response.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(SUBPROTOCOL));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        h.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// Serves one socket that is already upgraded (`io` carries WebSocket frames), as
/// [`upgrade`] does: for the fuzz targets.
#[cfg(fuzzing)]
pub async fn serve_upgraded<S>(server: Server, io: S, max_message: usize)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let socket = Socket { server, options: DriverOptions::default(), limits: WebSocketConfig::default(), max_message };
    socket.run(io).await;
}

/// A key is the base64 of 16 bytes: 22 characters and `==`.
fn is_valid_key(key: &[u8]) -> bool {
    use base64::Engine;
    key.len() == 24 && base64::engine::general_purpose::STANDARD.decode(key).is_ok_and(|k| k.len() == 16)
}

/// How a socket's reading ended.
enum End {
    /// The client closed or went away: requests in flight are cancelled.
    Gone,
    /// We close it with this code and reason, after cancelling what is in flight.
    Close(CloseCode, String),
    /// The server is shutting down: requests in flight are answered, then 1001.
    Shutdown,
}

/// What to tell the writer.
enum Control {
    Ping,
}

/// Bytes of queued frames the socket holds before it writes them without a flush.
const WRITE_BUFFER: usize = 64 * 1024;

/// One upgraded socket and how to serve it.
struct Socket {
    server: Server,
    options: DriverOptions,
    limits: WebSocketConfig,
    max_message: usize,
}

impl Socket {
    async fn run<S>(self, io: S)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let config = Limits::default()
            .max_message_size(Some(self.max_message))
            .max_frame_size(Some(self.max_message))
            .read_buffer_size(4096)
            // Frames are queued, then flushed together (see `write`).
            .write_buffer_size(WRITE_BUFFER);
        let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        let (sink, mut stream) = ws.split();
        let metrics = self.server.metrics().clone();
        let (out, lines) = mpsc::channel(OUTBOUND_CAPACITY);
        let (control, controls) = mpsc::channel(4);
        let (closing, close_code) = oneshot::channel();
        let stalled = CancellationToken::new();
        // When the writer last sent a message, in ms since `started`: the idle timeout
        // counts messages both ways.
        let sent = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let writer = tokio::spawn(write(
            sink,
            lines,
            controls,
            close_code,
            Activity { started, sent: sent.clone(), stalled: stalled.clone() },
            metrics.clone(),
            self.limits.send_timeout,
        ));
        let shutdown = self.options.shutdown.clone();
        let driver = Driver::new(self.server, out, self.options);
        let mut ticker =
            tokio::time::interval_at(Instant::now() + self.limits.ping_interval, self.limits.ping_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (mut last_seen, mut last_message) = (Instant::now(), Instant::now());
        let end = loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break End::Shutdown,
                () = stalled.cancelled() => break End::Gone,
                frame = stream.next() => {
                    last_seen = Instant::now();
                    match frame {
                        Some(Ok(Message::Text(text))) => {
                            metrics.frame(Direction::In, "text");
                            last_message = last_seen;
                            driver.receive(text.as_bytes()).await;
                            // Waiting for room (back-pressure) is not silence.
                            last_seen = Instant::now();
                        }
                        Some(Ok(Message::Binary(_))) => {
                            metrics.frame(Direction::In, "binary");
                            break End::Close(CloseCode::Unsupported, "binary frames are not MCP messages; send text".into());
                        }
                        Some(Ok(Message::Ping(_))) => metrics.frame(Direction::In, "ping"),
                        Some(Ok(Message::Pong(_))) => metrics.frame(Direction::In, "pong"),
                        Some(Ok(Message::Close(_))) => {
                            metrics.frame(Direction::In, "close");
                            break End::Gone;
                        }
                        Some(Ok(Message::Frame(_))) => {}
                        Some(Err(WsError::Capacity(_))) => {
                            break End::Close(CloseCode::Size, format!("a message may be at most {} bytes", self.max_message));
                        }
                        Some(Err(WsError::Utf8(_))) => {
                            break End::Close(CloseCode::Invalid, "a text frame must be valid UTF-8".into());
                        }
                        Some(Err(e)) => {
                            tracing::debug!("WebSocket read failed: {e}");
                            break End::Gone;
                        }
                        None => break End::Gone,
                    }
                }
                _ = ticker.tick() => {
                    let now = Instant::now();
                    if now.duration_since(last_seen) > self.limits.ping_interval * 2 {
                        break End::Close(CloseCode::Away, "no answer to pings".into());
                    }
                    let last_sent = started + Duration::from_millis(sent.load(Ordering::Relaxed));
                    let last_message = last_message.max(last_sent);
                    if now.duration_since(last_message) > self.limits.idle_timeout && !driver.is_busy() {
                        break End::Close(CloseCode::Normal, "idle timeout".into());
                    }
                    let _ = control.try_send(Control::Ping);
                }
            }
        };
        drop(control);
        let close = match end {
            End::Shutdown => {
                driver.drain().await;
                Some(frame(CloseCode::Away, "server shutting down"))
            }
            End::Gone => {
                driver.close().await;
                None
            }
            End::Close(code, reason) => {
                driver.close().await;
                Some(frame(code, &reason))
            }
        };
        let _ = closing.send(close);
        // The writer ends once every answer is written and the driver's channel closes.
        drop(driver);
        let _ = writer.await;
    }
}

fn frame(code: CloseCode, reason: &str) -> CloseFrame {
    CloseFrame { code, reason: reason.to_owned().into() }
}

/// What the writer tells the reader: when it last sent a message, and (`stalled`)
/// that the client stopped taking them.
struct Activity {
    started: Instant,
    sent: Arc<AtomicU64>,
    stalled: CancellationToken,
}

impl Activity {
    fn record(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.sent.store(ms, Ordering::Relaxed);
    }
}

/// How many queued messages the writer takes before it flushes: ready answers go out
/// in one write instead of one write each.
const BATCH: usize = 256;

/// Writes the driver's messages as text frames, pings when told to, and the close
/// frame once the driver is done. Messages already queued are written together and
/// flushed once. A client that does not take a write (at most the socket's write
/// buffer and one frame) within `timeout` is given up on (`stalled` fires).
async fn write<W>(
    mut sink: W,
    mut lines: mpsc::Receiver<Vec<u8>>,
    mut controls: mpsc::Receiver<Control>,
    mut close: oneshot::Receiver<Option<CloseFrame>>,
    activity: Activity,
    metrics: Metrics,
    timeout: Duration,
) where
    W: futures_util::Sink<Message, Error = WsError> + Unpin,
{
    // Queues `first` and whatever else is ready (up to `BATCH`), then flushes. Each
    // write is timed on its own, so a slow reader of a large batch is not cut off.
    let send = async |sink: &mut W, lines: &mut mpsc::Receiver<Vec<u8>>, first: Message, kind: &'static str| {
        let within = async |op: futures_util::sink::Feed<'_, W, Message>| {
            matches!(tokio::time::timeout(timeout, op).await, Ok(Ok(())))
        };
        if !within(sink.feed(first)).await {
            return false;
        }
        let mut texts = 0;
        while texts < BATCH
            && let Ok(line) = lines.try_recv()
        {
            if let Some(message) = text(line) {
                if !within(sink.feed(message)).await {
                    return false;
                }
                texts += 1;
            }
        }
        if !matches!(tokio::time::timeout(timeout, sink.flush()).await, Ok(Ok(()))) {
            return false;
        }
        metrics.frame(Direction::Out, kind);
        for _ in 0..texts {
            metrics.frame(Direction::Out, "text");
        }
        if kind == "text" || texts > 0 {
            activity.record();
        }
        true
    };
    // The close frame, once the driver is done (`None`: the client went away). It does
    // not wait for the last sender of `lines` to go: a task detached from the request
    // (a background task) may hold one for longer than the socket lives.
    let frame = loop {
        let (message, kind) = tokio::select! {
            biased;
            // A ping first: they are rare, and a steady stream of answers must not
            // starve them (the reader closes a socket it hears nothing from).
            Some(Control::Ping) = controls.recv() => (Message::Ping(Default::default()), "ping"),
            line = lines.recv() => match line.and_then(text) {
                Some(message) => (message, "text"),
                None if lines.is_closed() => break close.await.ok().flatten(),
                None => continue,
            },
            frame = &mut close => {
                let frame = frame.ok().flatten();
                if frame.is_some() {
                    // Every answer was queued before the driver settled: send them first.
                    while let Ok(line) = lines.try_recv() {
                        if let Some(message) = text(line)
                            && !send(&mut sink, &mut lines, message, "text").await
                        {
                            break;
                        }
                    }
                }
                break frame;
            }
        };
        if !send(&mut sink, &mut lines, message, kind).await {
            // Gone, or not reading: drop everything queued for it.
            activity.stalled.cancel();
            let _ = tokio::time::timeout(timeout, sink.close()).await;
            return;
        }
    };
    if let Some(frame) = frame
        && let Ok(Ok(())) = tokio::time::timeout(timeout, sink.send(Message::Close(Some(frame)))).await
    {
        metrics.frame(Direction::Out, "close");
    }
    let _ = tokio::time::timeout(timeout, sink.close()).await;
}

/// A driver's message as a text frame; `None` for the empty marker (where a resumable
/// stream may end) and for anything that is not UTF-8.
fn text(mut line: Vec<u8>) -> Option<Message> {
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    if line.is_empty() {
        return None;
    }
    String::from_utf8(line).ok().map(Message::text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::subprotocol_token;
    use axum::http::HeaderMap;

    #[test]
    fn keys_are_sixteen_bytes_of_base64() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ"));
        assert!(!is_valid_key(b"not base64 at all!!!!!!!"));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZXM="));
    }

    #[test]
    fn the_auth_subprotocol_carries_a_token() {
        let mut headers = HeaderMap::new();
        headers.insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("mcp, mcp.auth.abc123"));
        assert_eq!(subprotocol_token(&headers), Some("abc123"));
        assert!(offered(&headers).any(|p| p == SUBPROTOCOL));
        headers.insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("mcp"));
        assert_eq!(subprotocol_token(&headers), None);
    }
}
