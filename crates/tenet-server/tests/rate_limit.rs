//! Rate limits on a stream client (stdio): over the limit a request gets -32004 with
//! the delay in `data`, per method and per tool.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::common::Client;
use serde_json::json;
use tenet_server::{RATE_LIMITED, Rate, RateLimiter, RateLimits, Server, ServerConfig, ToolDef};

async fn hello() -> String {
    "hello".into()
}

#[tokio::test]
async fn over_the_limit_a_stdio_request_gets_32004_with_the_delay() {
    let limits = RateLimits {
        default: Some(Rate { per_second: 1.0, burst: 3 }),
        overrides: vec![("tools/call:slow".into(), Rate { per_second: 0.5, burst: 1 })],
    };
    let config = ServerConfig { rate_limit: Some(Arc::new(RateLimiter::new(limits))), ..ServerConfig::default() };
    let server = Server::builder("limited", "1")
        .tool(ToolDef::new("slow", hello))
        .tool(ToolDef::new("fast", hello))
        .config(config)
        .build()
        .unwrap();
    let mut client = Client::start(server);
    let slow = json!({"name": "slow"});
    let first = client.modern(1, "tools/call", slow.clone(), json!({})).await;
    assert_eq!(first["result"]["content"][0]["text"], "hello");
    let refused = client.modern(2, "tools/call", slow, json!({})).await;
    assert_eq!(refused["error"]["code"], RATE_LIMITED.0);
    let wait = refused["error"]["data"]["retryAfterMs"].as_u64().unwrap();
    assert!((1_000..=2_000).contains(&wait), "{wait}");
    // Another tool and other methods use the default bucket (3 at once).
    for id in 3..6 {
        let ok = client.modern(id, "tools/call", json!({"name": "fast"}), json!({})).await;
        assert!(ok.get("result").is_some(), "{ok}");
    }
    let over = client.modern(6, "tools/list", json!({}), json!({})).await;
    assert_eq!(over["error"]["code"], RATE_LIMITED.0);
    client.finish().await;
}
