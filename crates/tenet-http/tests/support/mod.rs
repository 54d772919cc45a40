//! A small server and in-process HTTP helpers for the end-to-end tests: requests go
//! through the real axum router (`oneshot`), or through a socket for the tests that
//! need one.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tenet_http::{Endpoint, HttpConfig};
use tenet_server::protocol::{ElicitParams, LoggingLevel};
use tenet_server::{Args, CancellationToken, Context, Server, State, ToolDef, ToolError};
use tower::ServiceExt;

pub const MODERN: &str = "2026-07-28";
pub const LEGACY: &str = "2025-11-25";
/// How long any single step of a test may take.
pub const STEP: Duration = Duration::from_secs(5);

/// What the tools saw, for assertions.
#[derive(Default)]
pub struct Probe {
    pub cancelled: AtomicBool,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Text {
    text: String,
}

async fn echo(Args(t): Args<Text>) -> String {
    t.text
}

async fn progress(ctx: Context) -> &'static str {
    ctx.progress(1.0, Some(2.0), None).await;
    ctx.progress(2.0, Some(2.0), None).await;
    "done"
}

/// Marks the probe cancelled when the handler is stopped before it finishes (its
/// future dropped, or its cancellation token fired).
struct Watch(Arc<ProbeState>, bool);

impl Drop for Watch {
    fn drop(&mut self) {
        if !self.1 {
            self.0.cancelled.store(true, Ordering::SeqCst);
        }
    }
}

/// Reports progress (so the response becomes a stream), then waits to be cancelled.
async fn wait_for_cancel(ctx: Context, State(probe): State<ProbeState>) -> &'static str {
    let mut watch = Watch(probe, false);
    ctx.progress(1.0, None, None).await;
    if tokio::time::timeout(STEP, ctx.cancellation().cancelled()).await.is_err() {
        watch.1 = true;
    }
    "not cancelled"
}

async fn ask(ctx: Context) -> Result<String, ToolError> {
    let params = ElicitParams::form("Name?", json!({"type": "object", "properties": {"name": {"type": "string"}}}));
    let answer = ctx.elicit("name", params).await?;
    Ok(answer.content.and_then(|c| c.get("name").cloned()).unwrap_or(Value::Null).to_string())
}

/// Logs, then answers a little later (a legacy client can leave and resume between).
async fn log_then_answer(ctx: Context) -> &'static str {
    ctx.log(LoggingLevel::Info, "started").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    "finished"
}

/// Ends its stream at once (SSE polling), answers 100 ms later.
async fn poll(ctx: Context) -> &'static str {
    ctx.close_stream().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    "polled"
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(300)).await;
    "slow done"
}

/// The test server and what its tools saw.
pub fn server() -> (Server, Arc<Probe>) {
    let (builder, probe) = builder();
    (builder.build().unwrap(), probe)
}

/// The test server's builder, to add to, and what its tools will see.
pub fn builder() -> (tenet_server::ServerBuilder, Arc<Probe>) {
    let probe = Arc::new(Probe::default());
    let builder = Server::builder("http-test", "1.0.0")
        .tool(ToolDef::new("echo", echo).description("Echo"))
        .tool(ToolDef::new("progress", progress).description("Progress then answer"))
        .tool(ToolDef::new("wait_for_cancel", wait_for_cancel).description("Wait to be cancelled"))
        .tool(ToolDef::new("ask", ask).description("Elicit a name"))
        .tool(ToolDef::new("log_then_answer", log_then_answer).description("Log, then answer"))
        .tool(ToolDef::new("slow", slow).description("Answer after 300 ms"))
        .tool(
            ToolDef::new("single", slow)
                .description("Answer after 300 ms, one call at a time")
                .max_concurrency(1)
                .timeout(Duration::from_millis(400)),
        )
        .tool(ToolDef::new("poll", poll).description("End the stream, answer later"))
        .tool(ToolDef::new("region", echo).description("Echo, mirrored into Mcp-Param-Region").input_schema(json!({
            "type": "object", "properties": {"text": {"type": "string", "x-mcp-header": "Region"}}, "required": ["text"]
        })))
        .state(ProbeState(probe.clone()));
    (builder, probe)
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Wait {
    /// Milliseconds to work.
    ms: u64,
}

async fn long(Args(Wait { ms }): Args<Wait>) -> String {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    format!("waited {ms} ms")
}

/// A tool that may run as a task (`long`: waits `ms`, then says so).
pub fn long_task_tool() -> ToolDef {
    ToolDef::new("long", long).description("Waits").task_support(tenet_server::TaskSupport::Optional)
}

/// The server's state: the probe the tests also hold.
pub struct ProbeState(pub Arc<Probe>);

impl std::ops::Deref for ProbeState {
    type Target = Probe;
    fn deref(&self) -> &Probe {
        &self.0
    }
}

/// An endpoint on the test server, served in process.
pub struct Harness {
    pub endpoint: Endpoint,
    pub router: Router,
    pub server: Server,
    pub probe: Arc<Probe>,
    pub shutdown: CancellationToken,
}

impl Harness {
    pub fn new() -> Self {
        Self::with(HttpConfig::default())
    }

    pub fn with(config: HttpConfig) -> Self {
        let (server, probe) = server();
        Self::serving(server, probe, config)
    }

    /// An endpoint on `server`.
    pub fn serving(server: Server, probe: Arc<Probe>, config: HttpConfig) -> Self {
        let shutdown = CancellationToken::new();
        let endpoint = Endpoint::new(server.clone(), config, shutdown.clone());
        Self { router: endpoint.router(), endpoint, server, probe, shutdown }
    }

    /// Sends a request and returns the response, its body not yet read.
    pub async fn send(&self, request: Request<Body>) -> axum::response::Response {
        tokio::time::timeout(STEP, self.router.clone().oneshot(request)).await.expect("no response in time").unwrap()
    }

    /// Sends a request and reads the whole response.
    pub async fn call(&self, request: Request<Body>) -> Reply {
        let response = self.send(request).await;
        let status = response.status();
        let headers = response.headers().clone();
        let body = tokio::time::timeout(STEP, axum::body::to_bytes(response.into_body(), 64 << 20))
            .await
            .expect("the body did not end in time")
            .unwrap();
        Reply { status, headers, body }
    }

    /// A legacy handshake; returns the session id.
    pub async fn initialize(&self, version: &str, caps: Value) -> String {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": caps, "clientInfo": {"name": "t", "version": "0"}}});
        let reply = self.call(post().body(body(&init)).unwrap()).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let id = reply.headers["mcp-session-id"].to_str().unwrap().to_owned();
        let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let reply = self.call(in_session(&id, version).body(body(&done)).unwrap()).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        id
    }
}

/// A whole response.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The JSON of every SSE `data:` line that holds some.
    pub fn events(&self) -> Vec<Value> {
        sse_json(&self.text())
    }

    pub fn content_type(&self) -> &str {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// The JSON of every `data:` line of an SSE text.
pub fn sse_json(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| !d.is_empty())
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

pub fn body(value: &Value) -> Body {
    Body::from(value.to_string())
}

/// A POST with the headers every client sends.
pub fn post() -> axum::http::request::Builder {
    Request::post("/mcp")
        .header("host", "localhost:3020")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
}

/// A POST in a legacy session.
pub fn in_session(id: &str, version: &str) -> axum::http::request::Builder {
    post().header("mcp-session-id", id).header("mcp-protocol-version", version)
}

/// `_meta` of a stateless request.
pub fn meta(caps: Value) -> Value {
    json!({"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": caps})
}

/// A stateless request with correct headers.
pub fn modern(id: i64, method: &str, mut params: Value) -> Request<Body> {
    params["_meta"] = meta(json!({}));
    let name = params.get("name").or_else(|| params.get("uri")).and_then(Value::as_str).map(str::to_owned);
    let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let mut builder = post().header("mcp-protocol-version", MODERN).header("mcp-method", method);
    if let Some(name) = name {
        builder = builder.header("mcp-name", name);
    }
    builder.body(body(&message)).unwrap()
}

/// Reads SSE chunks from a streaming body until `done` says so (or fails the test).
pub async fn read_until(body: &mut axum::body::BodyDataStream, text: &mut String, done: impl Fn(&str) -> bool) {
    while !done(text) {
        let chunk = tokio::time::timeout(STEP, body.next()).await.expect("no event in time");
        let chunk = chunk.expect("the stream ended").unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}
