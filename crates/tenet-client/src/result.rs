//! A request's result as the server sent it: raw JSON, glanced at once for what the
//! request path must know (its `resultType`, `isError`, a task), and read into the
//! caller's type directly, without a `serde_json::Value` tree in between.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned};
use serde_json::Value;
use tenet_jsonrpc::{RawJson, RawObject};
use tenet_protocol::ResultType;

use crate::error::{ClientError, Result};

/// A result as the server sent it.
///
/// ```
/// use tenet_client::RawResult;
/// use tenet_client::protocol::{CallToolResult, ResultType};
///
/// let raw = RawResult::parse(r#"{"content":[{"type":"text","text":"hi"}],"isError":true}"#).unwrap();
/// assert_eq!(raw.kind().unwrap(), ResultType::Complete);
/// assert!(raw.is_error());
/// let result: CallToolResult = raw.decode("tools/call").unwrap();
/// assert_eq!(result.content.len(), 1);
/// ```
pub struct RawResult {
    json: RawObject,
    glance: Glance,
}

impl RawResult {
    /// Wraps a result that came as raw JSON.
    pub(crate) fn new(json: RawObject) -> Self {
        // A result that is not an object has none of the members looked for.
        let glance = Glance::of(&json);
        Self { json, glance }
    }

    /// Reads a result from its JSON text.
    ///
    /// # Errors
    /// [`ClientError::Protocol`] when `json` is not JSON.
    pub fn parse(json: &str) -> Result<Self> {
        RawJson::from_string(json.to_owned())
            .map(|json| Self::new(RawObject::new(json)))
            .map_err(|e| ClientError::Protocol(format!("unreadable result: {e}")))
    }

    /// A result held as a JSON value (such as a followed task's outcome).
    ///
    /// # Errors
    /// [`ClientError::Protocol`] when `value` cannot be written as JSON (a map with
    /// non-string keys cannot come from the client).
    pub fn from_value(value: &Value) -> Result<Self> {
        serde_json::value::to_raw_value(value)
            .map(|json| Self::new(RawObject::new(json)))
            .map_err(|e| ClientError::Protocol(format!("unwritable result: {e}")))
    }

    /// Its `resultType` (absent means complete: results before 2026-07-28 have none).
    ///
    /// # Errors
    /// [`ClientError::Protocol`] for a `resultType` no version defines.
    pub fn kind(&self) -> Result<ResultType> {
        match &self.glance.result_type {
            None => Ok(ResultType::Complete),
            Some(Member::Kind(kind)) => Ok(*kind),
            Some(_) => Err(ClientError::Protocol("unknown resultType (not complete, input_required or task)".into())),
        }
    }

    /// Whether it says what it is (`resultType`, 2026-07-28).
    pub fn declares_kind(&self) -> bool {
        self.glance.result_type.is_some()
    }

    /// Whether it says `"isError": true` (a tool's own failure).
    pub fn is_error(&self) -> bool {
        matches!(self.glance.is_error, Some(Member::Bool(true)))
    }

    /// Whether it holds a `task` object: a 2025-11-25 `CreateTaskResult`.
    pub fn holds_task(&self) -> bool {
        matches!(self.glance.task, Some(Member::Object))
    }

    /// The JSON text.
    pub fn json(&self) -> &str {
        self.json.get()
    }

    /// Where the text of its own `_meta` is in [`RawResult::json`], if it has one: to
    /// read or rewrite that alone.
    pub fn meta_range(&self) -> Option<std::ops::Range<usize>> {
        self.glance.meta.clone()
    }

    /// Its top-level members, in order, as [`tenet_jsonrpc::members`] finds them: from
    /// where they were found when it was read (or made), without scanning the text again.
    pub fn members(&self) -> impl Iterator<Item = tenet_jsonrpc::Member<'_>> {
        self.json.members()
    }

    /// The length of its JSON text, in bytes.
    pub fn len(&self) -> usize {
        self.json.get().len()
    }

    /// Whether its JSON text is empty (never, for a result the client received).
    pub fn is_empty(&self) -> bool {
        self.json.get().is_empty()
    }

    /// Reads it as `T`; `what` names the request in the error.
    ///
    /// # Errors
    /// [`ClientError::Protocol`] when it is not a `T` (a member of `T` named twice
    /// included).
    pub fn decode<T: DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_str(self.json.get())
            .map_err(|e| ClientError::Protocol(format!("unreadable {what} result: {e}")))
    }

    /// Reads it as a JSON value.
    ///
    /// # Errors
    /// Never for JSON the client received; the signature matches [`RawResult::decode`].
    pub fn into_value(self) -> Result<Value> {
        serde_json::from_str(self.json.get()).map_err(|e| ClientError::Protocol(format!("unreadable result: {e}")))
    }
}

impl fmt::Debug for RawResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawResult").field(&self.json.get()).finish()
    }
}

/// The members of a result the request path decides on, from where its members were
/// found ([`RawObject::members`]) rather than a parse. A member named twice counts as
/// its last value, as in a JSON tree.
#[derive(Default)]
struct Glance {
    result_type: Option<Member>,
    is_error: Option<Member>,
    task: Option<Member>,
    /// Where the text of its own `_meta` member is.
    meta: Option<std::ops::Range<usize>>,
}

impl Glance {
    /// What `json` says; nothing for a result that is not an object.
    fn of(json: &RawObject) -> Self {
        let mut glance = Glance::default();
        for member in json.members() {
            let slot = match &*member.name {
                "resultType" => &mut glance.result_type,
                "isError" => &mut glance.is_error,
                "task" => &mut glance.task,
                "_meta" => {
                    glance.meta = Some(member.value_span());
                    continue;
                }
                _ => continue,
            };
            *slot = Some(Member::of(member.value));
        }
        glance
    }
}

/// The shape of one member, kept only as far as it matters.
enum Member {
    Kind(ResultType),
    Bool(bool),
    Object,
    Other,
}

impl Member {
    /// The shape of a member's value, from its JSON text.
    fn of(value: &str) -> Self {
        match value {
            "true" => Member::Bool(true),
            "false" => Member::Bool(false),
            _ if value.starts_with('{') => Member::Object,
            _ => tenet_jsonrpc::string_value(value)
                // The protocol's own reading of the names.
                .and_then(|name| {
                    ResultType::deserialize(de::value::StrDeserializer::<de::value::Error>::new(&name)).ok()
                })
                .map_or(Member::Other, Member::Kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glance(json: &str) -> RawResult {
        RawResult::parse(json).expect("JSON")
    }

    #[test]
    fn reads_the_kind_and_flags_without_the_rest() {
        let plain = glance(r#"{"content":[],"isError":false}"#);
        assert_eq!(plain.kind().unwrap(), ResultType::Complete);
        assert!(!plain.is_error() && !plain.holds_task());
        let input = glance(r#"{"resultType":"input_required","inputRequests":{}}"#);
        assert_eq!(input.kind().unwrap(), ResultType::InputRequired);
        let task = glance(r#"{"resultType":"task","taskId":"t"}"#);
        assert_eq!(task.kind().unwrap(), ResultType::Task);
        let created = glance(r#"{"task":{"taskId":"t","status":"working"}}"#);
        assert!(created.holds_task() && created.kind().unwrap() == ResultType::Complete);
        // Escaped names are names all the same.
        assert!(glance(r#"{"is\u0045rror":true}"#).is_error());
    }

    #[test]
    fn odd_members_are_not_mistaken() {
        assert!(glance(r#"{"resultType":"later"}"#).kind().is_err());
        assert!(glance(r#"{"resultType":3}"#).kind().is_err());
        assert!(!glance(r#"{"isError":"true"}"#).is_error());
        assert!(!glance(r#"{"task":"t"}"#).holds_task());
        assert!(glance(r#"{"resultType":null}"#).kind().is_err());
        // Named twice: the last one counts.
        let twice = glance(r#"{"resultType":"complete","isError":true,"resultType":"input_required"}"#);
        assert_eq!(twice.kind().unwrap(), ResultType::InputRequired);
        assert!(twice.is_error() && twice.declares_kind());
        assert!(!glance(r#"{"task":{}}"#).declares_kind());
        let meta = glance(r#"{"a":{"_meta":1}, "_meta" : {"k":[1]} ,"b":2}"#);
        assert_eq!(&meta.json()[meta.meta_range().unwrap()], r#"{"k":[1]}"#);
        assert!(glance(r#"{"a":{"_meta":1}}"#).meta_range().is_none());
        // Not an object: nothing to see, and decoding says what is wrong.
        let odd = glance("[1,2]");
        assert_eq!(odd.kind().unwrap(), ResultType::Complete);
        assert!(odd.decode::<tenet_protocol::CallToolResult>("tools/call").is_err());
        assert!(RawResult::parse("{").is_err());
    }

    #[test]
    fn a_result_from_a_response_is_seen_where_the_reading_found_its_members() {
        use tenet_jsonrpc::{Incoming, Message, Outcome, Response};
        let line = br#"{"jsonrpc":"2.0","id":1,"result": {"resultType":"input_required", "is\u0045rror":true,"_meta":{"k":1}}}"#;
        let Ok(Incoming::Single(Message::Response(Response { outcome: Outcome::Result(object), .. }))) =
            tenet_jsonrpc::parse(line)
        else {
            panic!("a response")
        };
        let result = RawResult::new(object);
        assert_eq!(result.kind().unwrap(), ResultType::InputRequired);
        assert!(result.is_error() && !result.holds_task());
        assert_eq!(&result.json()[result.meta_range().unwrap()], r#"{"k":1}"#);
    }

    #[test]
    fn decodes_to_the_same_value_as_the_text() {
        let json = r#"{"content":[{"type":"text","text":"a\nb"}],"_meta":{"k":[1,2.5,null]}}"#;
        let value = glance(json).into_value().unwrap();
        assert_eq!(value, serde_json::from_str::<Value>(json).unwrap());
        assert_eq!(RawResult::from_value(&value).unwrap().into_value().unwrap(), value);
    }
}
