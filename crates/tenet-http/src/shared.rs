//! What every request handler of one endpoint shares.

use tenet_server::{CancellationToken, Server};

use crate::config::HttpConfig;
use crate::guard::Guard;
use crate::session::Sessions;

/// What every request handler shares.
pub(crate) struct Shared {
    pub server: Server,
    pub config: HttpConfig,
    pub guard: Guard,
    pub sessions: Sessions,
    /// HTTP+SSE (2024-11-05) connections.
    pub legacy_sse: crate::sse_connections::Connections,
    /// Open WebSocket connections.
    pub sockets: crate::sockets::Sockets,
    /// The long-lived streams open now, by caller.
    pub streams: std::sync::Arc<crate::streams::Streams>,
    /// Fires when the server shuts down: long-lived streams end.
    pub shutdown: CancellationToken,
}
