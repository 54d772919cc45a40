//! `GET /openapi.json`: an OpenAPI 3.1 document of the REST routes, made from the
//! tools listed at the time of the request (so it follows every change of the tools),
//! one operation per tool with the tool's own JSON Schemas.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::{all_tools, failed, status};
use crate::caller::Caller;
use crate::response;
use crate::shared::Shared;

/// The handler, behind the door.
pub(super) async fn serve(shared: Arc<Shared>, caller: Caller, _: Request) -> Response {
    match all_tools(&shared, caller).await {
        Ok(tools) => {
            let info = shared.server.info();
            let spec = Spec {
                title: info.title.as_deref().unwrap_or(&info.name),
                version: &info.version,
                description: info.description.as_deref(),
                auth: shared.config.auth.as_deref(),
            };
            response::json(StatusCode::OK, document(&spec, &tools).to_string())
        }
        Err(e) => failed(status(e.code), &e),
    }
}

/// What the document says besides the tools.
pub(super) struct Spec<'a> {
    pub title: &'a str,
    pub version: &'a str,
    pub description: Option<&'a str>,
    pub auth: Option<&'a crate::auth::Auth>,
}

/// The document for `tools` (each a `Tool` as `tools/list` gives it).
pub(super) fn document(spec: &Spec<'_>, tools: &[Box<RawValue>]) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let mut calls = Vec::with_capacity(tools.len());
    for raw in tools {
        let Ok(tool) = serde_json::from_str::<Value>(raw.get()) else { continue };
        let Some(name) = tool["name"].as_str() else { continue };
        let key = component_key(name);
        if schemas.contains_key(&format!("{key}.arguments")) {
            tracing::warn!(tool = name, "left out of the OpenAPI document: its name is too like another's");
            continue;
        }
        let input = component(&tool["inputSchema"], &format!("{key}.arguments"));
        // Without required arguments, no body (or no `params`) stands for `{}`.
        let needs_arguments = input.get("required").and_then(Value::as_array).is_some_and(|r| !r.is_empty());
        calls.push(jsonrpc_call(name, &key, needs_arguments));
        schemas.insert(format!("{key}.arguments"), input);
        let ok = match tool.get("outputSchema").filter(|s| s.is_object()) {
            Some(output) => {
                schemas.insert(format!("{key}.result"), component(output, &format!("{key}.result")));
                json!({ "$ref": format!("#/components/schemas/{key}.result") })
            }
            None => json!({ "$ref": "#/components/schemas/Text" }),
        };
        let mut operation = json!({
            "operationId": key,
            "summary": tool.get("title").and_then(Value::as_str).unwrap_or(name),
            "tags": ["tools"],
            "requestBody": {
                "description": "The tool's arguments, a JSON object. No body stands for `{}`.",
                "required": needs_arguments,
                "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{key}.arguments") } } }
            },
            "responses": responses(spec, json!({
                "description": "The tool's structured result, or its text when it declares no output schema.",
                "content": { "application/json": { "schema": ok } }
            }), true),
        });
        if let Some(description) = tool.get("description").and_then(Value::as_str) {
            operation["description"] = Value::String(description.to_owned());
        }
        if let Some(annotations) = tool.get("annotations").filter(|a| a.is_object()) {
            operation["x-mcp-annotations"] = annotations.clone();
        }
        paths.insert(format!("/tools/{}", encode_segment(name)), json!({ "post": operation }));
    }
    schemas.extend(common_schemas(calls));
    paths.insert(
        "/mcp/tools".into(),
        json!({ "get": {
            "operationId": "listTools",
            "summary": "Every tool, with its schemas and annotations",
            "tags": ["mcp"],
            "responses": responses(spec, json!({
                "description": "The tools, as MCP's tools/list gives them, all pages at once.",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ToolList" } } }
            }), false),
        }}),
    );
    paths.insert(
        "/mcp/call".into(),
        json!({ "post": {
            "operationId": "callToolJsonRpc",
            "summary": "Call a tool by name, in JSON-RPC 2.0",
            "description": "`method` names the tool and `params` holds its arguments (no `params` stands for `{}`). \
                The answer is the tool's MCP CallToolResult as `result` (a failed tool has `isError: true`), or a \
                JSON-RPC `error`: -32601 for an unknown tool, -32602 (with the failing fields in `data.fields`) for \
                arguments its input schema refuses.",
            "tags": ["mcp"],
            "requestBody": {
                "required": true,
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/JsonRpcCall" } } }
            },
            "responses": jsonrpc_responses(spec),
        }}),
    );
    let mut document = json!({
        "openapi": "3.1.0",
        "info": { "title": spec.title, "version": spec.version },
        "paths": paths,
        "components": { "schemas": schemas },
    });
    if let Some(description) = spec.description {
        document["info"]["description"] = Value::String(description.to_owned());
    }
    if let Some(auth) = spec.auth {
        document["components"]["securitySchemes"] = json!({ "bearer": auth.openapi_scheme() });
        document["security"] = json!([{ "bearer": [] }]);
    }
    document
}

/// The answers of a REST route; `call` adds those of a tool call (400, 404, 422).
fn responses(spec: &Spec<'_>, ok: Value, call: bool) -> Value {
    let error = |description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
        })
    };
    let mut responses = Map::new();
    responses.insert("200".into(), ok);
    if call {
        responses.insert(
            "400".into(),
            error("The body is not JSON, or the tool needs what a REST caller cannot give (such as the user's answer to a question)."),
        );
        responses.insert("404".into(), error("No such tool."));
        responses.insert("413".into(), error("The body is over the size limit."));
        responses.insert("415".into(), error("The body is not `application/json`."));
        responses.insert(
            "422".into(),
            error("The arguments break the tool's input schema (code -32602; `error.data.fields` lists each failing field: `path`, a JSON Pointer, and `message`), or the tool failed (code -32050, its isError result; its content in `error.data.content`)."),
        );
    }
    refusals(spec, &mut responses, error);
    Value::Object(responses)
}

/// The answers of `POST /mcp/call`: a JSON-RPC response either way.
fn jsonrpc_responses(spec: &Spec<'_>) -> Value {
    let reply = |description: &str, schema: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
        })
    };
    let mut responses = Map::new();
    responses
        .insert("200".into(), reply("The tool's CallToolResult (a failed tool has `isError: true`).", "JsonRpcResult"));
    responses.insert(
        "400".into(),
        reply(
            "Not JSON (-32700), not a call (-32600), or the call needs what a REST caller cannot give.",
            "JsonRpcError",
        ),
    );
    responses.insert("404".into(), reply("No such tool (-32601).", "JsonRpcError"));
    responses.insert("413".into(), reply("The body is over the size limit.", "JsonRpcError"));
    responses.insert("415".into(), reply("The body is not `application/json`.", "JsonRpcError"));
    responses.insert(
        "422".into(),
        reply("The arguments break the tool's input schema (-32602, `data.fields`).", "JsonRpcError"),
    );
    refusals(spec, &mut responses, |d| reply(d, "JsonRpcError"));
    Value::Object(responses)
}

/// The refusals every route may answer with.
fn refusals(spec: &Spec<'_>, responses: &mut Map<String, Value>, error: impl Fn(&str) -> Value) {
    if spec.auth.is_some() {
        responses.insert(
            "401".into(),
            error("No valid credentials (the `WWW-Authenticate` challenge says where to get them)."),
        );
    }
    responses.insert(
        "403".into(),
        error(
            "The Host or Origin is not allowed, or the credentials lack a scope this needs (named in the challenge).",
        ),
    );
    responses.insert(
        "429".into(),
        error("Over a rate limit or a tool's concurrency cap; `Retry-After` says when to try again."),
    );
    responses.insert("500".into(), error("The server failed."));
}

/// One variant of `/mcp/call`'s body: a call of tool `name`, whose arguments are the
/// component `{key}.arguments`.
fn jsonrpc_call(name: &str, key: &str, needs_arguments: bool) -> Value {
    let mut required = vec!["jsonrpc", "id", "method"];
    if needs_arguments {
        required.push("params");
    }
    json!({
        "type": "object",
        "required": required,
        "properties": {
            "jsonrpc": { "const": "2.0" },
            "id": { "description": "Echoed in the answer.", "type": ["string", "number"] },
            "method": { "const": name },
            "params": { "$ref": format!("#/components/schemas/{key}.arguments") }
        }
    })
}

/// The schemas every document has; `calls` are the variants of `/mcp/call`'s body.
fn common_schemas(calls: Vec<Value>) -> Map<String, Value> {
    let schemas = json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": { "error": { "$ref": "#/components/schemas/ErrorObject" } }
        },
        "ErrorObject": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": { "type": "integer" },
                "message": { "type": "string" },
                "data": {}
            }
        },
        "Text": {
            "description": "The tool's text content, joined by newlines; its content blocks when some are not text.",
            "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "object" } }]
        },
        "ToolList": {
            "type": "object",
            "required": ["tools"],
            "properties": {
                "tools": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "inputSchema"],
                        "properties": {
                            "name": { "type": "string" },
                            "title": { "type": "string" },
                            "description": { "type": "string" },
                            "inputSchema": { "type": "object" },
                            "outputSchema": { "type": "object" },
                            "annotations": { "type": "object" }
                        }
                    }
                }
            }
        },
        "JsonRpcCall": if calls.is_empty() {
            // No tool to call (none listed, or none this caller may see): any name is unknown.
            json!({
                "type": "object",
                "required": ["jsonrpc", "id", "method"],
                "properties": {
                    "jsonrpc": { "const": "2.0" },
                    "id": { "type": ["string", "number"] },
                    "method": { "type": "string" },
                    "params": { "type": "object" }
                }
            })
        } else {
            json!({ "description": "A call of one tool: `method` is its name.", "oneOf": calls })
        },
        "JsonRpcResult": {
            "type": "object",
            "required": ["jsonrpc", "id", "result"],
            "properties": {
                "jsonrpc": { "const": "2.0" },
                "id": { "type": ["string", "number"] },
                "result": {
                    "type": "object",
                    "required": ["content"],
                    "properties": {
                        "content": { "type": "array", "items": { "type": "object" } },
                        "structuredContent": { "type": "object" },
                        "isError": { "type": "boolean" }
                    }
                }
            }
        },
        "JsonRpcError": {
            "type": "object",
            "required": ["jsonrpc", "error"],
            "properties": {
                "jsonrpc": { "const": "2.0" },
                "id": { "type": ["string", "number"] },
                "error": { "$ref": "#/components/schemas/ErrorObject" }
            }
        }
    });
    match schemas {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A tool's schema as a component named `key`: its local references (`#/…`) made to
/// point inside the component, and its `$schema` left out (OpenAPI 3.1 documents use
/// JSON Schema 2020-12 throughout).
fn component(schema: &Value, key: &str) -> Value {
    let mut schema = if schema.is_object() { schema.clone() } else { json!({ "type": "object" }) };
    if let Value::Object(root) = &mut schema {
        root.remove("$schema");
    }
    rebase(&mut schema, &format!("#/components/schemas/{key}"));
    schema
}

fn rebase(value: &mut Value, base: &str) {
    match value {
        Value::Object(map) => {
            for (name, inner) in map.iter_mut() {
                match inner {
                    Value::String(reference) if name == "$ref" && reference.starts_with('#') => {
                        *reference = format!("{base}{}", &reference[1..]);
                    }
                    _ => rebase(inner, base),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rebase(item, base)),
        _ => {}
    }
}

/// A tool's name as an operation id and component name (`[A-Za-z0-9._-]`).
fn component_key(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect()
}

/// A tool's name as one path segment, percent-encoded beyond RFC 3986's unreserved characters.
fn encode_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(value: Value) -> Box<RawValue> {
        serde_json::value::to_raw_value(&value).unwrap()
    }

    fn spec() -> Spec<'static> {
        Spec { title: "Tenet", version: "1.0", description: None, auth: None }
    }

    #[test]
    fn each_tool_is_one_operation_with_its_own_schemas() {
        let tools = [raw(json!({
            "name": "add",
            "title": "Add",
            "description": "Adds.",
            "inputSchema": { "type": "object", "properties": { "a": { "type": "number" } }, "required": ["a"] },
            "outputSchema": { "type": "object", "properties": { "sum": { "type": "number" } } },
            "annotations": { "readOnlyHint": true }
        }))];
        let doc = document(&spec(), &tools);
        assert_eq!(doc["openapi"], "3.1.0");
        let op = &doc["paths"]["/tools/add"]["post"];
        assert_eq!(op["operationId"], "add");
        assert_eq!(op["summary"], "Add");
        assert_eq!(op["x-mcp-annotations"]["readOnlyHint"], true);
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/add.arguments"
        );
        assert_eq!(doc["components"]["schemas"]["add.arguments"]["required"][0], "a");
        assert_eq!(doc["components"]["schemas"]["add.result"]["properties"]["sum"]["type"], "number");
        assert!(op["responses"]["422"].is_object() && op["responses"]["404"].is_object());
        assert!(op["responses"].get("401").is_none(), "no auth, no 401");
        assert!(doc.get("security").is_none());
        let call = &doc["components"]["schemas"]["JsonRpcCall"]["oneOf"][0];
        assert_eq!(call["properties"]["method"]["const"], "add");
        assert_eq!(call["properties"]["params"]["$ref"], "#/components/schemas/add.arguments");
        assert_eq!(call["required"], json!(["jsonrpc", "id", "method", "params"]));
        assert_eq!(op["requestBody"]["required"], true, "add needs a");
    }

    #[test]
    fn local_references_point_inside_the_component() {
        let tools = [raw(json!({
            "name": "deep",
            "inputSchema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": { "item": { "$ref": "#/$defs/Item" } },
                "$defs": { "Item": { "type": "object", "properties": { "next": { "$ref": "#" } } } }
            }
        }))];
        let doc = document(&spec(), &tools);
        let input = &doc["components"]["schemas"]["deep.arguments"];
        assert!(input.get("$schema").is_none());
        assert_eq!(input["properties"]["item"]["$ref"], "#/components/schemas/deep.arguments/$defs/Item");
        assert_eq!(input["$defs"]["Item"]["properties"]["next"]["$ref"], "#/components/schemas/deep.arguments");
        assert_eq!(
            doc["paths"]["/tools/deep"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Text"
        );
    }

    #[test]
    fn odd_names_are_encoded_in_paths_and_keys() {
        let tools = [raw(json!({ "name": "team/lint tool", "inputSchema": { "type": "object" } }))];
        let doc = document(&spec(), &tools);
        assert!(doc["paths"]["/tools/team%2Flint%20tool"]["post"].is_object(), "{doc}");
        assert_eq!(doc["paths"]["/tools/team%2Flint%20tool"]["post"]["operationId"], "team_lint_tool");
    }
}
