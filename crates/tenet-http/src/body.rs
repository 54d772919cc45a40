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
    let mut reading = std::pin::pin!(bytes_of(body, limit));
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
    read.map_err(|unread| match unread {
        Unread::TooLarge => too_large(),
        Unread::Failed(e) => {
            response::transport(StatusCode::BAD_REQUEST, format!("Bad Request: cannot read the body: {e}"))
        }
    })
}

/// Why a body was not read.
#[derive(Debug)]
enum Unread {
    /// It holds more than the limit.
    TooLarge,
    /// The connection failed, or the body was malformed (a bad chunk).
    Failed(axum::Error),
}

/// The data of `body`, at most `limit` bytes of it; trailers are passed over. A body in
/// one piece (nearly every request's) is that piece, neither copied nor queued, and it
/// is done when the body says it has ended, without waiting for a poll to say so.
async fn bytes_of(mut body: Body, limit: usize) -> Result<Bytes, Unread> {
    use http_body_util::BodyExt;
    let mut first = Bytes::new();
    // Only when the body came in more than one piece.
    let mut joined: Option<Vec<u8>> = None;
    while !hyper::body::Body::is_end_stream(&body) {
        let Some(frame) = body.frame().await else { break };
        let Ok(data) = frame.map_err(Unread::Failed)?.into_data() else { continue };
        let had = joined.as_ref().map_or(first.len(), Vec::len);
        if had.saturating_add(data.len()) > limit {
            return Err(Unread::TooLarge);
        }
        match &mut joined {
            Some(joined) => joined.extend_from_slice(&data),
            None if first.is_empty() => first = data,
            None => joined = Some([&first[..], &data[..]].concat()),
        }
    }
    Ok(joined.map_or(first, Bytes::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    fn pieces(parts: &[&'static str]) -> Body {
        let frames: Vec<Result<Bytes, std::io::Error>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p.as_bytes()))).collect();
        Body::from_stream(stream::iter(frames))
    }

    #[tokio::test]
    async fn a_body_is_read_whole_in_one_piece_or_many() {
        assert_eq!(bytes_of(Body::from("{\"a\":1}"), 64).await.unwrap(), "{\"a\":1}");
        assert_eq!(bytes_of(Body::empty(), 64).await.unwrap(), "");
        assert_eq!(bytes_of(pieces(&["{\"a\"", ":", "1}"]), 64).await.unwrap(), "{\"a\":1}");
        assert_eq!(bytes_of(pieces(&["", "ab", "", "c"]), 64).await.unwrap(), "abc");
    }

    #[tokio::test]
    async fn more_than_the_limit_is_refused_however_it_comes() {
        assert!(matches!(bytes_of(Body::from("abcde"), 4).await, Err(Unread::TooLarge)));
        assert!(matches!(bytes_of(pieces(&["ab", "cd", "e"]), 4).await, Err(Unread::TooLarge)));
        assert_eq!(bytes_of(pieces(&["ab", "cd"]), 4).await.unwrap(), "abcd");
    }

    #[tokio::test]
    async fn a_failed_body_is_a_failure() {
        let frames: Vec<Result<Bytes, std::io::Error>> =
            vec![Ok(Bytes::from_static(b"ab")), Err(std::io::Error::other("reset"))];
        let read = bytes_of(Body::from_stream(stream::iter(frames)), 64).await;
        assert!(matches!(read, Err(Unread::Failed(e)) if e.to_string().contains("reset")));
    }
}
