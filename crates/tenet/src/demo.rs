//! A small built-in tool set, served until the knowledge server takes its place.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tenet_protocol::{ElicitAction, ElicitParams, GetPromptResult, LoggingLevel, PromptMessage, Resource};
use tenet_server::{
    Args, BuildError, Context, Conversation, Json, PromptDef, ResourceDef, Server, ServerConfig, TaskSupport, ToolDef,
    ToolError,
};

/// Arguments of `echo`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct EchoArgs {
    /// The text to send back.
    text: String,
}

async fn echo(Args(args): Args<EchoArgs>) -> String {
    args.text
}

/// Arguments of `add`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AddArgs {
    /// The first addend.
    a: f64,
    /// The second addend.
    b: f64,
}

/// The result of `add`.
#[derive(Debug, Serialize, JsonSchema)]
struct Sum {
    /// `a + b`.
    sum: f64,
}

async fn add(Args(AddArgs { a, b }): Args<AddArgs>) -> Json<Sum> {
    Json(Sum { sum: a + b })
}

/// Arguments of `countdown`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CountdownArgs {
    /// Steps to count down.
    #[schemars(range(min = 1, max = 100))]
    steps: u32,
    /// Milliseconds per step.
    #[schemars(range(min = 0, max = 60000))]
    step_ms: u64,
}

async fn countdown(ctx: Context, Args(args): Args<CountdownArgs>) -> Result<String, ToolError> {
    for done in 0..args.steps {
        ctx.progress(f64::from(done), Some(f64::from(args.steps)), Some(format!("{} to go", args.steps - done))).await;
        ctx.log(LoggingLevel::Debug, format!("step {done}")).await;
        tokio::time::sleep(Duration::from_millis(args.step_ms)).await;
    }
    ctx.progress(f64::from(args.steps), Some(f64::from(args.steps)), None).await;
    Ok(format!("counted down {} steps", args.steps))
}

/// `welcome`: asks the user's name (an elicitation; an input round for 2026-07-28
/// clients), then greets them.
async fn welcome(ctx: Context) -> Result<String, ToolError> {
    let schema = serde_json::json!({"type": "object", "properties": {
        "name": {"type": "string", "description": "Your name"}
    }, "required": ["name"]});
    let answer = ctx.elicit("name", ElicitParams::form("What is your name?", schema)).await?;
    let name = answer.content.as_ref().and_then(|c| c.get("name")).and_then(serde_json::Value::as_str);
    Ok(match (answer.action, name) {
        (ElicitAction::Accept, Some(name)) => format!("Welcome, {name}!"),
        _ => "Welcome, whoever you are.".to_owned(),
    })
}

/// Arguments of `remember`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RememberArgs {
    /// The key (1 to 64 characters).
    #[schemars(length(min = 1, max = 64))]
    key: String,
    /// The value: any JSON.
    value: serde_json::Value,
}

/// What `remember` kept.
#[derive(Debug, Serialize, JsonSchema)]
struct Remembered {
    /// The key.
    key: String,
    /// Its version now: it changes at every write of the key.
    version: u64,
    /// The conversation's id, when it has one yet.
    conversation: Option<String>,
}

async fn remember(conversation: Conversation, Args(args): Args<RememberArgs>) -> Result<Json<Remembered>, ToolError> {
    let version = conversation.set(&args.key, args.value).await?;
    let id = conversation.id().map(|id| id.to_string());
    Ok(Json(Remembered { key: args.key, version, conversation: id }))
}

/// Arguments of `recall`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RecallArgs {
    /// The key.
    #[schemars(length(min = 1, max = 64))]
    key: String,
}

/// What `recall` found.
#[derive(Debug, Serialize, JsonSchema)]
struct Recalled {
    /// The key.
    key: String,
    /// Whether the conversation has a value under it.
    found: bool,
    /// The value (null when not found).
    value: serde_json::Value,
    /// Its version.
    version: Option<u64>,
}

async fn recall(conversation: Conversation, Args(args): Args<RecallArgs>) -> Result<Json<Recalled>, ToolError> {
    let entry = conversation.get(&args.key).await?;
    Ok(Json(Recalled {
        key: args.key,
        found: entry.is_some(),
        version: entry.as_ref().map(|e| e.version),
        value: entry.map(|e| e.value).unwrap_or_default(),
    }))
}

/// The demo server: `echo`, `add`, `countdown`, `welcome`, `remember` and `recall`, one resource
/// and one prompt.
/// With `dynamic`, it declares that its lists change (a gateway adds its upstreams'
/// tools while serving).
pub fn server(config: ServerConfig, dynamic: bool) -> Result<Server, BuildError> {
    let readme = Resource {
        uri: "tenet://about".into(),
        name: "about".into(),
        title: Some("About Tenet".into()),
        description: Some("What this server is".into()),
        mime_type: Some("text/markdown".into()),
        size: None,
        annotations: None,
        icons: None,
        meta: None,
    };
    let builder = Server::builder("tenet", env!("CARGO_PKG_VERSION"));
    let builder = if dynamic { builder.dynamic().tasks() } else { builder };
    builder
        .compile_schemas_lazily()
        .title("Tenet")
        .instructions(
            "Tenet demo tools: `echo` returns its text, `add` adds two numbers, `countdown` reports progress \
             (and runs as a task for clients of the 2026 tasks extension, or of 2025-11-25 tasks), `welcome` \
             asks the user's name, `remember` and `recall` write and read the conversation's context (shared \
             with the tools of other Tenet nodes a call reaches).",
        )
        .config(config)
        .tool(ToolDef::new("echo", echo).description("Return the given text unchanged.").read_only())
        .tool(ToolDef::new("add", add).description("Add two numbers; returns {sum}.").read_only())
        .tool(
            ToolDef::new("countdown", countdown)
                .description("Count down `steps` steps of `step_ms` ms each, reporting progress.")
                .read_only()
                .task_support(TaskSupport::Optional),
        )
        .tool(
            ToolDef::new("welcome", welcome)
                .description("Ask the user's name (elicitation), then greet them.")
                .read_only(),
        )
        .tool(
            ToolDef::new("remember", remember)
                .description("Keep a JSON value under a key in this conversation's context, for later calls here or on other Tenet nodes.")
                .open_world(false),
        )
        .tool(
            ToolDef::new("recall", recall)
                .description("Read the value kept under a key in this conversation's context.")
                .read_only(),
        )
        .resource(ResourceDef::text(readme, "# Tenet\n\nA fast, spec-exact MCP server and toolkit.\n"))
        .prompt(
            PromptDef::new("greet", |req: tenet_server::PromptRequest| async move {
                let name = req.arguments.get("name").cloned().unwrap_or_default();
                Ok(GetPromptResult {
                    messages: vec![PromptMessage::user(format!("Say hello to {name}."))],
                    ..Default::default()
                })
            })
            .description("Greet someone by name.")
            .argument("name", "Who to greet", true)
            .complete("name", |req: tenet_server::CompletionRequest| async move {
                ["Ada", "Alan", "Grace", "Linus"]
                    .into_iter()
                    .filter(|n| n.to_lowercase().starts_with(&req.value.to_lowercase()))
                    .map(String::from)
                    .collect()
            }),
        )
        .build()
}
