//! A value read from a message, kept as its text with where an object's members are.
//!
//! A relay that passes a response's result on reads a few of its members (`resultType`,
//! `_meta`) and copies the rest as written. Where those members are is found while
//! the message is read ([`crate::parse`], and a client's own reading of the common
//! response, [`crate::parse_from_server`]), so nobody scans the text a second time.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use crate::members::{members, unquote_known};
use crate::{Member, RawJson};

/// Where one member lies in its object's text.
#[derive(Debug)]
pub(crate) struct Place {
    /// Its quoted name through its value.
    pub(crate) span: Range<usize>,
    /// Just past the quoted name.
    pub(crate) name_end: usize,
    /// Where the value starts.
    pub(crate) value: usize,
    /// Whether the name holds an escape (it is read again); else it is its text
    /// between the quotes.
    pub(crate) escaped: bool,
}

/// JSON text, checked, with where each top-level member is when it is an object.
///
/// ```
/// use tenet_jsonrpc::{RawJson, RawObject};
///
/// let raw = RawJson::from_string(r#"{"content":[],"isError":true}"#.to_owned()).unwrap();
/// let object = RawObject::new(raw);
/// let names: Vec<_> = object.members().map(|m| m.name.into_owned()).collect();
/// assert_eq!(names, ["content", "isError"]);
/// assert_eq!(object.get(), r#"{"content":[],"isError":true}"#);
/// ```
pub struct RawObject {
    /// JSON, checked when it was read.
    json: Box<str>,
    places: Vec<Place>,
}

impl RawObject {
    /// `json`, its members found by a scan ([`members`]).
    pub fn new(json: Box<RawJson>) -> Self {
        let json: Box<str> = json.into();
        let places = members(&json)
            .map(|member| Place {
                name_end: member.span.start + member.quoted.len(),
                value: member.value_span().start,
                escaped: matches!(member.name, Cow::Owned(_)),
                span: member.span,
            })
            .collect();
        Self { json, places }
    }

    /// Checked JSON text whose members a reader found where `places` says.
    pub(crate) fn placed(json: &str, places: Vec<Place>) -> Self {
        Self { json: json.into(), places }
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.json
    }

    /// Its top-level members in order, as [`members`] finds them, from where they were
    /// found when the text was read.
    pub fn members(&self) -> impl Iterator<Item = Member<'_>> {
        let json = &*self.json;
        self.places.iter().map(move |place| {
            let text = |range: Range<usize>| json.get(range).unwrap_or_default();
            let quoted = text(place.span.start..place.name_end);
            let name = unquote_known(quoted, place.escaped);
            Member { name, quoted, value: text(place.value..place.span.end), span: place.span.clone() }
        })
    }
}

impl fmt::Debug for RawObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawObject").field(&self.get()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_finds_what_members_finds() {
        let texts = [
            r#"{"a":1,"b\u0021":{"c":[2]},"a":"x"}"#,
            // A name that is no text, and one with an escaped quote.
            r#"{"\ud800":1,"a\"b":2,"plain":3}"#,
            r#" { "a" : "b" } "#,
            "[1,2]",
            r#""s""#,
            "null",
        ];
        for text in texts {
            let object = RawObject::new(RawJson::from_string(text.to_owned()).expect("JSON"));
            assert_eq!(object.get(), text.trim());
            assert_eq!(object.members().collect::<Vec<_>>(), members(object.get()).collect::<Vec<_>>(), "{text}");
        }
    }
}
