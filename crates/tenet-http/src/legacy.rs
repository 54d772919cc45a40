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
use tenet_server::jsonrpc::{ErrorObject, Incoming, Message};
use tenet_server::protocol::Method;
use tenet_server::store::Unavailable;
use tenet_server::{Announcements, Pending};
use tokio::sync::mpsc;

use crate::caller::Caller;
use crate::exchange::{AnswerFuture, Exchange, Item, MESSAGE_CAPACITY, Start, json_body};
use crate::headers::{self, LAST_EVENT_ID, SESSION_ID};
use crate::replay::{Listener, Resumability, Resumed, STANDALONE};
use crate::response;
use crate::session::{self, HttpSession, Lookup, SessionId};
use crate::shared::Shared;
use crate::{sse, stream_log};

/// Framed events waiting for a slow client, per stream.
const LISTENER_CAPACITY: usize = 32;

/// The session a request names, if `caller` may use it; else what the request is
/// answered.
async fn session(shared: &Shared, headers: &HeaderMap, caller: &Caller) -> Result<Arc<HttpSession>, Response> {
    let id = headers::text(headers, SESSION_ID).ok_or_else(session::required)?;
    let id = SessionId::parse(id).ok_or_else(session::not_found)?;
    let found = shared.sessions.find(id, &shared.server, &shared.shutdown, caller.grant.as_ref(), || caller.key());
    found.await.map_err(Lookup::response)
}

/// A legacy POST.
pub(crate) async fn post(shared: &Arc<Shared>, headers: &HeaderMap, incoming: Incoming, caller: Caller) -> Response {
    if headers::text(headers, SESSION_ID).is_none() {
        return initialize(shared, incoming, caller).await;
    }
    let session = match session(shared, headers, &caller).await {
        Ok(session) => session,
        Err(refused) => return refused,
    };
    let (out, messages) = mpsc::channel(MESSAGE_CAPACITY);
    match incoming {
        Incoming::Single(Message::Request(request)) => {
            let id = request.id.clone();
            let mut pending = session.driver.admit(request, out, caller.grant, caller.limited);
            if shared.sessions.shared.is_some() {
                // What the request changed in the session's state is shared before it
                // is answered, so the client's next request finds it on any replica.
                let (shared, session) = (shared.clone(), session.clone());
                pending = Box::pin(async move {
                    let answer = pending.await?;
                    Ok(match shared.sessions.sync(&session).await {
                        Ok(()) => answer,
                        Err(e) => session.driver.error_answer(Some(&id), &ErrorObject::internal(e.to_string())),
                    })
                });
            }
            exchange(shared, &session, vec![pending], messages, false).await
        }
        Incoming::Single(message) => {
            // A response to a request another replica sent goes to that replica.
            match shared.sessions.forward(&session, &message).await {
                Ok(true) => return response::accepted(),
                Ok(false) => {}
                Err(e) => return Lookup::Unavailable(e).response(),
            }
            match session.driver.accept(message) {
                Ok(()) => response::accepted(),
                Err(e) => response::error(StatusCode::BAD_REQUEST, None, &e),
            }
        }
        Incoming::Batch(mut entries) => match forward_batch(shared, &session, &mut entries).await {
            Err(e) => Lookup::Unavailable(e).response(),
            Ok(()) => match session.driver.admit_batch(entries, &out, caller.grant.as_ref(), caller.limited.as_ref()) {
                Err(e) => response::error(StatusCode::BAD_REQUEST, None, &e),
                Ok(pending) if pending.is_empty() => response::accepted(),
                Ok(pending) => {
                    drop(out);
                    let pending = match shared.sessions.shared {
                        None => pending,
                        Some(_) => pending
                            .into_iter()
                            .map(|pending| {
                                let (shared, session) = (shared.clone(), session.clone());
                                Box::pin(async move {
                                    let answer = pending.await?;
                                    if let Err(e) = shared.sessions.sync(&session).await {
                                        tracing::warn!("a batch's change to session {} is not shared: {e}", session.id);
                                    }
                                    Ok(answer)
                                }) as Pending
                            })
                            .collect(),
                    };
                    exchange(shared, &session, pending, messages, true).await
                }
            },
        },
    }
}

/// Forwards what in a batch is for other replicas (as for a single message), leaving
/// the rest to this one.
async fn forward_batch(
    shared: &Shared,
    session: &HttpSession,
    entries: &mut Vec<Result<Message, tenet_server::jsonrpc::Rejection>>,
) -> Result<(), Unavailable> {
    if shared.sessions.shared.is_none() {
        return Ok(());
    }
    let mut kept = Vec::with_capacity(entries.len());
    for entry in entries.drain(..) {
        if let Ok(message) = &entry
            && shared.sessions.forward(session, message).await?
        {
            continue;
        }
        kept.push(entry);
    }
    *entries = kept;
    Ok(())
}

/// `initialize` without a session: mints one, answered with its id.
async fn initialize(shared: &Arc<Shared>, incoming: Incoming, caller: Caller) -> Response {
    let request = match incoming {
        Incoming::Single(Message::Request(request)) if request.method == Method::Initialize.name() => request,
        _ => return session::required(),
    };
    let Caller { grant, limited, .. } = &caller;
    let session = match shared.sessions.create(&shared.server, &shared.shutdown, grant.clone(), &caller.key()) {
        Ok(session) => session,
        Err(full) => return full.response(),
    };
    let unanswered = shared.sessions.unanswered(&session, grant.as_deref());
    let id = request.id.clone();
    // `initialize` sends nothing before its answer; nobody reads this channel.
    let (out, _) = mpsc::channel(1);
    let answer =
        session.driver.admit(request, out, grant.clone(), limited.clone()).await.unwrap_or_else(|c| c.answer());
    if answer.error.is_some() {
        return response::json(StatusCode::OK, answer.line);
    }
    if let Err(e) = shared.sessions.publish(&session).await {
        let answer = session.driver.error_answer(Some(&id), &ErrorObject::internal(e.to_string()));
        let mut response = response::json(StatusCode::SERVICE_UNAVAILABLE, answer.line);
        response::retry_after(&mut response, std::time::Duration::from_secs(1));
        return response;
    }
    if let Some(negotiated) = session.inner().negotiated() {
        let rules = Resumability::of(negotiated.version);
        session.streams.lock().unwrap_or_else(PoisonError::into_inner).set_resumability(rules);
    }
    let mut response = response::json(StatusCode::OK, answer.line);
    if let Ok(id) = HeaderValue::from_str(&session.id.to_string()) {
        response.headers_mut().insert(SESSION_ID, id);
        unanswered.answered();
    }
    response
}

/// Serves requests of a session: JSON when they are answered before anything else is
/// sent, else an SSE stream that survives the client leaving and, from 2025-03-26 on,
/// can be resumed. Only 2025-11-25 streams open with a priming event and may be ended
/// early (SSE polling); older clients parse every `data:` as JSON.
async fn exchange(
    shared: &Arc<Shared>,
    session: &Arc<HttpSession>,
    pending: Vec<Pending>,
    messages: mpsc::Receiver<Vec<u8>>,
    batch: bool,
) -> Response {
    let answers: Vec<AnswerFuture> = pending
        .into_iter()
        .map(|p| Box::pin(async move { p.await.unwrap_or_else(|c| c.answer()) }) as AnswerFuture)
        .collect();
    let (rules, ends_early) = {
        let streams = session.streams.lock().unwrap_or_else(PoisonError::into_inner);
        (streams.resumability(), streams.ends_early())
    };
    match Exchange::new(messages, answers, ends_early).start().await {
        Start::Complete(answers) => {
            response::answer(response::legacy_status(&answers, batch), json_body(&answers, batch))
        }
        Start::Streaming { head, exchange } => {
            let (listener, events) = mpsc::channel(LISTENER_CAPACITY);
            let (stream, priming) = session.streams.lock().unwrap_or_else(PoisonError::into_inner).open(listener);
            tokio::spawn(pump(shared.clone(), session.clone(), stream, head, exchange));
            let first = if rules.polls() {
                vec![sse::priming(&priming, shared.config.sse_retry.as_millis())]
            } else {
                Vec::new()
            };
            response::event_stream(Body::from_stream(listen(first, events)))
        }
    }
}

/// Moves an exchange's items into its stream's log (and the store's, for a shared
/// session) and to whoever listens, until every request is answered or the session
/// ends. The client leaving does not stop it.
async fn pump(
    shared: Arc<Shared>,
    session: Arc<HttpSession>,
    stream: u64,
    mut head: VecDeque<Item>,
    mut exchange: Exchange,
) {
    // Whether every event so far is in the store's log: a stream with a gap in it stays
    // live, since a resumption on another replica would stop at the gap.
    let mut logged = true;
    loop {
        let item = match head.pop_front() {
            Some(item) => item,
            None => tokio::select! {
                () = session.driver.closed() => break,
                item = exchange.next() => match item {
                    Some(item) => item,
                    None => break,
                },
            },
        };
        if matches!(item, Item::Break) {
            // SSE polling: end the live response; the client resumes with Last-Event-ID.
            if logged {
                session.streams.lock().unwrap_or_else(PoisonError::into_inner).end_live(stream);
            }
            continue;
        }
        let published = session.streams.lock().unwrap_or_else(PoisonError::into_inner).publish(stream, item.line());
        if let Some(entry) = &published.log {
            logged &= stream_log::record(&shared, &session, entry, &published.bytes).await;
        }
        if let Some(listener) = published.listener {
            deliver(&session, stream, &listener, published.bytes).await;
        }
    }
    let end = session.streams.lock().unwrap_or_else(PoisonError::into_inner).finish(stream);
    if let Some(end) = end {
        stream_log::record(&shared, &session, &end, &[]).await;
    }
}

async fn deliver(session: &HttpSession, stream: u64, listener: &Listener, bytes: Bytes) {
    let sent = tokio::select! {
        () = session.driver.closed() => false,
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
pub(crate) async fn get(shared: &Arc<Shared>, headers: &HeaderMap, caller: &Caller) -> Response {
    if headers::names_modern_version(headers) {
        return response::method_not_allowed("POST");
    }
    let session = match session(shared, headers, caller).await {
        Ok(session) => session,
        Err(refused) => return refused,
    };
    if !headers::accepts(headers).sse {
        return response::not_acceptable("text/event-stream");
    }
    // Every stream this GET opens, the session's own or one resumed, holds a place in
    // the caller's share until it ends (crate::streams), taken once the GET is found
    // good.
    let mut replay = Vec::new();
    if let Some(last) = headers::text(headers, LAST_EVENT_ID) {
        let (listener, events) = mpsc::channel(LISTENER_CAPACITY);
        let resumed = session.streams.lock().unwrap_or_else(PoisonError::into_inner).resume(last, listener);
        match resumed {
            Err(e) => return response::transport(StatusCode::BAD_REQUEST, e.to_string()),
            Ok(Resumed::Here { stream, replay }) if stream != STANDALONE => {
                return shared.event_stream(caller.key(), listen(replay, events));
            }
            Ok(Resumed::Here { replay: here, .. }) => replay = here,
            // Another copy's stream: what it logged, then (a standalone stream) this
            // copy's own, or (a request's stream) the rest of it as it is logged.
            Ok(Resumed::Logged(foreign)) => {
                let start = match stream_log::start(shared, &session, &foreign).await {
                    Ok(start) => start,
                    Err(refused) => return refused,
                };
                if !foreign.standalone {
                    let (listener, events) = mpsc::channel(LISTENER_CAPACITY);
                    if !start.ended {
                        tokio::spawn(stream_log::follow(shared.clone(), session, foreign, start.last, listener));
                    }
                    return shared.event_stream(caller.key(), listen(start.replay, events));
                }
                replay = start.replay;
            }
        }
    }
    if !session.take_standalone() {
        return response::transport(StatusCode::CONFLICT, "Conflict: this session's GET stream is already open");
    }
    let mut streams = session.streams.lock().unwrap_or_else(PoisonError::into_inner);
    if replay.is_empty() && streams.resumability().polls() {
        // A fresh 2025-11-25 stream starts with a priming event, so a client can resume
        // from it.
        let cursor = streams.cursor(STANDALONE);
        replay.push(sse::priming(&cursor, shared.config.sse_retry.as_millis()));
    }
    drop(streams);
    let standalone = Standalone {
        shared: shared.clone(),
        replay: replay.into(),
        announcements: session.driver.announcements(),
        session,
    };
    // Refused, the standalone stream is dropped, and gives the session its GET back.
    shared.event_stream(caller.key(), standalone.into_stream())
}

/// The standalone stream: what the server announces not tied to a request (list changes,
/// resource updates). It ends with the session or the server.
struct Standalone {
    session: Arc<HttpSession>,
    /// List changes and resource updates, pulled while the stream is open.
    announcements: Announcements,
    shared: Arc<Shared>,
    replay: VecDeque<Bytes>,
}

impl Standalone {
    async fn next(&mut self) -> Option<Bytes> {
        if let Some(bytes) = self.replay.pop_front() {
            return Some(bytes);
        }
        let line = tokio::select! {
            () = self.session.driver.closed() => return None,
            () = self.shared.shutdown.cancelled() => return None,
            line = self.announcements.next() => line?,
        };
        let published = self.session.streams.lock().unwrap_or_else(PoisonError::into_inner).publish(STANDALONE, &line);
        if let Some(entry) = &published.log {
            stream_log::record(&self.shared, &self.session, entry, &published.bytes).await;
        }
        Some(published.bytes)
    }

    fn into_stream(self) -> impl Stream<Item = Result<Bytes, Infallible>> {
        futures_util::stream::unfold(self, |mut s| async move { s.next().await.map(|b| (Ok(b), s)) })
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        self.session.return_standalone();
    }
}

/// A legacy DELETE: ends the session, on every replica.
pub(crate) async fn delete(shared: &Arc<Shared>, headers: &HeaderMap, caller: &Caller) -> Response {
    if headers::names_modern_version(headers) {
        return response::method_not_allowed("POST");
    }
    let Some(id) = headers::text(headers, SESSION_ID) else { return session::required() };
    let Some(id) = SessionId::parse(id) else { return session::not_found() };
    match shared.sessions.end(id, caller.grant.as_ref()).await {
        Ok(true) => {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::OK;
            response
        }
        Ok(false) => session::not_found(),
        Err(lookup) => lookup.response(),
    }
}
