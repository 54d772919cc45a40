//! Tools: listing and calling.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::content::ContentBlock;
use crate::json::JsonObject;
use crate::lifecycle::Icon;

/// Hints about a tool's behaviour (2025-03-26). Hints, not guarantees.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolAnnotations {
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The tool does not modify its environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// The tool may destroy or overwrite things.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Calling it twice with the same arguments does nothing more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// The tool reaches outside a closed world (the internet, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
}

/// How a tool supports tasks (2025-11-25).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolExecution {
    /// `"forbidden"`, `"optional"` or `"required"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_support: Option<String>,
}

/// A tool's definition, as listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    /// The unique name.
    pub name: String,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it does, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON Schema of its arguments (an object schema).
    pub input_schema: Value,
    /// The JSON Schema of its `structuredContent` (2025-06-18).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Behaviour hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<ToolAnnotations>,
    /// Task support (2025-11-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<ToolExecution>,
    /// Icons (2025-11-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icons: Option<Vec<Icon>>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
}

/// `tools/list` result.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListToolsResult {
    /// One page of tools.
    pub tools: Vec<Tool>,
    /// Where the next page starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
}

/// `tools/call` params.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallToolParams {
    /// The tool to call.
    pub name: String,
    /// Its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// Answers to the server's input requests (2026-07-28 MRTR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_responses: Option<JsonObject>,
    /// The server's opaque state, echoed byte for byte (2026-07-28 MRTR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
    /// Run as a task (2025-11-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<Value>,
}

/// The `_meta` key under which Tenet lists, in a failed `tools/call` result, each
/// argument that broke the tool's input schema: `[{"path": "/a", "message": "…"}]`
/// (`path` a JSON Pointer into the arguments, empty for the arguments as a whole).
/// The result's text says the same for the model; this is for programs.
pub const INVALID_ARGUMENTS_KEY: &str = "io.tenet/invalidArguments";

/// Whether `json` is a result of text alone written as servers nearly always write one,
/// told by its text: `{"content":[` then blocks `{"type":"text","text":"…"}` with no
/// escape in their text, separated by commas, then `]`, at most `,"isError":` `true` or
/// `false`, and `}`, with no space anywhere. `false` says only that it must be looked at
/// member by member.
fn compact_text_only(json: &str) -> bool {
    let Some(mut rest) = json.strip_prefix(r#"{"content":["#) else {
        return false;
    };
    if let Some(after) = rest.strip_prefix(']') {
        rest = after;
    } else {
        loop {
            let Some(text) = rest.strip_prefix(r#"{"type":"text","text":""#) else {
                return false;
            };
            // The text ends at its first quote when it holds no backslash.
            let Some(end) = text.find('"').filter(|&end| !text[..end].contains('\\')) else {
                return false;
            };
            match text[end + 1..].strip_prefix('}').map(|after| after.split_at_checked(1)) {
                Some(Some((",", after))) => rest = after,
                Some(Some(("]", after))) => {
                    rest = after;
                    break;
                }
                _ => return false,
            }
        }
    }
    matches!(rest, "}" | r#","isError":false}"# | r#","isError":true}"#)
}

/// `tools/call` result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallToolResult {
    /// What the tool produced, for the model.
    pub content: Vec<ContentBlock>,
    /// Structured output matching the tool's `outputSchema` (2025-06-18).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Value>,
    /// Whether the call failed; the content says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
}

impl CallToolResult {
    /// A successful result of these blocks.
    pub fn success(content: Vec<ContentBlock>) -> Self {
        Self { content, ..Self::default() }
    }

    /// A failed result whose text says why.
    pub fn error(message: impl Into<String>) -> Self {
        Self { content: vec![ContentBlock::text(message)], is_error: Some(true), ..Self::default() }
    }

    /// Whether `json`, a result's JSON text already checked (a
    /// [`tenet_jsonrpc::RawJson`]'s), is a `CallToolResult` of text alone, told without
    /// reading it: `content` of text blocks of just `type` and `text`, and at most
    /// `isError` (`true` or `false`), `structuredContent` and `_meta` (objects with no
    /// number written with an exponent or in more than 15 characters, no name given twice,
    /// no escape that may be half of a UTF-16 pair, nested no deeper than a message may
    /// hold them), each named once, and nothing else. Such a result, what nearly every tool
    /// returns, reads as it is written; a relay checks it this way for a fraction of a full
    /// read. `false` says only that it must be read to be known.
    ///
    /// ```
    /// use tenet_protocol::CallToolResult;
    ///
    /// assert!(CallToolResult::is_text_only(r#"{"content":[{"type":"text","text":"4"}],"isError":false}"#));
    /// assert!(!CallToolResult::is_text_only(r#"{"content":[{"type":"text","text":"4"}],"isError":null}"#));
    /// assert!(!CallToolResult::is_text_only(r#"{"isError":true}"#));
    /// ```
    pub fn is_text_only(json: &str) -> bool {
        compact_text_only(json) || Self::text_only_members(json)
    }

    /// [`CallToolResult::is_text_only`] member by member, in any order and spacing.
    fn text_only_members(json: &str) -> bool {
        let object = |value: &str| value.starts_with('{') && crate::json::reads_as_written(value);
        let mut seen = [false; 4];
        for member in tenet_jsonrpc::members(json) {
            let (slot, fine) = match &*member.name {
                "content" => (0, tenet_jsonrpc::every_object(member.value, ContentBlock::is_bare_text)),
                "isError" => (1, matches!(member.value, "true" | "false")),
                "structuredContent" => (2, object(member.value)),
                "_meta" => (3, object(member.value)),
                _ => return false,
            };
            if !fine || std::mem::replace(&mut seen[slot], true) {
                return false;
            }
        }
        seen[0]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    /// The typed reading of `json`, written again as a tree, or why it was refused.
    fn typed(json: &str) -> Result<Value, String> {
        let result: CallToolResult = serde_json::from_str(json).map_err(|e| e.to_string())?;
        Ok(serde_json::to_value(result).expect("writable"))
    }

    #[test]
    fn a_result_of_text_alone_is_told_without_a_read_and_reads_as_written() {
        let text_only = [
            r#"{"content":[]}"#,
            r#"{"content":[{"type":"text","text":"hello world"}]}"#,
            r#"{ "isError" : true , "content" : [ { "text" : "a\"b\n\u00e9" , "type" : "text" } ] }"#,
            r#"{"content":[{"type":"text","text":""},{"text":"2","type":"text"}],"isError":false}"#,
            r#"{"content":[{"type":"text","text":"x"}],"structuredContent":{"n":[1,2.5,-3],"s":"\u0041"}}"#,
            r#"{"_meta":{"k":{"v":null}},"content":[{"type":"text","text":"x"}],"structuredContent":{}}"#,
            r#"{"content":[{"\u0074ype":"text","text":"escaped name"}]}"#,
            // As servers write them, told by their text alone.
            r#"{"content":[{"type":"text","text":"hello world"}]}"#,
            r#"{"content":[{"type":"text","text":"a"},{"type":"text","text":"é 😀"}],"isError":true}"#,
            r#"{"content":[],"isError":false}"#,
        ];
        for compact in &text_only[text_only.len() - 3..] {
            assert!(compact_text_only(compact), "{compact}");
        }
        for json in text_only {
            assert!(CallToolResult::is_text_only(json), "{json}");
            assert!(CallToolResult::text_only_members(json), "{json}");
            let tree: Value = serde_json::from_str(json).expect("JSON");
            assert_eq!(typed(json).as_ref(), Ok(&tree), "{json}");
        }
    }

    #[test]
    fn anything_else_is_left_to_a_full_read() {
        let read_in_full = [
            // Not a result of text alone, or not one at all.
            r#"{}"#,
            r#"{"isError":false}"#,
            r#"[]"#,
            r#""content""#,
            r#"{"content":{}}"#,
            r#"{"content":[1]}"#,
            r#"{"content":[{"type":"text"}]}"#,
            r#"{"content":[{"text":"x"}]}"#,
            r#"{"content":[{"type":"text","text":7}]}"#,
            r#"{"content":[{"type":"text","text":null}]}"#,
            r#"{"content":[{"type":"image","data":"AA==","mimeType":"image/png"}]}"#,
            r#"{"content":[{"type":"text","text":"x","annotations":{"priority":1}}]}"#,
            r#"{"content":[{"type":"text","text":"x","_meta":{}}]}"#,
            r#"{"content":[{"type":"resource_link","uri":"a:b","name":"b"}]}"#,
            r#"{"content":[{"type":"te\u0078t","text":"x"}]}"#,
            // Named twice.
            r#"{"content":[],"content":[]}"#,
            r#"{"content":[{"type":"text","text":"a","text":"b"}]}"#,
            r#"{"content":[{"type":"text","type":"text","text":"a"}]}"#,
            r#"{"content":[],"isError":true,"isError":false}"#,
            // What a typed read may refuse or change.
            r#"{"content":[],"isError":null}"#,
            r#"{"content":[],"isError":"true"}"#,
            r#"{"content":[{"type":"text","text":"\ud800"}]}"#,
            r#"{"content":[{"type":"text","text":"\uD83D\uDE00"}]}"#,
            r#"{"content":[],"structuredContent":{"n":1e400}}"#,
            r#"{"content":[],"structuredContent":{"n":12345678901234567890}}"#,
            r#"{"content":[],"structuredContent":{"s":"\udfff"}}"#,
            r#"{"content":[],"structuredContent":{"a":1,"a":2}}"#,
            r#"{"content":[],"structuredContent":[1]}"#,
            r#"{"content":[],"structuredContent":null}"#,
            r#"{"content":[],"_meta":7}"#,
            r#"{"content":[],"_meta":{"k":1E2}}"#,
            // A member no result has.
            r#"{"content":[],"resultType":"complete"}"#,
        ];
        for json in read_in_full {
            assert!(!CallToolResult::is_text_only(json), "{json}");
            assert!(!compact_text_only(json), "{json}");
        }
        // Nested as deep as a message may hold it, and a level deeper.
        let nested = |levels: usize| {
            let inner = levels - 1;
            format!(r#"{{"content":[],"structuredContent":{{"a":{}{}}}}}"#, "[".repeat(inner), "]".repeat(inner))
        };
        assert!(CallToolResult::is_text_only(&nested(126)));
        assert!(typed(&nested(126)).is_ok());
        assert!(!CallToolResult::is_text_only(&nested(127)));
        assert!(typed(&nested(127)).is_err());
        // Those a typed read refuses are among them.
        for refused in [r#"{"content":[],"content":[]}"#, r#"{"content":[{"type":"text","text":"\ud800"}]}"#] {
            assert!(typed(refused).is_err(), "{refused}");
        }
    }
}
