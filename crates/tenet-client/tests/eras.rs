//! The client against Tenet's own server over an in-memory pipe, in both eras: every
//! method, the application's handler answering elicitation in both styles, progress,
//! pagination and per-request options.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use crate::common::{Answers, server};
use serde_json::{Value, json};
use tenet_client::protocol::{CompleteArgument, ProtocolVersion, Reference};
use tenet_client::{Client, ClientError, RequestOptions, VersionPin};

async fn connect(pin: VersionPin, handler: Answers) -> Client {
    let (client_end, server_end) = tenet_transport::memory::pair();
    let (read, write) = tokio::io::split(server_end);
    let server = server();
    tokio::spawn(async move { server.serve(read, write, Default::default()).await });
    let (read, write) = tokio::io::split(client_end);
    Client::builder().handler(handler).version(pin).connect_pipe(read, write).await.expect("connects")
}

async fn every_method(pin: VersionPin, expected: ProtocolVersion) {
    let answers = Answers::default();
    let client = connect(pin, answers.clone()).await;
    assert_eq!(client.version(), expected);
    assert_eq!(client.server().expect("details").server_info.expect("info").name, "test");

    let first = client.list_tools(None).await.expect("a page");
    assert_eq!(first.tools.len(), 2, "the server pages by two");
    assert!(first.next_cursor.is_some());
    let all = client.list_all_tools().await.expect("every page");
    assert_eq!(all.len(), 6);

    let sum = client.call_tool("add", json!({"a": 2, "b": 3})).await.expect("add");
    assert_eq!(serde_json::to_value(&sum.content[0]).expect("json")["text"], "5");
    let bad = client.call_tool("add", json!({"a": "x"})).await.expect("an isError result");
    assert_eq!(bad.is_error, Some(true));
    let unknown = client.call_tool("nope", json!({})).await.expect_err("unknown tool");
    assert!(matches!(unknown, ClientError::Server(_)), "{unknown}");

    let asked = client.call_tool("ask", json!({})).await.expect("ask");
    let text = serde_json::to_value(&asked.content[0]).expect("json")["text"].as_str().map(str::to_owned);
    let content: Value = serde_json::from_str(&text.expect("text")).expect("json");
    assert_eq!(content, json!({"name": "Ada", "colour": "teal"}), "the default was filled in");
    assert_eq!(answers.0.load(Ordering::SeqCst), 1);

    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let options = RequestOptions::default().with_progress(move |p| sink.lock().expect("lock").push(p.progress));
    let done = client.call_tool_with("slow", json!({}), &options).await.expect("slow");
    assert_eq!(serde_json::to_value(&done.content[0]).expect("json")["text"], "done");
    assert_eq!(*seen.lock().expect("lock"), [1.0, 2.0, 3.0]);

    let resources = client.list_resources(None).await.expect("resources");
    assert_eq!(resources.resources[0].uri, "test://a");
    let read = client.read_resource("test://a").await.expect("read");
    assert_eq!(serde_json::to_value(&read.contents[0]).expect("json")["text"], "alpha");
    assert!(client.list_resource_templates(None).await.expect("templates").resource_templates.is_empty());
    let prompts = client.list_prompts(None).await.expect("prompts");
    assert_eq!(prompts.prompts[0].name, "greet");
    let prompt = client.get_prompt("greet", BTreeMap::new()).await.expect("prompt");
    assert_eq!(prompt.messages.len(), 1);
    let completion = client
        .complete(
            Reference::Prompt { name: "greet".into() },
            CompleteArgument { name: "x".into(), value: "".into() },
            None,
        )
        .await;
    assert!(completion.is_ok() || matches!(completion, Err(ClientError::Server(_))), "{completion:?}");

    if expected.era() == tenet_client::protocol::Era::Legacy {
        client.ping().await.expect("ping");
        client.set_log_level(tenet_client::protocol::LoggingLevel::Info).await.expect("setLevel");
    } else {
        assert!(matches!(client.ping().await, Err(ClientError::Unsupported(_))));
    }
    client.close().await;
}

#[tokio::test]
async fn automatic_negotiation_picks_2026_and_every_method_works() {
    every_method(VersionPin::Auto, ProtocolVersion::V2026_07_28).await;
}

#[tokio::test]
async fn a_pinned_legacy_version_uses_the_handshake_and_every_method_works() {
    every_method(VersionPin::Exact(ProtocolVersion::V2025_11_25), ProtocolVersion::V2025_11_25).await;
}

#[tokio::test]
async fn the_legacy_era_pin_uses_the_newest_legacy_version() {
    every_method(VersionPin::Legacy, ProtocolVersion::LATEST_LEGACY).await;
}

#[tokio::test]
async fn a_cancelled_request_returns_at_once() {
    let client = connect(VersionPin::Auto, Answers::default()).await;
    let cancel = tenet_client::CancellationToken::new();
    cancel.cancel();
    let options = RequestOptions::default().with_cancel(cancel);
    let error = client.call_tool_with("slow", json!({}), &options).await.expect_err("cancelled");
    assert!(matches!(error, ClientError::Cancelled), "{error}");
    client.close().await;
}

/// An extension the client declares reaches the server in both eras, the server's
/// reaches the client, and the client calls the extension's method by name.
#[tokio::test]
async fn an_extension_is_declared_both_ways_in_both_eras_and_its_method_called() {
    const EXTENSION: &str = "com.example/shout";
    async fn shout(
        ctx: tenet_server::Context,
        tenet_server::Params(p): tenet_server::Params<Value>,
    ) -> Result<Value, tenet_server::ToolError> {
        let declared = ctx.client_capabilities().has_extension(EXTENSION);
        Ok(json!({"shouted": p["text"].as_str().unwrap_or_default().to_uppercase(), "declared": declared}))
    }
    for (pin, expected) in
        [(VersionPin::Legacy, ProtocolVersion::V2025_11_25), (VersionPin::Auto, ProtocolVersion::V2026_07_28)]
    {
        let server = tenet_server::Server::builder("ext", "1")
            .method(tenet_server::MethodDef::new("example/shout", shout).extension(EXTENSION))
            .build()
            .expect("builds");
        let (client_end, server_end) = tenet_transport::memory::pair();
        let (read, write) = tokio::io::split(server_end);
        tokio::spawn(async move { server.serve(read, write, Default::default()).await });
        let (read, write) = tokio::io::split(client_end);
        let client = Client::builder()
            .extension(EXTENSION, json!({"loud": true}))
            .version(pin)
            .connect_pipe(read, write)
            .await
            .expect("connects");
        assert_eq!(client.version(), expected);
        let details = client.server().expect("details");
        assert!(details.capabilities.has_extension(EXTENSION), "{expected:?}: {:?}", details.capabilities);
        let answer = client.request("example/shout", json!({"text": "hi"}), &RequestOptions::default()).await;
        let answer = answer.expect("an answer");
        assert_eq!(answer["shouted"], "HI", "{expected:?}: {answer}");
        assert_eq!(answer["declared"], true, "{expected:?}: the server saw the client's extension");
    }
}
