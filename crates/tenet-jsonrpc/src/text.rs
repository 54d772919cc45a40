//! JSON text cut out of a message already read, to be written on as it is.

use std::ops::Range;
use std::sync::Arc;

use crate::{RawJson, members};

/// JSON text taken from JSON already checked (a [`RawJson`]): a member's value found by
/// a scan, or a value a reader found ([`JsonText::span_in`], [`JsonText::within`] on
/// the same text), so itself JSON. What a relay passes on as it was written, never read
/// into a tree and written again. Cloning it shares the text.
///
/// ```
/// use tenet_jsonrpc::{JsonText, RawJson};
///
/// let params = RawJson::from_string(r#"{"name":"echo","arguments":{"text":"hi"}}"#.to_owned()).unwrap();
/// let arguments = JsonText::member(&params, "arguments").unwrap();
/// assert_eq!(arguments.get(), r#"{"text":"hi"}"#);
/// assert!(JsonText::member(&params, "task").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonText(Arc<str>);

/// Where a value lies in the JSON text it was read from ([`JsonText::span_in`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// The text's address and length: the text it was found in.
    text: (usize, usize),
    /// The value's bytes.
    value: Range<usize>,
}

impl Span {
    /// The value's text in `json`, borrowed (as [`JsonText::within`], without a copy);
    /// `None` when `json` is not the text the span was found in.
    pub fn text_in<'a>(&self, json: &'a RawJson) -> Option<&'a str> {
        let text = json.get();
        if self.text != (text.as_ptr() as usize, text.len()) {
            return None;
        }
        let value = text.get(self.value.clone())?;
        debug_assert!(serde_json::from_str::<serde::de::IgnoredAny>(value).is_ok(), "not a value: {value}");
        Some(value)
    }
}

impl JsonText {
    /// The value of the member `name` of the object `object` (the last one, as a JSON
    /// tree would keep it, when the name is given twice), as written; `None` when there
    /// is no such member or `object` is not an object.
    pub fn member(object: &RawJson, name: &str) -> Option<Self> {
        members(object.get()).filter(|member| member.name == name).last().map(|member| Self(member.value.into()))
    }

    /// Where `value`, borrowed from `json`'s text by a reader of it (a field read as
    /// `&RawJson`), lies in that text: to be taken later with [`JsonText::within`],
    /// without borrowing. `None` when `value` is not within `json`'s text.
    pub fn span_in(json: &RawJson, value: &RawJson) -> Option<Span> {
        Self::span_of(json, value.get())
    }

    /// [`JsonText::span_in`] for a value's text found by a scan of `json`'s own
    /// ([`crate::members`]).
    pub fn span_of(json: &RawJson, value: &str) -> Option<Span> {
        let text = json.get();
        let start = (value.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
        let end = start.checked_add(value.len())?;
        (end <= text.len()).then_some(Span { text: (text.as_ptr() as usize, text.len()), value: start..end })
    }

    /// The value `span` found in `json`'s text ([`JsonText::span_in`]); `None` when
    /// `json` is not the text the span was found in (another text at the same place and
    /// of the same length passes for it: keep the text alive between the two).
    pub fn within(json: &RawJson, span: &Span) -> Option<Self> {
        span.text_in(json).map(|value| Self(value.into()))
    }

    /// The text.
    pub fn get(&self) -> &str {
        &self.0
    }
}

impl From<&RawJson> for JsonText {
    fn from(json: &RawJson) -> Self {
        Self(json.get().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_member_of_a_name_is_taken_as_written() {
        let object = RawJson::from_string(r#"{"a": [1, "x"] , "b":2,"\u0061":{"k" : null}}"#.to_owned()).unwrap();
        assert_eq!(JsonText::member(&object, "a").unwrap().get(), r#"{"k" : null}"#);
        assert_eq!(JsonText::member(&object, "b").unwrap().get(), "2");
        let list = RawJson::from_string("[1]".to_owned()).unwrap();
        assert_eq!(JsonText::member(&list, "a"), None);
        assert_eq!(JsonText::from(&*list).get(), "[1]");
    }

    #[test]
    fn a_value_borrowed_by_a_reader_is_found_again_where_it_was() {
        #[derive(serde::Deserialize)]
        struct Read<'a> {
            #[serde(borrow)]
            b: &'a RawJson,
        }
        let object = RawJson::from_string(r#"{"a":"ü","b" : {"k":[1, 2]} }"#.to_owned()).unwrap();
        let read: Read<'_> = serde_json::from_str(object.get()).unwrap();
        let span = JsonText::span_in(&object, read.b).expect("within");
        assert_eq!(JsonText::within(&object, &span).unwrap().get(), r#"{"k":[1, 2]}"#);
        let elsewhere = RawJson::from_string(r#"{"a":"ü","b" : {"k":[1, 2]} }"#.to_owned()).unwrap();
        assert_eq!(JsonText::span_in(&object, &elsewhere), None);
        assert_eq!(JsonText::within(&elsewhere, &span), None, "another text, though equal");
    }
}
