//! Rate limits in front of the MCP endpoint: one token bucket per client (the
//! caller's token subject or API key name, else its address) and per method or tool
//! (read from `Mcp-Method` / `Mcp-Name`; requests without them share the default
//! bucket). Over the limit: 429 with `Retry-After` and a JSON-RPC error -32004
//! whose `data.retryAfterMs` says how long to wait.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use tenet_server::{Grant, Metrics, RateLimiter, rate_limited};

use crate::{headers, response};

/// The address of the peer a request came from, as [`crate::serve`] records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// Who a request counts against.
pub(crate) fn client_key(extensions: &axum::http::Extensions) -> String {
    if let Some(subject) = extensions.get::<Arc<Grant>>().and_then(|g| g.subject()) {
        return format!("sub:{subject}");
    }
    match extensions.get::<ClientAddr>() {
        Some(ClientAddr(addr)) => format!("ip:{}", addr.ip()),
        None => "anonymous".to_owned(),
    }
}

/// The 429 to answer when the request is over its client's limit (counted in
/// `metrics`); `None` lets it in.
pub(crate) fn refusal<'a>(
    limiter: &'a RateLimiter,
    metrics: &'a Metrics,
    request: &Request,
) -> impl Future<Output = Option<Response>> + Send + 'a {
    // Owned, so that the request (not `Sync`) is not held across the store's answer.
    let method = headers::text(request.headers(), "mcp-method").unwrap_or("*").to_owned();
    let tool = if method == "tools/call" { headers::text(request.headers(), "mcp-name") } else { None };
    let tool = tool.map(str::to_owned);
    let client = client_key(request.extensions());
    async move { refuse(limiter, metrics, client, &method, tool.as_deref()).await }
}

/// [`refusal`] for a request whose method (and tool) are known otherwise than from its
/// headers: the REST routes.
pub(crate) async fn refusal_for(
    limiter: &RateLimiter,
    metrics: &Metrics,
    extensions: &axum::http::Extensions,
    method: &str,
    tool: Option<&str>,
) -> Option<Response> {
    refuse(limiter, metrics, client_key(extensions), method, tool).await
}

async fn refuse(
    limiter: &RateLimiter,
    metrics: &Metrics,
    client: String,
    method: &str,
    tool: Option<&str>,
) -> Option<Response> {
    let wait = limiter.take(&client, method, tool).await.err()?;
    tracing::debug!(client, method, "rate limited");
    metrics.rate_limited();
    let mut response = response::error(StatusCode::TOO_MANY_REQUESTS, None, &rate_limited(wait));
    response::retry_after(&mut response, wait);
    Some(response)
}
