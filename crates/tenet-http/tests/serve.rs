//! The real listener: TCP, slowloris, the connection cap, disconnects, and graceful
//! shutdown, with a tiny raw HTTP/1.1 client.

#![allow(clippy::unwrap_used)]

use crate::support;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::{MODERN, STEP, meta, server};
use serde_json::json;
use tenet_http::HttpConfig;
use tenet_server::CancellationToken;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

struct Running {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
    probe: std::sync::Arc<support::Probe>,
}

async fn start(config: HttpConfig) -> Running {
    let (server, probe) = server();
    start_serving(server, probe, config).await
}

/// Serves `server` on a loopback port as the binary does ([`tenet_http::serve_listener`]).
async fn start_serving(
    server: tenet_server::Server,
    probe: std::sync::Arc<support::Probe>,
    config: HttpConfig,
) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(tenet_http::serve_listener(listener, server, config, shutdown.clone()));
    Running { addr, shutdown, task, probe }
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(STEP, self.task).await.expect("serve did not stop").unwrap().unwrap();
    }
}

/// A raw request: the bytes of a POST of `body` with the usual MCP headers.
fn raw_post(addr: SocketAddr, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /mcp HTTP/1.1\r\nhost: localhost:{}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        addr.port(),
        body.len()
    )
    .into_bytes()
}

async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(STEP, stream.read_to_end(&mut out)).await.expect("no response in time").unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

async fn health(addr: SocketAddr) -> String {
    exchange(addr, b"GET /health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").await
}

fn call(id: i64, method: &str, mut params: serde_json::Value) -> String {
    params["_meta"] = meta(json!({}));
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

fn modern_headers(method: &str, name: Option<&str>) -> String {
    let name = name.map(|n| format!("mcp-name: {n}\r\n")).unwrap_or_default();
    format!("mcp-protocol-version: {MODERN}\r\nmcp-method: {method}\r\n{name}")
}

#[tokio::test]
async fn serves_over_tcp() {
    let running = start(HttpConfig::default()).await;
    let body = call(1, "tools/call", json!({"name": "echo", "arguments": {"text": "over tcp"}}));
    let reply =
        exchange(running.addr, &raw_post(running.addr, &modern_headers("tools/call", Some("echo")), &body)).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("over tcp"), "{reply}");
    running.stop().await;
}

#[tokio::test]
async fn a_slowloris_client_is_cut_off_and_others_are_served() {
    let running = start(HttpConfig { header_read_timeout: Duration::from_millis(300), ..HttpConfig::default() }).await;
    let mut slow = TcpStream::connect(running.addr).await.unwrap();
    let dribble = async {
        for byte in b"POST /mcp HTTP/1.1\r\nhost: localhost\r\nx-slow: ".iter().chain(std::iter::repeat(&b'a')) {
            if slow.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    assert!(tokio::time::timeout(STEP, dribble).await.is_ok(), "the server never cut the dribbler off");
    assert!(health(running.addr).await.starts_with("HTTP/1.1 200"));
    running.stop().await;
}

#[tokio::test]
async fn connections_over_the_cap_get_503() {
    let running = start(HttpConfig { max_connections: 1, ..HttpConfig::default() }).await;
    let mut held = TcpStream::connect(running.addr).await.unwrap();
    held.write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(STEP, held.read(&mut buf)).await.unwrap().unwrap();
    assert!(std::str::from_utf8(&buf[..n]).unwrap().starts_with("HTTP/1.1 200"));
    let refused = health(running.addr).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.to_ascii_lowercase().contains("retry-after: 1"), "{refused}");
    drop(held);
    let deadline = tokio::time::Instant::now() + STEP;
    while !health(running.addr).await.starts_with("HTTP/1.1 200") {
        assert!(tokio::time::Instant::now() < deadline, "the slot was never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.stop().await;
}

/// One client address holds at most `max_connections_per_address` connections, even
/// idle ones that never send a request: past it, its next one is answered 429 (a
/// JSON-RPC error, `Retry-After`) and closed, while another address is served. Closing
/// one gives its place back. Before the bound, one address could hold every slot.
#[tokio::test]
async fn one_address_holds_at_most_its_share_of_connections() {
    let running = start(HttpConfig { max_connections_per_address: Some(2), ..HttpConfig::default() }).await;
    let connect_from = |local: [u8; 4]| async move {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((local, 0))).unwrap();
        socket.connect(running.addr).await.unwrap()
    };
    let health_from = |local: [u8; 4]| async move {
        let mut stream = connect_from(local).await;
        stream.write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").await.unwrap();
        let mut out = Vec::new();
        tokio::time::timeout(STEP, stream.read_to_end(&mut out)).await.expect("no response in time").unwrap();
        String::from_utf8_lossy(&out).into_owned()
    };
    // Two idle connections: nothing sent on them.
    let first = connect_from([127, 0, 0, 1]).await;
    let _second = connect_from([127, 0, 0, 1]).await;
    // Accepted in the order they connected: the two idle ones are counted first.
    let refused = health_from([127, 0, 0, 1]).await;
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    let lower = refused.to_ascii_lowercase();
    assert!(lower.contains("retry-after: 1") && lower.contains("connection: close"), "{refused}");
    let body = refused.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    let error: serde_json::Value = serde_json::from_str(body).expect("a JSON-RPC error body");
    assert_eq!(error["error"]["code"], -32000, "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("holds 2 connections"), "{error}");
    assert!(health_from([127, 0, 0, 2]).await.starts_with("HTTP/1.1 200"), "another address has its own share");
    drop(first);
    let deadline = tokio::time::Instant::now() + STEP;
    while !health_from([127, 0, 0, 1]).await.starts_with("HTTP/1.1 200") {
        assert!(tokio::time::Instant::now() < deadline, "the closed connection's place was never given back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.stop().await;
}

#[tokio::test]
async fn a_client_that_disconnects_mid_stream_cancels_its_request() {
    let running = start(HttpConfig::default()).await;
    let body = r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"wait_for_cancel","_meta":{"progressToken":1,"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let mut stream = TcpStream::connect(running.addr).await.unwrap();
    stream
        .write_all(&raw_post(running.addr, &modern_headers("tools/call", Some("wait_for_cancel")), body))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("notifications/progress") {
        let mut buf = [0u8; 1024];
        let n = tokio::time::timeout(STEP, stream.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "closed early");
        seen.extend_from_slice(&buf[..n]);
    }
    drop(stream);
    let deadline = tokio::time::Instant::now() + STEP;
    while !running.probe.cancelled.load(Ordering::SeqCst) {
        assert!(tokio::time::Instant::now() < deadline, "the handler kept running after the client left");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(health(running.addr).await.starts_with("HTTP/1.1 200"));
    running.stop().await;
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight_and_ends_listen_streams() {
    let running = start(HttpConfig::default()).await;
    let addr = running.addr;
    let slow = tokio::spawn(async move {
        let body = call(1, "tools/call", json!({"name": "slow"}));
        exchange(addr, &raw_post(addr, &modern_headers("tools/call", Some("slow")), &body)).await
    });
    let listen = tokio::spawn(async move {
        let body = call(2, "subscriptions/listen", json!({"notifications": {"toolsListChanged": true}}));
        exchange(addr, &raw_post(addr, &modern_headers("subscriptions/listen", None), &body)).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.shutdown.cancel();
    let slow = tokio::time::timeout(STEP, slow).await.unwrap().unwrap();
    assert!(slow.contains("slow done"), "the request in flight finished: {slow}");
    let listen = tokio::time::timeout(STEP, listen).await.unwrap().unwrap();
    assert!(listen.contains("acknowledged") && listen.contains("\"result\""), "{listen}");
    tokio::time::timeout(STEP, running.task).await.expect("serve did not return").unwrap().unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "no longer accepting");
}

/// Sends `first` on a kept-alive connection and reads its whole response (by its
/// content-length); then, unless it said `connection: close`, a second request on the
/// same connection, which must be answered.
async fn then_again(addr: SocketAddr, first: &[u8]) -> (String, Option<String>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(first).await.unwrap();
    let head = read_response(&mut stream).await;
    if head.to_ascii_lowercase().contains("\r\nconnection: close\r\n") {
        return (head, None);
    }
    stream.write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n").await.unwrap();
    let second = read_response(&mut stream).await;
    (head, Some(second))
}

/// One response: its head and as many body bytes as its content-length says.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end + 4]).into_owned();
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length: ").map(|n| n.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = tokio::time::timeout(STEP, stream.read(&mut chunk)).await.unwrap().unwrap();
                assert!(n > 0, "closed mid-body");
                buf.extend_from_slice(&chunk[..n]);
            }
            return head;
        }
        let n = tokio::time::timeout(STEP, stream.read(&mut chunk)).await.expect("no response in time").unwrap();
        assert!(n > 0, "closed before a response: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test]
async fn a_response_before_the_body_is_read_closes_the_connection_with_a_word_or_keeps_it_usable() {
    let running = start(HttpConfig { max_body_bytes: 64 * 1024, ..HttpConfig::default() }).await;
    let addr = running.addr;
    let big = "x".repeat(300_000);
    let requests = [
        // Refused on its content type, before a byte of the body is read.
        format!(
            "POST /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{big}",
            big.len()
        ),
        // Over the size limit: read in part, then refused.
        format!(
            "POST /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\n\r\n{big}",
            big.len()
        ),
        // A GET and a DELETE with bodies.
        format!("GET /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-length: {}\r\n\r\n{big}", big.len()),
        "DELETE /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-length: 5\r\n\r\nhello".to_owned(),
        // A foreign Host, refused at once.
        format!(
            "POST /mcp HTTP/1.1\r\nhost: evil.example\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{big}",
            big.len()
        ),
    ];
    for request in &requests {
        let (head, second) = then_again(addr, request.as_bytes()).await;
        let status = head.lines().next().unwrap_or("").to_owned();
        assert!(status.starts_with("HTTP/1.1 4"), "{status}");
        if let Some(second) = second {
            assert!(second.starts_with("HTTP/1.1 200"), "after {status}: {second}");
        }
    }
    // A request read to the end keeps its connection.
    let body = call(1, "tools/list", json!({}));
    let post = format!(
        "POST /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\n{}content-length: {}\r\n\r\n{body}",
        modern_headers("tools/list", None),
        body.len()
    );
    let (head, second) = then_again(addr, post.as_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(second.is_some_and(|s| s.starts_with("HTTP/1.1 200")), "kept alive");
    running.stop().await;
}

/// Without authorization the per-caller share of legacy sessions is per client
/// address: 127.0.0.1 holds its one, and 127.0.0.2 (loopback too) still gets its own.
#[tokio::test]
async fn without_auth_each_address_has_its_own_share_of_sessions() {
    let running = start(HttpConfig { max_sessions_per_caller: 1, ..HttpConfig::default() }).await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": support::LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}})
    .to_string();
    let from = |local: [u8; 4]| {
        let init = init.clone();
        async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(SocketAddr::from((local, 0))).unwrap();
            let mut stream = socket.connect(running.addr).await.unwrap();
            stream.write_all(&raw_post(running.addr, "", &init)).await.unwrap();
            let mut out = Vec::new();
            tokio::time::timeout(STEP, stream.read_to_end(&mut out)).await.expect("no response in time").unwrap();
            String::from_utf8_lossy(&out).split(' ').nth(1).unwrap_or_default().to_owned()
        }
    };
    assert_eq!(from([127, 0, 0, 1]).await, "200");
    assert_eq!(from([127, 0, 0, 1]).await, "429", "this address's share is taken");
    assert_eq!(from([127, 0, 0, 2]).await, "200", "another address has its own");
    assert_eq!(from([127, 0, 0, 2]).await, "429");
    running.stop().await;
}

/// Without authorization the tasks extension's per-caller share of running tasks is
/// per client address, as the real listener tells them apart: 127.0.0.1 creates its
/// share of tasks with stateless `tools/call` requests, its next is refused (HTTP 429,
/// JSON-RPC -32004), and 127.0.0.2 still creates one.
#[tokio::test]
async fn without_auth_a_task_flood_from_one_address_leaves_another_its_share() {
    const SHARE: usize = 3;
    let (builder, probe) = support::builder();
    let limits = tenet_server::TaskLimits { running_per_caller: SHARE, ..tenet_server::TaskLimits::DEFAULT };
    let server = builder
        .config(tenet_server::ServerConfig { task_limits: limits, ..tenet_server::ServerConfig::default() })
        .tool(support::long_task_tool())
        .build()
        .unwrap();
    let running = start_serving(server, probe, HttpConfig::default()).await;
    let addr = running.addr;
    let mut params = json!({"name": "long", "arguments": {"ms": 60_000}});
    params["_meta"] = meta(json!({"extensions": {"io.modelcontextprotocol/tasks": {}}}));
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}).to_string();
    let request = raw_post(addr, &modern_headers("tools/call", Some("long")), &body);
    // The status and the JSON body of one task request from `local`.
    let from = |local: [u8; 4]| {
        let request = request.clone();
        async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(SocketAddr::from((local, 0))).unwrap();
            let mut stream = socket.connect(addr).await.unwrap();
            stream.write_all(&request).await.unwrap();
            let mut out = Vec::new();
            tokio::time::timeout(STEP, stream.read_to_end(&mut out)).await.expect("no response in time").unwrap();
            let text = String::from_utf8_lossy(&out).into_owned();
            let status = text.split(' ').nth(1).unwrap_or_default().to_owned();
            let body = text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
            (status, serde_json::from_str::<serde_json::Value>(&body).unwrap_or_else(|_| panic!("{text}")))
        }
    };
    for n in 0..SHARE {
        let (status, answer) = from([127, 0, 0, 1]).await;
        assert_eq!(status, "200", "task {n}: {answer}");
        assert!(answer["result"]["taskId"].is_string(), "task {n} is created: {answer}");
    }
    let (status, answer) = from([127, 0, 0, 1]).await;
    assert_eq!(status, "429", "this address's share is taken: {answer}");
    assert_eq!(answer["error"]["code"], -32004, "{answer}");
    let (status, answer) = from([127, 0, 0, 2]).await;
    assert_eq!(status, "200", "another address has its own share: {answer}");
    assert!(answer["result"]["taskId"].is_string(), "{answer}");
    running.stop().await;
}

/// One response whose body has a content-length: head and body.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&raw).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length: ").map(|n| n.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        let n = tokio::time::timeout(STEP, stream.read(&mut chunk)).await.expect("no response in time").unwrap();
        assert!(n > 0, "closed before a whole response: {}", String::from_utf8_lossy(&raw));
        raw.extend_from_slice(&chunk[..n]);
    }
}

/// Opens a connection from `local` and sends `request`; answers the status code, with
/// the connection kept open (a stream holds its place until it is dropped).
async fn open_from(addr: SocketAddr, local: [u8; 4], request: &[u8]) -> (String, TcpStream) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((local, 0))).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(STEP, stream.read(&mut byte)).await.expect("no response head in time").unwrap();
        assert!(n > 0, "closed before a response: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    let status = String::from_utf8_lossy(&head).split(' ').nth(1).unwrap_or_default().to_owned();
    (status, stream)
}

/// One caller (here an address: no authorization) holds at most
/// `max_streams_per_caller` long-lived streams, whatever kind: a legacy session's GET
/// stream, a 2026-07-28 listen stream, an HTTP+SSE connection, a WebSocket socket. Past
/// it, its next one is refused with 429 (the listen request with JSON-RPC -32004), after
/// the checks that come first (a second GET stream of one session is still 409); its
/// requests are still served, another caller still opens its own, and streams that
/// close give every place back. Before the bound, one caller's idle streams could hold
/// every connection slot.
#[tokio::test]
async fn one_caller_holds_at_most_its_share_of_open_streams() {
    let running = start(HttpConfig { max_streams_per_caller: 2, ..HttpConfig::default() }).await;
    let addr = running.addr;
    let port = addr.port();
    let sse = format!("GET /sse HTTP/1.1\r\nhost: localhost:{port}\r\naccept: text/event-stream\r\n\r\n");
    let listen_body = call(1, "subscriptions/listen", json!({"notifications": {"toolsListChanged": true}}));
    let listen = raw_post(addr, &modern_headers("subscriptions/listen", None), &listen_body);
    let socket = format!(
        "GET /mcp HTTP/1.1\r\nhost: localhost:{port}\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-protocol: mcp\r\n\r\n"
    );
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": support::LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}})
    .to_string();
    let mut session = TcpStream::connect(addr).await.unwrap();
    session.write_all(&raw_post(addr, "", &init)).await.unwrap();
    let head = read_response(&mut session).await;
    let id = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("mcp-session-id: ").map(|v| v.trim().to_owned()))
        .expect("a session id");
    let get = format!(
        "GET /mcp HTTP/1.1\r\nhost: localhost:{port}\r\naccept: text/event-stream\r\nmcp-session-id: {id}\r\n\r\n"
    );
    // The body of a refusal: the connection is kept alive, so read what content-length says.
    let refusal = |request: Vec<u8>| async move {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let mut stream = socket.connect(addr).await.unwrap();
        stream.write_all(&request).await.unwrap();
        read_answer(&mut stream).await
    };

    let (first, held_get) = open_from(addr, [127, 0, 0, 1], get.as_bytes()).await;
    assert_eq!(first, "200", "the session's GET stream");
    let (second, held_listen) = open_from(addr, [127, 0, 0, 1], &listen).await;
    assert_eq!(second, "200", "a listen stream");

    // Full: each kind of stream is refused, with a body that says why.
    for request in [sse.as_bytes().to_vec(), socket.as_bytes().to_vec()] {
        let answer = refusal(request).await;
        assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
        assert!(answer.contains("open streams") && answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
    }
    let answer = refusal(listen.clone()).await;
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(
        answer.contains("-32004") && answer.contains("retryAfterMs") && answer.contains("open streams"),
        "{answer}"
    );
    let answer = refusal(get.as_bytes().to_vec()).await;
    assert!(answer.starts_with("HTTP/1.1 409"), "the session's stream is open: that comes first: {answer}");
    // Only streams are bounded: a request is answered.
    let body = call(3, "tools/call", json!({"name": "echo", "arguments": {"text": "still served"}}));
    let answer = refusal(raw_post(addr, &modern_headers("tools/call", Some("echo")), &body)).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.contains("still served"), "{answer}");

    // Another caller has a share of its own.
    let (status, _other_sse) = open_from(addr, [127, 0, 0, 2], sse.as_bytes()).await;
    assert_eq!(status, "200");
    let (status, _other_socket) = open_from(addr, [127, 0, 0, 2], socket.as_bytes()).await;
    assert_eq!(status, "101");

    // Closed streams give every place back: two open again.
    drop((held_get, held_listen));
    let deadline = tokio::time::Instant::now() + STEP;
    let mut reopened = Vec::new();
    for request in [get.as_bytes(), &listen[..]] {
        loop {
            let (status, stream) = open_from(addr, [127, 0, 0, 1], request).await;
            if status == "200" {
                reopened.push(stream);
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "a closed stream's place never came back: {status}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(reopened.len(), 2);
    drop(reopened);
    running.stop().await;
}
