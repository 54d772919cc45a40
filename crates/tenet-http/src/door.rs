//! The HTTP side of the one door. Every request for the MCP endpoint, HTTP+SSE and the
//! REST facade passes here once authorization ([`crate::gate`]) has run: the `Host` and
//! `Origin` guard, then the caller is made known ([`Caller`]), then the transport's
//! handler runs, and a refusal on the way out is counted in the metrics. What a request
//! may do once it reaches the server (scopes, rate limits, concurrency, shares) is the
//! server's door's, with the method and target read from the JSON-RPC message.
//!
//! Transports are plain async fns of `(shared, caller, request)`, mounted with
//! [`admit`]: they frame and hand over, and never check the guard, name the caller or
//! count a refusal themselves.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::caller::Caller;
use crate::response;
use crate::shared::Shared;

/// Admits `request` and has `serve` answer it, counting a refusal. Mounted as
/// `any(|state, request| door::admit(state, request, handler))`.
pub(crate) async fn admit<F, Fut>(State(shared): State<Arc<Shared>>, request: Request, serve: F) -> Response
where
    F: FnOnce(Arc<Shared>, Caller, Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let response = match guard(&shared, request.headers()) {
        Some(refused) => refused,
        None => {
            let caller = Caller::of(&shared.server, request.extensions());
            serve(shared.clone(), caller, request).await
        }
    };
    response::counted(shared.server.metrics(), response)
}

/// The `Host` and `Origin` checks (DNS rebinding), for the door and for the pages beside
/// the endpoint (status, metrics, the web page): the 403 of a request that fails them.
pub(crate) fn guard(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let refusal = shared.guard.check(headers).err()?;
    Some(response::transport(StatusCode::FORBIDDEN, refusal.to_string()))
}
