//! What every request handler of one endpoint shares.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use futures_util::Stream;
use tenet_server::{CancellationToken, Server};

use crate::config::HttpConfig;
use crate::guard::Guard;
use crate::response;
use crate::session::Sessions;
use crate::streams::{Refused, StreamSeat};

/// What every request handler shares.
pub(crate) struct Shared {
    pub server: Server,
    pub config: HttpConfig,
    pub guard: Guard,
    pub sessions: Sessions,
    /// HTTP+SSE (2024-11-05) connections.
    pub legacy_sse: crate::sse_connections::Connections,
    /// Open WebSocket connections.
    pub sockets: crate::sockets::Sockets,
    /// The long-lived streams open now, by caller.
    pub streams: Arc<crate::streams::Streams>,
    /// Fires when the server shuts down: long-lived streams end.
    pub shutdown: CancellationToken,
}

impl Shared {
    /// The body of a request, within this endpoint's size and time limits
    /// ([`crate::body::read_body`]).
    pub(crate) async fn read_body(&self, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
        crate::body::read_body(headers, body, self.config.max_body_bytes, self.config.body_read_timeout).await
    }

    /// A place in `caller`'s share of long-lived streams (and in the connections' part),
    /// held until the seat is dropped.
    pub(crate) fn seat(&self, caller: Arc<str>) -> Result<StreamSeat, Refused> {
        self.streams.seat(caller, self.config.max_streams_per_caller, true)
    }

    /// `stream` as an SSE response that holds a place in `caller`'s share of streams (and
    /// in the connections' part) until it ends; or the refusal, when there is none.
    pub(crate) fn event_stream<S>(&self, caller: Arc<str>, stream: S) -> Response
    where
        S: Stream<Item = Result<Bytes, Infallible>> + Send + 'static,
    {
        match self.seat(caller) {
            Ok(seat) => response::event_stream(Body::from_stream(seat.hold(stream))),
            Err(refused) => refused.response(),
        }
    }

    /// `response` of `caller`, which holds a place in its share until its body ends when
    /// it is an SSE stream (the web page's `/events`); a refusal instead when there is
    /// none.
    pub(crate) fn seated(&self, caller: Arc<str>, response: Response) -> Response {
        let is_stream =
            response.headers().get(CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
        if !is_stream {
            return response;
        }
        match self.seat(caller) {
            Ok(seat) => response.map(|body| Body::from_stream(seat.hold(body.into_data_stream()))),
            Err(refused) => refused.response(),
        }
    }
}
