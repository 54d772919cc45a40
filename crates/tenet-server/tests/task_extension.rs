//! The tasks extension (`io.modelcontextprotocol/tasks`) over an in-memory pipe: what
//! a client with and without the extension gets, every wire shape checked against the
//! 2026-07-28 schema where it defines the type (`Result`, `CallToolResult`,
//! `InputRequests`, `InputRequiredResult`, the -32021 error, `DiscoverResult`).

#![allow(clippy::unwrap_used)]

use crate::common;
use crate::support;

use std::sync::Arc;
use std::time::Duration;

use crate::common::{Client, MODERN};
use serde::Deserialize;
use serde_json::{Value, json};
use tenet_protocol::InputRequest;
use tenet_server::jsonrpc::ErrorObject;
use tenet_server::protocol::ElicitParams;
use tenet_server::{Args, Context, Grant, Server, TaskSupport, ToolDef, ToolError};

const TASKS: &str = "io.modelcontextprotocol/tasks";

fn with_tasks() -> Value {
    json!({"elicitation": {}, "extensions": {TASKS: {}}})
}

/// `value` must validate against the 2026-07-28 definition `name`.
fn valid(name: &str, value: &Value) {
    let document = support::read_json(&support::spec_root().join(MODERN).join("schema.json"));
    let validator = support::compile_definition(&document, name);
    let problems: Vec<String> = validator.iter_errors(value).map(|e| support::describe(&e)).collect();
    assert!(problems.is_empty(), "{value} is not a valid {name}:\n{}", problems.join("\n"));
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Wait {
    /// Milliseconds to work.
    ms: u64,
}

async fn wait(Args(Wait { ms }): Args<Wait>) -> String {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    format!("waited {ms} ms")
}

async fn broken() -> Result<String, ToolError> {
    Err(ToolError::Protocol(ErrorObject::internal("the backend is down")))
}

fn question(field: &str) -> InputRequest {
    let schema = json!({"type": "object", "properties": {field: {"type": "string"}}, "required": [field]});
    let form = ElicitParams::form(format!("Your {field}?"), schema);
    InputRequest { method: "elicitation/create".into(), params: Some(serde_json::to_value(form).unwrap()) }
}

async fn ask_two(ctx: Context) -> Result<String, ToolError> {
    let answers = ctx.ask_all(vec![("first".into(), question("first")), ("last".into(), question("last"))]).await?;
    let field = |i: usize, name: &str| answers[i].pointer(&format!("/content/{name}")).cloned().unwrap_or_default();
    Ok(format!("{} {}", field(0, "first").as_str().unwrap_or("?"), field(1, "last").as_str().unwrap_or("?")))
}

/// Gathers a name by MRTR, then goes on as a task.
async fn greet_later(ctx: Context) -> Result<String, ToolError> {
    let params = question("name").params.unwrap();
    let answer = ctx.elicit("name", serde_json::from_value(params)?).await?;
    let name = answer.content.and_then(|c| c.get("name").cloned()).unwrap_or_default();
    assert!(ctx.task_id().is_none());
    ctx.start_task().await?;
    assert!(ctx.task_id().is_some());
    Ok(format!("Hello, {}!", name.as_str().unwrap_or("?")))
}

fn server() -> Server {
    Server::builder("tasks-test", "1.0.0")
        .tool(ToolDef::new("plain", wait).description("Never a task"))
        .tool(ToolDef::new("wait", wait).description("Waits").task_support(TaskSupport::Optional))
        .tool(ToolDef::new("only_task", wait).description("Only as a task").task_support(TaskSupport::Required))
        .tool(
            ToolDef::new("broken", broken)
                .description("Fails at the protocol level")
                .task_support(TaskSupport::Optional),
        )
        .tool(ToolDef::new("ask_two", ask_two).description("Asks two things").task_support(TaskSupport::Optional))
        .tool(
            ToolDef::new("greet_later", greet_later)
                .description("MRTR, then a task")
                .task_support(TaskSupport::Required)
                .task_started_by_handler(),
        )
        .tool(ToolDef::new("secret", wait).description("Scoped").task_support(TaskSupport::Optional).scope("s:read"))
        .build()
        .unwrap()
}

fn call(name: &str, arguments: Value) -> Value {
    json!({"name": name, "arguments": arguments})
}

/// Creates a task with a `tools/call` and returns its id.
async fn create(c: &mut Client, id: i64, name: &str, arguments: Value) -> String {
    let created = c.modern(id, "tools/call", call(name, arguments), with_tasks()).await;
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    created["result"]["taskId"].as_str().unwrap().to_owned()
}

/// Polls `tasks/get` until the task's status is `status` (or it ends).
async fn until(c: &mut Client, id: &str, status: &str) -> Value {
    for n in 0..250 {
        let got = c.modern(1000 + n, "tasks/get", json!({"taskId": id}), with_tasks()).await;
        let now = got["result"]["status"].as_str().unwrap_or_default();
        if now == status || ["completed", "failed", "cancelled"].contains(&now) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("task {id} never reached {status}");
}

#[tokio::test]
async fn each_era_sees_its_own_task_capability() {
    let mut c = Client::start(server());
    let discovered = c.modern(1, "server/discover", json!({}), json!({})).await;
    valid("DiscoverResult", &discovered["result"]);
    let caps = &discovered["result"]["capabilities"];
    assert_eq!(caps["extensions"][TASKS], json!({}));
    assert!(caps.get("tasks").is_none(), "the 2025-11-25 slot is not advertised in 2026");
    c.finish().await;

    let mut legacy = Client::start(server());
    let init = legacy.initialize("2025-11-25", json!({})).await;
    assert!(init["result"]["capabilities"]["tasks"].is_object());
    assert!(init["result"]["capabilities"].get("extensions").is_none());
    legacy.finish().await;
}

#[tokio::test]
async fn a_server_without_task_tools_offers_no_tasks() {
    let server = Server::builder("no-tasks", "1.0.0").tool(ToolDef::new("plain", wait)).build().unwrap();
    let mut c = Client::start(server);
    let discovered = c.modern(1, "server/discover", json!({}), json!({})).await;
    assert!(discovered["result"]["capabilities"].get("extensions").is_none(), "{discovered}");
    let get = c.modern(2, "tasks/get", json!({"taskId": "t"}), with_tasks()).await;
    assert_eq!(get["error"]["code"], -32601, "{get}");
    c.finish().await;
}

#[tokio::test]
async fn without_the_extension_calls_are_plain_or_refused() {
    let mut c = Client::start(server());
    let plain = c.modern(1, "tools/call", call("wait", json!({"ms": 0})), json!({})).await;
    valid("CallToolResult", &plain["result"]);
    assert_eq!(plain["result"]["content"][0]["text"], "waited 0 ms");

    let refused = c.modern(2, "tools/call", call("only_task", json!({"ms": 0})), json!({})).await;
    valid("MissingRequiredClientCapabilityError", &refused);
    assert_eq!(refused["error"]["data"]["requiredCapabilities"]["extensions"][TASKS], json!({}));
    for (id, method) in [(3, "tasks/get"), (4, "tasks/cancel"), (5, "tasks/update")] {
        let params = json!({"taskId": "t", "inputResponses": {}});
        assert_eq!(c.modern(id, method, params, json!({})).await["error"]["code"], -32021, "{method}");
    }
    // Gone from the extension, with it or without.
    for (id, method) in [(6, "tasks/result"), (7, "tasks/list")] {
        for caps in [json!({}), with_tasks()] {
            assert_eq!(c.modern(id, method, json!({"taskId": "t"}), caps).await["error"]["code"], -32601);
        }
    }
    // The 2025-11-25 `task` param neither errs nor makes a plain tool a task.
    let hinted = json!({"name": "plain", "arguments": {"ms": 0}, "task": {"ttl": 60000}});
    let hinted = c.modern(8, "tools/call", hinted, with_tasks()).await;
    assert_eq!(hinted["result"]["resultType"], "complete", "{hinted}");
    c.finish().await;
}

#[tokio::test]
async fn a_task_runs_to_its_inlined_result() {
    let mut c = Client::start(server());
    let created = c.modern(1, "tools/call", call("wait", json!({"ms": 100})), with_tasks()).await;
    let task = &created["result"];
    valid("Result", task);
    assert_eq!(task["resultType"], "task");
    assert!(task["ttlMs"].is_u64() && task["pollIntervalMs"].is_u64(), "{task}");
    for absent in ["task", "ttl", "pollInterval", "requestState", "result", "error", "inputRequests", "content"] {
        assert!(task.get(absent).is_none(), "a CreateTaskResult has no {absent}: {task}");
    }
    let id = task["taskId"].as_str().unwrap().to_owned();
    // Durable at once: the very next request finds it.
    let now = c.modern(2, "tasks/get", json!({"taskId": id}), with_tasks()).await;
    assert_eq!(now["result"]["taskId"], id.as_str(), "{now}");

    let done = until(&mut c, &id, "completed").await;
    valid("Result", &done["result"]);
    assert_eq!((&done["result"]["resultType"], &done["result"]["status"]), (&json!("complete"), &json!("completed")));
    valid("CallToolResult", &done["result"]["result"]);
    assert_eq!(done["result"]["result"]["content"][0]["text"], "waited 100 ms");
    assert!(done["result"]["result"].pointer("/_meta/io.modelcontextprotocol~1related-task").is_none());

    let unknown = c.modern(3, "tasks/get", json!({"taskId": "no-such-task"}), with_tasks()).await;
    assert_eq!(unknown["error"]["code"], -32602);
    c.finish().await;
}

#[tokio::test]
async fn protocol_errors_fail_a_task_and_cancelling_settles_one() {
    let mut c = Client::start(server());
    let broken = create(&mut c, 1, "broken", json!({})).await;
    let failed = until(&mut c, &broken, "failed").await;
    assert_eq!(failed["result"]["status"], "failed");
    assert_eq!(failed["result"]["error"], json!({"code": -32603, "message": "the backend is down"}));
    assert!(failed["result"].get("result").is_none());

    let slow = create(&mut c, 2, "wait", json!({"ms": 60_000})).await;
    for id in [3, 4] {
        let ack = c.modern(id, "tasks/cancel", json!({"taskId": slow}), with_tasks()).await;
        valid("Result", &ack["result"]);
        let keys: Vec<&String> = ack["result"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["_meta", "resultType"], "an empty ack, every time: {ack}");
    }
    assert_eq!(until(&mut c, &slow, "cancelled").await["result"]["status"], "cancelled");
    c.finish().await;
}

#[tokio::test]
async fn input_is_asked_through_the_task_and_may_be_answered_in_parts() {
    let mut c = Client::start(server());
    let id = create(&mut c, 1, "ask_two", json!({})).await;
    let mut parked = until(&mut c, &id, "input_required").await;
    while parked["result"]["inputRequests"].as_object().map_or(0, serde_json::Map::len) < 2 {
        parked = until(&mut c, &id, "input_required").await;
    }
    valid("InputRequests", &parked["result"]["inputRequests"]);
    assert!(parked["result"].get("requestState").is_none());

    let answer = |field: &str, value: &str| json!({"action": "accept", "content": {field: value}});
    let partial = json!({"taskId": id, "inputResponses": {"first": answer("first", "Ada"), "stale": {}}});
    let ack = c.modern(2, "tasks/update", partial, with_tasks()).await;
    assert_eq!(ack["result"]["resultType"], "complete", "{ack}");
    let left = c.modern(3, "tasks/get", json!({"taskId": id}), with_tasks()).await;
    assert_eq!(left["result"]["status"], "input_required");
    assert_eq!(left["result"]["inputRequests"].as_object().unwrap().keys().collect::<Vec<_>>(), ["last"]);

    let bad = json!({"taskId": id, "inputResponses": {"last": 42}});
    assert_eq!(c.modern(4, "tasks/update", bad, with_tasks()).await["error"]["code"], -32602);
    let rest = json!({"taskId": id, "inputResponses": {"last": answer("last", "Lovelace")}});
    c.modern(5, "tasks/update", rest, with_tasks()).await;
    let done = until(&mut c, &id, "completed").await;
    assert_eq!(done["result"]["result"]["content"][0]["text"], "Ada Lovelace");
    c.finish().await;
}

#[tokio::test]
async fn mrtr_gathers_input_before_the_task_starts() {
    let mut c = Client::start(server());
    let first = c.modern(1, "tools/call", call("greet_later", json!({})), with_tasks()).await;
    valid("InputRequiredResult", &first["result"]);
    assert!(first["result"].get("taskId").is_none());
    let retry = json!({
        "name": "greet_later", "arguments": {},
        "inputResponses": {"name": {"action": "accept", "content": {"name": "Alice"}}},
        "requestState": first["result"]["requestState"],
    });
    let created = c.modern(2, "tools/call", retry, with_tasks()).await;
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    assert!(created["result"].get("requestState").is_none() && created["result"].get("inputRequests").is_none());
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let done = until(&mut c, &id, "completed").await;
    assert_eq!(done["result"]["result"]["content"][0]["text"], "Hello, Alice!");
    c.finish().await;
}

#[tokio::test]
async fn a_task_answers_only_to_its_creator_while_it_holds_the_scope() {
    let server = server();
    let grant = |subject: &str, scope: &str| {
        Some(Arc::new(Grant::from_scope_string(scope).with_principal(tenet_server::Principal::ApiKey(subject.into()))))
    };
    let mut alice = Client::start_as(server.clone(), grant("alice", "s:read"));
    let mut bob = Client::start_as(server.clone(), grant("bob", "s:read"));
    let mut downscoped = Client::start_as(server, grant("alice", "other"));
    let id = create(&mut alice, 1, "secret", json!({"ms": 60_000})).await;
    assert_eq!(
        alice.modern(2, "tasks/get", json!({"taskId": id}), with_tasks()).await["result"]["taskId"],
        id.as_str()
    );
    for method in ["tasks/get", "tasks/cancel"] {
        let stolen = bob.modern(3, method, json!({"taskId": id}), with_tasks()).await;
        assert_eq!(stolen["error"]["code"], -32602, "bob must not reach alice's task: {stolen}");
    }
    let refused = downscoped.modern(4, "tasks/get", json!({"taskId": id}), with_tasks()).await;
    assert_eq!(refused["error"]["code"], -32003, "{refused}");
    alice.modern(5, "tasks/cancel", json!({"taskId": id}), with_tasks()).await;
    for client in [alice, bob, downscoped] {
        client.finish().await;
    }
}

#[tokio::test]
async fn listen_streams_report_the_tasks_they_watch() {
    let mut c = Client::start(server());
    let id = create(&mut c, 1, "wait", json!({"ms": 60_000})).await;
    let watch = json!({"notifications": {"taskIds": [id, "not-a-task"]}});
    assert_eq!(c.modern(2, "subscriptions/listen", watch.clone(), json!({})).await["error"]["code"], -32021);

    let mut listen = json!({"jsonrpc": "2.0", "id": 3, "method": "subscriptions/listen", "params": watch});
    listen["params"]["_meta"] = common::meta(with_tasks());
    c.send(&listen).await;
    let ack = c.next().await;
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(ack["params"]["notifications"]["taskIds"], json!([id]));
    let current = c.next().await;
    assert_eq!((&current["method"], &current["params"]["status"]), (&json!("notifications/tasks"), &json!("working")));
    assert_eq!(current["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 3);

    c.modern(4, "tasks/cancel", json!({"taskId": id}), with_tasks()).await;
    let mut seen = std::mem::take(&mut c.notifications);
    while !seen.iter().any(|n| n["params"]["status"] == "cancelled") {
        seen.push(c.next().await);
    }
    let cancelled = seen.iter().find(|n| n["params"]["status"] == "cancelled").unwrap();
    assert_eq!((&cancelled["method"], &cancelled["params"]["taskId"]), (&json!("notifications/tasks"), &json!(id)));
    c.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}})).await;
    c.finish().await;
}
