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

/// A gateway in front of an upstream (legacy, over HTTP) whose `remember`/`recall` keep
/// values in the conversation of the session they are called in, and whose `hang` waits
/// until cancelled; its table as `tune` leaves it.
struct Keeper {
    probe: Arc<Probe>,
    running: Running,
    server: Server,
    gateway: Gateway,
    shutdown: CancellationToken,
}

impl Keeper {
    async fn start(session: Option<SessionMode>, tune: impl FnOnce(&mut UpstreamConfig)) -> Self {
        let probe = Arc::new(Probe::default());
        let upstream_server = support::upstream_server("keeper", &probe)
            .tool(remember_tool())
            .tool(recall_tool())
            .tool(support::hang_tool(&probe))
            .build()
            .unwrap();
        let running = Running::start(upstream_server).await;
        let mut config = legacy(&running.url(), session);
        tune(&mut config);
        let (server, gateway) = started(config).await;
        Self { probe, running, server, gateway, shutdown: CancellationToken::new() }
    }

    /// A caller with a principal (an API key) named `name`.
    async fn caller(&self, name: &str) -> Client {
        caller(&self.server, name, &self.shutdown).await
    }

    /// The callers' own sessions open at the upstream.
    fn sessions(&self) -> usize {
        self.gateway.statuses()[0].sessions
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.gateway.shutdown().await;
        self.running.stop().await;
    }
}

/// An upstream at `url` speaking the legacy protocol, open to every caller.
fn legacy(url: &str, session: Option<SessionMode>) -> UpstreamConfig {
    let mut config = upstream("up", url);
    config.protocol = Some("legacy".to_owned());
    config.session = session;
    config.open = true;
    config
}

async fn started(config: UpstreamConfig) -> (Server, Gateway) {
    let server = gateway_server();
    let gateway = Gateway::start(server.clone(), vec![config], quick());
    assert!(gateway.wait_ready(STEP).await, "the upstream came up");
    (server, gateway)
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

#[tokio::test]
async fn each_caller_has_a_session_of_its_own_upstream_unless_the_table_shares_one() {
    // The default for a legacy upstream: a session per caller.
    let k = Keeper::start(None, |_| {}).await;
    let (alice, bob) = (k.caller("alice").await, k.caller("bob").await);
    remember(&alice, "/home/alice").await;
    assert_eq!(recall(&bob).await, "nothing", "Bob read what Alice's session keeps");
    remember(&bob, "/home/bob").await;
    assert_eq!(recall(&alice).await, "\"/home/alice\"");
    assert_eq!(recall(&bob).await, "\"/home/bob\"");
    let status = &k.gateway.statuses()[0];
    assert_eq!((status.session, status.sessions), (Some("per-caller"), 2));
    k.gateway.shutdown().await;
    assert_eq!(k.sessions(), 0, "closed with the gateway");
    k.stop().await;

    // `shared`, as the operator chose it: one session for everyone, as before.
    let k = Keeper::start(Some(SessionMode::Shared), |_| {}).await;
    let (carol, dave) = (k.caller("carol").await, k.caller("dave").await);
    remember(&carol, "/home/carol").await;
    assert_eq!(recall(&dave).await, "\"/home/carol\"", "one session for all");
    let status = &k.gateway.statuses()[0];
    assert_eq!((status.session, status.sessions), (Some("shared"), 0));
    k.stop().await;
}

#[tokio::test]
async fn a_full_table_of_sessions_gives_way_when_idle_and_refuses_when_busy() {
    let k = Keeper::start(None, |config| config.max_sessions = Some(1)).await;
    let (alice, bob) = (k.caller("alice").await, k.caller("bob").await);

    // Alice's idle session gives way to Bob's: her next call opens a new one, which
    // holds nothing of the old.
    remember(&alice, "/home/alice").await;
    remember(&bob, "/home/bob").await;
    assert_eq!(k.sessions(), 1);
    assert_eq!(recall(&alice).await, "nothing");

    // While Alice's call runs, her session is not idle: Bob waits, then is refused
    // with an error that says why; Alice's call is not disturbed.
    let hanging = tokio::spawn({
        let alice = alice.clone();
        async move { alice.call_tool("up__hang", json!({})).await }
    });
    support::until("Alice's call runs upstream", || k.probe.hanging.load(std::sync::atomic::Ordering::SeqCst)).await;
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
    k.stop().await;
}

#[tokio::test]
async fn a_callers_idle_session_is_closed_after_its_timeout() {
    let k = Keeper::start(None, |config| config.session_idle_timeout = Some(1)).await;
    let alice = k.caller("alice").await;
    remember(&alice, "/home/alice").await;
    assert_eq!(k.sessions(), 1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while k.sessions() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the idle session was not closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Its next call opens a new session, which holds nothing of the old.
    assert_eq!(recall(&alice).await, "nothing");
    k.stop().await;
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
    let (server, gateway) = started(legacy(&hand.url(), None)).await;
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
    let k = Keeper::start(Some(SessionMode::PerConversation), |config| config.max_sessions = Some(8)).await;
    let (first, second) = (k.caller("alice").await, k.caller("alice").await);
    remember(&first, "/home/alice/one").await;
    assert_eq!(recall(&second).await, "nothing", "two conversations, two sessions");
    remember(&second, "/home/alice/two").await;
    assert_eq!(recall(&first).await, "\"/home/alice/one\"");
    assert_eq!(k.sessions(), 2);
    let third = k.caller("alice").await;
    assert_eq!(recall(&third).await, "nothing");
    assert_eq!(k.sessions(), 2, "her share is two of eight");
    // The least recently used was the second conversation's: the first keeps its own.
    assert_eq!(recall(&first).await, "\"/home/alice/one\"");
    k.stop().await;
}

/// A full table makes room from the newcomer's own idle sessions before anyone else's:
/// Mallory's new conversation, with the table full and her share not, closes her own idle
/// session, not Alice's only one (which she would have to open again, her state lost).
#[tokio::test]
async fn a_full_table_makes_room_from_the_callers_own_idle_sessions_first() {
    // A share of two each.
    let k = Keeper::start(Some(SessionMode::PerConversation), |config| config.max_sessions = Some(8)).await;
    // Alice first (the least recently used), then three others with two each: full.
    let alice = k.caller("alice").await;
    remember(&alice, "/home/alice").await;
    let mallory = k.caller("mallory").await;
    remember(&mallory, "first").await;
    for name in ["bob", "bob", "carol", "carol", "dave", "dave"] {
        remember(&k.caller(name).await, name).await;
    }
    assert_eq!(k.sessions(), 8);
    // Mallory's second conversation: within her share, the table full.
    let again = k.caller("mallory").await;
    assert_eq!(recall(&again).await, "nothing");
    assert_eq!(k.sessions(), 8);
    assert_eq!(recall(&alice).await, "\"/home/alice\"", "Alice's session gave way to Mallory's");
    assert_eq!(recall(&mallory).await, "nothing", "Mallory's own idle session gave way");
    k.stop().await;
}

/// One owner opens sessions at most four at once, then one every two seconds: of
/// Mallory's seven new conversations at once, four open at once, two wait their turn,
/// and the last, whose turn would come after the five seconds a caller waits, is
/// refused with an error that says so. Alice opens hers at once meanwhile. Before, one
/// caller could open (and an upstream that keeps crashing restart) process after process.
#[tokio::test]
async fn one_owner_opens_sessions_at_a_bounded_pace_and_others_are_not_slowed() {
    let k = Keeper::start(Some(SessionMode::PerConversation), |config| config.max_sessions = Some(64)).await;
    let mut mallory = Vec::new();
    for _ in 0..7 {
        mallory.push(k.caller("mallory").await);
    }
    let started = tokio::time::Instant::now();
    let calls = futures_util::future::join_all(
        mallory
            .iter()
            .map(|c| tokio::time::timeout(Duration::from_secs(20), c.call_tool("up__recall", json!({"key": "home"})))),
    );
    let alice = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let alice = k.caller("alice").await;
        let at = tokio::time::Instant::now();
        assert_eq!(recall(&alice).await, "nothing");
        at.elapsed()
    };
    let (results, alice_took) = tokio::join!(calls, alice);
    assert!(alice_took < Duration::from_secs(1), "Alice waited {alice_took:?} for Mallory's pace");
    let (mut opened, mut refused) = (0, Vec::new());
    for result in results {
        let result = result.expect("in time").unwrap();
        if result.is_error == Some(true) { refused.push(support::text(&result)) } else { opened += 1 }
    }
    assert_eq!((opened, refused.len()), (6, 1), "{refused:?}");
    assert!(refused[0].contains("faster than one every 2 s") && refused[0].contains("try again in"), "{}", refused[0]);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(3500) && took < Duration::from_secs(8), "{took:?}");
    assert_eq!(k.sessions(), 7, "six of Mallory's and Alice's");
    k.stop().await;
}
