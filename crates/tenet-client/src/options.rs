//! Settings for a connection and for single requests.

use std::sync::Arc;
use std::time::Duration;

use tenet_jsonrpc::JsonText;
use tenet_protocol::{ClientCapabilities, LoggingLevel, ProtocolVersion};
use tokio_util::sync::CancellationToken;

use crate::handler::ClientHandler;
use crate::inbound::ProgressCallback;
use crate::stamp::WrittenMeta;

/// Which protocol version to speak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VersionPin {
    /// Probe for 2026-07-28 (`server/discover`), fall back to `initialize`, and on
    /// HTTP further to HTTP+SSE.
    #[default]
    Auto,
    /// Only the legacy handshake (the newest legacy version).
    Legacy,
    /// Only the stateless era (the newest stateless version).
    Modern,
    /// Exactly this version.
    Exact(ProtocolVersion),
}

/// Per-request settings.
#[derive(Clone, Default)]
pub struct RequestOptions {
    /// Overrides the client's default timeout.
    pub timeout: Option<Duration>,
    /// Ends the request at this instant, in place of [`RequestOptions::timeout`] from
    /// when it is sent (which still names the limit in a [`crate::ClientError::Timeout`]):
    /// for a caller that bounds more than the request and has read the clock already.
    /// It bounds every round of the request and the task it starts.
    pub deadline: Option<tokio::time::Instant>,
    /// Called for each `notifications/progress` about this request.
    pub progress: Option<ProgressCallback>,
    /// Cancels the request when cancelled.
    pub cancel: Option<CancellationToken>,
    /// 2026-07-28: ask for log messages at this level and above with this request.
    pub log_level: Option<LoggingLevel>,
    /// Answers this request's questions (legacy server → client requests about it,
    /// 2026 input rounds) and receives its log messages, instead of the connection's
    /// handler. A relay passes them on to whoever it relays for.
    pub handler: Option<Arc<dyn ClientHandler>>,
    /// Who the request is made for (a relay's caller): a server message that names no
    /// request goes to this request's handler only when no other owner's request with
    /// a handler of its own ended lately (see [`crate::Client`]'s attribution rule).
    pub owner: Option<Arc<str>>,
    /// 2026-07-28: the capabilities this request declares, instead of the
    /// connection's (a relay declares its own caller's).
    pub capabilities: Option<Arc<ClientCapabilities>>,
    /// 2026-07-28: return input-required and task results as they are instead of
    /// answering or following them. A relay hands them to its own caller: the answers
    /// come back as `inputResponses` and `requestState` in the next request's params,
    /// and a task is followed with [`crate::Client::follow_task`] once the caller has one.
    /// Use it with [`crate::Client::request`]: the typed methods (`call_tool_with`, …)
    /// cannot decode such results.
    pub relay: bool,
    /// Entries added to the request's `_meta` (beside those the params carry, which
    /// win): a Tenet conversation id, a node path.
    pub meta: Option<tenet_protocol::JsonObject>,
    /// Entries added to the request's `_meta` as written beforehand, replacing the
    /// params' own (and [`RequestOptions::meta`]'s) entries of the same name: for
    /// entries a caller adds to every request it makes, such as a relay's node path.
    pub written_meta: Option<Arc<WrittenMeta>>,
    /// The params' `arguments` (of `tools/call`, `prompts/get`) as written beforehand,
    /// written into the request as they are (line breaks, which JSON allows between
    /// tokens, as spaces) in place of the params' own: for a relay passing on what its
    /// caller wrote, which need not be read and written again.
    pub arguments: Option<JsonText>,
}

impl RequestOptions {
    /// Options with this timeout.
    pub fn timeout(timeout: Duration) -> Self {
        Self { timeout: Some(timeout), ..Self::default() }
    }

    /// Adds a progress callback.
    pub fn with_progress(mut self, callback: impl Fn(tenet_protocol::ProgressParams) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(callback));
        self
    }

    /// Adds a cancellation token.
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = Some(cancel);
        self
    }
}

impl std::fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestOptions")
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel)
            .field("log_level", &self.log_level)
            .field("handler", &self.handler.is_some())
            .field("owner", &self.owner)
            .field("capabilities", &self.capabilities)
            .field("relay", &self.relay)
            .field("meta", &self.meta)
            .field("written_meta", &self.written_meta)
            .field("arguments", &self.arguments)
            .finish()
    }
}
