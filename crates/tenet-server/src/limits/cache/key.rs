//! Cache keys: everything a cached response depends on, written out so that equal
//! inputs give equal keys and different inputs different ones.
//!
//! A key is the capability's kind and name (or URI), the protocol version (results are
//! shaped per version), the caller's scopes, and the canonical form of the arguments.
//! Every variable-length field is length-prefixed, so no two different inputs can run
//! together into one key; object members are sorted by name at every depth, so
//! `{"a":1,"b":2}` and `{"b":2,"a":1}` share a key whatever `serde_json` features a
//! build enables. Numbers keep their written form: `1` and `1.0` are different keys
//! (a miss, never a wrong answer).

use serde_json::Value;
use tenet_protocol::ProtocolVersion;

use crate::grant::Grant;

/// What kind of capability a cached response came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A `tools/call` result.
    Tool,
    /// A `resources/read` of a concrete resource.
    Resource,
    /// A `resources/read` answered by a resource template.
    Template,
}

impl Kind {
    const fn tag(self) -> u8 {
        match self {
            Kind::Tool => b't',
            Kind::Resource => b'r',
            Kind::Template => b'u',
        }
    }
}

/// One cached response's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey(Box<[u8]>);

impl CacheKey {
    /// The key of a `tools/call` of `name` with `arguments`.
    pub fn tool(name: &str, version: ProtocolVersion, grant: Option<&Grant>, arguments: &Value) -> Self {
        let mut key = head(Kind::Tool, name, version, grant);
        canonical(arguments, &mut key);
        Self(key.into_boxed_slice())
    }

    /// The key of a `resources/read` of `uri`, answered by a resource or a template.
    pub fn read(kind: Kind, uri: &str, version: ProtocolVersion, grant: Option<&Grant>) -> Self {
        Self(head(kind, uri, version, grant).into_boxed_slice())
    }

    /// The kind of capability the key belongs to.
    pub fn kind(&self) -> Kind {
        match self.0.first() {
            Some(b't') => Kind::Tool,
            Some(b'r') => Kind::Resource,
            _ => Kind::Template,
        }
    }

    /// Whether this is the key of a read of the concrete resource `uri`.
    pub fn is_resource(&self, uri: &str) -> bool {
        let mut prefix = vec![Kind::Resource.tag()];
        field(uri, &mut prefix);
        self.0.starts_with(&prefix)
    }

    /// The key's size in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Kind, target, version and scopes; the arguments (if any) follow.
fn head(kind: Kind, target: &str, version: ProtocolVersion, grant: Option<&Grant>) -> Vec<u8> {
    let mut key = Vec::with_capacity(64 + target.len());
    key.push(kind.tag());
    field(target, &mut key);
    field(version.as_str(), &mut key);
    match grant {
        // No access control is not the same as an empty grant.
        None => key.push(b'-'),
        Some(grant) => {
            key.push(b'+');
            // A grant's scopes are already sorted and without repeats.
            for scope in grant.scopes() {
                field(scope, &mut key);
            }
            key.push(b';');
        }
    }
    key
}

/// `len:text`.
fn field(text: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(text.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(text.as_bytes());
}

/// Writes `value` as compact JSON with object members sorted by name.
pub(crate) fn canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (name, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                scalar(&Value::String(name.clone()), out);
                out.push(b':');
                canonical(member, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(item, out);
            }
            out.push(b']');
        }
        other => scalar(other, out),
    }
}

fn scalar(value: &Value, out: &mut Vec<u8>) {
    // Writing JSON into a Vec cannot fail.
    let _ = serde_json::to_writer(out, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const V: ProtocolVersion = ProtocolVersion::LATEST_LEGACY;

    fn text(value: &Value) -> String {
        let mut out = Vec::new();
        canonical(value, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn canonical_json_sorts_members_at_every_depth() {
        let a: Value = serde_json::from_str(r#"{"b":[{"y":1,"x":"\n"}],"a":{"d":null,"c":true}}"#).unwrap_or_default();
        assert_eq!(text(&a), r#"{"a":{"c":true,"d":null},"b":[{"x":"\n","y":1}]}"#);
        assert_eq!(text(&json!([3, 1.5, "é"])), r#"[3,1.5,"é"]"#);
    }

    #[test]
    fn equal_inputs_share_a_key_and_different_ones_do_not() {
        let key = |name, args: Value| CacheKey::tool(name, V, None, &args);
        assert_eq!(key("t", json!({"a": 1, "b": 2})), key("t", json!({"b": 2, "a": 1})));
        assert_ne!(key("t", json!({"a": 1})), key("t", json!({"a": 2})));
        assert_ne!(key("t", json!({"a": 1})), key("u", json!({"a": 1})));
        assert_ne!(key("t", json!({"a": 1})), key("t", json!({"a": 1.0})));
        // Length prefixes keep the fields apart.
        assert_ne!(key("ab", json!({})), key("a", json!({})));
        let args = json!({});
        assert_ne!(CacheKey::tool("t", V, None, &args), CacheKey::tool("t", ProtocolVersion::V2025_06_18, None, &args));
    }

    #[test]
    fn the_callers_scopes_are_part_of_the_key() {
        let args = json!({});
        let none = CacheKey::tool("t", V, None, &args);
        let empty = CacheKey::tool("t", V, Some(&Grant::new(Vec::<String>::new())), &args);
        let ab = CacheKey::tool("t", V, Some(&Grant::new(["a", "b"])), &args);
        let ba = CacheKey::tool("t", V, Some(&Grant::new(["b", "a"])), &args);
        let joined = CacheKey::tool("t", V, Some(&Grant::new(["a b"])), &args);
        assert_ne!(none, empty);
        assert_ne!(empty, ab);
        assert_eq!(ab, ba, "scopes are a set");
        assert_ne!(ab, joined);
    }

    #[test]
    fn read_keys_know_their_resource() {
        let read = CacheKey::read(Kind::Resource, "file:///a", V, None);
        assert_eq!(read.kind(), Kind::Resource);
        assert!(read.is_resource("file:///a"));
        assert!(!read.is_resource("file:///"));
        assert!(!read.is_resource("file:///ab"));
        let by_template = CacheKey::read(Kind::Template, "file:///a", V, None);
        assert_eq!(by_template.kind(), Kind::Template);
        assert!(!by_template.is_resource("file:///a"));
        assert_eq!(CacheKey::tool("file:///a", V, None, &json!({})).kind(), Kind::Tool);
    }
}
