//! Error objects and the codes JSON-RPC and MCP give them.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A JSON-RPC error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub i32);

impl ErrorCode {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: Self = Self(-32700);
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: Self = Self(-32600);
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: Self = Self(-32601);
    /// Invalid method parameters.
    pub const INVALID_PARAMS: Self = Self(-32602);
    /// Internal error.
    pub const INTERNAL_ERROR: Self = Self(-32603);
    /// MCP before 2026-07-28: the requested resource does not exist.
    pub const RESOURCE_NOT_FOUND: Self = Self(-32002);
    /// MCP 2026-07-28: a `Mcp-*` HTTP header disagrees with the body.
    pub const HEADER_MISMATCH: Self = Self(-32020);
    /// MCP 2026-07-28: the request lacks a client capability the server needs.
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: Self = Self(-32021);
    /// MCP 2026-07-28: the request's protocol version is not supported.
    pub const UNSUPPORTED_PROTOCOL_VERSION: Self = Self(-32022);
    /// MCP 2025-11-25: the client must complete a URL elicitation first.
    pub const URL_ELICITATION_REQUIRED: Self = Self(-32042);
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The `error` member of a JSON-RPC error response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// What kind of error this is.
    pub code: ErrorCode,
    /// A short, human-readable description.
    pub message: Cow<'static, str>,
    /// Structured detail, when there is some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// The URL-mode elicitations a -32042 error lists (`data.elicitations`, MCP
    /// 2025-11-25); none for any other error.
    pub fn url_elicitations(&self) -> &[Value] {
        let listed = self.data.as_ref().filter(|_| self.code == ErrorCode::URL_ELICITATION_REQUIRED);
        listed.and_then(|data| data.get("elicitations")).and_then(Value::as_array).map_or(&[], Vec::as_slice)
    }

    /// [`ErrorObject::url_elicitations`], to rewrite.
    pub fn url_elicitations_mut(&mut self) -> &mut [Value] {
        let listed = self.data.as_mut().filter(|_| self.code == ErrorCode::URL_ELICITATION_REQUIRED);
        match listed.and_then(|data| data.get_mut("elicitations")) {
            Some(Value::Array(steps)) => steps,
            _ => &mut [],
        }
    }

    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self { code, message: message.into(), data: None }
    }

    /// Attaches structured `data`.
    #[must_use]
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// -32700 with a message.
    pub fn parse_error(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::PARSE_ERROR, message)
    }

    /// -32600 with a message.
    pub fn invalid_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::INVALID_REQUEST, message)
    }

    /// -32601 naming the method.
    pub fn method_not_found(method: &str) -> Self {
        Self::new(ErrorCode::METHOD_NOT_FOUND, format!("Method not found: {method}"))
    }

    /// -32602 with a message.
    pub fn invalid_params(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::INVALID_PARAMS, message)
    }

    /// -32603 with a message.
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::INTERNAL_ERROR, message)
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ErrorObject {}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_a_url_elicitation_required_error_lists_url_elicitations() {
        let data = json!({"elicitations": [{"elicitationId": "e-1", "url": "https://a.example"}]});
        let mut required = ErrorObject::new(ErrorCode::URL_ELICITATION_REQUIRED, "go").with_data(data.clone());
        assert_eq!(required.url_elicitations()[0]["elicitationId"], "e-1");
        required.url_elicitations_mut()[0]["elicitationId"] = json!("e-2");
        assert_eq!(required.url_elicitations()[0]["elicitationId"], "e-2");
        let mut other = ErrorObject::new(ErrorCode::INVALID_PARAMS, "no").with_data(data);
        assert!(other.url_elicitations().is_empty());
        assert!(other.url_elicitations_mut().is_empty());
        assert!(ErrorObject::new(ErrorCode::URL_ELICITATION_REQUIRED, "bare").url_elicitations().is_empty());
    }
}
