//! CORS for browser clients, off unless `HttpConfig::cors_origins` names origins:
//! tower-http's [`CorsLayer`], set up for MCP.
//!
//! An allowed origin (compared without case or a trailing `/`) is echoed in
//! `Access-Control-Allow-Origin` and may read `Mcp-Session-Id` and, on a 401 or 403,
//! the `WWW-Authenticate` challenge that points to the authorization metadata. A
//! preflight `OPTIONS` is answered by the layer, before any authorization check
//! (browsers send it without credentials): the methods the endpoint serves, and the
//! request headers asked for — the `Mcp-Param-*` headers of 2026-07-28 are named by
//! each tool's schema, so no fixed list could hold them. Other origins get no
//! `Access-Control-Allow-Origin`, so browsers keep the responses from the page.

use std::time::Duration;

use axum::http::header::{HeaderName, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// How long a browser may cache a preflight answer.
const MAX_AGE: Duration = Duration::from_secs(600);

/// The layer for `origins`; `None` when there are none, i.e. CORS is off.
pub(crate) fn layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<String> = origins.iter().map(|o| normalize(o)).filter(|o| !o.is_empty()).collect();
    if origins.is_empty() {
        return None;
    }
    let allowed = move |origin: &HeaderValue, _: &_| allows(&origins, origin);
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(allowed))
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers([HeaderName::from_static("mcp-session-id"), WWW_AUTHENTICATE])
            .max_age(MAX_AGE),
    )
}

fn allows(origins: &[String], origin: &HeaderValue) -> bool {
    origin.to_str().is_ok_and(|o| origins.contains(&normalize(o)))
}

/// An origin as compared: lower case, without a trailing `/`.
pub(crate) fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_origins_means_no_cors() {
        assert!(layer(&[]).is_none());
        assert!(layer(&[" ".into()]).is_none());
    }

    #[test]
    fn origins_compare_without_case_or_trailing_slash() {
        let origins = [normalize("https://App.example/")];
        assert!(allows(&origins, &HeaderValue::from_static("https://app.example")));
        assert!(!allows(&origins, &HeaderValue::from_static("https://app.example:8443")));
        assert!(!allows(&origins, &HeaderValue::from_static("http://app.example")));
    }
}
