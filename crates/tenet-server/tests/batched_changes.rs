//! Changes made together are announced together: one `list_changed` per list, one
//! `resources/updated` per replaced resource, however many items changed.

#![allow(clippy::unwrap_used)]

use tenet_protocol::Resource;
use tenet_server::{ResourceDef, Server, ServerEvent, ToolDef};
use tokio::sync::broadcast::Receiver;

async fn ping() -> String {
    "pong".into()
}

fn resource(uri: &str, text: &str) -> ResourceDef {
    let listing: Resource = serde_json::from_value(serde_json::json!({"uri": uri, "name": uri})).unwrap();
    ResourceDef::text(listing, text)
}

/// Every event sent so far.
fn drain(events: &mut Receiver<ServerEvent>) -> Vec<ServerEvent> {
    std::iter::from_fn(|| events.try_recv().ok()).collect()
}

#[test]
fn several_tools_added_at_once_are_one_tools_list_changed() {
    let server = Server::builder("t", "1").tool(ToolDef::new("a", ping)).build().unwrap();
    let mut events = server.events();
    server.add_tools(["a", "b", "c"].map(|name| ToolDef::new(name, ping))).unwrap();
    assert_eq!(drain(&mut events), [ServerEvent::ToolsChanged]);
    server.add_tools([]).unwrap();
    assert_eq!(drain(&mut events), [], "nothing changed, nothing announced");
}

#[test]
fn a_tool_whose_schema_does_not_compile_changes_nothing() {
    let server = Server::builder("t", "1").build().unwrap();
    let mut events = server.events();
    let broken = ToolDef::new("broken", ping).input_schema(serde_json::json!({"type": "string"}));
    assert!(server.add_tools([ToolDef::new("fine", ping), broken]).is_err());
    assert_eq!(drain(&mut events), []);
}

#[test]
fn resource_changes_made_together_are_one_list_changed_and_one_update_each() {
    let server = Server::builder("t", "1")
        .resource(resource("mem://kept", "1"))
        .resource(resource("mem://gone", "1"))
        .resource(resource("mem://edited", "1"))
        .build()
        .unwrap();
    let mut events = server.events();
    server.update_resources(
        ["mem://gone", "mem://never-there"],
        [resource("mem://new-1", "1"), resource("mem://new-2", "1"), resource("mem://edited", "2")],
    );
    assert_eq!(
        drain(&mut events),
        [ServerEvent::ResourcesChanged, ServerEvent::ResourceUpdated("mem://edited".into())]
    );
    // Only replacements: the list is the same, each replaced resource is updated.
    server.update_resources(Vec::<String>::new(), [resource("mem://kept", "2"), resource("mem://new-1", "2")]);
    assert_eq!(
        drain(&mut events),
        [ServerEvent::ResourceUpdated("mem://kept".into()), ServerEvent::ResourceUpdated("mem://new-1".into())]
    );
}
