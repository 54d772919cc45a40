//! The MCP endpoint: checks every request (Host/Origin, method, content type, size),
//! tells the eras apart, and serves stateless (2026-07-28) POSTs. Legacy requests go
//! to [`crate::legacy`].

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use futures_util::Stream;
use tenet_server::jsonrpc::{ErrorObject, Incoming, Message};
use tenet_server::protocol::Method as McpMethod;
use tenet_server::{CancellationToken, Probe};
use tokio::sync::mpsc;
use tokio_util::sync::DropGuard;

use crate::body;
use crate::caller::Caller;
use crate::exchange::{Exchange, Item, MESSAGE_CAPACITY, Start};
use crate::headers;
use crate::response::{self, status_for};
use crate::shared::Shared;
use crate::streams::StreamSeat;
use crate::{legacy, modern, sse, websocket};

/// The MCP endpoint, for every HTTP method, behind the door ([`crate::door::admit`]).
pub(crate) async fn serve(shared: Arc<Shared>, caller: Caller, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    match parts.method {
        Method::POST => post(&shared, &parts.headers, body, caller).await,
        Method::GET if headers::is_upgrade(&parts.headers) => websocket::upgrade(&shared, &mut parts, caller),
        Method::GET => legacy::get(&shared, &parts.headers, &caller).await,
        Method::DELETE => legacy::delete(&shared, &parts.headers, &caller).await,
        _ => response::method_not_allowed("GET, POST, DELETE"),
    }
}

async fn post(shared: &Arc<Shared>, headers: &HeaderMap, body: Body, caller: Caller) -> Response {
    if !headers::is_json(headers) {
        return body::not_json();
    }
    let accepts = headers::accepts(headers);
    if !(accepts.json && accepts.sse) {
        return response::not_acceptable("both application/json and text/event-stream");
    }
    let bytes = match shared.read_body(headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let incoming = match tenet_server::jsonrpc::parse(&bytes) {
        Ok(incoming) => incoming,
        Err(rejection) => return response::error(StatusCode::BAD_REQUEST, rejection.id.as_ref(), &rejection.error),
    };
    if headers::names_modern_version(headers) || speaks_modern(&incoming) {
        modern_post(shared, headers, incoming, caller).await
    } else {
        legacy::post(shared, headers, incoming, caller).await
    }
}

/// Whether a single message names a stateless version or capabilities in its `_meta`.
fn speaks_modern(incoming: &Incoming) -> bool {
    let params = match incoming {
        Incoming::Single(Message::Request(r)) => r.params.as_deref(),
        Incoming::Single(Message::Notification(n)) => n.params.as_deref(),
        _ => None,
    };
    params.is_some_and(|p| {
        p.get().contains("io.modelcontextprotocol/")
            && Probe::of_params(Some(p)).is_ok_and(|probe| probe.is_stateless())
    })
}

/// A stateless POST: one request (JSON or a per-request SSE stream) or a notification.
async fn modern_post(shared: &Arc<Shared>, headers: &HeaderMap, incoming: Incoming, caller: Caller) -> Response {
    let request = match incoming {
        Incoming::Single(Message::Request(request)) => request,
        Incoming::Single(Message::Notification(notification)) => {
            return match modern::check_method(headers, &notification.method, false) {
                Ok(()) => response::accepted(),
                Err(e) => response::error(StatusCode::BAD_REQUEST, None, &e),
            };
        }
        Incoming::Single(Message::Response(_)) => {
            let e = ErrorObject::invalid_request("Invalid Request: no request of this server awaits a response");
            return response::error(StatusCode::BAD_REQUEST, None, &e);
        }
        Incoming::Batch(_) => {
            let e = ErrorObject::invalid_request("Invalid Request: JSON-RPC batches are not part of 2026-07-28");
            return response::error(StatusCode::BAD_REQUEST, None, &e);
        }
    };
    // The params are read once, for the header rules and for routing.
    let probe = match Probe::read(&request) {
        Ok(probe) => probe,
        Err(e) => return response::error(status_for(e.code), Some(&request.id), &e),
    };
    if let Err(e) = modern::check(&shared.server, headers, &request, &probe) {
        return response::error(status_for(e.code), Some(&request.id), &e);
    }
    // A listen stream stays open for as long as the client likes: once it is
    // acknowledged (its checks passed), it holds a place in the caller's share.
    let listen = (request.method == McpMethod::SubscriptionsListen.name()).then(|| (request.id.clone(), caller.key()));
    let (out, messages) = mpsc::channel(MESSAGE_CAPACITY);
    let cancel = CancellationToken::new();
    let link = caller.link(out, cancel.clone(), shared.shutdown.clone());
    let routed = shared.server.route_probed(&request, probe, &link);
    let server = shared.server.clone();
    let answer = Box::pin(async move { server.respond(request, routed, &link).await });
    // Dropping the response body (the client closed the stream) cancels the request.
    let guard = cancel.drop_guard();
    match Exchange::one(messages, answer).start().await {
        Start::Complete(answers) => {
            let Some(answer) = answers.into_iter().next() else {
                return response::transport(StatusCode::INTERNAL_SERVER_ERROR, "no answer");
            };
            response::answer(answer.error.map_or(StatusCode::OK, status_for), answer.line)
        }
        Start::Streaming { head, exchange } => {
            // Refused, the listen is cancelled by the guard, dropped with the exchange.
            let seat = match listen.map(|(id, key)| (id, shared.seat(key))) {
                Some((id, Err(refused))) => return refused.answer(&id),
                seat => seat.and_then(|(_, seat)| seat.ok()),
            };
            response::event_stream(Body::from_stream(stream(head, exchange, (guard, seat))))
        }
    }
}

/// The items of a stateless exchange as SSE events; it ends after the answer. `held`
/// (what cancels the request, and the stream's place in its caller's share) is let go
/// when the stream is dropped.
fn stream(
    head: VecDeque<Item>,
    exchange: Exchange,
    held: (DropGuard, Option<StreamSeat>),
) -> impl Stream<Item = Result<Bytes, Infallible>> {
    futures_util::stream::unfold((head, exchange, held), |(mut head, mut exchange, held)| async move {
        let item = match head.pop_front() {
            Some(item) => item,
            None => exchange.next().await?,
        };
        Some((Ok(sse::event(item.line())), (head, exchange, held)))
    })
}
