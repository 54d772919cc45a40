//! Serving one client over a newline-delimited byte stream (stdio, a child's pipes,
//! an in-memory pipe), with bounded work and nothing lost at the end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::StreamExt;
use futures_util::future::join_all;
use tenet_jsonrpc::{ErrorObject, Id, Incoming, Message, Notification, Request, UnknownId};
use tenet_protocol::{CancelledParams, Method, ProtocolVersion};
use tenet_transport::{Frame, JsonLinesCodec, write_lines};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::feature::legacy_notification;
use crate::peer::{Outbound, Peer};
use crate::router::Link;
use crate::server::Server;
use crate::session::Session;

/// How many encoded messages may wait for the writer.
const OUTBOUND_CAPACITY: usize = 1024;

type InFlight = Arc<Mutex<HashMap<Id, CancellationToken>>>;

impl Server {
    /// Serves one client reading messages from `reader` and writing to `writer`, until
    /// the reader ends or `shutdown` fires. Then it stops reading, lets every request
    /// in flight finish, writes every response, flushes, and returns.
    ///
    /// At most `max_concurrent_requests` requests run at once; past that the reader
    /// waits, so a burst of input cannot grow memory without bound.
    ///
    /// # Errors
    /// An I/O error from the reader or writer.
    pub async fn serve<R, W>(&self, reader: R, writer: W, shutdown: CancellationToken) -> std::io::Result<()>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        self.serve_as(reader, writer, shutdown, None).await
    }

    /// [`Server::serve`] for a client holding `grant`: lists show only what it covers
    /// and using anything else is refused (`None`: no access control).
    ///
    /// # Errors
    /// An I/O error from the reader or writer.
    pub async fn serve_as<R, W>(
        &self,
        reader: R,
        writer: W,
        shutdown: CancellationToken,
        grant: Option<Arc<crate::Grant>>,
    ) -> std::io::Result<()>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(OUTBOUND_CAPACITY);
        let writer = tokio::spawn(write_lines(rx, writer));
        let peer = Arc::new(Peer::new(tx.clone()));
        let conn = Conn {
            server: self.clone(),
            session: Arc::new(Session::new(peer.clone())),
            out: tx,
            in_flight: InFlight::default(),
            limit: Arc::new(Semaphore::new(self.shared.config.max_concurrent_requests.max(1))),
            tracker: TaskTracker::new(),
            ending: CancellationToken::new(),
            grant,
        };
        let forwarder = conn.forward_events();
        let mut frames = FramedRead::new(reader, JsonLinesCodec::new(self.shared.config.max_message_bytes));
        let mut result = Ok(());
        loop {
            let frame = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                frame = frames.next() => frame,
            };
            match frame {
                None => break,
                Some(Err(e)) => {
                    result = Err(e);
                    break;
                }
                Some(Ok(Frame::Oversized { limit })) => {
                    let error = ErrorObject::parse_error(format!("Parse error: message longer than {limit} bytes"));
                    conn.send_error(None, &error).await;
                }
                Some(Ok(Frame::Message(bytes))) => conn.on_frame(&bytes).await,
            }
        }
        // Drain: end listen streams, fail server → client requests nobody will answer,
        // wait for every handler, then let the writer flush and finish.
        conn.ending.cancel();
        peer.close();
        conn.session.tasks().cancel_all();
        conn.tracker.close();
        conn.tracker.wait().await;
        forwarder.abort();
        let _ = forwarder.await;
        drop(conn);
        drop(peer);
        match writer.await {
            Ok(Ok(())) => result,
            Ok(Err(e)) => Err(e),
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

struct Conn {
    server: Server,
    session: Arc<Session>,
    out: Outbound,
    in_flight: InFlight,
    limit: Arc<Semaphore>,
    tracker: TaskTracker,
    ending: CancellationToken,
    grant: Option<Arc<crate::Grant>>,
}

impl Conn {
    async fn send_error(&self, id: Option<&Id>, error: &ErrorObject) {
        let mut line = Vec::with_capacity(128);
        tenet_jsonrpc::write_error_response(&mut line, id, self.unknown_id(), error);
        let _ = self.out.send(line).await;
    }

    /// `"id": null` for sessions that negotiated a version before 2025-11-25 (JSON-RPC
    /// 2.0); otherwise no `id` member, as MCP's schema has it since 2025-11-25.
    fn unknown_id(&self) -> UnknownId {
        match self.session.negotiated() {
            Some(n) if n.version < ProtocolVersion::V2025_11_25 => UnknownId::Null,
            _ => UnknownId::Omit,
        }
    }

    fn link(&self, cancel: CancellationToken) -> Link {
        Link {
            session: Some(self.session.clone()),
            out: self.out.clone(),
            cancel,
            shutdown: self.ending.clone(),
            grant: self.grant.clone(),
        }
    }

    /// Forwards list-changed and resource-updated events to the legacy session.
    fn forward_events(&self) -> tokio::task::JoinHandle<()> {
        let mut events = self.server.events();
        let session = self.session.clone();
        let out = self.out.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => {
                        if let Some(line) = legacy_notification(&session, &event)
                            && out.send(line).await.is_err()
                        {
                            break;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        })
    }

    async fn on_frame(&self, bytes: &[u8]) {
        match tenet_jsonrpc::parse(bytes) {
            Err(rejection) => self.send_error(rejection.id.as_ref(), &rejection.error).await,
            Ok(Incoming::Single(message)) => self.on_message(message).await,
            Ok(Incoming::Batch(entries)) => self.on_batch(entries).await,
        }
    }

    async fn on_message(&self, message: Message) {
        match message {
            Message::Request(request) => self.on_request(request).await,
            Message::Notification(notification) => self.on_notification(&notification),
            Message::Response(response) => {
                if !self.session.peer().resolve(response) {
                    tracing::warn!("dropped a response to no request of ours");
                }
            }
        }
    }

    async fn on_request(&self, request: Request) {
        // `initialize` runs in order, before anything read after it.
        if request.method == Method::Initialize.name() {
            let line = self.server.handle_request(request, &self.link(CancellationToken::new())).await;
            let _ = self.out.send(line).await;
            return;
        }
        if let Some(limiter) = &self.server.shared.config.rate_limit
            && let Err(wait) = limiter.check("stdio", &request.method, crate::rate_limit::tool_of(&request).as_deref())
        {
            self.server.shared.metrics.rate_limited();
            return self.send_error(Some(&request.id), &crate::rate_limited(wait)).await;
        }
        let Some(cancel) = self.track(&request.id) else {
            let error =
                ErrorObject::invalid_request(format!("Invalid Request: id {} is already in flight", request.id));
            return self.send_error(Some(&request.id), &error).await;
        };
        let Ok(permit) = self.limit.clone().acquire_owned().await else { return };
        let server = self.server.clone();
        let link = self.link(cancel.clone());
        let routed = server.route(&request, &link);
        let in_flight = self.in_flight.clone();
        self.tracker.spawn(async move {
            let id = request.id.clone();
            let line = tokio::select! {
                biased;
                () = cancel.cancelled() => None,
                answer = server.respond(request, routed, &link) => Some(answer.line),
            };
            in_flight.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
            if let Some(line) = line.filter(|_| !cancel.is_cancelled()) {
                let _ = link.out.send(line).await;
            }
            drop(permit);
        });
    }

    /// Registers an in-flight id; `None` if one with that id is already running.
    fn track(&self, id: &Id) -> Option<CancellationToken> {
        let mut map = self.in_flight.lock().unwrap_or_else(PoisonError::into_inner);
        if map.contains_key(id) {
            return None;
        }
        let token = CancellationToken::new();
        map.insert(id.clone(), token.clone());
        Some(token)
    }

    fn on_notification(&self, notification: &Notification) {
        if notification.method == Method::Cancelled.name() {
            let params = notification.params.as_deref().map_or("{}", |p| p.get());
            match serde_json::from_str::<CancelledParams>(params) {
                Ok(CancelledParams { request_id: Some(id), .. }) => {
                    let token = self.in_flight.lock().unwrap_or_else(PoisonError::into_inner).get(&id).cloned();
                    match token {
                        Some(token) => token.cancel(),
                        None => tracing::debug!(%id, "cancellation for a request not in flight"),
                    }
                }
                _ => tracing::debug!("ignored a malformed cancellation"),
            }
        }
    }

    async fn on_batch(&self, entries: Vec<Result<Message, tenet_jsonrpc::Rejection>>) {
        let allowed = self.session.negotiated().is_some_and(|n| n.version.allows_batches());
        if !allowed {
            let error = ErrorObject::invalid_request(
                "Invalid Request: JSON-RPC batches are only allowed in protocol version 2025-03-26",
            );
            return self.send_error(None, &error).await;
        }
        let Ok(permit) = self.limit.clone().acquire_owned().await else { return };
        let mut requests = Vec::new();
        let mut lines = Vec::new();
        for entry in entries {
            match entry {
                Err(rejection) => {
                    let mut line = Vec::new();
                    tenet_jsonrpc::write_error_response(
                        &mut line,
                        rejection.id.as_ref(),
                        self.unknown_id(),
                        &rejection.error,
                    );
                    lines.push(line);
                }
                Ok(Message::Request(request)) => requests.push(request),
                Ok(other) => self.on_message(other).await,
            }
        }
        let server = self.server.clone();
        let link = self.link(CancellationToken::new());
        let routed: Vec<_> = requests.into_iter().map(|r| (server.route(&r, &link), r)).collect();
        self.tracker.spawn(async move {
            let answers = join_all(routed.into_iter().map(|(routed, r)| server.respond(r, routed, &link))).await;
            lines.extend(answers.into_iter().map(|a| a.line));
            if !lines.is_empty() {
                let mut batch = Vec::with_capacity(lines.iter().map(Vec::len).sum::<usize>() + 2);
                batch.push(b'[');
                for (i, line) in lines.iter().enumerate() {
                    if i > 0 {
                        batch.push(b',');
                    }
                    batch.extend_from_slice(line.strip_suffix(b"\n").unwrap_or(line));
                }
                batch.extend_from_slice(b"]\n");
                let _ = link.out.send(batch).await;
            }
            drop(permit);
        });
    }
}
