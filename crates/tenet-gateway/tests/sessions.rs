//! Issue 60: an upstream that keeps state per session gets a session of its own from the
//! gateway for each caller (`session = "per-caller"`, the default for a legacy
//! upstream), or shares the gateway's one (`shared`); the sessions are bounded
//! (`max_sessions`: the least recently used idle one gives way, and with none idle a new
//! caller is refused after a short wait) and closed when idle.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tenet_client::Client;
use tenet_gateway::{Gateway, SessionMode, UpstreamConfig};
use tenet_server::{CancellationToken, Server};

use crate::support::{self, Home, Probe, Running, STEP, gateway_server, quick, recall_tool, remember_tool, upstream};

/// An upstream (legacy, over HTTP) whose `remember`/`recall` keep values in the
/// conversation of the session they are called in, and whose `hang` waits until
/// cancelled.
async fn keeper(probe: &Arc<Probe>) -> Running {
    let server = support::upstream_server("keeper", probe)
        .tool(remember_tool())
        .tool(recall_tool())
        .tool(support::hang_tool(probe))
        .build()
        .unwrap();
    Running::start(server).await
}

fn legacy(running: &Running, session: Option<SessionMode>) -> UpstreamConfig {
    let mut config = upstream("up", &running.url());
    config.protocol = Some("legacy".to_owned());
    config.session = session;
    config.open = true;
    config
}

/// A downstream caller of `server` with a principal of its own, over an in-memory pipe.
async fn caller(server: &Server, name: &str, shutdown: &CancellationToken) -> Client {
    support::caller_with(server, name, shutdown, Client::builder()).await
}

async fn call(client: &Client, tool: &str, arguments: Value) -> String {
    let result = tokio::time::timeout(STEP, client.call_tool(tool, arguments)).await.expect("in time").unwrap();
    support::text(&result)
}

async fn remember(client: &Client, value: &str) -> String {
    call(client, "up__remember", json!({"key": "home", "value": value})).await
}

async fn recall(client: &Client) -> String {
    call(client, "up__recall", json!({"key": "home"})).await
}

async fn started(config: UpstreamConfig) -> (Server, Gateway) {
    let server = gateway_server();
    let gateway = Gateway::start(server.clone(), vec![config], quick());
    assert!(gateway.wait_ready(STEP).await, "the upstream came up");
    (server, gateway)
}

#[tokio::test]
async fn each_caller_has_a_session_of_its_own_upstream_unless_the_table_shares_one() {
    let probe = Arc::new(Probe::default());
    let running = keeper(&probe).await;
    let shutdown = CancellationToken::new();

    // The default for a legacy upstream: a session per caller.
    let (server, gateway) = started(legacy(&running, None)).await;
    let (alice, bob) = (caller(&server, "alice", &shutdown).await, caller(&server, "bob", &shutdown).await);
    remember(&alice, "/home/alice").await;
    assert_eq!(recall(&bob).await, "nothing", "Bob read what Alice's session keeps");
    remember(&bob, "/home/bob").await;
    assert_eq!(recall(&alice).await, "\"/home/alice\"");
    assert_eq!(recall(&bob).await, "\"/home/bob\"");
    let status = &gateway.statuses()[0];
    assert_eq!((status.session, status.sessions), (Some("per-caller"), 2));
    gateway.shutdown().await;
    assert_eq!(gateway.statuses()[0].sessions, 0, "closed with the gateway");

    // `shared`, as the operator chose it: one session for everyone, as before.
    let (server, gateway) = started(legacy(&running, Some(SessionMode::Shared))).await;
    let (carol, dave) = (caller(&server, "carol", &shutdown).await, caller(&server, "dave", &shutdown).await);
    remember(&carol, "/home/carol").await;
    assert_eq!(recall(&dave).await, "\"/home/carol\"", "one session for all");
    let status = &gateway.statuses()[0];
    assert_eq!((status.session, status.sessions), (Some("shared"), 0));
    shutdown.cancel();
    gateway.shutdown().await;
    running.stop().await;
}

#[tokio::test]
async fn a_full_table_of_sessions_gives_way_when_idle_and_refuses_when_busy() {
    let probe = Arc::new(Probe::default());
    let running = keeper(&probe).await;
    let shutdown = CancellationToken::new();
    let mut config = legacy(&running, None);
    config.max_sessions = Some(1);
    let (server, gateway) = started(config).await;
    let (alice, bob) = (caller(&server, "alice", &shutdown).await, caller(&server, "bob", &shutdown).await);

    // Alice's idle session gives way to Bob's: her next call opens a new one, which
    // holds nothing of the old.
    remember(&alice, "/home/alice").await;
    remember(&bob, "/home/bob").await;
    assert_eq!(gateway.statuses()[0].sessions, 1);
    assert_eq!(recall(&alice).await, "nothing");

    // While Alice's call runs, her session is not idle: Bob waits, then is refused
    // with an error that says why; Alice's call is not disturbed.
    let hanging = tokio::spawn({
        let alice = alice.clone();
        async move { alice.call_tool("up__hang", json!({})).await }
    });
    support::until("Alice's call runs upstream", || probe.hanging.load(std::sync::atomic::Ordering::SeqCst)).await;
    let began = tokio::time::Instant::now();
    let refused = tokio::time::timeout(Duration::from_secs(10), bob.call_tool("up__echo", json!({"text": "hi"})))
        .await
        .expect("refused in time")
        .unwrap();
    assert_eq!(refused.is_error, Some(true));
    let message = support::text(&refused);
    assert!(message.contains("max_sessions") && message.contains("upstream up"), "{message}");
    assert!(began.elapsed() >= Duration::from_secs(4), "Bob waited for a session first: {:?}", began.elapsed());
    assert!(!hanging.is_finished(), "Alice's call goes on");
    hanging.abort();
    shutdown.cancel();
    gateway.shutdown().await;
    running.stop().await;
}

#[tokio::test]
async fn a_callers_idle_session_is_closed_after_its_timeout() {
    let probe = Arc::new(Probe::default());
    let running = keeper(&probe).await;
    let shutdown = CancellationToken::new();
    let mut config = legacy(&running, None);
    config.session_idle_timeout = Some(1);
    let (server, gateway) = started(config).await;
    let alice = caller(&server, "alice", &shutdown).await;
    remember(&alice, "/home/alice").await;
    assert_eq!(gateway.statuses()[0].sessions, 1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while gateway.statuses()[0].sessions > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the idle session was not closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Its next call opens a new session, which holds nothing of the old.
    assert_eq!(recall(&alice).await, "nothing");
    shutdown.cancel();
    gateway.shutdown().await;
    running.stop().await;
}

/// What an upstream asks on a caller's session outside any request (here: on every
/// session's GET stream at once) reaches that caller's one call in flight, and no one
/// on a session with no call in flight: Alice's session answers with her roots, Bob's
/// and the gateway's own refuse.
#[tokio::test]
async fn a_question_on_a_callers_session_reaches_only_that_callers_call() {
    let tools = json!([
        {"name": "quick", "inputSchema": {"type": "object"}},
        {"name": "slow", "inputSchema": {"type": "object"}}
    ]);
    let hand = support::HandServer::start(tools).await;
    hand.delay("slow", Duration::from_millis(1500));
    let mut config = upstream("up", &hand.url());
    config.protocol = Some("legacy".to_owned());
    config.open = true;
    let (server, gateway) = started(config).await;
    let shutdown = CancellationToken::new();
    let home = |name: &'static str| Client::builder().handler(Home(name));
    let alice = support::caller_with(&server, "alice", &shutdown, home("alice")).await;
    let bob = support::caller_with(&server, "bob", &shutdown, home("bob")).await;
    assert_eq!(call(&alice, "up__quick", json!({})).await, "quick");
    assert_eq!(call(&bob, "up__quick", json!({})).await, "quick");
    support::until("three sessions listen: the gateway's, Alice's and Bob's", || hand.listeners() == 3).await;

    let slow = tokio::spawn({
        let alice = alice.clone();
        async move { alice.call_tool("up__slow", json!({})).await }
    });
    support::until("Alice's call reaches the upstream", || hand.calls().len() == 3).await;
    hand.send_raw(r#"{"jsonrpc":"2.0","id":"asked","method":"roots/list"}"#);
    support::until("every session answers", || hand.responses().len() == 3).await;
    let answers = hand.responses();
    let (answered, refused): (Vec<_>, Vec<_>) = answers.iter().partition(|a| a.get("result").is_some());
    assert_eq!(answered.len(), 1, "{answers:?}");
    assert_eq!(answered[0]["result"]["roots"][0]["uri"], "file:///home/alice", "{answers:?}");
    assert!(refused.iter().all(|a| a.get("error").is_some()), "{answers:?}");
    assert!(!answers.iter().any(|a| a.to_string().contains("/home/bob")), "{answers:?}");
    assert!(slow.await.unwrap().is_ok());
    shutdown.cancel();
    gateway.shutdown().await;
}

/// `per-conversation`: each of a caller's conversations (here, each downstream legacy
/// session of one API key) has a session of its own upstream, and one caller holds at
/// most a quarter of `max_sessions`: its third conversation, over a share of two, takes
/// the place of its least recently used one.
#[tokio::test]
async fn per_conversation_sessions_are_kept_apart_within_the_callers_share() {
    let probe = Arc::new(Probe::default());
    let running = keeper(&probe).await;
    let shutdown = CancellationToken::new();
    let mut config = legacy(&running, Some(SessionMode::PerConversation));
    config.max_sessions = Some(8);
    let (server, gateway) = started(config).await;
    let (first, second) = (caller(&server, "alice", &shutdown).await, caller(&server, "alice", &shutdown).await);
    remember(&first, "/home/alice/one").await;
    assert_eq!(recall(&second).await, "nothing", "two conversations, two sessions");
    remember(&second, "/home/alice/two").await;
    assert_eq!(recall(&first).await, "\"/home/alice/one\"");
    assert_eq!(gateway.statuses()[0].sessions, 2);
    let third = caller(&server, "alice", &shutdown).await;
    assert_eq!(recall(&third).await, "nothing");
    assert_eq!(gateway.statuses()[0].sessions, 2, "her share is two of eight");
    // The least recently used was the second conversation's: the first keeps its own.
    assert_eq!(recall(&first).await, "\"/home/alice/one\"");
    shutdown.cancel();
    gateway.shutdown().await;
    running.stop().await;
}

/// A full table makes room from the newcomer's own idle sessions before anyone else's:
/// Mallory's new conversation, with the table full and her share not, closes her own idle
/// session, not Alice's only one (which she would have to open again, her state lost).
#[tokio::test]
async fn a_full_table_makes_room_from_the_callers_own_idle_sessions_first() {
    let probe = Arc::new(Probe::default());
    let running = keeper(&probe).await;
    let shutdown = CancellationToken::new();
    let mut config = legacy(&running, Some(SessionMode::PerConversation));
    config.max_sessions = Some(8); // a share of two each
    let (server, gateway) = started(config).await;
    // Alice first (the least recently used), then three others with two each: full.
    let alice = caller(&server, "alice", &shutdown).await;
    remember(&alice, "/home/alice").await;
    let mallory = caller(&server, "mallory", &shutdown).await;
    remember(&mallory, "first").await;
    for name in ["bob", "bob", "carol", "carol", "dave", "dave"] {
        remember(&caller(&server, name, &shutdown).await, name).await;
    }
    assert_eq!(gateway.statuses()[0].sessions, 8);
    // Mallory's second conversation: within her share, the table full.
    let again = caller(&server, "mallory", &shutdown).await;
    assert_eq!(recall(&again).await, "nothing");
    assert_eq!(gateway.statuses()[0].sessions, 8);
    assert_eq!(recall(&alice).await, "\"/home/alice\"", "Alice's session gave way to Mallory's");
    assert_eq!(recall(&mallory).await, "nothing", "Mallory's own idle session gave way");
    shutdown.cancel();
    gateway.shutdown().await;
    running.stop().await;
}
