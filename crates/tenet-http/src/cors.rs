//! CORS for browser clients, off unless `HttpConfig::cors_origins` names origins.
//!
//! An allowed origin is echoed exactly in `Access-Control-Allow-Origin` (with
//! `Vary: Origin`) and may read `Mcp-Session-Id` and, on a 401 or 403, the
//! `WWW-Authenticate` challenge that points to the authorization metadata. A preflight
//! `OPTIONS` is answered here, before any authorization check (browsers send it
//! without credentials): the methods the endpoint serves, and of the headers asked
//! for, those MCP defines (`Mcp-Param-*` included) plus `Authorization` and
//! `Content-Type`. Other origins get no CORS headers, so browsers keep their responses
//! from the page.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Request headers a browser may send besides the CORS-safelisted ones.
const ALLOWED_HEADERS: [&str; 7] = [
    "mcp-session-id",
    "mcp-protocol-version",
    "mcp-method",
    "mcp-name",
    "last-event-id",
    "authorization",
    "content-type",
];
/// The prefix of the `x-mcp-header` parameter headers (2026-07-28).
const PARAM_PREFIX: &str = "mcp-param-";
/// The methods the MCP endpoint serves.
const METHODS: HeaderValue = HeaderValue::from_static("GET, POST, DELETE");
/// Response headers a page may read besides the CORS-safelisted ones.
const EXPOSED_HEADERS: HeaderValue = HeaderValue::from_static("mcp-session-id, www-authenticate");
/// How long a browser may cache a preflight answer, in seconds.
const MAX_AGE: HeaderValue = HeaderValue::from_static("600");

/// The origins browsers may call the endpoint from.
#[derive(Debug, Clone)]
pub(crate) struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// The policy for `origins` (trailing `/` ignored, case-insensitive); `None` when
    /// there are none, i.e. CORS is off.
    pub(crate) fn new(origins: &[String]) -> Option<Arc<Self>> {
        let origins: Vec<String> = origins.iter().map(|o| normalize(o)).filter(|o| !o.is_empty()).collect();
        (!origins.is_empty()).then(|| Arc::new(Self { origins }))
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        origin.to_str().is_ok_and(|o| self.origins.contains(&normalize(o)))
    }
}

/// An origin as compared: lower case, without a trailing `/`.
pub(crate) fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// The middleware: answers preflights, and marks responses to allowed origins.
pub(crate) async fn apply(State(cors): State<Arc<Cors>>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(ORIGIN).filter(|o| cors.allows(o)).cloned();
    if request.method() == Method::OPTIONS && request.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD) {
        return preflight(origin, request.headers());
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.append(VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = origin {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED_HEADERS);
    }
    response
}

/// The answer to a preflight: 204, with the CORS grant only for an allowed origin.
fn preflight(origin: Option<HeaderValue>, request: &HeaderMap) -> Response {
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        VARY,
        HeaderValue::from_static("origin, access-control-request-method, access-control-request-headers"),
    );
    let Some(origin) = origin else { return response };
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(ACCESS_CONTROL_ALLOW_METHODS, METHODS);
    headers.insert(ACCESS_CONTROL_MAX_AGE, MAX_AGE);
    let allowed: Vec<String> = request
        .get_all(ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| ALLOWED_HEADERS.contains(&name.as_str()) || is_param(name))
        .collect();
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", "))
        && !allowed.is_empty()
    {
        headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, value);
    }
    response
}

fn is_param(name: &str) -> bool {
    name.len() > PARAM_PREFIX.len() && name.starts_with(PARAM_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_origins_means_no_cors() {
        assert!(Cors::new(&[]).is_none());
        assert!(Cors::new(&[" ".into()]).is_none());
    }

    #[test]
    fn origins_compare_without_case_or_trailing_slash() {
        let cors = Cors::new(&["https://App.example/".into()]).unwrap();
        assert!(cors.allows(&HeaderValue::from_static("https://app.example")));
        assert!(!cors.allows(&HeaderValue::from_static("https://app.example:8443")));
        assert!(!cors.allows(&HeaderValue::from_static("http://app.example")));
    }

    #[test]
    fn a_preflight_grants_only_the_mcp_headers() {
        let mut request = HeaderMap::new();
        request.insert(
            ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static("Content-Type, Mcp-Param-Region, X-Other, mcp-param-, Mcp-Session-Id"),
        );
        let origin = HeaderValue::from_static("https://app.example");
        let granted = preflight(Some(origin.clone()), &request);
        assert_eq!(granted.status(), StatusCode::NO_CONTENT);
        assert_eq!(granted.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], origin);
        assert_eq!(granted.headers()[ACCESS_CONTROL_ALLOW_HEADERS], "content-type, mcp-param-region, mcp-session-id");
        let denied = preflight(None, &request);
        assert!(denied.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        assert!(denied.headers().get(ACCESS_CONTROL_ALLOW_METHODS).is_none());
    }
}
