//! Peers: other Tenet nodes whose own tools a node imports under their node id,
//! marked with the nodes they came through; admitted only when they are Tenet nodes
//! other than this one and every other peer; listed again only where the digests of
//! their lists changed; never offered back, nor further than re-export allows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{Node, Probe, Running, STEP, peer, requests_answered, text, until, upstream, upstream_server};
use serde_json::json;
use tenet_client::Client;
use tenet_gateway::{GatewayOptions, State};
use tenet_protocol::{NODE_KEY, NODE_PATH_KEY, VIA_KEY};
use tenet_server::ToolDef;

/// The tools `client` is offered, but for the context tools every node has
/// (`remember`, `recall`: `tests/context.rs` is about them).
async fn names(client: &Client) -> BTreeSet<String> {
    let tools = tokio::time::timeout(STEP, client.list_all_tools()).await.expect("in time").expect("tools/list");
    tools.into_iter().map(|t| t.name).filter(|n| !n.ends_with("remember") && !n.ends_with("recall")).collect()
}

/// Waits until `client`'s tool list is `expected`.
async fn tools_become(client: &Client, expected: &[&str]) {
    let expected: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let now = names(client).await;
        if now == expected {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "tools: {now:?}, expected {expected:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn call(client: &Client, name: &str) -> String {
    let result = tokio::time::timeout(STEP, client.call_tool(name, json!({}))).await.expect("in time");
    text(&result.unwrap_or_else(|e| panic!("{name}: {e}")))
}

#[tokio::test]
async fn a_peers_own_tools_are_imported_under_its_node_id_and_run_there() {
    let c = Node::serve("c", None).await;
    let mut a = Node::serve("a", None).await;
    a.join(vec![peer(&c.url())]);
    let client = a.client().await;
    tools_become(&client, &["where", "c__where"]).await;
    assert_eq!(call(&client, "c__where").await, "c via a", "it ran on c, and came through a");
    let listed = client.list_all_tools().await.unwrap();
    let imported = listed.iter().find(|t| t.name == "c__where").unwrap();
    assert_eq!(imported.meta.as_ref().unwrap()[VIA_KEY], json!(["c"]), "marked as imported through c");
    let status = a.peer_at(&c.url());
    assert_eq!((status.name.as_str(), status.node.as_deref(), status.state), ("c", Some("c"), State::Up));
    assert!(status.peer && status.digest.as_deref().is_some_and(|d| d.starts_with("sha256:")), "{status:?}");
    client.close().await;
    a.stop().await;
    c.stop().await;
}

#[tokio::test]
async fn a_node_does_not_reexport_what_it_imported_unless_told_and_then_within_its_hop_limit() {
    let c = Node::serve("c", None).await;
    // b imports c; a imports b. Without re-export a sees b's own tool only.
    let mut b = Node::serve("b", None).await;
    b.join(vec![peer(&c.url())]);
    let mut a = Node::serve("a", None).await;
    a.join(vec![peer(&b.url())]);
    let client = a.client().await;
    tools_become(&client, &["where", "b__where"]).await;
    let on_b = b.client().await;
    tools_become(&on_b, &["where", "c__where"]).await;
    client.close().await;
    on_b.close().await;
    a.stop().await;
    b.stop().await;

    // A b that re-exports offers c's tool to a, which calls it through b.
    let mut b = Node::serve("b", Some(3)).await;
    b.join(vec![peer(&c.url())]);
    let mut a = Node::serve("a", None).await;
    a.join(vec![peer(&b.url())]);
    let client = a.client().await;
    tools_become(&client, &["where", "b__where", "b__c__where"]).await;
    let listed = client.list_all_tools().await.unwrap();
    let far = listed.iter().find(|t| t.name == "b__c__where").unwrap();
    assert_eq!(far.meta.as_ref().unwrap()[VIA_KEY], json!(["b", "c"]));
    assert_eq!(call(&client, "b__c__where").await, "c via a → b");
    client.close().await;
    a.stop().await;
    b.stop().await;

    // With a hop limit of 1, b offers nothing it imported (a's path and c make 2).
    let mut b = Node::serve("b", Some(1)).await;
    b.join(vec![peer(&c.url())]);
    let mut a = Node::serve("a", None).await;
    a.join(vec![peer(&b.url())]);
    let client = a.client().await;
    tools_become(&client, &["where", "b__where"]).await;
    client.close().await;
    a.stop().await;
    b.stop().await;
    c.stop().await;
}

/// Nodes `a`, `b`, `c` that re-export within `max_hops`, each a peer of the next in
/// `edges` (by index).
async fn network(max_hops: usize, edges: &[(usize, usize)]) -> Vec<Node> {
    let mut nodes = Vec::new();
    for id in ["a", "b", "c"] {
        nodes.push(Node::serve(id, Some(max_hops)).await);
    }
    let urls: Vec<String> = nodes.iter().map(Node::url).collect();
    for (i, node) in nodes.iter_mut().enumerate() {
        let peers: Vec<_> = edges.iter().filter(|(from, _)| *from == i).map(|(_, to)| peer(&urls[*to])).collect();
        let options = GatewayOptions { max_hops, ..node.options() };
        node.join_with(peers, options);
    }
    nodes
}

#[tokio::test]
async fn a_ring_of_reexporting_nodes_stays_bounded_and_never_loops() {
    // a → b → c → a, each re-exporting within 3 hops.
    let nodes = network(3, &[(0, 1), (1, 2), (2, 0)]).await;
    let client = nodes[0].client().await;
    // a sees b's own, and c's through b; nothing of a's own comes back to it.
    tools_become(&client, &["where", "b__where", "b__c__where"]).await;
    // Still so a few heartbeats later: nothing grows around the ring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(names(&client).await, ["where", "b__where", "b__c__where"].map(String::from).into());
    assert_eq!(call(&client, "b__c__where").await, "c via a → b");
    // A request that already passed through c is refused before it goes round again:
    // what leads back to c is not offered to it (-32602).
    let refused = client
        .request("tools/call", json!({"name": "b__c__where", "_meta": { NODE_PATH_KEY: ["c"] }}), &Default::default())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("tool b__c__where is not offered to other Tenet nodes"), "{refused}");
    client.close().await;
    for node in nodes {
        node.stop().await;
    }
}

#[tokio::test]
async fn two_nodes_that_are_each_others_peer_import_each_others_own_tools_only() {
    for reexport in [1, 8] {
        let nodes = network(reexport, &[(0, 1), (1, 0)]).await;
        let (on_a, on_b) = (nodes[0].client().await, nodes[1].client().await);
        tools_become(&on_a, &["where", "b__where"]).await;
        tools_become(&on_b, &["where", "a__where"]).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(names(&on_a).await, ["where", "b__where"].map(String::from).into(), "max hops {reexport}");
        assert_eq!(call(&on_b, "a__where").await, "a via b");
        on_a.close().await;
        on_b.close().await;
        for node in nodes {
            node.stop().await;
        }
    }
}

#[tokio::test]
async fn a_peer_that_is_this_node_or_shares_another_peers_id_or_is_no_node_is_refused() {
    // Not a Tenet node at all.
    let plain = Running::start(upstream_server("plain", &Arc::new(Probe::default())).build().unwrap()).await;
    // A node that announces garbage.
    let garbage = upstream_server("garbage", &Arc::new(Probe::default())).build().unwrap();
    garbage.add_handshake_meta(NODE_KEY, |_| json!({"id": "has space", "version": "1", "digest": "d"}));
    let garbage = Running::start(garbage).await;
    let twin_1 = Node::serve("twin", None).await;
    let twin_2 = Node::serve("twin", None).await;
    let mut a = Node::serve("a", None).await;
    let myself = a.url();
    a.join(vec![peer(&plain.url()), peer(&garbage.url()), peer(&myself), peer(&twin_1.url()), peer(&twin_2.url())]);
    let error = |url: &str| a.peer_at(url).last_error.unwrap_or_default();
    until("every refusal is told", || {
        !error(&plain.url()).is_empty() && !error(&garbage.url()).is_empty() && !error(&myself).is_empty()
    })
    .await;
    assert!(error(&plain.url()).contains("not a Tenet node"), "{}", error(&plain.url()));
    assert!(error(&garbage.url()).contains("invalid node id"), "{}", error(&garbage.url()));
    assert!(error(&myself).contains("this node's own"), "{}", error(&myself));
    // One twin is admitted; the other is refused, naming the first.
    until("one twin up", || [&twin_1, &twin_2].iter().filter(|t| a.peer_at(&t.url()).state == State::Up).count() == 1)
        .await;
    let refused = [&twin_1, &twin_2].into_iter().find(|t| a.peer_at(&t.url()).state != State::Up).unwrap();
    until("the second twin is refused", || error(&refused.url()).contains("announced already")).await;
    let client = a.client().await;
    tools_become(&client, &["where", "twin__where"]).await;
    // A refused peer stays refused while its twin is up, however often it is retried.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!([&twin_1, &twin_2].iter().filter(|t| a.peer_at(&t.url()).state == State::Up).count(), 1);
    client.close().await;
    a.stop().await;
    for running in [plain, garbage] {
        running.stop().await;
    }
    twin_1.stop().await;
    twin_2.stop().await;
}

#[tokio::test]
async fn a_peer_is_listed_again_only_where_its_digests_changed() {
    let c = Node::serve("c", None).await;
    let mut a = Node::serve("a", None).await;
    a.join(vec![peer(&c.url())]);
    let client = a.client().await;
    tools_become(&client, &["where", "c__where"]).await;
    let counts = || ["tools/list", "prompts/list", "resources/list"].map(|m| requests_answered(&c.server, m));
    let before = counts();
    // Heartbeats go on (quick: every 100 ms); nothing changed, so nothing is listed.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(counts(), before, "no list request while nothing changes");
    let heartbeats = requests_answered(&c.server, "server/discover");
    assert!(heartbeats >= 3.0, "{heartbeats} heartbeats");

    // A tool added on c: tools are listed again, and nothing else.
    c.server.add_tool(ToolDef::new("more", || async { "more" }).description("One more")).unwrap();
    tools_become(&client, &["where", "c__where", "c__more"]).await;
    let after = counts();
    assert!(after[0] > before[0], "tools listed again");
    assert_eq!(after[1..], before[1..], "prompts and resources not");
    client.close().await;
    a.stop().await;
    c.stop().await;
}

#[tokio::test]
async fn a_peer_back_with_the_same_lists_is_not_listed_again() {
    let c = Node::serve("c", None).await;
    let addr = c.http.addr;
    let server = c.server.clone();
    let mut a = Node::serve("a", None).await;
    a.join(vec![peer(&c.url())]);
    let client = a.client().await;
    tools_become(&client, &["where", "c__where"]).await;
    let listed = requests_answered(&server, "tools/list");
    c.http.kill().await;
    tools_become(&client, &["where"]).await;
    let back = Running::start_on(server.clone(), addr).await;
    tools_become(&client, &["where", "c__where"]).await;
    assert_eq!(requests_answered(&server, "tools/list"), listed, "its digests said nothing changed");
    assert_eq!(a.peer_at(&back.url()).restarts, 1);
    client.close().await;
    a.stop().await;
    back.stop().await;
}

#[tokio::test]
async fn a_peer_whose_digest_changes_all_the_time_is_listed_at_most_once_a_heartbeat() {
    // A node that announces new digests at every handshake and heartbeat, its lists
    // the same all along.
    let restless = upstream_server("restless", &Arc::new(Probe::default())).dynamic().build().unwrap();
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    restless.add_handshake_meta(NODE_KEY, move |_| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let d = format!("sha256:{n}");
        json!({"id": "restless", "version": "1", "digest": d,
               "lists": {"tools": d, "prompts": d, "resources": d, "resourceTemplates": d}})
    });
    let running = Running::start(restless.clone()).await;
    let mut a = Node::serve("a", None).await;
    let heartbeat = Duration::from_millis(100);
    a.join_with(vec![peer(&running.url())], GatewayOptions { heartbeat, ..a.options() });
    let client = a.client().await;
    tools_become(&client, &["where", "restless__echo", "restless__add"]).await;
    let mut changes = a.server.events();
    let (lists, heartbeats) =
        (requests_answered(&restless, "tools/list"), requests_answered(&restless, "server/discover"));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let relists = requests_answered(&restless, "tools/list") - lists;
    let beats = requests_answered(&restless, "server/discover") - heartbeats;
    assert!(relists <= beats + 1.0, "{relists} re-lists for {beats} heartbeats");
    assert!(changes.try_recv().is_err(), "the lists did not change: no list_changed for the node's clients");
    client.close().await;
    a.stop().await;
    running.stop().await;
}

#[tokio::test]
async fn a_peer_that_stops_leaves_the_lists_with_list_changed_and_comes_back_on_its_own() {
    let c = Node::serve("c", None).await;
    let (addr, server) = (c.http.addr, c.server.clone());
    let mut a = Node::serve("a", None).await;
    // Heartbeats every 2 s: leaving within one interval means the death was seen
    // another way (its listen stream broke, and it was checked at once).
    a.join_with(vec![peer(&c.url())], GatewayOptions { heartbeat: Duration::from_secs(2), ..a.options() });
    let client = a.client().await;
    tools_become(&client, &["where", "c__where"]).await;
    let mut changes = a.server.events();
    let stopped = tokio::time::Instant::now();
    c.http.kill().await;
    tools_become(&client, &["where"]).await;
    assert!(stopped.elapsed() < Duration::from_secs(2), "gone after {:?}", stopped.elapsed());
    assert_eq!(changes.try_recv().ok(), Some(tenet_server::ServerEvent::ToolsChanged));
    assert_eq!(a.peer_at(&format!("http://{addr}/mcp")).state, State::Down);
    let back = Running::start_on(server, addr).await;
    tools_become(&client, &["where", "c__where"]).await;
    client.close().await;
    a.stop().await;
    back.stop().await;
}

#[tokio::test]
async fn an_upstream_that_is_a_node_keeps_its_own_items_unmarked() {
    // A Tenet node as an ordinary upstream: what it offers is not imported from a peer.
    let c = Node::serve("c", None).await;
    let mut a = Node::serve("a", None).await;
    a.join(vec![upstream("tools", &c.url())]);
    let client = a.client().await;
    tools_become(&client, &["where", "tools__where"]).await;
    let listed = client.list_all_tools().await.unwrap();
    let tool = listed.iter().find(|t| t.name == "tools__where").unwrap();
    assert!(tool.meta.as_ref().is_none_or(|m| m.get(VIA_KEY).is_none()), "{:?}", tool.meta);
    assert_eq!(call(&client, "tools__where").await, "c via a");
    client.close().await;
    a.stop().await;
    c.stop().await;
}

/// A node `id` whose `hang` tool waits to be cancelled, served over HTTP.
async fn hanging_node(id: &str, probe: &Arc<Probe>) -> (tenet_server::Server, Running) {
    let server = upstream_server(id, probe).tool(support::hang_tool(probe)).build().unwrap();
    tenet_node::announce(&server, &id.parse().unwrap());
    let running = Running::start(server.clone()).await;
    (server, running)
}

#[tokio::test]
async fn a_peer_that_answers_heartbeats_but_not_calls_times_calls_out_and_stays() {
    let probe = Arc::new(Probe::default());
    let (_, slow) = hanging_node("slow", &probe).await;
    let mut a = Node::serve("a", None).await;
    let mut config = peer(&slow.url());
    config.timeout = Some(1);
    a.join(vec![config]);
    let client = a.client().await;
    tools_become(&client, &["where", "slow__echo", "slow__add", "slow__hang"]).await;
    let started = tokio::time::Instant::now();
    let result = tokio::time::timeout(STEP, client.call_tool("slow__hang", json!({}))).await.expect("answered");
    let result = result.expect("a tool error, not a protocol error");
    assert_eq!(result.is_error, Some(true));
    assert!(text(&result).contains("did not answer") && text(&result).contains("slow"), "{}", text(&result));
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    until("the hung call is cancelled there", || probe.hang_stopped()).await;
    // Its heartbeats still answer: it stays, and its other tools work.
    assert_eq!(a.peer_at(&slow.url()).state, State::Up);
    assert!(!call(&client, "slow__echo").await.is_empty());
    client.close().await;
    a.stop().await;
    slow.stop().await;
}

#[tokio::test]
async fn a_peer_that_vanishes_during_a_call_fails_the_call_at_once() {
    let probe = Arc::new(Probe::default());
    let (_, gone) = hanging_node("gone", &probe).await;
    let mut a = Node::serve("a", None).await;
    a.join(vec![peer(&gone.url())]);
    let client = a.client().await;
    tools_become(&client, &["where", "gone__echo", "gone__add", "gone__hang"]).await;
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.call_tool("gone__hang", json!({})).await }
    });
    until("the call is running there", || probe.hanging.load(std::sync::atomic::Ordering::SeqCst)).await;
    let killed = tokio::time::Instant::now();
    gone.kill().await;
    let result = tokio::time::timeout(STEP, call).await.expect("answered").unwrap().expect("a tool error");
    assert!(killed.elapsed() < Duration::from_secs(1), "{:?}", killed.elapsed());
    assert_eq!(result.is_error, Some(true));
    assert!(text(&result).contains("gone"), "{}", text(&result));
    tools_become(&client, &["where"]).await;
    client.close().await;
    a.stop().await;
}

#[tokio::test]
async fn a_legacy_peers_items_stay_marked_when_it_lists_again() {
    let c = Node::serve("c", None).await;
    let mut a = Node::serve("a", None).await;
    let mut config = peer(&c.url());
    config.protocol = Some("legacy".into());
    a.join(vec![config]);
    let client = a.client().await;
    tools_become(&client, &["where", "c__where"]).await;
    // A legacy peer tells of the change with notifications/tools/list_changed: listed
    // again by kind, not by digest.
    c.server.add_tool(ToolDef::new("more", || async { "more" }).description("One more")).unwrap();
    tools_become(&client, &["where", "c__where", "c__more"]).await;
    for tool in client.list_all_tools().await.unwrap().iter().filter(|t| t.name.starts_with("c__")) {
        assert_eq!(tool.meta.as_ref().map(|m| &m[VIA_KEY]), Some(&json!(["c"])), "{}", tool.name);
    }
    client.close().await;
    a.stop().await;
    c.stop().await;
}

#[tokio::test]
async fn two_legacy_nodes_that_are_each_others_peer_do_not_pass_a_change_back_and_forth() {
    let mut a = Node::serve("a", None).await;
    let mut b = Node::serve("b", None).await;
    let legacy = |url: &str| {
        let mut config = peer(url);
        config.protocol = Some("legacy".into());
        config
    };
    a.join(vec![legacy(&b.url())]);
    b.join(vec![legacy(&a.url())]);
    let on_a = a.client().await;
    tools_become(&on_a, &["where", "b__where"]).await;
    b.server.add_tool(ToolDef::new("more", || async { "more" }).description("One more")).unwrap();
    tools_become(&on_a, &["where", "b__where", "b__more"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lists = || (requests_answered(&a.server, "tools/list"), requests_answered(&b.server, "tools/list"));
    let settled = lists();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let later = lists();
    assert!(later.0 - settled.0 <= 2.0 && later.1 - settled.1 <= 2.0, "still listing: {settled:?} -> {later:?}");
    on_a.close().await;
    a.stop().await;
    b.stop().await;
}
