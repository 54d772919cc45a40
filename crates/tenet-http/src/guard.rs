//! DNS-rebinding protection: the `Host` and `Origin` checks every MCP request passes
//! before anything else is looked at.

use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};

use crate::config::HttpConfig;
use crate::cors;

/// Host names a loopback server answers to.
const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// The Host/Origin policy, fixed when the endpoint is built.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    /// Local names are allowed (and `Host` is checked) because we are bound to loopback.
    local: bool,
    hosts: Vec<String>,
    origins: Vec<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The `Host` header names a host this server does not answer to.
    Host(String),
    /// The `Origin` header names an origin that may not call this server.
    Origin(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Host(h) => write!(f, "Forbidden: invalid Host header {h:?}"),
            Refusal::Origin(o) => write!(f, "Forbidden: origin {o:?} is not allowed"),
        }
    }
}

impl Guard {
    pub(crate) fn new(config: &HttpConfig) -> Self {
        Self {
            local: config.host.is_loopback(),
            hosts: config.allowed_hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            origins: config.allowed_origins.iter().chain(&config.cors_origins).map(|o| cors::normalize(o)).collect(),
        }
    }

    /// Checks `Host` (when bound to loopback or given a host list) and `Origin` (when present).
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        if self.local || !self.hosts.is_empty() {
            // Exactly one Host; a second one could smuggle a foreign name past us.
            let mut hosts = headers.get_all(HOST).iter();
            let host = hosts.next().and_then(|h| h.to_str().ok()).unwrap_or("");
            if hosts.next().is_some() || !self.host_allowed(hostname(host)) {
                return Err(Refusal::Host(host.to_owned()));
            }
        }
        for origin in headers.get_all(ORIGIN) {
            let text = origin.to_str().unwrap_or("");
            if !self.origin_allowed(text) {
                return Err(Refusal::Origin(text.to_owned()));
            }
        }
        Ok(())
    }

    fn host_allowed(&self, name: &str) -> bool {
        let same = |known: &str| known.eq_ignore_ascii_case(name);
        (self.local && LOCAL_NAMES.into_iter().any(same)) || self.hosts.iter().map(String::as_str).any(same)
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        let origin = cors::normalize(origin);
        if self.origins.contains(&origin) {
            return true;
        }
        let Some(authority) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) else {
            return false;
        };
        self.local && LOCAL_NAMES.contains(&hostname(authority))
    }
}

/// The host part of `host[:port]`, keeping IPv6 brackets.
fn hostname(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.find(']').map_or(authority, |end| &authority[..=end]);
    }
    authority.rsplit_once(':').map_or(authority, |(host, _)| host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    #[test]
    fn loopback_accepts_local_hosts_and_origins_on_any_port() {
        let guard = Guard::new(&HttpConfig::default());
        for host in ["localhost:3000", "127.0.0.1", "[::1]:8080", "LOCALHOST"] {
            assert_eq!(guard.check(&headers(host, None)), Ok(()), "{host}");
        }
        assert_eq!(guard.check(&headers("localhost:1", Some("http://localhost:3000"))), Ok(()));
        assert_eq!(guard.check(&headers("localhost:1", Some("https://127.0.0.1"))), Ok(()));
    }

    #[test]
    fn rebinding_attempts_are_refused() {
        let guard = Guard::new(&HttpConfig::default());
        assert!(matches!(guard.check(&headers("evil.example.com", None)), Err(Refusal::Host(_))));
        assert!(matches!(guard.check(&headers("localhost.evil.com:80", None)), Err(Refusal::Host(_))));
        assert!(matches!(guard.check(&HeaderMap::new()), Err(Refusal::Host(_))));
        let evil = headers("localhost:3000", Some("https://evil.example"));
        assert!(matches!(guard.check(&evil), Err(Refusal::Origin(_))));
        assert!(guard.check(&headers("localhost", Some("null"))).is_err());
        let mut twice = headers("localhost", None);
        twice.append(HOST, HeaderValue::from_static("evil.example.com"));
        assert!(guard.check(&twice).is_err(), "a second Host header is refused");
    }

    #[test]
    fn configured_origins_and_hosts_are_allowed() {
        let config = HttpConfig {
            host: "0.0.0.0".parse().unwrap(),
            allowed_origins: vec!["https://app.example/".into()],
            allowed_hosts: vec!["mcp.example".into()],
            ..HttpConfig::default()
        };
        let guard = Guard::new(&config);
        assert_eq!(guard.check(&headers("mcp.example:443", Some("https://APP.example"))), Ok(()));
        assert!(guard.check(&headers("localhost", None)).is_err(), "not loopback: local names are not implied");
        assert!(guard.check(&headers("mcp.example", Some("http://localhost"))).is_err());
    }
}
