//! The server both integration suites talk to, and a handler that answers
//! elicitations.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::future::BoxFuture;
use serde_json::{Map, json};
use tenet_client::ClientHandler;
use tenet_client::protocol::{
    ClientCapabilities, ElicitAction, ElicitParams, ElicitResult, GetPromptResult, PromptMessage, Resource,
};
use tenet_server::jsonrpc::ErrorObject;
use tenet_server::{Args, Context, PromptDef, ResourceDef, Server, ServerConfig, ToolDef, ToolError};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Add {
    a: i64,
    b: i64,
}

async fn add(Args(Add { a, b }): Args<Add>) -> String {
    (a + b).to_string()
}

async fn ask(ctx: Context) -> Result<String, ToolError> {
    let schema = json!({"type": "object", "properties": {
        "name": {"type": "string"},
        "colour": {"type": "string", "default": "teal"}
    }});
    let params = ElicitParams::form("Who are you?", schema);
    let answer = ctx.elicit("who", params).await?;
    Ok(serde_json::to_string(&answer.content).unwrap_or_default())
}

async fn slow(ctx: Context) -> String {
    for step in 1..=3 {
        ctx.progress(f64::from(step), Some(3.0), None).await;
    }
    "done".into()
}

fn resource() -> Resource {
    serde_json::from_value(json!({"uri": "test://a", "name": "a"})).expect("a resource")
}

pub fn server() -> Server {
    let mut builder = Server::builder("test", "1.0.0")
        .config(ServerConfig { page_size: 2, ..ServerConfig::default() })
        .tool(ToolDef::new("add", add).description("Add"))
        .tool(ToolDef::new("ask", ask))
        .tool(ToolDef::new("slow", slow))
        .resource(ResourceDef::text(resource(), "alpha"))
        .prompt(PromptDef::new("greet", |_req| async {
            Ok(GetPromptResult { description: None, messages: vec![PromptMessage::user("Hello")], meta: None })
        }));
    for i in 0..3 {
        builder = builder.tool(ToolDef::new(format!("extra{i}"), add));
    }
    builder.build().expect("the server builds")
}

/// Answers elicitations with a name, and counts them.
#[derive(Default, Clone)]
pub struct Answers(pub Arc<AtomicUsize>);

impl ClientHandler for Answers {
    fn capabilities(&self) -> ClientCapabilities {
        ClientCapabilities { elicitation: Some(Map::new()), ..ClientCapabilities::default() }
    }

    fn elicit(&self, _params: ElicitParams) -> BoxFuture<'_, Result<ElicitResult, ErrorObject>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let mut content = Map::new();
        content.insert("name".into(), json!("Ada"));
        Box::pin(async move { Ok(ElicitResult { action: ElicitAction::Accept, content: Some(content) }) })
    }
}
