//! Tenet's own `_meta` entries for its network of nodes: who a node is, which nodes a
//! request has passed through, which nodes a listed item was imported through, and
//! the conversation context a request belongs to.

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
/// `_meta` key on a listed tool, prompt, resource or resource template that a node
/// imported from a peer: the nodes it was imported through, nearest first (a
/// [`NodePath`]). A node does not offer such items to other nodes unless it is
/// configured to re-export them, and never to a node on that path.
pub const VIA_KEY: &str = "io.tenet/via";
/// `_meta` key on requests and results: the conversation context the request belongs
/// to (see the server's `Conversation`).
pub const CONTEXT_KEY: &str = "io.tenet/context";

/// The most characters of a version or digest an [`Announcement`] may carry.
const MAX_ANNOUNCED_LEN: usize = 128;

/// What a Tenet node says about itself in the `_meta` of its `initialize` and
/// `server/discover` results, under [`NODE_KEY`].
///
/// ```
/// use tenet_protocol::Announcement;
///
/// let said: Announcement = serde_json::from_value(serde_json::json!({
///     "id": "alpha", "version": "0.1.0", "digest": "sha256:00",
///     "lists": {"tools": "sha256:01", "prompts": "sha256:02", "resources": "sha256:03", "resourceTemplates": "sha256:04"}
/// })).unwrap();
/// assert_eq!(said.id.as_str(), "alpha");
/// assert!(said.check().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    /// The node's id.
    pub id: NodeId,
    /// Its server's version (`serverInfo.version`).
    pub version: String,
    /// A digest of everything it lists: it changes when, and only when, a listing
    /// changes.
    pub digest: String,
    /// A digest of each list as the node offers it to other nodes (without what it
    /// imported from peers, unless it re-exports that): a peer that kept the last ones
    /// lists again only the lists whose digest changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lists: Option<ListDigests>,
}

/// A digest of each of a node's lists, as it offers them to other nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListDigests {
    /// `tools/list`.
    pub tools: String,
    /// `prompts/list`.
    pub prompts: String,
    /// `resources/list`.
    pub resources: String,
    /// `resources/templates/list`.
    pub resource_templates: String,
}

impl ListDigests {
    /// The four digests, in the order tools, prompts, resources, resource templates.
    pub fn each(&self) -> [&str; 4] {
        [&self.tools, &self.prompts, &self.resources, &self.resource_templates]
    }
}

impl Announcement {
    /// Checks what the shape alone does not: a version and digests that are short,
    /// printable text.
    ///
    /// # Errors
    /// What is wrong, naming the member.
    pub fn check(&self) -> Result<(), String> {
        let named = [("version", self.version.as_str()), ("digest", self.digest.as_str())];
        let members = ["lists.tools", "lists.prompts", "lists.resources", "lists.resourceTemplates"];
        let lists = self.lists.iter().flat_map(|lists| members.into_iter().zip(lists.each()));
        for (member, text) in named.into_iter().chain(lists) {
            if text.is_empty() || text.len() > MAX_ANNOUNCED_LEN || text.chars().any(char::is_control) {
                return Err(format!("{member} must be 1 to {MAX_ANNOUNCED_LEN} printable characters"));
            }
        }
        Ok(())
    }

    /// The announcement in a handshake result's `_meta`: `None` when there is none;
    /// an error saying what is wrong with one that is malformed.
    ///
    /// # Errors
    /// A malformed announcement.
    pub fn from_meta(meta: Option<&crate::JsonObject>) -> Result<Option<Self>, String> {
        let Some(value) = meta.and_then(|m| m.get(NODE_KEY)) else { return Ok(None) };
        let said = Self::deserialize(value).map_err(|e| format!("{NODE_KEY} is malformed: {e}"))?;
        said.check().map_err(|e| format!("{NODE_KEY} is malformed: {e}"))?;
        Ok(Some(said))
    }
}

/// The nodes a listed item was imported through ([`VIA_KEY`] in its `_meta`): `None`
/// for an item of the node's own (or of its upstreams'); an error for a malformed entry.
///
/// # Errors
/// A [`VIA_KEY`] entry that is not a valid [`NodePath`].
pub fn imported_via(meta: Option<&crate::JsonObject>) -> Result<Option<NodePath>, String> {
    match meta.and_then(|m| m.get(VIA_KEY)) {
        None => Ok(None),
        Some(value) => NodePath::deserialize(value).map(Some).map_err(|e| format!("{VIA_KEY}: {e}")),
    }
}

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

    /// The path of one node.
    pub fn one(node: NodeId) -> Self {
        Self(vec![node])
    }

    /// `node`, then the nodes of this path: the path of an item imported from `node`
    /// that `node` had imported through this path.
    pub fn behind(&self, node: &NodeId) -> Self {
        let mut nodes = Vec::with_capacity(self.0.len() + 1);
        nodes.push(node.clone());
        nodes.extend_from_slice(&self.0);
        Self(nodes)
    }

    /// Whether any node is on both paths.
    pub fn meets(&self, other: &Self) -> bool {
        self.0.iter().any(|node| other.contains(node))
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
    fn announcements_are_checked_beyond_their_shape() {
        let good = json!({"id": "a", "version": "1.0.0", "digest": "sha256:00"});
        let meta = |value: serde_json::Value| crate::JsonObject::from_iter([(NODE_KEY.to_owned(), value)]);
        let said = Announcement::from_meta(Some(&meta(good))).unwrap().unwrap();
        assert_eq!((said.id.as_str(), said.lists), ("a", None));
        assert_eq!(Announcement::from_meta(None), Ok(None));
        assert_eq!(Announcement::from_meta(Some(&crate::JsonObject::new())), Ok(None));
        for (bad, why) in [
            (json!("a"), "invalid type"),
            (json!({"id": "a b", "version": "1", "digest": "d"}), "invalid node id"),
            (json!({"id": "a", "digest": "d"}), "missing field `version`"),
            (json!({"id": "a", "version": "", "digest": "d"}), "version must be"),
            (json!({"id": "a", "version": "1", "digest": "x".repeat(129)}), "digest must be"),
            (json!({"id": "a", "version": "1\n", "digest": "d"}), "version must be"),
            (
                json!({"id": "a", "version": "1", "digest": "d", "lists": {"tools": "", "prompts": "p", "resources": "r", "resourceTemplates": "t"}}),
                "lists.tools must be",
            ),
            (json!({"id": "a", "version": "1", "digest": "d", "lists": {"tools": "t"}}), "missing field"),
        ] {
            let e = Announcement::from_meta(Some(&meta(bad.clone()))).unwrap_err();
            assert!(e.starts_with(NODE_KEY) && e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn an_items_import_path_is_read_from_its_meta() {
        let meta = |value: serde_json::Value| crate::JsonObject::from_iter([(VIA_KEY.to_owned(), value)]);
        assert_eq!(imported_via(None), Ok(None));
        let path = imported_via(Some(&meta(json!(["b", "c"])))).unwrap().unwrap();
        assert_eq!(path.to_string(), "b → c");
        let a: NodeId = "a".parse().unwrap();
        assert_eq!(path.behind(&a).to_string(), "a → b → c");
        assert!(path.meets(&NodePath::one("c".parse().unwrap())) && !path.meets(&NodePath::one(a)));
        assert!(imported_via(Some(&meta(json!("b")))).unwrap_err().starts_with(VIA_KEY));
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
