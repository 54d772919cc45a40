//! A result object's JSON, with a note of where its own top-level `_meta` is.
//!
//! A 2026-07-28 result should name the server in
//! `_meta["io.modelcontextprotocol/serverInfo"]`. Most results have no `_meta` of their
//! own, and the server appends one; a result that has one gets the entry inside it.
//! Where the top-level `_meta` sits is noted while the result is serialized, so that
//! neither a second parse nor a text search (which a nested `_meta` would fool) is
//! needed to find it.

use std::cell::Cell;
use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};
use tenet_protocol::{CallToolResult, ContentBlock, SERVER_INFO_KEY};

/// Where a result's own top-level `_meta` object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnMeta {
    /// The result has no `_meta`.
    Absent,
    /// The result has a `_meta` object; its members start at this byte offset (just
    /// after the `{`).
    At(usize),
    /// The result's `_meta` already names the server, or is not an object.
    Done,
}

/// A serialized result object.
#[derive(Debug, Clone)]
pub(crate) struct Body {
    /// The result object's JSON.
    pub json: String,
    /// Where its own `_meta` is.
    pub meta: OwnMeta,
}

impl Body {
    /// Serializes `value`, noting where its top-level `_meta` object is.
    pub(crate) fn of(value: &impl Serialize) -> serde_json::Result<Self> {
        let written = Cell::new(0);
        let mut out = Counted { out: Vec::with_capacity(128), written: &written };
        let meta = Cell::new(OwnMeta::Absent);
        let scout =
            Scout { written: &written, depth: 0, key: Key::None, text: String::new(), meta: &meta, in_meta: false };
        value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, scout))?;
        let meta = meta.get();
        // serde_json writes only valid UTF-8.
        let json = String::from_utf8(out.out).map_err(|e| serde_json::Error::io(io::Error::other(e)))?;
        Ok(Body { json, meta })
    }

    /// A tool's result of text blocks alone (no annotations, no `_meta`, no structured
    /// content), written straight: the JSON [`Body::of`] writes for it, without serde's
    /// walk of the result (a third of a stdio `tools/call`'s serializing, callgrind).
    /// `None` for any other result.
    pub(crate) fn of_text_result(result: &CallToolResult) -> Option<Self> {
        if result.structured_content.is_some() || result.meta.is_some() {
            return None;
        }
        let mut json = Vec::with_capacity(64 + result.content.iter().map(text_len).sum::<usize>());
        json.extend_from_slice(br#"{"content":["#);
        for (i, block) in result.content.iter().enumerate() {
            let ContentBlock::Text { text, annotations: None, meta: None } = block else { return None };
            if i > 0 {
                json.push(b',');
            }
            json.extend_from_slice(br#"{"type":"text","text":"#);
            // A string is written whole or not at all: writing to a Vec cannot fail.
            serde_json::to_writer(&mut json, text).ok()?;
            json.push(b'}');
        }
        json.push(b']');
        match result.is_error {
            Some(true) => json.extend_from_slice(br#","isError":true"#),
            Some(false) => json.extend_from_slice(br#","isError":false"#),
            None => {}
        }
        json.push(b'}');
        // serde_json writes only valid UTF-8, as is every literal above.
        let json = String::from_utf8(json).ok()?;
        Some(Body { json, meta: OwnMeta::Absent })
    }

    /// A tool's result written elsewhere (a [`crate::handler::WrittenResult`]'s
    /// parts): its own `_meta`, if it has one, is the text at `meta`.
    pub(crate) fn written(json: String, meta: Option<std::ops::Range<usize>>) -> Self {
        let meta = match meta {
            None => OwnMeta::Absent,
            Some(range) if json[range.clone()].starts_with('{') => {
                let names = tenet_jsonrpc::members(&json[range.clone()]).any(|m| m.name == SERVER_INFO_KEY);
                if names { OwnMeta::Done } else { OwnMeta::At(range.start + 1) }
            }
            Some(_) => OwnMeta::Done,
        };
        Body { json, meta }
    }

    /// `json` as it is, with no `_meta` of its own (a body written by hand).
    #[cfg(test)]
    pub(crate) fn plain(json: &str) -> Self {
        Body { json: json.to_owned(), meta: OwnMeta::Absent }
    }

    /// The JSON with `entry` (a `"key":value` member) added to its own `_meta`, when
    /// it has an open one; `None` when it has none or needs none.
    pub(crate) fn with_meta_entry(&self, entry: &str) -> Option<String> {
        let OwnMeta::At(at) = self.meta else { return None };
        let (head, tail) = self.json.split_at(at);
        let comma = if tail.trim_start().starts_with('}') { "" } else { "," };
        Some(format!("{head}{entry}{comma}{tail}"))
    }
}

/// A text block's text length (0 for any other block): room to reserve.
fn text_len(block: &ContentBlock) -> usize {
    match block {
        ContentBlock::Text { text, .. } => text.len() + 24,
        _ => 0,
    }
}

/// How many bytes `value` takes as JSON, counted as it is written out to nowhere.
pub(crate) fn json_len(value: &impl Serialize) -> usize {
    struct Count(usize);
    impl io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter fails only where serializing the value does: then it counts
    // what was written.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// A writer that keeps count of the bytes written.
struct Counted<'a> {
    out: Vec<u8>,
    written: &'a Cell<usize>,
}

impl io::Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(buf);
        self.written.set(self.out.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Which object key is being written, as far as the scout cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    None,
    /// A key being read whose text may be one of interest.
    Reading,
    /// The last key read was `_meta` (at depth 1) or the server-info key (in `_meta`).
    Wanted,
    /// The last key read was something else.
    Other,
}

/// A compact formatter that watches the keys at depth 1 and inside `_meta`.
struct Scout<'a> {
    written: &'a Cell<usize>,
    /// Object/array nesting: 1 inside the result object.
    depth: usize,
    key: Key,
    /// The text of the key being read (when it may be one of interest).
    text: String,
    meta: &'a Cell<OwnMeta>,
    /// Inside the top-level `_meta` object (depth 2).
    in_meta: bool,
}

impl Scout<'_> {
    /// The key whose text is being matched here, if any.
    fn target(&self) -> Option<&'static str> {
        match (self.depth, self.in_meta) {
            (1, _) => Some("_meta"),
            (2, true) => Some(SERVER_INFO_KEY),
            _ => None,
        }
    }
}

impl Formatter for Scout<'_> {
    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        CompactFormatter.begin_object(writer)?;
        if self.depth == 1 && self.key == Key::Wanted && self.meta.get() == OwnMeta::Absent {
            self.meta.set(OwnMeta::At(self.written.get()));
            self.in_meta = true;
        }
        self.depth += 1;
        self.key = Key::None;
        Ok(())
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.depth == 1 {
            self.in_meta = false;
        }
        self.key = Key::None;
        CompactFormatter.end_object(writer)
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        // A `_meta` that is an array cannot take the entry.
        if self.depth == 1 && self.key == Key::Wanted && self.meta.get() == OwnMeta::Absent {
            self.meta.set(OwnMeta::Done);
        }
        self.depth += 1;
        CompactFormatter.begin_array(writer)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth -= 1;
        CompactFormatter.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        CompactFormatter.begin_array_value(writer, first)
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.key = if self.target().is_some() { Key::Reading } else { Key::Other };
        self.text.clear();
        CompactFormatter.begin_object_key(writer, first)
    }

    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        if self.key == Key::Reading {
            self.text.push_str(fragment);
        }
        CompactFormatter.write_string_fragment(writer, fragment)
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        escape: serde_json::ser::CharEscape,
    ) -> io::Result<()> {
        // No key of interest has a character that needs escaping.
        if self.key == Key::Reading {
            self.key = Key::Other;
        }
        CompactFormatter.write_char_escape(writer, escape)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        if self.key == Key::Reading {
            let wanted = self.target() == Some(self.text.as_str());
            self.key = if wanted { Key::Wanted } else { Key::Other };
            if wanted && self.in_meta {
                self.meta.set(OwnMeta::Done);
            }
        }
        CompactFormatter.end_object_key(writer)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        // A `_meta` that is not an object cannot take the entry.
        if self.depth == 1 && self.key == Key::Wanted && self.meta.get() == OwnMeta::Absent {
            self.meta.set(OwnMeta::Done);
        }
        self.key = Key::None;
        CompactFormatter.end_object_value(writer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ENTRY: &str = r#""io.modelcontextprotocol/serverInfo":{"name":"t"}"#;

    fn spliced(value: serde_json::Value) -> serde_json::Value {
        let body = Body::of(&value).unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&body.json).unwrap(), value);
        match body.with_meta_entry(ENTRY) {
            Some(json) => serde_json::from_str(&json).unwrap(),
            None => value,
        }
    }

    /// The straight writer of text results writes what serde writes, byte for byte, and
    /// declines every other result.
    #[test]
    fn text_results_are_written_as_serde_writes_them() {
        let texts =
            ["", "hello world", "quote \" backslash \\ newline \n tab \t", "\u{1}\u{1f} é 中 \u{1F600}", "</script>"];
        let mut results = vec![CallToolResult::success(vec![]), CallToolResult::error("it failed \"badly\"")];
        for text in texts {
            results.push(CallToolResult::success(vec![ContentBlock::text(text)]));
            results.push(CallToolResult::success(vec![ContentBlock::text(text), ContentBlock::text("second")]));
            results.push(CallToolResult {
                is_error: Some(false),
                ..CallToolResult::success(vec![ContentBlock::text(text)])
            });
        }
        for result in &results {
            let straight = Body::of_text_result(result).expect("a text result");
            let serde = Body::of(result).unwrap();
            assert_eq!(straight.json, serde.json);
            assert_eq!(straight.meta, serde.meta);
        }
        let declined = [
            CallToolResult { structured_content: Some(json!({"a": 1})), ..CallToolResult::success(vec![]) },
            CallToolResult { meta: Some(serde_json::Map::new()), ..CallToolResult::success(vec![]) },
            CallToolResult::success(vec![ContentBlock::Text {
                text: "t".into(),
                annotations: None,
                meta: Some(serde_json::Map::new()),
            }]),
            CallToolResult::success(vec![ContentBlock::Image {
                data: "AA==".into(),
                mime_type: "image/png".into(),
                annotations: None,
                meta: None,
            }]),
        ];
        for result in &declined {
            assert!(Body::of_text_result(result).is_none(), "{result:?}");
        }
    }

    #[test]
    fn a_result_without_meta_is_left_to_the_encoder() {
        let body = Body::of(&json!({"content":[{"type":"text","text":"\"_meta\"","_meta":{"a":1}}]})).unwrap();
        assert_eq!(body.meta, OwnMeta::Absent, "a nested _meta is not the result's own");
    }

    #[test]
    fn the_entry_goes_into_the_results_own_meta() {
        let got = spliced(json!({"contents":[],"_meta":{"x":1},"z":{"_meta":{}}}));
        assert_eq!(
            got,
            json!({"contents":[],"_meta":{"x":1,"io.modelcontextprotocol/serverInfo":{"name":"t"}},"z":{"_meta":{}}})
        );
        let got = spliced(json!({"_meta":{}}));
        assert_eq!(got, json!({"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"t"}}}));
    }

    #[test]
    fn a_meta_that_already_names_the_server_or_is_not_an_object_is_kept() {
        let named = json!({"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"other"}}});
        assert_eq!(Body::of(&named).unwrap().meta, OwnMeta::Done);
        assert_eq!(Body::of(&json!({"_meta":null,"a":1})).unwrap().meta, OwnMeta::Done);
        assert_eq!(Body::of(&json!({"_meta":[{"a":1}],"b":2})).unwrap().meta, OwnMeta::Done);
    }

    #[test]
    fn keys_that_only_start_alike_do_not_count() {
        assert_eq!(Body::of(&json!({"_metadata":{},"_met":{},"_me\"ta":{}})).unwrap().meta, OwnMeta::Absent);
        let got = spliced(json!({"_meta":{"io.modelcontextprotocol/serverInfoX":1}}));
        assert_eq!(got["_meta"]["io.modelcontextprotocol/serverInfo"], json!({"name":"t"}));
    }
}
