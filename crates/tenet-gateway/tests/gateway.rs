//! The gateway end to end: real upstream MCP servers on 127.0.0.1 (Tenet servers over
//! Streamable HTTP or HTTP+SSE, and a hand-written legacy server for listings Tenet
//! would refuse to serve), the gateway's own server driven by a downstream client over
//! an in-memory pipe.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{
    HandServer, Harness, Probe, Running, STEP, downstream, downstream_with, free_addr, hang_tool, names, progress_tool,
    quick, text, tool_calls_answered, until, upstream, upstream_server,
};
use serde_json::json;
use tenet_client::{ClientError, RequestOptions, VersionPin};
use tenet_gateway::{State, ToolFilter};
use tenet_server::{RawArgs, Server, ToolDef};
use tokio_util::sync::CancellationToken;

async fn basic(name: &str) -> (Running, Arc<Probe>) {
    let probe = Arc::new(Probe::default());
    let server = upstream_server(name, &probe).build().unwrap();
    (Running::start(server).await, probe)
}

#[tokio::test]
async fn two_upstreams_are_listed_under_their_namespaces_beside_the_local_tools() {
    let (alpha, _) = basic("alpha").await;
    let (beta, _) = basic("beta").await;
    let h = Harness::start(vec![upstream("alpha", &alpha.url()), upstream("beta", &beta.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());

    let listed = h.tool_names().await;
    assert_eq!(listed, names(&["local_hello", "alpha__echo", "alpha__add", "beta__echo", "beta__add"]));

    // Listed as the upstream lists them, under the new name.
    let tools = h.client.list_all_tools().await.unwrap();
    let add = tools.iter().find(|t| t.name == "alpha__add").unwrap();
    assert_eq!(add.description.as_deref(), Some("Add two integers"));
    assert_eq!(add.input_schema["type"], "object");
    assert_eq!(add.input_schema["properties"]["a"]["type"], "integer", "{}", add.input_schema);
    assert_eq!(add.input_schema["required"], json!(["a", "b"]), "{}", add.input_schema);

    let echoed = h.call("alpha__echo", json!({"text": "hi"})).await;
    assert_ne!(echoed.is_error, Some(true), "{echoed:?}");
    assert_eq!(text(&echoed), "alpha: hi", "the call went to alpha");
    assert_eq!(text(&h.call("beta__echo", json!({"text": "hi"})).await), "beta: hi", "and this one to beta");
    assert_eq!(text(&h.call("beta__add", json!({"a": 2, "b": 40})).await), "42");
    assert_eq!(text(&h.call("local_hello", json!({})).await), "hello from the gateway");

    let statuses = h.gateway.statuses();
    assert_eq!(statuses.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["alpha", "beta"], "config order");
    for (status, running) in statuses.iter().zip([&alpha, &beta]) {
        assert_eq!(status.state, State::Up, "{status:?}");
        assert_eq!(status.tools, 2, "{status:?}");
        assert_eq!(status.left_out, 0, "{status:?}");
        assert!(status.era.is_some() && status.version.is_some(), "{status:?}");
        assert_eq!(status.server.as_deref(), Some(format!("{}-upstream 1.0.0", status.name).as_str()));
        assert_eq!(status.target, running.url());
        assert_eq!(status.restarts, 0, "{status:?}");
    }
    // Heartbeats every 100 ms are answered.
    until("both upstreams answer a heartbeat", || {
        h.gateway.statuses().iter().all(|s| s.last_heartbeat.is_some() && s.latency_ms.is_some() && s.missed == 0)
    })
    .await;
    assert!(h.gateway.is_ready());
    h.shutdown().await;
}

#[tokio::test]
async fn arguments_are_checked_at_the_gateway_and_the_upstream_never_sees_bad_ones() {
    let probe = Arc::new(Probe::default());
    let upstream_side = upstream_server("alpha", &probe).build().unwrap();
    let alpha = Running::start(upstream_side.clone()).await;
    let h = Harness::start(vec![upstream("alpha", &alpha.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());

    let wrong_type = h.call("alpha__add", json!({"a": "two", "b": 3})).await;
    assert_eq!(wrong_type.is_error, Some(true), "{wrong_type:?}");
    let message = text(&wrong_type);
    assert!(message.contains("Invalid arguments for tool alpha__add"), "the gateway's own check: {message}");
    assert!(message.contains('a'), "names the field: {message}");

    let missing = h.call("alpha__add", json!({"a": 1})).await;
    assert_eq!(missing.is_error, Some(true), "{missing:?}");
    assert!(text(&missing).contains("Invalid arguments for tool alpha__add"), "{}", text(&missing));
    assert_eq!(probe.adds.load(Ordering::SeqCst), 0, "the upstream's handler ran for a refused call");
    assert_eq!(tool_calls_answered(&upstream_side), 0.0, "a refused call reached the upstream at all");

    let good = h.call("alpha__add", json!({"a": 1, "b": 2})).await;
    assert_eq!(text(&good), "3");
    assert_eq!(probe.adds.load(Ordering::SeqCst), 1, "a good call reaches the upstream once");
    assert_eq!(tool_calls_answered(&upstream_side), 1.0);
    h.shutdown().await;
}

#[tokio::test]
async fn a_denied_tool_is_left_out_and_counted() {
    let (alpha, _) = basic("alpha").await;
    let (beta, _) = basic("beta").await;
    let mut filtered = upstream("alpha", &alpha.url());
    filtered.tools = ToolFilter { deny: vec!["add".into()], ..ToolFilter::default() };
    let h = Harness::start(vec![filtered, upstream("beta", &beta.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());

    assert_eq!(h.tool_names().await, names(&["local_hello", "alpha__echo", "beta__echo", "beta__add"]));
    let alpha_status = h.status("alpha");
    assert_eq!((alpha_status.tools, alpha_status.left_out), (1, 1), "{alpha_status:?}");
    let beta_status = h.status("beta");
    assert_eq!((beta_status.tools, beta_status.left_out), (2, 0), "{beta_status:?}");

    let refused = h.client.call_tool("alpha__add", json!({"a": 1, "b": 2})).await.expect_err("not offered");
    assert!(matches!(&refused, ClientError::Server(e) if e.code.0 == -32602), "{refused}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_tool_whose_schema_is_not_json_schema_is_left_out_and_the_rest_listed() {
    let probe = Arc::new(Probe::default());
    // Compiled lazily, the upstream lists the tool as it is (its calls would fail).
    let server = upstream_server("odd", &probe)
        .tool(
            ToolDef::new("broken", |RawArgs(_): RawArgs| async { "unreachable" })
                .description("A schema no validator accepts")
                .input_schema(json!({"type": "object", "properties": {"x": {"type": "not-a-type"}}})),
        )
        .compile_schemas_lazily()
        .build()
        .unwrap();
    let odd = Running::start(server).await;
    let h = Harness::start(vec![upstream("odd", &odd.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());

    assert_eq!(h.tool_names().await, names(&["local_hello", "odd__echo", "odd__add"]));
    let status = h.status("odd");
    assert_eq!((status.tools, status.left_out), (2, 1), "{status:?}");
    assert_eq!(text(&h.call("odd__echo", json!({"text": "fine"})).await), "odd: fine");
    let refused = h.client.call_tool("odd__broken", json!({"x": 1})).await.expect_err("not offered");
    assert!(matches!(&refused, ClientError::Server(e) if e.code.0 == -32602), "{refused}");
    h.shutdown().await;
}

#[tokio::test]
async fn an_upstream_tools_progress_reaches_the_downstream_caller() {
    let probe = Arc::new(Probe::default());
    let alpha = Running::start(upstream_server("alpha", &probe).tool(progress_tool()).build().unwrap()).await;
    let h = Harness::start(vec![upstream("alpha", &alpha.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());

    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let options = RequestOptions::timeout(STEP)
        .with_progress(move |p| sink.lock().unwrap().push((p.progress, p.total, p.message)));
    let done = tokio::time::timeout(STEP, h.client.call_tool_with("alpha__progress", json!({}), &options))
        .await
        .expect("answered in time")
        .expect("alpha__progress");
    assert_eq!(text(&done), "done");
    assert_eq!(*seen.lock().unwrap(), [(1.0, Some(2.0), Some("half".to_owned())), (2.0, Some(2.0), None)]);
    h.shutdown().await;
}

#[tokio::test]
async fn a_dead_upstream_goes_down_alone_and_comes_back_on_the_same_port() {
    let (alpha, _) = basic("alpha").await;
    let (beta, _) = basic("beta").await;
    let h = Harness::start(vec![upstream("alpha", &alpha.url()), upstream("beta", &beta.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    let all = names(&["local_hello", "alpha__echo", "alpha__add", "beta__echo", "beta__add"]);
    assert_eq!(h.tool_names().await, all);
    let order = h.tools_in_order().await;
    assert_eq!(order, ["alpha__add", "alpha__echo", "beta__add", "beta__echo", "local_hello"], "sorted by name");

    let addr = alpha.addr;
    alpha.kill().await;
    let killed = Instant::now();
    until("alpha is no longer up", || h.status("alpha").state != State::Up).await;
    let noticed = killed.elapsed();
    assert!(noticed < Duration::from_secs(2), "took {noticed:?} with 100 ms heartbeats");
    assert!(!h.gateway.is_ready(), "a required upstream is down");

    let left = h.tools_until("alpha's tools leave the list", |n| !n.contains("alpha__echo")).await;
    assert_eq!(left, names(&["local_hello", "beta__echo", "beta__add"]));
    let status = h.status("alpha");
    assert_eq!(status.tools, 0, "{status:?}");
    assert!(status.last_error.is_some(), "{status:?}");
    assert!(status.restarts >= 1, "{status:?}");
    assert_eq!(h.status("beta").state, State::Up);
    assert_eq!(text(&h.call("beta__echo", json!({"text": "still here"})).await), "beta: still here");
    let gone = h.client.call_tool("alpha__echo", json!({"text": "x"})).await.expect_err("alpha is not listed");
    assert!(matches!(&gone, ClientError::Server(e) if e.code.0 == -32602), "{gone}");

    let probe = Arc::new(Probe::default());
    let alpha = Running::start_on(upstream_server("alpha", &probe).build().unwrap(), addr).await;
    assert_eq!(alpha.addr, addr);
    until("alpha is up again", || h.status("alpha").state == State::Up).await;
    assert_eq!(h.tools_until("alpha's tools are back", |n| n.contains("alpha__echo")).await, all);
    assert_eq!(h.tools_in_order().await, order, "back in their places, not after beta's");
    assert_eq!(text(&h.call("alpha__echo", json!({"text": "back"})).await), "alpha: back");
    assert_eq!(text(&h.call("alpha__add", json!({"a": 1, "b": 1})).await), "2");
    assert_eq!(probe.adds.load(Ordering::SeqCst), 1, "the call went to the new server");
    let status = h.status("alpha");
    assert_eq!((status.state, status.tools), (State::Up, 2), "{status:?}");
    assert!(status.restarts >= 1, "{status:?}");
    assert!(h.gateway.is_ready());
    assert_eq!(h.status("beta").restarts, 0, "beta never failed");
    h.shutdown().await;
    alpha.stop().await;
}

#[tokio::test]
async fn a_call_past_the_upstream_timeout_fails_naming_it_and_is_cancelled_upstream() {
    let probe = Arc::new(Probe::default());
    let slow = Running::start(upstream_server("slow", &probe).tool(hang_tool(&probe)).build().unwrap()).await;
    let mut config = upstream("slow", &slow.url());
    config.timeout = Some(1);
    let h = Harness::start(vec![config], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());

    let started = Instant::now();
    let result = h.call("slow__hang", json!({})).await;
    let took = started.elapsed();
    assert!(probe.hanging.load(Ordering::SeqCst), "the call reached the upstream");
    assert_eq!(result.is_error, Some(true), "{result:?}");
    let message = text(&result);
    assert!(message.contains("upstream slow") && message.contains("hang"), "{message}");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_millis(2500), "answered after {took:?}");

    // Over 2026 HTTP the gateway's client cancels by dropping the response stream: the
    // upstream drops the handler's future and fires its token.
    until("the upstream handler is stopped", || probe.hang_stopped()).await;
    until("the upstream handler's token fires", || probe.token_fired()).await;
    // A slow call is not a dead upstream.
    assert_eq!(h.status("slow").state, State::Up);
    assert_eq!(text(&h.call("slow__echo", json!({"text": "ok"})).await), "slow: ok");
    h.shutdown().await;
}

/// An upstream server with one tool, `tool`, answering `from <name>`.
fn one_tool(name: &str, tool: &str) -> Server {
    let answer = format!("from {name}");
    Server::builder(name, "1.0.0")
        .tool(ToolDef::new(tool, move || {
            let answer = answer.clone();
            async move { answer }
        }))
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_earlier_upstream_keeps_a_contested_name_whichever_connects_first() {
    // "a" + "b__c" and "a__b" + "c" would both be a__b__c. "a" is first in the config
    // but starts last.
    let a_addr = free_addr().await;
    let later = Running::start(one_tool("a__b", "c")).await;
    let a_url = format!("http://{a_addr}/mcp");
    let h = Harness::start(vec![upstream("a", &a_url), upstream("a__b", &later.url())], quick()).await;

    until("a__b is up", || h.status("a__b").state == State::Up).await;
    h.tools_until("a__b lists a__b__c", |n| n.contains("a__b__c")).await;
    assert_eq!(text(&h.call("a__b__c", json!({})).await), "from a__b", "the only one so far");
    assert_ne!(h.status("a").state, State::Up, "a has no server yet");

    let earlier = Running::start_on(one_tool("a", "b__c"), a_addr).await;
    until("a is up with its tool", || {
        let s = h.status("a");
        s.state == State::Up && s.tools == 1
    })
    .await;
    assert_eq!(h.tool_names().await, names(&["local_hello", "a__b__c"]), "one tool under the name");
    assert_eq!(text(&h.call("a__b__c", json!({})).await), "from a", "the earlier upstream took it");
    let status = h.status("a__b");
    assert_eq!((status.state, status.tools, status.left_out), (State::Up, 0, 1), "{status:?}");

    // a__b failing and coming back does not take the name back.
    let later_addr = later.addr;
    later.kill().await;
    until("a__b is down", || h.status("a__b").state != State::Up).await;
    assert_eq!(text(&h.call("a__b__c", json!({})).await), "from a", "a's tool stays while a__b is down");
    let later = Running::start_on(one_tool("a__b", "c"), later_addr).await;
    until("a__b is up again", || h.status("a__b").state == State::Up).await;
    let status = h.status("a__b");
    assert_eq!((status.tools, status.left_out), (0, 1), "{status:?}");
    assert_eq!(h.tool_names().await, names(&["local_hello", "a__b__c"]));
    assert_eq!(text(&h.call("a__b__c", json!({})).await), "from a");
    let status = h.status("a");
    assert_eq!((status.tools, status.left_out), (1, 0), "{status:?}");
    h.shutdown().await;
    earlier.stop().await;
    later.stop().await;
}

#[tokio::test]
async fn a_legacy_upstream_gets_pings_and_its_timed_out_call_is_cancelled_by_notification() {
    let probe = Arc::new(Probe::default());
    let old = Running::start(upstream_server("old", &probe).tool(hang_tool(&probe)).build().unwrap()).await;
    // HTTP+SSE (2024-11-05): a legacy-era upstream, whatever the client prefers.
    let mut config = upstream("old", &format!("http://{}/sse", old.addr));
    config.timeout = Some(1);
    let h = Harness::start(vec![config], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    let status = h.status("old");
    assert_eq!(status.era, Some("legacy"), "{status:?}");
    until("ping heartbeats are answered", || h.status("old").last_heartbeat.is_some()).await;
    assert_eq!(text(&h.call("old__echo", json!({"text": "hi"})).await), "old: hi");

    let started = Instant::now();
    let result = h.call("old__hang", json!({})).await;
    let took = started.elapsed();
    assert_eq!(result.is_error, Some(true), "{result:?}");
    assert!(text(&result).contains("upstream old"), "{}", text(&result));
    assert!(took >= Duration::from_millis(900) && took < Duration::from_millis(2500), "answered after {took:?}");
    // notifications/cancelled fires the token while the handler still runs.
    until("the upstream handler sees its token fire", || probe.cancelled.load(Ordering::SeqCst)).await;
    assert!(!probe.dropped.load(Ordering::SeqCst));
    assert_eq!(h.status("old").state, State::Up);
    h.shutdown().await;
}

#[tokio::test]
async fn a_downstream_cancel_reaches_a_legacy_upstream_and_is_counted() {
    let probe = Arc::new(Probe::default());
    let old = Running::start(upstream_server("old", &probe).tool(hang_tool(&probe)).build().unwrap()).await;
    let h = Harness::start(vec![upstream("old", &format!("http://{}/sse", old.addr))], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());

    // The gateway's server stops the downstream request by dropping its handler: the
    // upstream request is cancelled as it is dropped.
    let cancel = tokio_util::sync::CancellationToken::new();
    let options = RequestOptions::timeout(STEP).with_cancel(cancel.clone());
    let call = h.client.request("tools/call", json!({"name": "old__hang", "arguments": {}}), &options);
    let stop = async {
        until("the call reaches the upstream", || probe.hanging.load(Ordering::SeqCst)).await;
        cancel.cancel();
    };
    let (result, ()) = tokio::join!(call, stop);
    assert!(matches!(result, Err(ClientError::Cancelled)), "{result:?}");
    until("notifications/cancelled fires the upstream handler's token", || probe.cancelled.load(Ordering::SeqCst))
        .await;
    let cancelled = |h: &Harness| h.status("old").calls.by_outcome().find(|(o, _)| *o == "cancelled").map(|(_, n)| n);
    until("/upstreams counts the call as cancelled", || cancelled(&h) == Some(1)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let counted: Vec<_> = h.status("old").calls.by_outcome().filter(|(_, n)| *n > 0).collect();
    assert_eq!(counted, vec![("cancelled", 1)], "counted once, as cancelled");
    assert_eq!(text(&h.call("old__echo", json!({"text": "after"})).await), "old: after");
    h.shutdown().await;
}

#[tokio::test]
async fn a_call_in_flight_when_its_upstream_dies_fails_at_once_naming_it() {
    let probe = Arc::new(Probe::default());
    let alpha = Running::start(upstream_server("alpha", &probe).tool(hang_tool(&probe)).build().unwrap()).await;
    let (beta, _) = basic("beta").await;
    // The call's own timeout (30 s) is not what ends it.
    let h = Harness::start(vec![upstream("alpha", &alpha.url()), upstream("beta", &beta.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());

    let call = h.client.call_tool("alpha__hang", json!({}));
    let kill = async {
        until("the call reaches alpha", || probe.hanging.load(Ordering::SeqCst)).await;
        alpha.kill().await;
        Instant::now()
    };
    let (result, killed) =
        tokio::time::timeout(STEP, async { tokio::join!(call, kill) }).await.expect("answered in time");
    let took = killed.elapsed();
    let result = result.expect("a tool result, not a protocol error");
    assert_eq!(result.is_error, Some(true), "{result:?}");
    assert!(text(&result).contains("upstream alpha"), "{}", text(&result));
    assert!(took < Duration::from_secs(1), "answered {took:?} after alpha died");
    until("alpha is no longer up", || h.status("alpha").state != State::Up).await;
    assert_eq!(text(&h.call("beta__echo", json!({"text": "fine"})).await), "beta: fine");
    h.shutdown().await;
}

/// Adds and removes an upstream tool at run time; the gateway's list follows.
async fn tool_list_changes_are_followed(path: &str) {
    let probe = Arc::new(Probe::default());
    let server = upstream_server("dyn", &probe).dynamic().build().unwrap();
    let running = Running::start(server.clone()).await;
    let h = Harness::start(vec![upstream("dyn", &format!("http://{}{path}", running.addr))], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    assert_eq!(h.tool_names().await, names(&["local_hello", "dyn__echo", "dyn__add"]));

    server.add_tool(ToolDef::new("late", || async { "late" }).description("Added later")).unwrap();
    h.tools_until(&format!("{path}: the added tool is listed"), |n| n.contains("dyn__late")).await;
    assert_eq!(text(&h.call("dyn__late", json!({})).await), "late");
    assert!(server.remove_tool("echo"));
    let listed = h.tools_until(&format!("{path}: the removed tool leaves"), |n| !n.contains("dyn__echo")).await;
    assert_eq!(listed, names(&["local_hello", "dyn__add", "dyn__late"]));
    let status = h.status("dyn");
    assert_eq!((status.state, status.tools, status.restarts), (State::Up, 2, 0), "{status:?}");
    h.shutdown().await;
    running.stop().await;
}

#[tokio::test]
async fn a_2026_upstreams_tool_list_changes_are_followed() {
    tool_list_changes_are_followed("/mcp").await;
}

#[tokio::test]
async fn a_legacy_upstreams_tool_list_changes_are_followed() {
    tool_list_changes_are_followed("/sse").await;
}

/// A listed tool, as a hand-written server gives it.
fn listed(name: &str, schema: serde_json::Value) -> serde_json::Value {
    json!({"name": name, "description": format!("the {name} tool"), "inputSchema": schema})
}

#[tokio::test]
async fn a_tool_whose_schema_turns_invalid_on_a_re_list_leaves_the_list() {
    let object = json!({"type": "object", "properties": {"x": {"type": "integer"}}});
    let hand = HandServer::start(json!([
        listed("stays", object.clone()),
        listed("changes", object.clone()),
        listed("not_an_object", json!({"type": "string"})),
    ]))
    .await;
    let h = Harness::start(vec![upstream("hand", &hand.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    assert_eq!(h.status("hand").era, Some("legacy"));
    assert_eq!(h.tool_names().await, names(&["local_hello", "hand__stays", "hand__changes"]));
    let status = h.status("hand");
    assert_eq!((status.tools, status.left_out), (2, 1), "{status:?}");
    assert_eq!(text(&h.call("hand__changes", json!({"x": 1})).await), "changes", "relayed under its own name");

    until("the gateway listens for list changes", || hand.listeners() > 0).await;
    hand.set_tools(json!([
        listed("stays", object.clone()),
        listed("changes", json!({"type": "object", "properties": {"x": {"type": "not-a-type"}}})),
    ]));
    until("the gateway lists the tools again", || {
        let status = h.status("hand");
        (status.tools, status.left_out) == (1, 1)
    })
    .await;
    assert_eq!(h.tool_names().await, names(&["local_hello", "hand__stays"]), "the old listing stayed");

    // Fixed again, it comes back.
    hand.set_tools(json!([listed("stays", object.clone()), listed("changes", object)]));
    h.tools_until("the fixed tool is back", |n| n.contains("hand__changes")).await;
    let status = h.status("hand");
    assert_eq!((status.tools, status.left_out), (2, 0), "{status:?}");
    h.shutdown().await;
}

#[tokio::test]
async fn an_earlier_upstreams_tool_refused_for_its_schema_leaves_the_contested_name_to_the_later() {
    // "a" is first in the config, but its a__b__c has a schema no validator accepts.
    let a_addr = free_addr().await;
    let later = Running::start(one_tool("a__b", "c")).await;
    let h =
        Harness::start(vec![upstream("a", &format!("http://{a_addr}/mcp")), upstream("a__b", &later.url())], quick())
            .await;
    until("a__b is up with its tool", || h.status("a__b").tools == 1).await;

    let bad = json!({"type": "object", "properties": {"x": {"type": "not-a-type"}}});
    let _earlier =
        HandServer::start_on(json!([listed("b__c", bad), listed("d", json!({"type": "object"}))]), a_addr).await;
    until("a is up", || h.status("a").state == State::Up && h.status("a").tools == 1).await;
    assert_eq!(h.tool_names().await, names(&["local_hello", "a__b__c", "a__d"]));
    assert_eq!(text(&h.call("a__b__c", json!({})).await), "from a__b", "still a__b's tool");
    let status = h.status("a");
    assert_eq!((status.tools, status.left_out), (1, 1), "{status:?}");
    let status = h.status("a__b");
    assert_eq!((status.tools, status.left_out), (1, 0), "a__b kept its tool: {status:?}");
    h.shutdown().await;
    later.stop().await;
}

#[tokio::test]
async fn results_name_the_gateway_and_never_the_upstream() {
    let (alpha, _) = basic("alpha").await;
    let h = Harness::start(vec![upstream("alpha", &alpha.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    assert_eq!(h.status("alpha").version, Some("2026-07-28"), "the upstream names itself in results");
    let call = json!({"name": "alpha__echo", "arguments": {"text": "hi"}});
    let options = RequestOptions::timeout(STEP);

    // A 2026-07-28 client reads the gateway's name where the upstream had put its own.
    let modern = h.client.request("tools/call", call.clone(), &options).await.unwrap();
    assert_eq!(modern["content"][0]["text"], "alpha: hi");
    assert_eq!(modern["_meta"][tenet_protocol::SERVER_INFO_KEY]["name"], "gateway", "{modern}");

    // A legacy client gets no name in results at all.
    let builder = tenet_client::Client::builder().version(tenet_client::VersionPin::Legacy);
    let legacy = downstream_with(&h.server, CancellationToken::new(), builder).await;
    let old = legacy.request("tools/call", call, &options).await.unwrap();
    assert_eq!(old["content"][0]["text"], "alpha: hi");
    assert!(old.get("_meta").is_none(), "{old}");
    legacy.close().await;
    h.shutdown().await;
}

#[tokio::test]
async fn arguments_go_on_as_the_client_wrote_them_when_every_reader_reads_them_alike() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "number", "maximum": 5}, "size": {}}});
    let hand = HandServer::start(json!([listed("t", schema)])).await;
    let h = Harness::start(vec![upstream("hand", &hand.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    let shutdown = CancellationToken::new();
    let client = downstream(&h.server, shutdown.clone()).await;
    // Each: the arguments as the client writes them, and as the upstream gets them.
    let cases = [
        // As written: spacing, an escape, a number's trailing zero.
        (r#"{"b" : [1, "\u0041"],"a":1.50}"#, r#"{"b" : [1, "\u0041"],"a":1.50}"#),
        // A name given twice: the gateway checked the last value, so only that goes
        // (an upstream keeping the first would get 9, over the maximum).
        (r#"{"a":9,"a":2}"#, r#"{"a":2}"#),
        (r#"{"x":[{"k":1,"k":2}]}"#, r#"{"x":[{"k":2}]}"#),
        // Names some readers take for the same one (Go's ignore case), neither of them
        // declared: written again as the tree, which keeps both, in the order of their
        // bytes.
        (r#"{"b":1,"B":9}"#, r#"{"B":9,"b":1}"#),
        // Past 15 digits a reader may round differently: what was checked goes.
        (r#"{"n":12345678901234567890123}"#, r#"{"n":1.2345678901234568e+22}"#),
        // Read as 0 for the check; a reader of exact numbers sees more.
        (r#"{"n":1e-400}"#, r#"{"n":0.0}"#),
    ];
    for (sent, expected) in cases {
        let params = tenet_server::jsonrpc::RawJson::from_string(format!(r#"{{"arguments":{sent}}}"#)).unwrap();
        let options = RequestOptions {
            arguments: tenet_server::jsonrpc::JsonText::member(&params, "arguments"),
            ..RequestOptions::default()
        };
        let raw = client.request_raw("tools/call", json!({"name": "hand__t"}), &options).await.unwrap();
        assert!(!raw.is_error(), "{sent}: {}", raw.json());
        let body = hand.calls().pop().expect("the upstream was called");
        assert!(body.contains(&format!(r#""arguments":{expected}"#)), "{sent}: {body}");
    }
    // Refused at the gateway, and never sent: the first of two values (checked as
    // written, it is never what passes); a name differing from a declared one only in
    // case, which the schema check lets by unchecked and Go's encoding/json takes for
    // the declared one (alone, beside it, or by a letter only Unicode folds: `ſ`); a
    // name with a NUL.
    let refused = [
        (r#"{"a":2,"a":9}"#, "9 is greater than the maximum of 5"),
        (r#"{"A":9}"#, r#"\"A\" differs from the declared property \"a\" only in case"#),
        (r#"{"a":1,"A":9}"#, r#"\"A\" differs from the declared property \"a\" only in case"#),
        (r#"{"\u017fize":1}"#, r#"/ſize: \"ſize\" differs from the declared property \"size\""#),
        (r#"{"b\u0000":1}"#, "holds a NUL character"),
    ];
    for (sent, said) in refused {
        let params = tenet_server::jsonrpc::RawJson::from_string(format!(r#"{{"arguments":{sent}}}"#)).unwrap();
        let options = RequestOptions {
            arguments: tenet_server::jsonrpc::JsonText::member(&params, "arguments"),
            ..RequestOptions::default()
        };
        let calls = hand.calls().len();
        let raw = client.request_raw("tools/call", json!({"name": "hand__t"}), &options).await.unwrap();
        assert!(raw.is_error(), "{sent}: {}", raw.json());
        assert!(raw.json().contains(said), "{sent}: {}", raw.json());
        assert_eq!(hand.calls().len(), calls, "{sent}: a call refused at the gateway never reaches the upstream");
    }
    shutdown.cancel();
    h.shutdown().await;
}

#[tokio::test]
async fn tool_results_go_on_as_the_upstream_wrote_them_less_what_a_result_does_not_have() {
    let any = json!({"type": "object"});
    let tools = ["odd", "bad", "link", "pretty", "nulls", "twice", "metas"].map(|name| listed(name, any.clone()));
    let hand = HandServer::start(json!(tools)).await;
    // Written again, not passed on: a line break would end the line a stdio client
    // reads, and a typed result leaves out what is null.
    hand.answer("pretty", "{\n  \"content\": [\r\n    {\"type\": \"text\", \"text\": \"p\"}\n  ]\n}");
    hand.answer("nulls", r#"{"content":[{"type":"text","text":"n","annotations":null}],"structuredContent":null}"#);
    hand.answer("twice", r#"{"content":[],"isError":true,"isError":null}"#);
    hand.answer("metas", r#"{"content":[],"_meta":{},"_meta":{"k":1}}"#);
    hand.answer(
        "odd",
        r#"{"content":[{"type":"text","text":"as \"written\""}],"resultType":"complete","isError":false,"extra":1,"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"hand","version":"9"},"k":"v"}}"#,
    );
    hand.answer("bad", r#"{"content":5}"#);
    hand.answer("link", r#"{"content":[{"type":"resource_link","uri":"file:///a","name":"a"}]}"#);
    let h = Harness::start(vec![upstream("hand", &hand.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    let shutdown = CancellationToken::new();
    let pins = [
        VersionPin::Legacy,
        VersionPin::Modern,
        // Blocks may need translating for clients before 2025-06-18: the typed path.
        VersionPin::Exact(tenet_protocol::ProtocolVersion::V2025_03_26),
    ];
    for pin in pins {
        let client = downstream_with(&h.server, shutdown.clone(), tenet_client::Client::builder().version(pin)).await;
        let params = json!({"name": "hand__odd", "arguments": {}});
        let raw = client.request_raw("tools/call", params, &RequestOptions::default()).await.unwrap();
        let mut result: serde_json::Value = serde_json::from_str(raw.json()).unwrap();
        if pin == VersionPin::Modern {
            // The gateway's own members, once: no upstream's resultType or name beside them.
            assert_eq!(raw.json().matches("resultType").count(), 1, "{}", raw.json());
            assert_eq!(raw.json().matches("serverInfo").count(), 1, "{}", raw.json());
            let meta = result["_meta"].as_object_mut().unwrap();
            let named = meta.remove(tenet_protocol::SERVER_INFO_KEY).unwrap();
            assert_eq!(named["name"], "gateway");
            result.as_object_mut().unwrap().remove("resultType");
        }
        let expected =
            json!({"content": [{"type": "text", "text": "as \"written\""}], "isError": false, "_meta": {"k": "v"}});
        assert_eq!(result, expected, "{pin:?}: {}", raw.json());

        for (tool, expected) in
            [("pretty", json!([{"type": "text", "text": "p"}])), ("nulls", json!([{"type": "text", "text": "n"}]))]
        {
            let params = json!({"name": format!("hand__{tool}"), "arguments": {}});
            let raw = client.request_raw("tools/call", params, &RequestOptions::default()).await.unwrap();
            let result: serde_json::Value = serde_json::from_str(raw.json()).unwrap();
            assert_eq!(result["content"], expected, "{pin:?}: {}", raw.json());
            assert!(!raw.json().contains("null"), "{pin:?}: {}", raw.json());
        }
        for tool in ["bad", "twice", "metas"] {
            let bad = client.call_tool(&format!("hand__{tool}"), json!({})).await.unwrap();
            assert_eq!(bad.is_error, Some(true), "{pin:?}");
            let said = format!("upstream hand answered {tool} with an invalid result");
            assert!(text(&bad).contains(&said), "{}", text(&bad));
        }

        // A resource link is named as the gateway names the upstream's resources (for
        // 2025-03-26, in the text that stands for it).
        let link = client.call_tool("hand__link", json!({})).await.unwrap();
        let shown = serde_json::to_string(&link.content).unwrap();
        let named_as_upstream = shown.contains(r#""file:///a""#) || shown.contains("<file:///a>");
        assert!(shown.contains("file:///a") && !named_as_upstream, "{pin:?}: {shown}");
        client.close().await;
    }
    shutdown.cancel();
    h.shutdown().await;
}

/// An upstream table's `rate_limit` gives each of its tools a rate per caller, held at
/// the gateway's one door with no server-wide limits; another upstream's tools and the
/// local ones keep none. A malformed rate is refused at start, naming the key.
#[tokio::test]
async fn an_upstream_tables_rate_limit_holds_each_of_its_tools_per_caller() {
    let (alpha, _) = basic("alpha").await;
    let (beta, _) = basic("beta").await;
    let limited =
        tenet_gateway::UpstreamConfig { rate_limit: Some("0.001/2".into()), ..upstream("alpha", &alpha.url()) };
    let bad = tenet_gateway::UpstreamConfig { rate_limit: Some("fast".into()), ..limited.clone() };
    let e = tenet_gateway::validate(&[bad], &quick()).unwrap_err();
    assert!(e.to_string().contains("rate_limit"), "{e}");
    let h = Harness::start(vec![limited, upstream("beta", &beta.url())], quick()).await;
    assert!(h.gateway.wait_ready(STEP).await, "not ready: {:?}", h.gateway.statuses());
    for _ in 0..2 {
        assert_eq!(text(&h.call("alpha__echo", json!({"text": "hi"})).await), "alpha: hi");
    }
    let refused = tokio::time::timeout(STEP, h.client.call_tool("alpha__echo", json!({"text": "hi"}))).await.unwrap();
    match refused {
        Err(ClientError::Server(e)) => assert_eq!(e.code, tenet_server::RATE_LIMITED, "{e:?}"),
        other => panic!("the third call within the rate: {other:?}"),
    }
    assert_eq!(text(&h.call("alpha__add", json!({"a": 1, "b": 2})).await), "3", "each tool its own bucket");
    for _ in 0..5 {
        assert_eq!(text(&h.call("beta__echo", json!({"text": "hi"})).await), "beta: hi", "no rate of its own");
    }
    h.shutdown().await;
}

/// Issue 60: an upstream's instructions for the model reach the gateway's clients,
/// under the upstream's name, beside the gateway's own, for as long as it is up; an
/// over-long one is cut to its bound.
#[tokio::test]
async fn an_upstreams_instructions_join_the_gateways_under_its_name_while_it_is_up() {
    let probe = Arc::new(Probe::default());
    let short = upstream_server("short", &probe).instructions("Call echo before add.").build().unwrap();
    let long = upstream_server("long", &probe).instructions("x".repeat(20_000)).build().unwrap();
    let (short, long) = (Running::start(short).await, Running::start(long).await);
    let server = Server::builder("gateway", "1.0.0").instructions("The gateway's own.").dynamic().build().unwrap();
    let gateway = tenet_gateway::Gateway::start(
        server.clone(),
        vec![upstream("short", &short.url()), upstream("long", &long.url())],
        quick(),
    );
    assert!(gateway.wait_ready(STEP).await, "both came up");
    let shutdown = CancellationToken::new();
    let client = crate::support::downstream(&server, shutdown.clone()).await;
    let told = client.server().and_then(|d| d.instructions).unwrap();
    assert!(told.starts_with("The gateway's own.\n\n## long\n\nxxx"), "{}", &told[..80]);
    assert!(told.ends_with("…\n\n## short\n\nCall echo before add."), "{}", &told[told.len() - 80..]);
    let long_part = told.split("## long\n\n").nth(1).unwrap().split("\n\n## short").next().unwrap();
    assert!(long_part.len() <= tenet_server::MAX_INSTRUCTIONS_PART, "{} bytes", long_part.len());
    client.close().await;

    // Down, its part goes; the other's stays.
    short.kill().await;
    let deadline = Instant::now() + STEP;
    while server.instructions().is_some_and(|i| i.contains("## short")) {
        assert!(Instant::now() < deadline, "the stopped upstream's instructions stayed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.instructions().unwrap().contains("## long"));
    shutdown.cancel();
    gateway.shutdown().await;
    long.stop().await;
}
