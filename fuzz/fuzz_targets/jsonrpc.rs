//! The JSON-RPC parser and its batch rules: any bytes give a message, a batch or a
//! rejection with the right code; what parses, written back and parsed again, is the
//! same message. The scan of an object's members finds what a JSON tree of the same
//! text holds, and ends on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use tenet_jsonrpc::{
    ErrorCode, Incoming, Message, Outcome, RawJson, Response, members, parse, string_value, write_notification,
    write_request, write_response,
};

/// The params as written back: absent ones as `{}`.
fn params(params: Option<&RawJson>) -> &str {
    params.map_or("{}", RawJson::get)
}

/// Writes `message` back as the server would and parses it again: the same message.
fn same_again(message: &Message) {
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

fn empty() -> &'static RawJson {
    static EMPTY: std::sync::OnceLock<Box<RawJson>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| RawJson::from_string("{}".into()).expect("{} is JSON"))
}

fuzz_target!(|data: &[u8]| {
    members_agree(&String::from_utf8_lossy(data));
    match parse(data) {
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
