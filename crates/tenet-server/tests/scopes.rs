//! Scopes on tools, resources, templates and prompts: a caller sees only what its
//! grant covers, and is refused the rest with -32003 naming the scope it needs.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::common::Client;
use serde_json::{Value, json};
use tenet_protocol::{GetPromptResult, Resource, ResourceTemplate};
use tenet_server::{Grant, INSUFFICIENT_SCOPE, PromptDef, ResourceDef, Server, TemplateDef, ToolDef};

async fn hello() -> String {
    "hello".into()
}

fn resource(uri: &str) -> Resource {
    serde_json::from_value(json!({"uri": uri, "name": uri})).unwrap()
}

fn server() -> Server {
    let template: ResourceTemplate =
        serde_json::from_value(json!({"uriTemplate": "secret://{name}", "name": "secrets"})).unwrap();
    Server::builder("scoped", "1")
        .tool(ToolDef::new("open", hello))
        .tool(ToolDef::new("read", hello).scope("docs:read"))
        .tool(ToolDef::new("admin", hello).scope("docs:read docs:admin"))
        .resource(ResourceDef::text(resource("doc://public"), "public"))
        .resource(ResourceDef::text(resource("doc://private"), "private").scope("docs:read"))
        .template(
            TemplateDef::new(template, |_| async { Ok(None) })
                .scope("docs:admin")
                .complete("name", |_| async { vec!["root-password".to_owned()] }),
        )
        .prompt(
            PromptDef::new("review", |_| async { Ok(GetPromptResult::default()) })
                .scope("docs:admin")
                .complete("topic", |_| async { vec!["the admin's topic".to_owned()] }),
        )
        .build()
        .unwrap()
}

/// The `field` of each item of a list result (every list is sorted by name, resources by URI).
fn names(list: &Value, key: &str, field: &str) -> Vec<String> {
    list["result"][key].as_array().unwrap().iter().map(|t| t[field].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn lists_show_only_what_the_grant_covers() {
    assert_eq!(server().scopes(), ["docs:admin", "docs:read"]);
    let mut client = Client::start_as(server(), Some(Arc::new(Grant::from_scope_string("docs:read"))));
    let tools = client.modern(1, "tools/list", json!({}), json!({})).await;
    assert_eq!(names(&tools, "tools", "name"), ["open", "read"]);
    let resources = client.modern(2, "resources/list", json!({}), json!({})).await;
    assert_eq!(names(&resources, "resources", "uri"), ["doc://private", "doc://public"]);
    let templates = client.modern(3, "resources/templates/list", json!({}), json!({})).await;
    assert!(names(&templates, "resourceTemplates", "name").is_empty());
    let prompts = client.modern(4, "prompts/list", json!({}), json!({})).await;
    assert!(names(&prompts, "prompts", "name").is_empty());
    client.finish().await;
}

#[tokio::test]
async fn using_something_out_of_scope_is_refused_with_the_scope_needed() {
    let mut client = Client::start_as(server(), Some(Arc::new(Grant::from_scope_string("docs:read"))));
    let ok = client.modern(1, "tools/call", json!({"name": "read"}), json!({})).await;
    assert_eq!(ok["result"]["content"][0]["text"], "hello");
    let refused = client.modern(2, "tools/call", json!({"name": "admin"}), json!({})).await;
    assert_eq!(refused["error"]["code"], INSUFFICIENT_SCOPE.0);
    assert_eq!(refused["error"]["data"]["scope"], "docs:admin docs:read");
    assert_eq!(refused["error"]["data"]["requiredScopes"], json!(["docs:read", "docs:admin"]));
    let read = client.modern(3, "resources/read", json!({"uri": "secret://x"}), json!({})).await;
    assert_eq!(read["error"]["code"], INSUFFICIENT_SCOPE.0);
    let prompt = client.modern(4, "prompts/get", json!({"name": "review"}), json!({})).await;
    assert_eq!(prompt["error"]["code"], INSUFFICIENT_SCOPE.0);
    let private = client.modern(5, "resources/read", json!({"uri": "doc://private"}), json!({})).await;
    assert_eq!(private["result"]["contents"][0]["text"], "private");
    client.finish().await;
}

#[tokio::test]
async fn without_a_grant_everything_is_open_and_an_empty_grant_sees_only_unscoped_things() {
    let mut open = Client::start(server());
    let tools = open.modern(1, "tools/list", json!({}), json!({})).await;
    assert_eq!(names(&tools, "tools", "name"), ["admin", "open", "read"]);
    open.finish().await;
    let mut empty = Client::start_as(server(), Some(Arc::new(Grant::default())));
    let tools = empty.modern(1, "tools/list", json!({}), json!({})).await;
    assert_eq!(names(&tools, "tools", "name"), ["open"]);
    // Legacy sessions are held to the grant too.
    empty.initialize("2025-06-18", json!({})).await;
    let refused = empty.call(2, "tools/call", json!({"name": "read"})).await;
    assert_eq!(refused["error"]["code"], INSUFFICIENT_SCOPE.0);
    empty.finish().await;
}

#[tokio::test]
async fn completion_is_held_to_the_scopes_of_what_it_completes() {
    let mut client = Client::start_as(server(), Some(Arc::new(Grant::from_scope_string("docs:read"))));
    let prompt = json!({"ref": {"type": "ref/prompt", "name": "review"}, "argument": {"name": "topic", "value": ""}});
    let refused = client.modern(1, "completion/complete", prompt.clone(), json!({})).await;
    assert_eq!(refused["error"]["code"], INSUFFICIENT_SCOPE.0, "{refused}");
    assert_eq!(refused["error"]["data"]["requiredScopes"], json!(["docs:admin"]));
    let template =
        json!({"ref": {"type": "ref/resource", "uri": "secret://{name}"}, "argument": {"name": "name", "value": "r"}});
    let refused = client.modern(2, "completion/complete", template.clone(), json!({})).await;
    assert_eq!(refused["error"]["code"], INSUFFICIENT_SCOPE.0, "{refused}");
    assert!(!refused.to_string().contains("root-password"));
    client.finish().await;
    // With the scope, the same requests complete.
    let mut admin = Client::start_as(server(), Some(Arc::new(Grant::from_scope_string("docs:admin"))));
    let done = admin.modern(1, "completion/complete", template, json!({})).await;
    assert_eq!(done["result"]["completion"]["values"], json!(["root-password"]), "{done}");
    let done = admin.modern(2, "completion/complete", prompt, json!({})).await;
    assert_eq!(done["result"]["completion"]["values"], json!(["the admin's topic"]), "{done}");
    admin.finish().await;
}

#[tokio::test]
async fn subscribing_to_a_resource_is_held_to_its_scopes() {
    let mut client = Client::start_as(server(), Some(Arc::new(Grant::default())));
    client.initialize("2025-11-25", json!({})).await;
    let refused = client.call(1, "resources/subscribe", json!({"uri": "doc://private"})).await;
    assert_eq!(refused["error"]["code"], INSUFFICIENT_SCOPE.0, "{refused}");
    let refused = client.call(2, "resources/subscribe", json!({"uri": "secret://x"})).await;
    assert_eq!(refused["error"]["code"], INSUFFICIENT_SCOPE.0, "a template's scopes hold too: {refused}");
    let open = client.call(3, "resources/subscribe", json!({"uri": "doc://public"})).await;
    assert_eq!(open["result"], json!({}), "{open}");
    // Letting go of a subscription needs no scope.
    let dropped = client.call(4, "resources/unsubscribe", json!({"uri": "doc://private"})).await;
    assert_eq!(dropped["result"], json!({}), "{dropped}");
    client.finish().await;
}

#[tokio::test]
async fn a_listen_stream_is_held_to_the_scopes_of_the_resources_it_asks_for() {
    let mut client = Client::start_as(server(), Some(Arc::new(Grant::from_scope_string("docs:read"))));
    let asked = json!({"notifications": {"resourceSubscriptions": ["doc://public", "secret://keys"]}});
    let refused = client.modern(1, "subscriptions/listen", asked, json!({})).await;
    assert_eq!(refused["error"]["code"], INSUFFICIENT_SCOPE.0, "{refused}");
    assert_eq!(refused["error"]["data"]["requiredScopes"], json!(["docs:admin"]));
    client.finish().await;
}

#[tokio::test]
async fn a_target_the_door_cannot_read_is_refused_rather_than_let_through() {
    let mut client = Client::start_as(server(), Some(Arc::new(Grant::default())));
    // `name` is not a string: nothing may pass the door unread.
    let odd = client.modern(1, "tools/call", json!({"name": {"not": "a name"}}), json!({})).await;
    assert_eq!(odd["error"]["code"], -32602, "{odd}");
    // An escaped name is the name it spells, for the door as for the handler.
    let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
    client
        .send_raw(&format!(
            r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"re\u0061d",{meta}}}}}"#
        ))
        .await;
    let escaped = client.response(&json!(2)).await;
    assert_eq!(escaped["error"]["code"], INSUFFICIENT_SCOPE.0, "{escaped}");
    client.finish().await;
}

/// A node path in `_meta` is the client's to write; it must not make an item imported
/// from a peer look absent to the door while its completer still runs.
#[tokio::test]
async fn a_forged_node_path_does_not_get_an_imported_items_completion_past_its_scopes() {
    let imported: ResourceTemplate = serde_json::from_value(json!({"uriTemplate": "peer://{name}", "name": "imported",
        "_meta": { tenet_protocol::VIA_KEY: ["b"] }}))
    .unwrap();
    let listed = resource("peer://listed");
    let mut listed = serde_json::to_value(listed).unwrap();
    listed["_meta"] = json!({ tenet_protocol::VIA_KEY: ["b"] });
    let server = Server::builder("node", "1")
        .template(
            TemplateDef::new(imported, |_| async { Ok(None) })
                .scope("peer:b")
                .complete("name", |_| async { vec!["the peer's secret".to_owned()] }),
        )
        .resource(ResourceDef::text(serde_json::from_value(listed).unwrap(), "x").scope("peer:b"))
        .build()
        .unwrap();
    let mut client = Client::start_as(server, Some(Arc::new(Grant::from_scope_string("docs:read"))));
    let forged = json!({ tenet_protocol::NODE_PATH_KEY: ["z"] });
    let complete = json!({"ref": {"type": "ref/resource", "uri": "peer://{name}"},
        "argument": {"name": "name", "value": ""}, "_meta": forged});
    let refused = client.modern(1, "completion/complete", complete, json!({})).await;
    assert_eq!(refused["error"]["code"], INSUFFICIENT_SCOPE.0, "{refused}");
    assert!(!refused.to_string().contains("secret"));
    let listen = json!({"notifications": {"resourceSubscriptions": ["peer://listed"]}, "_meta": forged});
    let refused = client.modern(2, "subscriptions/listen", listen, json!({})).await;
    assert_eq!(refused["error"]["code"], INSUFFICIENT_SCOPE.0, "{refused}");
    client.finish().await;
}

#[tokio::test]
async fn a_listen_asking_for_too_many_resources_is_refused_before_any_is_looked_up() {
    let mut client = Client::start_as(server(), Some(Arc::new(Grant::from_scope_string("docs:read"))));
    let uris: Vec<String> = (0..1001).map(|i| format!("secret://{i}")).collect();
    let asked = json!({"notifications": {"resourceSubscriptions": uris}});
    let refused = client.modern(1, "subscriptions/listen", asked, json!({})).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("Too many resourceSubscriptions"));
    client.finish().await;
}
