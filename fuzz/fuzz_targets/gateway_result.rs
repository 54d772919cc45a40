//! A tool result as an upstream writes it, as the gateway passes it on without reading
//! it into a tree: what comes out is JSON its own client takes, holding what a tree of
//! the input holds less what a tool result does not have (only `content`,
//! `structuredContent`, `isError` and `_meta`) and less the upstream's name in `_meta`
//! (a `_meta` left empty goes too); it says rightly whether it is an error and where its
//! `_meta` is; passing it on again changes nothing; a memo of the upstream's name,
//! learned on the way, gives the same text as a fresh one. The result without the
//! server's entry, which a typed read is given, is the input's tree less that entry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tenet_gateway::fuzzing::{KEPT, tool_result};
use tenet_jsonrpc::members;
use tenet_protocol::SERVER_INFO_KEY;

fuzz_target!(|bytes: &[u8]| {
    let Ok(json) = std::str::from_utf8(bytes) else { return };
    check(json);
    // The same JSON with its slashes escaped, `\/` (a `/` is only ever inside a
    // string): names such as the server's entry's are then written with an escape.
    let mut escaped = String::with_capacity(json.len() + 8);
    let mut last = None;
    for c in json.chars() {
        if c == '/' && last != Some('\\') {
            escaped.push('\\');
        }
        escaped.push(c);
        last = Some(c);
    }
    if escaped != json {
        check(&escaped);
    }
});

/// The properties above for `json`.
fn check(json: &str) {
    // Only text the gateway's client takes as a result reaches the gateway.
    let Some((passed, unnamed)) = tool_result(json) else { return };
    let (out, is_error, meta) = &passed[0];
    for other in &passed[1..] {
        assert_eq!(other, &passed[0], "{json}: a memo of the name changed what went on");
    }
    let Some((again, _)) = tool_result(out) else { panic!("{json} passed on as {out}, which a client refuses") };
    assert_eq!(&again[0].0, out, "{json}: passing {out} on again changed it");
    // Named twice, `_meta` goes as it came, for the typed read to refuse.
    if members(json).filter(|m| m.name == "_meta").count() > 1 {
        return;
    }
    assert_eq!(*meta, members(out).find(|m| m.name == "_meta").map(|m| m.value_span()), "{json} → {out}");
    // Compared as trees where the input reads as one (a lone surrogate does not).
    let Ok(tree) = serde_json::from_str::<Value>(json) else { return };
    let read: Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{json} → {out}: {e}"));
    let mut expected = tree.as_object().cloned().unwrap_or_default();
    expected.retain(|name, _| KEPT.contains(&name.as_str()));
    if let Some(Value::Object(entries)) = expected.get_mut("_meta") {
        entries.remove(SERVER_INFO_KEY);
        if entries.is_empty() {
            expected.remove("_meta");
        }
    }
    assert_eq!(*is_error, expected.get("isError") == Some(&Value::Bool(true)), "{json} → {out}");
    assert_eq!(read, Value::Object(expected), "{json} → {out}");
    let mut without = tree;
    if let Some(Value::Object(entries)) = without.get_mut("_meta") {
        entries.remove(SERVER_INFO_KEY);
    }
    let unnamed: Value = serde_json::from_str(&unnamed).unwrap_or_else(|e| panic!("{json} unnamed as {unnamed}: {e}"));
    assert_eq!(unnamed, without, "{json}");
}
