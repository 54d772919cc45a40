//! The JSON-RPC parser and its batch rules: any bytes give a message, a batch or a
//! rejection with the right code; what parses, written back and parsed again, is the
//! same message, and a result's members, found as it was read, are those a scan of its
//! text finds. A single message object is refused as unparseable exactly when a plain
//! derived reader of its members refuses its syntax, and its result and id are what
//! that reader takes. A client's reader, which reads the common response itself, reads
//! every input as the parser does. The scan of an object's members finds what a JSON
//! tree of the same text holds, and ends on any text; so does the look for repeated
//! names and long numbers, which agrees with one built from that scan, and the walk of
//! an array's objects. A tool result told to be of text alone without a read is one a
//! typed read takes as it is written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::error::Category;
use serde_json::{Map, Value};
use tenet_jsonrpc::{
    ErrorCode, Id, Incoming, MAX_DEPTH, Message, Outcome, RawJson, Rejection, Response, every_object, members, parse,
    parse_from_server, parse_thoroughly, string_value, unambiguous, write_notification, write_request, write_response,
};
use tenet_protocol::CallToolResult;

/// The params as written back: absent ones as `{}`.
fn params(params: Option<&RawJson>) -> &str {
    params.map_or("{}", RawJson::get)
}

/// Writes `message` back as the server would and parses it again: the same message.
/// A result's members are where the reader found them.
fn same_again(message: &Message) {
    if let Message::Response(Response { outcome: Outcome::Result(result), .. }) = message {
        let scanned: Vec<_> = members(result.get()).collect();
        assert_eq!(result.members().collect::<Vec<_>>(), scanned, "{}", result.get());
        text_only_reads_as_written(result.get());
    }
    let mut text = Vec::new();
    match message {
        Message::Request(r) => write_request(&mut text, &r.id, &r.method, &r.params.as_deref().unwrap_or(empty())),
        Message::Notification(n) => write_notification(&mut text, &n.method, &n.params.as_deref().unwrap_or(empty())),
        Message::Response(r) => write_response(&mut text, r),
    }
    let again = match parse(&text) {
        Ok(Incoming::Single(again)) => again,
        other => panic!("{} parsed as {other:?}", String::from_utf8_lossy(&text)),
    };
    let shown = String::from_utf8_lossy(&text);
    match (message, &again) {
        (Message::Request(a), Message::Request(b)) => {
            assert_eq!((&a.id, &a.method), (&b.id, &b.method), "{shown}");
            assert_eq!(params(a.params.as_deref()), params(b.params.as_deref()), "{shown}");
        }
        (Message::Notification(a), Message::Notification(b)) => {
            assert_eq!(a.method, b.method, "{shown}");
            assert_eq!(params(a.params.as_deref()), params(b.params.as_deref()), "{shown}");
        }
        (Message::Response(Response { id: a, outcome: x }), Message::Response(Response { id: b, outcome: y })) => {
            assert_eq!(a, b, "{shown}");
            match (x, y) {
                (Outcome::Result(x), Outcome::Result(y)) => assert_eq!(x.get(), y.get(), "{shown}"),
                (Outcome::Error(x), Outcome::Error(y)) => {
                    assert_eq!((x.code, &x.message), (y.code, &y.message), "{shown}");
                }
                _ => panic!("{shown} came back with another outcome"),
            }
        }
        _ => panic!("{shown} came back as another kind of message"),
    }
}

/// The members scanned from `json` are those of its JSON tree, when it is an object.
fn members_agree(json: &str) {
    let scanned = members(json)
        .map(|m| {
            // The quoted name opens the member's span and reads as its name.
            assert!(json[m.span.clone()].starts_with(m.quoted), "{json}");
            assert_eq!(string_value(m.quoted).as_deref(), Some(&*m.name), "{json}");
            (m.name.into_owned(), m.value)
        })
        .collect::<Vec<_>>();
    if let Ok(Value::Object(tree)) = serde_json::from_str::<Value>(json) {
        let scanned: Map<String, Value> = scanned
            .into_iter()
            .map(|(name, value)| {
                (name, serde_json::from_str(value).unwrap_or_else(|e| panic!("{value}: {e} in {json}")))
            })
            .collect();
        assert_eq!(scanned, tree, "{json}");
    }
}

/// The objects [`every_object`] walks in `json` (checked JSON) are those of its JSON
/// tree, and it says they all are objects exactly when they are.
fn objects_agree(json: &str) {
    let mut seen = Vec::new();
    let all = every_object(json, |found| {
        seen.push(found.map(|m| (m.name.into_owned(), m.value.to_owned())).collect::<Vec<_>>());
        true
    });
    let Ok(entries) = serde_json::from_str::<Vec<&RawJson>>(json) else {
        assert!(!all, "{json} is no array");
        return;
    };
    assert_eq!(all, entries.iter().all(|entry| entry.get().starts_with('{')), "{json}");
    // Compared as trees where the text makes one (a number past a float's range does not).
    if all && let Ok(Value::Array(tree)) = serde_json::from_str::<Value>(json) {
        let seen: Vec<Value> = seen
            .into_iter()
            .map(|found| {
                let object = found.into_iter().map(|(name, value)| {
                    (name, serde_json::from_str(&value).unwrap_or_else(|e| panic!("{value}: {e} in {json}")))
                });
                Value::Object(object.collect())
            })
            .collect();
        assert_eq!(seen, tree, "{json}");
    }
}

/// A result (checked JSON) told to be of text alone reads, typed, as it is written.
fn text_only_reads_as_written(json: &str) {
    if CallToolResult::is_text_only(json) {
        let typed: CallToolResult = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        let tree: Value = serde_json::from_str(json).expect("checked JSON");
        assert_eq!(serde_json::to_value(typed).expect("writable"), tree, "{json}");
    }
}

/// [`unambiguous`] built another way, for JSON text `depth` arrays and objects deep:
/// each object's names from the member scan (checked above against a tree), each
/// array's entries from serde_json.
fn unambiguous_by_parts(json: &str, depth: usize) -> bool {
    let json = json.trim_matches([' ', '\t', '\n', '\r']);
    let nested = matches!(json.as_bytes().first(), Some(b'{' | b'['));
    if nested && depth >= MAX_DEPTH {
        return false;
    }
    match json.as_bytes().first() {
        Some(b'{') => {
            let found: Vec<_> = members(json).collect();
            let names: std::collections::HashSet<String> = found
                .iter()
                .map(|m| {
                    let name = m.name.chars().flat_map(char::to_lowercase).flat_map(char::to_uppercase);
                    name.flat_map(char::to_lowercase).collect()
                })
                .collect();
            names.len() == found.len()
                && !names.iter().any(|name| name.contains('\0'))
                && found.iter().all(|m| unambiguous_by_parts(m.value, depth + 1))
        }
        Some(b'[') => {
            let entries: Vec<&RawJson> = serde_json::from_str(json).expect("an array");
            entries.iter().all(|entry| unambiguous_by_parts(entry.get(), depth + 1))
        }
        Some(b'-' | b'0'..=b'9') => json.len() <= 15 && !json.contains(['e', 'E']),
        _ => true,
    }
}

/// A message object's members, each kept raw, as a derived reader takes them: the
/// model for the parser's own reader, which finds where a result's members are as it
/// goes.
#[derive(Deserialize)]
#[allow(dead_code, reason = "members other than `result` are read to be refused when named twice")]
struct Model<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    jsonrpc: Option<&'a RawJson>,
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawJson>,
    #[serde(borrow, default, deserialize_with = "present")]
    method: Option<&'a RawJson>,
    #[serde(borrow, default, deserialize_with = "present")]
    params: Option<&'a RawJson>,
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<&'a RawJson>,
    #[serde(borrow, default, deserialize_with = "present")]
    error: Option<&'a RawJson>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawJson>, D::Error> {
    <&RawJson>::deserialize(d).map(Some)
}

/// `parsed`, what the parser made of the single object `text`, against the model: a
/// syntax error exactly where the model finds one, a data error (a member named twice)
/// as an invalid request, and the result's text as the model reads it.
fn agrees_with_model(text: &str, parsed: &Result<Incoming, Rejection>) {
    // Nesting the parser refuses before reading is left out.
    let opening = text.bytes().filter(|b| matches!(b, b'{' | b'[')).count();
    if !text.trim_start().starts_with('{') || opening > MAX_DEPTH {
        return;
    }
    match (serde_json::from_str::<Model<'_>>(text), parsed) {
        (Err(e), Err(rejection)) => {
            let code = if e.classify() == Category::Data { ErrorCode::INVALID_REQUEST } else { ErrorCode::PARSE_ERROR };
            assert_eq!(rejection.error.code, code, "{text}: {e}");
        }
        (Err(e), Ok(_)) => panic!("{text} was read, where the model says {e}"),
        (Ok(model), Ok(Incoming::Single(Message::Response(Response { id, outcome: Outcome::Result(result) })))) => {
            assert_eq!(Some(result.get()), model.result.map(RawJson::get), "{text}");
            let model_id = model.id.and_then(|id| serde_json::from_str::<Id>(id.get()).ok());
            assert_eq!(id, &model_id, "{text}");
        }
        (Ok(_), Ok(_)) => {}
        (Ok(_), Err(rejection)) => assert_eq!(rejection.error.code, ErrorCode::INVALID_REQUEST, "{text}"),
    }
}

/// What was read, shown whole: a result with where its members are.
fn shown(read: &Result<Incoming, Rejection>) -> String {
    let message = |message: &Message| match message {
        Message::Response(Response { id, outcome: Outcome::Result(result) }) => {
            format!("{id:?} {} {:?}", result.get(), result.members().collect::<Vec<_>>())
        }
        other => format!("{other:?}"),
    };
    match read {
        Ok(Incoming::Single(one)) => message(one),
        Ok(Incoming::Batch(entries)) => {
            let entries: Vec<_> = entries.iter().map(|entry| entry.as_ref().map(message)).collect();
            format!("{entries:?}")
        }
        Err(rejection) => format!("{rejection:?}"),
    }
}

fn empty() -> &'static RawJson {
    static EMPTY: std::sync::OnceLock<Box<RawJson>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| RawJson::from_string("{}".into()).expect("{} is JSON"))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    members_agree(&text);
    let said = unambiguous(&text);
    if serde_json::from_str::<&RawJson>(&text).is_ok() {
        assert_eq!(said, unambiguous_by_parts(&text, 0), "{text}");
        objects_agree(&text);
        text_only_reads_as_written(&text);
    }
    let parsed = parse(data);
    // The server's reader, with its own reading of the common request, reads as the full
    // reader alone; a client's reader, with its own reading of the common response, too.
    assert_eq!(shown(&parsed), shown(&parse_thoroughly(data)), "{text}");
    assert_eq!(shown(&parse_from_server(data)), shown(&parsed), "{text}");
    if let Ok(text) = std::str::from_utf8(data) {
        agrees_with_model(text, &parsed);
    }
    match parsed {
        Ok(Incoming::Single(message)) => same_again(&message),
        Ok(Incoming::Batch(entries)) => {
            assert!(!entries.is_empty(), "an empty batch was accepted");
            for entry in entries {
                match entry {
                    Ok(message) => same_again(&message),
                    Err(rejection) => assert_eq!(rejection.error.code, ErrorCode::INVALID_REQUEST),
                }
            }
        }
        Err(rejection) => {
            let code = rejection.error.code;
            assert!(code == ErrorCode::PARSE_ERROR || code == ErrorCode::INVALID_REQUEST, "code {code:?}");
            if code == ErrorCode::PARSE_ERROR {
                assert!(rejection.id.is_none(), "a parse error with an id");
            }
        }
    }
});
