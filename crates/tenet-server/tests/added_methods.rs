//! Methods added to the table ([`MethodDef`]): served in both eras like core ones,
//! admitted at the same door (scopes, rate limits), counted under their own names, and
//! refused at build when their names are the protocol's.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::common::Client;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tenet_server::{
    BuildError, Context, Grant, INSUFFICIENT_SCOPE, MethodDef, Params, RATE_LIMITED, Rate, RateLimiter, RateLimits,
    RawParams, Server, ServerConfig, ToolError,
};

#[derive(Deserialize)]
struct Greet {
    name: String,
}

#[derive(Serialize)]
struct Greeting {
    greeting: String,
    method: Option<String>,
}

async fn greet(ctx: Context, Params(p): Params<Greet>) -> Result<Greeting, ToolError> {
    if p.name.is_empty() {
        return Err(ToolError::invalid_params("name is empty"));
    }
    Ok(Greeting { greeting: format!("hello, {}", p.name), method: ctx.method().map(|m| m.name().to_owned()) })
}

async fn echo(RawParams(params): RawParams) -> Result<Value, ToolError> {
    Ok(json!({ "params": params }))
}

async fn not_an_object() -> Result<Value, ToolError> {
    Ok(json!(["a", "list"]))
}

const EXTENSION: &str = "com.example/greetings";

fn server(config: ServerConfig) -> Server {
    Server::builder("added", "1")
        .method(MethodDef::new("greetings/say", greet).extension(EXTENSION).scope("greet").cacheable())
        .method(MethodDef::new("greetings/echo", echo).extension(EXTENSION))
        .method(MethodDef::new("greetings/broken", not_an_object))
        .config(config)
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_added_method_is_served_statelessly_with_the_eras_members_and_declared_as_an_extension() {
    let server = server(ServerConfig::default());
    assert_eq!(server.scopes(), ["greet"]);
    let mut client = Client::start(server);
    let discover = client.modern(1, "server/discover", json!({}), json!({})).await;
    assert_eq!(discover["result"]["capabilities"]["extensions"][EXTENSION], json!({}), "{discover}");

    let said = client.modern(2, "greetings/say", json!({"name": "ada"}), json!({})).await;
    let result = &said["result"];
    assert_eq!(result["greeting"], "hello, ada", "{said}");
    // The handler's context knows no core method: it serves an added one.
    assert_eq!(result["method"], Value::Null);
    assert_eq!(result["resultType"], "complete");
    assert!(result["_meta"]["io.modelcontextprotocol/serverInfo"].is_object(), "{said}");
    // Cacheable: the server's freshness hints, as list results carry.
    assert!(result["ttlMs"].is_u64() && result["cacheScope"].is_string(), "{said}");

    let echoed = client.modern(3, "greetings/echo", json!({"x": [1, 2]}), json!({})).await;
    assert_eq!(echoed["result"]["params"]["x"], json!([1, 2]), "{echoed}");
    assert!(echoed["result"].get("ttlMs").is_none(), "not cacheable: {echoed}");
    client.finish().await;
}

#[tokio::test]
async fn an_added_method_is_served_in_a_legacy_session_only_after_initialize() {
    let mut client = Client::start(server(ServerConfig::default()));
    let early = client.call(1, "greetings/echo", json!({})).await;
    assert_eq!(early["error"]["code"], -32600, "{early}");
    client.initialize("2025-11-25", json!({})).await;
    let said = client.call(2, "greetings/say", json!({"name": "grace"})).await;
    assert_eq!(said["result"]["greeting"], "hello, grace", "{said}");
    assert!(said["result"].get("resultType").is_none(), "legacy results have no resultType: {said}");
    // Absent params read as {}: a raw handler sees none.
    let bare = client.response_to(json!({"jsonrpc": "2.0", "id": 3, "method": "greetings/echo"})).await;
    assert_eq!(bare["result"]["params"], Value::Null, "{bare}");
    client.finish().await;
}

#[tokio::test]
async fn bad_params_a_handlers_error_and_a_result_that_is_no_object_are_json_rpc_errors() {
    let mut client = Client::start(server(ServerConfig::default()));
    let missing = client.modern(1, "greetings/say", json!({"nom": "x"}), json!({})).await;
    assert_eq!(missing["error"]["code"], -32602, "{missing}");
    assert!(missing["error"]["message"].as_str().unwrap().contains("name"), "{missing}");
    let refused = client.modern(2, "greetings/say", json!({"name": ""}), json!({})).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("name is empty"), "{refused}");
    let broken = client.modern(3, "greetings/broken", json!({}), json!({})).await;
    assert_eq!(broken["error"]["code"], -32603, "{broken}");
    // A name nobody added is still unknown, and the server still serves.
    let unknown = client.modern(4, "greetings/unknown", json!({}), json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let again = client.modern(5, "greetings/say", json!({"name": "ada"}), json!({})).await;
    assert_eq!(again["result"]["greeting"], "hello, ada", "{again}");
    client.finish().await;
}

#[tokio::test]
async fn an_added_methods_scope_is_checked_at_the_door() {
    let without = Some(Arc::new(Grant::from_scope_string("other")));
    let mut client = Client::start_as(server(ServerConfig::default()), without);
    let refused = client.modern(1, "greetings/say", json!({"name": "ada"}), json!({})).await;
    assert_eq!(refused["error"]["code"], INSUFFICIENT_SCOPE.0, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("greetings/say"), "{refused}");
    // A method with no scope of its own needs none.
    let echoed = client.modern(2, "greetings/echo", json!({}), json!({})).await;
    assert!(echoed.get("result").is_some(), "{echoed}");
    client.finish().await;

    let with = Some(Arc::new(Grant::from_scope_string("greet")));
    let mut client = Client::start_as(server(ServerConfig::default()), with);
    let said = client.modern(1, "greetings/say", json!({"name": "ada"}), json!({})).await;
    assert_eq!(said["result"]["greeting"], "hello, ada", "{said}");
    client.finish().await;
}

#[tokio::test]
async fn an_added_method_has_its_own_rate_limit_and_is_counted_under_its_name() {
    let limits =
        RateLimits { default: None, overrides: vec![("greetings/echo".into(), Rate { per_second: 0.001, burst: 2 })] };
    let config = ServerConfig { rate_limit: Some(Arc::new(RateLimiter::new(limits))), ..ServerConfig::default() };
    let server = server(config);
    let metrics = server.metrics().clone();
    let mut client = Client::start(server);
    for id in 1..=2 {
        let ok = client.modern(id, "greetings/echo", json!({}), json!({})).await;
        assert!(ok.get("result").is_some(), "{ok}");
    }
    let refused = client.modern(3, "greetings/echo", json!({}), json!({})).await;
    assert_eq!(refused["error"]["code"], RATE_LIMITED.0, "{refused}");
    // Another method is not held by that rate.
    let said = client.modern(4, "greetings/say", json!({"name": "ada"}), json!({})).await;
    assert!(said.get("result").is_some(), "{said}");
    client.finish().await;
    let text = metrics.encode();
    assert!(text.contains(r#"tenet_requests_total{method="greetings/echo",outcome="ok"} 2"#), "{text}");
    assert!(text.contains(r#"tenet_requests_total{method="greetings/say",outcome="ok"} 1"#), "{text}");
}

#[test]
fn a_method_cannot_take_a_core_name_a_notifications_name_or_another_methods() {
    async fn nothing() -> Result<Value, ToolError> {
        Ok(json!({}))
    }
    let build = |names: &[&str]| {
        names.iter().fold(Server::builder("bad", "1"), |b, name| b.method(MethodDef::new(*name, nothing))).build()
    };
    for name in ["tools/call", "initialize", "notifications/x", "rpc.discover", "", "a b"] {
        match build(&[name]) {
            Err(BuildError::Method { name: refused, .. }) => assert_eq!(refused, name),
            other => panic!("{name:?}: {other:?}"),
        }
    }
    assert!(matches!(
        build(&["x/y", "x/y"]),
        Err(BuildError::Duplicate { kind: "method", name }) if name == "x/y"
    ));
    assert!(build(&["x/y", "x/z"]).is_ok());
}
