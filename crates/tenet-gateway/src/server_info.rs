//! The upstream's name, taken out of what it answers.
//!
//! A 2026-07-28 server names itself in each result's
//! `_meta["io.modelcontextprotocol/serverInfo"]`. Through the gateway the client talks
//! to the gateway, whose server names itself where the client's version has it; the
//! upstream's entry would contradict it, so it goes. It goes from the raw JSON, before
//! the result is read: an entry that is only dropped is never built.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use tenet_client::RawResult;
use tenet_protocol::{JsonObject, SERVER_INFO_KEY};
use tenet_server::jsonrpc::RawJson;

/// A result's JSON without the server's entry in its own `_meta`; as it is when it
/// has none. A `_meta` left empty stays, as `{}`.
pub(crate) fn unnamed(result: &RawResult) -> Cow<'_, str> {
    let json = result.json();
    let Some(range) = result.meta_range() else { return Cow::Borrowed(json) };
    let meta = &json[range.clone()];
    // A cheap look first: most `_meta` objects that do not name the server do not hold
    // the text at all (an escaped key is found by the reading below).
    if !meta.contains("serverInfo") && !meta.contains('\\') {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len());
    out.push_str(&json[..range.start]);
    let mut deserializer = serde_json::Deserializer::from_str(meta);
    match deserializer.deserialize_map(Kept { out: &mut out }) {
        Ok(true) => {
            out.push_str(&json[range.end..]);
            Cow::Owned(out)
        }
        _ => Cow::Borrowed(json),
    }
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

/// Writes a `_meta` object to `out` without the server's entry; tells whether it had one.
struct Kept<'o> {
    out: &'o mut String,
}

impl<'de> Visitor<'de> for Kept<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a _meta object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let out = self.out;
        out.push('{');
        let mut first = true;
        let mut dropped = false;
        while let Some(Key(key)) = map.next_key()? {
            let value: &'de RawJson = map.next_value()?;
            if key == SERVER_INFO_KEY {
                dropped = true;
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            match key {
                // As it was written: it had nothing to escape.
                Cow::Borrowed(key) => {
                    out.push('"');
                    out.push_str(key);
                    out.push('"');
                }
                // Writing a string cannot fail.
                Cow::Owned(key) => out.push_str(&serde_json::to_string(&key).unwrap_or_default()),
            }
            out.push(':');
            out.push_str(value.get());
        }
        out.push('}');
        Ok(dropped)
    }
}

/// A member name, borrowed from the JSON when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }

            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
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
