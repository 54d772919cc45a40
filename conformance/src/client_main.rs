//! The conformance client: `tenet-conformance-client URL`, driven by the official
//! suite. `MCP_CONFORMANCE_SCENARIO` names the scenario, `MCP_CONFORMANCE_CONTEXT`
//! carries its data (JSON) and `MCP_CONFORMANCE_PROTOCOL_VERSION` the version to
//! speak. Every connection is authorized with OAuth 2.1 (`tenet_client::OAuthHook`,
//! configured from the scenario and its context; it does nothing until a server
//! refuses a request). It connects, then exercises what the server offers: every
//! tool (with arguments from the context, or made up from the input schema), every
//! resource and every prompt. Exit 0 when the session ran, 1 when it could not.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{Map, Value, json};
use tenet_client::oauth::{Authorizer, conformance};
use tenet_client::protocol::{
    ClientCapabilities, CreateMessageParams, CreateMessageResult, ElicitAction, ElicitParams, ElicitResult,
    ListRootsResult, ProtocolVersion, Role, Tool,
};
use tenet_client::{Client, ClientHandler, OAuthHook, VersionPin};
use tenet_server::jsonrpc::ErrorObject;

/// Accepts every elicitation (leaving defaults to the library), answers sampling with a
/// fixed text and lists no roots.
struct Handler;

impl ClientHandler for Handler {
    fn capabilities(&self) -> ClientCapabilities {
        ClientCapabilities {
            sampling: Some(Map::new()),
            elicitation: Some(serde_json::from_value(json!({"form": {}, "url": {}})).unwrap_or_default()),
            roots: Some(Default::default()),
            ..ClientCapabilities::default()
        }
    }

    fn create_message(&self, _params: CreateMessageParams) -> BoxFuture<'_, Result<CreateMessageResult, ErrorObject>> {
        Box::pin(async {
            Ok(CreateMessageResult {
                role: Role::Assistant,
                content: json!({"type": "text", "text": "A sampled answer."}),
                model: "tenet-conformance".into(),
                stop_reason: Some("endTurn".into()),
                meta: None,
            })
        })
    }

    fn elicit(&self, _params: ElicitParams) -> BoxFuture<'_, Result<ElicitResult, ErrorObject>> {
        Box::pin(async { Ok(ElicitResult { action: ElicitAction::Accept, content: Some(Map::new()) }) })
    }

    fn list_roots(&self) -> BoxFuture<'_, Result<ListRootsResult, ErrorObject>> {
        Box::pin(async { Ok(ListRootsResult { roots: Vec::new() }) })
    }
}

/// A made-up value that satisfies a property's schema.
fn sample(schema: &Value) -> Value {
    if let Some(value) = schema.get("default").or_else(|| schema.get("enum").and_then(|e| e.get(0))) {
        return value.clone();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") => json!(2),
        Some("number") => json!(3),
        Some("boolean") => json!(true),
        Some("array") => json!([]),
        Some("object") => arguments(schema),
        Some("null") => Value::Null,
        _ => json!("test"),
    }
}

/// Arguments for every property of an object schema.
fn arguments(schema: &Value) -> Value {
    let properties = schema.get("properties").and_then(Value::as_object);
    let map: Map<String, Value> = properties.into_iter().flatten().map(|(k, v)| (k.clone(), sample(v))).collect();
    Value::Object(map)
}

fn context() -> Value {
    std::env::var("MCP_CONFORMANCE_CONTEXT").ok().and_then(|c| serde_json::from_str(&c).ok()).unwrap_or(Value::Null)
}

fn report<T>(what: &str, result: tenet_client::Result<T>) -> Option<T> {
    result.map_err(|e| eprintln!("{what}: {e}")).ok()
}

async fn call_tools(client: &Client, tools: &[Tool], scenario: &str) {
    let context = context();
    if let Some(calls) = context.get("toolCalls").and_then(Value::as_array) {
        for call in calls {
            let name = call.get("name").and_then(Value::as_str).unwrap_or_default();
            let args = call.get("arguments").cloned().unwrap_or(Value::Null);
            report(name, client.call_tool(name, args).await);
        }
        return;
    }
    if scenario == "json-schema-2020-12-preservation" {
        let focal = tools.iter().find(|t| t.name == "json_schema_2020_12_tool");
        if let Some(focal) = focal {
            report(
                "json_schema_echo",
                client.call_tool("json_schema_echo", json!({"schema": focal.input_schema})).await,
            );
        }
        return;
    }
    for tool in tools {
        report(&tool.name, client.call_tool(&tool.name, arguments(&tool.input_schema)).await);
    }
}

/// A skills host (the Skills extension's client scenarios): it lists the skills at
/// connect and reads nothing then (`no-prefetch`); when a task calls for a skill (the
/// other scenarios) it loads the first: its `SKILL.md`, then its other files, each
/// checked against the entry, stopping at the first that does not match.
async fn skills_host(client: &Client, scenario: &str) {
    let Some(skills) = report("skills/list", client.all_skills().await) else { return };
    if scenario == "sep-2640-client-no-prefetch" {
        return;
    }
    let Some(skill) = skills.first() else { return };
    let tenet_client::protocol::skill_extension::SkillResources::Listed(files) = &skill.resources else { return };
    let others = files.iter().filter(|f| f.uri != skill.uri).map(|f| f.uri.as_str());
    for uri in std::iter::once(skill.uri.as_str()).chain(others) {
        if let Err(e) = client.read_skill_file(skill, uri).await {
            eprintln!("{e}: not loaded");
            return;
        }
        eprintln!("{uri}: read and checked");
    }
}

async fn exercise(client: &Client, scenario: &str) {
    if scenario.starts_with("sep-2640-client-") {
        return skills_host(client, scenario).await;
    }
    let capabilities = client.server().map(|s| s.capabilities).unwrap_or_default();
    if let Some(tools) = report("tools/list", client.list_all_tools().await)
        && scenario != "initialize"
    {
        call_tools(client, &tools, scenario).await;
    }
    if scenario == "initialize" {
        return;
    }
    if capabilities.resources.is_some()
        && let Some(resources) = report("resources/list", client.list_resources(None).await)
    {
        for resource in resources.resources {
            report(&resource.uri, client.read_resource(&resource.uri).await);
        }
    }
    if capabilities.prompts.is_some()
        && let Some(prompts) = report("prompts/list", client.list_prompts(None).await)
    {
        for prompt in prompts.prompts {
            let args: BTreeMap<String, String> =
                prompt.arguments.iter().flatten().map(|a| (a.name.clone(), "test".to_owned())).collect();
            report(&prompt.name, client.get_prompt(&prompt.name, args).await);
        }
    }
}

async fn run(url: &str) -> ExitCode {
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let pin = std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION")
        .ok()
        .and_then(|v| ProtocolVersion::parse(&v))
        .map_or(VersionPin::Auto, VersionPin::Exact);
    let authorizer = match conformance::config_for(&scenario, &context()).and_then(Authorizer::new) {
        Ok(authorizer) => authorizer,
        Err(e) => {
            eprintln!("cannot configure authorization: {e}");
            return ExitCode::FAILURE;
        }
    };
    let auth = OAuthHook::new(Arc::new(authorizer));
    let client = match Client::builder().handler(Handler).version(pin).auth(auth).connect_http(url).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("cannot connect to {url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("connected: {} (scenario {scenario:?})", client.version());
    exercise(&client, &scenario).await;
    client.close().await;
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let Some(url) = std::env::args().skip(1).next_back() else {
        eprintln!("usage: tenet-conformance-client URL");
        return ExitCode::from(2);
    };
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run(&url)),
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_arguments_follow_the_schema() {
        let schema = json!({"type": "object", "properties": {
            "a": {"type": "number"},
            "n": {"type": "integer", "default": 7},
            "mode": {"type": "string", "enum": ["fast", "slow"]},
            "flag": {"type": "boolean"},
            "inner": {"type": "object", "properties": {"s": {"type": "string"}}}
        }});
        assert_eq!(arguments(&schema), json!({"a": 3, "n": 7, "mode": "fast", "flag": true, "inner": {"s": "test"}}));
        assert_eq!(arguments(&json!({"type": "object"})), json!({}));
    }
}
