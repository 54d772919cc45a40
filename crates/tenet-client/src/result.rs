//! A request's result as the server sent it: raw JSON, glanced at once for what the
//! request path must know (its `resultType`, `isError`, a task), and read into the
//! caller's type directly, without a `serde_json::Value` tree in between.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use tenet_jsonrpc::RawJson;

use crate::error::{ClientError, Result};

/// What kind of result a server answered with (`resultType`; absent means complete).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultKind {
    /// The request's own result.
    Complete,
    /// 2026-07-28: the server needs input first (MRTR).
    InputRequired,
    /// The server runs the request as a task.
    Task,
}

/// A result as the server sent it.
///
/// ```
/// use tenet_client::{RawResult, ResultKind};
/// use tenet_protocol::CallToolResult;
///
/// let raw = RawResult::parse(r#"{"content":[{"type":"text","text":"hi"}],"isError":true}"#).unwrap();
/// assert_eq!(raw.kind().unwrap(), ResultKind::Complete);
/// assert!(raw.is_error());
/// let result: CallToolResult = raw.decode("tools/call").unwrap();
/// assert_eq!(result.content.len(), 1);
/// ```
pub struct RawResult {
    json: Box<RawJson>,
    glance: Glance,
}

impl RawResult {
    /// Wraps a result that came as raw JSON.
    pub(crate) fn new(json: Box<RawJson>) -> Self {
        // A result that is not an object has none of the members looked for (and an
        // array would be read as the members in order).
        let object = json.get().trim_start().starts_with('{');
        let glance = if object { serde_json::from_str(json.get()).unwrap_or_default() } else { Glance::default() };
        Self { json, glance }
    }

    /// Reads a result from its JSON text.
    ///
    /// # Errors
    /// [`ClientError::Protocol`] when `json` is not JSON.
    pub fn parse(json: &str) -> Result<Self> {
        RawJson::from_string(json.to_owned())
            .map(Self::new)
            .map_err(|e| ClientError::Protocol(format!("unreadable result: {e}")))
    }

    /// A result held as a JSON value (such as a followed task's outcome).
    ///
    /// # Errors
    /// [`ClientError::Protocol`] when `value` cannot be written as JSON (a map with
    /// non-string keys cannot come from the client).
    pub fn from_value(value: &Value) -> Result<Self> {
        serde_json::value::to_raw_value(value)
            .map(Self::new)
            .map_err(|e| ClientError::Protocol(format!("unwritable result: {e}")))
    }

    /// Its `resultType`.
    ///
    /// # Errors
    /// [`ClientError::Protocol`] for a `resultType` no version defines.
    pub fn kind(&self) -> Result<ResultKind> {
        match &self.glance.result_type {
            None => Ok(ResultKind::Complete),
            Some(Member::Kind(kind)) => Ok(*kind),
            Some(_) => Err(ClientError::Protocol("unknown resultType".into())),
        }
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

    /// Reads it as `T`; `what` names the request in the error.
    ///
    /// # Errors
    /// [`ClientError::Protocol`] when it is not a `T`.
    pub fn decode<T: DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_str(self.json.get())
            .map_err(|e| ClientError::Protocol(format!("unreadable {what} result: {e}")))
    }

    /// Reads it as a JSON value.
    ///
    /// # Errors
    /// Never for JSON the client received; the signature matches [`RawResult::decode`].
    pub fn into_value(self) -> Result<Value> {
        self.decode("the")
    }
}

impl fmt::Debug for RawResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawResult").field(&self.json.get()).finish()
    }
}

/// The members of a result the request path decides on, read without building the rest.
#[derive(Default, Deserialize)]
struct Glance {
    #[serde(rename = "resultType", default)]
    result_type: Option<Member>,
    #[serde(rename = "isError", default)]
    is_error: Option<Member>,
    #[serde(default)]
    task: Option<Member>,
}

/// The shape of one member, kept only as far as it matters.
enum Member {
    Kind(ResultKind),
    Bool(bool),
    Object,
    Other,
}

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(MemberVisitor)
    }
}

struct MemberVisitor;

impl<'de> Visitor<'de> for MemberVisitor {
    type Value = Member;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Member, E> {
        Ok(Member::Bool(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Member, E> {
        Ok(match v {
            "complete" => Member::Kind(ResultKind::Complete),
            "input_required" => Member::Kind(ResultKind::InputRequired),
            "task" => Member::Kind(ResultKind::Task),
            _ => Member::Other,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Member, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Member::Object)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Member, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Member::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Member, E> {
        Ok(Member::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Member, E> {
        Ok(Member::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Member, E> {
        Ok(Member::Other)
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Member, E> {
        Ok(Member::Other)
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
        assert_eq!(plain.kind().unwrap(), ResultKind::Complete);
        assert!(!plain.is_error() && !plain.holds_task());
        let input = glance(r#"{"resultType":"input_required","inputRequests":{}}"#);
        assert_eq!(input.kind().unwrap(), ResultKind::InputRequired);
        let task = glance(r#"{"resultType":"task","taskId":"t"}"#);
        assert_eq!(task.kind().unwrap(), ResultKind::Task);
        let created = glance(r#"{"task":{"taskId":"t","status":"working"}}"#);
        assert!(created.holds_task() && created.kind().unwrap() == ResultKind::Complete);
        // Escaped names are names all the same.
        assert!(glance(r#"{"is\u0045rror":true}"#).is_error());
    }

    #[test]
    fn odd_members_are_not_mistaken() {
        assert!(glance(r#"{"resultType":"later"}"#).kind().is_err());
        assert!(glance(r#"{"resultType":3}"#).kind().is_err());
        assert!(!glance(r#"{"isError":"true"}"#).is_error());
        assert!(!glance(r#"{"task":"t"}"#).holds_task());
        // Not an object: nothing to see, and decoding says what is wrong.
        let odd = glance("[1,2]");
        assert_eq!(odd.kind().unwrap(), ResultKind::Complete);
        assert!(odd.decode::<tenet_protocol::CallToolResult>("tools/call").is_err());
        assert!(RawResult::parse("{").is_err());
    }

    #[test]
    fn decodes_to_the_same_value_as_the_text() {
        let json = r#"{"content":[{"type":"text","text":"a\nb"}],"_meta":{"k":[1,2.5,null]}}"#;
        let value = glance(json).into_value().unwrap();
        assert_eq!(value, serde_json::from_str::<Value>(json).unwrap());
        assert_eq!(RawResult::from_value(&value).unwrap().into_value().unwrap(), value);
    }
}
