//! The long-lived streams open now, counted by caller: a legacy session's GET stream
//! (its own, or a request's stream resumed), an HTTP+SSE connection, a
//! `subscriptions/listen` stream, the web page's event stream and a WebSocket socket.
//! Each holds a connection (an HTTP connection slot, or a socket under the WebSocket
//! cap) for as long as it stays open, however idle. So one caller may hold at most
//! [`crate::HttpConfig::max_streams_per_caller`] of them, and those that hold HTTP
//! connections may together take at most three quarters of
//! [`crate::HttpConfig::max_connections`]: whatever many callers open, a quarter of the
//! connections stays for requests. A stream of a POST that ends with its request (a
//! tool call's progress) is not counted: it lasts no longer than the call.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use futures_util::{Stream, StreamExt};

use tenet_server::jsonrpc::{ErrorObject, Id};

use crate::caller::Shares;
use crate::response;

/// The streams open now, by caller ([`crate::caller::Caller::key`]), and how many of
/// them hold HTTP connections.
pub(crate) struct Streams {
    held: Mutex<Held>,
    /// The most streams holding HTTP connections at once.
    total: usize,
}

#[derive(Default)]
struct Held {
    by_caller: Shares,
    connections: usize,
}

/// Why a stream may not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Its caller holds this many already (429).
    Caller(usize),
    /// Streams hold their part of the HTTP connections (503).
    Total,
}

/// How soon a refused client may try again: a stream frees its place when it closes.
const RETRY: Duration = Duration::from_secs(1);

impl Refused {
    /// The HTTP answer: 429 or 503, each with `Retry-After`.
    pub(crate) fn response(self) -> Response {
        let mut response = match self {
            Refused::Caller(share) => response::transport(StatusCode::TOO_MANY_REQUESTS, too_many(share)),
            Refused::Total => return response::busy("too many open streams"),
        };
        response::retry_after(&mut response, RETRY);
        response
    }

    /// The answer to request `id` whose answer was to be the stream
    /// (`subscriptions/listen`): 429 with `Retry-After` and [`Refused::error`].
    pub(crate) fn answer(self, id: &Id) -> Response {
        let mut response = response::error(StatusCode::TOO_MANY_REQUESTS, Some(id), &self.error());
        response::retry_after(&mut response, RETRY);
        response
    }

    /// The JSON-RPC error: -32004 with `data.retryAfterMs`, as every rate limit.
    pub(crate) fn error(self) -> ErrorObject {
        let message = match self {
            Refused::Caller(share) => too_many(share),
            Refused::Total => "Too Many Requests: streams hold their part of this server's connections; retry".into(),
        };
        let mut error = tenet_server::rate_limited(RETRY);
        error.message = message.into();
        error
    }
}

impl Streams {
    /// Room for streams holding HTTP connections: three quarters of `max_connections`.
    pub(crate) fn new(max_connections: usize) -> Self {
        Self { held: Mutex::default(), total: (max_connections.max(1) * 3 / 4).max(1) }
    }

    /// A place for one more stream of `caller`, which holds an HTTP connection unless it
    /// is a WebSocket socket (`connection`); refused when the caller holds `share`
    /// already, or connection-holding streams their part of the connections. A caller
    /// of no name ([`crate::caller::UNNAMED`]: a router mounted with no client
    /// addresses) is bounded by the total alone.
    pub(crate) fn seat(
        self: &Arc<Self>,
        caller: Arc<str>,
        share: usize,
        connection: bool,
    ) -> Result<StreamSeat, Refused> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let share = share.max(1);
        if held.by_caller.holds(&caller, share) {
            return Err(Refused::Caller(share));
        }
        if connection && held.connections >= self.total {
            return Err(Refused::Total);
        }
        let caller = held.by_caller.interned(&caller);
        held.by_caller.take(&caller);
        held.connections += usize::from(connection);
        Ok(StreamSeat { streams: self.clone(), caller, connection })
    }

    /// How many streams `caller` holds.
    #[cfg(test)]
    fn held_by(&self, caller: &str) -> usize {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).by_caller.held(caller)
    }
}

/// The refusal's text for a caller past its share.
fn too_many(share: usize) -> String {
    format!(
        "Too Many Requests: this caller holds {share} open streams (GET streams, listen streams, HTTP+SSE and \
         WebSocket connections), the most one caller may; close one first"
    )
}

/// One open stream's place in its caller's share; given back when dropped (the stream
/// ended, or its client went away).
pub(crate) struct StreamSeat {
    streams: Arc<Streams>,
    caller: Arc<str>,
    connection: bool,
}

impl StreamSeat {
    /// `stream`, holding this place until the stream is dropped.
    pub(crate) fn hold<S: Stream>(self, stream: S) -> impl Stream<Item = S::Item> {
        stream.map(move |item| {
            let _held = &self;
            item
        })
    }
}

impl Drop for StreamSeat {
    fn drop(&mut self) {
        let mut held = self.streams.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.by_caller.give_back(&self.caller);
        held.connections -= usize::from(self.connection);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_gets_its_share_and_no_more_and_a_closed_stream_gives_its_place_back() {
        let streams = Arc::new(Streams::new(1024));
        let alice: Arc<str> = Arc::from("key:alice");
        let seats: Vec<_> = (0..3).map(|_| streams.seat(alice.clone(), 3, true).unwrap()).collect();
        assert_eq!(streams.seat(alice.clone(), 3, false).err(), Some(Refused::Caller(3)), "a socket counts too");
        let refused = Refused::Caller(3).response();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers()[axum::http::header::RETRY_AFTER], "1");
        assert_eq!(Refused::Caller(3).error().data.unwrap()["retryAfterMs"], 1000);
        assert!(streams.seat(Arc::from("key:bob"), 3, true).is_ok(), "another caller keeps its share");
        drop(seats);
        assert_eq!(streams.held_by("key:alice"), 0);
        let again: Vec<_> = (0..3).map(|_| streams.seat(alice.clone(), 3, true)).collect();
        assert!(again.iter().all(Result::is_ok), "closed streams give every place back");
    }

    #[test]
    fn streams_holding_connections_leave_a_quarter_of_them_for_requests() {
        let streams = Arc::new(Streams::new(8));
        let seats: Vec<_> =
            (0..6).map(|i| streams.seat(Arc::from(format!("ip:10.0.0.{i}")), 2, true).unwrap()).collect();
        assert_eq!(streams.seat(Arc::from("ip:10.0.0.9"), 2, true).err(), Some(Refused::Total));
        assert_eq!(Refused::Total.response().status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(streams.seat(Arc::from("ip:10.0.0.9"), 2, false).is_ok(), "sockets have a cap of their own");
        drop(seats);
        assert!(streams.seat(Arc::from("ip:10.0.0.9"), 2, true).is_ok());
    }

    #[test]
    fn a_caller_of_no_name_is_bounded_by_the_total_alone() {
        let streams = Arc::new(Streams::new(1024));
        let seats: Vec<_> = (0..5).map(|_| streams.seat(Arc::from(crate::caller::UNNAMED), 1, true)).collect();
        assert!(seats.iter().all(Result::is_ok));
    }
}
