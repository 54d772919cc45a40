//! List pagination over the in-memory pipe: every list is sorted by name (resources by
//! URI), whatever order its items came in, and a walk through its pages lists each
//! item present all along exactly once, however the list changes between pages.

#![allow(clippy::unwrap_used)]

use crate::common::Client;
use serde_json::{Value, json};
use tenet_protocol::{GetPromptResult, Resource, ResourceTemplate};
use tenet_server::{PromptDef, ResourceDef, Server, ServerConfig, TaskSupport, TemplateDef, ToolDef};

async fn hello() -> String {
    "hello".into()
}

fn tool(name: &str) -> ToolDef {
    ToolDef::new(name, hello)
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|&n| n.to_owned()).collect()
}

/// A server listing three items a page.
fn paged() -> tenet_server::ServerBuilder {
    Server::builder("paged", "1").config(ServerConfig { page_size: 3, ..ServerConfig::default() })
}

/// One page of `method`: the `field` of each item of `key`, and the next cursor.
async fn page(
    c: &mut Client,
    id: i64,
    method: &str,
    key: &str,
    field: &str,
    cursor: Option<&str>,
) -> (Vec<String>, Option<String>) {
    let params = cursor.map_or_else(|| json!({}), |c| json!({"cursor": c}));
    let reply = c.modern(id, method, params, json!({})).await;
    let items = reply["result"][key].as_array().unwrap_or_else(|| panic!("{method}: {reply}"));
    let listed = items.iter().map(|t| t[field].as_str().unwrap().to_owned()).collect();
    (listed, reply["result"]["nextCursor"].as_str().map(str::to_owned))
}

/// Every item of `method`, page after page.
async fn walk(c: &mut Client, method: &str, key: &str, field: &str) -> Vec<String> {
    let (mut all, mut cursor) = page(c, 1, method, key, field, None).await;
    for id in 2.. {
        let Some(at) = cursor else { break };
        let (more, next) = page(c, id, method, key, field, Some(&at)).await;
        all.extend(more);
        cursor = next;
    }
    all
}

#[tokio::test]
async fn every_list_is_sorted_whatever_order_its_items_came_in() {
    let resource = |uri: &str| -> Resource { serde_json::from_value(json!({"uri": uri, "name": "r"})).unwrap() };
    let template =
        |t: &str| -> ResourceTemplate { serde_json::from_value(json!({"uriTemplate": t, "name": "t"})).unwrap() };
    let prompt = |name: &str| PromptDef::new(name, |_| async { Ok(GetPromptResult::default()) });
    let mut b = paged();
    for name in ["m", "Z", "a", "b1", "b", "_"] {
        b = b
            .tool(tool(name))
            .prompt(prompt(name))
            .resource(ResourceDef::text(resource(&format!("mem://{name}")), "x"))
            .template(TemplateDef::new(template(&format!("mem://{name}/{{id}}")), |_| async { Ok(None) }));
    }
    let server = b.build().unwrap();
    let mut c = Client::start(server.clone());
    let sorted = names(&["Z", "_", "a", "b", "b1", "m"]);
    let uris = |suffix: &str| sorted.iter().map(|n| format!("mem://{n}{suffix}")).collect::<Vec<_>>();
    assert_eq!(walk(&mut c, "tools/list", "tools", "name").await, sorted);
    assert_eq!(walk(&mut c, "prompts/list", "prompts", "name").await, sorted);
    assert_eq!(walk(&mut c, "resources/list", "resources", "uri").await, uris(""));
    let templates = walk(&mut c, "resources/templates/list", "resourceTemplates", "uriTemplate").await;
    assert_eq!(templates, uris("/{id}"));
    // Gone and back (as a gateway's upstream that reconnects): the same place.
    server.change_tools(&names(&["a", "Z"]), Vec::new());
    server.change_tools(&[], [tool("Z"), tool("a")]);
    assert!(server.remove_resource("mem://a"));
    server.add_resource(ResourceDef::text(resource("mem://a"), "x"));
    assert_eq!(walk(&mut c, "tools/list", "tools", "name").await, sorted);
    assert_eq!(walk(&mut c, "resources/list", "resources", "uri").await, uris(""));
    c.finish().await;
}

#[tokio::test]
async fn tools_present_throughout_a_walk_are_listed_once_however_the_list_changes_between_pages() {
    let mut b = paged();
    for i in (0..12).rev() {
        b = b.tool(tool(&format!("t{i:02}")));
    }
    let server = b.build().unwrap();
    let mut c = Client::start(server.clone());
    let (first, cursor) = page(&mut c, 1, "tools/list", "tools", "name", None).await;
    assert_eq!(first, names(&["t00", "t01", "t02"]));
    // t02, the cursor's item, goes for good; t00, t05 and t09 go and come back in another
    // order; t02a (after the cursor) and a (before it) are new.
    server.change_tools(&names(&["t00", "t02", "t05", "t09"]), [tool("t09"), tool("t05"), tool("t00")]);
    server.add_tool(tool("t02a")).unwrap();
    server.add_tool(tool("a")).unwrap();
    let (second, cursor) = page(&mut c, 2, "tools/list", "tools", "name", cursor.as_deref()).await;
    assert_eq!(second, names(&["t02a", "t03", "t04"]));
    // t06 goes; t04 (listed already) is replaced; t10 and t11 go and come back.
    assert!(server.remove_tool("t06"));
    server.add_tool(tool("t04")).unwrap();
    server.change_tools(&names(&["t10", "t11"]), [tool("t11"), tool("t10")]);
    let (third, cursor) = page(&mut c, 3, "tools/list", "tools", "name", cursor.as_deref()).await;
    assert_eq!(third, names(&["t05", "t07", "t08"]));
    let (fourth, cursor) = page(&mut c, 4, "tools/list", "tools", "name", cursor.as_deref()).await;
    assert_eq!(fourth, names(&["t09", "t10", "t11"]));
    assert_eq!(cursor, None, "the last page");
    // The cursor of a page whose items all went still goes on after them.
    let (_, after_t08) = page(&mut c, 5, "tools/list", "tools", "name", None).await;
    let (_, after_t08) = page(&mut c, 6, "tools/list", "tools", "name", after_t08.as_deref()).await;
    let (_, after_t08) = page(&mut c, 7, "tools/list", "tools", "name", after_t08.as_deref()).await;
    server.change_tools(&names(&["t05", "t07", "t08"]), Vec::new());
    let (rest, _) = page(&mut c, 8, "tools/list", "tools", "name", after_t08.as_deref()).await;
    assert_eq!(rest, names(&["t09", "t10", "t11"]));
    for bad in ["not-ours", "bzE", ""] {
        let refused = c.modern(9, "tools/list", json!({"cursor": bad}), json!({})).await;
        assert_eq!(refused["error"]["code"], -32602, "{bad:?}: {refused}");
        assert!(refused["error"]["message"].as_str().unwrap().starts_with("Invalid params: unknown cursor"));
    }
    c.finish().await;
}

#[tokio::test]
async fn tasks_are_listed_oldest_first_across_pages() {
    let server = paged().tool(ToolDef::new("background", hello).task_support(TaskSupport::Optional)).build().unwrap();
    let mut c = Client::start(server);
    c.initialize("2025-11-25", json!({})).await;
    let mut created = Vec::new();
    for id in 1..=7 {
        let task = c.call(id, "tools/call", json!({"name": "background", "task": {"ttl": 60000}})).await;
        created.push(task["result"]["task"].clone());
    }
    created.sort_by_key(|t| (t["createdAt"].as_str().unwrap().to_owned(), t["taskId"].as_str().unwrap().to_owned()));
    let expected: Vec<Value> = created.iter().map(|t| t["taskId"].clone()).collect();
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    for id in 10.. {
        let params = cursor.as_ref().map_or_else(|| json!({}), |c| json!({"cursor": c}));
        let reply = c.call(id, "tasks/list", params).await;
        let tasks = reply["result"]["tasks"].as_array().unwrap_or_else(|| panic!("{reply}"));
        assert!(tasks.len() <= 3, "{reply}");
        listed.extend(tasks.iter().map(|t| t["taskId"].clone()));
        match reply["result"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(listed, expected);
    let refused = c.call(30, "tasks/list", json!({"cursor": "not-ours"})).await;
    assert_eq!(refused["error"]["code"], -32602);
    c.finish().await;
}

/// A read is served by the narrowest template that matches, whatever order the
/// templates came in: a catch-all (`{+path}`) never hides a narrower one.
#[tokio::test]
async fn a_read_goes_to_the_narrowest_matching_template() {
    let template =
        |t: &str| -> ResourceTemplate { serde_json::from_value(json!({"uriTemplate": t, "name": "t"})).unwrap() };
    let answering = |t: &'static str, who: &'static str| {
        TemplateDef::new(template(t), move |req: tenet_server::ReadRequest| async move {
            let contents = json!([{"uri": req.uri, "text": who}]);
            Ok(Some(serde_json::from_value(contents).unwrap()))
        })
    };
    for catch_all_first in [true, false] {
        let (catch_all, narrow) = (answering("docs://{+path}", "catch-all"), answering("docs://{id}/meta", "meta"));
        let b = Server::builder("t", "1");
        let b = if catch_all_first {
            b.template(catch_all).template(narrow)
        } else {
            b.template(narrow).template(catch_all)
        };
        let mut c = Client::start(b.build().unwrap());
        for (uri, who) in [("docs://7/meta", "meta"), ("docs://7/other", "catch-all"), ("docs://a/b/meta", "catch-all")]
        {
            let reply = c.modern(1, "resources/read", json!({"uri": uri}), json!({})).await;
            assert_eq!(
                reply["result"]["contents"][0]["text"], who,
                "{uri} (catch-all first: {catch_all_first}): {reply}"
            );
        }
    }
}
