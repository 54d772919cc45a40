//! The HTTP responses the endpoint sends: JSON bodies, errors, SSE streams, 202s.

use axum::body::Body;
use axum::http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use tenet_server::Answer;
use tenet_server::jsonrpc::{ErrorCode, ErrorObject, Id, UnknownId};

/// Transport-level failures (no JSON-RPC meaning of their own), as the SDKs send them.
pub(crate) const TRANSPORT_ERROR: ErrorCode = ErrorCode(-32000);
/// The session named by `Mcp-Session-Id` does not exist (any more).
pub(crate) const SESSION_NOT_FOUND: ErrorCode = ErrorCode(-32001);

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// The HTTP status a stateless (2026-07-28) error response gets.
pub(crate) fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        ErrorCode::INTERNAL_ERROR => StatusCode::INTERNAL_SERVER_ERROR,
        tenet_server::INSUFFICIENT_SCOPE => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The status of a legacy JSON answer: 403 for a lone insufficient-scope error (the
/// authorization layer adds the step-up challenge), else 200.
pub(crate) fn legacy_status(answers: &[Answer], batch: bool) -> StatusCode {
    match answers {
        [answer] if !batch && answer.error == Some(tenet_server::INSUFFICIENT_SCOPE) => StatusCode::FORBIDDEN,
        _ => StatusCode::OK,
    }
}

/// A JSON body.
pub(crate) fn json(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, JSON);
    response
}

/// A JSON-RPC error response with `status`; without an id the `id` member is left out.
pub(crate) fn error(status: StatusCode, id: Option<&Id>, error: &ErrorObject) -> Response {
    let mut body = Vec::with_capacity(128);
    tenet_server::jsonrpc::write_error_response(&mut body, id, UnknownId::Omit, error);
    json(status, body)
}

/// A transport-level error (`-32000`) with `status` and `message`.
pub(crate) fn transport(status: StatusCode, message: impl Into<String>) -> Response {
    error(status, None, &ErrorObject::new(TRANSPORT_ERROR, message.into()))
}

/// 202 Accepted, no body.
pub(crate) fn accepted() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}

/// 503 with `Retry-After`, when a capacity limit is reached.
pub(crate) fn busy(what: &str) -> Response {
    let mut response = transport(StatusCode::SERVICE_UNAVAILABLE, format!("Service Unavailable: {what}"));
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// 405 with the methods the endpoint allows.
pub(crate) fn method_not_allowed(allow: &'static str) -> Response {
    let mut response = transport(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    response.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    response
}

/// A `text/event-stream` response with `body`, unbuffered by proxies.
pub(crate) fn event_stream(body: Body) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stateless_errors_map_to_the_spec_statuses() {
        assert_eq!(status_for(ErrorCode::METHOD_NOT_FOUND), StatusCode::NOT_FOUND);
        for code in [
            ErrorCode::INVALID_PARAMS,
            ErrorCode::HEADER_MISMATCH,
            ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY,
            ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
            ErrorCode::PARSE_ERROR,
            ErrorCode::INVALID_REQUEST,
        ] {
            assert_eq!(status_for(code), StatusCode::BAD_REQUEST, "{code}");
        }
        assert_eq!(status_for(ErrorCode::INTERNAL_ERROR), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn busy_says_when_to_retry() {
        let r = busy("too many sessions");
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[RETRY_AFTER], "1");
    }
}
