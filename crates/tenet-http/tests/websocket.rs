//! MCP over WebSocket against a real listener: both eras on one socket, server →
//! client traffic, the handshake's refusals, bad frames, resource limits, shutdown and
//! metrics. The client is tokio-tungstenite, or raw bytes on a `TcpStream` where a
//! well-behaved client cannot misbehave the way a test needs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{STEP, meta};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tenet_http::auth::{ApiKey, Auth, AuthConfig};
use tenet_http::{HttpConfig, WebSocketConfig};
use tenet_server::protocol::LoggingLevel;
use tenet_server::{Args, CancellationToken, Context, Server, State, ToolDef, ToolError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The legacy version the sockets below initialize with.
const LEGACY: &str = "2025-06-18";
/// A valid `Sec-WebSocket-Key` (RFC 6455's example).
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The API key of the auth tests.
const SECRET: &str = "ws-secret-key-123";
/// An API key that also grants the `admin` scope.
const ADMIN_SECRET: &str = "ws-admin-key-456";

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

// ---------------------------------------------------------------------------------
// The server under test.

/// What the tools saw.
#[derive(Clone, Default)]
struct Seen {
    /// `wait_for_cancel` was stopped before it finished.
    cancelled: Arc<AtomicBool>,
    /// How `ask_roots` ended: `answered`, `error: …`, or `dropped` (cancelled).
    asked: Arc<Mutex<Option<String>>>,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Text {
    text: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Size {
    size: usize,
}

async fn echo(Args(t): Args<Text>) -> String {
    t.text
}

/// A large answer, to fill a client's socket buffers.
async fn blob(Args(s): Args<Size>) -> String {
    "x".repeat(s.size)
}

/// Progress, a log message, more progress, then the answer.
async fn chatty(ctx: Context) -> &'static str {
    ctx.progress(1.0, Some(2.0), Some("half".into())).await;
    ctx.log(LoggingLevel::Info, "working").await;
    ctx.progress(2.0, Some(2.0), None).await;
    "chatty done"
}

/// Asks the client for its roots and answers with their URIs.
async fn roots(ctx: Context) -> Result<String, ToolError> {
    let roots = ctx.list_roots("roots").await?;
    Ok(roots.roots.iter().map(|r| r.uri.as_str()).collect::<Vec<_>>().join(","))
}

/// Records how the handler ended, even when its future is dropped.
struct Outcome(Seen, Option<String>);

impl Drop for Outcome {
    fn drop(&mut self) {
        let what = self.1.take().unwrap_or_else(|| "dropped".into());
        *self.0.asked.lock().unwrap() = Some(what);
    }
}

/// Asks the client for its roots and records how that went.
async fn ask_roots(ctx: Context, State(seen): State<Seen>) -> Result<String, ToolError> {
    let mut outcome = Outcome(Seen::clone(&seen), None);
    match ctx.list_roots("roots").await {
        Ok(_) => {
            outcome.1 = Some("answered".into());
            Ok("answered".into())
        }
        Err(e) => {
            outcome.1 = Some(format!("error: {e}"));
            Err(e)
        }
    }
}

/// Marks `cancelled` when dropped before finishing.
struct Watch(Seen, bool);

impl Drop for Watch {
    fn drop(&mut self) {
        if !self.1 {
            self.0.cancelled.store(true, Ordering::SeqCst);
        }
    }
}

/// Reports progress, then waits to be cancelled (at most `STEP`).
async fn wait_for_cancel(ctx: Context, State(seen): State<Seen>) -> &'static str {
    let mut watch = Watch(Seen::clone(&seen), false);
    ctx.progress(1.0, None, None).await;
    if tokio::time::timeout(STEP, ctx.cancellation().cancelled()).await.is_err() {
        watch.1 = true;
    }
    "not cancelled"
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(400)).await;
    "slow done"
}

fn ws_server() -> (Server, Seen) {
    let seen = Seen::default();
    let server = Server::builder("ws-test", "1.0.0")
        .tool(ToolDef::new("echo", echo).description("Echo"))
        .tool(ToolDef::new("blob", blob).description("A large answer"))
        .tool(ToolDef::new("chatty", chatty).description("Progress and a log message"))
        .tool(ToolDef::new("roots", roots).description("List the client's roots"))
        .tool(ToolDef::new("ask_roots", ask_roots).description("List roots, recording the outcome"))
        .tool(ToolDef::new("wait_for_cancel", wait_for_cancel).description("Wait to be cancelled"))
        .tool(ToolDef::new("slow", slow).description("Answer after 400 ms"))
        .tool(ToolDef::new("admin", echo).description("Echo, for admins").scope("admin"))
        .state(seen.clone())
        .build()
        .unwrap();
    (server, seen)
}

struct Running {
    addr: SocketAddr,
    server: Server,
    seen: Seen,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start(config: HttpConfig) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (server, seen) = ws_server();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(tenet_http::serve_listener(listener, server.clone(), config, shutdown.clone()));
    Running { addr, server, seen, shutdown, task }
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(STEP, self.task).await.expect("serve did not stop").unwrap().unwrap();
    }

    /// Opens a socket offering `mcp`.
    async fn connect(&self) -> Ws {
        self.connect_offering("mcp", None).await.unwrap().0
    }

    /// Opens a socket offering `protocols`, with an `Authorization` header if given.
    async fn connect_offering(
        &self,
        protocols: &str,
        authorization: Option<&str>,
    ) -> Result<(Ws, tokio_tungstenite::tungstenite::handshake::client::Response), WsError> {
        let mut request = format!("ws://127.0.0.1:{}/mcp", self.addr.port()).into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert("sec-websocket-protocol", HeaderValue::from_str(protocols).unwrap());
        if let Some(authorization) = authorization {
            headers.insert("authorization", HeaderValue::from_str(authorization).unwrap());
        }
        tokio::time::timeout(STEP, tokio_tungstenite::connect_async(request)).await.expect("no handshake in time")
    }

    /// `GET path` over a fresh connection: the whole response.
    async fn get(&self, path: &str) -> String {
        let request = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        tokio::time::timeout(STEP, stream.read_to_end(&mut out)).await.expect("no response in time").unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    async fn assert_healthy(&self) {
        let health = self.get("/health").await;
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        let mut ws = self.connect().await;
        send(&mut ws, json!({"jsonrpc": "2.0", "id": 99, "method": "ping"})).await;
        let (answer, _) = response(&mut ws, 99).await;
        assert_eq!(answer["result"], json!({}), "a new socket is served: {answer}");
    }

    /// The value of the first metrics sample whose line starts with `name{` and holds
    /// every label in `labels`; 0 when there is none.
    async fn metric(&self, name: &str, labels: &[&str]) -> f64 {
        let text = self.get("/metrics").await;
        let prefix = format!("{name}{{");
        text.lines()
            .filter(|l| l.starts_with(&prefix) && labels.iter().all(|label| l.contains(label)))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .next()
            .unwrap_or(0.0)
    }

    /// Waits until a metric reads `want` (frames out are counted just after they are
    /// written, so a client may see a frame before its count).
    async fn wait_for_metric(&self, name: &str, labels: &[&str], want: f64) {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let got = self.metric(name, labels).await;
            if got == want {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{name} {labels:?} is {got}, expected {want}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn open_sockets(&self) -> f64 {
        self.metric("tenet_sessions", &["transport=\"websocket\""]).await
    }

    /// Waits until the websocket gauge reads `n`.
    async fn wait_for_sockets(&self, n: f64) {
        self.wait_for_sockets_within(n, STEP).await;
    }

    /// Waits at most `limit` until the websocket gauge reads `n`.
    async fn wait_for_sockets_within(&self, n: f64, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let open = self.open_sockets().await;
            if open == n {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{open} sockets open, expected {n}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn config() -> HttpConfig {
    HttpConfig::on_port(0)
}

// ---------------------------------------------------------------------------------
// Client helpers.

async fn send(ws: &mut Ws, message: Value) {
    tokio::time::timeout(STEP, ws.send(Message::text(message.to_string())))
        .await
        .expect("could not send in time")
        .unwrap();
}

async fn next_frame(ws: &mut Ws) -> Message {
    tokio::time::timeout(STEP, ws.next())
        .await
        .expect("nothing from the server in time")
        .expect("the socket ended")
        .expect("the socket failed")
}

/// The next JSON-RPC message, skipping pings and pongs.
async fn recv(ws: &mut Ws) -> Value {
    loop {
        match next_frame(ws).await {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Reads until the response to `id`; returns it and every message before it.
async fn response(ws: &mut Ws, id: i64) -> (Value, Vec<Value>) {
    let mut before = Vec::new();
    loop {
        let message = recv(ws).await;
        if message.get("method").is_none() && message["id"] == json!(id) {
            return (message, before);
        }
        before.push(message);
    }
}

/// Reads until the server's close frame and returns it (text frames are skipped).
async fn close_frame(ws: &mut Ws) -> CloseFrame {
    loop {
        match next_frame(ws).await {
            Message::Close(Some(frame)) => return frame,
            Message::Close(None) => panic!("a close frame without a code"),
            Message::Binary(_) => panic!("the server sent a binary frame"),
            _ => {}
        }
    }
}

/// A 2025-06-18 handshake on the socket.
async fn initialize(ws: &mut Ws, caps: Value) -> Value {
    send(
        ws,
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": LEGACY, "capabilities": caps, "clientInfo": {"name": "ws-test", "version": "0"}}}),
    )
    .await;
    let (answer, _) = response(ws, 0).await;
    assert_eq!(answer["result"]["protocolVersion"], LEGACY, "{answer}");
    send(ws, json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    answer
}

fn call(id: i64, name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
}

/// A self-describing 2026-07-28 `tools/call`.
fn modern_call(id: i64, name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": meta(json!({}))}})
}

fn text_of(answer: &Value) -> &str {
    answer["result"]["content"][0]["text"].as_str().unwrap_or_else(|| panic!("no text content: {answer}"))
}

// ---------------------------------------------------------------------------------
// Raw sockets: hand-written handshakes and frames.

/// A header to set (`Some`) or remove (`None`) in an upgrade request.
type Change<'a> = (&'a str, Option<&'a str>);

/// An upgrade request with the usual headers; `changes` replaces (`Some`) or removes
/// (`None`) the header of that name, or adds it.
fn upgrade_request(addr: SocketAddr, changes: &[Change]) -> String {
    let port = format!("localhost:{}", addr.port());
    let mut headers: Vec<(String, String)> = [
        ("host", port.as_str()),
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", KEY),
        ("sec-websocket-protocol", "mcp"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (name, value) in changes {
        headers.retain(|(k, _)| k != name);
        if let Some(value) = value {
            headers.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    let mut request = "GET /mcp HTTP/1.1\r\n".to_owned();
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request
}

/// A response's status, head (lowercased) and body.
struct Head {
    status: u16,
    head: String,
    body: String,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")))
    }
}

/// Reads a response head byte by byte (so that nothing after it is consumed), then its
/// body if it has a length.
async fn read_head(stream: &mut TcpStream) -> Head {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(STEP, stream.read(&mut byte)).await.expect("no response in time").unwrap();
        assert!(n == 1, "the connection closed mid-head: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut response = Head { status, head, body: String::new() };
    if let Some(length) = response.header("content-length").map(|l| l.trim().parse::<usize>().unwrap()) {
        let mut body = vec![0; length];
        tokio::time::timeout(STEP, stream.read_exact(&mut body)).await.unwrap().unwrap();
        response.body = String::from_utf8_lossy(&body).into_owned();
    }
    response
}

/// Sends an upgrade request on a new connection; returns the connection and the head.
async fn raw_upgrade(addr: SocketAddr, changes: &[Change<'_>]) -> (TcpStream, Head) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(upgrade_request(addr, changes).as_bytes()).await.unwrap();
    let head = read_head(&mut stream).await;
    (stream, head)
}

/// A raw socket past a good handshake.
async fn raw_socket(addr: SocketAddr) -> TcpStream {
    let (stream, head) = raw_upgrade(addr, &[]).await;
    assert_eq!(head.status, 101, "{}", head.head);
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(KEY.as_bytes());
    assert_eq!(head.header("sec-websocket-accept"), Some(accept.to_ascii_lowercase().as_str()));
    stream
}

/// A client frame: masked, as RFC 6455 requires.
fn masked(opcode: u8, payload: &[u8], fin: bool) -> Vec<u8> {
    let mut frame = vec![if fin { 0x80 | opcode } else { opcode }];
    frame.extend(frame_length(payload.len()));
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    frame.extend(mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// The masked length bytes of a client frame header.
fn frame_length(len: usize) -> Vec<u8> {
    if len < 126 {
        vec![0x80 | u8::try_from(len).unwrap()]
    } else if let Ok(len) = u16::try_from(len) {
        let mut out = vec![0x80 | 126];
        out.extend(len.to_be_bytes());
        out
    } else {
        let mut out = vec![0x80 | 127];
        out.extend((len as u64).to_be_bytes());
        out
    }
}

/// Reads one server frame: its opcode and payload.
async fn read_raw_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let read = async {
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).await?;
        assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
        let len = match head[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                stream.read_exact(&mut b).await?;
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                stream.read_exact(&mut b).await?;
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        let mut payload = vec![0; usize::try_from(len).unwrap()];
        stream.read_exact(&mut payload).await?;
        std::io::Result::Ok((head[0] & 0x0f, payload))
    };
    tokio::time::timeout(STEP, read).await.expect("no frame in time").expect("the socket failed")
}

/// Reads server frames until a close frame; returns its code and reason.
async fn raw_close(stream: &mut TcpStream) -> (u16, String) {
    loop {
        let (opcode, payload) = read_raw_frame(stream).await;
        if opcode == 0x8 {
            assert!(payload.len() >= 2, "a close frame without a code");
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            return (code, String::from_utf8_lossy(&payload[2..]).into_owned());
        }
    }
}

// ---------------------------------------------------------------------------------
// 1. Both eras on one socket.

#[tokio::test]
async fn both_eras_share_one_socket() {
    let running = start(config()).await;
    let (mut ws, handshake) = running.connect_offering("mcp", None).await.unwrap();
    assert_eq!(handshake.headers()["sec-websocket-protocol"], "mcp");

    let init = initialize(&mut ws, json!({})).await;
    assert_eq!(init["result"]["serverInfo"]["name"], "ws-test", "{init}");

    send(&mut ws, json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})).await;
    let (list, _) = response(&mut ws, 1).await;
    let names: Vec<&str> =
        list["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"echo") && names.contains(&"slow"), "{list}");

    send(&mut ws, call(2, "echo", json!({"text": "legacy era"}))).await;
    let (legacy, _) = response(&mut ws, 2).await;
    assert_eq!(text_of(&legacy), "legacy era");
    assert!(legacy["result"].get("resultType").is_none(), "a legacy result has no resultType: {legacy}");

    send(&mut ws, modern_call(3, "echo", json!({"text": "modern era"}))).await;
    let (modern, _) = response(&mut ws, 3).await;
    assert_eq!(text_of(&modern), "modern era");
    assert_eq!(modern["result"]["resultType"], "complete", "{modern}");

    // The legacy session is still there after the modern request.
    send(&mut ws, call(4, "echo", json!({"text": "still legacy"}))).await;
    let (again, _) = response(&mut ws, 4).await;
    assert_eq!(text_of(&again), "still legacy");

    // A socket may also speak only 2026-07-28, without `initialize`.
    let mut modern_only = running.connect().await;
    send(&mut modern_only, modern_call(1, "echo", json!({"text": "no initialize"}))).await;
    let (answer, _) = response(&mut modern_only, 1).await;
    assert_eq!(text_of(&answer), "no initialize");
    assert_eq!(answer["result"]["resultType"], "complete");
    running.stop().await;
}

// ---------------------------------------------------------------------------------
// 2. Server → client traffic.

#[tokio::test]
async fn progress_and_log_notifications_arrive_before_the_answer() {
    let running = start(config()).await;
    let mut ws = running.connect().await;
    initialize(&mut ws, json!({})).await;
    send(&mut ws, json!({"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": {"level": "info"}})).await;
    let (set, _) = response(&mut ws, 1).await;
    assert!(set.get("error").is_none(), "{set}");

    let mut request = call(2, "chatty", json!({}));
    request["params"]["_meta"] = json!({"progressToken": "p-1"});
    send(&mut ws, request).await;
    let (answer, before) = response(&mut ws, 2).await;
    assert_eq!(text_of(&answer), "chatty done");
    let methods: Vec<&str> = before.iter().filter_map(|m| m["method"].as_str()).collect();
    assert_eq!(methods, ["notifications/progress", "notifications/message", "notifications/progress"], "{before:?}");
    assert_eq!(before[0]["params"]["progressToken"], "p-1");
    assert_eq!(before[0]["params"]["progress"], 1.0);
    assert_eq!(before[0]["params"]["message"], "half");
    assert_eq!(before[1]["params"]["level"], "info");
    assert_eq!(before[1]["params"]["data"], "working");
    assert_eq!(before[2]["params"]["progress"], 2.0);

    // A 2026-07-28 request on the same socket gets its notifications there too.
    let mut modern = modern_call(3, "chatty", json!({}));
    modern["params"]["_meta"]["progressToken"] = json!(7);
    modern["params"]["_meta"]["io.modelcontextprotocol/logLevel"] = json!("info");
    send(&mut ws, modern).await;
    let (answer, before) = response(&mut ws, 3).await;
    assert_eq!(answer["result"]["resultType"], "complete", "{answer}");
    let methods: Vec<&str> = before.iter().filter_map(|m| m["method"].as_str()).collect();
    assert_eq!(methods, ["notifications/progress", "notifications/message", "notifications/progress"], "{before:?}");
    assert_eq!(before[0]["params"]["progressToken"], 7);
    running.stop().await;
}

#[tokio::test]
async fn a_server_to_client_request_is_answered_over_the_socket() {
    let running = start(config()).await;
    let mut ws = running.connect().await;
    initialize(&mut ws, json!({"roots": {}})).await;
    send(&mut ws, call(1, "roots", json!({}))).await;
    let ask = recv(&mut ws).await;
    assert_eq!(ask["method"], "roots/list", "{ask}");
    assert!(ask["id"].is_number() || ask["id"].is_string(), "{ask}");
    send(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"roots": [
            {"uri": "file:///work/a", "name": "a"}, {"uri": "file:///work/b"}]}}),
    )
    .await;
    let (answer, _) = response(&mut ws, 1).await;
    assert_eq!(text_of(&answer), "file:///work/a,file:///work/b", "{answer}");

    // An error answer reaches the handler as an error.
    send(&mut ws, call(2, "roots", json!({}))).await;
    let ask = recv(&mut ws).await;
    assert_eq!(ask["method"], "roots/list");
    send(&mut ws, json!({"jsonrpc": "2.0", "id": ask["id"], "error": {"code": -32603, "message": "no roots here"}}))
        .await;
    let (answer, _) = response(&mut ws, 2).await;
    assert!(answer["result"]["isError"] == true || answer.get("error").is_some(), "{answer}");
    assert!(answer.to_string().contains("no roots here"), "{answer}");
    running.stop().await;
}

#[tokio::test]
async fn list_changed_is_pushed_when_a_tool_is_added() {
    let running = start(config()).await;
    let mut ws = running.connect().await;
    initialize(&mut ws, json!({})).await;
    // A round trip, so that the session is surely initialized before the change.
    send(&mut ws, json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})).await;
    response(&mut ws, 1).await;

    running.server.add_tools([ToolDef::new("late", echo).description("Added later")]).unwrap();
    let pushed = recv(&mut ws).await;
    assert_eq!(pushed["method"], "notifications/tools/list_changed", "{pushed}");
    assert!(pushed.get("id").is_none());

    send(&mut ws, json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).await;
    let (list, _) = response(&mut ws, 2).await;
    assert!(list["result"]["tools"].as_array().unwrap().iter().any(|t| t["name"] == "late"), "{list}");
    running.stop().await;
}

// ---------------------------------------------------------------------------------
// 3. Bad upgrades.

#[tokio::test]
async fn upgrades_that_break_the_handshake_rules_are_refused() {
    let running = start(config()).await;
    let addr = running.addr;
    let cases: [(&str, &[Change], u16); 7] = [
        ("no subprotocol", &[("sec-websocket-protocol", None)], 400),
        ("another subprotocol only", &[("sec-websocket-protocol", Some("graphql-ws, chat"))], 400),
        ("a key too short", &[("sec-websocket-key", Some("dGhlIHNhbXBsZQ=="))], 400),
        ("a key that is not base64", &[("sec-websocket-key", Some("not base64 at all!!!!!!!"))], 400),
        ("no key", &[("sec-websocket-key", None)], 400),
        ("no version", &[("sec-websocket-version", None)], 426),
        ("version 8", &[("sec-websocket-version", Some("8"))], 426),
    ];
    for (what, changes, status) in cases {
        let (_, head) = raw_upgrade(addr, changes).await;
        assert_eq!(head.status, status, "{what}: {}{}", head.head, head.body);
        assert!(head.header("sec-websocket-accept").is_none(), "{what}");
        if status == 426 {
            assert_eq!(head.header("sec-websocket-version"), Some("13"), "{what}: {}", head.head);
        }
    }
    // Without `Connection: upgrade` there is no upgrade either.
    let (_, head) = raw_upgrade(addr, &[("connection", Some("keep-alive"))]).await;
    assert_eq!(head.status, 400, "{}", head.head);

    // `mcp` among others is fine, and only `mcp` is echoed.
    let (_, head) = raw_upgrade(addr, &[("sec-websocket-protocol", Some("chat, mcp"))]).await;
    assert_eq!(head.status, 101, "{}", head.head);
    assert_eq!(head.header("sec-websocket-protocol"), Some("mcp"));
    // The tungstenite client agrees the handshake is good.
    let (_, handshake) = running.connect_offering("chat, mcp", None).await.unwrap();
    assert_eq!(handshake.headers()["sec-websocket-protocol"], "mcp");
    running.stop().await;
}

#[tokio::test]
async fn a_foreign_origin_is_forbidden_at_the_upgrade() {
    let running = start(config()).await;
    let (_, head) = raw_upgrade(running.addr, &[("origin", Some("https://evil.example"))]).await;
    assert_eq!(head.status, 403, "{}{}", head.head, head.body);
    let (_, head) = raw_upgrade(running.addr, &[("host", Some("evil.example"))]).await;
    assert_eq!(head.status, 403, "a foreign Host: {}{}", head.head, head.body);
    // A local origin is fine.
    let local = format!("http://localhost:{}", running.addr.port());
    let (_, head) = raw_upgrade(running.addr, &[("origin", Some(&local))]).await;
    assert_eq!(head.status, 101, "{}", head.head);
    running.stop().await;
}

fn with_api_key() -> HttpConfig {
    let keys = vec![ApiKey::new("ws", SECRET, ["tools"]), ApiKey::new("ops", ADMIN_SECRET, ["tools", "admin"])];
    let auth = Auth::new(AuthConfig { api_keys: keys, ..AuthConfig::new("http://localhost/mcp") }).unwrap();
    HttpConfig { auth: Some(auth), ..config() }
}

#[tokio::test]
async fn with_auth_on_the_upgrade_needs_credentials() {
    let running = start(with_api_key()).await;
    let addr = running.addr;

    let (_, head) = raw_upgrade(addr, &[]).await;
    assert_eq!(head.status, 401, "no credentials: {}", head.head);
    assert!(head.header("www-authenticate").is_some_and(|c| c.starts_with("bearer")), "{}", head.head);
    let (_, head) = raw_upgrade(addr, &[("sec-websocket-protocol", Some("mcp, mcp.auth.wrong-key"))]).await;
    assert_eq!(head.status, 401, "a wrong key in the subprotocol: {}", head.head);
    let (_, head) = raw_upgrade(addr, &[("authorization", Some("Bearer wrong-key"))]).await;
    assert_eq!(head.status, 401, "a wrong bearer: {}", head.head);

    // A browser's way: the key as a subprotocol beside `mcp`; only `mcp` is echoed.
    let offer = format!("mcp, mcp.auth.{SECRET}");
    let (_, head) = raw_upgrade(addr, &[("sec-websocket-protocol", Some(&offer))]).await;
    assert_eq!(head.status, 101, "{}", head.head);
    assert_eq!(head.header("sec-websocket-protocol"), Some("mcp"), "{}", head.head);
    assert!(!head.head.contains(SECRET), "the key is never echoed: {}", head.head);
    let (mut ws, handshake) = running.connect_offering(&offer, None).await.unwrap();
    assert_eq!(handshake.headers()["sec-websocket-protocol"], "mcp");
    initialize(&mut ws, json!({})).await;
    send(&mut ws, call(1, "echo", json!({"text": "authorized"}))).await;
    assert_eq!(text_of(&response(&mut ws, 1).await.0), "authorized");

    // The key's grant holds for the socket's life: no `admin` scope, no admin tool.
    send(&mut ws, call(2, "admin", json!({"text": "let me in"}))).await;
    let (refused, _) = response(&mut ws, 2).await;
    assert_eq!(refused["error"]["data"]["requiredScopes"], json!(["admin"]), "{refused}");
    assert!(!refused.to_string().contains("\"let me in\""), "{refused}");

    // A header's way, with a key that has the scope.
    let (mut ws, _) = running.connect_offering("mcp", Some(&format!("Bearer {ADMIN_SECRET}"))).await.unwrap();
    send(&mut ws, modern_call(1, "admin", json!({"text": "admin ok"}))).await;
    assert_eq!(text_of(&response(&mut ws, 1).await.0), "admin ok");
    let (mut ws, _) = running.connect_offering("mcp", Some(&format!("Bearer {SECRET}"))).await.unwrap();
    send(&mut ws, modern_call(1, "admin", json!({"text": "let me in"}))).await;
    let (refused, _) = response(&mut ws, 1).await;
    assert_eq!(refused["error"]["data"]["requiredScopes"], json!(["admin"]), "{refused}");

    // The key alone, without `mcp`, is still not a valid offer.
    let (_, head) = raw_upgrade(addr, &[("sec-websocket-protocol", Some(&format!("mcp.auth.{SECRET}")))]).await;
    assert_eq!(head.status, 400, "{}", head.head);
    running.stop().await;
}

#[tokio::test]
async fn a_disabled_websocket_is_not_upgraded() {
    let config = HttpConfig { websocket: WebSocketConfig { enabled: false, ..WebSocketConfig::default() }, ..config() };
    let running = start(config).await;
    let (_, head) = raw_upgrade(running.addr, &[]).await;
    assert_ne!(head.status, 101);
    assert_eq!(head.status, 400, "{}{}", head.head, head.body);
    assert!(head.header("upgrade").is_none(), "{}", head.head);
    assert!(running.connect_offering("mcp", None).await.is_err());
    running.stop().await;
}

// ---------------------------------------------------------------------------------
// 4. Bad frames.

#[tokio::test]
async fn a_binary_frame_closes_with_1003() {
    let running = start(config()).await;
    let mut ws = running.connect().await;
    ws.send(Message::binary(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}".to_vec())).await.unwrap();
    let close = close_frame(&mut ws).await;
    assert_eq!(close.code, CloseCode::Unsupported, "{close:?}");
    running.wait_for_sockets(0.0).await;
    running.assert_healthy().await;
    running.stop().await;
}

#[tokio::test]
async fn invalid_json_gets_a_parse_error_and_the_socket_stays_open() {
    let running = start(config()).await;
    let mut ws = running.connect().await;
    ws.send(Message::text("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ")).await.unwrap();
    let error = recv(&mut ws).await;
    assert_eq!(error["error"]["code"], -32700, "{error}");
    send(&mut ws, json!({"jsonrpc": "2.0", "id": 2, "method": "ping"})).await;
    let (pong, _) = response(&mut ws, 2).await;
    assert_eq!(pong["result"], json!({}));
    // Also inside a legacy session.
    initialize(&mut ws, json!({})).await;
    ws.send(Message::text("not json at all")).await.unwrap();
    let error = recv(&mut ws).await;
    assert_eq!(error["error"]["code"], -32700, "{error}");
    send(&mut ws, call(3, "echo", json!({"text": "still here"}))).await;
    assert_eq!(text_of(&response(&mut ws, 3).await.0), "still here");
    running.stop().await;
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009_and_the_server_goes_on() {
    const LIMIT: usize = 64 * 1024;
    let running = start(HttpConfig { max_body_bytes: LIMIT, ..config() }).await;

    // One 10 MB frame: refused on its header, while the client is still sending.
    let stream = raw_socket(running.addr).await;
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        let size = 10 * 1024 * 1024;
        let mut header = vec![0x81];
        header.extend(frame_length(size));
        header.extend([0, 0, 0, 0]);
        let chunk = vec![b'a'; 64 * 1024];
        if write.write_all(&header).await.is_err() {
            return;
        }
        for _ in 0..size / chunk.len() {
            if write.write_all(&chunk).await.is_err() {
                return;
            }
        }
    });
    let (code, reason) = raw_close_half(&mut read).await;
    assert_eq!(code, 1009, "{reason}");
    assert!(reason.contains(&LIMIT.to_string()), "{reason}");
    writer.abort();

    // Fragments that are small each but too large together.
    let mut stream = raw_socket(running.addr).await;
    let fragment = vec![b'b'; 4096];
    let mut frames = masked(0x1, &fragment, false);
    for _ in 0..(LIMIT / fragment.len()) + 1 {
        frames.extend(masked(0x0, &fragment, false));
    }
    frames.extend(masked(0x0, b"", true));
    let _ = stream.write_all(&frames).await;
    let (code, reason) = raw_close(&mut stream).await;
    assert_eq!(code, 1009, "{reason}");

    // A message of exactly the limit is served; one byte more is not.
    let empty = modern_call(1, "echo", json!({"text": ""})).to_string().len();
    let exact = modern_call(1, "echo", json!({"text": "y".repeat(LIMIT - empty)})).to_string();
    assert_eq!(exact.len(), LIMIT);
    let mut ws = running.connect().await;
    ws.send(Message::text(exact)).await.unwrap();
    assert_eq!(text_of(&response(&mut ws, 1).await.0).len(), LIMIT - empty);
    let over = modern_call(2, "echo", json!({"text": "y".repeat(LIMIT - empty + 1)})).to_string();
    ws.send(Message::text(over)).await.unwrap();
    assert_eq!(close_frame(&mut ws).await.code, CloseCode::Size);
    running.wait_for_sockets(0.0).await;
    running.assert_healthy().await;
    running.stop().await;
}

/// [`raw_close`] on a read half.
async fn raw_close_half(read: &mut tokio::net::tcp::OwnedReadHalf) -> (u16, String) {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        // Parse what we have: any frames before the close are skipped.
        let mut at = 0;
        while seen.len() >= at + 2 {
            let opcode = seen[at] & 0x0f;
            let (len, header) = match seen[at + 1] & 0x7f {
                126 if seen.len() >= at + 4 => (usize::from(u16::from_be_bytes([seen[at + 2], seen[at + 3]])), 4),
                126 | 127 => break,
                n => (usize::from(n), 2),
            };
            if seen.len() < at + header + len {
                break;
            }
            let payload = &seen[at + header..at + header + len];
            if opcode == 0x8 {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                return (code, String::from_utf8_lossy(&payload[2..]).into_owned());
            }
            at += header + len;
        }
        let mut buf = [0u8; 1024];
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let n = tokio::time::timeout(left, read.read(&mut buf)).await.expect("no close frame in time").unwrap();
        assert!(n > 0, "the socket ended without a close frame: {seen:?}");
        seen.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn a_fragmented_message_is_reassembled() {
    let running = start(config()).await;
    let mut ws = running.connect().await;
    let message = modern_call(1, "echo", json!({"text": "héllo, wörld — in pieces"})).to_string();
    let bytes = message.as_bytes();
    // Cut inside the two-byte `é`, so the pieces are not valid UTF-8 on their own.
    let cut = message.find('é').unwrap() + 1;
    let (first, rest) = bytes.split_at(cut);
    let (middle, last) = rest.split_at(rest.len() / 2);
    ws.feed(Message::Frame(Frame::message(first.to_vec(), OpCode::Data(Data::Text), false))).await.unwrap();
    // A control frame may come between fragments.
    ws.feed(Message::Ping(b"between".to_vec().into())).await.unwrap();
    ws.feed(Message::Frame(Frame::message(middle.to_vec(), OpCode::Data(Data::Continue), false))).await.unwrap();
    ws.feed(Message::Frame(Frame::message(last.to_vec(), OpCode::Data(Data::Continue), true))).await.unwrap();
    ws.flush().await.unwrap();
    let mut pong = false;
    let answer = loop {
        match next_frame(&mut ws).await {
            Message::Pong(data) => pong = data.as_ref() == b"between",
            Message::Text(text) => break serde_json::from_str::<Value>(&text).unwrap(),
            other => panic!("{other:?}"),
        }
    };
    assert!(pong, "the ping between fragments was answered first");
    assert_eq!(answer["id"], 1);
    assert_eq!(text_of(&answer), "héllo, wörld — in pieces");

    // The same over a raw socket, one byte per frame.
    let mut stream = raw_socket(running.addr).await;
    let message = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}).to_string();
    let mut frames = Vec::new();
    for (i, byte) in message.bytes().enumerate() {
        let opcode = if i == 0 { 0x1 } else { 0x0 };
        frames.extend(masked(opcode, &[byte], i + 1 == message.len()));
    }
    stream.write_all(&frames).await.unwrap();
    let (opcode, payload) = read_raw_frame(&mut stream).await;
    assert_eq!(opcode, 0x1);
    let answer: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(answer, json!({"jsonrpc": "2.0", "id": 2, "result": {}}));
    running.stop().await;
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007() {
    let running = start(config()).await;
    // A valid message first: the raw socket works.
    let mut stream = raw_socket(running.addr).await;
    stream.write_all(&masked(0x1, br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, true)).await.unwrap();
    let (opcode, payload) = read_raw_frame(&mut stream).await;
    assert_eq!((opcode, serde_json::from_slice::<Value>(&payload).unwrap()["id"].clone()), (0x1, json!(1)));
    // Then a text frame holding bytes that are not UTF-8.
    stream.write_all(&masked(0x1, b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"\xff\xfe\"}", true)).await.unwrap();
    let (code, reason) = raw_close(&mut stream).await;
    assert_eq!(code, 1007, "{reason}");

    // Invalid UTF-8 split across fragments too.
    let mut stream = raw_socket(running.addr).await;
    let mut frames = masked(0x1, b"{\"a\":\"\xc3", false);
    frames.extend(masked(0x0, b"(\"}", true));
    stream.write_all(&frames).await.unwrap();
    let (code, reason) = raw_close(&mut stream).await;
    assert_eq!(code, 1007, "{reason}");
    running.wait_for_sockets(0.0).await;
    running.assert_healthy().await;
    running.stop().await;
}

// ---------------------------------------------------------------------------------
// 5. Resources.

#[tokio::test]
async fn a_client_that_never_reads_is_dropped_and_the_server_stays_healthy() {
    // About three times what the socket buffers hold while the client reads nothing
    // (its receive buffer does not grow then; the server's send buffer is at most 4 MB),
    // and no more: building the answers costs CPU, and on a busy machine the server
    // must still answer the metrics requests below in time.
    const REQUESTS: i64 = 12;
    const SIZE: usize = 1024 * 1024;
    let websocket = WebSocketConfig { send_timeout: Duration::from_secs(1), ..WebSocketConfig::default() };
    let running = start(HttpConfig { websocket, ..config() }).await;
    let mut ws = running.connect().await;
    for id in 1..=REQUESTS {
        send(&mut ws, modern_call(id, "blob", json!({"size": SIZE}))).await;
    }
    assert_eq!(running.open_sockets().await, 1.0);
    // 12 MB of answers do not fit in the socket buffers: the server gives up on us. The
    // upper bound is loose: a debug build on a busy machine takes seconds to build the
    // answers before the send timeout starts; the lower bound is the check.
    let started = tokio::time::Instant::now();
    running.wait_for_sockets_within(0.0, 3 * STEP).await;
    assert!(started.elapsed() >= Duration::from_millis(500), "dropped too early: {:?}", started.elapsed());

    // What got through before the server gave up, then the end of the socket.
    let mut answers = 0;
    let ended = tokio::time::timeout(STEP, async {
        while let Some(Ok(message)) = ws.next().await {
            if message.is_text() {
                answers += 1;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the socket did not end");
    assert!(answers < REQUESTS, "all {answers} answers arrived: the client was not dropped");
    running.assert_healthy().await;
    running.stop().await;
}

#[tokio::test]
async fn a_client_that_disconnects_cancels_its_request() {
    let running = start(config()).await;
    let mut ws = running.connect().await;
    let mut request = modern_call(1, "wait_for_cancel", json!({}));
    request["params"]["_meta"]["progressToken"] = json!("t");
    send(&mut ws, request).await;
    let progress = recv(&mut ws).await;
    assert_eq!(progress["method"], "notifications/progress", "{progress}");
    assert!(!running.seen.cancelled.load(Ordering::SeqCst));
    drop(ws);
    let deadline = tokio::time::Instant::now() + STEP;
    while !running.seen.cancelled.load(Ordering::SeqCst) {
        assert!(tokio::time::Instant::now() < deadline, "the handler kept running after the client left");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.wait_for_sockets(0.0).await;
    running.assert_healthy().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_sockets_are_all_served() {
    const SOCKETS: usize = 1000;
    // One client (one address) opens them all: its share of streams is raised to hold
    // them, as an operator would for a client known to need that many.
    let config = HttpConfig { max_connections: 4 * SOCKETS, max_streams_per_caller: SOCKETS, ..config() };
    let running = start(config).await;
    let url = format!("ws://127.0.0.1:{}/mcp", running.addr.port());
    let connect = |_| {
        let url = url.clone();
        async move {
            let mut request = url.into_client_request().unwrap();
            request.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("mcp"));
            tokio_tungstenite::connect_async(request).await.map(|(ws, _)| ws)
        }
    };
    let opened = tokio::time::timeout(
        Duration::from_secs(10),
        futures_util::stream::iter(0..SOCKETS).map(connect).buffer_unordered(200).collect::<Vec<_>>(),
    )
    .await
    .expect("the sockets did not open in time");
    let mut sockets: Vec<Ws> = opened.into_iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(sockets.len(), SOCKETS);
    assert_eq!(running.open_sockets().await, SOCKETS as f64);

    let pings = sockets.iter_mut().enumerate().map(|(i, ws)| async move {
        let id = i64::try_from(i).unwrap();
        ws.send(Message::text(json!({"jsonrpc": "2.0", "id": id, "method": "ping"}).to_string())).await.unwrap();
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str::<Value>(&text).unwrap()["id"] == json!(id);
                }
                Some(Ok(_)) => {}
                other => panic!("socket {i}: {other:?}"),
            }
        }
    });
    let answered = tokio::time::timeout(Duration::from_secs(10), futures_util::future::join_all(pings))
        .await
        .expect("not every socket was answered in time");
    assert!(answered.iter().all(|ok| *ok), "a socket got someone else's answer");
    drop(sockets);
    running.wait_for_sockets(0.0).await;
    running.stop().await;
}

#[tokio::test]
async fn sockets_over_the_cap_get_503_before_the_upgrade() {
    let websocket = WebSocketConfig { max_sockets: 2, ..WebSocketConfig::default() };
    let running = start(HttpConfig { websocket, ..config() }).await;
    let mut first = running.connect().await;
    let _second = running.connect().await;
    let (_, head) = raw_upgrade(running.addr, &[]).await;
    assert_eq!(head.status, 503, "{}", head.head);
    assert!(head.header("retry-after").is_some(), "{}", head.head);
    match running.connect_offering("mcp", None).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("the third socket was not refused: {:?}", other.map(|(_, r)| r.status())),
    }
    // The sockets open are served, and plain HTTP still is.
    send(&mut first, json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})).await;
    response(&mut first, 1).await;
    assert!(running.get("/health").await.starts_with("HTTP/1.1 200"));
    // Closing one frees its seat.
    first.close(None).await.unwrap();
    drop(first);
    running.wait_for_sockets(1.0).await;
    let mut third = running.connect().await;
    send(&mut third, json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})).await;
    response(&mut third, 1).await;
    running.stop().await;
}

#[tokio::test]
async fn a_ping_flood_is_answered_and_the_socket_still_works() {
    const PINGS: usize = 5000;
    let running = start(config()).await;
    let mut ws = running.connect().await;
    for i in 0..PINGS {
        ws.feed(Message::Ping(i.to_be_bytes().to_vec().into())).await.unwrap();
    }
    ws.flush().await.unwrap();
    send(&mut ws, json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})).await;
    let mut pongs = 0;
    let answer = loop {
        match next_frame(&mut ws).await {
            Message::Pong(_) => pongs += 1,
            Message::Text(text) => break serde_json::from_str::<Value>(&text).unwrap(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(answer, json!({"jsonrpc": "2.0", "id": 1, "result": {}}));
    assert!(pongs > 0, "no pong came back");
    let counted = running.metric("tenet_websocket_frames_total", &["direction=\"in\"", "kind=\"ping\""]).await;
    assert_eq!(counted, PINGS as f64);
    send(&mut ws, modern_call(2, "echo", json!({"text": "after the flood"}))).await;
    assert_eq!(text_of(&response(&mut ws, 2).await.0), "after the flood");
    running.stop().await;
}

#[tokio::test]
async fn a_close_during_a_server_request_ends_the_handler() {
    let running = start(config()).await;
    let mut ws = running.connect().await;
    initialize(&mut ws, json!({"roots": {}})).await;
    send(&mut ws, call(1, "ask_roots", json!({}))).await;
    let ask = recv(&mut ws).await;
    assert_eq!(ask["method"], "roots/list", "{ask}");
    assert!(running.seen.asked.lock().unwrap().is_none());
    // Instead of answering, close.
    ws.send(Message::Close(Some(CloseFrame { code: CloseCode::Normal, reason: "bye".into() }))).await.unwrap();
    let echoed = close_frame(&mut ws).await;
    assert_eq!(echoed.code, CloseCode::Normal);

    let deadline = tokio::time::Instant::now() + STEP;
    let outcome = loop {
        if let Some(outcome) = running.seen.asked.lock().unwrap().clone() {
            break outcome;
        }
        assert!(tokio::time::Instant::now() < deadline, "the handler still awaits the client's answer");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // The session closing cancels the handler (its future is dropped), or fails its
    // request to the client; either way it does not wait out the client timeout.
    assert!(outcome == "dropped" || outcome.starts_with("error: "), "{outcome}");
    running.wait_for_sockets(0.0).await;
    running.assert_healthy().await;
    running.stop().await;
}

#[tokio::test]
async fn shutdown_answers_requests_in_flight_then_closes_with_1001() {
    let running = start(config()).await;
    let mut ws = running.connect().await;
    let mut legacy = running.connect().await;
    let mut asking = running.connect().await;
    let mut idle = running.connect().await;
    initialize(&mut legacy, json!({})).await;
    initialize(&mut asking, json!({"roots": {}})).await;
    send(&mut ws, modern_call(1, "slow", json!({}))).await;
    send(&mut legacy, call(2, "slow", json!({}))).await;
    send(&mut asking, call(3, "ask_roots", json!({}))).await;
    assert_eq!(recv(&mut asking).await["method"], "roots/list");
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.shutdown.cancel();
    let (answer, _) = response(&mut ws, 1).await;
    assert_eq!(text_of(&answer), "slow done");
    let (answer, _) = response(&mut legacy, 2).await;
    assert_eq!(text_of(&answer), "slow done");
    // A handler awaiting the client's answer gets an error, and its call is answered.
    let (answer, _) = response(&mut asking, 3).await;
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    let outcome = running.seen.asked.lock().unwrap().clone().unwrap();
    assert!(outcome.starts_with("error: "), "{outcome}");
    for socket in [&mut ws, &mut legacy, &mut asking, &mut idle] {
        let close = close_frame(socket).await;
        assert_eq!(close.code, CloseCode::Away, "{close:?}");
    }
    tokio::time::timeout(STEP, running.task).await.expect("serve did not stop").unwrap().unwrap();
    assert!(TcpStream::connect(running.addr).await.is_err(), "no longer accepting");
}

#[tokio::test]
async fn a_socket_silent_for_two_ping_intervals_is_closed() {
    let websocket = WebSocketConfig { ping_interval: Duration::from_millis(100), ..WebSocketConfig::default() };
    let running = start(HttpConfig { websocket, ..config() }).await;
    // A raw client that never answers pings.
    let mut stream = raw_socket(running.addr).await;
    let mut pings = 0;
    let code = loop {
        let (opcode, payload) = read_raw_frame(&mut stream).await;
        match opcode {
            0x9 => pings += 1,
            0x8 => break u16::from_be_bytes([payload[0], payload[1]]),
            other => panic!("opcode {other}"),
        }
    };
    assert!(pings >= 1, "the server pinged first");
    assert_eq!(code, 1001);
    running.wait_for_sockets(0.0).await;
    running.stop().await;
}

#[tokio::test]
async fn an_idle_socket_is_closed_with_1000_but_not_while_a_request_runs() {
    let websocket = WebSocketConfig {
        ping_interval: Duration::from_millis(50),
        idle_timeout: Duration::from_millis(200),
        ..WebSocketConfig::default()
    };
    let running = start(HttpConfig { websocket, ..config() }).await;
    let mut ws = running.connect().await;
    // A request that outlives the idle timeout is still answered.
    send(&mut ws, modern_call(1, "slow", json!({}))).await;
    let (answer, _) = response(&mut ws, 1).await;
    assert_eq!(text_of(&answer), "slow done");
    // Then nothing: closed for idleness (pongs, which tungstenite sends as it reads,
    // do not count as messages).
    let started = tokio::time::Instant::now();
    let close = close_frame(&mut ws).await;
    assert_eq!(close.code, CloseCode::Normal, "{close:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    running.stop().await;
}

// ---------------------------------------------------------------------------------
// 6. Metrics.

#[tokio::test]
async fn metrics_count_frames_and_the_socket_gauge_returns_to_zero() {
    let running = start(config()).await;
    assert_eq!(running.open_sockets().await, 0.0);
    let mut ws = running.connect().await;
    initialize(&mut ws, json!({})).await;
    send(&mut ws, call(1, "echo", json!({"text": "counted"}))).await;
    response(&mut ws, 1).await;
    ws.send(Message::Ping(b"p".to_vec().into())).await.unwrap();
    assert_eq!(running.open_sockets().await, 1.0);

    let text_in = ["direction=\"in\"", "kind=\"text\""];
    let text_out = ["direction=\"out\"", "kind=\"text\""];
    // initialize, notifications/initialized and tools/call in; two answers out.
    assert_eq!(running.metric("tenet_websocket_frames_total", &text_in).await, 3.0);
    running.wait_for_metric("tenet_websocket_frames_total", &text_out, 2.0).await;

    ws.close(None).await.unwrap();
    while let Ok(Some(Ok(_))) = tokio::time::timeout(STEP, ws.next()).await {}
    running.wait_for_sockets(0.0).await;
    let closes = running.metric("tenet_websocket_frames_total", &["direction=\"in\"", "kind=\"close\""]).await;
    assert_eq!(closes, 1.0);
    let pings = running.metric("tenet_websocket_frames_total", &["direction=\"in\"", "kind=\"ping\""]).await;
    assert_eq!(pings, 1.0);
    let metrics = running.get("/metrics").await;
    assert!(metrics.contains("tenet_sessions{transport=\"websocket\"} 0"), "{metrics}");
    running.stop().await;
}
