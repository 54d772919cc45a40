//! An in-process client for protocol tests: a server on one end of a memory pipe,
//! JSON lines on the other.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};
use tenet_server::{CancellationToken, Server};
use tokio::io::DuplexStream;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines, ReadHalf, WriteHalf};

pub struct Client {
    write: WriteHalf<DuplexStream>,
    lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
    /// Messages that arrived while waiting for something else.
    pub notifications: Vec<Value>,
    pub shutdown: CancellationToken,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub const MODERN: &str = "2026-07-28";

/// `_meta` for a stateless request with these client capabilities.
pub fn meta(caps: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": caps,
    })
}

impl Client {
    pub fn start(server: Server) -> Self {
        Self::start_as(server, None)
    }

    /// A client holding `grant` (`None`: no access control).
    pub fn start_as(server: Server, grant: Option<std::sync::Arc<tenet_server::Grant>>) -> Self {
        let (client, server_end) = tenet_transport::memory::pair();
        let (read, write) = tokio::io::split(server_end);
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move { server.serve_as(read, write, token, grant).await });
        let (read, write) = tokio::io::split(client);
        Self { write, lines: BufReader::new(read).lines(), notifications: Vec::new(), shutdown, task }
    }

    pub async fn send(&mut self, message: &Value) {
        self.send_raw(&message.to_string()).await;
    }

    pub async fn send_raw(&mut self, line: &str) {
        self.write.write_all(line.as_bytes()).await.unwrap();
        self.write.write_all(b"\n").await.unwrap();
    }

    /// The next message, within 5 s.
    pub async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
            .await
            .expect("no message within 5 s")
            .unwrap()
            .expect("the server closed the stream");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"))
    }

    /// Waits for the response with `id`, keeping everything else in `notifications`.
    pub async fn response(&mut self, id: &Value) -> Value {
        loop {
            let message = self.next().await;
            if message.get("id") == Some(id) && message.get("method").is_none() {
                return message;
            }
            self.notifications.push(message);
        }
    }

    /// Sends a request and returns the next line as the server wrote it (for requests
    /// that get no notifications before their answer).
    pub async fn call_raw(&mut self, request: &Value) -> String {
        self.send(request).await;
        tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
            .await
            .expect("no message within 5 s")
            .unwrap()
            .expect("the server closed the stream")
    }

    /// Sends a whole request and returns its response.
    pub async fn response_to(&mut self, request: Value) -> Value {
        self.send(&request).await;
        self.response(&request["id"]).await
    }

    /// Sends a request and returns its response.
    pub async fn call(&mut self, id: i64, method: &str, params: Value) -> Value {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        self.response(&json!(id)).await
    }

    /// A stateless (2026-07-28) request (with whatever `_meta` entries `params` has).
    pub async fn modern(&mut self, id: i64, method: &str, mut params: Value, caps: Value) -> Value {
        let mut full = meta(caps);
        if let Some(Value::Object(given)) = params.get_mut("_meta").map(Value::take) {
            full.as_object_mut().unwrap().extend(given);
        }
        params["_meta"] = full;
        self.call(id, method, params).await
    }

    /// A legacy handshake at `version`.
    pub async fn initialize(&mut self, version: &str, caps: Value) -> Value {
        let response = self
            .call(
                0,
                "initialize",
                json!({"protocolVersion": version, "capabilities": caps, "clientInfo": {"name": "test", "version": "0"}}),
            )
            .await;
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
        response
    }

    /// Closes the client's end and waits for the server to finish.
    pub async fn finish(self) {
        drop(self.write);
        drop(self.lines);
        tokio::time::timeout(Duration::from_secs(5), self.task).await.unwrap().unwrap().ok();
    }
}
