//! Parsing one frame of bytes into messages, with the spec's errors.

use serde_json::error::Category;

use crate::envelope::Envelope;
use crate::{ErrorCode, ErrorObject, Id, Message, Notification, Outcome, RawJson, Request, Response};

/// What one frame held: a single message, or a batch (a JSON array).
///
/// Whether a batch is allowed depends on the negotiated protocol version, so this crate
/// parses it and leaves the decision to the caller.
#[derive(Debug)]
pub enum Incoming {
    /// One message.
    Single(Message),
    /// A non-empty array of entries; each is a message or the error its entry earned.
    Batch(Vec<Result<Message, Rejection>>),
}

/// Why a frame (or one entry of a batch) is not a message: the error to answer with,
/// and the id to answer to when it could be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The id of the offending request, if it could be read.
    pub id: Option<Id>,
    /// The error object to send.
    pub error: ErrorObject,
}

impl Rejection {
    fn new(id: Option<Id>, error: ErrorObject) -> Self {
        Self { id, error }
    }
}

/// How deeply arrays and objects may nest in one message.
pub const MAX_DEPTH: usize = 128;

/// Whether brackets nest deeper than [`MAX_DEPTH`], ignoring those inside strings.
fn too_deep(text: &str) -> bool {
    // Nesting deeper than MAX_DEPTH takes more opening brackets than that: counting them
    // (fast, strings not told apart) clears almost every message without the walk.
    if opening_brackets(text.as_bytes()) <= MAX_DEPTH {
        return false;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in text.as_bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// How many `[` and `{` bytes `bytes` holds. Counted in runs of at most 255 into a
/// byte-wide counter, which the compiler turns into vector instructions: about ten
/// times faster than counting into a `usize`.
pub(crate) fn opening_brackets(bytes: &[u8]) -> usize {
    bytes
        .chunks(usize::from(u8::MAX))
        .map(|run| {
            // `[` is 0x5B and `{` 0x7B: with bit 0x20 set, both are `{`, and no other byte is.
            let count = run.iter().fold(0u8, |n, &b| n + u8::from((b | 0x20) == b'{'));
            usize::from(count)
        })
        .sum()
}

/// Parses one frame.
///
/// # Errors
/// -32700 (id `None`) when the bytes are not JSON; -32600 when they are JSON but not a
/// JSON-RPC 2.0 message, carrying the request's id when it could be read.
pub fn parse(bytes: &[u8]) -> Result<Incoming, Rejection> {
    let text = utf8(bytes)?;
    // The request nearly every client writes is read without serde's reading of the
    // envelope; anything else, fully. Both read it alike (the `jsonrpc` fuzz target
    // compares this with [`parse_thoroughly`] on every input).
    match crate::quick::request(text) {
        Some(message) => Ok(Incoming::Single(message)),
        None => parse_text(text),
    }
}

/// [`parse`] by the full reader alone, without the quick readers of the common request
/// and response: what they are checked against.
///
/// # Errors
/// As [`parse`].
pub fn parse_thoroughly(bytes: &[u8]) -> Result<Incoming, Rejection> {
    parse_text(utf8(bytes)?)
}

/// `bytes` as text.
fn utf8(bytes: &[u8]) -> Result<&str, Rejection> {
    std::str::from_utf8(bytes)
        .map_err(|_| Rejection::new(None, ErrorObject::parse_error("Parse error: the message is not valid UTF-8")))
}

/// [`parse`] of text already known to be UTF-8.
fn parse_text(text: &str) -> Result<Incoming, Rejection> {
    if too_deep(text) {
        return Err(Rejection::new(
            None,
            ErrorObject::parse_error(format!("Parse error: nested deeper than {MAX_DEPTH} levels")),
        ));
    }
    match text.bytes().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => parse_batch(text),
        Some(b'{') => parse_object(text).map(Incoming::Single),
        _ => Err(not_an_object(text)),
    }
}

/// [`parse`], for a client: most of what a server sends are responses, and one in the
/// shape nearly every server writes (`{"jsonrpc":"2.0","id":7,"result":{…}}`, its members
/// in any order) is read without serde, in one walk of its bytes. Anything else is
/// [`parse`]d. Both read such a response the same way: the same id, the same result,
/// its members in the same places (the `jsonrpc` fuzz target compares the two on every
/// input).
///
/// ```
/// use tenet_jsonrpc::{Id, Incoming, Message, Outcome, parse_from_server};
///
/// let line = br#"{"jsonrpc":"2.0","id":7,"result":{"content":[],"isError":false}}"#;
/// let Ok(Incoming::Single(Message::Response(response))) = parse_from_server(line) else { panic!() };
/// assert_eq!(response.id, Some(Id::Number(7)));
/// let Outcome::Result(result) = response.outcome else { panic!() };
/// assert_eq!(result.members().map(|m| m.name).collect::<Vec<_>>(), ["content", "isError"]);
/// ```
///
/// # Errors
/// As [`parse`].
pub fn parse_from_server(bytes: &[u8]) -> Result<Incoming, Rejection> {
    let text = utf8(bytes)?;
    // What the quick reader takes nests no deeper than `parse` allows.
    match crate::quick::response(text) {
        Some(message) => Ok(Incoming::Single(message)),
        None => parse_text(text),
    }
}

fn not_an_object(text: &str) -> Rejection {
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Ok(_) => Rejection::new(None, ErrorObject::invalid_request("Invalid Request: a message must be a JSON object")),
        Err(e) => syntax_error(&e),
    }
}

fn syntax_error(e: &serde_json::Error) -> Rejection {
    Rejection::new(None, ErrorObject::parse_error(format!("Parse error: {e}")))
}

fn parse_batch(text: &str) -> Result<Incoming, Rejection> {
    let entries: Vec<&RawJson> = serde_json::from_str(text).map_err(|e| syntax_error(&e))?;
    if entries.is_empty() {
        return Err(Rejection::new(None, ErrorObject::invalid_request("Invalid Request: empty batch")));
    }
    let messages = entries
        .into_iter()
        .map(|raw| {
            let text = raw.get();
            let entry = if text.starts_with('{') { parse_object(text) } else { Err(not_an_object(text)) };
            entry.map_err(invalid_entry)
        })
        .collect();
    Ok(Incoming::Batch(messages))
}

/// An entry of a batch that read as JSON is an invalid request whatever is wrong with
/// it (JSON-RPC 2.0 §6), even where the entry alone would not be JSON: a lone UTF-16
/// surrogate in a string (`"\ud83d"`) passes the batch's reading, which leaves strings
/// undecoded, and fails the entry's.
fn invalid_entry(rejection: Rejection) -> Rejection {
    if rejection.error.code != ErrorCode::PARSE_ERROR {
        return rejection;
    }
    let why = rejection.error.message.strip_prefix("Parse error: ").unwrap_or(&rejection.error.message);
    Rejection::new(rejection.id, ErrorObject::invalid_request(format!("Invalid Request: {why}")))
}

/// Reads a message object.
pub(crate) fn parse_object(text: &str) -> Result<Message, Rejection> {
    let envelope = Envelope::read(text).map_err(|e| match e.classify() {
        Category::Data => Rejection::new(None, ErrorObject::invalid_request(format!("Invalid Request: {e}"))),
        _ => syntax_error(&e),
    })?;
    // The id, when it can be read, goes on every error about this message.
    let id = match envelope.id {
        None => None,
        Some(raw) if raw.get() == "null" => None,
        Some(raw) => match serde_json::from_str::<Id>(raw.get()) {
            Ok(id) => Some(id),
            Err(_) => {
                return Err(Rejection::new(
                    None,
                    ErrorObject::invalid_request("Invalid Request: id must be a string or an integer"),
                ));
            }
        },
    };
    let invalid =
        |why: &str| Rejection::new(id.clone(), ErrorObject::invalid_request(format!("Invalid Request: {why}")));
    match envelope.jsonrpc.map(RawJson::get) {
        Some("\"2.0\"") => {}
        Some(_) => return Err(invalid("jsonrpc must be \"2.0\"")),
        None => return Err(invalid("missing jsonrpc member")),
    }
    if let Some(method) = envelope.method {
        let Ok(method) = serde_json::from_str::<String>(method.get()) else {
            return Err(invalid("method must be a string"));
        };
        if envelope.result.is_some() || envelope.error.is_some() {
            return Err(invalid("a request cannot carry result or error"));
        }
        let params = match envelope.params {
            None => None,
            Some(raw) if matches!(raw.get().as_bytes().first(), Some(b'{' | b'[')) => Some(raw.to_owned()),
            Some(_) => return Err(invalid("params must be an object")),
        };
        return match (envelope.id, id.clone()) {
            (None, _) => Ok(Message::Notification(Notification { method, params })),
            (Some(_), Some(id)) => Ok(Message::Request(Request { id, method, params })),
            (Some(_), None) => Err(invalid("a request id must not be null")),
        };
    }
    match (envelope.result, envelope.error) {
        (Some(result), None) => match id.clone() {
            Some(id) => {
                Ok(Message::Response(Response { id: Some(id), outcome: Outcome::Result(result.into_object()) }))
            }
            None => Err(invalid("a result must carry the id of its request")),
        },
        (None, Some(error)) => match serde_json::from_str::<ErrorObject>(error.get()) {
            Ok(error) => Ok(Message::Response(Response { id: id.clone(), outcome: Outcome::Error(error) })),
            Err(_) => Err(invalid("error must have an integer code and a string message")),
        },
        (Some(_), Some(_)) => Err(invalid("a response cannot carry both result and error")),
        (None, None) => Err(invalid("missing method")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn reject(bytes: &[u8]) -> Rejection {
        parse(bytes).expect_err("should be rejected")
    }

    #[test]
    fn brackets_are_counted_exactly_across_runs() {
        // Every byte value, in runs longer than one counter holds, and around a run's end.
        let all: Vec<u8> = (0..=255u8).collect();
        for len in [0, 1, 254, 255, 256, 510, 511, 2000] {
            let bytes: Vec<u8> = all.iter().copied().cycle().take(len).collect();
            let expected = bytes.iter().filter(|&&b| b == b'[' || b == b'{').count();
            assert_eq!(opening_brackets(&bytes), expected, "{len} bytes");
        }
        assert_eq!(opening_brackets(&[b'['; 1000]), 1000);
        assert_eq!(opening_brackets(b"{[]}\"\x5b\x7b{"), 5);
    }

    #[test]
    fn requests_notifications_and_responses() {
        assert!(matches!(
            parse(br#"{"jsonrpc":"2.0","id":"x","method":"m","params":{"a":1}}"#),
            Ok(Incoming::Single(Message::Request(Request { id: Id::String(_), .. })))
        ));
        assert!(matches!(parse(br#" {"method":"m","jsonrpc":"2.0"}"#), Ok(Incoming::Single(Message::Notification(_)))));
        assert!(matches!(
            parse(br#"{"jsonrpc":"2.0","id":3,"result":{}}"#),
            Ok(Incoming::Single(Message::Response(Response { outcome: Outcome::Result(_), .. })))
        ));
        assert!(matches!(
            parse(br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#),
            Ok(Incoming::Single(Message::Response(Response { id: None, outcome: Outcome::Error(_) })))
        ));
    }

    #[test]
    fn unparseable_input_is_a_parse_error_with_null_id() {
        for bad in [&b"{\"jsonrpc\":\"2.0\",\"id\":1,"[..], b"", b"nul", b"\xff\xfe", b"{\"a\":\"\xff\"}"] {
            let r = reject(bad);
            assert_eq!(r.error.code, ErrorCode::PARSE_ERROR, "{bad:?}");
            assert_eq!(r.id, None);
        }
    }

    #[test]
    fn deep_nesting_is_a_parse_error_not_a_crash() {
        let mut deep = String::from(r#"{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":"#);
        deep.push_str(&"[".repeat(10_000));
        deep.push_str(&"]".repeat(10_000));
        deep.push_str("}}");
        assert_eq!(reject(deep.as_bytes()).error.code, ErrorCode::PARSE_ERROR);
    }

    #[test]
    fn nesting_counts_both_brackets_up_to_the_limit_and_not_inside_strings() {
        // `params` is one level; `depth` more levels of alternating `{"k":` and `[`.
        let nested = |depth: usize| {
            let (mut open, mut close) = (String::new(), String::new());
            for level in 0..depth {
                if level % 2 == 0 {
                    open.push_str(r#"{"k":"#);
                    close.insert(0, '}');
                } else {
                    open.push('[');
                    close.insert(0, ']');
                }
            }
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{{"a":{open}1{close}}}}}"#)
        };
        assert!(parse(nested(MAX_DEPTH - 2).as_bytes()).is_ok());
        assert_eq!(reject(nested(MAX_DEPTH).as_bytes()).error.code, ErrorCode::PARSE_ERROR);
        let in_a_string = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{{"a":"{}"}}}}"#, "[{".repeat(500));
        assert!(parse(in_a_string.as_bytes()).is_ok());
    }

    #[test]
    fn invalid_requests_keep_their_id() {
        let cases: [&[u8]; 6] = [
            br#"{"jsonrpc":"1.0","id":5,"method":"m"}"#,
            br#"{"id":5,"method":"m"}"#,
            br#"{"jsonrpc":"2.0","id":5}"#,
            br#"{"jsonrpc":"2.0","id":5,"method":"m","params":3}"#,
            br#"{"jsonrpc":"2.0","id":5,"method":7}"#,
            br#"{"jsonrpc":"2.0","id":5,"method":"m","params":"x"}"#,
        ];
        for bad in cases {
            let r = reject(bad);
            assert_eq!(r.error.code, ErrorCode::INVALID_REQUEST, "{}", String::from_utf8_lossy(bad));
            assert_eq!(r.id, Some(Id::Number(5)));
        }
    }

    #[test]
    fn null_and_float_ids_on_requests_are_invalid() {
        for bad in [&br#"{"jsonrpc":"2.0","id":null,"method":"m"}"#[..], br#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#]
        {
            let r = reject(bad);
            assert_eq!(r.error.code, ErrorCode::INVALID_REQUEST);
            assert_eq!(r.id, None);
        }
    }

    #[test]
    fn non_objects_are_invalid_requests() {
        for bad in [&b"42"[..], b"\"hi\"", b"null", b"[]"] {
            assert_eq!(reject(bad).error.code, ErrorCode::INVALID_REQUEST);
        }
    }

    #[test]
    fn batches_parse_entry_by_entry() {
        let Ok(Incoming::Batch(entries)) =
            parse(br#"[{"jsonrpc":"2.0","id":1,"method":"a"}, 5, {"jsonrpc":"2.0","method":"n"}]"#)
        else {
            panic!("not a batch")
        };
        assert_eq!(entries.len(), 3);
        assert!(matches!(entries[0], Ok(Message::Request(_))));
        assert_eq!(entries[1].as_ref().unwrap_err().error.code, ErrorCode::INVALID_REQUEST);
        assert!(matches!(entries[2], Ok(Message::Notification(_))));
    }

    /// Found by the `jsonrpc` fuzz target: an entry whose strings hold a lone UTF-16
    /// surrogate was rejected as a parse error inside a batch that parsed.
    #[test]
    fn fuzz_jsonrpc_a_batch_entry_with_a_lone_surrogate_is_an_invalid_request() {
        let batch = br#"[{"jsonrpc":"2.0","id":1,"x\ud83d":1}, "\ud83d", {"jsonrpc":"2.0","id":2,"method":"a"}]"#;
        let Ok(Incoming::Batch(entries)) = parse(batch) else { panic!("not a batch") };
        for entry in &entries[..2] {
            let error = &entry.as_ref().unwrap_err().error;
            assert_eq!(error.code, ErrorCode::INVALID_REQUEST, "{}", error.message);
            assert!(error.message.starts_with("Invalid Request: "), "{}", error.message);
        }
        assert!(matches!(entries[2], Ok(Message::Request(_))));
        // Alone, the same entry is not JSON that can be read: a parse error.
        assert_eq!(reject(br#"{"jsonrpc":"2.0","id":1,"x\ud83d":1}"#).error.code, ErrorCode::PARSE_ERROR);
    }
}
