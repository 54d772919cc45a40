//! Tenet's own `_meta` entries for its network of nodes: who a node is, and which
//! nodes a request has passed through.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// `_meta` key on `initialize` and `server/discover` results: a Tenet node's
/// announcement (its id, version, and the digest of what it lists).
pub const NODE_KEY: &str = "io.tenet/node";
/// `_meta` key on requests: the Tenet nodes the request has passed through, first to
/// last ([`NodePath`]).
pub const NODE_PATH_KEY: &str = "io.tenet/path";
/// The most nodes a [`NodePath`] may name; a longer one is refused as it is read.
pub const MAX_NODE_PATH: usize = 32;

/// The most characters a node id may have.
const MAX_ID_LEN: usize = 64;

/// A node's id: 1 to 64 of `A-Z a-z 0-9 _ -`, so that it is valid wherever it
/// appears (a namespace, a [`NodePath`], a log line).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(String);

/// Why a text is not a node id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidNodeId {
    /// The text given.
    pub given: String,
}

impl fmt::Display for InvalidNodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid node id {:?}: use 1 to {MAX_ID_LEN} of A-Z, a-z, 0-9, _ and -", self.given)
    }
}

impl std::error::Error for InvalidNodeId {}

impl NodeId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for NodeId {
    type Err = InvalidNodeId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid = (1..=MAX_ID_LEN).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid { Ok(Self(text.to_owned())) } else { Err(InvalidNodeId { given: text.to_owned() }) }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for NodeId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// The Tenet nodes a request has passed through, first to last
/// (`_meta["io.tenet/path"]`): each node that forwards a request to another adds
/// itself, so a node can refuse a request that would come back to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodePath(Vec<NodeId>);

impl NodePath {
    /// Whether `node` is on the path.
    pub fn contains(&self, node: &NodeId) -> bool {
        self.0.contains(node)
    }

    /// How many nodes the request has passed through.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the request has passed through no node.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The nodes, first to last.
    pub fn nodes(&self) -> &[NodeId] {
        &self.0
    }

    /// This path with `node` added at its end (which may make it longer than
    /// [`MAX_NODE_PATH`], a path every reader refuses: check the length first).
    pub fn then(&self, node: &NodeId) -> Self {
        let mut nodes = Vec::with_capacity(self.0.len() + 1);
        nodes.extend_from_slice(&self.0);
        nodes.push(node.clone());
        Self(nodes)
    }
}

impl fmt::Display for NodePath {
    /// `a → b → c`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, node) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" → ")?;
            }
            f.write_str(node.as_str())?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for NodePath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PathVisitor;
        impl<'de> Visitor<'de> for PathVisitor {
            type Value = NodePath;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{NODE_PATH_KEY} as an array of at most {MAX_NODE_PATH} node ids")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodePath, A::Error> {
                let mut nodes = Vec::new();
                while let Some(node) = seq.next_element::<NodeId>()? {
                    if nodes.len() == MAX_NODE_PATH {
                        return Err(de::Error::custom(format_args!(
                            "{NODE_PATH_KEY} names more than {MAX_NODE_PATH} nodes"
                        )));
                    }
                    nodes.push(node);
                }
                Ok(NodePath(nodes))
            }
        }
        deserializer.deserialize_seq(PathVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_short_plain_names() {
        for good in ["a", "node-1", "EU_west_2", &"x".repeat(64)] {
            assert_eq!(good.parse::<NodeId>().map(|id| id.to_string()).as_deref(), Ok(good));
        }
        for bad in ["", "a b", "a/b", "a.b", "é", "a\n", &"x".repeat(65)] {
            let refused = bad.parse::<NodeId>().unwrap_err();
            assert_eq!(refused.given, bad);
            assert!(refused.to_string().contains("invalid node id"), "{refused}");
        }
    }

    #[test]
    fn a_path_is_read_whole_or_refused() {
        let path: NodePath = serde_json::from_value(json!(["a", "b"])).unwrap();
        assert_eq!(path.to_string(), "a → b");
        let c: NodeId = "c".parse().unwrap();
        let longer = path.then(&c);
        assert!(longer.contains(&c) && !path.contains(&c) && longer.len() == 3);
        assert_eq!(serde_json::to_value(&longer).unwrap(), json!(["a", "b", "c"]));

        let refused = |value| serde_json::from_value::<NodePath>(value).unwrap_err().to_string();
        assert!(refused(json!("a")).contains("array of at most 32 node ids"));
        assert!(refused(json!(["a", 3])).contains("invalid type"));
        assert!(refused(json!(["a", "b/c"])).contains("invalid node id \"b/c\""));
        let long: Vec<String> = (0..=MAX_NODE_PATH).map(|i| format!("n{i}")).collect();
        assert!(refused(json!(long)).contains("more than 32 nodes"));
        let most: Vec<String> = (0..MAX_NODE_PATH).map(|i| format!("n{i}")).collect();
        assert_eq!(serde_json::from_value::<NodePath>(json!(most)).unwrap().len(), MAX_NODE_PATH);
    }
}
