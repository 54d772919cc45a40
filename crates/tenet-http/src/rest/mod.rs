//! Plain HTTP for callers that do not speak MCP (scripts, CI jobs, chat-ops bots,
//! agent platforms that take OpenAPI tools):
//!
//! - `GET /mcp/tools`: every tool, as `tools/list` gives it, in one `{"tools": […]}`;
//! - `POST /mcp/call`: `{"jsonrpc":"2.0","id":…,"method":"<tool>","params":{…arguments…}}`
//!   answered with the tool's `CallToolResult` as `result`, or a JSON-RPC `error`;
//! - `POST /tools/{name}`: the arguments as the body, the structured result (or the
//!   text) as the answer; 422 names each argument that broke the input schema (code
//!   -32602, `data.fields`), and a tool's own failure (`isError`) is a 422 too (code
//!   [`TOOL_ERROR`], its content in `data.content`), never a 200;
//! - `GET /openapi.json`: an OpenAPI 3.1 document of all of it, made from the tools
//!   listed at the time of the request ([`openapi`]).
//!
//! Every call is a 2026-07-28 `tools/call` served by the same [`tenet_server::Server::respond`] as
//! the MCP endpoint: scopes, the response cache, concurrency caps, metrics and the
//! request log apply unchanged. Authorization is the same gate as the MCP endpoint's;
//! rate limits take from the same buckets (`tools/call` and the tool's, `tools/list`).

mod openapi;

use std::sync::Arc;

use std::sync::LazyLock;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tenet_server::jsonrpc::{ErrorCode, ErrorObject, Id, Request as RpcRequest};
use tenet_server::protocol::{
    CLIENT_CAPABILITIES_KEY, INVALID_ARGUMENTS_KEY, PROTOCOL_VERSION_KEY, ProtocolVersion, TRACEPARENT_KEY,
    TRACESTATE_KEY,
};
use tenet_server::{Answer, CancellationToken};
use tokio::sync::mpsc;

use crate::caller::Caller;
use crate::exchange::MESSAGE_CAPACITY;
use crate::response::{self, Refused};
use crate::shared::Shared;
use crate::{door, headers};

/// Where the REST routes are served.
pub(crate) const PATHS: [&str; 4] = ["/mcp/tools", "/mcp/call", "/tools/{name}", "/openapi.json"];

/// The REST routes; `taken` are paths already served, which are left alone.
pub(crate) fn routes(taken: &[&str]) -> Router<Arc<Shared>> {
    // `/mcp/call` answers JSON-RPC, refusals included; the REST routes answer every
    // error as `{"error": {…}}`, whoever refused (the door, the body's checks, the method).
    let handlers: [MethodRouter<Arc<Shared>>; 4] = [
        get(|s, r| rest_shaped(door::admit(s, r, list_tools)))
            .fallback(|| rest_shaped(async { response::method_not_allowed("GET") })),
        post(|s, r| door::admit(s, r, call_jsonrpc)).fallback(|| async { response::method_not_allowed("POST") }),
        post(|s, r| rest_shaped(door::admit(s, r, call_tool)))
            .fallback(|| rest_shaped(async { response::method_not_allowed("POST") })),
        get(|s, r| rest_shaped(door::admit(s, r, openapi::serve)))
            .fallback(|| rest_shaped(async { response::method_not_allowed("GET") })),
    ];
    let mut router = Router::new();
    for (path, handler) in PATHS.into_iter().zip(handlers) {
        if taken.contains(&path) {
            tracing::warn!(path, "REST route not served: the path is already in use");
            continue;
        }
        router = router.route(path, handler);
    }
    router
}

/// The REST routes' one shape of error: an answer that is a JSON-RPC error envelope (a
/// refusal made for every transport) goes out as `{"error": {…}}`, its status and
/// headers (`Retry-After`, `WWW-Authenticate`, `Allow`) unchanged.
async fn rest_shaped(answer: impl std::future::Future<Output = Response>) -> Response {
    /// Refusals are small: a larger body is no refusal of ours, left as it is.
    const MOST: usize = 64 * 1024;
    let response = answer.await;
    if response.status().is_success() {
        return response;
    }
    let small = axum::body::HttpBody::size_hint(response.body()).exact().is_some_and(|n| n <= MOST as u64);
    if !small {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MOST).await else {
        // A body that said its size and then failed: nothing left to answer with.
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        jsonrpc: &'a str,
        #[serde(borrow)]
        error: &'a RawValue,
    }
    let reshaped = serde_json::from_slice::<Envelope<'_>>(&bytes)
        .ok()
        .filter(|e| e.jsonrpc == "2.0")
        .map(|e| format!(r#"{{"error":{}}}"#, e.error.get()));
    let body = reshaped.map_or(bytes, axum::body::Bytes::from);
    parts.headers.insert(axum::http::header::CONTENT_LENGTH, body.len().into());
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// `GET /mcp/tools`.
async fn list_tools(shared: Arc<Shared>, caller: Caller, _: Request) -> Response {
    match all_tools(&shared, caller).await {
        Ok(tools) => response::json(StatusCode::OK, format!(r#"{{"tools":[{}]}}"#, join(&tools))),
        Err(e) => failed(status(e.code), &e),
    }
}

/// Every tool `caller` may see, each as raw JSON, from as many pages of `tools/list` as
/// the server gives; the first counts against the caller's rate limit, the rest are
/// part of it.
pub(super) async fn all_tools(shared: &Shared, mut caller: Caller) -> Result<Vec<Box<RawValue>>, ErrorObject> {
    #[derive(Serialize)]
    struct Params<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        cursor: Option<&'a str>,
        #[serde(rename = "_meta")]
        meta: Meta<'a>,
    }
    #[derive(Deserialize)]
    struct Page {
        tools: Vec<Box<RawValue>>,
        #[serde(rename = "nextCursor")]
        next_cursor: Option<String>,
    }
    let mut tools = Vec::new();
    let mut cursor: Option<String> = None;
    let no_headers = HeaderMap::new();
    // Bounded: a server whose cursors never end would otherwise hold the request forever.
    for _ in 0..MAX_PAGES {
        let params = Params { cursor: cursor.as_deref(), meta: Meta::new(&no_headers) };
        let answer = run(shared, caller.clone(), Id::Number(1), "tools/list", &params).await?;
        caller.limited = None;
        let page: Page = result_of(&answer.line)?;
        tools.extend(page.tools);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(tools),
        }
    }
    Err(ErrorObject::internal(format!("tools/list gave more than {MAX_PAGES} pages")))
}

/// The most pages of `tools/list` read for one REST request.
const MAX_PAGES: usize = 1000;

/// `POST /mcp/call`: the founding documents' JSON-RPC call of a tool by name.
async fn call_jsonrpc(shared: Arc<Shared>, caller: Caller, request: Request) -> Response {
    match jsonrpc(&shared, caller, request).await {
        Ok(response) | Err(response) => response,
    }
}

async fn jsonrpc(shared: &Shared, caller: Caller, request: Request) -> Result<Response, Response> {
    let (parts, body) = request.into_parts();
    #[derive(Deserialize)]
    struct Call<'a> {
        jsonrpc: &'a str,
        /// Echoed as sent: any string or number, as JSON-RPC allows.
        #[serde(borrow)]
        id: Option<&'a RawValue>,
        method: String,
        /// Present (even `null`) or absent: `null` is not arguments.
        #[serde(borrow, default, deserialize_with = "present")]
        params: Option<&'a RawValue>,
    }
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
        <&RawValue>::deserialize(d).map(Some)
    }
    let bytes = read(shared, &parts, body).await?;
    let value: &RawValue = serde_json::from_slice(&bytes).map_err(|e| {
        jsonrpc_error(StatusCode::BAD_REQUEST, None, &ErrorObject::parse_error(format!("Parse error: {e}")))
    })?;
    let call: Call<'_> = serde_json::from_str(value.get()).map_err(|e| {
        let e = ErrorObject::invalid_request(format!(
            "Invalid Request: send {{\"jsonrpc\":\"2.0\",\"id\":…,\"method\":\"<tool name>\",\"params\":{{…}}}}: {e}"
        ));
        jsonrpc_error(StatusCode::BAD_REQUEST, None, &e)
    })?;
    let Some(id) = call.id.filter(|id| id.get() != "null") else {
        let e = ErrorObject::invalid_request("Invalid Request: a call needs an id (a notification gets no answer)");
        return Err(jsonrpc_error(StatusCode::BAD_REQUEST, None, &e));
    };
    if !id.get().starts_with(|c: char| c == '"' || c == '-' || c.is_ascii_digit()) {
        let e = ErrorObject::invalid_request("Invalid Request: the id must be a string or a number");
        return Err(jsonrpc_error(StatusCode::BAD_REQUEST, None, &e));
    }
    if call.jsonrpc != "2.0" {
        let e = ErrorObject::invalid_request("Invalid Request: jsonrpc must be \"2.0\"");
        return Err(jsonrpc_error(StatusCode::BAD_REQUEST, Some(id), &e));
    }
    if !exists(shared, &call.method) {
        return Err(jsonrpc_error(StatusCode::NOT_FOUND, Some(id), &ErrorObject::method_not_found(&call.method)));
    }
    let arguments = call.params.unwrap_or(&EMPTY);
    if let Some(e) = not_an_object(&call.method, arguments) {
        return Err(jsonrpc_error(StatusCode::UNPROCESSABLE_ENTITY, Some(id), &e));
    }
    let answer = call_through(shared, caller, &parts, Id::Number(1), &call.method, arguments)
        .await
        .map_err(|e| jsonrpc_error(status(e.code), Some(id), &e))?;
    // A failed argument check is an isError result for MCP clients; here it is the
    // JSON-RPC error it stands for, with the fields in `data`.
    if let Some(e) = invalid_arguments(&answer.line) {
        return Ok(jsonrpc_reply(StatusCode::UNPROCESSABLE_ENTITY, Some(id), "error", &json_of(&e)));
    }
    let reply: Reply = serde_json::from_slice(&answer.line).map_err(|e| {
        jsonrpc_error(StatusCode::INTERNAL_SERVER_ERROR, Some(id), &ErrorObject::internal(e.to_string()))
    })?;
    Ok(match (reply.result, reply.error) {
        (_, Some(e)) => {
            let mut response = jsonrpc_reply(status(e.code), Some(id), "error", &json_of(&e));
            retry_after(&mut response, &e);
            response
        }
        (Some(result), None) => jsonrpc_reply(StatusCode::OK, Some(id), "result", result.get()),
        (None, None) => jsonrpc_error(StatusCode::INTERNAL_SERVER_ERROR, Some(id), &ErrorObject::internal("no answer")),
    })
}

/// A JSON-RPC response with `id` as the caller sent it and `member` (`result` or
/// `error`) set to the JSON `value`.
fn jsonrpc_reply(status: StatusCode, id: Option<&RawValue>, member: &str, value: &str) -> Response {
    let id = id.map_or(String::new(), |id| format!(r#","id":{}"#, id.get()));
    response::json(status, format!(r#"{{"jsonrpc":"2.0"{id},"{member}":{value}}}"#))
}

/// [`jsonrpc_reply`] with an error, for a call refused before the server saw it.
fn jsonrpc_error(status: StatusCode, id: Option<&RawValue>, e: &ErrorObject) -> Response {
    let mut response = jsonrpc_reply(status, id, "error", &json_of(e));
    response.extensions_mut().insert(Refused);
    response
}

fn json_of(e: &ErrorObject) -> String {
    serde_json::to_string(e).unwrap_or_else(|_| r#"{"code":-32603,"message":"Internal error"}"#.to_owned())
}

/// `Retry-After` from a rate-limited error's `data.retryAfterMs`.
fn retry_after(response: &mut Response, e: &ErrorObject) {
    let wait = e.data.as_ref().and_then(|d| d.get("retryAfterMs")).and_then(serde_json::Value::as_u64);
    if let (tenet_server::RATE_LIMITED, Some(wait)) = (e.code, wait) {
        response::retry_after(response, std::time::Duration::from_millis(wait));
    }
}

/// `POST /tools/{name}`: the arguments as the body, the result as the answer.
async fn call_tool(shared: Arc<Shared>, caller: Caller, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let name = match Path::<String>::from_request_parts(&mut parts, &shared).await {
        Ok(Path(name)) => name,
        Err(rejection) => return rejection.into_response(),
    };
    match by_name(&shared, caller, &name, parts, body).await {
        Ok(response) | Err(response) => response,
    }
}

async fn by_name(shared: &Shared, caller: Caller, name: &str, parts: Parts, body: Body) -> Result<Response, Response> {
    let bytes = read(shared, &parts, body).await?;
    let arguments: &RawValue = if bytes.iter().all(u8::is_ascii_whitespace) {
        &EMPTY
    } else {
        serde_json::from_slice(&bytes).map_err(|e| {
            refuse(StatusCode::BAD_REQUEST, &ErrorObject::parse_error(format!("the body is not JSON: {e}")))
        })?
    };
    if !exists(shared, name) {
        let e = ErrorObject::new(ErrorCode::METHOD_NOT_FOUND, format!("Unknown tool: {name}"));
        return Err(refuse(StatusCode::NOT_FOUND, &e));
    }
    if let Some(e) = not_an_object(name, arguments) {
        return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, &e));
    }
    let answer = call_through(shared, caller, &parts, Id::Number(1), name, arguments)
        .await
        .map_err(|e| failed(status(e.code), &e))?;
    if let Some(code) = answer.error {
        let e = match result_of::<serde::de::IgnoredAny>(&answer.line) {
            Err(e) => e,
            Ok(_) => ErrorObject::new(code, "the call failed"),
        };
        return Err(failed(status(code), &e));
    }
    if let Some(e) = invalid_arguments(&answer.line) {
        return Err(failed(StatusCode::UNPROCESSABLE_ENTITY, &e));
    }
    let result: Called = result_of(&answer.line).map_err(|e| failed(StatusCode::INTERNAL_SERVER_ERROR, &e))?;
    if result.is_error == Some(true) {
        let message = text(&result.content).unwrap_or_else(|| "the tool failed".to_owned());
        let data = serde_json::json!({ "content": result.content });
        return Err(failed(StatusCode::UNPROCESSABLE_ENTITY, &ErrorObject::new(TOOL_ERROR, message).with_data(data)));
    }
    let body = match (&result.structured_content, text(&result.content)) {
        (Some(structured), _) => structured.get().to_owned(),
        (None, Some(text)) => serde_json::to_string(&text).unwrap_or_default(),
        (None, None) => serde_json::to_string(&result.content).unwrap_or_default(),
    };
    Ok(response::json(StatusCode::OK, body))
}

/// The `code` of a REST error body for a tool's own failure (its `isError` result):
/// JSON-RPC has none, so it is one of the codes JSON-RPC leaves to servers.
pub(crate) const TOOL_ERROR: ErrorCode = ErrorCode(-32050);

/// `{}`: the arguments of a call that sent none.
static EMPTY: LazyLock<Box<RawValue>> = LazyLock::new(|| RawValue::from_string("{}".to_owned()).expect("{} is JSON"));

/// The body of a POST: JSON (or empty), within the size limit.
async fn read(shared: &Shared, parts: &Parts, body: Body) -> Result<Bytes, Response> {
    let sent = parts.headers.contains_key(axum::http::header::CONTENT_TYPE);
    if sent && !headers::is_json(&parts.headers) {
        return Err(crate::body::not_json());
    }
    let bytes = shared.read_body(&parts.headers, body).await?;
    if !sent && !bytes.is_empty() {
        return Err(crate::body::not_json());
    }
    Ok(bytes)
}

fn exists(shared: &Shared, name: &str) -> bool {
    shared.server.with_tool(name, |_| ()).is_some()
}

/// The `_meta` of a REST request: the newest stateless version, no client
/// capabilities (nothing can be asked of a REST caller), and the caller's trace context.
struct Meta<'a> {
    traceparent: Option<&'a str>,
    tracestate: Option<&'a str>,
}

impl<'a> Meta<'a> {
    fn new(headers: &'a HeaderMap) -> Self {
        Meta {
            traceparent: headers::text(headers, TRACEPARENT_KEY),
            tracestate: headers::text(headers, TRACESTATE_KEY),
        }
    }
}

impl Serialize for Meta<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(PROTOCOL_VERSION_KEY, ProtocolVersion::LATEST.as_str())?;
        map.serialize_entry(CLIENT_CAPABILITIES_KEY, &serde_json::Map::new())?;
        if let Some(traceparent) = self.traceparent {
            map.serialize_entry(TRACEPARENT_KEY, traceparent)?;
        }
        if let Some(tracestate) = self.tracestate {
            map.serialize_entry(TRACESTATE_KEY, tracestate)?;
        }
        map.end()
    }
}

/// Calls tool `name` with `arguments` through the server.
async fn call_through(
    shared: &Shared,
    caller: Caller,
    parts: &Parts,
    id: Id,
    name: &str,
    arguments: &RawValue,
) -> Result<Answer, ErrorObject> {
    #[derive(Serialize)]
    struct Params<'a> {
        name: &'a str,
        arguments: &'a RawValue,
        #[serde(rename = "_meta")]
        meta: Meta<'a>,
    }
    let params = Params { name, arguments, meta: Meta::new(&parts.headers) };
    run(shared, caller, id, "tools/call", &params).await
}

/// Serves one stateless request through [`tenet_server::Server::respond`], as the MCP endpoint does;
/// whatever the server sends beside the answer (nothing, for a caller that asked for
/// no progress and no log) is dropped.
async fn run(
    shared: &Shared,
    caller: Caller,
    id: Id,
    method: &str,
    params: &impl Serialize,
) -> Result<Answer, ErrorObject> {
    let params = serde_json::value::to_raw_value(params).map_err(|e| ErrorObject::internal(e.to_string()))?;
    let request = RpcRequest { id, method: method.to_owned(), params: Some(params) };
    let (out, mut messages) = mpsc::channel(MESSAGE_CAPACITY);
    let cancel = CancellationToken::new();
    // A caller that goes away drops this future; the guard then cancels the call.
    let _guard = cancel.clone().drop_guard();
    let link = caller.link(out, cancel, shared.shutdown.clone());
    let routed = shared.server.route(&request, &link);
    let answer = shared.server.respond(request, routed, &link);
    tokio::pin!(answer);
    loop {
        tokio::select! {
            answer = &mut answer => return Ok(answer),
            Some(_) = messages.recv() => {}
        }
    }
}

/// A JSON-RPC response line, read.
#[derive(Deserialize)]
struct Reply {
    result: Option<Box<RawValue>>,
    error: Option<ErrorObject>,
}

fn result_of<T: serde::de::DeserializeOwned>(line: &[u8]) -> Result<T, ErrorObject> {
    let reply: Reply = serde_json::from_slice(line).map_err(|e| ErrorObject::internal(e.to_string()))?;
    match (reply.result, reply.error) {
        (_, Some(e)) => Err(e),
        (Some(result), None) => {
            serde_json::from_str(result.get()).map_err(|e| ErrorObject::internal(format!("an unexpected result: {e}")))
        }
        (None, None) => Err(ErrorObject::internal("a response with neither result nor error")),
    }
}

/// A `tools/call` result, as much as REST needs of it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Called {
    #[serde(default)]
    content: Vec<serde_json::Value>,
    structured_content: Option<Box<RawValue>>,
    is_error: Option<bool>,
}

/// The -32602 error a failed argument check stands for, with its fields in `data`.
fn invalid_arguments(line: &[u8]) -> Option<ErrorObject> {
    #[derive(Deserialize)]
    struct Refused {
        content: Vec<serde_json::Value>,
        #[serde(rename = "_meta")]
        meta: serde_json::Map<String, serde_json::Value>,
    }
    // Only a failed argument check carries the key: the common answer is not parsed.
    let key = INVALID_ARGUMENTS_KEY.as_bytes();
    if !line.windows(key.len()).any(|w| w == key) {
        return None;
    }
    let refused: Refused = result_of(line).ok()?;
    let fields = refused.meta.get(INVALID_ARGUMENTS_KEY)?.clone();
    let message = text(&refused.content).unwrap_or_else(|| "Invalid arguments".to_owned());
    Some(ErrorObject::invalid_params(message).with_data(serde_json::json!({ "fields": fields })))
}

/// The -32602 error for arguments that are not a JSON object (`null`, an array, …),
/// worded as the server words it.
fn not_an_object(tool: &str, arguments: &RawValue) -> Option<ErrorObject> {
    if arguments.get().starts_with('{') {
        return None;
    }
    let message = format!("Invalid arguments for tool {tool}: arguments must be an object");
    let fields = serde_json::json!({ "fields": [{ "path": "", "message": "not an object" }] });
    Some(ErrorObject::invalid_params(message).with_data(fields))
}

/// The text of content blocks that are all text, joined by newlines.
fn text(content: &[serde_json::Value]) -> Option<String> {
    let texts: Option<Vec<&str>> =
        content.iter().map(|block| (block["type"] == "text").then(|| block["text"].as_str()).flatten()).collect();
    texts.filter(|t| !t.is_empty()).map(|t| t.join("\n"))
}

/// The HTTP status of a JSON-RPC error code, for REST callers.
fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        ErrorCode::INVALID_PARAMS => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::INTERNAL_ERROR => StatusCode::INTERNAL_SERVER_ERROR,
        tenet_server::INSUFFICIENT_SCOPE => StatusCode::FORBIDDEN,
        tenet_server::RATE_LIMITED => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// A REST error body: `{"error": {"code", "message", "data"?}}` (the JSON-RPC error
/// object, so that the step-up challenge of a 403 reads it as on the MCP endpoint),
/// for a call the server answered (with `Retry-After` when it was rate limited).
fn failed(status: StatusCode, e: &ErrorObject) -> Response {
    let mut response = response::json(status, serde_json::json!({ "error": e }).to_string());
    retry_after(&mut response, e);
    response
}

/// [`failed`], for a request refused before the server saw it (counted as refused).
fn refuse(status: StatusCode, e: &ErrorObject) -> Response {
    let mut response = failed(status, e);
    response.extensions_mut().insert(Refused);
    response
}

fn join(items: &[Box<RawValue>]) -> String {
    let mut out = String::with_capacity(items.iter().map(|i| i.get().len() + 1).sum());
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(item.get());
    }
    out
}
