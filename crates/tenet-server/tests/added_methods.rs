//! Methods added to the table ([`MethodDef`]): served in both eras like core ones,
//! admitted at the same door (scopes, rate limits), counted under their own names, kept
//! from writing what the server writes, and refused at build when their names or
//! extensions clash with the protocol's.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::common::Client;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tenet_server::{
    BuildError, Context, Grant, INSUFFICIENT_SCOPE, MethodDef, MethodName, Params, RATE_LIMITED, Rate, RateLimiter,
    RateLimits, RawParams, Server, ServerConfig, ToolError,
};

#[derive(Deserialize)]
struct Greet {
    name: String,
}

#[derive(Serialize)]
struct Greeting {
    greeting: String,
    core: Option<String>,
    method: String,
}

async fn greet(ctx: Context, MethodName(method): MethodName, Params(p): Params<Greet>) -> Result<Greeting, ToolError> {
    if p.name.is_empty() {
        return Err(ToolError::invalid_params("name is empty"));
    }
    let core = ctx.method().map(|m| m.name().to_owned());
    Ok(Greeting { greeting: format!("hello, {}", p.name), core, method: method.to_owned() })
}

async fn echo(RawParams(params): RawParams) -> Result<Value, ToolError> {
    Ok(json!({ "params": params }))
}

/// Answers with the params as they came: what a careless handler might do.
async fn mirror(RawParams(params): RawParams) -> Result<Value, ToolError> {
    Ok(params.unwrap_or_else(|| json!({})))
}

async fn not_an_object() -> Result<Value, ToolError> {
    Ok(json!(["a", "list"]))
}

async fn panics(Params(p): Params<Value>) -> Result<Value, ToolError> {
    if p["now"] == true {
        panic!("asked to");
    }
    Ok(json!({}))
}

const EXTENSION: &str = "com.example/greetings";

/// `_meta`-free capabilities of a 2026-07-28 client that declares the extension.
fn declaring() -> Value {
    json!({"extensions": {EXTENSION: {}}})
}

fn server(config: ServerConfig) -> Server {
    Server::builder("added", "1")
        .method(MethodDef::new("greetings/say", greet).extension(EXTENSION).scope("greet").cacheable())
        .method(MethodDef::new("greetings/echo", echo).extension(EXTENSION).client_declares())
        .method(MethodDef::new("greetings/mirror", mirror))
        .method(MethodDef::new("greetings/broken", not_an_object))
        .method(MethodDef::new("greetings/panic", panics))
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

    let said = client.modern(2, "greetings/say", json!({"name": "ada"}), declaring()).await;
    let result = &said["result"];
    assert_eq!(result["greeting"], "hello, ada", "{said}");
    // The handler's context names the added method; no core method is served.
    assert_eq!((&result["core"], &result["method"]), (&Value::Null, &json!("greetings/say")));
    assert_eq!(result["resultType"], "complete");
    assert!(result["_meta"]["io.modelcontextprotocol/serverInfo"].is_object(), "{said}");
    // Cacheable: the server's freshness hints, as list results carry.
    assert!(result["ttlMs"].is_u64() && result["cacheScope"].is_string(), "{said}");

    let echoed = client.modern(3, "greetings/echo", json!({"x": [1, 2]}), declaring()).await;
    assert_eq!(echoed["result"]["params"]["x"], json!([1, 2]), "{echoed}");
    assert!(echoed["result"].get("ttlMs").is_none(), "not cacheable: {echoed}");

    // An extension's method that asks it, as the tasks extension's do: only for a client
    // that declared the extension; one that does not ask is served to any client.
    let undeclared = client.modern(4, "greetings/echo", json!({}), json!({})).await;
    assert_eq!(undeclared["error"]["code"], -32021, "{undeclared}");
    assert_eq!(undeclared["error"]["data"]["requiredCapabilities"]["extensions"][EXTENSION], json!({}));
    let said = client.modern(6, "greetings/say", json!({"name": "Ann"}), json!({})).await;
    assert!(said["result"].is_object(), "{said}");
    // A method of no extension needs none.
    let mirrored = client.modern(5, "greetings/mirror", json!({"x": 1}), json!({})).await;
    assert_eq!(mirrored["result"]["x"], 1, "{mirrored}");
    client.finish().await;
}

#[tokio::test]
async fn an_added_method_is_served_in_a_legacy_session_only_after_initialize() {
    let mut client = Client::start(server(ServerConfig::default()));
    let early = client.call(1, "greetings/echo", json!({})).await;
    assert_eq!(early["error"]["code"], -32600, "{early}");
    let init = client.initialize("2025-11-25", json!({})).await;
    // Declared in initialize too, where hosts negotiate extensions.
    assert_eq!(init["result"]["capabilities"]["extensions"][EXTENSION], json!({}), "{init}");
    // A legacy client need not declare it.
    let said = client.call(2, "greetings/say", json!({"name": "grace"})).await;
    assert_eq!(said["result"]["greeting"], "hello, grace", "{said}");
    assert!(said["result"].get("resultType").is_none(), "legacy results have no resultType: {said}");
    // Absent params read as {}: a raw handler sees none.
    let bare = client.response_to(json!({"jsonrpc": "2.0", "id": 3, "method": "greetings/echo"})).await;
    assert_eq!(bare["result"]["params"], Value::Null, "{bare}");
    client.finish().await;
}

/// A method served in one era only (as the tasks extension's are, in 2026-07-28) is
/// unknown in the other: -32601 in a legacy session, served statelessly.
#[tokio::test]
async fn a_method_of_one_era_is_unknown_in_the_other() {
    use tenet_protocol::Era;
    let modern_only = Server::builder("eras", "1")
        .method(MethodDef::new("eras/modern", echo).era(Era::Stateless))
        .method(MethodDef::new("eras/legacy", echo).era(Era::Legacy))
        .build()
        .unwrap();
    let mut client = Client::start(modern_only);
    let served = client.modern(1, "eras/modern", json!({"x": 1}), json!({})).await;
    assert_eq!(served["result"]["params"]["x"], 1, "{served}");
    let unknown = client.modern(2, "eras/legacy", json!({}), json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    client.initialize("2025-11-25", json!({})).await;
    let legacy = client.call(3, "eras/legacy", json!({"y": 2})).await;
    assert_eq!(legacy["result"]["params"]["y"], 2, "{legacy}");
    let unknown = client.call(4, "eras/modern", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    client.finish().await;
}

#[tokio::test]
async fn bad_params_a_handlers_error_a_panic_and_a_result_that_is_no_object_are_json_rpc_errors() {
    let mut client = Client::start(server(ServerConfig::default()));
    let missing = client.modern(1, "greetings/say", json!({"nom": "x"}), declaring()).await;
    assert_eq!(missing["error"]["code"], -32602, "{missing}");
    assert!(missing["error"]["message"].as_str().unwrap().contains("name"), "{missing}");
    let refused = client.modern(2, "greetings/say", json!({"name": ""}), declaring()).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("name is empty"), "{refused}");
    let broken = client.modern(3, "greetings/broken", json!({}), json!({})).await;
    assert_eq!(broken["error"]["code"], -32603, "{broken}");
    let panicked = client.modern(4, "greetings/panic", json!({"now": true}), json!({})).await;
    assert_eq!(panicked["error"]["code"], -32603, "{panicked}");
    assert!(panicked["error"]["message"].as_str().unwrap().contains("asked to"), "{panicked}");
    // A name nobody added is still unknown, and the server still serves.
    let unknown = client.modern(5, "greetings/unknown", json!({}), json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let again = client.modern(6, "greetings/panic", json!({"now": false}), json!({})).await;
    assert!(again.get("result").is_some(), "{again}");
    client.finish().await;
}

#[tokio::test]
async fn a_result_cannot_write_what_the_server_writes() {
    let mut client = Client::start(server(ServerConfig::default()));
    for member in ["resultType", "ttlMs", "cacheScope"] {
        let sneaky = client.modern(1, "greetings/mirror", json!({member: "task"}), json!({})).await;
        assert_eq!(sneaky["error"]["code"], -32603, "{member}: {sneaky}");
        assert!(sneaky["error"]["message"].as_str().unwrap().contains(member), "{sneaky}");
    }
    // The server names itself in `_meta`, whatever the result said.
    let meta = json!({"_meta": {"io.modelcontextprotocol/serverInfo": {"name": "evil", "version": "6"}}});
    let named = client.modern(2, "greetings/mirror", meta, json!({})).await;
    assert_eq!(named["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "added", "{named}");
    client.finish().await;
}

#[tokio::test]
async fn an_added_methods_scope_is_checked_at_the_door_in_both_eras() {
    let without = Some(Arc::new(Grant::from_scope_string("other")));
    let mut client = Client::start_as(server(ServerConfig::default()), without);
    let refused = client.modern(1, "greetings/say", json!({"name": "ada"}), declaring()).await;
    assert_eq!(refused["error"]["code"], INSUFFICIENT_SCOPE.0, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("greetings/say"), "{refused}");
    // A method with no scope of its own needs none.
    let echoed = client.modern(2, "greetings/echo", json!({}), declaring()).await;
    assert!(echoed.get("result").is_some(), "{echoed}");
    client.initialize("2025-11-25", json!({})).await;
    let refused = client.call(3, "greetings/say", json!({"name": "ada"})).await;
    assert_eq!(refused["error"]["code"], INSUFFICIENT_SCOPE.0, "{refused}");
    client.finish().await;

    let with = Some(Arc::new(Grant::from_scope_string("greet")));
    let mut client = Client::start_as(server(ServerConfig::default()), with);
    let said = client.modern(1, "greetings/say", json!({"name": "ada"}), declaring()).await;
    assert_eq!(said["result"]["greeting"], "hello, ada", "{said}");
    // What a caller with a grant may see is its own: not for a shared cache.
    assert_eq!(said["result"]["cacheScope"], "private", "{said}");
    client.finish().await;
}

#[tokio::test]
async fn each_added_method_has_its_own_rate_limit_and_is_counted_under_its_name() {
    let rate = Rate { per_second: 0.001, burst: 2 };
    let limits = RateLimits {
        default: None,
        overrides: vec![("greetings/echo".into(), rate), ("greetings/mirror".into(), rate)],
    };
    let config = ServerConfig { rate_limit: Some(Arc::new(RateLimiter::new(limits))), ..ServerConfig::default() };
    let server = server(config);
    let metrics = server.metrics().clone();
    let mut client = Client::start(server);
    for id in 1..=2 {
        let ok = client.modern(id, "greetings/echo", json!({}), declaring()).await;
        assert!(ok.get("result").is_some(), "{ok}");
    }
    let refused = client.modern(3, "greetings/echo", json!({}), declaring()).await;
    assert_eq!(refused["error"]["code"], RATE_LIMITED.0, "{refused}");
    // Another method at the same rate has a bucket of its own.
    for id in 4..=5 {
        let ok = client.modern(id, "greetings/mirror", json!({}), json!({})).await;
        assert!(ok.get("result").is_some(), "{ok}");
    }
    client.finish().await;
    let text = metrics.encode();
    assert!(text.contains(r#"tenet_requests_total{method="greetings/echo",outcome="ok"} 2"#), "{text}");
    assert!(text.contains(r#"tenet_requests_total{method="greetings/mirror",outcome="ok"} 2"#), "{text}");
}

#[test]
fn a_method_cannot_take_a_core_name_a_notifications_name_or_another_methods() {
    async fn nothing() -> Result<Value, ToolError> {
        Ok(json!({}))
    }
    let build = |defs: Vec<MethodDef>| defs.into_iter().fold(Server::builder("bad", "1"), |b, d| b.method(d)).build();
    let named = |names: &[&str]| build(names.iter().map(|name| MethodDef::new(*name, nothing)).collect());
    for name in ["tools/call", "initialize", "notifications/x", "rpc.discover", "other", "", "a b"] {
        match named(&[name]) {
            Err(BuildError::Method { name: refused, .. }) => assert_eq!(refused, name),
            other => panic!("{name:?}: {other:?}"),
        }
    }
    assert!(matches!(
        named(&["x/y", "x/y"]),
        Err(BuildError::Duplicate { kind: "method", name }) if name == "x/y"
    ));
    assert!(named(&["x/y", "x/z"]).is_ok());

    // An extension's settings are an object, the same wherever it is declared, and the
    // tasks extension is the server's own.
    let refused = |defs: Vec<MethodDef>, why: &str| match build(defs) {
        Err(BuildError::Method { why: said, .. }) => assert!(said.contains(why), "{said}"),
        other => panic!("{why}: {other:?}"),
    };
    refused(vec![MethodDef::new("x/y", nothing).extension_settings("com.example/x", json!(1))], "an object");
    refused(vec![MethodDef::new("x/y", nothing).extension("io.modelcontextprotocol/tasks")], "server's own");
    refused(
        vec![
            MethodDef::new("x/y", nothing).extension_settings("com.example/x", json!({"a": 1})),
            MethodDef::new("x/z", nothing).extension_settings("com.example/x", json!({"a": 2})),
        ],
        "other settings",
    );
    let shared = build(vec![
        MethodDef::new("x/y", nothing).extension_settings("com.example/x", json!({"a": 1})),
        MethodDef::new("x/z", nothing).extension_settings("com.example/x", json!({"a": 1})),
    ]);
    assert_eq!(shared.unwrap().capabilities().extensions.as_ref().unwrap()["com.example/x"], json!({"a": 1}));
}
