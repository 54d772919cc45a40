//! What can go wrong when talking to a server.

use std::time::Duration;

use tenet_jsonrpc::{ErrorCode, ErrorObject};

/// An error a hook (such as an OAuth client) reports.
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached, or the child process could not be started.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The connection ended before the answer came (the server exited or closed the stream).
    #[error("the connection closed: {0}")]
    Closed(String),
    /// The server ended the legacy HTTP session (404); the client starts a new one and
    /// retries once before reporting this.
    #[error("the server ended the session (HTTP 404)")]
    SessionExpired,
    /// The server answered with a JSON-RPC error.
    #[error("server error {}: {}", .0.code.0, .0.message)]
    Server(ErrorObject),
    /// No answer within the request's timeout; the request was cancelled.
    #[error("no answer within {0:?} (the request was cancelled)")]
    Timeout(Duration),
    /// The caller cancelled the request.
    #[error("the request was cancelled")]
    Cancelled,
    /// An HTTP status the protocol does not explain.
    #[error("HTTP {status}{}", if .body.is_empty() { String::new() } else { format!(": {}", .body) })]
    Http {
        /// The status code.
        status: u16,
        /// The start of the body, for the message.
        body: String,
    },
    /// The server closed the WebSocket connection, with this close code and reason
    /// (RFC 6455 §7.4: 1001 going away, 1008 policy violation, 1009 message too big,
    /// 1011 server error, …; 1005 when the close frame carried no code).
    #[error("the server closed the WebSocket: {code}{}{}", close_code_meaning(*.code), if .reason.is_empty() { String::new() } else { format!(": {}", .reason) })]
    WebSocketClosed {
        /// The close code.
        code: u16,
        /// The reason the server gave (may be empty).
        reason: String,
    },
    /// The server needs authorization the client could not provide.
    #[error("HTTP {status}: authorization required{}", .www_authenticate.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The `WWW-Authenticate` challenge, if any.
        www_authenticate: Option<String>,
    },
    /// The authorization hook failed.
    #[error("authorization failed: {0}")]
    Auth(#[source] HookError),
    /// The server sent a message (a response body, an SSE event) larger than the
    /// client takes ([`crate::ClientBuilder::max_message_bytes`]); the request fails
    /// and what was read of it is let go.
    #[error("the server sent a message over {limit} bytes, more than this client takes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The server said something that breaks the protocol.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// No protocol version both sides speak.
    #[error("version negotiation failed: {0}")]
    Negotiation(String),
    /// The call is not available in the negotiated protocol era or server capabilities.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// A local I/O failure.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl ClientError {
    /// The JSON-RPC error code, when the server answered with an error.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Server(e) => Some(e.code),
            _ => None,
        }
    }

    /// Whether the failure is about reaching the server (as opposed to what it said).
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            Self::Connect(_)
                | Self::Closed(_)
                | Self::WebSocketClosed { .. }
                | Self::Io(_)
                | Self::Http { .. }
                | Self::Unauthorized { .. }
                | Self::Auth(_)
        )
    }
}

/// What a WebSocket close code means, in a few words after a space (RFC 6455 §7.4.1).
fn close_code_meaning(code: u16) -> &'static str {
    match code {
        1000 => " (normal closure)",
        1001 => " (going away)",
        1002 => " (protocol error)",
        1003 => " (unsupported data)",
        1005 => " (no code given)",
        1006 => " (closed abnormally)",
        1007 => " (invalid data)",
        1008 => " (policy violation)",
        1009 => " (message too big)",
        1010 => " (extension required)",
        1011 => " (server error)",
        1012 => " (service restart)",
        1013 => " (try again later)",
        1014 => " (bad gateway)",
        1015 => " (TLS handshake failed)",
        _ => "",
    }
}

/// Shorthand for results of client calls.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
