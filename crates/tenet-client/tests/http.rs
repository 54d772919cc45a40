//! The client against Tenet's own HTTP server on loopback: Streamable HTTP in both
//! eras (MRTR and server → client requests on the POST's stream), and HTTP+SSE.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use crate::common::{Answers, server};
use serde_json::{Value, json};
use tenet_client::protocol::ProtocolVersion;
use tenet_client::{Client, RequestOptions, VersionPin};
use tenet_http::HttpConfig;
use tenet_server::CancellationToken;

/// Serves the common fixture on a free loopback port; returns its base URL.
async fn serve(shutdown: &CancellationToken) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("addr");
    let config = HttpConfig::on_port(address.port());
    tokio::spawn(tenet_http::serve_listener(listener, server(), config, shutdown.clone()));
    format!("http://127.0.0.1:{}", address.port())
}

fn text(result: &tenet_client::protocol::CallToolResult) -> Value {
    serde_json::to_value(&result.content[0]).expect("json")["text"].clone()
}

async fn exercise(url: &str, pin: VersionPin, expected: ProtocolVersion) {
    let answers = Answers::default();
    let client = Client::builder().handler(answers.clone()).version(pin).connect_http(url).await.expect("connects");
    assert_eq!(client.version(), expected, "{url}");
    assert_eq!(client.list_all_tools().await.expect("tools").len(), 6);
    assert_eq!(text(&client.call_tool("add", json!({"a": 20, "b": 22})).await.expect("add")), "42");
    let asked = client.call_tool("ask", json!({})).await.expect("ask");
    let content: Value = serde_json::from_str(text(&asked).as_str().expect("text")).expect("json");
    assert_eq!(content, json!({"name": "Ada", "colour": "teal"}));
    assert_eq!(answers.0.load(Ordering::SeqCst), 1);
    let seen = Arc::new(Mutex::new(0));
    let sink = Arc::clone(&seen);
    let options = RequestOptions::default().with_progress(move |_| *sink.lock().expect("lock") += 1);
    assert_eq!(text(&client.call_tool_with("slow", json!({}), &options).await.expect("slow")), "done");
    assert_eq!(*seen.lock().expect("lock"), 3, "progress arrived over SSE");
    let read = client.read_resource("test://a").await.expect("read");
    assert_eq!(serde_json::to_value(&read.contents[0]).expect("json")["text"], "alpha");
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamable_http_in_both_eras() {
    let shutdown = CancellationToken::new();
    let base = serve(&shutdown).await;
    let url = format!("{base}/mcp");
    exercise(&url, VersionPin::Auto, ProtocolVersion::V2026_07_28).await;
    exercise(&url, VersionPin::Legacy, ProtocolVersion::V2025_11_25).await;
    exercise(&url, VersionPin::Exact(ProtocolVersion::V2025_03_26), ProtocolVersion::V2025_03_26).await;
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldest_servers_are_reached_over_http_and_sse() {
    let shutdown = CancellationToken::new();
    let base = serve(&shutdown).await;
    exercise(&format!("{base}/sse"), VersionPin::Legacy, ProtocolVersion::V2024_11_05).await;
    shutdown.cancel();
}

/// Records the methods of the notifications it receives.
#[derive(Clone, Default)]
struct Notes(Arc<Mutex<Vec<String>>>);

impl tenet_client::ClientHandler for Notes {
    fn on_notification(&self, notification: tenet_client::ServerNotification) {
        let name = match notification {
            tenet_client::ServerNotification::Other { method, .. } => method,
            other => format!("{other:?}"),
        };
        self.0.lock().expect("lock").push(name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listen_stream_is_acknowledged_and_ends_when_cancelled() {
    let shutdown = CancellationToken::new();
    let url = format!("{}/mcp", serve(&shutdown).await);
    let notes = Notes::default();
    let client = Client::builder().handler(notes.clone()).connect_http(&url).await.expect("connects");
    let cancel = tenet_client::CancellationToken::new();
    let options = RequestOptions::default().with_cancel(cancel.clone());
    let filter = tenet_client::protocol::SubscriptionFilter { tools_list_changed: Some(true), ..Default::default() };
    let listening = tokio::spawn({
        let client = client.clone();
        async move { client.listen(filter, &options).await }
    });
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !notes.0.lock().expect("lock").iter().any(|m| m == "notifications/subscriptions/acknowledged") {
        assert!(tokio::time::Instant::now() < deadline, "no acknowledgement: {:?}", notes.0.lock().expect("lock"));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    cancel.cancel();
    let ended = listening.await.expect("the task ends");
    assert!(matches!(ended, Err(tenet_client::ClientError::Cancelled)), "{ended:?}");
    client.close().await;
    shutdown.cancel();
}
