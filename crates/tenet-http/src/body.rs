//! Reading a request body under a size limit and a time limit.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::{CONNECTION, CONTENT_LENGTH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use crate::response;

/// 415: a body that is not declared as JSON where JSON is required.
pub(crate) fn not_json() -> Response {
    response::transport(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type: send application/json")
}

/// Reads the body, refusing more than `limit` bytes with 413, and a body that has not
/// all arrived `within` this long with 408 and the connection closed (its slot freed:
/// a body trickled a byte at a time would hold it otherwise).
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    within: Duration,
) -> Result<Bytes, Response> {
    let too_large =
        || response::transport(StatusCode::PAYLOAD_TOO_LARGE, format!("Payload Too Large: the limit is {limit} bytes"));
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut reading = std::pin::pin!(axum::body::to_bytes(body, limit));
    // A body that came with its headers (most do) is read at the first poll, with no
    // timer armed: a timer is a few hundred instructions of every request.
    let read = match std::future::poll_fn(|cx| Poll::Ready(reading.as_mut().poll(cx))).await {
        Poll::Ready(read) => read,
        Poll::Pending => {
            let Ok(read) = tokio::time::timeout(within, reading).await else {
                let mut response = response::transport(
                    StatusCode::REQUEST_TIMEOUT,
                    format!("Request Timeout: the body did not arrive within {} s", within.as_secs_f64()),
                );
                response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
                return Err(response);
            };
            read
        }
    };
    read.map_err(|e| {
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(error) = source {
            if error.is::<http_body_util::LengthLimitError>() {
                return too_large();
            }
            source = error.source();
        }
        response::transport(StatusCode::BAD_REQUEST, format!("Bad Request: cannot read the body: {e}"))
    })
}
