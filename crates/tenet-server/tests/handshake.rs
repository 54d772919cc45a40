//! What a server says about itself when a client meets it: the entries added to the
//! `_meta` of `initialize` and `server/discover` results, and the digest of its lists.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::common::Client;
use serde_json::json;
use tenet_protocol::GetPromptResult;
use tenet_server::{PromptDef, ResourceDef, Server, ToolDef};

async fn one() -> String {
    "1".into()
}

async fn two() -> String {
    "2".into()
}

fn server() -> Server {
    Server::builder("test", "1.0.0").dynamic().tool(ToolDef::new("one", one).description("The first")).build().unwrap()
}

#[test]
fn the_digest_follows_every_list_and_nothing_else() {
    let server = server();
    let first = server.digest();
    assert!(first.starts_with("sha256:") && first.len() == "sha256:".len() + 32, "{first}");
    assert!(Arc::ptr_eq(&first, &server.digest()), "kept while nothing changes");
    assert_eq!(first, self::server().digest(), "the same lists give the same digest");

    server.add_tool(ToolDef::new("two", two).description("The second")).unwrap();
    let with_tool = server.digest();
    assert_ne!(with_tool, first);
    server.add_prompt(PromptDef::new("p", |_| async { Ok(GetPromptResult::default()) }));
    let with_prompt = server.digest();
    assert_ne!(with_prompt, with_tool);
    server.add_resource(ResourceDef::text(
        serde_json::from_value(json!({"uri": "tenet://r", "name": "r"})).unwrap(),
        "text",
    ));
    let with_resource = server.digest();
    assert_ne!(with_resource, with_prompt);
    // A tool described differently is a different listing.
    server.add_tool(ToolDef::new("two", two).description("The second, described again")).unwrap();
    assert_ne!(server.digest(), with_resource);

    assert!(server.remove_tool("two") && server.remove_prompt("p") && server.remove_resource("tenet://r"));
    assert_eq!(server.digest(), first, "back to the same lists, back to the same digest");
}

#[tokio::test]
async fn added_entries_are_in_both_handshakes_computed_for_each() {
    let server = server();
    server.add_handshake_meta("com.example/lists", |server| json!({ "digest": &*server.digest() }));
    let before = server.digest();
    let mut legacy = Client::start(server.clone());
    let init = legacy.initialize("2025-11-25", json!({})).await;
    assert_eq!(init["result"]["_meta"]["com.example/lists"]["digest"], *before, "{init}");
    legacy.finish().await;

    server.add_tool(ToolDef::new("two", two).description("The second")).unwrap();
    let mut modern = Client::start(server.clone());
    let discover = modern.modern(1, "server/discover", json!({}), json!({})).await;
    let meta = &discover["result"]["_meta"];
    assert_eq!(meta["com.example/lists"]["digest"], *server.digest(), "{discover}");
    assert_ne!(meta["com.example/lists"]["digest"], *before);
    assert_eq!(meta["io.modelcontextprotocol/serverInfo"]["name"], "test", "the server's own entry stays");
    modern.finish().await;
}

#[tokio::test]
async fn without_entries_initialize_has_no_meta() {
    let mut c = Client::start(server());
    let init = c.initialize("2025-11-25", json!({})).await;
    assert!(init["result"].get("_meta").is_none(), "{init}");
    c.finish().await;
}
