//! Real upstream MCP servers for the gateway's end-to-end tests: `tenet_server`
//! servers served over Streamable HTTP on 127.0.0.1 (killed and restarted on the same
//! port for the fault tests), and a downstream client talking to the gateway's own
//! server over an in-memory pipe.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tenet_client::protocol::CallToolResult;
use tenet_client::{Client, ClientBuilder};
use tenet_gateway::{Gateway, GatewayOptions, Status, ToolFilter, UpstreamConfig};
use tenet_http::HttpConfig;
use tenet_server::{Args, CancellationToken, Context, Conversation, Server, ServerBuilder, ServerConfig, ToolDef};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How long any single step of a test may take.
pub const STEP: Duration = Duration::from_secs(5);

/// What an upstream's tools saw, for assertions.
#[derive(Default)]
pub struct Probe {
    /// Calls that reached `add`'s handler.
    pub adds: AtomicUsize,
    /// `hang` was entered.
    pub hanging: AtomicBool,
    /// `hang`'s cancellation token fired.
    pub cancelled: AtomicBool,
    /// `hang`'s future was dropped before it finished, its token not (yet) fired.
    pub dropped: AtomicBool,
    /// `hang`'s cancellation token, to see it fire after the handler is gone.
    pub token: Mutex<Option<CancellationToken>>,
}

impl Probe {
    /// Whether `hang` was stopped: its token fired while it waited, or its future was
    /// dropped.
    pub fn hang_stopped(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst) || self.dropped.load(Ordering::SeqCst)
    }

    /// Whether `hang`'s cancellation token has fired.
    pub fn token_fired(&self) -> bool {
        self.token.lock().unwrap().as_ref().is_some_and(CancellationToken::is_cancelled)
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Text {
    text: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Sum {
    a: i64,
    b: i64,
}

/// An upstream server named `name` with `echo` (answers `<name>: <text>`) and `add`
/// (counted in `probe.adds`); add more tools before building.
pub fn upstream_server(name: &str, probe: &Arc<Probe>) -> ServerBuilder {
    let tag = name.to_owned();
    let counter = probe.clone();
    Server::builder(format!("{name}-upstream"), "1.0.0")
        .tool(
            ToolDef::new("echo", move |Args(t): Args<Text>| {
                let tag = tag.clone();
                async move { format!("{tag}: {}", t.text) }
            })
            .description("Echo the text"),
        )
        .tool(
            ToolDef::new("add", move |Args(s): Args<Sum>| {
                counter.adds.fetch_add(1, Ordering::SeqCst);
                async move { (s.a + s.b).to_string() }
            })
            .description("Add two integers"),
        )
}

/// A tool that reports progress twice (1/2 "half", then 2/2), then answers "done".
pub fn progress_tool() -> ToolDef {
    ToolDef::new("progress", |ctx: Context| async move {
        ctx.progress(1.0, Some(2.0), Some("half".to_owned())).await;
        ctx.progress(2.0, Some(2.0), None).await;
        "done"
    })
    .description("Report progress twice")
}

/// Notes in the probe how `hang` ended when its future is dropped.
struct Watch {
    probe: Arc<Probe>,
    ctx: Context,
    finished: bool,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if self.ctx.is_cancelled() {
            self.probe.cancelled.store(true, Ordering::SeqCst);
        } else if !self.finished {
            self.probe.dropped.store(true, Ordering::SeqCst);
        }
    }
}

/// A tool that waits (10 s at most) for its cancellation token.
pub fn hang_tool(probe: &Arc<Probe>) -> ToolDef {
    let probe = probe.clone();
    ToolDef::new("hang", move |ctx: Context| {
        let probe = probe.clone();
        async move {
            probe.hanging.store(true, Ordering::SeqCst);
            *probe.token.lock().unwrap() = Some(ctx.cancellation().clone());
            let mut watch = Watch { probe: probe.clone(), ctx: ctx.clone(), finished: false };
            let cancelled = tokio::time::timeout(Duration::from_secs(10), ctx.cancellation().cancelled()).await.is_ok();
            if cancelled {
                probe.cancelled.store(true, Ordering::SeqCst);
            }
            watch.finished = true;
            "finished"
        }
    })
    .description("Wait to be cancelled")
}

/// A server over Streamable HTTP on a real socket.
pub struct Running {
    pub addr: SocketAddr,
    task: JoinHandle<std::io::Result<()>>,
    shutdown: CancellationToken,
}

impl Running {
    /// Serves `server` on a fresh port of 127.0.0.1.
    pub async fn start(server: Server) -> Self {
        Self::start_on(server, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves `server` on `addr` (a port used before: the restart of a crashed server).
    pub async fn start_on(server: Server, addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        Self::serve(listener, server, HttpConfig::default())
    }

    /// Serves `server` on `listener` with `http` (authorization, say).
    pub fn serve(listener: TcpListener, server: Server, http: HttpConfig) -> Self {
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        // `serve_listener` sets TCP_NODELAY on every connection and owns them all, so
        // aborting it closes every socket at once, as a crash would.
        let task = tokio::spawn(tenet_http::serve_listener(listener, server, http, shutdown.clone()));
        Self { addr, task, shutdown }
    }

    /// Its MCP endpoint.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Stops it the hard way: the listener and every connection are gone at once.
    pub async fn kill(self) {
        self.task.abort();
        let _ = tokio::time::timeout(STEP, self.task).await.expect("the server task did not end");
    }

    /// Stops it gracefully.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(STEP, self.task).await.expect("the server did not stop");
    }
}

/// A port of 127.0.0.1 that nothing listens on (yet).
pub async fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// An upstream at `url`, with the defaults a config file would give.
pub fn upstream(name: &str, url: &str) -> UpstreamConfig {
    UpstreamConfig {
        name: name.to_owned(),
        command: None,
        url: Some(url.to_owned()),
        env: Default::default(),
        inherit_env: Vec::new(),
        headers: Default::default(),
        timeout: None,
        tools: ToolFilter::default(),
        required: true,
        scopes: Vec::new(),
        open: false,
        protocol: None,
        max_restarts: None,
        oauth: None,
        rate_limit: None,
        max_concurrency: None,
        session: None,
        max_sessions: None,
        session_idle_timeout: None,
        max_message_bytes: None,
        peer: false,
    }
}

/// A peer at `url`, named by the node id it announces.
pub fn peer(url: &str) -> UpstreamConfig {
    tenet_gateway::PeerConfig { name: None, ..toml::from_str(&format!("url = {url:?}")).unwrap() }.into_upstream()
}

/// A stdio upstream running `command`.
pub fn stdio_upstream(name: &str, command: &[&str]) -> UpstreamConfig {
    UpstreamConfig { url: None, command: Some(command.iter().map(|s| (*s).to_owned()).collect()), ..upstream(name, "") }
}

/// Options that notice a failure within a few hundred milliseconds.
pub fn quick() -> GatewayOptions {
    GatewayOptions {
        heartbeat: Duration::from_millis(100),
        failures: 2,
        backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..GatewayOptions::default()
    }
}

/// The gateway's own server, with one local tool, `local_hello`.
pub fn gateway_server() -> Server {
    Server::builder("gateway", "1.0.0")
        .dynamic()
        .tasks()
        .tool(ToolDef::new("local_hello", || async { "hello from the gateway" }).description("A local tool"))
        .build()
        .unwrap()
}

/// A gateway in front of `upstreams`, and a downstream client talking to it.
pub struct Harness {
    pub gateway: Gateway,
    pub server: Server,
    pub client: Client,
    shutdown: CancellationToken,
}

impl Harness {
    /// A second downstream client of the gateway, with `grant`.
    pub async fn caller(&self, grant: tenet_server::Grant) -> Client {
        caller_as(&self.server, grant, &self.shutdown, Client::builder()).await
    }

    pub async fn start(upstreams: Vec<UpstreamConfig>, options: GatewayOptions) -> Self {
        let server = gateway_server();
        tenet_gateway::validate(&upstreams, &options).expect("a valid config");
        let gateway = Gateway::start(server.clone(), upstreams, options);
        let shutdown = CancellationToken::new();
        let client = downstream(&server, shutdown.clone()).await;
        Self { gateway, server, client, shutdown }
    }

    /// The status of the upstream `name`.
    pub fn status(&self, name: &str) -> Status {
        self.gateway.statuses().into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no upstream {name}"))
    }

    /// The tool names the downstream client is offered, as a set.
    pub async fn tool_names(&self) -> BTreeSet<String> {
        self.tools_in_order().await.into_iter().collect()
    }

    /// The tool names the downstream client is offered, in the order listed.
    pub async fn tools_in_order(&self) -> Vec<String> {
        let tools = tokio::time::timeout(STEP, self.client.list_all_tools()).await.expect("tools/list in time");
        tools.expect("tools/list").into_iter().map(|t| t.name).collect()
    }

    /// Waits (at most [`STEP`]) until the downstream list satisfies `done`; returns it.
    pub async fn tools_until(&self, what: &str, done: impl Fn(&BTreeSet<String>) -> bool) -> BTreeSet<String> {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let names = self.tool_names().await;
            if done(&names) {
                return names;
            }
            assert!(tokio::time::Instant::now() < deadline, "{what}: still {names:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Calls `name` downstream with `arguments` (the call must be answered in time).
    pub async fn call(&self, name: &str, arguments: Value) -> CallToolResult {
        tokio::time::timeout(STEP, self.client.call_tool(name, arguments))
            .await
            .unwrap_or_else(|_| panic!("{name} did not answer in time"))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    pub async fn shutdown(self) {
        tokio::time::timeout(STEP, self.gateway.shutdown()).await.expect("the gateway did not stop");
        self.client.close().await;
        self.shutdown.cancel();
    }
}

/// A client of `server` over an in-memory pipe.
pub async fn downstream(server: &Server, shutdown: CancellationToken) -> Client {
    downstream_with(server, shutdown, Client::builder()).await
}

/// A client of `server` built by `builder`, over an in-memory pipe.
pub async fn downstream_with(server: &Server, shutdown: CancellationToken, builder: ClientBuilder) -> Client {
    let (client_end, server_end) = tenet_transport::memory::pair();
    let (read, write) = tokio::io::split(server_end);
    let server = server.clone();
    tokio::spawn(async move { server.serve(read, write, shutdown).await });
    let (read, write) = tokio::io::split(client_end);
    tokio::time::timeout(STEP, builder.connect_pipe(read, write))
        .await
        .expect("the downstream handshake in time")
        .expect("the downstream client connects")
}

/// Waits (at most [`STEP`]) until `check` holds.
pub async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + STEP;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many `tools/call` requests `server` answered, whatever the outcome (from its
/// metrics).
pub fn tool_calls_answered(server: &Server) -> f64 {
    requests_answered(server, "tools/call")
}

/// How many `method` requests `server` answered, whatever the outcome (from its
/// metrics).
pub fn requests_answered(server: &Server, method: &str) -> f64 {
    let prefix = format!(r#"tenet_requests_total{{method="{method}","#);
    server
        .metrics()
        .encode()
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The text of a result's first content block.
pub fn text(result: &CallToolResult) -> String {
    let block = serde_json::to_value(result.content.first().expect("some content")).unwrap();
    block["text"].as_str().expect("a text block").to_owned()
}

/// A set of names, for comparisons.
pub fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// A hand-written legacy (2025-11-25) Streamable HTTP server, for listings and
/// messages no Tenet server would give: it answers `initialize`, `ping`, `tools/list`
/// (whatever [`HandServer::set_tools`] last set) and `tools/call` (the tool's name as
/// text, or the result [`HandServer::answer`] set for it), and sends
/// `notifications/tools/list_changed`, or any line it is given, on its GET streams.
/// It keeps the responses the client POSTs back, and can take its time over a tool.
pub struct HandServer {
    pub addr: SocketAddr,
    tools: Arc<Mutex<Value>>,
    answers: Arc<Mutex<HashMap<String, String>>>,
    delays: Arc<Mutex<HashMap<String, Duration>>>,
    responses: Arc<Mutex<Vec<Value>>>,
    events: tokio::sync::broadcast::Sender<String>,
    counts: Arc<HandCounts>,
    calls: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

/// What a [`HandServer`] was asked.
#[derive(Default)]
pub struct HandCounts {
    /// POSTed messages of any kind.
    pub posts: AtomicUsize,
    /// `tools/list` requests.
    pub lists: AtomicUsize,
}

#[derive(Clone)]
struct Hand {
    tools: Arc<Mutex<Value>>,
    answers: Arc<Mutex<HashMap<String, String>>>,
    delays: Arc<Mutex<HashMap<String, Duration>>>,
    responses: Arc<Mutex<Vec<Value>>>,
    events: tokio::sync::broadcast::Sender<String>,
    counts: Arc<HandCounts>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl HandServer {
    pub async fn start(tools: Value) -> Self {
        Self::start_on(tools, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_on(tools: Value, addr: SocketAddr) -> Self {
        use axum::routing::post;
        let tools = Arc::new(Mutex::new(tools));
        let (events, _) = tokio::sync::broadcast::channel(1024);
        let counts = Arc::new(HandCounts::default());
        let answers = Arc::new(Mutex::new(HashMap::new()));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let (delays, responses) = (Arc::default(), Arc::default());
        let hand = Hand {
            tools: tools.clone(),
            answers: answers.clone(),
            delays: Arc::clone(&delays),
            responses: Arc::clone(&responses),
            events: events.clone(),
            counts: counts.clone(),
            calls: calls.clone(),
        };
        let router = axum::Router::new()
            .route("/mcp", post(hand_post).get(hand_get).delete(|| async { axum::http::StatusCode::OK }))
            .with_state(hand);
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { addr, tools, answers, delays, responses, events, counts, calls, task }
    }

    /// Answers calls of `tool` only after `delay`.
    pub fn delay(&self, tool: &str, delay: Duration) {
        self.delays.lock().unwrap().insert(tool.to_owned(), delay);
    }

    /// The responses the client POSTed (answers to what was sent on the GET streams).
    pub fn responses(&self) -> Vec<Value> {
        self.responses.lock().unwrap().clone()
    }

    /// Answers calls of `tool` with `result`, the JSON text of a result as it is.
    pub fn answer(&self, tool: &str, result: &str) {
        self.answers.lock().unwrap().insert(tool.to_owned(), result.to_owned());
    }

    /// The bodies of the `tools/call` requests it was sent, as they came.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// What it was asked so far.
    pub fn counts(&self) -> &HandCounts {
        &self.counts
    }

    /// Sends `line` as is on every open GET stream.
    pub fn send_raw(&self, line: &str) {
        let _ = self.events.send(line.to_owned());
    }

    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Replaces the tool list and tells every open GET stream it changed.
    pub fn set_tools(&self, tools: Value) {
        *self.tools.lock().unwrap() = tools;
        let _ = self.events.send(r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#.to_owned());
    }

    /// How many GET streams are open (the client listens for notifications).
    pub fn listeners(&self) -> usize {
        self.events.receiver_count()
    }
}

impl Drop for HandServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn hand_post(
    axum::extract::State(hand): axum::extract::State<Hand>,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let message: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    hand.counts.posts.fetch_add(1, Ordering::SeqCst);
    if message["method"] == "tools/list" {
        hand.counts.lists.fetch_add(1, Ordering::SeqCst);
    }
    if message["method"] == "tools/call" {
        hand.calls.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
    }
    if message.get("method").is_none() && message.get("id").is_some() {
        hand.responses.lock().unwrap().push(message);
        return axum::http::StatusCode::ACCEPTED.into_response();
    }
    let delay = params_name(&message).and_then(|name| hand.delays.lock().unwrap().get(&name).copied());
    if let Some(delay) = delay.filter(|_| message["method"] == "tools/call") {
        tokio::time::sleep(delay).await;
    }
    let Some(id) = message.get("id").cloned() else {
        return axum::http::StatusCode::ACCEPTED.into_response();
    };
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    let answer = match message["method"].as_str().unwrap_or_default() {
        "initialize" => serde_json::json!({"result": {
            "protocolVersion": params["protocolVersion"],
            "capabilities": {"tools": {"listChanged": true}},
            "serverInfo": {"name": "hand", "version": "0.1.0"}
        }}),
        "ping" => serde_json::json!({"result": {}}),
        "tools/list" => serde_json::json!({"result": {"tools": *hand.tools.lock().unwrap()}}),
        "tools/call" => serde_json::json!({"result": {"content": [{"type": "text", "text": params["name"]}]}}),
        other => serde_json::json!({"error": {"code": -32601, "message": format!("Method not found: {other}")}}),
    };
    let mut answer = answer;
    answer["jsonrpc"] = "2.0".into();
    answer["id"] = id;
    let mut body = answer.to_string();
    if message["method"] == "tools/call"
        && let Some(result) = params["name"].as_str().and_then(|name| hand.answers.lock().unwrap().get(name).cloned())
    {
        body = format!(r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#, answer["id"]);
    }
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The `name` in a message's params.
fn params_name(message: &Value) -> Option<String> {
    message["params"]["name"].as_str().map(str::to_owned)
}

async fn hand_get(axum::extract::State(hand): axum::extract::State<Hand>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let events = hand.events.subscribe();
    let stream = futures_util::stream::unfold(events, |mut events| async move {
        let line = loop {
            match events.recv().await {
                Ok(line) => break line,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        };
        Some((Ok::<_, std::convert::Infallible>(format!("data: {line}\n\n")), events))
    });
    ([(axum::http::header::CONTENT_TYPE, "text/event-stream")], axum::body::Body::from_stream(stream)).into_response()
}

/// A Tenet node in this process: a server with its own tools, announcing itself as
/// `id`, served over HTTP; its gateway starts once its peers' addresses are known.
pub struct Node {
    pub id: String,
    pub server: Server,
    pub http: Running,
    pub gateway: Option<Gateway>,
}

/// The tool every test node has of its own: `where` answers the node's id and the path
/// its request came with.
pub fn where_tool(id: &str) -> ToolDef {
    let id = id.to_owned();
    ToolDef::new("where", move |ctx: Context| {
        let id = id.clone();
        async move {
            let path = ctx.node_path().map_or_else(|| "-".to_owned(), ToString::to_string);
            format!("{id} via {path}")
        }
    })
    .description("Where the call ran, and the nodes it came through")
}

impl Node {
    pub async fn serve(id: &str, reexport: Option<usize>) -> Self {
        let server = Server::builder(format!("node-{id}"), "1.0.0")
            .config(ServerConfig { reexport, ..ServerConfig::default() })
            .dynamic()
            .tool(where_tool(id))
            .tool(remember_tool())
            .tool(recall_tool())
            .build()
            .unwrap();
        tenet_node::announce(&server, &id.parse().unwrap());
        let http = Running::start(server.clone()).await;
        Self { id: id.to_owned(), server, http, gateway: None }
    }

    pub fn url(&self) -> String {
        self.http.url()
    }

    pub fn options(&self) -> GatewayOptions {
        GatewayOptions { node: Some(self.id.parse().unwrap()), ..quick() }
    }

    pub fn join(&mut self, peers: Vec<UpstreamConfig>) {
        self.join_with(peers, self.options());
    }

    pub fn join_with(&mut self, peers: Vec<UpstreamConfig>, options: GatewayOptions) {
        tenet_gateway::validate(&peers, &options).expect("a valid config");
        self.gateway = Some(Gateway::start(self.server.clone(), peers, options));
    }

    pub fn gateway(&self) -> &Gateway {
        self.gateway.as_ref().expect("joined")
    }

    /// The status of the peer at `url`.
    pub fn peer_at(&self, url: &str) -> Status {
        let target = url.to_owned();
        self.gateway().statuses().into_iter().find(|s| s.target == target).expect("a peer at that url")
    }

    pub async fn client(&self) -> Client {
        downstream(&self.server, CancellationToken::new()).await
    }

    pub async fn stop(self) {
        if let Some(gateway) = &self.gateway {
            tokio::time::timeout(STEP, gateway.shutdown()).await.expect("the gateway stops");
        }
        self.http.stop().await;
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Remember {
    key: String,
    value: Value,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Recall {
    key: String,
}

/// `remember(key, value)`: sets the key in the conversation's context.
pub fn remember_tool() -> ToolDef {
    ToolDef::new("remember", |conversation: Conversation, Args(r): Args<Remember>| async move {
        let version = conversation.set(&r.key, r.value).await?;
        Ok::<_, tenet_server::ToolError>(format!("version {version}"))
    })
    .description("Keep a value in the conversation's context")
}

/// `recall(key)`: the key's value in the conversation's context, or `nothing`.
pub fn recall_tool() -> ToolDef {
    ToolDef::new("recall", |conversation: Conversation, Args(r): Args<Recall>| async move {
        let entry = conversation.get(&r.key).await?;
        Ok::<_, tenet_server::ToolError>(entry.map_or_else(|| "nothing".to_owned(), |e| e.value.to_string()))
    })
    .description("Read a value of the conversation's context")
}

/// A downstream user whose roots are their home folder (`file:///home/<name>`).
pub struct Home(pub &'static str);

impl tenet_client::ClientHandler for Home {
    fn capabilities(&self) -> tenet_client::protocol::ClientCapabilities {
        tenet_client::protocol::ClientCapabilities { roots: Some(Default::default()), ..Default::default() }
    }

    fn list_roots(
        &self,
    ) -> futures_util::future::BoxFuture<
        '_,
        Result<tenet_client::protocol::ListRootsResult, tenet_server::jsonrpc::ErrorObject>,
    > {
        let uri = format!("file:///home/{}", self.0);
        Box::pin(async move {
            Ok(tenet_client::protocol::ListRootsResult {
                roots: vec![tenet_client::protocol::Root { uri, name: None, meta: None }],
            })
        })
    }
}

/// A downstream caller of `server` with a principal of its own (an API key named `name`),
/// over an in-memory pipe, in the legacy era, its client built from `builder`.
pub async fn caller_with(server: &Server, name: &str, shutdown: &CancellationToken, builder: ClientBuilder) -> Client {
    let grant = tenet_server::Grant::new(["mcp"]).with_principal(tenet_server::Principal::ApiKey(name.into()));
    caller_as(server, grant, shutdown, builder).await
}

/// A downstream caller of `server` with `grant`, over an in-memory pipe, in the legacy
/// era, its client built from `builder`.
pub async fn caller_as(
    server: &Server,
    grant: tenet_server::Grant,
    shutdown: &CancellationToken,
    builder: ClientBuilder,
) -> Client {
    let (client_end, server_end) = tenet_transport::memory::pair();
    let (read, write) = tokio::io::split(server_end);
    let (server, shutdown) = (server.clone(), shutdown.clone());
    tokio::spawn(async move { server.serve_as(read, write, shutdown, Some(Arc::new(grant))).await });
    let (read, write) = tokio::io::split(client_end);
    let connect = builder.version(tenet_client::VersionPin::Legacy).connect_pipe(read, write);
    tokio::time::timeout(STEP, connect).await.expect("in time").expect("connected")
}
