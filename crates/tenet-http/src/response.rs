//! The HTTP responses the endpoint sends: JSON bodies, errors, SSE streams, 202s.

use std::time::Duration;

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
        tenet_server::RATE_LIMITED => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The status of a legacy JSON answer: 403 for a lone insufficient-scope error (the
/// authorization layer adds the step-up challenge), 429 for a lone rate-limited one
/// (a busy tool), else 200.
pub(crate) fn legacy_status(answers: &[Answer], batch: bool) -> StatusCode {
    match answers {
        [answer] if !batch && answer.error == Some(tenet_server::INSUFFICIENT_SCOPE) => StatusCode::FORBIDDEN,
        [answer] if !batch && answer.error == Some(tenet_server::RATE_LIMITED) => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::OK,
    }
}

/// A JSON answer with `status`; a 429 also says in `Retry-After` what the error's
/// `data.retryAfterMs` says.
pub(crate) fn answer(status: StatusCode, body: Vec<u8>) -> Response {
    let wait = if status == StatusCode::TOO_MANY_REQUESTS { retry_after_ms(&body) } else { None };
    let mut response = json(status, body);
    if let Some(wait) = wait {
        retry_after(&mut response, wait);
    }
    response
}

/// `data.retryAfterMs` of a JSON-RPC error response.
fn retry_after_ms(body: &[u8]) -> Option<Duration> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.pointer("/error/data/retryAfterMs")?.as_u64().map(Duration::from_millis)
}

/// Sets `Retry-After` to `wait` in whole seconds, rounded up, at least 1.
pub(crate) fn retry_after(response: &mut Response, wait: Duration) {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
}

/// A JSON body.
pub(crate) fn json(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, JSON);
    response
}

/// Marks a response that refused the request before the server saw a message in it;
/// the endpoint counts these in `tenet_http_refused`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refused;

/// A JSON-RPC error response with `status` refusing the request (see [`Refused`]);
/// without an id the `id` member is left out.
pub(crate) fn error(status: StatusCode, id: Option<&Id>, error: &ErrorObject) -> Response {
    let mut body = Vec::with_capacity(128);
    tenet_server::jsonrpc::write_error_response(&mut body, id, UnknownId::Omit, error);
    let mut response = json(status, body);
    response.extensions_mut().insert(Refused);
    response
}

/// 429 for a request the rate limits refused (`refusal`, the -32004 error), with
/// `Retry-After` from its `data.retryAfterMs`.
pub(crate) fn rate_limited(refusal: &ErrorObject) -> Response {
    let mut response = error(StatusCode::TOO_MANY_REQUESTS, None, refusal);
    let wait = refusal.data.as_ref().and_then(|data| data.get("retryAfterMs")).and_then(serde_json::Value::as_u64);
    if let Some(ms) = wait {
        retry_after(&mut response, Duration::from_millis(ms));
    }
    response
}

/// Counts `response` in `metrics` when it is a refusal, and hands it on.
pub(crate) fn counted(metrics: &tenet_server::metrics::Metrics, response: Response) -> Response {
    if response.extensions().get::<Refused>().is_some() {
        metrics.refused(response.status().as_u16());
    }
    response
}

/// A transport-level error (`-32000`) with `status` and `message`.
pub(crate) fn transport(status: StatusCode, message: impl Into<String>) -> Response {
    error(status, None, &ErrorObject::new(TRANSPORT_ERROR, message.into()))
}

/// 406: the request's `Accept` does not allow `what` the answer must be.
pub(crate) fn not_acceptable(what: &str) -> Response {
    transport(StatusCode::NOT_ACCEPTABLE, format!("Not Acceptable: Accept must allow {what}"))
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

/// A whole HTTP/1.1 response refusing a connection before any request on it is read
/// (`status_line` such as `503 Service Unavailable`): the JSON-RPC error of
/// [`transport`] with `message`, `Retry-After: 1`, and `Connection: close`.
pub(crate) fn refusal(status_line: &str, message: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(128);
    tenet_server::jsonrpc::write_error_response(
        &mut body,
        None,
        UnknownId::Omit,
        &ErrorObject::new(TRANSPORT_ERROR, message.to_owned()),
    );
    let mut out = format!(
        "HTTP/1.1 {status_line}\r\ncontent-type: application/json\r\nretry-after: 1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
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
    fn a_rate_limited_answer_is_429_with_retry_after_rounded_up() {
        assert_eq!(status_for(tenet_server::RATE_LIMITED), StatusCode::TOO_MANY_REQUESTS);
        let mut line = Vec::new();
        let error = tenet_server::rate_limited(Duration::from_millis(1500));
        tenet_server::jsonrpc::write_error_response(&mut line, Some(&Id::Number(1)), UnknownId::Omit, &error);
        let r = answer(StatusCode::TOO_MANY_REQUESTS, line);
        assert_eq!(r.headers()[RETRY_AFTER], "2");
        assert!(answer(StatusCode::OK, b"{}".to_vec()).headers().get(RETRY_AFTER).is_none());
    }

    #[test]
    fn busy_says_when_to_retry() {
        let r = busy("too many sessions");
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[RETRY_AFTER], "1");
    }
}
