//! What a request is answered when it names no session it may use, or when no session
//! can be opened for it.

use axum::http::StatusCode;
use axum::response::Response;
use tenet_server::jsonrpc::ErrorObject;

use super::{Full, Lookup};
use crate::response::{self, SESSION_NOT_FOUND};

/// 400: a request that needs a session names none.
pub(crate) fn required() -> Response {
    response::transport(StatusCode::BAD_REQUEST, "Bad Request: Mcp-Session-Id header is required")
}

/// 404: the session named is unknown, expired, deleted or another caller's.
pub(crate) fn not_found() -> Response {
    response::error(StatusCode::NOT_FOUND, None, &ErrorObject::new(SESSION_NOT_FOUND, "Session not found"))
}

impl Full {
    /// 503 when the server holds all the sessions it may; 429 when this caller holds its
    /// share (ending one of its own makes room).
    pub(crate) fn response(self) -> Response {
        match self {
            Full::Total => response::busy("too many sessions"),
            Full::Caller(most) => response::transport(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too Many Requests: this caller holds {most} sessions, the most one caller may; end one (DELETE) or let one idle out"
                ),
            ),
        }
    }
}

impl Lookup {
    /// 404 for a session not found; 503 with `Retry-After` when the store shared with
    /// other replicas, or this replica, cannot serve it now; [`Full::response`].
    pub(crate) fn response(self) -> Response {
        match self {
            Lookup::NotFound => not_found(),
            Lookup::Unavailable(e) => response::busy(&e.to_string()),
            Lookup::Full(full) => full.response(),
        }
    }
}
