//! Tools and a prompt that ask for input the 2026-07-28 way (MRTR): an input-required
//! result, then a retry carrying the answers and the signed `requestState`.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tenet_server::protocol::{ElicitAction, ElicitParams, ElicitResult, GetPromptResult, InputRequest, PromptMessage};
use tenet_server::{Context, PromptDef, ToolDef, ToolError};

use crate::def::tool;
use crate::interactive::ask_model;

pub(crate) fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            "test_input_required_result_elicitation",
            "MRTR: returns InputRequiredResult with elicitation request",
            elicitation,
        ),
        tool(
            "test_input_required_result_sampling",
            "MRTR: returns InputRequiredResult with sampling request",
            sampling,
        ),
        tool(
            "test_input_required_result_list_roots",
            "MRTR: returns InputRequiredResult with roots/list request",
            roots,
        ),
        tool(
            "test_input_required_result_request_state",
            "MRTR: round-trips an integrity-protected requestState",
            request_state,
        ),
        tool(
            "test_input_required_result_multiple_inputs",
            "MRTR: asks for elicitation, sampling and roots at once",
            multiple,
        ),
        tool("test_input_required_result_multi_round", "MRTR: needs two rounds of input", multi_round),
        tool("test_input_required_result_tampered_state", "MRTR: rejects a tampered requestState", tampered_state),
        tool("test_input_required_result_capabilities", "MRTR: asks only for what the client declared", capabilities),
    ]
}

/// The prompt that needs input before it renders.
pub(crate) fn prompt() -> PromptDef {
    PromptDef::new("test_input_required_result_prompt", |req| async move {
        let schema = object(&[("context", "string")]);
        let answer =
            req.ctx.elicit("user_context", ElicitParams::form("What context should the prompt use?", schema)).await?;
        let context = field(&answer, "context");
        Ok(GetPromptResult {
            description: None,
            messages: vec![PromptMessage::user(format!("Prompt with context: {context}"))],
            meta: None,
        })
    })
    .description("MRTR: prompt that requires elicitation input")
}

/// A flat object schema requiring each `(name, type)`.
fn object(fields: &[(&str, &str)]) -> Value {
    let properties: serde_json::Map<String, Value> =
        fields.iter().map(|(name, kind)| ((*name).to_owned(), json!({"type": kind}))).collect();
    let required: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    json!({"type": "object", "properties": properties, "required": required})
}

/// A field of an accepted form, as text.
fn field(answer: &ElicitResult, name: &str) -> String {
    match answer.content.as_ref().and_then(|c| c.get(name)) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "unknown".into(),
    }
}

fn name_question() -> ElicitParams {
    ElicitParams::form("What is your name?", object(&[("name", "string")]))
}

async fn elicitation(ctx: Context) -> Result<String, ToolError> {
    let answer = ctx.elicit("user_name", name_question()).await?;
    if answer.action != ElicitAction::Accept {
        return Ok("The user declined to give a name".into());
    }
    Ok(format!("Hello, {}!", field(&answer, "name")))
}

async fn sampling(ctx: Context) -> Result<String, ToolError> {
    let result = ctx.sample("capital_question", ask_model("What is the capital of France?", 100)?).await?;
    Ok(format!("Sampling result: {}", result.text().unwrap_or_default()))
}

async fn roots(ctx: Context) -> Result<String, ToolError> {
    let result = ctx.list_roots("client_roots").await?;
    Ok(format!("Found {} root(s)", result.roots.len()))
}

async fn confirmed(ctx: &Context) -> Result<bool, ToolError> {
    let answer = ctx.elicit("confirm", ElicitParams::form("Please confirm", object(&[("ok", "boolean")]))).await?;
    Ok(answer.content.as_ref().and_then(|c| c.get("ok")) == Some(&Value::Bool(true)))
}

async fn request_state(ctx: Context) -> Result<&'static str, ToolError> {
    Ok(if confirmed(&ctx).await? { "state-ok: requestState validated" } else { "state-ok: not confirmed" })
}

async fn tampered_state(ctx: Context) -> Result<&'static str, ToolError> {
    Ok(if confirmed(&ctx).await? { "integrity-ok: state verified" } else { "integrity-ok: not confirmed" })
}

fn input(method: &str, params: Value) -> InputRequest {
    InputRequest { method: method.into(), params: Some(params) }
}

async fn multiple(ctx: Context) -> Result<String, ToolError> {
    let requests = vec![
        ("user_name".to_owned(), input("elicitation/create", serde_json::to_value(name_question())?)),
        (
            "greeting".to_owned(),
            input("sampling/createMessage", serde_json::to_value(ask_model("Generate a greeting", 50)?)?),
        ),
        ("client_roots".to_owned(), input("roots/list", json!({}))),
    ];
    let answers = ctx.ask_all(requests).await?;
    let name = answers[0].pointer("/content/name").and_then(Value::as_str).unwrap_or("unknown");
    let greeting = answers[1].pointer("/content/text").and_then(Value::as_str).unwrap_or("");
    let roots = answers[2].get("roots").and_then(Value::as_array).map_or(0, Vec::len);
    Ok(format!("Name: {name}; Greeting: {greeting}; Roots: {roots}"))
}

async fn multi_round(ctx: Context) -> Result<String, ToolError> {
    let first =
        ctx.elicit("step1", ElicitParams::form("Step 1: What is your name?", object(&[("name", "string")]))).await?;
    let second = ctx
        .elicit("step2", ElicitParams::form("Step 2: What is your favorite color?", object(&[("color", "string")])))
        .await?;
    Ok(format!("Multi-round complete for {} who likes {}", field(&first, "name"), field(&second, "color")))
}

async fn capabilities(ctx: Context) -> Result<String, ToolError> {
    let caps = ctx.client_capabilities();
    let mut requests = Vec::new();
    if caps.elicitation.is_some() {
        let question = ElicitParams::form("Please provide a value", object(&[("value", "string")]));
        requests.push(("elicit_input".to_owned(), input("elicitation/create", serde_json::to_value(question)?)));
    }
    if caps.sampling.is_some() {
        requests.push((
            "sample_input".to_owned(),
            input("sampling/createMessage", serde_json::to_value(ask_model("Sample request", 50)?)?),
        ));
    }
    if requests.is_empty() {
        return Ok("No supported capabilities declared".into());
    }
    let keys: Vec<String> = requests.iter().map(|(k, _)| k.clone()).collect();
    let answers = ctx.ask_all(requests).await?;
    let received: BTreeMap<&str, &Value> = keys.iter().map(String::as_str).zip(answers.iter()).collect();
    Ok(format!("capabilities-ok: received {}", received.keys().copied().collect::<Vec<_>>().join(", ")))
}
