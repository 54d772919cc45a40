//! Reading a [`ContentBlock`] in one pass.
//!
//! A derived internally tagged enum first copies the whole object into an
//! intermediate tree, because its tag may come last, and then reads the variant from
//! that copy: every block, an image's base64 data included, was parsed twice and
//! copied once. Here the members are read as they come. Once `type` is known (it is
//! the first member in practice), a member the variant does not have is skipped
//! unread, as the derived reader skipped it. Before that, every member any variant has
//! is read into its place, so a block whose `type` comes later reads the same, except
//! that a member of another kind ahead of `type` must then be well formed and named
//! once. A required member given as `null` is refused as missing.

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::{Annotations, ContentBlock, ResourceContents, ResourceLink};
use crate::json::JsonObject;
use crate::lifecycle::Icon;

impl ContentBlock {
    /// Whether the members of a block's JSON (already checked) make a text block of
    /// nothing but its `type` and its `text`, each named once, the text with no escape
    /// that may be half of a UTF-16 pair: a block that reads, told without reading it, as
    /// [`ContentBlock::Text`] with nothing else. `false` says only that it must be read
    /// to be known.
    pub(crate) fn is_bare_text(members: &mut tenet_jsonrpc::Members<'_>) -> bool {
        let (mut kind, mut text) = (false, false);
        for member in members {
            let seen = match &*member.name {
                "type" if member.value == "\"text\"" => &mut kind,
                "text" if member.value.starts_with('"') && !crate::json::may_hold_surrogate(member.value) => &mut text,
                _ => return false,
            };
            if std::mem::replace(seen, true) {
                return false;
            }
        }
        kind && text
    }
}

/// A block's `type`.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Text,
    Image,
    Audio,
    ResourceLink,
    Resource,
    ToolUse,
    ToolResult,
}

/// A member name of any variant.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum Field {
    Type,
    Text,
    Data,
    MimeType,
    Annotations,
    #[serde(rename = "_meta")]
    Meta,
    Uri,
    Name,
    Title,
    Description,
    Size,
    Icons,
    Resource,
    Id,
    Input,
    ToolUseId,
    Content,
    StructuredContent,
    IsError,
    #[serde(other)]
    Unknown,
}

impl Kind {
    /// Whether a block of this kind has the member `field`.
    fn has(self, field: Field) -> bool {
        use Field as F;
        match self {
            Kind::Text => matches!(field, F::Text | F::Annotations | F::Meta),
            Kind::Image | Kind::Audio => matches!(field, F::Data | F::MimeType | F::Annotations | F::Meta),
            Kind::ResourceLink => matches!(
                field,
                F::Uri
                    | F::Name
                    | F::Title
                    | F::Description
                    | F::MimeType
                    | F::Size
                    | F::Annotations
                    | F::Icons
                    | F::Meta
            ),
            Kind::Resource => matches!(field, F::Resource | F::Annotations | F::Meta),
            Kind::ToolUse => matches!(field, F::Id | F::Name | F::Input | F::Meta),
            Kind::ToolResult => {
                matches!(field, F::ToolUseId | F::Content | F::StructuredContent | F::IsError | F::Meta)
            }
        }
    }
}

/// Every member any variant has, as read so far.
#[derive(Default)]
struct Members {
    kind: Option<Kind>,
    text: Option<String>,
    data: Option<String>,
    mime_type: Option<String>,
    annotations: Option<Annotations>,
    meta: Option<JsonObject>,
    uri: Option<String>,
    name: Option<String>,
    title: Option<String>,
    description: Option<String>,
    size: Option<u64>,
    icons: Option<Vec<Icon>>,
    resource: Option<ResourceContents>,
    id: Option<String>,
    input: Option<Value>,
    tool_use_id: Option<String>,
    content: Option<Vec<ContentBlock>>,
    structured_content: Option<Value>,
    is_error: Option<bool>,
}

/// Reads the next value into `slot`; a member named twice is an error, as it is for
/// derived readers. `null` leaves the slot empty (a required member is then missing).
fn put<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
    slot: &mut Option<T>,
    seen: &mut bool,
    map: &mut A,
    name: &'static str,
) -> Result<(), A::Error> {
    if std::mem::replace(seen, true) {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = map.next_value()?;
    Ok(())
}

fn required<T, E: de::Error>(value: Option<T>, name: &'static str) -> Result<T, E> {
    value.ok_or_else(|| E::missing_field(name))
}

impl Members {
    fn into_block<E: de::Error>(self) -> Result<ContentBlock, E> {
        let Members { annotations, meta, .. } = self;
        Ok(match required(self.kind, "type")? {
            Kind::Text => ContentBlock::Text { text: required(self.text, "text")?, annotations, meta },
            Kind::Image => ContentBlock::Image {
                data: required(self.data, "data")?,
                mime_type: required(self.mime_type, "mimeType")?,
                annotations,
                meta,
            },
            Kind::Audio => ContentBlock::Audio {
                data: required(self.data, "data")?,
                mime_type: required(self.mime_type, "mimeType")?,
                annotations,
                meta,
            },
            Kind::ResourceLink => ContentBlock::ResourceLink(Box::new(ResourceLink {
                uri: required(self.uri, "uri")?,
                name: required(self.name, "name")?,
                title: self.title,
                description: self.description,
                mime_type: self.mime_type,
                size: self.size,
                annotations,
                icons: self.icons,
                meta,
            })),
            Kind::Resource => {
                ContentBlock::Resource { resource: required(self.resource, "resource")?, annotations, meta }
            }
            Kind::ToolUse => ContentBlock::ToolUse {
                id: required(self.id, "id")?,
                name: required(self.name, "name")?,
                input: required(self.input, "input")?,
                meta,
            },
            Kind::ToolResult => ContentBlock::ToolResult {
                tool_use_id: required(self.tool_use_id, "toolUseId")?,
                content: required(self.content, "content")?,
                structured_content: self.structured_content,
                is_error: self.is_error,
                meta,
            },
        })
    }
}

struct BlockVisitor;

impl<'de> Visitor<'de> for BlockVisitor {
    type Value = ContentBlock;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a content block (an object with a type)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContentBlock, A::Error> {
        let mut m = Members::default();
        // Which members were named, by `Field` (for duplicates); `Unknown`, the last,
        // has no place.
        let mut seen = [false; Field::Unknown as usize];
        while let Some(field) = map.next_key::<Field>()? {
            let other_kind = m.kind.is_some_and(|kind| field != Field::Type && !kind.has(field));
            let (Some(seen), false) = (seen.get_mut(field as usize), other_kind) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let map = &mut map;
            match field {
                Field::Type => put(&mut m.kind, seen, map, "type")?,
                Field::Text => put(&mut m.text, seen, map, "text")?,
                Field::Data => put(&mut m.data, seen, map, "data")?,
                Field::MimeType => put(&mut m.mime_type, seen, map, "mimeType")?,
                Field::Annotations => put(&mut m.annotations, seen, map, "annotations")?,
                Field::Meta => put(&mut m.meta, seen, map, "_meta")?,
                Field::Uri => put(&mut m.uri, seen, map, "uri")?,
                Field::Name => put(&mut m.name, seen, map, "name")?,
                Field::Title => put(&mut m.title, seen, map, "title")?,
                Field::Description => put(&mut m.description, seen, map, "description")?,
                Field::Size => put(&mut m.size, seen, map, "size")?,
                Field::Icons => put(&mut m.icons, seen, map, "icons")?,
                Field::Resource => put(&mut m.resource, seen, map, "resource")?,
                Field::Id => put(&mut m.id, seen, map, "id")?,
                // Any JSON value, `null` included.
                Field::Input => {
                    put(&mut m.input, seen, map, "input")?;
                    m.input.get_or_insert(Value::Null);
                }
                Field::ToolUseId => put(&mut m.tool_use_id, seen, map, "toolUseId")?,
                Field::Content => put(&mut m.content, seen, map, "content")?,
                Field::StructuredContent => put(&mut m.structured_content, seen, map, "structuredContent")?,
                Field::IsError => put(&mut m.is_error, seen, map, "isError")?,
                // Has no place in `seen`: skipped above.
                Field::Unknown => {}
            }
        }
        m.into_block()
    }
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(BlockVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::content::{BlobResourceContents, TextResourceContents};

    /// `text` read from text and from a JSON tree, which must agree; errors without
    /// their position.
    fn read_text(text: &str) -> Result<ContentBlock, String> {
        let bare = |e: serde_json::Error| e.to_string().split(" at line").next().unwrap_or_default().to_owned();
        let from_text = serde_json::from_str::<ContentBlock>(text).map_err(bare);
        let tree: Value = serde_json::from_str(text).expect("JSON");
        let from_tree = serde_json::from_value::<ContentBlock>(tree).map_err(bare);
        assert_eq!(from_text, from_tree, "{text}");
        from_text
    }

    fn read(value: Value) -> Result<ContentBlock, String> {
        read_text(&value.to_string())
    }

    /// `block` written with its `type` first, as writers do, or last.
    fn written(block: &ContentBlock, type_last: bool) -> String {
        let Value::Object(map) = serde_json::to_value(block).expect("serializable") else { panic!("an object") };
        let kind = format!(r#""type":{}"#, map["type"]);
        let rest: Vec<String> =
            map.iter().filter(|(k, _)| *k != "type").map(|(k, v)| format!("{}:{v}", Value::from(k.as_str()))).collect();
        let members = if type_last { [rest, vec![kind]].concat() } else { [vec![kind], rest].concat() };
        format!("{{{}}}", members.join(","))
    }

    fn every_kind() -> Vec<ContentBlock> {
        let mut annotated = ContentBlock::text("hello");
        if let ContentBlock::Text { annotations, meta, .. } = &mut annotated {
            *annotations = Some(Annotations { priority: Some(0.5), ..Annotations::default() });
            *meta = Some(json!({"k": 1}).as_object().cloned().unwrap_or_default());
        }
        vec![
            annotated,
            ContentBlock::image("aGk=", "image/png"),
            ContentBlock::audio("aGk=", "audio/wav"),
            ContentBlock::ResourceLink(Box::new(ResourceLink {
                uri: "file:///a".into(),
                name: "a".into(),
                title: Some("A".into()),
                description: Some("the a".into()),
                mime_type: Some("text/plain".into()),
                size: Some(3),
                annotations: None,
                icons: Some(vec![Icon { src: "https://x/i.png".into(), mime_type: None, sizes: None, theme: None }]),
                meta: None,
            })),
            ContentBlock::resource(ResourceContents::Text(TextResourceContents {
                uri: "file:///t".into(),
                mime_type: None,
                text: "t".into(),
                meta: None,
            })),
            ContentBlock::resource(ResourceContents::Blob(BlobResourceContents {
                uri: "file:///b".into(),
                mime_type: Some("application/octet-stream".into()),
                blob: "AA==".into(),
                meta: None,
            })),
            ContentBlock::ToolUse { id: "u1".into(), name: "add".into(), input: json!({"a": 1}), meta: None },
            ContentBlock::ToolResult {
                tool_use_id: "u1".into(),
                content: vec![ContentBlock::text("2")],
                structured_content: Some(json!({"sum": 2})),
                is_error: Some(false),
                meta: None,
            },
        ]
    }

    #[test]
    fn every_kind_reads_back_with_its_type_first_or_last() {
        for block in every_kind() {
            let first = written(&block, false);
            assert!(first.starts_with(r#"{"type":"#), "{first}");
            assert_eq!(read_text(&first).as_ref(), Ok(&block));
            let last = written(&block, true);
            assert!(!last.starts_with(r#"{"type":"#), "{last}");
            assert_eq!(read_text(&last).as_ref(), Ok(&block));
            // And as the protocol's own writer writes it.
            assert_eq!(read_text(&serde_json::to_string(&block).expect("serializable")).as_ref(), Ok(&block));
        }
    }

    /// The kind of `block`: a new variant fails to compile here until it is read too.
    fn kind_of(block: &ContentBlock) -> Kind {
        match block {
            ContentBlock::Text { .. } => Kind::Text,
            ContentBlock::Image { .. } => Kind::Image,
            ContentBlock::Audio { .. } => Kind::Audio,
            ContentBlock::ResourceLink(_) => Kind::ResourceLink,
            ContentBlock::Resource { .. } => Kind::Resource,
            ContentBlock::ToolUse { .. } => Kind::ToolUse,
            ContentBlock::ToolResult { .. } => Kind::ToolResult,
        }
    }

    #[test]
    fn every_member_the_writer_writes_is_one_the_reader_reads() {
        for block in every_kind() {
            let Value::Object(written) = serde_json::to_value(&block).expect("serializable") else {
                panic!("an object")
            };
            let kind = kind_of(&block);
            let read_kind: Kind = serde_json::from_value(written["type"].clone()).expect("a kind");
            assert!(read_kind == kind, "{written:?}");
            for name in written.keys() {
                let field: Field = serde_json::from_value(Value::from(name.as_str())).expect("a field");
                assert!(field == Field::Type || kind.has(field), "{name} is written but not read");
            }
        }
    }

    #[test]
    fn a_text_block_reads_the_same_after_an_unknown_member() {
        // `type` first, or after a member no kind has.
        let rests = [
            r#""text":"a""#,
            r#""text":"a","annotations":{"priority":0.5},"_meta":{"k":1}"#,
            r#""text":"a","uri":5,"data":null,"extra":[1]"#,
            r#""text":"a","text":"b""#,
            r#""text":"a","type":"text""#,
            r#""text":"a","annotations":{},"annotations":{}"#,
            r#""text":"a","_meta":{},"_meta":{}"#,
            r#""text":null"#,
            r#""annotations":{"priority":0.5}"#,
            r#""text":7"#,
            r#""text":"a","annotations":3"#,
        ];
        // From text: a JSON tree keeps one of two members of the same name.
        let read = |text: String| {
            serde_json::from_str::<ContentBlock>(&text)
                .map_err(|e| e.to_string().split(" at line").next().unwrap_or_default().to_owned())
        };
        for rest in rests {
            let first = read(format!(r#"{{"type":"text",{rest}}}"#));
            let after = read(format!(r#"{{"unknown":0,"type":"text",{rest}}}"#));
            assert_eq!(first, after, "{rest}");
        }
    }

    #[test]
    fn a_tool_uses_input_may_be_any_value_null_included() {
        let got = read_text(r#"{"type":"tool_use","id":"1","name":"n","input":null}"#);
        assert_eq!(got, Ok(ContentBlock::ToolUse { id: "1".into(), name: "n".into(), input: Value::Null, meta: None }));
        let got = read_text(r#"{"type":"tool_use","id":"1","name":"n","input":[1,"a"]}"#);
        assert_eq!(
            got,
            Ok(ContentBlock::ToolUse { id: "1".into(), name: "n".into(), input: json!([1, "a"]), meta: None })
        );
    }

    #[test]
    fn members_of_other_kinds_and_unknown_ones_are_skipped_unread() {
        let text = r#"{"type":"text","text":"x","data":5,"size":"big","extra":{"deep":[1]}}"#;
        let got = serde_json::from_str::<ContentBlock>(text).map_err(|e| e.to_string());
        assert_eq!(got, Ok(ContentBlock::text("x")));
        // Before the type is known they are read, and must be well formed.
        let early = r#"{"size":"big","type":"text","text":"x"}"#;
        assert!(serde_json::from_str::<ContentBlock>(early).is_err());
        let early_unknown = r#"{"extra":{"deep":[1]},"type":"text","text":"x"}"#;
        assert_eq!(serde_json::from_str::<ContentBlock>(early_unknown).ok(), Some(ContentBlock::text("x")));
    }

    #[test]
    fn bad_blocks_are_refused_with_the_member_named() {
        let cases = [
            (json!({"text": "x"}), "missing field `type`"),
            (json!({"type": "video", "text": "x"}), "unknown variant `video`"),
            (json!({"type": "text"}), "missing field `text`"),
            (json!({"type": "text", "text": null}), "missing field `text`"),
            (json!({"type": "image", "data": "aGk="}), "missing field `mimeType`"),
            (json!({"type": "resource_link", "uri": "file:///a"}), "missing field `name`"),
            (json!({"type": "tool_use", "id": "1", "name": "n"}), "missing field `input`"),
            (json!({"type": "text", "text": 7}), "invalid type: integer `7`, expected a string"),
            (json!("text"), "expected a content block"),
        ];
        for (block, expected) in cases {
            let got = read(block.clone()).expect_err("refused");
            assert!(got.contains(expected), "{block}: {got}");
        }
        let twice = r#"{"type":"text","text":"a","text":"b"}"#;
        let got = serde_json::from_str::<ContentBlock>(twice).expect_err("refused").to_string();
        assert!(got.contains("duplicate field `text`"), "{got}");
        let type_twice = r#"{"type":"text","type":"image","text":"a"}"#;
        let got = serde_json::from_str::<ContentBlock>(type_twice).expect_err("refused").to_string();
        assert!(got.contains("duplicate field `type`"), "{got}");
    }
}
