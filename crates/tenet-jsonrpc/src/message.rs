//! Messages, and writing them as one line of JSON each.

use serde::Serialize;

use crate::{ErrorObject, Id, RawJson, RawObject};

/// A request: it has an id and expects exactly one response.
#[derive(Debug)]
pub struct Request {
    /// The id the response must carry.
    pub id: Id,
    /// The method name.
    pub method: String,
    /// The parameters, kept as raw JSON (an object or an array) until the handler reads them.
    pub params: Option<Box<RawJson>>,
}

/// A notification: no id, no response.
#[derive(Debug)]
pub struct Notification {
    /// The method name.
    pub method: String,
    /// The parameters, kept as raw JSON.
    pub params: Option<Box<RawJson>>,
}

/// How a request ended.
#[derive(Debug)]
pub enum Outcome {
    /// The `result` member, as raw JSON with where its members are.
    Result(RawObject),
    /// The `error` member.
    Error(ErrorObject),
}

/// A response to a request. `id` is `None` only for errors about a message whose id
/// could not be read.
#[derive(Debug)]
pub struct Response {
    /// The id of the request this answers.
    pub id: Option<Id>,
    /// Its result or error.
    pub outcome: Outcome,
}

/// Any single JSON-RPC message.
#[derive(Debug)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A notification.
    Notification(Notification),
    /// A response.
    Response(Response),
}

impl Message {
    /// The method name, for requests and notifications.
    pub fn method(&self) -> Option<&str> {
        match self {
            Message::Request(r) => Some(&r.method),
            Message::Notification(n) => Some(&n.method),
            Message::Response(_) => None,
        }
    }
}

fn push_id(out: &mut Vec<u8>, id: Option<&Id>) {
    match id {
        None => out.extend_from_slice(b"null"),
        // Writing a number or a string into a Vec cannot fail.
        Some(Id::Number(n)) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Some(Id::String(s)) => {
            let _ = serde_json::to_writer(&mut *out, s);
        }
    }
}

/// Whether JSON `text` holds no line break (a raw CR or LF, which JSON allows only
/// between tokens): whether it may go into a line-framed message as it is.
///
/// ```
/// assert!(tenet_jsonrpc::one_line(r#"{"a":"b\nc"}"#));
/// assert!(!tenet_jsonrpc::one_line("{\n}"));
/// ```
pub fn one_line(text: &str) -> bool {
    memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_none()
}

/// Writes a success response for `id` to `out`, followed by a newline.
///
/// `result` must be a JSON object's text, on one line ([`one_line`]). `extra` is a list of members (already
/// `"key":value` text) spliced into that object without re-serializing it; MCP uses it
/// for era-specific fields such as `resultType`.
pub fn write_result_response(out: &mut Vec<u8>, id: &Id, result: &str, extra: &[&str]) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    push_id(out, Some(id));
    out.extend_from_slice(br#","result":"#);
    splice_members(out, result, extra);
    out.extend_from_slice(b"}\n");
}

/// Writes `response` to `out` as it was read (one relayed elsewhere), followed by a
/// newline.
pub fn write_response(out: &mut Vec<u8>, response: &Response) {
    match &response.outcome {
        Outcome::Result(raw) => {
            out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
            push_id(out, response.id.as_ref());
            out.extend_from_slice(br#","result":"#);
            out.extend_from_slice(raw.get().as_bytes());
            out.extend_from_slice(b"}\n");
        }
        Outcome::Error(error) => write_error_response(out, response.id.as_ref(), UnknownId::Null, error),
    }
}

/// Appends `object` with `extra` members added at its end.
fn splice_members(out: &mut Vec<u8>, object: &str, extra: &[&str]) {
    let trimmed = object.trim_end();
    if extra.is_empty() || !trimmed.ends_with('}') {
        out.extend_from_slice(object.as_bytes());
        return;
    }
    let body = &trimmed[..trimmed.len() - 1];
    out.extend_from_slice(body.as_bytes());
    let mut empty = body.trim_end().ends_with('{');
    for member in extra {
        if !empty {
            out.push(b',');
        }
        out.extend_from_slice(member.as_bytes());
        empty = false;
    }
    out.push(b'}');
}

/// How an error response names a request whose id could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownId {
    /// `"id": null`, as JSON-RPC 2.0 says (MCP up to 2025-06-18).
    Null,
    /// No `id` member, as MCP's schema says from 2025-11-25 on.
    Omit,
}

/// Writes an error response to `out`, followed by a newline. When `id` is `None`,
/// `unknown` decides between `"id": null` and leaving the member out.
pub fn write_error_response(out: &mut Vec<u8>, id: Option<&Id>, unknown: UnknownId, error: &ErrorObject) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","#);
    if id.is_some() || unknown == UnknownId::Null {
        out.extend_from_slice(br#""id":"#);
        push_id(out, id);
        out.push(b',');
    }
    out.extend_from_slice(br#""error":"#);
    // An ErrorObject always serializes.
    let _ = serde_json::to_writer(&mut *out, error);
    out.extend_from_slice(b"}\n");
}

/// Ends a request or notification with its params, or `{}` when they cannot be written
/// (whatever was written of them goes, so the line stays JSON), and a newline.
fn push_params(out: &mut Vec<u8>, params: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>) {
    out.extend_from_slice(br#","params":"#);
    let start = out.len();
    if params(out).is_err() {
        out.truncate(start);
        out.extend_from_slice(b"{}");
    }
    out.extend_from_slice(b"}\n");
}

/// Writes a notification to `out`, followed by a newline.
pub fn write_notification(out: &mut Vec<u8>, method: &str, params: &impl Serialize) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","method":"#);
    let _ = serde_json::to_writer(&mut *out, method);
    push_params(out, |out| serde_json::to_writer(out, params));
}

/// Writes a request to `out`, followed by a newline.
pub fn write_request(out: &mut Vec<u8>, id: &Id, method: &str, params: &impl Serialize) {
    write_request_with(out, id, method, |out| serde_json::to_writer(out, params));
}

/// [`write_request`] for params the caller writes itself as JSON text: `params` appends
/// exactly one JSON value (an object) to the buffer it is given, or fails, and then
/// the params are sent as `{}`.
///
/// ```
/// use tenet_jsonrpc::{Id, write_request_with};
///
/// let mut out = Vec::new();
/// write_request_with(&mut out, &Id::Number(1), "ping", |out| Ok(out.extend_from_slice(b"{}")));
/// assert_eq!(out, b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{}}\n");
/// ```
pub fn write_request_with(
    out: &mut Vec<u8>,
    id: &Id,
    method: &str,
    params: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    push_id(out, Some(id));
    out.extend_from_slice(br#","method":"#);
    let _ = serde_json::to_writer(&mut *out, method);
    push_params(out, params);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn text(out: Vec<u8>) -> Value {
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn a_response_is_written_back_as_read() {
        for line in [
            r#"{"jsonrpc":"2.0","id":"r-1","result":{"action":"accept","content":{"a":[1,"x"]}}}"#,
            r#"{"jsonrpc":"2.0","id":7,"error":{"code":-1,"message":"no","data":{"why":null}}}"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#,
        ] {
            let Ok(crate::Incoming::Single(Message::Response(response))) = crate::parse(line.as_bytes()) else {
                panic!("{line}")
            };
            let mut out = Vec::new();
            write_response(&mut out, &response);
            assert_eq!(text(out), serde_json::from_str::<Value>(line).unwrap());
        }
    }

    #[test]
    fn result_members_are_spliced_into_the_object() {
        let mut out = Vec::new();
        write_result_response(&mut out, &Id::from("a"), r#"{"tools":[]}"#, &[r#""resultType":"complete""#]);
        assert!(out.ends_with(b"}\n"));
        assert_eq!(text(out), json!({"jsonrpc":"2.0","id":"a","result":{"tools":[],"resultType":"complete"}}));
    }

    #[test]
    fn splicing_into_an_empty_object_adds_no_comma() {
        let mut out = Vec::new();
        write_result_response(&mut out, &Id::Number(1), "{ }", &[r#""a":1"#, r#""b":2"#]);
        assert_eq!(text(out), json!({"jsonrpc":"2.0","id":1,"result":{"a":1,"b":2}}));
    }

    #[test]
    fn error_with_null_or_no_id() {
        let mut out = Vec::new();
        write_error_response(&mut out, None, UnknownId::Null, &ErrorObject::parse_error("bad"));
        assert_eq!(text(out), json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}));
        let mut out = Vec::new();
        write_error_response(&mut out, None, UnknownId::Omit, &ErrorObject::parse_error("bad"));
        assert_eq!(text(out), json!({"jsonrpc":"2.0","error":{"code":-32700,"message":"bad"}}));
        let mut out = Vec::new();
        write_error_response(&mut out, Some(&Id::Number(4)), UnknownId::Omit, &ErrorObject::parse_error("bad"));
        assert_eq!(text(out)["id"], 4);
    }

    #[test]
    fn string_ids_are_escaped() {
        let mut out = Vec::new();
        write_result_response(&mut out, &Id::from("q\"\n"), "{}", &[]);
        assert_eq!(text(out)["id"], json!("q\"\n"));
    }

    #[test]
    fn params_that_fail_half_written_leave_a_line_of_json() {
        // A map with a key that is not a string fails after its opening brace.
        let unwritable: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        let mut request = Vec::new();
        write_request(&mut request, &Id::Number(7), "tools/call", &unwritable);
        assert!(request.ends_with(b"}\n"));
        assert_eq!(text(request), json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {}}));
        let mut notification = Vec::new();
        write_notification(&mut notification, "notifications/x", &unwritable);
        assert_eq!(text(notification), json!({"jsonrpc": "2.0", "method": "notifications/x", "params": {}}));
    }
}
