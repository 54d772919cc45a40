//! Where a request came from, as the transport sees it: the one small type routing,
//! handlers and the session driver share.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::session::{Outbound, Session};

/// Where a request came from, as the transport sees it.
#[derive(Clone)]
pub struct Link {
    /// The legacy session the request belongs to, if any (stdio always has one).
    pub session: Option<Arc<Session>>,
    /// Where notifications about this request go (progress, log messages, listen events).
    pub out: Outbound,
    /// Fires when the client cancels this request.
    pub cancel: CancellationToken,
    /// Fires when the server shuts down (ends listen streams gracefully).
    pub shutdown: CancellationToken,
    /// The scopes the caller was granted; `None` when the transport does no access control.
    pub grant: Option<Arc<crate::Grant>>,
}
