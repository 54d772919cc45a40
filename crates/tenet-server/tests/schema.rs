//! The server's real output, over an in-memory pipe, against each MCP version's
//! official JSON schema (`/work/shared/mcp-spec/<version>/schema.json`).
//!
//! For every legacy version the client initializes with that `protocolVersion` and
//! then checks every result (initialize, tools, resources, prompts, completion, ping,
//! logging, subscriptions, elicitation and tasks where the version has them) against
//! that version's result definitions, every response envelope against its JSON-RPC
//! definition, and every notification or request the server sends against the
//! definition for its method. The same is done for 2026-07-28 over stateless requests,
//! where the per-method `…ResultResponse` definitions and the error definitions are
//! checked too.
//!
//! Each test collects every failure before it fails, so one run lists them all.

use std::collections::HashMap;
use std::time::Duration;

use crate::support::{compile_definition, describe, read_json, spec_root};
use jsonschema::Validator;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tenet_protocol::{
    Annotations, BlobResourceContents, ContentBlock, ElicitAction, ElicitParams, GetPromptResult, Icon, LoggingLevel,
    PromptMessage, Resource, ResourceContents, ResourceLink, ResourceTemplate, Role, TextResourceContents,
};
use tenet_server::{
    Args, CancellationToken, CompletionRequest, Context, Json, PromptDef, PromptRequest, ReadRequest, ResourceDef,
    Server, ServerConfig, TaskSupport, TemplateDef, ToolDef, ToolError,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, ReadHalf, WriteHalf};

const LEGACY: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
const MODERN: &str = "2026-07-28";

// ---------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------

/// One version's schema document, with a validator per definition compiled on demand.
struct Schema {
    version: &'static str,
    document: Value,
    validators: HashMap<String, Validator>,
}

impl Schema {
    fn load(version: &'static str) -> Self {
        let document = read_json(&spec_root().join(version).join("schema.json"));
        Self { version, document, validators: HashMap::new() }
    }

    fn definitions(&self) -> &Map<String, Value> {
        self.document
            .get("$defs")
            .or_else(|| self.document.get("definitions"))
            .and_then(Value::as_object)
            .expect("a schema document with $defs or definitions")
    }

    fn has(&self, name: &str) -> bool {
        self.definitions().contains_key(name)
    }

    /// The first of `names` this version defines.
    fn first_of(&self, names: &[&'static str]) -> &'static str {
        names.iter().copied().find(|n| self.has(n)).unwrap_or_else(|| panic!("{}: none of {names:?}", self.version))
    }

    /// The definition of the notification (or request) whose `method` is `method`.
    fn message_definition(&self, method: &str, request: bool) -> Option<String> {
        let suffix = if request { "Request" } else { "Notification" };
        self.definitions()
            .iter()
            .find(|(name, def)| {
                name.ends_with(suffix)
                    && def.pointer("/properties/method/const").and_then(Value::as_str) == Some(method)
            })
            .map(|(name, _)| name.clone())
    }

    /// Every problem `instance` has against the definition `name`, one line each.
    fn problems(&mut self, name: &str, instance: &Value) -> Vec<String> {
        if !self.validators.contains_key(name) {
            assert!(self.has(name), "{}: the schema has no definition {name}", self.version);
            let compiled = compile_definition(&self.document, name);
            self.validators.insert(name.to_owned(), compiled);
        }
        self.validators[name].iter_errors(instance).map(|e| describe(&e)).collect()
    }
}

/// Validates what the server sent against one version's schema, collecting failures.
struct Checker {
    schema: Schema,
    failures: Vec<String>,
    checked: usize,
}

impl Checker {
    fn new(version: &'static str) -> Self {
        Self { schema: Schema::load(version), failures: Vec::new(), checked: 0 }
    }

    fn fail(&mut self, what: &str, problem: impl std::fmt::Display) {
        self.failures.push(format!("{} {what}: {problem}", self.schema.version));
    }

    /// `instance` must validate against `definition`.
    fn check(&mut self, what: &str, definition: &str, instance: &Value) {
        self.checked += 1;
        for problem in self.schema.problems(definition, instance) {
            self.fail(what, format_args!("fails {definition}: {problem}"));
        }
    }

    /// `response` must be a success whose result validates against `definition`, and
    /// whose envelope validates against the version's JSON-RPC result response (and, in
    /// 2026-07-28, against `<definition>Response` where the schema has one). Returns the
    /// result (or `null`).
    fn result(&mut self, what: &str, response: &Value, definition: &str) -> Value {
        let Some(result) = response.get("result") else {
            self.fail(what, format_args!("expected a result, got {response}"));
            return Value::Null;
        };
        self.check(what, definition, result);
        let envelope = self.schema.first_of(&["JSONRPCResultResponse", "JSONRPCResponse"]);
        self.check(what, envelope, response);
        let specific = format!("{definition}Response");
        if self.schema.has(&specific) {
            self.check(what, &specific, response);
        }
        result.clone()
    }

    /// `response` must be an error with `code` whose envelope validates against the
    /// version's JSON-RPC error response (and against `definitions`, e.g. the 2026-07-28
    /// error definitions, which describe either the envelope or the error object).
    fn error(&mut self, what: &str, response: &Value, code: i64, definitions: &[&str]) {
        let Some(error) = response.get("error") else {
            self.fail(what, format_args!("expected an error, got {response}"));
            return;
        };
        if error.get("code").and_then(Value::as_i64) != Some(code) {
            self.fail(what, format_args!("expected error code {code}, got {error}"));
        }
        let envelope = self.schema.first_of(&["JSONRPCErrorResponse", "JSONRPCError"]);
        self.check(what, envelope, response);
        for &definition in definitions {
            let is_envelope = self.schema.definitions()[definition].pointer("/properties/error").is_some();
            self.check(what, definition, if is_envelope { response } else { error });
        }
    }

    /// Every notification or request the server sent on its own must validate against
    /// the definition for its method and the JSON-RPC envelope.
    fn messages(&mut self, messages: &[Value]) {
        for message in messages {
            let method = message.get("method").and_then(Value::as_str).unwrap_or_default();
            let request = message.get("id").is_some();
            let what = format!("server-sent {method}");
            if method.is_empty() {
                self.fail(&what, format_args!("an unexpected message: {message}"));
                continue;
            }
            match self.schema.message_definition(method, request) {
                Some(definition) => self.check(&what, &definition, message),
                None => self.fail(&what, "the schema defines no such message"),
            }
            let envelope = if request { "JSONRPCRequest" } else { "JSONRPCNotification" };
            self.check(&what, envelope, message);
        }
    }

    fn expect(&mut self, what: &str, condition: bool, detail: impl std::fmt::Display) {
        if !condition {
            self.fail(what, detail);
        }
    }

    fn finish(self) {
        assert!(self.checked > 0, "nothing was checked");
        assert!(
            self.failures.is_empty(),
            "{} schema failure(s) in {} checks:\n{}",
            self.failures.len(),
            self.checked,
            self.failures.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------------------

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    /// What to say back.
    text: String,
}

async fn echo(Args(args): Args<EchoArgs>) -> String {
    args.text
}

#[derive(Deserialize, JsonSchema)]
struct City {
    /// The city.
    city: String,
}

#[derive(Serialize, JsonSchema)]
struct Weather {
    city: String,
    temperature: f64,
    conditions: String,
}

async fn weather(Args(City { city }): Args<City>) -> Json<Weather> {
    Json(Weather { city, temperature: 21.5, conditions: "sunny".into() })
}

async fn fail() -> Result<String, ToolError> {
    Err(ToolError::msg("the tool failed on purpose"))
}

async fn work(ctx: Context) -> String {
    ctx.progress(1.0, Some(2.0), Some("halfway".into())).await;
    ctx.log(LoggingLevel::Info, json!({"step": "halfway"})).await;
    ctx.progress(2.0, Some(2.0), None).await;
    "done".into()
}

async fn ask(ctx: Context) -> Result<String, ToolError> {
    let form = ElicitParams::form(
        "What is your name?",
        json!({
            "type": "object",
            "properties": {"name": {"type": "string", "title": "Name"}},
            "required": ["name"],
        }),
    );
    let answer = ctx.elicit("name", form).await?;
    if answer.action != ElicitAction::Accept {
        return Ok("no name".into());
    }
    let name = answer.content.and_then(|c| c.get("name").cloned()).unwrap_or_default();
    Ok(format!("hello {}", name.as_str().unwrap_or("?")))
}

/// One block of every content type, with annotations.
async fn media() -> Vec<ContentBlock> {
    let annotations = Annotations {
        audience: Some(vec![Role::User, Role::Assistant]),
        priority: Some(0.5),
        last_modified: Some("2025-01-12T15:00:58Z".into()),
    };
    let link = ResourceLink {
        uri: "mem://readme".into(),
        name: "readme".into(),
        title: Some("Read me".into()),
        description: None,
        mime_type: Some("text/markdown".into()),
        size: Some(9),
        annotations: None,
        icons: None,
        meta: None,
    };
    let blob = BlobResourceContents {
        uri: "mem://blob".into(),
        mime_type: Some("application/octet-stream".into()),
        blob: "AAECAw==".into(),
        meta: None,
    };
    vec![
        ContentBlock::Text { text: "every kind of block".into(), annotations: Some(annotations), meta: None },
        ContentBlock::image(PNG, "image/png"),
        ContentBlock::audio(WAV, "audio/wav"),
        ContentBlock::ResourceLink(Box::new(link)),
        ContentBlock::resource(ResourceContents::Blob(blob)),
    ]
}

/// A 1×1 PNG and a tiny WAV, base64-encoded.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const WAV: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEARKwAAIhYAQACABAAZGF0YQAAAAA=";

fn icon() -> Icon {
    Icon {
        src: "https://example.com/icon.png".into(),
        mime_type: Some("image/png".into()),
        sizes: Some(vec!["48x48".into()]),
        theme: Some("light".into()),
    }
}

fn prefixed(candidates: &[&str], prefix: &str) -> Vec<String> {
    candidates.iter().filter(|c| c.starts_with(prefix)).map(|c| (*c).to_owned()).collect()
}

fn server() -> Server {
    let readme = Resource {
        uri: "mem://readme".into(),
        name: "readme".into(),
        title: Some("Read me".into()),
        description: Some("What this server is".into()),
        mime_type: Some("text/markdown".into()),
        size: Some(9),
        annotations: Some(Annotations { audience: Some(vec![Role::User]), priority: Some(0.8), last_modified: None }),
        icons: Some(vec![icon()]),
        meta: None,
    };
    let docs = ResourceTemplate {
        uri_template: "mem://docs/{topic}".into(),
        name: "docs".into(),
        title: Some("Docs".into()),
        description: Some("Documentation by topic".into()),
        mime_type: Some("text/plain".into()),
        annotations: None,
        icons: Some(vec![icon()]),
        meta: None,
    };
    let read_docs = |req: ReadRequest| async move {
        let topic = req.vars.get("topic").cloned().unwrap_or_default();
        Ok(Some(vec![ResourceContents::Text(TextResourceContents {
            uri: req.uri,
            mime_type: Some("text/plain".into()),
            text: format!("all about {topic}"),
            meta: None,
        })]))
    };
    let review = |req: PromptRequest| async move {
        let language = req.arguments.get("language").cloned().unwrap_or_default();
        Ok::<_, ToolError>(GetPromptResult {
            description: Some("A code review".into()),
            messages: vec![PromptMessage::user(format!("Review this {language} code."))],
            meta: None,
        })
    };
    // A small page, so list results carry a nextCursor.
    let config = ServerConfig { page_size: 4, ..ServerConfig::default() };
    Server::builder("schema-test", "1.0.0")
        .config(config)
        .title("Schema test server")
        .description("Exercises every result type")
        .instructions("Use echo to echo.")
        .tool(
            ToolDef::new("echo", echo)
                .title("Echo")
                .description("Says the text back")
                .read_only()
                .icons(vec![icon()])
                .cacheable(Duration::from_secs(60)),
        )
        .tool(ToolDef::new("weather", weather).description("Structured weather"))
        .tool(ToolDef::new("fail", fail).description("Always fails"))
        .tool(ToolDef::new("work", work).description("Reports progress and logs"))
        .tool(ToolDef::new("media", media).description("Returns every kind of content block"))
        .tool(ToolDef::new("ask", ask).description("Asks the user their name"))
        .tool(ToolDef::new("background", echo).description("Runs as a task").task_support(TaskSupport::Optional))
        .resource(ResourceDef::text(readme, "# Read me").cacheable(Duration::from_secs(60)))
        .template(TemplateDef::new(docs, read_docs).cacheable(Duration::from_secs(60)).complete(
            "topic",
            |req: CompletionRequest| async move { prefixed(&["rust", "ruby", "python"], &req.value) },
        ))
        .prompt(
            PromptDef::new("review", review)
                .title("Review")
                .description("Reviews code")
                .argument("language", "The language of the code", true)
                .complete("language", |req: CompletionRequest| async move {
                    prefixed(&["rust", "ruby", "python"], &req.value)
                }),
        )
        .build()
        .expect("the test server builds")
}

// ---------------------------------------------------------------------------------------
// A client over an in-memory pipe
// ---------------------------------------------------------------------------------------

struct Client {
    write: WriteHalf<DuplexStream>,
    lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
    /// Every message the server sent that was not a response we waited for.
    others: Vec<Value>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Client {
    fn start(server: Server) -> Self {
        let (client, server_end) = tenet_transport::memory::pair();
        let (read, write) = tokio::io::split(server_end);
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move { server.serve(read, write, token).await });
        let (read, write) = tokio::io::split(client);
        Self { write, lines: BufReader::new(read).lines(), others: Vec::new(), shutdown, task }
    }

    async fn send_raw(&mut self, line: &str) {
        self.write.write_all(line.as_bytes()).await.expect("the pipe is open");
        self.write.write_all(b"\n").await.expect("the pipe is open");
    }

    async fn send(&mut self, message: &Value) {
        self.send_raw(&message.to_string()).await;
    }

    /// The next message, or `None` at the end of the stream.
    async fn next(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line())
            .await
            .expect("no message within 10 s")
            .expect("the pipe reads")?;
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("the server sent non-JSON {line}: {e}")))
    }

    /// Waits for the response with `id`, keeping everything else in `others`.
    async fn response(&mut self, id: &Value) -> Value {
        loop {
            let message = self.next().await.expect("the server closed the stream before responding");
            if message.get("id") == Some(id) && message.get("method").is_none() {
                return message;
            }
            self.others.push(message);
        }
    }

    /// Waits for a batch response (an array), keeping everything else in `others`.
    async fn batch(&mut self) -> Value {
        loop {
            let message = self.next().await.expect("the server closed the stream before responding to a batch");
            if message.is_array() {
                return message;
            }
            self.others.push(message);
        }
    }

    /// Waits for a message with `method` (a notification or a server request), keeping
    /// it (and everything before it) in `others`.
    async fn wait_for(&mut self, method: &str) -> Value {
        if let Some(found) = self.others.iter().find(|m| m["method"] == method) {
            return found.clone();
        }
        loop {
            let message = self.next().await.unwrap_or_else(|| panic!("the stream ended before {method}"));
            self.others.push(message.clone());
            if message["method"] == method {
                return message;
            }
        }
    }

    async fn request(&mut self, id: impl Into<Value>, method: &str, params: Value) -> Value {
        let id = id.into();
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        self.response(&id).await
    }

    /// Shuts the server down (as on SIGTERM), reads what it still sends until the stream
    /// ends, waits for `serve` to return, and returns every message the server sent that
    /// nobody waited for.
    async fn finish(mut self) -> Vec<Value> {
        self.shutdown.cancel();
        while let Some(message) = self.next().await {
            self.others.push(message);
        }
        drop(self.write);
        let served = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        served.expect("the server finishes").expect("the server task does not panic").expect("serve returns Ok");
        self.others
    }
}

fn content_text(result: &Value) -> &str {
    result.pointer("/content/0/text").and_then(Value::as_str).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Legacy versions
// ---------------------------------------------------------------------------------------

/// The legacy handshake at `version`; returns the initialize response.
async fn initialize(c: &mut Client, version: &str, caps: Value) -> Value {
    let params = json!({
        "protocolVersion": version,
        "capabilities": caps,
        "clientInfo": {"name": "schema-test", "version": "0"},
    });
    let response = c.request(0, "initialize", params).await;
    c.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    response
}

/// Serves a fresh server to a client that initializes at `version`, checking everything
/// the server sends against that version's schema.
async fn check_legacy(version: &'static str) {
    let mut ck = Checker::new(version);
    let server = server();
    let mut c = Client::start(server.clone());
    let elicitation = ck.schema.has("ElicitRequest");
    let tasks = ck.schema.has("CreateTaskResult");

    let caps = if elicitation { json!({"elicitation": {}}) } else { json!({}) };
    let init = initialize(&mut c, version, caps).await;
    let result = ck.result("initialize", &init, "InitializeResult");
    let negotiated = &result["protocolVersion"];
    ck.expect("initialize", *negotiated == version, format_args!("negotiated {negotiated}"));

    let ping = c.request(1, "ping", json!({})).await;
    ck.result("ping", &ping, "EmptyResult");
    let set_level = c.request(2, "logging/setLevel", json!({"level": "debug"})).await;
    ck.result("logging/setLevel", &set_level, "EmptyResult");

    // Tools.
    let list = c.request(10, "tools/list", json!({})).await;
    let result = ck.result("tools/list", &list, "ListToolsResult");
    ck.expect("tools/list", result["nextCursor"].is_string(), "no nextCursor on the first page");
    let next = c.request(17, "tools/list", json!({"cursor": result["nextCursor"]})).await;
    ck.result("tools/list (second page)", &next, "ListToolsResult");
    let text = c.request(11, "tools/call", json!({"name": "echo", "arguments": {"text": "hi"}})).await;
    let result = ck.result("tools/call (text)", &text, "CallToolResult");
    ck.expect("tools/call (text)", content_text(&result) == "hi", &result);
    let structured = c.request(12, "tools/call", json!({"name": "weather", "arguments": {"city": "Oslo"}})).await;
    let result = ck.result("tools/call (structured)", &structured, "CallToolResult");
    ck.expect("tools/call (structured)", result["structuredContent"]["city"] == "Oslo", &result);
    let failed = c.request(13, "tools/call", json!({"name": "fail", "arguments": {}})).await;
    let result = ck.result("tools/call (isError)", &failed, "CallToolResult");
    ck.expect("tools/call (isError)", result["isError"] == true, &result);
    let invalid = c.request(14, "tools/call", json!({"name": "echo", "arguments": {"text": 5}})).await;
    let result = ck.result("tools/call (invalid arguments)", &invalid, "CallToolResult");
    ck.expect("tools/call (invalid arguments)", result["isError"] == true, &result);
    let progress = json!({"name": "work", "arguments": {}, "_meta": {"progressToken": "work-1"}});
    let worked = c.request(15, "tools/call", progress).await;
    ck.result("tools/call (progress and logs)", &worked, "CallToolResult");
    let unknown_tool = c.request(16, "tools/call", json!({"name": "nope", "arguments": {}})).await;
    ck.error("tools/call (unknown tool)", &unknown_tool, -32602, &[]);

    // Resources.
    let list = c.request(20, "resources/list", json!({})).await;
    ck.result("resources/list", &list, "ListResourcesResult");
    let templates = c.request(21, "resources/templates/list", json!({})).await;
    ck.result("resources/templates/list", &templates, "ListResourceTemplatesResult");
    let read = c.request(22, "resources/read", json!({"uri": "mem://readme"})).await;
    ck.result("resources/read", &read, "ReadResourceResult");
    let read = c.request(23, "resources/read", json!({"uri": "mem://docs/rust"})).await;
    ck.result("resources/read (template)", &read, "ReadResourceResult");
    let missing = c.request(24, "resources/read", json!({"uri": "other://nothing"})).await;
    ck.error("resources/read (not found)", &missing, -32002, &[]);
    let subscribe = c.request(25, "resources/subscribe", json!({"uri": "mem://readme"})).await;
    ck.result("resources/subscribe", &subscribe, "EmptyResult");
    server.notify_resource_updated("mem://readme");
    c.wait_for("notifications/resources/updated").await;
    let unsubscribe = c.request(26, "resources/unsubscribe", json!({"uri": "mem://readme"})).await;
    ck.result("resources/unsubscribe", &unsubscribe, "EmptyResult");

    // Prompts.
    let list = c.request(30, "prompts/list", json!({})).await;
    ck.result("prompts/list", &list, "ListPromptsResult");
    let get = c.request(31, "prompts/get", json!({"name": "review", "arguments": {"language": "rust"}})).await;
    ck.result("prompts/get", &get, "GetPromptResult");

    // Completion (every legacy version has completion/complete and CompleteResult).
    let prompt_ref =
        json!({"ref": {"type": "ref/prompt", "name": "review"}, "argument": {"name": "language", "value": "r"}});
    let complete = c.request(40, "completion/complete", prompt_ref).await;
    let result = ck.result("completion/complete (prompt)", &complete, "CompleteResult");
    ck.expect("completion/complete (prompt)", result["completion"]["values"] == json!(["rust", "ruby"]), &result);
    let resource_ref = json!({
        "ref": {"type": "ref/resource", "uri": "mem://docs/{topic}"},
        "argument": {"name": "topic", "value": "py"},
    });
    let complete = c.request(41, "completion/complete", resource_ref).await;
    ck.result("completion/complete (resource)", &complete, "CompleteResult");

    // A real elicitation/create request to the client (2025-06-18 and later).
    if elicitation {
        c.send(
            &json!({"jsonrpc": "2.0", "id": 50, "method": "tools/call", "params": {"name": "ask", "arguments": {}}}),
        )
        .await;
        let asked = c.wait_for("elicitation/create").await;
        let answer =
            json!({"jsonrpc": "2.0", "id": asked["id"], "result": {"action": "accept", "content": {"name": "Ada"}}});
        c.send(&answer).await;
        let done = c.response(&json!(50)).await;
        let result = ck.result("tools/call (after elicitation)", &done, "CallToolResult");
        ck.expect("tools/call (after elicitation)", content_text(&result) == "hello Ada", &result);
    }

    // Tasks (2025-11-25).
    if tasks {
        let call = json!({"name": "background", "arguments": {"text": "later"}, "task": {"ttl": 60000}});
        let created = c.request(60, "tools/call", call).await;
        let result = ck.result("tools/call (task)", &created, "CreateTaskResult");
        let id = result.pointer("/task/taskId").cloned().unwrap_or(Value::Null);
        let payload = c.request(61, "tasks/result", json!({"taskId": id})).await;
        let result = ck.result("tasks/result", &payload, "GetTaskPayloadResult");
        // The payload of a tools/call task is that call's result.
        ck.check("tasks/result", "CallToolResult", &result);
        let got = c.request(62, "tasks/get", json!({"taskId": id})).await;
        ck.result("tasks/get", &got, "GetTaskResult");
        let listed = c.request(63, "tasks/list", json!({})).await;
        ck.result("tasks/list", &listed, "ListTasksResult");
    }

    // JSON-RPC batches (2025-03-26 only).
    if ck.schema.has("JSONRPCBatchResponse") {
        let batch = json!([
            {"jsonrpc": "2.0", "id": 70, "method": "ping"},
            {"jsonrpc": "2.0", "id": 71, "method": "tools/list"},
            {"jsonrpc": "2.0", "id": 72, "method": "no/such/method"},
        ]);
        c.send(&batch).await;
        let responses = c.batch().await;
        ck.check("batch", "JSONRPCBatchResponse", &responses);
        let count = responses.as_array().map_or(0, Vec::len);
        ck.expect("batch", count == 3, format_args!("{count} responses to a batch of 3"));
        for response in responses.as_array().into_iter().flatten() {
            match response["id"].as_i64() {
                Some(70) => {
                    ck.result("batch: ping", response, "EmptyResult");
                }
                Some(71) => {
                    ck.result("batch: tools/list", response, "ListToolsResult");
                }
                _ => ck.error("batch: unknown method", response, -32601, &[]),
            }
        }
    }

    // List changes reach the session as notifications.
    server.add_tool(ToolDef::new("late", echo).description("Added while serving")).expect("the tool compiles");
    c.wait_for("notifications/tools/list_changed").await;

    // Errors.
    let unknown = c.request(90, "no/such/method", json!({})).await;
    ck.error("unknown method", &unknown, -32601, &[]);
    let again = c
        .request(
            91,
            "initialize",
            json!({"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "again", "version": "0"}}),
        )
        .await;
    ck.error("second initialize", &again, -32600, &[]);

    let others = c.finish().await;
    for method in ["notifications/progress", "notifications/message"] {
        ck.expect(
            "tools/call (progress and logs)",
            others.iter().any(|m| m["method"] == method),
            format_args!("no {method}"),
        );
    }
    ck.messages(&others);
    ck.finish();
}

#[tokio::test]
async fn legacy_2024_11_05_output_validates() {
    check_legacy(LEGACY[0]).await;
}

#[tokio::test]
async fn legacy_2025_03_26_output_validates() {
    check_legacy(LEGACY[1]).await;
}

#[tokio::test]
async fn legacy_2025_06_18_output_validates() {
    check_legacy(LEGACY[2]).await;
}

#[tokio::test]
async fn legacy_2025_11_25_output_validates() {
    check_legacy(LEGACY[3]).await;
}

// ---------------------------------------------------------------------------------------
// 2026-07-28 (stateless)
// ---------------------------------------------------------------------------------------

/// Params with the 2026-07-28 `_meta` (version and client capabilities) added.
fn stateless(mut params: Value, caps: Value) -> Value {
    let meta = params.as_object_mut().expect("params are an object").entry("_meta").or_insert_with(|| json!({}));
    let meta = meta.as_object_mut().expect("_meta is an object");
    meta.insert("io.modelcontextprotocol/protocolVersion".into(), json!(MODERN));
    meta.insert("io.modelcontextprotocol/clientCapabilities".into(), caps);
    params
}

#[tokio::test]
async fn stateless_2026_07_28_results_validate() {
    let mut ck = Checker::new(MODERN);
    let mut c = Client::start(server());
    let none = || json!({});

    let discover = c.request(1, "server/discover", stateless(json!({}), none())).await;
    let result = ck.result("server/discover", &discover, "DiscoverResult");
    ck.expect("server/discover", result["supportedVersions"] == json!([MODERN]), &result);

    // Tools.
    let list = c.request(10, "tools/list", stateless(json!({}), none())).await;
    let result = ck.result("tools/list", &list, "ListToolsResult");
    ck.expect("tools/list", result["nextCursor"].is_string(), "no nextCursor on the first page");
    let next = c.request(18, "tools/list", stateless(json!({"cursor": result["nextCursor"]}), none())).await;
    ck.result("tools/list (second page)", &next, "ListToolsResult");
    for id in [11, 19] {
        // The second call is answered from the cache.
        let call = stateless(json!({"name": "echo", "arguments": {"text": "hi"}}), none());
        let text = c.request(id, "tools/call", call).await;
        let result = ck.result("tools/call (text)", &text, "CallToolResult");
        ck.expect("tools/call (text)", content_text(&result) == "hi", &result);
    }
    let call = stateless(json!({"name": "weather", "arguments": {"city": "Oslo"}}), none());
    let structured = c.request(12, "tools/call", call).await;
    let result = ck.result("tools/call (structured)", &structured, "CallToolResult");
    ck.expect("tools/call (structured)", result["structuredContent"]["city"] == "Oslo", &result);
    let failed = c.request(13, "tools/call", stateless(json!({"name": "fail", "arguments": {}}), none())).await;
    let result = ck.result("tools/call (isError)", &failed, "CallToolResult");
    ck.expect("tools/call (isError)", result["isError"] == true, &result);
    let invalid =
        c.request(14, "tools/call", stateless(json!({"name": "echo", "arguments": {"text": 5}}), none())).await;
    let result = ck.result("tools/call (invalid arguments)", &invalid, "CallToolResult");
    ck.expect("tools/call (invalid arguments)", result["isError"] == true, &result);
    let work = json!({
        "name": "work",
        "arguments": {},
        "_meta": {"progressToken": 7, "io.modelcontextprotocol/logLevel": "debug"},
    });
    let worked = c.request(15, "tools/call", stateless(work, none())).await;
    ck.result("tools/call (progress and logs)", &worked, "CallToolResult");

    // Input required (MRTR): ask, then answer.
    let elicitation = json!({"elicitation": {}});
    let first =
        c.request(16, "tools/call", stateless(json!({"name": "ask", "arguments": {}}), elicitation.clone())).await;
    let result = ck.result("tools/call (input required)", &first, "InputRequiredResult");
    // The per-method response definition allows InputRequiredResult as the result.
    ck.check("tools/call (input required)", "CallToolResultResponse", &first);
    ck.expect("tools/call (input required)", result["resultType"] == "input_required", &result);
    let retry = json!({
        "name": "ask",
        "arguments": {},
        "inputResponses": {"name": {"action": "accept", "content": {"name": "Ada"}}},
        "requestState": result["requestState"],
    });
    let done = c.request(17, "tools/call", stateless(retry, elicitation)).await;
    let result = ck.result("tools/call (after input)", &done, "CallToolResult");
    ck.expect("tools/call (after input)", content_text(&result) == "hello Ada", &result);

    // Resources.
    let list = c.request(20, "resources/list", stateless(json!({}), none())).await;
    ck.result("resources/list", &list, "ListResourcesResult");
    let templates = c.request(21, "resources/templates/list", stateless(json!({}), none())).await;
    ck.result("resources/templates/list", &templates, "ListResourceTemplatesResult");
    let read = c.request(22, "resources/read", stateless(json!({"uri": "mem://readme"}), none())).await;
    let first = ck.result("resources/read", &read, "ReadResourceResult");
    ck.expect("resources/read", first["ttlMs"] == 60_000 && first["cacheScope"] == "public", &first);
    let again = c.request(24, "resources/read", stateless(json!({"uri": "mem://readme"}), none())).await;
    let cached = ck.result("resources/read (from the cache)", &again, "ReadResourceResult");
    let ttl = cached["ttlMs"].as_u64().unwrap_or(u64::MAX);
    ck.expect("resources/read (from the cache)", ttl <= 60_000 && cached["contents"] == first["contents"], &cached);
    let read = c.request(23, "resources/read", stateless(json!({"uri": "mem://docs/rust"}), none())).await;
    ck.result("resources/read (template)", &read, "ReadResourceResult");

    // Prompts.
    let list = c.request(30, "prompts/list", stateless(json!({}), none())).await;
    ck.result("prompts/list", &list, "ListPromptsResult");
    let get = json!({"name": "review", "arguments": {"language": "rust"}});
    let got = c.request(31, "prompts/get", stateless(get, none())).await;
    ck.result("prompts/get", &got, "GetPromptResult");

    // Completion.
    let prompt_ref =
        json!({"ref": {"type": "ref/prompt", "name": "review"}, "argument": {"name": "language", "value": "r"}});
    let complete = c.request(40, "completion/complete", stateless(prompt_ref, none())).await;
    let result = ck.result("completion/complete (prompt)", &complete, "CompleteResult");
    ck.expect("completion/complete (prompt)", result["completion"]["values"] == json!(["rust", "ruby"]), &result);
    let resource_ref = json!({
        "ref": {"type": "ref/resource", "uri": "mem://docs/{topic}"},
        "argument": {"name": "topic", "value": "py"},
        "context": {"arguments": {"other": "x"}},
    });
    let complete = c.request(41, "completion/complete", stateless(resource_ref, none())).await;
    ck.result("completion/complete (resource)", &complete, "CompleteResult");

    let others = c.finish().await;
    for method in ["notifications/progress", "notifications/message"] {
        ck.expect(
            "tools/call (progress and logs)",
            others.iter().any(|m| m["method"] == method),
            format_args!("no {method}"),
        );
    }
    ck.messages(&others);
    ck.finish();
}

#[tokio::test]
async fn stateless_2026_07_28_errors_validate() {
    let mut ck = Checker::new(MODERN);
    let mut c = Client::start(server());
    let none = || json!({});

    let unknown = c.request(1, "no/such/method", stateless(json!({}), none())).await;
    ck.error("unknown method", &unknown, -32601, &["MethodNotFoundError"]);
    // ping is gone in 2026-07-28.
    let ping = c.request(2, "ping", stateless(json!({}), none())).await;
    ck.error("ping", &ping, -32601, &["MethodNotFoundError"]);
    let tool = c.request(3, "tools/call", stateless(json!({"name": "nope", "arguments": {}}), none())).await;
    ck.error("tools/call (unknown tool)", &tool, -32602, &["InvalidParamsError"]);
    let prompt = c.request(4, "prompts/get", stateless(json!({"name": "nope"}), none())).await;
    ck.error("prompts/get (unknown prompt)", &prompt, -32602, &["InvalidParamsError"]);
    let missing = c.request(5, "resources/read", stateless(json!({"uri": "other://nothing"}), none())).await;
    ck.error("resources/read (not found)", &missing, -32602, &["InvalidParamsError"]);
    let no_cap = c.request(6, "tools/call", stateless(json!({"name": "ask", "arguments": {}}), none())).await;
    ck.error("tools/call (missing capability)", &no_cap, -32021, &["MissingRequiredClientCapabilityError"]);

    let mut old = stateless(json!({}), none());
    old["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("1900-01-01");
    let unsupported = c.request(7, "tools/list", old).await;
    ck.error("unsupported version", &unsupported, -32022, &["UnsupportedProtocolVersionError"]);

    // A request whose _meta lacks the client capabilities.
    let bare = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}});
    let incomplete = c.request(8, "tools/list", bare).await;
    ck.error("missing clientCapabilities", &incomplete, -32602, &["InvalidParamsError"]);

    let others = c.finish().await;
    ck.messages(&others);
    ck.finish();
}

#[tokio::test]
async fn stateless_2026_07_28_listen_validates() {
    let mut ck = Checker::new(MODERN);
    let server = server();
    let mut c = Client::start(server.clone());

    let filter = json!({"notifications": {"toolsListChanged": true, "resourceSubscriptions": ["mem://readme"]}});
    let params = stateless(filter, json!({}));
    let listen = json!({"jsonrpc": "2.0", "id": "listen-1", "method": "subscriptions/listen", "params": params});
    c.send(&listen).await;
    let ack = c.wait_for("notifications/subscriptions/acknowledged").await;
    ck.expect("listen", ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen-1", &ack);

    server.add_tool(ToolDef::new("late", echo).description("Added while listening")).expect("the tool compiles");
    c.wait_for("notifications/tools/list_changed").await;
    server.notify_resource_updated("mem://readme");
    c.wait_for("notifications/resources/updated").await;

    // Shutting down ends the stream gracefully, with the listen request's result.
    let mut others = c.finish().await;
    let position = others.iter().position(|m| m["id"] == "listen-1" && m.get("method").is_none());
    match position {
        Some(i) => {
            let response = others.remove(i);
            ck.result("subscriptions/listen", &response, "SubscriptionsListenResult");
        }
        None => ck.fail("subscriptions/listen", "no result when the server shut down"),
    }
    ck.messages(&others);
    ck.finish();
}

/// Every kind of content block a tool can return (text with annotations, image, audio,
/// resource link, embedded blob resource), in a tools/call result of every version.
///
/// The runtime passes a tool's blocks through as they are, whatever version the session
/// negotiated; a block type the version lacks (`audio` before 2025-03-26,
/// `resource_link` before 2025-06-18) then fails that version's `CallToolResult`.
#[tokio::test]
async fn content_blocks_validate_in_every_version() {
    let mut failures = Vec::new();
    for version in LEGACY {
        let mut ck = Checker::new(version);
        let mut c = Client::start(server());
        let init = initialize(&mut c, version, json!({})).await;
        ck.result("initialize", &init, "InitializeResult");
        let media = c.request(1, "tools/call", json!({"name": "media", "arguments": {}})).await;
        ck.result("tools/call (every content type)", &media, "CallToolResult");
        ck.messages(&c.finish().await);
        failures.extend(ck.failures);
    }
    let mut ck = Checker::new(MODERN);
    let mut c = Client::start(server());
    let media = c.request(1, "tools/call", stateless(json!({"name": "media", "arguments": {}}), json!({}))).await;
    ck.result("tools/call (every content type)", &media, "CallToolResult");
    ck.messages(&c.finish().await);
    failures.extend(ck.failures);
    assert!(failures.is_empty(), "{} schema failure(s):\n{}", failures.len(), failures.join("\n"));
}

/// A line that is not JSON gets a parse error, which has no request id to echo.
///
/// From 2025-11-25 on, the error response definition makes `id` optional (and, when
/// present, a string or an integer), so such a response must leave `id` out. Up to
/// 2025-06-18, `JSONRPCError` requires a string or integer `id`, which no parse error
/// response can have (JSON-RPC 2.0 says `null`), so those versions are not checked.
#[tokio::test]
async fn parse_error_responses_validate() {
    let mut failures = Vec::new();
    for version in LEGACY.into_iter().chain([MODERN]) {
        let mut ck = Checker::new(version);
        let envelope = ck.schema.first_of(&["JSONRPCErrorResponse", "JSONRPCError"]);
        let id_required =
            ck.schema.definitions()[envelope]["required"].as_array().is_some_and(|r| r.iter().any(|m| m == "id"));
        if id_required {
            continue;
        }
        let mut c = Client::start(server());
        c.send_raw("{this is not json").await;
        let response = c.next().await.expect("a response to a parse error");
        let mut definitions = Vec::new();
        if ck.schema.has("ParseError") {
            definitions.push("ParseError");
        }
        ck.error("parse error", &response, -32700, &definitions);
        ck.messages(&c.finish().await);
        failures.extend(ck.failures);
    }
    assert!(failures.is_empty(), "{} schema failure(s):\n{}", failures.len(), failures.join("\n"));
}
