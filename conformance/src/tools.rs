//! The fixture's tools. `tools/list` shows them sorted by name; the suite's header
//! probes call the first one listed (`confirm_delete`) with no arguments, which its
//! argument check answers with an `isError` result, not a JSON-RPC error.

use std::time::Duration;

use serde_json::{Value, json};
use tenet_server::protocol::{CallToolResult, ContentBlock, LoggingLevel};
use tenet_server::{Context, State, ToolDef, ToolError};
use tokio::sync::{mpsc, oneshot};

use crate::def::tool;
use crate::{interactive, mrtr, tasks};

/// A 1×1 PNG.
pub(crate) const TEST_IMAGE_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A tiny WAV.
pub(crate) const TEST_AUDIO_BASE64: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

/// A mutation hook's request; answered once the change is announced.
#[derive(Debug)]
pub enum Trigger {
    /// Announce that the tool list changed.
    Tools(oneshot::Sender<()>),
    /// Announce that the prompt list changed.
    Prompts(oneshot::Sender<()>),
}

/// Where the mutation hooks send their triggers (the server's state).
pub(crate) struct Triggers(pub mpsc::Sender<Trigger>);

/// Content blocks from their JSON.
pub(crate) fn blocks(value: Value) -> Result<Vec<ContentBlock>, ToolError> {
    serde_json::from_value(value).map_err(ToolError::from)
}

/// Every tool.
pub(crate) fn all() -> Vec<ToolDef> {
    let mut tools = vec![
        tool("test_simple_text", "Tests simple text content response", simple_text),
        tool("test_image_content", "Tests image content response", image),
        tool("test_audio_content", "Tests audio content response", audio),
        tool("test_embedded_resource", "Tests embedded resource content response", embedded_resource),
        tool(
            "test_multiple_content_types",
            "Tests response with multiple content types (text, image, resource)",
            mixed_content,
        ),
        tool("test_tool_with_logging", "Tests tool that emits log messages during execution", with_logging),
        tool("test_tool_with_progress", "Tests tool that reports progress notifications", with_progress),
        tool("test_error_handling", "Tests error response handling", error_handling),
        tool(
            "test_reconnection",
            "Tests SSE stream disconnection and client reconnection (SEP-1699). Server will close the stream mid-call and send the result after client reconnects.",
            reconnection,
        ),
        ToolDef::new("json_schema_2020_12_tool", json_schema_tool)
            .description("Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)")
            .input_schema(json_schema_2020_12()),
        tool("test_missing_capability", "Test tool requiring sampling", missing_capability),
        tool("test_streaming_elicitation", "Diagnostic tool validating response progress streams", streaming),
        tool("test_logging_tool", "Diagnostic logging validator tool", logging_tool),
        tool(
            "test_trigger_tool_change",
            "Announces that the tool list changed (listen streams that asked hear it)",
            trigger_tools,
        ),
        tool(
            "test_trigger_prompt_change",
            "Announces that the prompt list changed (listen streams that asked hear it)",
            trigger_prompts,
        ),
    ];
    tools.push(
        ToolDef::new("test_custom_header", custom_header)
            .description("Echoes a value mirrored into the Mcp-Param-Region header (SEP-2243)")
            .input_schema(json!({"type": "object",
                "properties": {"region": {"type": "string", "x-mcp-header": "Region"}}, "required": ["region"]})),
    );
    tools.extend(interactive::tools());
    tools.extend(mrtr::tools());
    tools.extend(tasks::tools());
    tools
}

async fn simple_text() -> &'static str {
    "This is a simple text response for testing."
}

async fn image() -> Result<Vec<ContentBlock>, ToolError> {
    Ok(vec![ContentBlock::image(TEST_IMAGE_BASE64, "image/png")])
}

async fn audio() -> Result<Vec<ContentBlock>, ToolError> {
    Ok(vec![ContentBlock::audio(TEST_AUDIO_BASE64, "audio/wav")])
}

async fn embedded_resource() -> Result<Vec<ContentBlock>, ToolError> {
    blocks(json!([{"type": "resource", "resource": {
        "uri": "test://embedded-resource", "mimeType": "text/plain", "text": "This is an embedded resource content."
    }}]))
}

async fn mixed_content() -> Result<Vec<ContentBlock>, ToolError> {
    blocks(json!([
        {"type": "text", "text": "Multiple content types test:"},
        {"type": "image", "data": TEST_IMAGE_BASE64, "mimeType": "image/png"},
        {"type": "resource", "resource": {
            "uri": "test://mixed-content-resource", "mimeType": "application/json", "text": "{\"test\":\"data\",\"value\":123}"
        }}
    ]))
}

async fn with_logging(ctx: Context) -> &'static str {
    let steps = ["Tool execution started", "Tool processing data", "Tool execution completed"];
    for (i, step) in steps.into_iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ctx.log(LoggingLevel::Info, step).await;
    }
    "Tool with logging executed successfully"
}

async fn with_progress(ctx: Context) -> &'static str {
    for (i, step) in [0.0, 50.0, 100.0].into_iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ctx.progress(step, Some(100.0), Some(format!("Completed step {step} of 100"))).await;
    }
    "Progress test completed"
}

async fn error_handling() -> CallToolResult {
    CallToolResult::error("This tool intentionally returns an error for testing")
}

/// Ends its response stream at once (legacy SSE polling), answers ~100 ms later: the
/// client gets the answer by resuming with `Last-Event-ID`.
async fn reconnection(ctx: Context) -> &'static str {
    ctx.close_stream().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    "Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure."
}

async fn json_schema_tool(tenet_server::RawArgs(args): tenet_server::RawArgs) -> String {
    format!("JSON Schema 2020-12 tool called with: {args}")
}

/// The SEP-1613 schema, returned verbatim by `tools/list`.
fn json_schema_2020_12() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {"address": {"$anchor": "addressDef", "type": "object", "properties": {
            "street": {"type": "string"}, "city": {"type": "string"}
        }}},
        "properties": {
            "name": {"type": "string"},
            "address": {"$ref": "#/$defs/address"},
            "contactMethod": {"type": "string", "enum": ["phone", "email"]},
            "phone": {"type": "string"},
            "email": {"type": "string"}
        },
        "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
        "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
        "then": {"required": ["phone"]},
        "else": {"required": ["email"]},
        "additionalProperties": false
    })
}

async fn missing_capability(ctx: Context) -> Result<&'static str, ToolError> {
    if ctx.client_capabilities().sampling.is_none() {
        return Err(ToolError::missing_capability(&json!({"sampling": {}})));
    }
    Ok("Success")
}

async fn streaming() -> &'static str {
    "Streaming complete"
}

async fn logging_tool(ctx: Context) -> &'static str {
    ctx.log(LoggingLevel::Info, "Diagnostic trace logging activated").await;
    "Logging evaluated"
}

async fn trigger(state: &Triggers, make: fn(oneshot::Sender<()>) -> Trigger) -> Result<&'static str, ToolError> {
    let (done, announced) = oneshot::channel();
    state.0.send(make(done)).await.map_err(|_| ToolError::msg("the fixture is shutting down"))?;
    announced.await.map_err(|_| ToolError::msg("the fixture is shutting down"))?;
    Ok("Mutation triggered")
}

async fn trigger_tools(State(state): State<Triggers>) -> Result<&'static str, ToolError> {
    trigger(&state, Trigger::Tools).await
}

async fn trigger_prompts(State(state): State<Triggers>) -> Result<&'static str, ToolError> {
    trigger(&state, Trigger::Prompts).await
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Region {
    region: String,
}

async fn custom_header(tenet_server::Args(r): tenet_server::Args<Region>) -> String {
    format!("region={}", r.region)
}
