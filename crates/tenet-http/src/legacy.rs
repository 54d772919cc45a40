//! Legacy sessions (2024-11-05 to 2025-11-25) over Streamable HTTP: `initialize` mints
//! a session, later POSTs carry `Mcp-Session-Id`, GET opens the standalone stream or
//! resumes one after `Last-Event-ID`, DELETE ends the session.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, PoisonError};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use futures_util::{Stream, StreamExt};
use tenet_server::jsonrpc::{ErrorCode, ErrorObject, Incoming, Message, Request, UnknownId};
use tenet_server::protocol::{CancelledParams, Method};
use tenet_server::{Answer, Grant, Link, ServerEvent, legacy_notification};
use tokio::sync::{broadcast, mpsc};

use crate::endpoint::Shared;
use crate::exchange::{AnswerFuture, Exchange, Item, MESSAGE_CAPACITY, Start, json_body};
use crate::headers::{self, LAST_EVENT_ID, SESSION_ID};
use crate::replay::{Listener, Resumability, STANDALONE};
use crate::response::{self, SESSION_NOT_FOUND};
use crate::session::HttpSession;
use crate::sse;

/// Framed events waiting for a slow client, per stream.
const LISTENER_CAPACITY: usize = 32;

fn session_not_found() -> Response {
    let e = ErrorObject::new(SESSION_NOT_FOUND, "Session not found");
    response::error(StatusCode::NOT_FOUND, None, &e)
}

fn session_required() -> Response {
    response::transport(StatusCode::BAD_REQUEST, "Bad Request: Mcp-Session-Id header is required")
}

/// Why a request's session cannot be used.
enum NoSession {
    /// No `Mcp-Session-Id` (400).
    Missing,
    /// Unknown, expired or deleted (404).
    NotFound,
}

impl NoSession {
    fn response(self) -> Response {
        match self {
            NoSession::Missing => session_required(),
            NoSession::NotFound => session_not_found(),
        }
    }
}

/// The session a request names.
fn session(shared: &Shared, headers: &HeaderMap) -> Result<Arc<HttpSession>, NoSession> {
    let id = headers::text(headers, SESSION_ID).ok_or(NoSession::Missing)?;
    shared.sessions.get(id).ok_or(NoSession::NotFound)
}

/// A legacy POST.
pub(crate) async fn post(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    incoming: Incoming,
    grant: Option<Arc<Grant>>,
) -> Response {
    if headers::text(headers, SESSION_ID).is_none() {
        return initialize(shared, incoming, grant).await;
    }
    let session = match session(shared, headers) {
        Ok(session) => session,
        Err(no) => return no.response(),
    };
    match incoming {
        Incoming::Single(Message::Request(request)) => {
            exchange(shared, &session, vec![request], Vec::new(), false, grant).await
        }
        Incoming::Single(message) => match accept(&session, message) {
            Ok(()) => response::accepted(),
            Err(e) => response::error(StatusCode::BAD_REQUEST, None, &e),
        },
        Incoming::Batch(entries) => batch(shared, &session, entries, grant).await,
    }
}

/// `initialize` without a session: mints one, answered with its id.
async fn initialize(shared: &Arc<Shared>, incoming: Incoming, grant: Option<Arc<Grant>>) -> Response {
    let request = match incoming {
        Incoming::Single(Message::Request(request)) if request.method == Method::Initialize.name() => request,
        _ => return session_required(),
    };
    let Ok(session) = shared.sessions.create() else {
        return response::busy("too many sessions");
    };
    // `initialize` sends nothing before its answer; nobody reads this channel.
    let (out, _) = mpsc::channel(1);
    let link = Link {
        session: Some(session.inner.clone()),
        out,
        cancel: session.closed.child_token(),
        shutdown: shared.shutdown.clone(),
        grant,
    };
    let routed = shared.server.route(&request, &link);
    let answer = shared.server.respond(request, routed, &link).await;
    if answer.error.is_some() {
        shared.sessions.remove(&session.id);
        return response::json(StatusCode::OK, answer.line);
    }
    if let Some(negotiated) = session.inner.negotiated() {
        let rules = Resumability::of(negotiated.version);
        session.streams.lock().unwrap_or_else(PoisonError::into_inner).set_resumability(rules);
    }
    let mut response = response::json(StatusCode::OK, answer.line);
    if let Ok(id) = HeaderValue::from_str(&session.id) {
        response.headers_mut().insert(SESSION_ID, id);
    }
    response
}

/// A response or notification from the client.
fn accept(session: &HttpSession, message: Message) -> Result<(), ErrorObject> {
    match message {
        Message::Response(response) => {
            let id = response.id.clone();
            if session.inner.peer().resolve(response) {
                Ok(())
            } else {
                let id = id.map_or_else(|| "null".to_owned(), |id| id.to_string());
                Err(ErrorObject::invalid_request(format!("Invalid Request: no request with id {id} awaits a response")))
            }
        }
        Message::Notification(notification) => {
            if notification.method == Method::Cancelled.name() {
                let params = notification.params.as_deref().map_or("{}", |p| p.get());
                if let Ok(CancelledParams { request_id: Some(id), .. }) = serde_json::from_str(params) {
                    session.cancel(&id);
                }
            }
            Ok(())
        }
        Message::Request(_) => Ok(()),
    }
}

/// A batch (2025-03-26 sessions only): responses and notifications are taken, requests
/// answered together.
async fn batch(
    shared: &Arc<Shared>,
    session: &Arc<HttpSession>,
    entries: Vec<Result<Message, tenet_server::jsonrpc::Rejection>>,
    grant: Option<Arc<Grant>>,
) -> Response {
    if !session.inner.negotiated().is_some_and(|n| n.version.allows_batches()) {
        let e = ErrorObject::invalid_request(
            "Invalid Request: JSON-RPC batches are only allowed in protocol version 2025-03-26",
        );
        return response::error(StatusCode::BAD_REQUEST, None, &e);
    }
    let mut requests = Vec::new();
    let mut refused = Vec::new();
    for entry in entries {
        match entry {
            Ok(Message::Request(request)) => requests.push(request),
            Ok(message) => {
                if let Err(e) = accept(session, message) {
                    refused.push(error_answer(None, &e));
                }
            }
            Err(rejection) => refused.push(error_answer(rejection.id.as_ref(), &rejection.error)),
        }
    }
    if requests.is_empty() && refused.is_empty() {
        return response::accepted();
    }
    exchange(shared, session, requests, refused, true, grant).await
}

fn error_answer(id: Option<&tenet_server::jsonrpc::Id>, error: &ErrorObject) -> Answer {
    let mut line = Vec::with_capacity(128);
    tenet_server::jsonrpc::write_error_response(&mut line, id, UnknownId::Null, error);
    Answer { line, error: Some(error.code), stateless: false }
}

/// Serves requests of a session: JSON when they are answered before anything else is
/// sent, else an SSE stream that survives the client leaving and, from 2025-03-26 on,
/// can be resumed. Only 2025-11-25 streams open with a priming event and may be ended
/// early (SSE polling); older clients parse every `data:` as JSON.
async fn exchange(
    shared: &Arc<Shared>,
    session: &Arc<HttpSession>,
    requests: Vec<Request>,
    ready: Vec<Answer>,
    batch: bool,
    grant: Option<Arc<Grant>>,
) -> Response {
    let (out, messages) = mpsc::channel(MESSAGE_CAPACITY);
    let mut answers: Vec<AnswerFuture> =
        ready.into_iter().map(|a| Box::pin(std::future::ready(a)) as AnswerFuture).collect();
    for request in requests {
        let Some(tracked) = session.track(&request.id) else {
            let e = ErrorObject::invalid_request(format!("Invalid Request: id {} is already in flight", request.id));
            answers.push(Box::pin(std::future::ready(error_answer(Some(&request.id), &e))));
            continue;
        };
        let link = Link {
            session: Some(session.inner.clone()),
            out: out.clone(),
            cancel: tracked.token.clone(),
            shutdown: shared.shutdown.clone(),
            grant: grant.clone(),
        };
        // Routed now, in the order read; answered concurrently.
        let routed = shared.server.route(&request, &link);
        let server = shared.server.clone();
        answers.push(Box::pin(async move {
            let id = request.id.clone();
            let answer = tokio::select! {
                biased;
                () = tracked.token.cancelled() => {
                    let e = ErrorObject::new(ErrorCode::INTERNAL_ERROR, "Request cancelled");
                    error_answer(Some(&id), &e)
                }
                answer = server.respond(request, routed, &link) => answer,
            };
            drop(tracked);
            answer
        }));
    }
    drop(out);
    let rules = session.streams.lock().unwrap_or_else(PoisonError::into_inner).resumability();
    match Exchange::new(messages, answers, rules.polls()).start().await {
        Start::Complete(answers) => {
            response::answer(response::legacy_status(&answers, batch), json_body(&answers, batch))
        }
        Start::Streaming { head, exchange } => {
            let (listener, events) = mpsc::channel(LISTENER_CAPACITY);
            let (stream, priming) = session.streams.lock().unwrap_or_else(PoisonError::into_inner).open(listener);
            tokio::spawn(pump(session.clone(), stream, head, exchange));
            let first = if rules.polls() {
                vec![sse::priming(&priming, shared.config.sse_retry.as_millis())]
            } else {
                Vec::new()
            };
            response::event_stream(Body::from_stream(listen(first, events)))
        }
    }
}

/// Moves an exchange's items into its stream's log and to whoever listens, until every
/// request is answered or the session ends. The client leaving does not stop it.
async fn pump(session: Arc<HttpSession>, stream: u64, mut head: VecDeque<Item>, mut exchange: Exchange) {
    loop {
        let item = match head.pop_front() {
            Some(item) => item,
            None => tokio::select! {
                () = session.closed.cancelled() => break,
                item = exchange.next() => match item {
                    Some(item) => item,
                    None => break,
                },
            },
        };
        if matches!(item, Item::Break) {
            // SSE polling: end the live response; the client resumes with Last-Event-ID.
            session.streams.lock().unwrap_or_else(PoisonError::into_inner).end_live(stream);
            continue;
        }
        let (bytes, listener) =
            session.streams.lock().unwrap_or_else(PoisonError::into_inner).publish(stream, item.line());
        if let Some(listener) = listener {
            deliver(&session, stream, &listener, bytes).await;
        }
    }
    session.streams.lock().unwrap_or_else(PoisonError::into_inner).finish(stream);
}

async fn deliver(session: &HttpSession, stream: u64, listener: &Listener, bytes: Bytes) {
    let sent = tokio::select! {
        () = session.closed.cancelled() => false,
        sent = listener.send(bytes) => sent.is_ok(),
    };
    if !sent {
        session.streams.lock().unwrap_or_else(PoisonError::into_inner).detach(stream, listener);
    }
}

/// A body of `first` events, then whatever arrives on `events` until its senders go.
fn listen(first: Vec<Bytes>, events: mpsc::Receiver<Bytes>) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let live = futures_util::stream::unfold(events, |mut events| async move { Some((events.recv().await?, events)) });
    futures_util::stream::iter(first).chain(live).map(Ok)
}

/// A legacy GET: the standalone stream, or a resumed one after `Last-Event-ID`.
pub(crate) fn get(shared: &Arc<Shared>, headers: &HeaderMap) -> Response {
    if headers::names_modern_version(headers) {
        return response::method_not_allowed("POST");
    }
    let session = match session(shared, headers) {
        Ok(session) => session,
        Err(no) => return no.response(),
    };
    if !headers::accepts(headers).sse {
        return response::transport(StatusCode::NOT_ACCEPTABLE, "Not Acceptable: Accept must allow text/event-stream");
    }
    let mut replay = Vec::new();
    if let Some(last) = headers::text(headers, LAST_EVENT_ID) {
        let (listener, events) = mpsc::channel(LISTENER_CAPACITY);
        let resumed = session.streams.lock().unwrap_or_else(PoisonError::into_inner).resume(last, listener);
        match resumed {
            Err(e) => return response::transport(StatusCode::BAD_REQUEST, e.to_string()),
            Ok(resumed) if resumed.stream != STANDALONE => {
                return response::event_stream(Body::from_stream(listen(resumed.replay, events)));
            }
            Ok(resumed) => replay = resumed.replay,
        }
    }
    let Some(pending) = session.take_standalone() else {
        return response::transport(StatusCode::CONFLICT, "Conflict: this session's GET stream is already open");
    };
    let mut streams = session.streams.lock().unwrap_or_else(PoisonError::into_inner);
    if replay.is_empty() && streams.resumability().polls() {
        // A fresh 2025-11-25 stream starts with a priming event, so a client can resume
        // from it.
        let cursor = streams.cursor(STANDALONE);
        replay.push(sse::priming(&cursor, shared.config.sse_retry.as_millis()));
    }
    drop(streams);
    let standalone = Standalone {
        events: shared.server.events(),
        shutdown: shared.shutdown.clone(),
        replay: replay.into(),
        pending: Some(pending),
        session,
    };
    response::event_stream(Body::from_stream(standalone.into_stream()))
}

/// The standalone stream: list changes, resource updates, and server → client
/// messages not tied to a request. It ends with the session or the server.
struct Standalone {
    session: Arc<HttpSession>,
    pending: Option<mpsc::Receiver<Vec<u8>>>,
    events: broadcast::Receiver<ServerEvent>,
    shutdown: tenet_server::CancellationToken,
    replay: VecDeque<Bytes>,
}

impl Standalone {
    async fn next(&mut self) -> Option<Bytes> {
        if let Some(bytes) = self.replay.pop_front() {
            return Some(bytes);
        }
        let pending = self.pending.as_mut()?;
        loop {
            let line = tokio::select! {
                () = self.session.closed.cancelled() => return None,
                () = self.shutdown.cancelled() => return None,
                Some(line) = pending.recv() => line,
                event = self.events.recv() => match event {
                    Ok(event) => match legacy_notification(&self.session.inner, &event) {
                        Some(line) => line,
                        None => continue,
                    },
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            };
            let streams = &self.session.streams;
            return Some(streams.lock().unwrap_or_else(PoisonError::into_inner).publish(STANDALONE, &line).0);
        }
    }

    fn into_stream(self) -> impl Stream<Item = Result<Bytes, Infallible>> {
        futures_util::stream::unfold(self, |mut s| async move { s.next().await.map(|b| (Ok(b), s)) })
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        if let Some(pending) = self.pending.take() {
            self.session.return_standalone(pending);
        }
    }
}

/// A legacy DELETE: ends the session.
pub(crate) fn delete(shared: &Arc<Shared>, headers: &HeaderMap) -> Response {
    if headers::names_modern_version(headers) {
        return response::method_not_allowed("POST");
    }
    let Some(id) = headers::text(headers, SESSION_ID) else {
        return session_required();
    };
    if shared.sessions.remove(id) {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::OK;
        response
    } else {
        session_not_found()
    }
}
