//! Who a request counts against for rate limits: the caller's principal (an API key,
//! a token's issuer and subject), else its address. The limits themselves are the
//! server's, applied at its one door ([`tenet_server::ServerConfig::rate_limit`]) with
//! the method and tool read from the JSON-RPC message; an HTTP answer of a rate-limited
//! request is a 429 with `Retry-After`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::Extensions;
use tenet_server::{Grant, Server};

/// The address of the peer a request came from, as [`crate::serve`] records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// Who a request counts against.
pub(crate) fn key(extensions: &Extensions) -> String {
    if let Some(owner) = extensions.get::<Arc<Grant>>().and_then(|g| g.owner()) {
        return owner.to_owned();
    }
    match extensions.get::<ClientAddr>() {
        Some(ClientAddr(addr)) => format!("ip:{}", addr.ip()),
        None => "anonymous".to_owned(),
    }
}

/// The caller of a request to `server`, named only when the server has rate limits
/// (nobody else asks).
pub(crate) fn of(server: &Server, extensions: &Extensions) -> Option<Arc<str>> {
    server.rate_limiter().map(|_| Arc::from(key(extensions)))
}
