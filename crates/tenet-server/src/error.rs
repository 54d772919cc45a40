//! The errors a handler can return, and what each becomes on the wire.

use std::fmt;

use tenet_jsonrpc::{ErrorCode, ErrorObject};
use tenet_protocol::InputRequiredResult;

/// The JSON-RPC error code for a request over its rate limit; `data` is
/// `{"retryAfterMs": <milliseconds>}`.
pub const RATE_LIMITED: ErrorCode = ErrorCode(-32004);

/// Why a tool, prompt or resource handler did not produce its result.
///
/// - [`ToolError::Failed`] becomes a tool result with `isError: true`, so the model can
///   read the message and correct itself (for prompts and resources: -32603).
/// - [`ToolError::Protocol`] becomes that JSON-RPC error (e.g. -32021, -32602).
/// - [`ToolError::InputRequired`] asks the client for input (2026-07-28 MRTR).
///
/// Any `std::error::Error` converts with `?` into `Failed`, so handlers read naturally.
pub enum ToolError {
    /// The operation failed; the message is for the model.
    Failed(String),
    /// A protocol-level error.
    Protocol(ErrorObject),
    /// The handler needs input from the client before it can finish.
    InputRequired(Box<InputRequiredResult>),
}

impl ToolError {
    /// A failure with this message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self::Failed(message.to_string())
    }

    /// -32602 with this message.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::Protocol(ErrorObject::invalid_params(message.into()))
    }

    /// -32021: the request must declare `capability` (e.g. `{"sampling":{}}`).
    pub fn missing_capability(capability: &serde_json::Value) -> Self {
        let name = capability.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_default();
        Self::Protocol(
            ErrorObject::new(
                ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY,
                format!("Missing required client capability: {name}"),
            )
            .with_data(serde_json::json!({ "requiredCapabilities": capability.clone() })),
        )
    }

    /// -32021: the request must list the extension `id` (e.g.
    /// `io.modelcontextprotocol/tasks`) in its client capabilities.
    pub fn missing_extension(id: &str) -> Self {
        Self::Protocol(
            ErrorObject::new(
                ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY,
                format!("Missing required client capability: the extension {id}"),
            )
            .with_data(serde_json::json!({ "requiredCapabilities": { "extensions": { id: {} } } })),
        )
    }
}

impl fmt::Debug for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(m) => f.debug_tuple("Failed").field(m).finish(),
            Self::Protocol(e) => f.debug_tuple("Protocol").field(e).finish(),
            Self::InputRequired(_) => f.write_str("InputRequired"),
        }
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(m) => f.write_str(m),
            Self::Protocol(e) => e.fmt(f),
            Self::InputRequired(_) => f.write_str("input required"),
        }
    }
}

impl<E: std::error::Error> From<E> for ToolError {
    fn from(e: E) -> Self {
        Self::Failed(e.to_string())
    }
}

impl From<ToolError> for ErrorObject {
    fn from(e: ToolError) -> Self {
        match e {
            ToolError::Protocol(e) => e,
            ToolError::Failed(m) => ErrorObject::internal(m),
            ToolError::InputRequired(_) => ErrorObject::internal("input required where none can be asked"),
        }
    }
}

/// Why a [`crate::Server`] could not be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildError {
    /// A tool's input or output schema is not a valid JSON Schema.
    #[error("tool {tool}: invalid {which} schema: {reason}")]
    InvalidSchema {
        /// The tool.
        tool: String,
        /// `input` or `output`.
        which: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A tool's input schema is not an object schema.
    #[error("tool {0}: inputSchema must have \"type\": \"object\"")]
    NotAnObjectSchema(String),
    /// Two tools, prompts or resources share a name.
    #[error("duplicate {kind} {name:?}")]
    Duplicate {
        /// `tool`, `prompt`, `resource`, `resource template` or `method`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A resource template is not a valid RFC 6570 template.
    #[error("resource template {0:?}: {1}")]
    InvalidTemplate(String, String),
    /// A method added to the table ([`crate::MethodDef`]) cannot have its name.
    #[error("method {name:?}: {why}")]
    Method {
        /// The name.
        name: String,
        /// Why not.
        why: String,
    },
}
