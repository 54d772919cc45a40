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
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (server, probe) = server();
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
