//! What a Tenet node lists for another node (a list request that carries a node path):
//! its own items always; what it imported from peers (`_meta["io.tenet/via"]`) only
//! when it re-exports, within its hop limit, and never back to a node on the item's
//! import path. And the digest of each list as offered to other nodes.

#![allow(clippy::unwrap_used)]

use crate::common::Client;
use serde_json::{Value, json};
use tenet_protocol::{NODE_PATH_KEY, Tool, VIA_KEY};
use tenet_server::{Server, ServerConfig, ToolDef};

fn tool(name: &str, via: Option<Value>) -> ToolDef {
    let mut listing = json!({"name": name, "inputSchema": {"type": "object"}});
    if let Some(via) = via {
        listing["_meta"] = json!({ VIA_KEY: via });
    }
    let listing: Tool = serde_json::from_value(listing).unwrap();
    ToolDef::from_listing(listing, |_: tenet_server::Context| async { "ok" })
}

/// A node with its own tool `own`, `from_b` imported from node b, `from_c_via_b`
/// imported from b that b had imported from c, and `broken` with a malformed path; and a
/// resource imported from b.
fn node(reexport: Option<usize>) -> Server {
    let resource: tenet_protocol::Resource =
        serde_json::from_value(json!({"uri": "tenet://b/doc", "name": "doc", "_meta": { VIA_KEY: ["b"] }})).unwrap();
    Server::builder("node", "1.0.0")
        .config(ServerConfig { reexport, ..ServerConfig::default() })
        .resource(tenet_server::ResourceDef::text(resource, "imported"))
        .tool(tool("own", None))
        .tool(tool("from_b", Some(json!(["b"]))))
        .tool(tool("from_c_via_b", Some(json!(["b", "c"]))))
        .tool(tool("broken", Some(json!("b"))))
        .build()
        .unwrap()
}

/// The tools listed to a 2026-07-28 request whose node path is `path` (none: null), by
/// name (as every list is sorted).
async fn listed(server: &Server, path: Value) -> Vec<String> {
    let mut client = Client::start(server.clone());
    let params = if path.is_null() { json!({}) } else { json!({"_meta": { NODE_PATH_KEY: path }}) };
    let reply = client.modern(1, "tools/list", params, json!({})).await;
    client.finish().await;
    reply["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_client_sees_everything_and_a_node_only_what_is_this_nodes_own() {
    let server = node(None);
    assert_eq!(listed(&server, Value::Null).await, ["broken", "from_b", "from_c_via_b", "own"]);
    assert_eq!(
        listed(&server, json!([])).await,
        ["broken", "from_b", "from_c_via_b", "own"],
        "an empty path is a client"
    );
    assert_eq!(listed(&server, json!(["x"])).await, ["own"]);
}

#[tokio::test]
async fn a_reexporting_node_offers_imports_within_its_hop_limit_and_never_back() {
    let server = node(Some(3));
    assert_eq!(listed(&server, json!(["x"])).await, ["from_b", "from_c_via_b", "own"], "1 + 2 nodes fit in 3");
    assert_eq!(listed(&server, json!(["x", "y"])).await, ["from_b", "own"], "2 + 2 nodes do not");
    assert_eq!(listed(&server, json!(["c"])).await, ["from_b", "own"], "not back to c, where it came from");
    assert_eq!(listed(&server, json!(["b"])).await, ["own"], "nothing back to b");
}

#[test]
fn list_digests_follow_what_is_offered_to_nodes() {
    let plain = Server::builder("node", "1.0.0").tool(tool("own", None)).build().unwrap();
    let with_imports = node(None);
    assert_eq!(
        plain.list_digests().tools,
        with_imports.list_digests().tools,
        "imports are not offered, so they are not in the digest"
    );
    assert_ne!(plain.digest(), with_imports.digest(), "the digest of everything listed has them");
    assert_ne!(node(Some(8)).list_digests().tools, plain.list_digests().tools, "re-exported, they are in it");
    assert_eq!(plain.list_digests().prompts, with_imports.list_digests().prompts);
    assert_ne!(plain.list_digests().tools, plain.list_digests().prompts, "each list has its own name in its digest");
}

#[tokio::test]
async fn what_is_not_listed_to_a_node_cannot_be_called_by_it_either() {
    let server = node(None);
    let mut client = Client::start(server.clone());
    let call = |path: Value| {
        let mut params = json!({"name": "from_b", "arguments": {}});
        if !path.is_null() {
            params["_meta"] = json!({ NODE_PATH_KEY: path });
        }
        params
    };
    let refused = client.modern(1, "tools/call", call(json!(["x"])), json!({})).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("tool from_b is not offered to other Tenet nodes (request path x)"), "{refused}");
    let answered = client.modern(2, "tools/call", call(Value::Null), json!({})).await;
    assert_eq!(answered["result"]["content"][0]["text"], "ok", "a client may: {answered}");
    // Nor can it read a resource it is not offered.
    let read = json!({"uri": "tenet://b/doc", "_meta": { NODE_PATH_KEY: ["x"] }});
    let refused = client.modern(3, "resources/read", read, json!({})).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    let read = client.modern(4, "resources/read", json!({"uri": "tenet://b/doc"}), json!({})).await;
    assert_eq!(read["result"]["contents"][0]["text"], "imported", "{read}");
    client.finish().await;
    let mut client = Client::start(node(Some(8)));
    let answered = client.modern(1, "tools/call", call(json!(["x"])), json!({})).await;
    assert_eq!(answered["result"]["content"][0]["text"], "ok", "re-exported, a node may: {answered}");
    client.finish().await;
}
