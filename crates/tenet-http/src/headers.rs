//! Reading the request headers MCP defines, and content negotiation.

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT, CONTENT_TYPE, SEC_WEBSOCKET_PROTOCOL, UPGRADE};
use axum::http::header::{AsHeaderName, HeaderName};
use tenet_server::protocol::{Era, ProtocolVersion};

/// `MCP-Protocol-Version`.
pub(crate) const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// `Mcp-Session-Id` (legacy sessions).
pub(crate) const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// `Mcp-Method` (2026-07-28).
pub(crate) const METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// `Mcp-Name` (2026-07-28).
pub(crate) const NAME: HeaderName = HeaderName::from_static("mcp-name");
/// `Last-Event-ID` (legacy resumability).
pub(crate) const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// A header's value with optional whitespace (RFC 9110 OWS) trimmed; `None` when absent
/// or not UTF-8.
pub(crate) fn text(headers: &HeaderMap, name: impl AsHeaderName) -> Option<&str> {
    let value = headers.get(name)?;
    std::str::from_utf8(value.as_bytes()).ok().map(|v| v.trim_matches([' ', '\t']))
}

/// Whether `MCP-Protocol-Version` names the stateless era (or a version we do not
/// know, which only a stateless client would send). Absent or legacy: `false`.
pub(crate) fn names_modern_version(headers: &HeaderMap) -> bool {
    text(headers, PROTOCOL_VERSION).is_some_and(|v| ProtocolVersion::parse(v).is_none_or(|v| v.era() == Era::Stateless))
}

/// Whether the body is declared as JSON.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE) else { return false };
    // What clients send, answered without reading it apart.
    if value.as_bytes() == b"application/json" {
        return true;
    }
    value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// What an `Accept` header allows among the two types MCP responds with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Accepts {
    /// `application/json`.
    pub json: bool,
    /// `text/event-stream`.
    pub sse: bool,
}

/// Reads `Accept`; no header accepts anything (RFC 9110 §12.5.1).
pub(crate) fn accepts(headers: &HeaderMap) -> Accepts {
    // What clients send, byte for byte, answered without reading it apart (it was about
    // 2 % of a stateless tools/call's instructions).
    let mut values = headers.get_all(ACCEPT).iter();
    if let (Some(only), None) = (values.next(), values.next()) {
        match only.as_bytes() {
            b"application/json, text/event-stream" | b"text/event-stream, application/json" => {
                return Accepts { json: true, sse: true };
            }
            b"application/json" => return Accepts { json: true, sse: false },
            b"text/event-stream" => return Accepts { json: false, sse: true },
            _ => {}
        }
    }
    let mut found = Accepts { json: false, sse: false };
    let mut any = false;
    for value in headers.get_all(ACCEPT) {
        any = true;
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim();
            if parts.any(refuses) {
                continue;
            }
            let is = |name: &str| media.eq_ignore_ascii_case(name);
            if is("*/*") {
                found = Accepts { json: true, sse: true };
            } else if is("application/*") || is("application/json") {
                found.json = true;
            } else if is("text/*") || is("text/event-stream") {
                found.sse = true;
            }
        }
    }
    if any { found } else { Accepts { json: true, sse: true } }
}

/// Whether a media-range parameter is `q=0` (whitespace ignored): "not acceptable".
fn refuses(parameter: &str) -> bool {
    let mut chars = parameter.chars().filter(|c| !c.is_ascii_whitespace());
    matches!((chars.next(), chars.next(), chars.next(), chars.next()), (Some('q' | 'Q'), Some('='), Some('0'), None))
}

/// The subprotocol an MCP WebSocket speaks.
pub(crate) const SUBPROTOCOL: &str = "mcp";

/// The subprotocol prefix a browser, which cannot set headers, carries its bearer
/// token in: `mcp.auth.<token>` beside `mcp`.
pub(crate) const AUTH_SUBPROTOCOL_PREFIX: &str = "mcp.auth.";

/// Whether a GET asks to become a WebSocket.
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    lists(headers, UPGRADE, "websocket")
}

/// Whether the comma-separated list in header `name` holds `token` (in any case).
pub(crate) fn lists(headers: &HeaderMap, name: impl AsHeaderName, token: &str) -> bool {
    let value = headers.get(name).and_then(|v| v.to_str().ok());
    value.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// The subprotocols a client offers, in order.
pub(crate) fn offered(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// The bearer token a browser offers as a `mcp.auth.<token>` subprotocol, if any.
pub(crate) fn subprotocol_token(headers: &HeaderMap) -> Option<&str> {
    offered(headers).find_map(|p| p.strip_prefix(AUTH_SUBPROTOCOL_PREFIX)).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: impl axum::http::header::IntoHeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn header_values_are_trimmed_and_names_case_insensitive() {
        let h = with("MCP-METHOD", " \ttools/list ");
        assert_eq!(text(&h, "Mcp-Method"), Some("tools/list"));
        assert_eq!(text(&h, METHOD), Some("tools/list"));
    }

    #[test]
    fn modern_versions_and_unknown_ones_select_the_stateless_era() {
        assert!(names_modern_version(&with(PROTOCOL_VERSION, "2026-07-28")));
        assert!(names_modern_version(&with(PROTOCOL_VERSION, "v999.0.0")));
        assert!(!names_modern_version(&with(PROTOCOL_VERSION, "2025-11-25")));
        assert!(!names_modern_version(&HeaderMap::new()));
    }

    #[test]
    fn accept_ranges() {
        let both = Accepts { json: true, sse: true };
        assert_eq!(accepts(&with("accept", "application/json, text/event-stream")), both);
        assert_eq!(accepts(&with("accept", "*/*")), both);
        assert_eq!(accepts(&HeaderMap::new()), both);
        assert_eq!(accepts(&with("accept", "text/event-stream")), Accepts { json: false, sse: true });
        assert_eq!(accepts(&with("accept", "text/html, application/json;q=0")), Accepts { json: false, sse: false });
        let refused = with("accept", "Application/JSON; Q = 0, TEXT/event-stream");
        assert_eq!(accepts(&refused), Accepts { json: false, sse: true });
        // The forms answered at once agree with reading them apart.
        for value in ["text/event-stream, application/json", "application/json", "application/json,text/event-stream"] {
            let fast = accepts(&with("accept", value));
            let mut split = with("accept", value);
            split.append("accept", axum::http::HeaderValue::from_static("image/png"));
            assert_eq!(fast, accepts(&split), "{value}");
        }
        let mut two = with("accept", "text/event-stream");
        two.append("accept", axum::http::HeaderValue::from_static("application/json"));
        assert_eq!(accepts(&two), both, "every Accept header counts");
    }

    #[test]
    fn content_type_with_parameters_is_json() {
        assert!(is_json(&with("content-type", "application/json")));
        assert!(is_json(&with("content-type", "application/json; charset=utf-8")));
        assert!(is_json(&with("content-type", " Application/JSON ")));
        assert!(!is_json(&with("content-type", "text/plain")));
        assert!(!is_json(&HeaderMap::new()));
    }
}
