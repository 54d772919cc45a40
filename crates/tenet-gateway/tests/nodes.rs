//! The node path (`_meta["io.tenet/path"]`): a gateway that is a Tenet node adds
//! itself to the path of every request it relays, and refuses to relay one that would
//! visit a node twice or pass through more nodes than its hop limit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::{Harness, Probe, Running, STEP, quick, text, upstream, upstream_server};
use serde_json::{Value, json};
use tenet_client::{ClientError, RequestOptions};
use tenet_gateway::GatewayOptions;
use tenet_protocol::{NODE_KEY, NODE_PATH_KEY};
use tenet_server::{Context, ToolDef};

/// An upstream whose `path` tool answers with the node path its request came with,
/// announcing itself as the node `node` when given; and how often `path` was called.
async fn upstream_node(node: Option<&str>) -> (Running, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let server = upstream_server("up", &Arc::new(Probe::default()))
        .tool(
            ToolDef::new("path", move |ctx: Context| {
                counted.fetch_add(1, Ordering::SeqCst);
                async move { ctx.node_path().map_or_else(|| "none".to_owned(), ToString::to_string) }
            })
            .description("The node path the request came with"),
        )
        .build()
        .unwrap();
    if let Some(node) = node {
        let node = node.to_owned();
        server.add_handshake_meta(NODE_KEY, move |_| json!({"id": node, "version": "1.0.0", "digest": "sha256:0"}));
    }
    (Running::start(server).await, calls)
}

fn as_node(node: &str, max_hops: usize) -> GatewayOptions {
    GatewayOptions { node: Some(node.parse().unwrap()), max_hops, ..quick() }
}

/// Calls `up__path` through the gateway with the node path `path` (none when null).
async fn call_with_path(h: &Harness, path: Value) -> Result<Value, ClientError> {
    let mut params = json!({"name": "up__path", "arguments": {}});
    if !path.is_null() {
        params["_meta"] = json!({ NODE_PATH_KEY: path });
    }
    tokio::time::timeout(STEP, h.client.request("tools/call", params, &RequestOptions::default()))
        .await
        .expect("answered in time")
}

fn answered(result: Result<Value, ClientError>) -> String {
    let result = result.expect("relayed");
    text(&serde_json::from_value(result).unwrap())
}

fn refused(result: Result<Value, ClientError>) -> String {
    match result {
        Err(ClientError::Server(e)) => {
            assert_eq!(e.code, tenet_server::jsonrpc::ErrorCode::INVALID_PARAMS, "{e:?}");
            e.message.into_owned()
        }
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test]
async fn a_relayed_request_carries_the_gateway_at_the_end_of_its_path() {
    let (up, _) = upstream_node(None).await;
    let h = Harness::start(vec![upstream("up", &up.url())], as_node("gw", 8)).await;
    h.tools_until("up__path listed", |names| names.contains("up__path")).await;
    assert_eq!(answered(call_with_path(&h, Value::Null).await), "gw", "a client's request starts the path");
    assert_eq!(answered(call_with_path(&h, json!(["a", "b"])).await), "a → b → gw");
    h.shutdown().await;
    up.stop().await;
}

#[tokio::test]
async fn a_request_that_would_visit_a_node_twice_is_refused() {
    let (up, path_calls) = upstream_node(Some("up")).await;
    let h = Harness::start(vec![upstream("up", &up.url())], as_node("gw", 8)).await;
    h.tools_until("up__path listed", |names| names.contains("up__path")).await;
    assert_eq!(h.status("up").node.as_deref(), Some("up"), "the upstream's announced node is shown");

    let calls = path_calls.load(Ordering::SeqCst);
    let message = refused(call_with_path(&h, json!(["a", "gw", "b"])).await);
    assert!(
        message.contains("loop refused") && message.contains("node gw") && message.contains("a → gw → b"),
        "{message}"
    );
    let message = refused(call_with_path(&h, json!(["up", "a"])).await);
    assert!(message.contains("upstream up is node up") && message.contains("up → a → gw"), "{message}");
    // A path that is not a list of node ids is refused as it is read.
    let message = refused(call_with_path(&h, json!(["a", "b c"])).await);
    assert!(message.contains("invalid node id \"b c\""), "{message}");
    assert_eq!(path_calls.load(Ordering::SeqCst), calls, "nothing was relayed");
    // And the gateway still serves.
    assert_eq!(answered(call_with_path(&h, json!(["a"])).await), "a → gw");
    h.shutdown().await;
    up.stop().await;
}

#[tokio::test]
async fn an_upstream_that_is_the_gateway_itself_is_never_called() {
    let (up, path_calls) = upstream_node(Some("gw")).await;
    let h = Harness::start(vec![upstream("up", &up.url())], as_node("gw", 8)).await;
    h.tools_until("up__path listed", |names| names.contains("up__path")).await;
    let message = refused(call_with_path(&h, Value::Null).await);
    assert!(message.contains("upstream up is this node (gw) itself"), "{message}");
    assert_eq!(path_calls.load(Ordering::SeqCst), 0, "never called");
    h.shutdown().await;
    up.stop().await;
}

#[tokio::test]
async fn the_hop_limit_counts_the_gateway() {
    let (up, _) = upstream_node(None).await;
    let h = Harness::start(vec![upstream("up", &up.url())], as_node("gw", 3)).await;
    h.tools_until("up__path listed", |names| names.contains("up__path")).await;
    assert_eq!(answered(call_with_path(&h, json!(["a", "b"])).await), "a → b → gw", "three nodes: at the limit");
    let message = refused(call_with_path(&h, json!(["a", "b", "c"])).await);
    assert!(message.contains("hop limit") && message.contains("make 4 nodes"), "{message}");
    assert!(message.contains("limit of 3") && message.contains("a → b → c → gw"), "{message}");
    // Beyond what any node reads, the path is refused whoever reads it.
    let long: Vec<String> = (0..=tenet_protocol::MAX_NODE_PATH).map(|i| format!("n{i}")).collect();
    let message = refused(call_with_path(&h, json!(long)).await);
    assert!(message.contains("more than 32 nodes"), "{message}");
    h.shutdown().await;
    up.stop().await;
}
