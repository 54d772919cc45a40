//! The gateway as a node of the Tenet network: which upstreams are admitted as peers
//! (a Tenet node, not this one, not one already met under another name), and how what
//! a node imports is marked with the nodes it came through, so that it is not offered
//! back to them nor further than the hop limit allows.

use std::collections::HashMap;

use serde_json::json;
use tenet_protocol::{Announcement, JsonObject, NODE_KEY, NodeId, NodePath, VIA_KEY, imported_via};

use crate::catalog::Listing;
use crate::upstream::{Upstream, path_alone};

/// The node ids of the peers admitted now, with the index of the upstream each is.
pub(crate) type Members = HashMap<NodeId, usize>;

/// Whether the server `upstream` reached, which said `said` about itself in its
/// handshake, may be used: a peer must be a Tenet node other than this one (`me`) and
/// than every other peer in `members` (then it is added there), and a peer without a
/// name of its own is named after its node id, which must stay the same; an upstream
/// that is not a peer may be anything. What it announced is returned (a malformed
/// announcement of an upstream is ignored, with a warning).
///
/// # Errors
/// Why it is refused, for its status and the log.
pub(crate) fn admit(
    upstream: &Upstream,
    index: usize,
    said: Result<Option<Announcement>, String>,
    me: Option<&NodeId>,
    members: &mut Members,
    names: &[String],
) -> Result<Option<Announcement>, String> {
    if !upstream.is_peer() {
        return Ok(said.unwrap_or_else(|e| {
            tracing::warn!(upstream = %upstream.label(), error = %e, "ignored what the upstream says of itself");
            None
        }));
    }
    let said = match said {
        Ok(Some(said)) => said,
        Ok(None) => {
            return Err(format!(
                "not a Tenet node: it announced no {NODE_KEY} in its handshake (a peer must be a Tenet node; list \
                 another MCP server as an [[upstream]])"
            ));
        }
        Err(e) => return Err(format!("not a Tenet node this node can peer with: {e}")),
    };
    let id = &said.id;
    if me == Some(id) {
        return Err(format!(
            "it announces node id {id}, which is this node's own: a node cannot be its own peer (is the url this \
             node's own, or do two nodes share an id? give one another --node-id)"
        ));
    }
    if let Some(&other) = members.get(id).filter(|&&other| other != index) {
        return Err(format!(
            "it announces node id {id}, which peer {} announced already: two nodes share an id (give one another \
             --node-id), or one node is listed twice",
            names[other]
        ));
    }
    if upstream.config.name.is_empty() {
        let known = upstream.name();
        if !known.is_empty() && known != id.as_str() {
            return Err(format!(
                "it announces node id {id}, but it was node {known} when this node first met it, and what it offers \
                 is listed under {known}; give it a name in its [[peer]] table to let its id change, or restart this \
                 node"
            ));
        }
        if names.iter().enumerate().any(|(i, name)| i != index && name == id.as_str()) {
            return Err(format!(
                "it would be listed under its node id {id}, which is already the name of another upstream or peer; \
                 give it a name in its [[peer]] table"
            ));
        }
        upstream.learn_name(id.as_str());
    }
    members.insert(id.clone(), index);
    Ok(Some(said))
}

/// The `_meta` of this node's list requests: its node path, `[me]`, so that a node
/// lists only what it offers other nodes.
pub(crate) fn list_meta(me: Option<&NodeId>) -> JsonObject {
    me.map(path_alone).unwrap_or_default()
}

/// Marks what `listing` holds with the nodes it comes through: an item of a peer's
/// own is imported through the peer (`node`); one the upstream had imported from
/// others is imported through `node` and them. An item whose path names this node
/// (`me`), or is malformed, is left out (it would lead back here); returns how many
/// were. An upstream that is not a Tenet node (`node` is `None`) is left as it is.
pub(crate) fn mark(listing: &mut Listing, node: Option<&NodeId>, peer: bool, me: Option<&NodeId>) -> usize {
    let Some(node) = node else { return 0 };
    let mut left_out = 0;
    let mut keep = |meta: &mut Option<JsonObject>| match imported_via(meta.as_ref()) {
        Ok(via) => {
            let path = match via {
                Some(via) if me.is_some_and(|me| via.contains(me)) => {
                    left_out += 1;
                    return false;
                }
                Some(via) => via.behind(node),
                None if peer => NodePath::one(node.clone()),
                None => return true,
            };
            meta.get_or_insert_with(JsonObject::new).insert(VIA_KEY.to_owned(), json!(path));
            true
        }
        Err(e) => {
            tracing::warn!(node = %node, error = %e, "left out an item with a malformed import path");
            left_out += 1;
            false
        }
    };
    if let Some(tools) = &mut listing.tools {
        tools.retain_mut(|t| keep(&mut t.meta));
    }
    if let Some(prompts) = &mut listing.prompts {
        prompts.retain_mut(|p| keep(&mut p.meta));
    }
    if let Some(resources) = &mut listing.resources {
        resources.retain_mut(|r| keep(&mut r.meta));
    }
    if let Some(templates) = &mut listing.templates {
        templates.retain_mut(|t| keep(&mut t.meta));
    }
    left_out
}

/// The announcement in a client's handshake with a server.
pub(crate) fn handshake(client: &tenet_client::Client) -> Result<Option<Announcement>, String> {
    Announcement::from_meta(client.server().and_then(|d| d.meta).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use tenet_protocol::{NODE_PATH_KEY, Tool};

    fn tool(name: &str, via: Option<Value>) -> Tool {
        let mut tool = json!({"name": name, "inputSchema": {"type": "object"}});
        if let Some(via) = via {
            tool["_meta"] = json!({ VIA_KEY: via });
        }
        serde_json::from_value(tool).unwrap_or_else(|e| panic!("{e}"))
    }

    fn vias(listing: &Listing) -> Vec<(String, Option<String>)> {
        let tools = listing.tools.as_deref().unwrap_or_default();
        tools
            .iter()
            .map(|t| (t.name.clone(), imported_via(t.meta.as_ref()).ok().flatten().map(|p| p.to_string())))
            .collect()
    }

    fn id(text: &str) -> NodeId {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_peers_items_are_marked_as_imported_through_it_and_what_leads_back_is_left_out() {
        let mut listing = Listing {
            tools: Some(vec![
                tool("own", None),
                tool("from_c", Some(json!(["c"]))),
                tool("from_me", Some(json!(["c", "me"]))),
                tool("broken", Some(json!(7))),
            ]),
            ..Listing::default()
        };
        let left_out = mark(&mut listing, Some(&id("b")), true, Some(&id("me")));
        assert_eq!(left_out, 2);
        assert_eq!(vias(&listing), [("own".into(), Some("b".into())), ("from_c".into(), Some("b → c".into()))]);
    }

    #[test]
    fn an_upstream_keeps_its_own_items_unmarked() {
        let mut listing =
            Listing { tools: Some(vec![tool("own", None), tool("from_c", Some(json!(["c"])))]), ..Listing::default() };
        assert_eq!(mark(&mut listing, Some(&id("u")), false, Some(&id("me"))), 0);
        assert_eq!(vias(&listing), [("own".into(), None), ("from_c".into(), Some("u → c".into()))]);
        let mut plain = Listing { tools: Some(vec![tool("x", Some(json!(["c"])))]), ..Listing::default() };
        assert_eq!(mark(&mut plain, None, false, Some(&id("me"))), 0);
        assert_eq!(vias(&plain), [("x".into(), Some("c".into()))], "not a Tenet node: left as it is");
    }

    #[test]
    fn list_requests_carry_this_node_alone() {
        assert_eq!(Value::Object(list_meta(Some(&id("a")))), json!({ NODE_PATH_KEY: ["a"] }));
        assert!(list_meta(None).is_empty());
    }
}
