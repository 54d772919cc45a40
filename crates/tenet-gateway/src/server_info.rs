//! The upstream's name, taken out of what it answers.
//!
//! A 2026-07-28 server names itself in each result's
//! `_meta["io.modelcontextprotocol/serverInfo"]`. Through the gateway the client talks
//! to the gateway, whose server names itself where the client's version has it; the
//! upstream's entry would contradict it, so it goes. It goes from the raw JSON, before
//! the result is read: an entry that is only dropped is never built.

use std::borrow::Cow;

use tenet_client::RawResult;
use tenet_protocol::{JsonObject, SERVER_INFO_KEY};
use tenet_server::jsonrpc::members;

/// A result's JSON without the server's entry in its own `_meta`; as it is when it
/// has none. A `_meta` left empty stays, as `{}`.
pub(crate) fn unnamed(result: &RawResult) -> Cow<'_, str> {
    let json = result.json();
    let Some(range) = result.meta_range() else { return Cow::Borrowed(json) };
    let meta = &json[range.clone()];
    // A cheap look first: most `_meta` objects that do not name the server do not hold
    // the text at all (an escaped key is found by the scan below).
    if !meta.contains("serverInfo") && !meta.contains('\\') {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len());
    out.push_str(&json[..range.start]);
    out.push('{');
    let (mut dropped, mut kept) = (false, 0);
    for member in members(meta) {
        if member.name == SERVER_INFO_KEY {
            dropped = true;
            continue;
        }
        if kept > 0 {
            out.push(',');
        }
        kept += 1;
        out.push_str(&meta[member.span]);
    }
    if !dropped {
        return Cow::Borrowed(json);
    }
    out.push('}');
    out.push_str(&json[range.end..]);
    Cow::Owned(out)
}

/// Drops the server's entry from a result's decoded `_meta` (and a `_meta` left empty).
pub(crate) fn drop_from(meta: &mut Option<JsonObject>) {
    if let Some(entries) = meta {
        entries.remove(SERVER_INFO_KEY);
        if entries.is_empty() {
            *meta = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn value(json: &str) -> Value {
        serde_json::from_str(json).expect("JSON")
    }

    /// `json` as the gateway's client hands it over, without the server's entry.
    fn unnamed_text(json: &str) -> (bool, String) {
        let result = RawResult::parse(json).expect("JSON");
        let got = unnamed(&result);
        (matches!(got, Cow::Owned(_)), got.into_owned())
    }

    #[test]
    fn the_servers_entry_goes_and_everything_else_stays() {
        let json = r#"{"content":[{"type":"text","text":"_meta"}],"_meta":{"a":{"_meta":1},"io.modelcontextprotocol/serverInfo":{"name":"up","version":"1"},"b\"c":[1]},"isError":false}"#;
        let (copied, got) = unnamed_text(json);
        assert!(copied);
        assert_eq!(
            value(&got),
            json!({"content":[{"type":"text","text":"_meta"}],"_meta":{"a":{"_meta":1},"b\"c":[1]},"isError":false})
        );
        // Only the entry: an empty `_meta` is left, and the decoded view drops it.
        let (_, only) = unnamed_text(r#"{"content":[],"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"up"}}}"#);
        assert_eq!(value(&only), json!({"content":[],"_meta":{}}));
        let mut meta: Option<JsonObject> = Some(JsonObject::new());
        drop_from(&mut meta);
        assert!(meta.is_none());
    }

    #[test]
    fn an_escaped_key_is_the_same_key() {
        let json = r#"{"_meta":{"io.modelcontextprotocol\/serverInfo":{"name":"up"},"k":"v"}}"#;
        assert_eq!(value(&unnamed_text(json).1), json!({"_meta":{"k":"v"}}));
    }

    #[test]
    fn results_without_the_entry_are_not_copied() {
        for json in [
            r#"{"content":[]}"#,
            r#"{"_meta":{"k":"serverInfo"}}"#,
            r#"{"content":[{"_meta":{"io.modelcontextprotocol/serverInfo":{}}}]}"#,
            r#"{"_meta":7}"#,
            "[1]",
        ] {
            assert_eq!(unnamed_text(json), (false, json.to_owned()), "{json}");
        }
        let mut meta = Some(json!({"k": 1}).as_object().cloned().unwrap());
        drop_from(&mut meta);
        assert_eq!(meta.map(Value::Object), Some(json!({"k": 1})));
    }
}
