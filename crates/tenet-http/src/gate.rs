//! Who may reach the MCP endpoint, in one middleware: authorization first (the caller
//! becomes known), then the endpoint, then the step-up challenge on a 403. Rate limits
//! are the server's, at its one door.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use tenet_server::Metrics;

use crate::auth::{self, Auth};

/// The checks in front of the endpoint.
#[derive(Clone)]
pub(crate) struct Gate {
    pub auth: Arc<Auth>,
    /// Where refusals are counted, in `tenet_http_refused`.
    pub metrics: Metrics,
}

/// Lets a request through, or answers 401/403.
pub(crate) async fn check(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    if let Some(refusal) = auth::refusal(&gate.auth, &mut request).await {
        gate.metrics.refused(refusal.status().as_u16());
        return refusal;
    }
    let response = next.run(request).await;
    auth::finish(&gate.auth, response).await
}
