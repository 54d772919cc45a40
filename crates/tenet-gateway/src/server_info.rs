//! The upstream's name, taken out of what it answers.
//!
//! A 2026-07-28 server names itself in each result's
//! `_meta["io.modelcontextprotocol/serverInfo"]`. Through the gateway the client talks
//! to the gateway, whose server names itself where the client's version has it; the
//! upstream's entry would contradict it, so it goes. It goes from the raw JSON, before
//! the result is read: an entry that is only dropped is never built. A tool's result
//! on one line and without nulls goes on as JSON ([`passed_on`]): with only a result's
//! members, and without the upstream's name. A server that names itself writes the same
//! `_meta` on every result; once one of them held nothing else, the next that holds the
//! same text loses it whole, unread ([`NameOnly`]).

use std::borrow::Cow;
use std::ops::Range;
use std::sync::RwLock;

use tenet_client::RawResult;
use tenet_protocol::{JsonObject, SERVER_INFO_KEY};
use tenet_server::jsonrpc::members;

/// A result's JSON without the server's entry in its own `_meta`; as it is when it
/// has none. A `_meta` left empty stays, as `{}`.
pub(crate) fn unnamed(result: &RawResult) -> Cow<'_, str> {
    let json = result.json();
    let Some(range) = result.meta_range() else { return Cow::Borrowed(json) };
    let meta = &json[range.clone()];
    if !may_name(meta) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len());
    out.push_str(&json[..range.start]);
    if push_unnamed(&mut out, meta).is_none() {
        return Cow::Borrowed(json);
    }
    out.push_str(&json[range.end..]);
    Cow::Owned(out)
}

/// A result passed on as JSON: see [`passed_on`].
pub(crate) struct PassedOn {
    /// The JSON text.
    pub json: String,
    /// Whether it says `"isError": true`.
    pub is_error: bool,
    /// Where its own `_meta` value is in [`PassedOn::json`].
    pub meta: Option<Range<usize>>,
}

/// The text of the last `_meta` an upstream wrote that held nothing but its name, as it
/// wrote it (one per upstream). A `_meta` of the same text is the same JSON, so it goes
/// whole, as reading it would have it go.
#[derive(Default)]
pub(crate) struct NameOnly(RwLock<Option<Box<str>>>);

impl NameOnly {
    /// Whether `meta` is the text last learned.
    fn is(&self, meta: &str) -> bool {
        self.0.read().is_ok_and(|known| known.as_deref() == Some(meta))
    }

    /// Remembers `meta`, found to hold nothing but the server's name.
    fn learn(&self, meta: &str) {
        if let Ok(mut known) = self.0.write() {
            *known = Some(meta.into());
        }
    }
}

/// A result's JSON with only the members named in `kept` (a typed result's: others
/// would go unread), and its own `_meta` without the server's entry; a `_meta` that is
/// or is left empty goes, as a typed result leaves it out. A `_meta` named twice is
/// kept as it is, twice, for the reading that follows to refuse. The members are where
/// they were found when the result was read ([`RawResult::members`]): no second scan. A
/// `_meta` that is the text `name_only` holds goes unread; one found to hold only the
/// server's name is learned.
pub(crate) fn passed_on(result: &RawResult, kept: &[&str], name_only: &NameOnly) -> PassedOn {
    let json = result.json();
    let mut out = PassedOn { json: String::with_capacity(json.len()), is_error: false, meta: None };
    let repeated = result.members().filter(|member| member.name == "_meta").nth(1).is_some();
    let text = &mut out.json;
    text.push('{');
    for member in result.members() {
        if !kept.contains(&&*member.name) {
            continue;
        }
        let start = text.len();
        if start > 1 {
            text.push(',');
        }
        if member.name == "isError" {
            out.is_error = member.value == "true";
        }
        if member.name != "_meta" || repeated {
            text.push_str(&json[member.span]);
            continue;
        }
        if name_only.is(member.value) {
            text.truncate(start);
            continue;
        }
        text.push_str(&json[member.span.start..member.value_span().start]);
        let value = text.len();
        let empty = || member.value.strip_prefix('{').is_some_and(|rest| rest.trim_start().starts_with('}'));
        match may_name(member.value).then(|| push_unnamed(text, member.value)).flatten() {
            Some(0) => {
                name_only.learn(member.value);
                text.truncate(start);
                continue;
            }
            Some(_) => {}
            None if empty() => {
                text.truncate(start);
                continue;
            }
            None => text.push_str(member.value),
        }
        out.meta = Some(value..text.len());
    }
    text.push('}');
    out
}

/// Whether `meta` (a `_meta` value's text) may name the server: a cheap look first,
/// since most that do not do not hold the text at all (an escaped key is found by the
/// scan of [`push_unnamed`]).
fn may_name(meta: &str) -> bool {
    meta.contains("serverInfo") || meta.contains('\\')
}

/// Writes the object `meta` without the server's entry to `out`, and says how many
/// members it kept; writes nothing and says `None` when it has no such entry.
fn push_unnamed(out: &mut String, meta: &str) -> Option<usize> {
    let start = out.len();
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
        out.truncate(start);
        return None;
    }
    out.push('}');
    Some(kept)
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

    /// What [`passed_on`] makes of `json`, checked for what it says of itself.
    fn passed(json: &str) -> (Value, bool) {
        let result = RawResult::parse(json).expect("JSON");
        let out = passed_on(&result, &["content", "isError", "_meta"], &NameOnly::default());
        let meta = tenet_jsonrpc::members(&out.json).find(|m| m.name == "_meta").map(|m| m.value_span());
        assert_eq!(out.meta, meta, "{}", out.json);
        let read = value(&out.json);
        assert_eq!(out.is_error, read["isError"] == json!(true), "{}", out.json);
        (read, out.is_error)
    }

    #[test]
    fn a_passed_on_result_keeps_only_its_members_and_not_the_upstreams_name() {
        let json = r#"{"resultType":"complete","content":[{"type":"text","text":"\"_meta\":{}"}],"isError":true,"ttlMs":0,"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"up"},"k":[1,{"a":"}"}]}}"#;
        assert_eq!(
            passed(json),
            (
                json!({"content":[{"type":"text","text":"\"_meta\":{}"}],"isError":true,"_meta":{"k":[1,{"a":"}"}]}}),
                true
            )
        );
        // A _meta left empty goes, as does one that was; escaped names are the names.
        let json = r#"{ "_meta" : {"io.modelcontextprotocol\/serverInfo":{}} , "is\u0045rror": true, "content" : [] }"#;
        assert_eq!(passed(json), (json!({"content": [], "isError": true}), true));
        assert_eq!(passed(r#"{"content":[],"_meta":{ }}"#), (json!({"content": []}), false));
        // Named twice, it stays twice, for the reading to refuse.
        let twice = r#"{"content":[],"_meta":{},"_meta":{"io.modelcontextprotocol/serverInfo":{}}}"#;
        assert_eq!(
            passed_on(&RawResult::parse(twice).unwrap(), &["content", "_meta"], &NameOnly::default()).json,
            twice
        );
        // A _meta without the entry goes as it is, wherever it is.
        let json = r#"{"_meta":{"a\"b":1},"content":[],"isError":false,"other":{"_meta":{}}}"#;
        assert_eq!(passed(json), (json!({"_meta":{"a\"b":1},"content":[],"isError":false}), false));
        // Not an object: nothing kept (and the result read from it lacks its content).
        assert_eq!(passed_on(&RawResult::parse("[1]").unwrap(), &["content"], &NameOnly::default()).json, "{}");
    }

    #[test]
    fn a_meta_learned_to_hold_only_the_name_goes_as_it_went() {
        let named = r#"{"content":[],"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"up","version":"1"}}}"#;
        let escaped = r#"{"content":[],"_meta":{"io.modelcontextprotocol\/serverInfo":{}},"isError":true}"#;
        let twice = r#"{"_meta":{"io.modelcontextprotocol/serverInfo":{},"io.modelcontextprotocol/serverInfo":{}}}"#;
        let more = r#"{"content":[],"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"up"},"k":1}}"#;
        let other = r#"{"content":[],"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"up","version":"2"}}}"#;
        let kept = ["content", "isError", "_meta"];
        let learned = NameOnly::default();
        // Each result, again and again, through one memo and through a fresh one, in
        // every order: the same text comes out.
        for json in [named, escaped, named, more, twice, more, other, named, named, other, other] {
            let result = RawResult::parse(json).unwrap();
            let (fresh, memo) = (passed_on(&result, &kept, &NameOnly::default()), passed_on(&result, &kept, &learned));
            assert_eq!((&memo.json, memo.is_error, &memo.meta), (&fresh.json, fresh.is_error, &fresh.meta), "{json}");
        }
        // What was learned: the last `_meta` that held only the name, never one with more.
        let meta_of = |json: &str| tenet_jsonrpc::members(json).find(|m| m.name == "_meta").unwrap().value.to_owned();
        assert!(learned.is(&meta_of(other)) && !learned.is(&meta_of(named)));
        passed_on(&RawResult::parse(more).unwrap(), &kept, &learned);
        assert!(learned.is(&meta_of(other)) && !learned.is(&meta_of(more)));
        // The memo is what decides: a text it holds goes unread (here one it could never
        // learn, to tell the two paths apart).
        let told = NameOnly::default();
        told.learn(r#"{"k":1}"#);
        let json = r#"{"content":[],"_meta":{"k":1}}"#;
        assert_eq!(passed_on(&RawResult::parse(json).unwrap(), &kept, &told).json, r#"{"content":[]}"#);
        // A learned `_meta` goes unread, and what stands beside it is still read.
        let hit = format!(r#"{{"isError":true,"_meta":{},"content":[]}}"#, meta_of(other));
        let out = passed_on(&RawResult::parse(&hit).unwrap(), &kept, &learned);
        assert_eq!((out.json.as_str(), out.is_error, out.meta), (r#"{"isError":true,"content":[]}"#, true, None));
        // Named twice, it stays twice even when learned, for the reading to refuse.
        let twice = format!(r#"{{"content":[],"_meta":{0},"_meta":{0}}}"#, meta_of(other));
        assert_eq!(passed_on(&RawResult::parse(&twice).unwrap(), &kept, &learned).json, twice);
    }
}
