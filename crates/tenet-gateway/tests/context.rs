//! A conversation's context crosses nodes: a tool on a peer (or a peer's peer) sees
//! what a tool on the first node set in the same conversation, and what it changes
//! there comes back; an ordinary upstream is never sent it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::sync::Arc;

use crate::support::{Node, Probe, Running, STEP, peer, text, upstream, upstream_server};
use serde_json::{Value, json};
use tenet_client::{Client, RequestOptions};
use tenet_protocol::CONTEXT_KEY;
use tenet_server::{Context, ToolDef};

async fn call(client: &Client, name: &str, arguments: Value, context: Option<&str>) -> Value {
    let mut params = json!({"name": name, "arguments": arguments});
    if let Some(id) = context {
        params["_meta"] = json!({ CONTEXT_KEY: id });
    }
    tokio::time::timeout(STEP, client.request("tools/call", params, &RequestOptions::default()))
        .await
        .expect("in time")
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn said(result: &Value) -> String {
    text(&serde_json::from_value(result.clone()).unwrap())
}

async fn tools_include(client: &Client, name: &str) {
    let deadline = tokio::time::Instant::now() + STEP;
    while !client.list_all_tools().await.unwrap().iter().any(|t| t.name == name) {
        assert!(tokio::time::Instant::now() < deadline, "{name} never listed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_value_set_on_one_node_is_read_on_another_and_changes_come_back() {
    // a → b → c, b re-exporting: a's client reaches c's tools through b.
    let c = Node::serve("c", None).await;
    let mut b = Node::serve("b", Some(4)).await;
    b.join(vec![peer(&c.url())]);
    let mut a = Node::serve("a", None).await;
    a.join(vec![peer(&b.url()), peer(&c.url())]);
    let client = support::downstream_with(
        &a.server,
        tenet_server::CancellationToken::new(),
        Client::builder().version(tenet_client::VersionPin::Legacy),
    )
    .await;
    tools_include(&client, "b__c__recall").await;
    tools_include(&client, "c__recall").await;

    // The downstream client here is a legacy session: the session is the conversation.
    assert_eq!(said(&call(&client, "remember", json!({"key": "city", "value": "Oslo"}), None).await), "version 1");
    assert_eq!(said(&call(&client, "c__recall", json!({"key": "city"}), None).await), "\"Oslo\"", "on c, directly");
    assert_eq!(said(&call(&client, "b__c__recall", json!({"key": "city"}), None).await), "\"Oslo\"", "through b");
    // Set on c (through b), read back on a.
    call(&client, "b__c__remember", json!({"key": "city", "value": "Bergen"}), None).await;
    assert_eq!(said(&call(&client, "recall", json!({"key": "city"}), None).await), "\"Bergen\"");
    // Neither b nor c kept a copy: a conversation of their own does not see it.
    let on_c = c.client().await;
    assert_eq!(said(&call(&on_c, "recall", json!({"key": "city"}), None).await), "nothing");
    on_c.close().await;
    client.close().await;
    a.stop().await;
    b.stop().await;
    c.stop().await;
}

#[tokio::test]
async fn a_2026_client_gets_an_id_from_a_write_on_another_node_and_uses_it() {
    let c = Node::serve("c", None).await;
    let mut a = Node::serve("a", None).await;
    a.join(vec![peer(&c.url())]);
    let client = support::downstream_with(
        &a.server,
        tenet_server::CancellationToken::new(),
        Client::builder().version(tenet_client::VersionPin::Modern),
    )
    .await;
    tools_include(&client, "c__remember").await;
    // No conversation yet: the write on c makes one here, at a, which tells its id.
    let set = call(&client, "c__remember", json!({"key": "k", "value": [1]}), None).await;
    let id = set["_meta"][CONTEXT_KEY]["id"].as_str().unwrap_or_else(|| panic!("no id told: {set}")).to_owned();
    assert!(set["_meta"][CONTEXT_KEY].get("changes").is_none(), "the changes were applied here, not passed on");
    assert_eq!(said(&call(&client, "recall", json!({"key": "k"}), Some(&id)).await), "[1]");
    assert_eq!(said(&call(&client, "c__recall", json!({"key": "k"}), Some(&id)).await), "[1]");
    assert_eq!(said(&call(&client, "c__recall", json!({"key": "k"}), None).await), "nothing", "another conversation");
    client.close().await;
    a.stop().await;
    c.stop().await;
}

#[tokio::test]
async fn an_upstream_that_is_not_a_node_is_never_sent_the_context() {
    let seen = Arc::new(std::sync::Mutex::new(None));
    let seen_by_tool = seen.clone();
    let server = upstream_server("plain", &Arc::new(Probe::default()))
        .tool(ToolDef::new("meta", move |ctx: Context| {
            // What a tool there sees of the conversation: nothing.
            let seen = seen_by_tool.clone();
            async move {
                let entries = ctx.conversation().entries().await.unwrap();
                *seen.lock().unwrap() = Some(entries.len());
                "seen"
            }
        }))
        .build()
        .unwrap();
    let plain = Running::start(server).await;
    let mut a = Node::serve("a", None).await;
    a.join(vec![upstream("plain", &plain.url())]);
    let client = a.client().await;
    tools_include(&client, "plain__meta").await;
    call(&client, "remember", json!({"key": "secret", "value": 1}), None).await;
    call(&client, "plain__meta", json!({}), None).await;
    assert_eq!(*seen.lock().unwrap(), Some(0), "the plain upstream saw no context");
    client.close().await;
    a.stop().await;
    plain.stop().await;
}
