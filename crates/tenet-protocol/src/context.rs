//! Tenet's conversation context on the wire (`_meta["io.tenet/context"]`): the id a
//! client names its conversation by, the context a node carries to another with a
//! relayed request, and the changes that come back with the answer.
//!
//! ```
//! use tenet_protocol::context::{ContextOp, ContextRef, Expect};
//!
//! // A client names its conversation.
//! let named: ContextRef = serde_json::from_value(serde_json::json!("conv-42")).unwrap();
//! assert_eq!(named.id().map(|id| id.as_str()), Some("conv-42"));
//! // A node carries it, with its entries, to another.
//! let carried: ContextRef = serde_json::from_value(serde_json::json!(
//!     {"id": "conv-42", "entries": {"city": {"value": "Oslo", "version": 3}}}
//! )).unwrap();
//! assert!(matches!(carried, ContextRef::Carried(_)));
//! let op: ContextOp = serde_json::from_value(serde_json::json!(
//!     {"op": "set", "key": "city", "value": "Bergen", "expect": {"version": 3}}
//! )).unwrap();
//! assert_eq!(op.key(), "city");
//! assert_eq!(op, ContextOp::Set { key: "city".into(), value: "Bergen".into(), expect: Expect::Version(3) });
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// The most characters a context id may have.
pub const MAX_CONTEXT_ID: usize = 128;
/// The most characters a context key may have.
pub const MAX_CONTEXT_KEY: usize = 256;

/// A conversation's id: 1 to 128 of `A-Z a-z 0-9 _ - . :`. A client may choose one; a
/// server makes one of 32 hex digits when a tool first writes to a conversation that
/// has none.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContextId(String);

impl ContextId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it has the form of an id a server makes (32 lowercase hex digits of
    /// randomness): one that cannot be guessed, unlike a name a client chose.
    ///
    /// ```
    /// let made: tenet_protocol::context::ContextId = "0f1e2d3c4b5a69788796a5b4c3d2e1f0".parse().unwrap();
    /// let chosen: tenet_protocol::context::ContextId = "conv-1".parse().unwrap();
    /// assert!(made.is_made() && !chosen.is_made());
    /// ```
    pub fn is_made(&self) -> bool {
        self.0.len() == 32 && self.0.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}

impl FromStr for ContextId {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid = (1..=MAX_CONTEXT_ID).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!("invalid context id {text:?}: use 1 to {MAX_CONTEXT_ID} of A-Z, a-z, 0-9, _, -, . and :"))
        }
    }
}

impl fmt::Display for ContextId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ContextId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ContextId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// One value of a conversation's context, with its version: a number that changes at
/// every write of the key (and never comes back within the context).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContextEntry {
    /// The value.
    pub value: Value,
    /// Its version.
    pub version: u64,
}

/// What a write expects to find, for compare-and-set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// Anything, or nothing: the write always applies.
    #[default]
    Any,
    /// No value under the key.
    Absent,
    /// The value at this version.
    Version(u64),
}

/// One change to a conversation's context.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum ContextOp {
    /// Sets `key` to `value`, if what is there is what `expect` says.
    Set {
        /// The key.
        key: String,
        /// The new value.
        value: Value,
        /// What must be there.
        #[serde(default, skip_serializing_if = "is_any")]
        expect: Expect,
    },
    /// Merges `patch` into the value of `key` (JSON Merge Patch, RFC 7396): members
    /// set to `null` are removed, objects merge member by member, anything else
    /// replaces. A key with no value is made from the patch.
    Merge {
        /// The key.
        key: String,
        /// The patch.
        patch: Value,
    },
    /// Removes `key`, if what is there is what `expect` says.
    Delete {
        /// The key.
        key: String,
        /// What must be there.
        #[serde(default, skip_serializing_if = "is_any")]
        expect: Expect,
    },
}

fn is_any(expect: &Expect) -> bool {
    *expect == Expect::Any
}

impl ContextOp {
    /// The key it changes.
    pub fn key(&self) -> &str {
        match self {
            Self::Set { key, .. } | Self::Merge { key, .. } | Self::Delete { key, .. } => key,
        }
    }
}

/// A context a node carries to another with a relayed request: its id, when it has
/// one yet, and every entry as the node had it when the request left.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarriedContext {
    /// The conversation's id (none when nothing was written to it yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ContextId>,
    /// Its entries, by key.
    #[serde(default)]
    pub entries: BTreeMap<String, ContextEntry>,
}

/// What a request's `_meta["io.tenet/context"]` says: a conversation's id (from a
/// client), or the context itself, carried by a node.
#[derive(Clone, Debug, PartialEq)]
pub enum ContextRef {
    /// The conversation's id.
    Id(ContextId),
    /// The conversation's context, carried along.
    Carried(CarriedContext),
}

impl ContextRef {
    /// The conversation's id, when it has one.
    pub fn id(&self) -> Option<&ContextId> {
        match self {
            Self::Id(id) => Some(id),
            Self::Carried(carried) => carried.id.as_ref(),
        }
    }
}

impl Serialize for ContextRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Id(id) => id.serialize(serializer),
            Self::Carried(carried) => carried.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ContextRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RefVisitor;
        impl<'de> de::Visitor<'de> for RefVisitor {
            type Value = ContextRef;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("io.tenet/context as a context id, or an object with id and entries")
            }

            fn visit_str<E: de::Error>(self, id: &str) -> Result<ContextRef, E> {
                id.parse().map(ContextRef::Id).map_err(E::custom)
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<ContextRef, A::Error> {
                let carried = CarriedContext::deserialize(de::value::MapAccessDeserializer::new(map))?;
                if let Some(key) = carried.entries.keys().find(|k| k.is_empty() || k.len() > MAX_CONTEXT_KEY) {
                    return Err(de::Error::custom(format!(
                        "io.tenet/context: key {key:?} must be 1 to {MAX_CONTEXT_KEY} characters"
                    )));
                }
                Ok(ContextRef::Carried(carried))
            }
        }
        deserializer.deserialize_any(RefVisitor)
    }
}

/// What a result's `_meta["io.tenet/context"]` says: the conversation's id (a server
/// made one, or it was carried), and the changes a tool made to a carried context, for
/// the node that carried it to apply.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContextNote {
    /// The conversation's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ContextId>,
    /// The changes, in the order they were made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ContextOp>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_short_plain_names() {
        for good in ["a", "conv-1", "user:42.session_7", &"x".repeat(128)] {
            assert_eq!(good.parse::<ContextId>().map(|id| id.to_string()).as_deref(), Ok(good));
        }
        for bad in ["", "a b", "a/b", "é", &"x".repeat(129)] {
            assert!(bad.parse::<ContextId>().unwrap_err().contains("invalid context id"), "{bad:?}");
        }
    }

    #[test]
    fn a_reference_is_an_id_or_a_carried_context_and_nothing_else() {
        assert_eq!(serde_json::from_value::<ContextRef>(json!("c1")).unwrap(), ContextRef::Id("c1".parse().unwrap()));
        let carried: ContextRef =
            serde_json::from_value(json!({"entries": {"k": {"value": [1], "version": 2}}})).unwrap();
        let ContextRef::Carried(carried) = carried else { panic!("carried") };
        assert_eq!((carried.id, carried.entries["k"].version), (None, 2));
        for bad in [
            json!(7),
            json!(["x"]),
            json!("a b"),
            json!({"entries": {"k": {"value": 1}}}),
            json!({"entries": {"": {"value": 1, "version": 1}}}),
            json!({"id": "a", "extra": 1}),
        ] {
            let e = serde_json::from_value::<ContextRef>(bad.clone()).unwrap_err().to_string();
            assert!(
                e.contains("io.tenet/context") || e.contains("invalid context id") || e.contains("field"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn ops_read_and_write_as_documented() {
        let ops = vec![
            ContextOp::Set { key: "a".into(), value: json!(1), expect: Expect::Any },
            ContextOp::Set { key: "b".into(), value: json!(2), expect: Expect::Absent },
            ContextOp::Merge { key: "c".into(), patch: json!({"x": null}) },
            ContextOp::Delete { key: "d".into(), expect: Expect::Version(9) },
        ];
        let written = serde_json::to_value(&ops).unwrap();
        assert_eq!(
            written,
            json!([
                {"op": "set", "key": "a", "value": 1},
                {"op": "set", "key": "b", "value": 2, "expect": "absent"},
                {"op": "merge", "key": "c", "patch": {"x": null}},
                {"op": "delete", "key": "d", "expect": {"version": 9}},
            ])
        );
        assert_eq!(serde_json::from_value::<Vec<ContextOp>>(written).unwrap(), ops);
        let note = ContextNote { id: Some("c".parse().unwrap()), changes: Vec::new() };
        assert_eq!(serde_json::to_value(note).unwrap(), json!({"id": "c"}));
    }
}
