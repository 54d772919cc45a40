//! The response cache over the wire: what is answered from it, what never is, what
//! its key tells apart, and what drops entries. Every handler counts its runs, and
//! the lookup tool's answer names the run, so an answer from the cache is visible.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{Client, meta};
use serde_json::{Value, json};
use tenet_protocol::{CallToolResult, ContentBlock, ElicitParams, Resource, ResourceContents, TextResourceContents};
use tenet_server::{
    Args, Context, Grant, INSUFFICIENT_SCOPE, ReadRequest, ResourceDef, Server, ServerConfig, ToolDef, ToolError,
};

const MINUTE: Duration = Duration::from_secs(60);

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Query {
    q: String,
    #[serde(default)]
    n: Option<u32>,
}

/// The server under test, how often its handlers ran, and the text of `mem://doc`.
struct Fixture {
    server: Server,
    runs: Arc<AtomicUsize>,
    doc: Arc<Mutex<String>>,
}

impl Fixture {
    fn new(config: ServerConfig) -> Self {
        let runs = Arc::new(AtomicUsize::new(0));
        let doc = Arc::new(Mutex::new("v1".to_owned()));
        let counted = |runs: &Arc<AtomicUsize>| {
            let runs = runs.clone();
            move |Args(query): Args<Query>| {
                let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    match query.q.as_str() {
                        "fail" => Err(ToolError::msg("failed on purpose")),
                        "error" => Ok(CallToolResult::error("an error result")),
                        "big" => Ok(CallToolResult::success(vec![ContentBlock::text("x".repeat(1500))])),
                        q => Ok(CallToolResult::success(vec![ContentBlock::text(format!(
                            "{q}:{}:run {run}",
                            query.n.unwrap_or(0)
                        ))])),
                    }
                }
            }
        };
        let asks = {
            let runs = runs.clone();
            move |ctx: Context| {
                runs.fetch_add(1, Ordering::SeqCst);
                async move {
                    let form = ElicitParams::form("Name?", json!({"type": "object", "properties": {}}));
                    ctx.elicit("name", form).await.map(|answer| format!("{:?}", answer.action))
                }
            }
        };
        let reads = {
            let doc = doc.clone();
            let runs = runs.clone();
            move |req: ReadRequest| {
                runs.fetch_add(1, Ordering::SeqCst);
                let text = doc.lock().unwrap().clone();
                let contents = TextResourceContents { uri: req.uri, mime_type: None, text, meta: None };
                async move { Ok(Some(vec![ResourceContents::Text(contents)])) }
            }
        };
        let listing = |uri: &str| -> Resource { serde_json::from_value(json!({"uri": uri, "name": uri})).unwrap() };
        let server = Server::builder("cached", "1")
            .config(config)
            .tool(ToolDef::new("lookup", counted(&runs)).read_only().cacheable(MINUTE))
            .tool(ToolDef::new("brief", counted(&runs)).read_only().cacheable(Duration::from_millis(100)))
            .tool(ToolDef::new("guarded", counted(&runs)).read_only().cacheable(MINUTE).scope("docs:read"))
            .tool(ToolDef::new("ask", asks).read_only().cacheable(MINUTE))
            .resource(ResourceDef::new(listing("mem://doc"), reads.clone()).cacheable(MINUTE))
            .resource(ResourceDef::new(listing("mem://live"), reads))
            .build()
            .unwrap();
        Self { server, runs, doc }
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}

fn call(id: i64, name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": name, "arguments": arguments, "_meta": meta(json!({}))}})
}

fn text(response: &Value) -> &str {
    response["result"]["content"][0]["text"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_hit_is_the_same_bytes_and_skips_the_handler() {
    let f = Fixture::new(ServerConfig::default());
    let mut client = Client::start(f.server.clone());
    let first = client.call_raw(&call(1, "lookup", json!({"q": "a"}))).await;
    let second = client.call_raw(&call(1, "lookup", json!({"q": "a"}))).await;
    assert_eq!(first, second);
    assert!(first.contains("a:0:run 1"), "{first}");
    assert_eq!(f.runs(), 1);
    let stats = f.server.cache_stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (1, 1, 1));
    assert!(stats.bytes > first.len() as u64 / 2 && stats.bytes <= stats.max_bytes, "{stats:?}");
    client.finish().await;
}

#[tokio::test]
async fn the_key_is_the_canonical_arguments_and_the_version() {
    let f = Fixture::new(ServerConfig::default());
    let mut client = Client::start(f.server.clone());
    let first = client.response_to(call(1, "lookup", json!({"q": "a", "n": 1}))).await;
    let reordered = client.response_to(call(2, "lookup", json!({"n": 1, "q": "a"}))).await;
    assert_eq!(text(&reordered), text(&first), "member order does not matter");
    let other = client.response_to(call(3, "lookup", json!({"q": "a", "n": 2}))).await;
    assert_eq!(text(&other), "a:2:run 2");
    assert_eq!(f.runs(), 2);
    // The same call in a legacy session is shaped for another version: its own entry.
    client.initialize("2025-06-18", json!({})).await;
    let legacy = client.call(4, "tools/call", json!({"name": "lookup", "arguments": {"q": "a", "n": 1}})).await;
    assert_eq!(text(&legacy), "a:1:run 3");
    let again = client.call(5, "tools/call", json!({"name": "lookup", "arguments": {"n": 1, "q": "a"}})).await;
    assert_eq!(text(&again), "a:1:run 3");
    client.finish().await;
}

#[tokio::test]
async fn callers_with_the_same_scopes_share_entries_across_connections_and_others_do_not() {
    let f = Fixture::new(ServerConfig::default());
    let grant = |scopes: &str| Some(Arc::new(Grant::from_scope_string(scopes)));
    let mut reader = Client::start_as(f.server.clone(), grant("docs:read"));
    let mut twin = Client::start_as(f.server.clone(), grant("docs:read"));
    let mut wider = Client::start_as(f.server.clone(), grant("docs:read docs:write"));
    let mut outsider = Client::start_as(f.server.clone(), grant("docs:write"));
    let arguments = json!({"q": "g"});
    assert_eq!(text(&reader.response_to(call(1, "guarded", arguments.clone())).await), "g:0:run 1");
    assert_eq!(text(&twin.response_to(call(1, "guarded", arguments.clone())).await), "g:0:run 1");
    assert_eq!(text(&wider.response_to(call(1, "guarded", arguments.clone())).await), "g:0:run 2");
    let refused = outsider.response_to(call(1, "guarded", arguments)).await;
    assert_eq!(refused["error"]["code"], INSUFFICIENT_SCOPE.0, "access is decided before the cache: {refused}");
    for client in [reader, twin, wider, outsider] {
        client.finish().await;
    }
}

#[tokio::test]
async fn entries_expire_after_their_ttl() {
    let f = Fixture::new(ServerConfig::default());
    let mut client = Client::start(f.server.clone());
    assert_eq!(text(&client.response_to(call(1, "brief", json!({"q": "t"}))).await), "t:0:run 1");
    assert_eq!(text(&client.response_to(call(2, "brief", json!({"q": "t"}))).await), "t:0:run 1");
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(text(&client.response_to(call(3, "brief", json!({"q": "t"}))).await), "t:0:run 2");
    client.finish().await;
}

#[tokio::test]
async fn errors_error_results_and_bad_arguments_are_never_answered_from_the_cache() {
    let f = Fixture::new(ServerConfig::default());
    let mut client = Client::start(f.server.clone());
    for (id, q) in [(1, "fail"), (2, "fail"), (3, "error"), (4, "error")] {
        let response = client.response_to(call(id, "lookup", json!({ "q": q }))).await;
        assert_eq!(response["result"]["isError"], true, "{response}");
    }
    assert_eq!(f.runs(), 4);
    assert_eq!(f.server.cache_stats().entries, 0);
    client.response_to(call(5, "lookup", json!({"q": "a"}))).await;
    for (id, arguments) in [(6, json!({"q": "a", "extra": 1})), (7, json!({"q": 5})), (8, json!({}))] {
        let response = client.response_to(call(id, "lookup", arguments)).await;
        assert_eq!(response["result"]["isError"], true, "{response}");
        assert!(text(&response).starts_with("Invalid arguments for tool lookup"), "{response}");
    }
    assert_eq!(f.runs(), 5);
    client.finish().await;
}

#[tokio::test]
async fn input_requests_are_never_cached() {
    let f = Fixture::new(ServerConfig::default());
    let mut client = Client::start(f.server.clone());
    let caps = json!({"elicitation": {}});
    for id in 1..=2 {
        let asked = client.modern(id, "tools/call", json!({"name": "ask", "arguments": {}}), caps.clone()).await;
        assert_eq!(asked["result"]["resultType"], "input_required", "{asked}");
    }
    let retry = json!({"name": "ask", "arguments": {}, "inputResponses": {"name": {"action": "decline"}}});
    let done = client.modern(3, "tools/call", retry, caps).await;
    assert_eq!(text(&done), "Decline", "{done}");
    assert_eq!((f.runs(), f.server.cache_stats().entries), (3, 0));
    client.finish().await;
}

#[tokio::test]
async fn an_announced_change_drops_what_it_affects() {
    let f = Fixture::new(ServerConfig::default());
    let mut client = Client::start(f.server.clone());
    let read = |id| json!({"jsonrpc": "2.0", "id": id, "method": "resources/read", "params": {"uri": "mem://doc", "_meta": meta(json!({}))}});
    let contents = |r: &Value| r["result"]["contents"][0]["text"].as_str().unwrap_or_default().to_owned();
    assert_eq!(contents(&client.response_to(read(1)).await), "v1");
    client.response_to(call(2, "lookup", json!({"q": "a"}))).await;
    *f.doc.lock().unwrap() = "v2".into();
    assert_eq!(contents(&client.response_to(read(3)).await), "v1", "served from the cache");
    f.server.notify_resource_updated("mem://doc");
    assert_eq!(contents(&client.response_to(read(4)).await), "v2");
    let lookup = client.response_to(call(5, "lookup", json!({"q": "a"}))).await;
    assert_eq!(text(&lookup), "a:0:run 4", "a tool result may derive from the resource: dropped too");
    assert!(f.server.cache_stats().entries > 0);
    f.server.remove_tool("brief");
    assert_eq!(f.server.cache_stats().entries, 0, "a list change drops everything");
    client.finish().await;
}

#[tokio::test]
async fn reads_carry_their_own_ttl_and_a_scope_that_follows_authorization() {
    let f = Fixture::new(ServerConfig::default());
    let mut open = Client::start(f.server.clone());
    let first = open.modern(1, "resources/read", json!({"uri": "mem://doc"}), json!({})).await;
    assert_eq!((&first["result"]["ttlMs"], &first["result"]["cacheScope"]), (&json!(60_000), &json!("public")));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cached = open.modern(2, "resources/read", json!({"uri": "mem://doc"}), json!({})).await;
    let left = cached["result"]["ttlMs"].as_u64().unwrap();
    assert!((50_000..60_000).contains(&left), "what is left of the TTL: {cached}");
    // A resource that set no TTL keeps the server's hints.
    let live = open.modern(3, "resources/read", json!({"uri": "mem://live"}), json!({})).await;
    assert_eq!((&live["result"]["ttlMs"], &live["result"]["cacheScope"]), (&json!(0), &json!("private")));
    let mut authorized = Client::start_as(f.server.clone(), Some(Arc::new(Grant::new(["docs:read"]))));
    let private = authorized.modern(1, "resources/read", json!({"uri": "mem://doc"}), json!({})).await;
    assert_eq!((&private["result"]["ttlMs"], &private["result"]["cacheScope"]), (&json!(60_000), &json!("private")));
    authorized.initialize("2025-11-25", json!({})).await;
    let legacy = authorized.call(2, "resources/read", json!({"uri": "mem://doc"})).await;
    assert!(legacy["result"].get("ttlMs").is_none(), "legacy results carry no hints: {legacy}");
    for client in [open, authorized] {
        client.finish().await;
    }
}

#[tokio::test]
async fn the_byte_budget_evicts_the_least_recently_used_and_zero_turns_the_cache_off() {
    let f = Fixture::new(ServerConfig { cache_max_bytes: 8 * 1024, ..ServerConfig::default() });
    let mut client = Client::start(f.server.clone());
    for n in 0..10 {
        client.response_to(call(n.into(), "lookup", json!({"q": "big", "n": n}))).await;
    }
    let stats = f.server.cache_stats();
    assert!(stats.evictions > 0 && stats.bytes <= 8 * 1024, "{stats:?}");
    client.response_to(call(10, "lookup", json!({"q": "big", "n": 0}))).await;
    assert_eq!(f.runs(), 11, "the oldest entry was evicted");
    client.finish().await;

    let off = Fixture::new(ServerConfig { cache_max_bytes: 0, ..ServerConfig::default() });
    let mut client = Client::start(off.server.clone());
    for id in 1..=2 {
        assert_eq!(text(&client.response_to(call(id, "lookup", json!({"q": "a"}))).await), format!("a:0:run {id}"));
    }
    let read = client.modern(3, "resources/read", json!({"uri": "mem://doc"}), json!({})).await;
    assert_eq!(read["result"]["ttlMs"], 60_000, "the hint does not depend on the server's own cache");
    assert_eq!(off.server.cache_stats(), tenet_server::CacheStats::default());
    client.finish().await;
}
