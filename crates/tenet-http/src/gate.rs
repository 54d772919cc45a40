//! Who may reach the MCP endpoint, in one middleware: authorization first (the caller
//! becomes known), then its rate limit, then the endpoint, then the step-up challenge
//! on a 403. One layer rather than one per concern: every `from_fn` layer boxes and
//! moves the request's future, which costs more than the checks themselves.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use tenet_server::{Metrics, RateLimiter};

use crate::auth::{self, Auth};
use crate::rate_limit;

/// The checks in front of the endpoint; at least one of `auth` and `limiter` is set.
#[derive(Clone)]
pub(crate) struct Gate {
    pub auth: Option<Arc<Auth>>,
    pub limiter: Option<Arc<RateLimiter>>,
    /// Where refusals are counted: authorization's in `tenet_http_refused`, the rate
    /// limit's in `tenet_rate_limited`.
    pub metrics: Metrics,
}

/// Lets a request through, or answers 401/403 (authorization) or 429 (rate limit).
pub(crate) async fn check(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    if let Some(auth) = &gate.auth
        && let Some(refusal) = auth::refusal(auth, &mut request).await
    {
        gate.metrics.refused(refusal.status().as_u16());
        return refusal;
    }
    if let Some(limiter) = &gate.limiter
        && let Some(refusal) = rate_limit::refusal(limiter, &gate.metrics, &request).await
    {
        return refusal;
    }
    let response = next.run(request).await;
    match &gate.auth {
        Some(auth) => auth::finish(auth, response).await,
        None => response,
    }
}
