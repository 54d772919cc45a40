//! `_meta`: reserved keys and the per-request metadata of 2026-07-28.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::json::JsonObject;
use crate::lifecycle::{ClientCapabilities, Implementation};
use crate::logging::LoggingLevel;

/// `_meta` key: the request's protocol version (2026-07-28).
pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key: the client's capabilities for this request (2026-07-28).
pub const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key: the client's name and version (2026-07-28).
pub const CLIENT_INFO_KEY: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key: the log level the client wants for this request (2026-07-28).
pub const LOG_LEVEL_KEY: &str = "io.modelcontextprotocol/logLevel";
/// `_meta` key on results: the server's name and version (2026-07-28).
pub const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";
/// `_meta` key on listen notifications: the listen request's id (2026-07-28).
pub const SUBSCRIPTION_ID_KEY: &str = "io.modelcontextprotocol/subscriptionId";
/// `_meta` key: a related task (2025-11-25).
pub const RELATED_TASK_KEY: &str = "io.modelcontextprotocol/related-task";

/// A progress token: a string or an integer chosen by the client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProgressToken {
    /// An integer token.
    Number(i64),
    /// A string token.
    String(String),
}

/// The `_meta` of a request, with the keys MCP reserves read out.
///
/// In the legacy era only `progressToken` is defined; in 2026-07-28 every request
/// carries its protocol version and client capabilities here.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RequestMeta {
    /// Where to send progress for this request.
    #[serde(rename = "progressToken", default, skip_serializing_if = "Option::is_none")]
    pub progress_token: Option<ProgressToken>,
    /// The request's protocol version (2026-07-28).
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<Value>,
    /// The client's capabilities for this request (2026-07-28).
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", default, skip_serializing_if = "Option::is_none")]
    pub client_capabilities: Option<Value>,
    /// The client's name and version (2026-07-28).
    #[serde(rename = "io.modelcontextprotocol/clientInfo", default, skip_serializing_if = "Option::is_none")]
    pub client_info: Option<Implementation>,
    /// The log level the client opts in to (2026-07-28).
    #[serde(rename = "io.modelcontextprotocol/logLevel", default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<LoggingLevel>,
    /// W3C trace context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// Every other key, kept as given.
    #[serde(flatten)]
    pub other: JsonObject,
}

impl RequestMeta {
    /// The W3C trace context of `traceparent` and `tracestate`, if valid.
    pub fn trace(&self) -> Option<crate::trace::TraceContext> {
        let parent = crate::trace::TraceContext::parse(self.traceparent.as_deref()?)?;
        match self.other.get(crate::trace::TRACESTATE_KEY).and_then(Value::as_str) {
            Some(state) => Some(parent.with_state(state)),
            None => Some(parent),
        }
    }

    /// The client capabilities, if present and well-formed.
    pub fn capabilities(&self) -> Option<ClientCapabilities> {
        self.client_capabilities.as_ref().and_then(|v| ClientCapabilities::deserialize(v).ok())
    }
}
