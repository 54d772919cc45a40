//! A conversation's context, as tools see it: kept per legacy session, or per id a
//! 2026-07-28 client names (a first write makes one and tells it), per caller; carried
//! by another node with a relayed request and worked on as a copy whose changes go
//! back in the result's `_meta`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::common::Client;
use serde_json::{Value, json};
use tenet_protocol::CONTEXT_KEY;
use tenet_protocol::context::Expect;
use tenet_server::{Args, Conversation, Grant, Server, ToolDef, ToolError};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Remember {
    key: String,
    value: Value,
    /// Compare-and-set against this version.
    #[serde(default)]
    version: Option<u64>,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Recall {
    key: String,
}

fn server() -> Server {
    Server::builder("conversation", "1.0.0")
        .tool(ToolDef::new("remember", |conversation: Conversation, Args(r): Args<Remember>| async move {
            let expect = r.version.map_or(Expect::Any, Expect::Version);
            let version = conversation.compare_and_set(&r.key, r.value, expect).await?;
            Ok::<_, ToolError>(version.to_string())
        }))
        .tool(ToolDef::new("recall", |conversation: Conversation, Args(r): Args<Recall>| async move {
            let entry = conversation.get(&r.key).await?;
            Ok::<_, ToolError>(entry.map_or_else(|| "nothing".to_owned(), |e| format!("{} @{}", e.value, e.version)))
        }))
        .build()
        .unwrap()
}

fn call(name: &str, arguments: Value, context: Option<Value>) -> Value {
    let mut params = json!({"name": name, "arguments": arguments});
    if let Some(context) = context {
        params["_meta"] = json!({ CONTEXT_KEY: context });
    }
    params
}

fn text(reply: &Value) -> &str {
    reply["result"]["content"][0]["text"].as_str().unwrap_or_else(|| panic!("{reply}"))
}

#[tokio::test]
async fn a_legacy_session_has_one_conversation_of_its_own() {
    let server = server();
    let mut one = Client::start(server.clone());
    one.initialize("2025-11-25", json!({})).await;
    let set = one.call(2, "tools/call", call("remember", json!({"key": "city", "value": "Oslo"}), None)).await;
    assert_eq!(text(&set), "1");
    assert!(set["result"].get("_meta").is_none(), "the session is the conversation: no id to tell: {set}");
    let got = one.call(3, "tools/call", call("recall", json!({"key": "city"}), None)).await;
    assert_eq!(text(&got), "\"Oslo\" @1");
    let mut other = Client::start(server);
    other.initialize("2025-11-25", json!({})).await;
    let got = other.call(2, "tools/call", call("recall", json!({"key": "city"}), None)).await;
    assert_eq!(text(&got), "nothing", "another session, another conversation");
    one.finish().await;
    other.finish().await;
}

#[tokio::test]
async fn a_first_write_without_an_id_makes_one_and_tells_it() {
    let server = server();
    let mut client = Client::start(server.clone());
    let set =
        client.modern(1, "tools/call", call("remember", json!({"key": "k", "value": [1, 2]}), None), json!({})).await;
    let id = set["result"]["_meta"][CONTEXT_KEY]["id"].as_str().unwrap_or_else(|| panic!("{set}")).to_owned();
    assert_eq!(id.len(), 32, "{id}");
    let got = client.modern(2, "tools/call", call("recall", json!({"key": "k"}), Some(json!(id))), json!({})).await;
    assert_eq!(text(&got), "[1,2] @1");
    assert!(got["result"].get("_meta").is_none_or(|m| m.get(CONTEXT_KEY).is_none()), "{got}");
    // Without the id, the next request is in no conversation.
    let got = client.modern(3, "tools/call", call("recall", json!({"key": "k"}), None), json!({})).await;
    assert_eq!(text(&got), "nothing");
    client.finish().await;
}

#[tokio::test]
async fn a_conversation_is_its_callers_own() {
    let server = server();
    let alice = Some(Arc::new(
        Grant::new(Vec::<String>::new()).with_principal(tenet_server::Principal::ApiKey("alice".into())),
    ));
    let bob =
        Some(Arc::new(Grant::new(Vec::<String>::new()).with_principal(tenet_server::Principal::ApiKey("bob".into()))));
    let mut a = Client::start_as(server.clone(), alice);
    let mut b = Client::start_as(server, bob);
    let set = call("remember", json!({"key": "secret", "value": 42}), Some(json!("shared-id")));
    a.modern(1, "tools/call", set, json!({})).await;
    let got =
        b.modern(1, "tools/call", call("recall", json!({"key": "secret"}), Some(json!("shared-id"))), json!({})).await;
    assert_eq!(text(&got), "nothing", "the same id names another caller's own conversation");
    a.finish().await;
    b.finish().await;
}

#[tokio::test]
async fn a_compare_and_set_that_lost_says_so() {
    let server = server();
    let mut client = Client::start(server);
    let id = Some(json!("cas"));
    client.modern(1, "tools/call", call("remember", json!({"key": "n", "value": 1}), id.clone()), json!({})).await;
    let stale = call("remember", json!({"key": "n", "value": 2, "version": 7}), id.clone());
    let lost = client.modern(2, "tools/call", stale, json!({})).await;
    assert_eq!(lost["result"]["isError"], true, "{lost}");
    assert!(text(&lost).contains("changed meanwhile"), "{lost}");
    let won = client
        .modern(3, "tools/call", call("remember", json!({"key": "n", "value": 2, "version": 1}), id), json!({}))
        .await;
    assert_eq!(text(&won), "2");
    client.finish().await;
}

#[tokio::test]
async fn a_carried_context_is_worked_on_as_a_copy_whose_changes_go_back() {
    let server = server();
    let mut client = Client::start(server.clone());
    let carried = json!({"id": "conv", "entries": {"city": {"value": "Oslo", "version": 4}}});
    let got =
        client.modern(1, "tools/call", call("recall", json!({"key": "city"}), Some(carried.clone())), json!({})).await;
    assert_eq!(text(&got), "\"Oslo\" @4", "the carried entry, as it came");
    let cas = call("remember", json!({"key": "city", "value": "Bergen", "version": 4}), Some(carried));
    let set = client.modern(2, "tools/call", cas, json!({})).await;
    assert_eq!(
        set["result"]["_meta"][CONTEXT_KEY],
        json!({"id": "conv", "changes": [{"op": "set", "key": "city", "value": "Bergen", "expect": {"version": 4}}]}),
        "{set}"
    );
    // The copy is not kept here: the node that carried it keeps the context.
    let got =
        client.modern(3, "tools/call", call("recall", json!({"key": "city"}), Some(json!("conv"))), json!({})).await;
    assert_eq!(text(&got), "nothing");
    client.finish().await;
}

#[tokio::test]
async fn a_request_relayed_by_a_node_without_a_context_gets_an_empty_copy() {
    let server = server();
    let mut client = Client::start(server);
    let mut params = call("remember", json!({"key": "k", "value": true}), None);
    params["_meta"] = json!({ tenet_protocol::NODE_PATH_KEY: ["a"] });
    let set = client.modern(1, "tools/call", params, json!({})).await;
    assert_eq!(set["result"]["_meta"][CONTEXT_KEY], json!({"changes": [{"op": "set", "key": "k", "value": true}]}));
    client.finish().await;
}

#[tokio::test]
async fn a_carried_context_over_the_limit_or_malformed_is_refused() {
    let server = server();
    let mut client = Client::start(server);
    let big = json!({"entries": {"k": {"value": "x".repeat(70_000), "version": 1}}});
    let refused = client.modern(1, "tools/call", call("recall", json!({"key": "k"}), Some(big)), json!({})).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("over this server's limit of 65536"), "{refused}");
    let odd = client.modern(2, "tools/call", call("recall", json!({"key": "k"}), Some(json!(["x"]))), json!({})).await;
    assert_eq!(odd["error"]["code"], -32602, "{odd}");
    assert!(odd["error"]["message"].as_str().unwrap().contains("io.tenet/context"), "{odd}");
    // The server goes on.
    let fine = client.modern(3, "tools/call", call("recall", json!({"key": "k"}), None), json!({})).await;
    assert_eq!(text(&fine), "nothing");
    client.finish().await;
}

#[tokio::test]
async fn a_context_that_would_outgrow_its_limit_is_a_tool_error() {
    let server = server();
    let mut client = Client::start(server);
    let big = call("remember", json!({"key": "k", "value": "x".repeat(70_000)}), Some(json!("full")));
    let refused = client.modern(1, "tools/call", big, json!({})).await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    assert!(text(&refused).contains("over its limit of 65536"), "{refused}");
    client.finish().await;
}

#[tokio::test]
async fn a_caller_whose_credentials_name_nobody_may_not_name_a_conversation() {
    let server = server();
    let nobody = Some(Arc::new(Grant::new(Vec::<String>::new())));
    let mut client = Client::start_as(server, nobody);
    let named = call("remember", json!({"key": "k", "value": 1}), Some(json!("guessable")));
    let refused = client.modern(1, "tools/call", named, json!({})).await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    assert!(text(&refused).contains("name no subject") && text(&refused).contains("ids the server made"), "{refused}");
    // The id the server makes cannot be guessed: that one it may name.
    let set = client.modern(2, "tools/call", call("remember", json!({"key": "k", "value": 1}), None), json!({})).await;
    let id = set["result"]["_meta"][CONTEXT_KEY]["id"].as_str().unwrap().to_owned();
    assert_eq!(text(&set), "1");
    let got = client.modern(3, "tools/call", call("recall", json!({"key": "k"}), Some(json!(id))), json!({})).await;
    assert_eq!(text(&got), "1 @1", "{got}");
    client.finish().await;
}
