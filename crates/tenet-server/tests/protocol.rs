//! Protocol behaviour of the runtime, over an in-memory pipe: lifecycle, both eras,
//! MRTR, server → client requests, notifications, failure containment.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::{Client, meta};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tenet_protocol::{ElicitAction, ElicitParams, ResourceContents, ResourceTemplate, TextResourceContents};
use tenet_server::{Args, Context, Server, TaskSupport, TemplateDef, ToolDef, ToolError};

#[derive(Deserialize, JsonSchema)]
struct Name {
    name: String,
}

async fn greet(Args(n): Args<Name>) -> String {
    format!("hello {}", n.name)
}

async fn boom() -> String {
    panic!("kaboom")
}

async fn slow(ctx: Context) -> String {
    tokio::time::sleep(Duration::from_secs(10)).await;
    format!("late {}", ctx.request_id())
}

async fn ask_name(ctx: Context) -> Result<String, ToolError> {
    let form = ElicitParams::form("Your name?", json!({"type": "object", "properties": {"name": {"type": "string"}}}));
    let answer = ctx.elicit("user_name", form).await?;
    if answer.action != ElicitAction::Accept {
        return Ok("no name given".into());
    }
    let name = answer.content.and_then(|c| c.get("name").cloned()).unwrap_or_default();
    Ok(format!("hello {}", name.as_str().unwrap_or("?")))
}

async fn two_rounds(ctx: Context) -> Result<String, ToolError> {
    let form = |m: &str| ElicitParams::form(m, json!({"type": "object", "properties": {"v": {"type": "string"}}}));
    let first = ctx.elicit("first", form("first?")).await?;
    let second = ctx.elicit("second", form("second?")).await?;
    Ok(format!("{:?}/{:?}", first.action, second.action))
}

async fn ping_client(ctx: Context) -> Result<String, ToolError> {
    ctx.ping().await?;
    Ok("pong".into())
}

async fn log_twice(ctx: Context) -> String {
    ctx.log(tenet_protocol::LoggingLevel::Info, "info line").await;
    ctx.log(tenet_protocol::LoggingLevel::Error, "error line").await;
    "logged".into()
}

/// A result with a `_meta` of its own, and a content block with another.
async fn tagged() -> tenet_protocol::CallToolResult {
    let block = tenet_protocol::ContentBlock::Text {
        text: "tagged".into(),
        annotations: None,
        meta: Some(json!({"where": "block"}).as_object().unwrap().clone()),
    };
    let mut result = tenet_protocol::CallToolResult::success(vec![block]);
    result.meta = Some(json!({"where": "result"}).as_object().unwrap().clone());
    result
}

fn server() -> Server {
    let template = ResourceTemplate {
        uri_template: "test://items/{id}".into(),
        name: "item".into(),
        title: None,
        description: Some("An item".into()),
        mime_type: Some("text/plain".into()),
        annotations: None,
        icons: None,
        meta: None,
    };
    Server::builder("test", "1")
        .tool(ToolDef::new("greet", greet).description("Greets"))
        .tool(ToolDef::new("tagged", tagged).description("Carries its own _meta"))
        .tool(ToolDef::new("boom", boom).description("Panics"))
        .tool(ToolDef::new("slow", slow).description("Takes too long").timeout(Duration::from_millis(100)))
        .tool(ToolDef::new("ask_name", ask_name).description("Asks the user"))
        .tool(ToolDef::new("two_rounds", two_rounds).description("Asks twice"))
        .tool(ToolDef::new("log_twice", log_twice).description("Logs"))
        .tool(ToolDef::new("ping_client", ping_client).description("Pings the client"))
        .tool(ToolDef::new("background", greet).description("Runs as a task").task_support(TaskSupport::Optional))
        .template(TemplateDef::new(template, |req: tenet_server::ReadRequest| async move {
            let id = req.vars.get("id").cloned().unwrap_or_default();
            if id == "missing" {
                return Ok(None);
            }
            Ok(Some(vec![ResourceContents::Text(TextResourceContents {
                uri: req.uri,
                mime_type: Some("text/plain".into()),
                text: format!("item {id}"),
                meta: None,
            })]))
        }))
        .build()
        .unwrap()
}

fn text(response: &Value) -> &str {
    response["result"]["content"][0]["text"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn legacy_lifecycle_gates_everything_but_ping() {
    let mut c = Client::start(server());
    let before = c.call(1, "tools/list", json!({})).await;
    assert_eq!(before["error"]["code"], -32600, "{before}");
    assert_eq!(c.call(2, "ping", json!({})).await["result"], json!({}));
    assert_eq!(c.call(2, "server/discover", json!({})).await["error"]["code"], -32602);
    let init = c.initialize("2025-06-18", json!({})).await;
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    assert!(init["result"].get("resultType").is_none());
    let again = c.initialize("2025-06-18", json!({})).await;
    assert_eq!(again["error"]["code"], -32600);
    let tools = c.call(3, "tools/list", json!({})).await;
    assert_eq!(tools["result"]["tools"].as_array().unwrap().len(), 9);
    assert!(tools["result"].get("ttlMs").is_none(), "legacy results carry no 2026 members");
    // In an initialized legacy session a method that only exists in the stateless era
    // is unknown (before initialize, a probe without modern _meta gets -32602).
    assert_eq!(c.call(4, "server/discover", json!({})).await["error"]["code"], -32601);
    assert_eq!(c.call(5, "tasks/update", json!({"taskId": "t", "inputResponses": {}})).await["error"]["code"], -32601);
    c.finish().await;
}

#[tokio::test]
async fn unknown_legacy_versions_negotiate_down_to_the_latest_legacy_one() {
    let mut c = Client::start(server());
    for (id, asked) in [(1, "1999-01-01"), (2, "2026-07-28")] {
        let mut c2 = Client::start(server());
        let init = c2.initialize(asked, json!({})).await;
        assert_eq!(init["result"]["protocolVersion"], "2025-11-25", "asked {asked}");
        c2.finish().await;
        let _ = id;
    }
    assert_eq!(c.initialize("2024-11-05", json!({})).await["result"]["protocolVersion"], "2024-11-05");
    // A method of a later version than the session's is -32601: tasks came with
    // 2025-11-25. (Elicitation, of 2025-06-18, is one the server sends, not serves.)
    for (id, later, params) in [(1, "tasks/list", json!({})), (2, "tasks/get", json!({"taskId": "t"}))] {
        let r = c.call(id, later, params).await;
        assert_eq!(r["error"]["code"], -32601, "{later} in a 2024-11-05 session: {r}");
    }
    c.finish().await;
    // The same requests in a 2025-11-25 session reach the method: it exists, only not in
    // 2024-11-05.
    let mut current = Client::start(server());
    current.initialize("2025-11-25", json!({})).await;
    let listed = current.call(1, "tasks/list", json!({})).await;
    assert!(listed["result"]["tasks"].is_array(), "tasks/list in a 2025-11-25 session: {listed}");
    let got = current.call(2, "tasks/get", json!({"taskId": "t"})).await;
    assert_eq!(got["error"]["code"], -32602, "an unknown task, not an unknown method: {got}");
    current.finish().await;
}

#[tokio::test]
async fn stateless_requests_need_both_meta_keys_and_a_supported_version() {
    let mut c = Client::start(server());
    let no_caps =
        c.call(1, "tools/list", json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}})).await;
    assert_eq!(no_caps["error"]["code"], -32602);
    let no_version =
        c.call(2, "tools/list", json!({"_meta": {"io.modelcontextprotocol/clientCapabilities": {}}})).await;
    assert_eq!(no_version["error"]["code"], -32602);
    let mut old = json!({"_meta": meta(json!({}))});
    old["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01");
    let unsupported = c.call(3, "tools/list", old).await;
    assert_eq!(unsupported["error"]["code"], -32022);
    assert_eq!(unsupported["error"]["data"]["supported"], json!(["2026-07-28"]));
    assert_eq!(unsupported["error"]["data"]["requested"], "2099-01-01");
    for (id, removed) in [(4, "ping"), (5, "logging/setLevel"), (6, "resources/subscribe"), (7, "initialize")] {
        let r = c.modern(id, removed, json!({}), json!({})).await;
        assert_eq!(r["error"]["code"], -32601, "{removed}: {r}");
        assert_eq!(r["id"], id);
    }
    let discover = c.modern(8, "server/discover", json!({}), json!({})).await;
    assert_eq!(discover["result"]["resultType"], "complete");
    assert_eq!(discover["result"]["cacheScope"], "private");
    assert_eq!(discover["result"]["ttlMs"], 0);
    assert_eq!(discover["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "test");
    let call = c.modern(9, "tools/call", json!({"name": "greet", "arguments": {"name": "Ada"}}), json!({})).await;
    assert_eq!(text(&call), "hello Ada");
    assert_eq!(call["result"]["resultType"], "complete");
    assert_eq!(call["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "test");
    // A result with its own `_meta` names the server inside it; a nested one is not it.
    let tagged = c.modern(10, "tools/call", json!({"name": "tagged"}), json!({})).await;
    let own = &tagged["result"]["_meta"];
    assert_eq!(own["where"], "result", "{tagged}");
    assert_eq!(own["io.modelcontextprotocol/serverInfo"]["name"], "test", "{tagged}");
    assert_eq!(tagged["result"]["content"][0]["_meta"], json!({"where": "block"}), "{tagged}");
    c.finish().await;
}

#[tokio::test]
async fn panics_and_timeouts_become_error_results_and_the_server_keeps_serving() {
    let mut c = Client::start(server());
    let panicked = c.modern(1, "tools/call", json!({"name": "boom"}), json!({})).await;
    assert_eq!(panicked["result"]["isError"], true);
    assert!(text(&panicked).contains("kaboom"), "{panicked}");
    let slow = c.modern(2, "tools/call", json!({"name": "slow"}), json!({})).await;
    assert_eq!(slow["result"]["isError"], true);
    assert!(text(&slow).contains("timed out"), "{slow}");
    let fine = c.modern(3, "tools/call", json!({"name": "greet", "arguments": {"name": "Bo"}}), json!({})).await;
    assert_eq!(text(&fine), "hello Bo");
    c.finish().await;
}

#[tokio::test]
async fn argument_errors_name_the_field() {
    let mut c = Client::start(server());
    let missing = c.modern(1, "tools/call", json!({"name": "greet", "arguments": {}}), json!({})).await;
    assert_eq!(missing["result"]["isError"], true);
    assert!(text(&missing).contains("\"name\""), "{missing}");
    let wrong = c.modern(2, "tools/call", json!({"name": "greet", "arguments": {"name": 3}}), json!({})).await;
    assert!(text(&wrong).contains("/name"), "{wrong}");
    let unknown = c.modern(3, "tools/call", json!({"name": "nope"}), json!({})).await;
    assert_eq!(unknown["error"]["code"], -32602);
    c.finish().await;
}

/// A plain call's params are read from what routing found (name and arguments); odd ones
/// are read whole. Either way a call answers as the params say.
#[tokio::test]
async fn a_call_reads_its_name_and_arguments_however_they_are_written() {
    let mut c = Client::start(server());
    let fine = c.modern(1, "tools/call", json!({"arguments": {"name": "Bo"}, "name": "greet"}), json!({})).await;
    assert_eq!(text(&fine), "hello Bo", "{fine}");
    // Null arguments are none, as absent ones: greet then misses its field.
    for (id, params) in [(3, json!({"name": "greet", "arguments": null})), (4, json!({"name": "greet"}))] {
        let none = c.modern(id, "tools/call", params, json!({})).await;
        assert_eq!(none["result"]["isError"], true, "{none}");
        assert!(text(&none).contains("\"name\""), "{none}");
    }
    let list = c.modern(5, "tools/call", json!({"name": "greet", "arguments": [1]}), json!({})).await;
    assert!(text(&list).contains("arguments must be an object"), "{list}");
    let number = c.modern(6, "tools/call", json!({"name": 5}), json!({})).await;
    assert_eq!(number["error"]["code"], -32602, "{number}");
    assert!(number["error"]["message"].as_str().unwrap().contains("invalid type: integer `5`"), "{number}");
    let nameless = c.modern(7, "tools/call", json!({"arguments": {}}), json!({})).await;
    assert!(nameless["error"]["message"].as_str().unwrap().contains("missing field `name`"), "{nameless}");
    c.finish().await;
}

#[tokio::test]
async fn mrtr_asks_then_completes_with_the_answer() {
    let mut c = Client::start(server());
    let caps = json!({"elicitation": {}});
    let first = c.modern(1, "tools/call", json!({"name": "ask_name"}), caps.clone()).await;
    let result = &first["result"];
    assert_eq!(result["resultType"], "input_required", "{first}");
    assert_eq!(result["inputRequests"]["user_name"]["method"], "elicitation/create");
    let state = result["requestState"].as_str().unwrap().to_owned();
    assert!(!state.is_empty());

    let answer = json!({"user_name": {"action": "accept", "content": {"name": "Alice"}}});
    let done = c
        .modern(
            2,
            "tools/call",
            json!({"name": "ask_name", "inputResponses": answer, "requestState": state}),
            caps.clone(),
        )
        .await;
    assert_eq!(done["result"]["resultType"], "complete", "{done}");
    assert_eq!(text(&done), "hello Alice");

    let tampered = c
        .modern(
            3,
            "tools/call",
            json!({"name": "ask_name", "inputResponses": answer, "requestState": format!("{state}-TAMPERED")}),
            caps.clone(),
        )
        .await;
    assert_eq!(tampered["error"]["code"], -32602, "{tampered}");

    // Answers with no state are accepted (the state only carries earlier rounds).
    let direct = c.modern(4, "tools/call", json!({"name": "ask_name", "inputResponses": answer}), caps.clone()).await;
    assert_eq!(text(&direct), "hello Alice");

    // A wrong key: ask again instead of failing.
    let wrong = json!({"wrong_key": {"action": "accept"}});
    let again = c.modern(5, "tools/call", json!({"name": "ask_name", "inputResponses": wrong}), caps.clone()).await;
    assert_eq!(again["result"]["resultType"], "input_required");

    // A malformed answer is a protocol error, not a success.
    let bad = json!({"user_name": 12345});
    let invalid = c.modern(6, "tools/call", json!({"name": "ask_name", "inputResponses": bad}), caps).await;
    assert_eq!(invalid["error"]["code"], -32602, "{invalid}");

    // Without the elicitation capability the server must not ask: -32021.
    let no_cap = c.modern(7, "tools/call", json!({"name": "ask_name"}), json!({})).await;
    assert_eq!(no_cap["error"]["code"], -32021);
    assert_eq!(no_cap["error"]["data"]["requiredCapabilities"]["elicitation"], json!({"form": {}}));
    c.finish().await;
}

#[tokio::test]
async fn mrtr_state_carries_answers_across_rounds() {
    let mut c = Client::start(server());
    let caps = json!({"elicitation": {}});
    let r1 = c.modern(1, "tools/call", json!({"name": "two_rounds"}), caps.clone()).await;
    let s1 = r1["result"]["requestState"].as_str().unwrap().to_owned();
    assert!(r1["result"]["inputRequests"].get("first").is_some());
    let a1 = json!({"first": {"action": "accept", "content": {"v": "1"}}});
    let r2 = c
        .modern(2, "tools/call", json!({"name": "two_rounds", "inputResponses": a1, "requestState": s1}), caps.clone())
        .await;
    let s2 = r2["result"]["requestState"].as_str().unwrap().to_owned();
    assert_eq!(r2["result"]["resultType"], "input_required");
    assert!(r2["result"]["inputRequests"].get("second").is_some());
    assert_ne!(s1, s2);
    let a2 = json!({"second": {"action": "decline"}});
    let r3 =
        c.modern(3, "tools/call", json!({"name": "two_rounds", "inputResponses": a2, "requestState": s2}), caps).await;
    assert_eq!(text(&r3), "Accept/Decline", "{r3}");
    c.finish().await;
}

/// Issue 59: a `requestState` is continued only by the caller that began the rounds.
#[tokio::test]
async fn a_request_state_is_continued_only_by_the_caller_that_began_it() {
    use std::sync::Arc;
    use tenet_server::{Grant, Principal};
    let grant = |name: &str| Some(Arc::new(Grant::default().with_principal(Principal::ApiKey(name.into()))));
    let server = server();
    let caps = json!({"elicitation": {}});
    let mut alice = Client::start_as(server.clone(), grant("alice"));
    let r1 = alice.modern(1, "tools/call", json!({"name": "two_rounds"}), caps.clone()).await;
    let s1 = r1["result"]["requestState"].as_str().unwrap().to_owned();
    let a1 = json!({"first": {"action": "accept", "content": {"v": "1"}}});
    let round = json!({"name": "two_rounds", "inputResponses": a1, "requestState": s1});
    let mut mallory = Client::start_as(server, grant("mallory"));
    let replayed = mallory.modern(1, "tools/call", round.clone(), caps.clone()).await;
    assert_eq!(replayed["error"]["code"], -32602, "{replayed}");
    assert!(replayed["error"]["message"].as_str().unwrap().contains("another caller"), "{replayed}");
    let own = alice.modern(2, "tools/call", round, caps).await;
    assert_eq!(own["result"]["resultType"], "input_required", "{own}");
    alice.finish().await;
    mallory.finish().await;
}

#[tokio::test]
async fn legacy_elicitation_is_a_real_request_to_the_client() {
    let mut c = Client::start(server());
    c.initialize("2025-11-25", json!({"elicitation": {}})).await;
    c.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ask_name"}})).await;
    let request = c.next().await;
    assert_eq!(request["method"], "elicitation/create", "{request}");
    let answer = json!({"action": "accept", "content": {"name": "Grace"}});
    c.send(&json!({"jsonrpc": "2.0", "id": request["id"], "result": answer})).await;
    let done = c.response(&json!(1)).await;
    assert_eq!(text(&done), "hello Grace");
    c.finish().await;
}

#[tokio::test]
async fn legacy_servers_can_ping_the_client_and_stateless_ones_cannot() {
    let mut c = Client::start(server());
    c.initialize("2025-11-25", json!({})).await;
    c.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ping_client"}})).await;
    let ping = c.next().await;
    assert_eq!(ping["method"], "ping", "{ping}");
    c.send(&json!({"jsonrpc": "2.0", "id": ping["id"], "result": {}})).await;
    assert_eq!(text(&c.response(&json!(1)).await), "pong");
    let modern = c.modern(2, "tools/call", json!({"name": "ping_client"}), json!({})).await;
    assert_eq!(modern["result"]["isError"], true);
    c.finish().await;
}

#[tokio::test]
async fn modern_logs_only_at_the_requested_level() {
    let mut c = Client::start(server());
    c.modern(1, "tools/call", json!({"name": "log_twice"}), json!({})).await;
    assert!(c.notifications.is_empty(), "no logLevel, no log messages: {:?}", c.notifications);
    let mut params = json!({"name": "log_twice", "_meta": meta(json!({}))});
    params["_meta"]["io.modelcontextprotocol/logLevel"] = json!("warning");
    c.call(2, "tools/call", params).await;
    let levels: Vec<_> = c.notifications.iter().map(|n| n["params"]["level"].clone()).collect();
    assert_eq!(levels, [json!("error")]);
    c.finish().await;
}

#[tokio::test]
async fn resources_not_found_differ_by_era() {
    let mut c = Client::start(server());
    let found = c.modern(1, "resources/read", json!({"uri": "test://items/7"}), json!({})).await;
    assert_eq!(found["result"]["contents"][0]["text"], "item 7");
    assert_eq!(found["result"]["cacheScope"], "private");
    let modern = c.modern(2, "resources/read", json!({"uri": "test://items/missing"}), json!({})).await;
    assert_eq!(modern["error"]["code"], -32602);
    assert_eq!(modern["error"]["data"]["uri"], "test://items/missing");
    c.initialize("2025-11-25", json!({})).await;
    let legacy = c.call(3, "resources/read", json!({"uri": "nope://x"})).await;
    assert_eq!(legacy["error"]["code"], -32002);
    c.finish().await;
}

#[tokio::test]
async fn listen_acknowledges_first_and_tags_every_notification() {
    let server = server();
    let mut c = Client::start(server.clone());
    let mut params = json!({"notifications": {"toolsListChanged": true}, "_meta": meta(json!({}))});
    params["_meta"]["x"] = json!(1);
    c.send(&json!({"jsonrpc": "2.0", "id": "L", "method": "subscriptions/listen", "params": params})).await;
    let ack = c.next().await;
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged", "{ack}");
    assert_eq!(ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "L");
    assert_eq!(ack["params"]["notifications"]["toolsListChanged"], true);
    // A prompt change was not asked for; a tool change was.
    server.add_prompt(tenet_server::PromptDef::new("p", |_r: tenet_server::PromptRequest| async {
        Ok(tenet_protocol::GetPromptResult::default())
    }));
    server.add_tool(ToolDef::new("extra", greet).description("Added later")).unwrap();
    let changed = c.next().await;
    assert_eq!(changed["method"], "notifications/tools/list_changed", "{changed}");
    assert_eq!(changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "L");
    // Shutting down ends the listen with a final result.
    c.shutdown.cancel();
    let end = c.response(&json!("L")).await;
    assert_eq!(end["result"]["resultType"], "complete");
    assert_eq!(end["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "L");
}

#[tokio::test]
async fn legacy_sessions_hear_list_changes() {
    let server = server();
    let mut c = Client::start(server.clone());
    c.initialize("2025-11-25", json!({})).await;
    server.add_tool(ToolDef::new("extra", greet).description("Added later")).unwrap();
    let changed = c.next().await;
    assert_eq!(changed["method"], "notifications/tools/list_changed");
    assert!(server.remove_tool("extra"));
    assert_eq!(c.next().await["method"], "notifications/tools/list_changed");
    c.finish().await;
}

#[tokio::test]
async fn pagination_walks_every_tool_and_rejects_foreign_cursors() {
    let mut b = Server::builder("paged", "1");
    for i in 0..250 {
        b = b.tool(ToolDef::new(format!("t{i}"), greet).description("x"));
    }
    let mut c = Client::start(b.build().unwrap());
    let mut cursor: Option<String> = None;
    let mut names = Vec::new();
    for id in 1..10 {
        let params = cursor.as_ref().map_or_else(|| json!({}), |c| json!({"cursor": c}));
        let page = c.modern(id, "tools/list", params, json!({})).await;
        names.extend(page["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].clone()));
        match page["result"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(names.len(), 250);
    let bad = c.modern(20, "tools/list", json!({"cursor": "not-ours"}), json!({})).await;
    assert_eq!(bad["error"]["code"], -32602);
    c.finish().await;
}

#[tokio::test]
async fn tasks_run_in_the_background_and_deliver_their_result() {
    let mut c = Client::start(server());
    let init = c.initialize("2025-11-25", json!({})).await;
    assert_eq!(init["result"]["capabilities"]["tasks"]["requests"]["tools"]["call"], json!({}));
    let created = c
        .call(1, "tools/call", json!({"name": "background", "arguments": {"name": "Tess"}, "task": {"ttl": 60000}}))
        .await;
    let task = &created["result"]["task"];
    let id = task["taskId"].as_str().expect("a task id").to_owned();
    assert!(task["createdAt"].as_str().unwrap().ends_with('Z'));
    let result = c.call(2, "tasks/result", json!({"taskId": id})).await;
    assert_eq!(text(&result), "hello Tess");
    assert_eq!(result["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"], id.as_str());
    let got = c.call(3, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(got["result"]["status"], "completed");
    let listed = c.call(4, "tasks/list", json!({})).await;
    assert_eq!(listed["result"]["tasks"][0]["taskId"], id.as_str());
    assert_eq!(c.call(5, "tasks/cancel", json!({"taskId": id})).await["error"]["code"], -32602);
    assert_eq!(c.call(6, "tasks/get", json!({"taskId": "nope"})).await["error"]["code"], -32602);
    let forbidden = c.call(7, "tools/call", json!({"name": "greet", "arguments": {"name": "x"}, "task": {}})).await;
    assert_eq!(forbidden["error"]["code"], -32601);
    c.finish().await;
}

#[tokio::test]
async fn a_panic_before_the_first_await_is_contained_too() {
    let eager = ToolDef::new("eager", |Args(n): Args<Name>| {
        assert!(n.name != "boom", "synchronous panic");
        async move { format!("ok {}", n.name) }
    })
    .description("Panics before returning its future");
    let server = Server::builder("t", "1").tool(eager).build().unwrap();
    let mut c = Client::start(server);
    let failed = c.modern(1, "tools/call", json!({"name": "eager", "arguments": {"name": "boom"}}), json!({})).await;
    assert_eq!(failed["result"]["isError"], true, "{failed}");
    let fine = c.modern(2, "tools/call", json!({"name": "eager", "arguments": {"name": "x"}}), json!({})).await;
    assert_eq!(text(&fine), "ok x");
    c.finish().await;
}

#[tokio::test]
async fn subscriptions_are_bounded_per_session_and_per_stream() {
    use tenet_server::MAX_SUBSCRIPTIONS;
    let mut c = Client::start(server());
    c.initialize("2025-06-18", json!({})).await;
    let subscribe = |uri: &str| json!({"uri": uri});
    for i in 0..MAX_SUBSCRIPTIONS {
        let r = c.call(10 + i as i64, "resources/subscribe", subscribe(&format!("test://items/{i}"))).await;
        assert_eq!(r["result"], json!({}), "{r}");
    }
    // The same URI again holds nothing new.
    assert_eq!(c.call(5000, "resources/subscribe", subscribe("test://items/0")).await["result"], json!({}));
    let refused = c.call(5001, "resources/subscribe", subscribe("test://items/new")).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("Too many subscriptions"), "{refused}");
    // An unsubscribe makes room, and the session goes on serving.
    assert_eq!(c.call(5002, "resources/unsubscribe", subscribe("test://items/1")).await["result"], json!({}));
    assert_eq!(c.call(5003, "resources/subscribe", subscribe("test://items/new")).await["result"], json!({}));
    assert_eq!(c.call(5004, "ping", json!({})).await["result"], json!({}));
    c.finish().await;

    let mut c = Client::start(server());
    let uris: Vec<String> = (0..=MAX_SUBSCRIPTIONS).map(|i| format!("test://items/{i}")).collect();
    let listen = json!({"notifications": {"resourceSubscriptions": uris}});
    let refused = c.modern(1, "subscriptions/listen", listen, json!({})).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("resourceSubscriptions"), "{refused}");
    c.finish().await;
}
