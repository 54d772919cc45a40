//! A small built-in tool set, served until the knowledge server takes its place.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tenet_protocol::{GetPromptResult, LoggingLevel, PromptMessage, Resource};
use tenet_server::{
    Args, BuildError, Context, Json, PromptDef, ResourceDef, Server, ServerConfig, TaskSupport, ToolDef, ToolError,
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

/// The demo server: `echo`, `add`, `countdown`, one resource and one prompt.
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
             (and runs as a task for clients of the 2026 tasks extension).",
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
