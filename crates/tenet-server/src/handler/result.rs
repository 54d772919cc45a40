//! What a tool produced: a result its handler built, or one written elsewhere (an
//! upstream's, relayed by a gateway) whose JSON goes to the client as it is, unless
//! the result must change on the way (blocks translated for a client before
//! 2025-06-18, a conversation's changes noted, a task's outcome kept): then it is read
//! into a [`CallToolResult`] first.

use std::ops::Range;

use tenet_protocol::{CallToolResult, SERVER_INFO_KEY};

use crate::error::ToolError;

/// A tool's result.
///
/// ```
/// use tenet_server::{ToolResult, WrittenResult};
/// use tenet_server::protocol::CallToolResult;
///
/// let built = ToolResult::from(CallToolResult::error("no"));
/// assert!(built.is_error());
/// let written = WrittenResult::read_from(r#"{"content":[{"type":"text","text":"hi"}]}"#.into()).unwrap();
/// let result = ToolResult::Written(written).into_built().unwrap();
/// assert_eq!(result.content.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub enum ToolResult {
    /// Built by the handler.
    Built(CallToolResult),
    /// Written elsewhere: passed on as it is where nothing in it must change.
    Written(WrittenResult),
}

impl ToolResult {
    /// Whether it says the call failed (`isError: true`).
    pub fn is_error(&self) -> bool {
        match self {
            ToolResult::Built(result) => result.is_error == Some(true),
            ToolResult::Written(written) => written.is_error,
        }
    }

    /// The result as built, read from its JSON if it was written.
    ///
    /// # Errors
    /// A tool failure when written JSON is not a `CallToolResult` after all.
    pub fn into_built(self) -> Result<CallToolResult, ToolError> {
        match self {
            ToolResult::Built(result) => Ok(result),
            ToolResult::Written(written) => written.read(),
        }
    }

    /// The result as built, to change it; written JSON is read first.
    ///
    /// # Errors
    /// As [`ToolResult::into_built`].
    pub fn built_mut(&mut self) -> Result<&mut CallToolResult, ToolError> {
        if let ToolResult::Written(written) = self {
            *self = ToolResult::Built(written.read()?);
        }
        match self {
            ToolResult::Built(result) => Ok(result),
            ToolResult::Written(_) => unreachable!("a written result was read just above"),
        }
    }
}

impl From<CallToolResult> for ToolResult {
    fn from(result: CallToolResult) -> Self {
        ToolResult::Built(result)
    }
}

impl From<WrittenResult> for ToolResult {
    fn from(written: WrittenResult) -> Self {
        ToolResult::Written(written)
    }
}

/// A `CallToolResult` object's JSON text, as it came.
///
/// The text holds only what a `CallToolResult` has, on one line: its members
/// (`content`, `structuredContent`, `isError`, `_meta`), none of them `null`, and no
/// server's name in its `_meta`. The server adds its own members (`resultType`, and its
/// name in `_meta`) where the client's version has them.
#[derive(Debug, Clone)]
pub struct WrittenResult {
    json: String,
    is_error: bool,
    /// Where the text of its own `_meta` value is.
    meta: Option<Range<usize>>,
}

impl WrittenResult {
    /// Wraps `json` as whoever wrote it found it: whether it says `"isError": true`,
    /// and where the text of its own `_meta` value is. The writer vouches for the rest
    /// of what [`WrittenResult`] asks (a gateway has read the text as a
    /// `CallToolResult`); debug builds check all of it, as [`WrittenResult::read_from`]
    /// does.
    ///
    /// # Errors
    /// When `json` is not a JSON object on one line or `meta` is not in it (in debug
    /// builds: when it is not as [`WrittenResult`] asks, or not as said).
    pub fn new(json: String, is_error: bool, meta: Option<Range<usize>>) -> Result<Self, ToolError> {
        let in_text = meta.as_ref().is_none_or(|range| json.get(range.clone()).is_some());
        if !json.trim_start().starts_with('{') || !in_text || !tenet_jsonrpc::one_line(&json) {
            return Err(ToolError::msg(
                "a written tool result must be a JSON object on one line, with its _meta in it",
            ));
        }
        if cfg!(debug_assertions) {
            let checked = Self::read_from(json.clone())?;
            if (checked.is_error, &checked.meta) != (is_error, &meta) {
                return Err(ToolError::msg("a written tool result is not as its writer said"));
            }
        }
        Ok(WrittenResult { json, is_error, meta })
    }

    /// Reads `json`, a `CallToolResult` object as [`WrittenResult`] asks, and wraps it.
    ///
    /// # Errors
    /// When `json` is not a `CallToolResult`, or holds more than one may (a member of
    /// another kind, a member that is `null`, a server's name in `_meta`, a line
    /// break).
    pub fn read_from(json: String) -> Result<Self, ToolError> {
        let result: CallToolResult =
            serde_json::from_str(&json).map_err(|e| ToolError::msg(format!("unreadable tool result: {e}")))?;
        let mut meta = None;
        for member in tenet_jsonrpc::members(&json) {
            let refused = match &*member.name {
                _ if member.value == "null" => Some("null"),
                "_meta" => {
                    meta = Some(member.value_span());
                    let named = tenet_jsonrpc::members(member.value).any(|entry| entry.name == SERVER_INFO_KEY);
                    named.then_some("a server's name in _meta")
                }
                "content" | "structuredContent" | "isError" => None,
                _ => Some("a member a CallToolResult does not have"),
            };
            if let Some(refused) = refused {
                return Err(ToolError::msg(format!("a written tool result holds {refused} ({})", member.name)));
            }
        }
        if !tenet_jsonrpc::one_line(&json) {
            return Err(ToolError::msg("a written tool result must be on one line"));
        }
        Ok(WrittenResult { json, is_error: result.is_error == Some(true), meta })
    }

    /// The JSON text.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// Whether it says the call failed (`isError: true`).
    pub fn is_error(&self) -> bool {
        self.is_error
    }

    /// The JSON text, and where its own `_meta` value is in it.
    pub(crate) fn into_parts(self) -> (String, Option<Range<usize>>) {
        (self.json, self.meta)
    }

    fn read(&self) -> Result<CallToolResult, ToolError> {
        serde_json::from_str(&self.json).map_err(|e| ToolError::msg(format!("unreadable tool result: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_result_says_whether_it_failed_and_where_its_meta_is() {
        let json = r#"{"content":[{"type":"text","text":"\"isError\":true"}],"isError":true,"_meta":{"k":1}}"#;
        let written = WrittenResult::read_from(json.into()).unwrap();
        assert!(written.is_error());
        assert_eq!(&json[written.meta.clone().unwrap()], r#"{"k":1}"#);
        let mut result = ToolResult::Written(written);
        assert!(result.is_error());
        result.built_mut().unwrap().is_error = Some(false);
        assert!(matches!(&result, ToolResult::Built(_)));
        assert!(!result.is_error());
        let fine = WrittenResult::read_from(r#" {"content":[],"isError":false}"#.into()).unwrap();
        assert!(!fine.is_error() && fine.meta.is_none());
    }

    #[test]
    fn only_a_result_as_it_may_be_written_is_a_written_result() {
        for json in ["[]", "7", "", r#""{""#, "{\"content\":[\r\n]}"] {
            assert!(WrittenResult::read_from(json.into()).is_err(), "{json}");
            assert!(WrittenResult::new(json.into(), false, None).is_err(), "{json}");
        }
        for json in [
            r#"{"content":5}"#,
            r#"{"content":[],"content":[]}"#,
            r#"{"content":[],"resultType":"complete"}"#,
            r#"{"content":[],"isError":null}"#,
            r#"{"content":[],"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"up"}}}"#,
        ] {
            assert!(WrittenResult::read_from(json.into()).is_err(), "{json}");
            if cfg!(debug_assertions) {
                assert!(WrittenResult::new(json.into(), false, None).is_err(), "{json}");
            }
        }
        // The writer's word is checked as far as it is cheap, and wholly in debug builds.
        let json = r#"{"content":[],"_meta":{}}"#;
        assert!(WrittenResult::new(json.into(), false, Some(20..40)).is_err());
        assert!(WrittenResult::new(json.into(), false, Some(22..24)).is_ok());
        if cfg!(debug_assertions) {
            assert!(WrittenResult::new(json.into(), true, Some(22..24)).is_err());
            assert!(WrittenResult::new(json.into(), false, None).is_err());
        }
        let odd = WrittenResult { json: r#"{"content":5}"#.into(), is_error: false, meta: None };
        assert!(ToolResult::Written(odd).into_built().is_err());
    }
}
