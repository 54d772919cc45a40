//! Reading the members of one message object, each kept raw, in one pass: a result
//! that is an object is read member by member, so that where each of its members is
//! comes with it ([`RawObject`]).

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::members::{holds_escape, skip_space};
use crate::object::Place;
use crate::{RawJson, RawObject};

/// The members of a message object, each kept raw; `Some("null")` is a member that is
/// present and null, which matters for `id` and `params`.
#[derive(Default)]
pub(crate) struct Envelope<'a> {
    pub(crate) jsonrpc: Option<&'a RawJson>,
    pub(crate) id: Option<&'a RawJson>,
    pub(crate) method: Option<&'a RawJson>,
    pub(crate) params: Option<&'a RawJson>,
    pub(crate) result: Option<Captured<'a>>,
    pub(crate) error: Option<&'a RawJson>,
}

/// A `result` member as it was read.
pub(crate) enum Captured<'a> {
    /// Any value but an object (or an object after a `result` name with an escape).
    Value(&'a RawJson),
    /// An object: its text, and where its members are.
    Object { json: &'a str, places: Vec<Place> },
}

impl Envelope<'_> {
    /// Reads the message object `text`. It accepts and refuses what `serde_json::from_str`
    /// into a derived struct of the six members, each an `Option<&RawJson>`, would (the
    /// `jsonrpc` fuzz target's model), with errors of the same kind (syntax or data),
    /// trailing characters refused. Within a result that is an object, a syntax error
    /// reads as serde_json's within any object (`trailing comma`).
    pub(crate) fn read(text: &str) -> Result<Envelope<'_>, serde_json::Error> {
        let mut reader = serde_json::Deserializer::from_str(text);
        let envelope = reader.deserialize_map(EnvelopeVisitor { text })?;
        reader.end()?;
        Ok(envelope)
    }
}

impl Captured<'_> {
    /// The result, owned.
    pub(crate) fn into_object(self) -> RawObject {
        match self {
            Captured::Value(raw) => RawObject::new(raw.to_owned()),
            Captured::Object { json, places } => RawObject::placed(json, places),
        }
    }
}

/// Where `part`, a slice of `text`, starts in it.
fn offset(text: &str, part: &str) -> Option<usize> {
    let at = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    (at + part.len() <= text.len()).then_some(at)
}

/// A member's name: the text between its quotes when it holds no escape.
enum Name<'a> {
    Plain(&'a str),
    Escaped(String),
}

impl Name<'_> {
    fn as_str(&self) -> &str {
        match self {
            Name::Plain(name) => name,
            Name::Escaped(name) => name,
        }
    }
}

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Name<'de>, E> {
                Ok(Name::Plain(name))
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Name<'de>, E> {
                Ok(Name::Escaped(name.to_owned()))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

struct EnvelopeVisitor<'a> {
    text: &'a str,
}

impl<'de> Visitor<'de> for EnvelopeVisitor<'de> {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON-RPC message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<'de>, A::Error> {
        let mut envelope = Envelope::default();
        while let Some(name) = map.next_key::<Name<'de>>()? {
            let (slot, field) = match name.as_str() {
                "jsonrpc" => (&mut envelope.jsonrpc, "jsonrpc"),
                "id" => (&mut envelope.id, "id"),
                "method" => (&mut envelope.method, "method"),
                "params" => (&mut envelope.params, "params"),
                "error" => (&mut envelope.error, "error"),
                "result" if envelope.result.is_some() => return Err(de::Error::duplicate_field("result")),
                "result" => {
                    let object = match name {
                        Name::Plain(name) => object_after(self.text, name),
                        Name::Escaped(_) => None,
                    };
                    envelope.result = Some(match object {
                        Some(start) => map.next_value_seed(ObjectSeed { text: self.text, start })?,
                        None => Captured::Value(map.next_value()?),
                    });
                    continue;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if slot.is_some() {
                return Err(de::Error::duplicate_field(field));
            }
            *slot = Some(map.next_value()?);
        }
        Ok(envelope)
    }
}

/// Where the object that is the value of the member named `name` (a name read from
/// `text`) opens, when its value is an object.
fn object_after(text: &str, name: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    // Past the closing quote.
    let colon = skip_space(bytes, offset(text, name)? + name.len() + 1);
    let value = skip_space(bytes, colon + 1);
    (bytes.get(colon) == Some(&b':') && bytes.get(value) == Some(&b'{')).then_some(value)
}

/// Reads the object that opens at `start` in `text`.
struct ObjectSeed<'a> {
    text: &'a str,
    start: usize,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'de> {
    type Value = Captured<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Captured<'de>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'de> {
    type Value = Captured<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Captured<'de>, A::Error> {
        let lost = || de::Error::custom("a member not in its message");
        // The message from the object's opening bracket on: where everything is counted from.
        let object = self.text.get(self.start..).ok_or_else(lost)?;
        let mut places = Vec::with_capacity(4);
        // Just past the last value read, or the opening bracket.
        let mut end = 1;
        // Names are read as written, quotes included: where they are, and no escape
        // read (one that is no text, as `"\ud800"`, passes as it does in any value).
        while let Some(quoted) = map.next_key::<&'de RawJson>()? {
            let value: &'de RawJson = map.next_value()?;
            let (quoted, value) = (quoted.get(), value.get());
            let (name_at, value_at) = offset(object, quoted).zip(offset(object, value)).ok_or_else(lost)?;
            end = value_at + value.len();
            places.push(Place {
                span: name_at..end,
                name_end: name_at + quoted.len(),
                value: value_at,
                escaped: holds_escape(quoted),
            });
        }
        // The reader stopped at the closing bracket, after nothing but whitespace.
        let close = skip_space(object.as_bytes(), end);
        let json = object.get(..=close).ok_or_else(lost)?;
        Ok(Captured::Object { json, places })
    }
}

#[cfg(test)]
mod tests {
    use crate::{ErrorCode, Id, Incoming, Message, Outcome, RawObject, Response, members, parse};

    fn result_of(line: &str) -> RawObject {
        match parse(line.as_bytes()) {
            Ok(Incoming::Single(Message::Response(Response { outcome: Outcome::Result(result), .. }))) => result,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn a_result_read_in_one_pass_has_the_members_a_scan_finds() {
        let results = [
            "{}",
            " { } ",
            r#" { "a" : 1 , "b":[1,{"c":"}"}] ,"d":{"e":{}}} "#,
            r#"{"content":[{"type":"text","text":"a \"quoted\" }"}],"isError":false}"#,
            r#"{"a\u0021":1,"b":2}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"\"":true}"#,
            r#"{"\ud800":1,"a\"b":2,"plain":3}"#,
            "[1,{}]",
            r#""s""#,
            "1e400",
            "null",
        ];
        for result in results {
            let lines = [
                format!(r#"{{"jsonrpc":"2.0","id":1,"result":{result}}}"#),
                format!(r#"{{ "result" :{result},"id":1,"jsonrpc":"2.0","extra":{{"result":0}}}}"#),
                // A name with an escape names the member all the same.
                format!(r#"{{"jsonrpc":"2.0","id":1,"res\u0075lt":{result}}}"#),
            ];
            for line in lines {
                let got = result_of(&line);
                let written = result.trim();
                assert_eq!(got.get(), written, "{line}");
                assert_eq!(got.members().collect::<Vec<_>>(), members(written).collect::<Vec<_>>(), "{line}");
            }
        }
    }

    #[test]
    fn members_named_twice_are_invalid_and_others_are_ignored() {
        for member in ["jsonrpc", "id", "method", "params", "result", "error"] {
            let value = if member == "jsonrpc" { r#""2.0""# } else { "{}" };
            let line = format!(r#"{{"jsonrpc":"2.0","id":1,"{member}":{value},"{member}":{value}}}"#);
            let rejection = parse(line.as_bytes()).expect_err(&line);
            assert_eq!(rejection.error.code, ErrorCode::INVALID_REQUEST, "{line}");
            assert!(rejection.error.message.contains(&format!("duplicate field `{member}`")), "{line}");
        }
        let line = r#"{"jsonrpc":"2.0","\u0069d":"x","other":[1,{"id":2}],"result":{}}"#;
        let Ok(Incoming::Single(Message::Response(response))) = parse(line.as_bytes()) else { panic!("{line}") };
        assert_eq!(response.id, Some(Id::String("x".into())));
    }

    #[test]
    fn a_result_cut_short_or_followed_by_more_is_a_parse_error() {
        for line in [
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":1"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":1,}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a" 1}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{}} {}"#,
        ] {
            assert_eq!(parse(line.as_bytes()).expect_err(line).error.code, ErrorCode::PARSE_ERROR, "{line}");
        }
    }
}
