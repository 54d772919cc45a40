//! Tools for the tasks extension scenarios (`io.modelcontextprotocol/tasks`): a plain
//! tool, tools that run as tasks (one slow, one failing, one failing at the protocol
//! level), tools whose tasks wait for input, and one that gathers input by MRTR
//! before it becomes a task.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tenet_server::jsonrpc::ErrorObject;
use tenet_server::protocol::{ElicitAction, ElicitParams, ElicitResult, InputRequest};
use tenet_server::{Args, Context, TaskSupport, ToolDef, ToolError};

use crate::def::tool;

/// The longest `slow_compute` sleeps, in seconds.
const MAX_SECONDS: u64 = 300;

pub(crate) fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new("greet", greet).description("Greets by name, at once (never a task)"),
        ToolDef::new("slow_compute", slow_compute)
            .description("Sleeps `seconds` seconds, then reports; runs as a task for clients with the tasks extension")
            .task_support(TaskSupport::Optional)
            .timeout(Duration::from_secs(MAX_SECONDS + 30)),
        tool("failing_job", "Runs only as a task; fails (a tool error) after about a second", failing_job)
            .task_support(TaskSupport::Required),
        tool("protocol_error_job", "Runs as a task that fails with a JSON-RPC internal error", protocol_error_job)
            .task_support(TaskSupport::Optional),
        ToolDef::new("confirm_delete", confirm_delete)
            .description("Asks the user to confirm deleting a file (as a task waiting for input)")
            .task_support(TaskSupport::Optional),
        tool("multi_input", "Asks two questions at once (as a task waiting for input)", multi_input)
            .task_support(TaskSupport::Optional),
        tool("test_tool_with_task", "Asks for a name by MRTR, then greets as a task", tool_with_task)
            .task_support(TaskSupport::Required)
            .task_started_by_handler(),
    ]
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Name {
    /// Who to greet.
    name: String,
}

async fn greet(Args(Name { name }): Args<Name>) -> String {
    format!("Hello, {name}!")
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Compute {
    /// How long to work, in seconds (0 for at once).
    #[schemars(range(min = 0, max = 300))]
    seconds: u64,
    /// A label to report back.
    #[serde(default)]
    label: Option<String>,
}

async fn slow_compute(Args(c): Args<Compute>) -> String {
    tokio::time::sleep(Duration::from_secs(c.seconds.min(MAX_SECONDS))).await;
    format!("Computed {} in {} s", c.label.as_deref().unwrap_or("the job"), c.seconds)
}

async fn failing_job() -> Result<String, ToolError> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Err(ToolError::msg("The job failed, as it always does"))
}

async fn protocol_error_job() -> Result<String, ToolError> {
    Err(ToolError::Protocol(ErrorObject::internal("The job hit an internal error")))
}

#[derive(Deserialize, schemars::JsonSchema)]
struct File {
    /// The file to delete.
    filename: String,
}

fn confirmed(answer: &ElicitResult, field: &str) -> bool {
    answer.action == ElicitAction::Accept && answer.content.as_ref().and_then(|c| c.get(field)) == Some(&json!(true))
}

async fn confirm_delete(ctx: Context, Args(File { filename }): Args<File>) -> Result<String, ToolError> {
    let schema = json!({"type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]});
    let answer = ctx.elicit("confirm_delete", ElicitParams::form(format!("Delete {filename}?"), schema)).await?;
    Ok(if confirmed(&answer, "confirm") { format!("Deleted {filename}") } else { format!("Kept {filename}") })
}

fn question(message: &str, field: &str, kind: &str) -> Result<InputRequest, ToolError> {
    let schema = json!({"type": "object", "properties": {field: {"type": kind}}, "required": [field]});
    Ok(InputRequest {
        method: "elicitation/create".into(),
        params: Some(serde_json::to_value(ElicitParams::form(message, schema))?),
    })
}

async fn multi_input(ctx: Context) -> Result<String, ToolError> {
    let asked = vec![
        ("name".to_owned(), question("What is your name?", "name", "string")?),
        ("confirm".to_owned(), question("Shall we go on?", "confirm", "boolean")?),
    ];
    let answers = ctx.ask_all(asked).await?;
    let name = answers[0].pointer("/content/name").and_then(Value::as_str).unwrap_or("unknown");
    let go_on = answers[1].pointer("/content/confirm") == Some(&json!(true));
    Ok(format!("Name: {name}; confirmed: {go_on}"))
}

async fn tool_with_task(ctx: Context) -> Result<String, ToolError> {
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]});
    let answer = ctx.elicit("user_name", ElicitParams::form("What is your name?", schema)).await?;
    let name = answer.content.as_ref().and_then(|c| c.get("name")).and_then(Value::as_str).unwrap_or("stranger");
    let name = name.to_owned();
    ctx.start_task().await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(format!("Hello, {name}! (greeted as a task)"))
}
