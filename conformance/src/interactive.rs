//! Tools that ask the client for something with a real server → client request
//! (legacy sessions): sampling and elicitation on the tool call's own stream.

use serde::Deserialize;
use serde_json::{Value, json};
use tenet_server::protocol::{CreateMessageParams, ElicitParams, ElicitResult};
use tenet_server::{Args, Context, ToolDef, ToolError};

use crate::def::tool;

#[derive(Deserialize, schemars::JsonSchema)]
struct Prompt {
    /// The prompt to send to the client's model.
    prompt: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Message {
    /// What to ask the user.
    message: String,
}

pub(crate) fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new("test_sampling", sampling).description("Tests server-initiated sampling (LLM completion request)"),
        ToolDef::new("test_elicitation", elicitation)
            .description("Tests server-initiated elicitation (user input request)"),
        tool("test_elicitation_sep1034_defaults", "Tests elicitation with default values per SEP-1034", defaults),
        tool("test_elicitation_sep1330_enums", "Tests elicitation with enum schema improvements per SEP-1330", enums),
    ]
}

/// Sampling params: one user text message.
pub(crate) fn ask_model(text: &str, max_tokens: u64) -> Result<CreateMessageParams, ToolError> {
    serde_json::from_value(json!({
        "messages": [{"role": "user", "content": {"type": "text", "text": text}}],
        "maxTokens": max_tokens
    }))
    .map_err(ToolError::from)
}

/// `action=<action>, content=<JSON>` as the reference fixture reports an elicitation.
fn outcome(result: &ElicitResult) -> String {
    let action = serde_json::to_value(result.action).unwrap_or(Value::Null);
    let content = result.content.as_ref().map_or_else(|| "{}".to_owned(), |c| Value::Object(c.clone()).to_string());
    format!("action={}, content={content}", action.as_str().unwrap_or("unknown"))
}

async fn sampling(ctx: Context, Args(p): Args<Prompt>) -> Result<String, ToolError> {
    let result = ctx.sample("sampling", ask_model(&p.prompt, 100)?).await?;
    Ok(format!("LLM response: {}", result.text().unwrap_or_default()))
}

async fn elicitation(ctx: Context, Args(m): Args<Message>) -> Result<String, ToolError> {
    let schema = json!({"type": "object", "properties": {
        "username": {"type": "string", "description": "User's response"},
        "email": {"type": "string", "description": "User's email address"}
    }, "required": ["username", "email"]});
    let result = ctx.elicit("user_info", ElicitParams::form(&m.message, schema)).await?;
    Ok(format!("User response: {}", outcome(&result)))
}

async fn defaults(ctx: Context) -> Result<String, ToolError> {
    let schema = json!({"type": "object", "properties": {
        "name": {"type": "string", "description": "User name", "default": "John Doe"},
        "age": {"type": "integer", "description": "User age", "default": 30},
        "score": {"type": "number", "description": "User score", "default": 95.5},
        "status": {"type": "string", "description": "User status", "enum": ["active", "inactive", "pending"], "default": "active"},
        "verified": {"type": "boolean", "description": "Verification status", "default": true}
    }, "required": []});
    let result = ctx
        .elicit("defaults", ElicitParams::form("Please review and update the form fields with defaults", schema))
        .await?;
    Ok(format!("Elicitation completed: {}", outcome(&result)))
}

async fn enums(ctx: Context) -> Result<String, ToolError> {
    let titled = |titles: [&str; 3]| {
        titles
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"const": format!("value{}", i + 1), "title": t}))
            .collect::<Vec<_>>()
    };
    let schema = json!({"type": "object", "properties": {
        "untitledSingle": {"type": "string", "description": "Select one option", "enum": ["option1", "option2", "option3"]},
        "titledSingle": {"type": "string", "description": "Select one option with titles",
            "oneOf": titled(["First Option", "Second Option", "Third Option"])},
        "legacyEnum": {"type": "string", "description": "Select one option (legacy)", "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"]},
        "untitledMulti": {"type": "array", "description": "Select multiple options", "minItems": 1, "maxItems": 3,
            "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
        "titledMulti": {"type": "array", "description": "Select multiple options with titles", "minItems": 1, "maxItems": 3,
            "items": {"anyOf": titled(["First Choice", "Second Choice", "Third Choice"])}}
    }, "required": []});
    let result = ctx.elicit("enums", ElicitParams::form("Please select options from the enum fields", schema)).await?;
    Ok(format!("Elicitation completed: {}", outcome(&result)))
}
