//! The Redis session store against a real `redis-server` on a loopback port: the same
//! rules as the in-memory store (one suite run on both), letters between replicas'
//! inboxes (also across a Redis restart), and what happens when Redis goes away.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::StreamExt;
use tenet_protocol::{ClientCapabilities, Implementation, LoggingLevel, ProtocolVersion};
use tenet_redis::test_support::RedisServer;
use tenet_redis::{Redis, RedisConfig, RedisSessionStore};
use tenet_server::store::{
    Announcement, Heard, Letter, LoggedAfter, LoggedEvent, MemorySessionStore, SessionChange, SessionOwner,
    SessionRecord, SessionState, SessionStore, TaskRecord, TaskWrite,
};

const IDLE: Duration = Duration::from_secs(60);

fn store_on(server: &RedisServer) -> RedisSessionStore {
    RedisSessionStore::new(Redis::connect(RedisConfig::new(server.url())).unwrap())
}

fn record() -> SessionRecord {
    let capabilities: ClientCapabilities = serde_json::from_value(serde_json::json!({"elicitation": {}})).unwrap();
    SessionRecord {
        version: ProtocolVersion::V2025_11_25,
        capabilities,
        client_info: Implementation::new("client", "1.2"),
        owner: Some(SessionOwner { subject: Some("ann".into()) }),
        state: SessionState {
            level: LoggingLevel::Warning,
            subscriptions: BTreeSet::from(["file:///x y".to_owned()]),
            conversation: false,
            revision: 0,
            tasks: BTreeSet::new(),
        },
        holders: BTreeSet::from(["r1".to_owned()]),
    }
}

/// The rules every session store keeps, on `store` (fresh).
async fn the_rules(store: &dyn SessionStore) {
    let written = record();
    assert!(store.create("s1", &written, IDLE).await.unwrap());
    assert!(!store.create("s1", &record(), IDLE).await.unwrap(), "an id taken is never made again");
    assert_eq!(store.touch("s1", IDLE).await.unwrap().unwrap(), written, "read back as written, state included");

    let changes = [
        SessionChange::Level(LoggingLevel::Error),
        SessionChange::Subscribe("mem://a".into()),
        SessionChange::Unsubscribe("file:///x y".into()),
    ];
    let first = store.change("s1", &changes).await.unwrap().unwrap().state.revision;
    let second = store.change("s1", &[SessionChange::Subscribe("mem://b".into())]).await.unwrap().unwrap();
    assert!(second.state.revision > first, "revisions grow");
    assert_eq!(second.state.level, LoggingLevel::Error, "a change answers with the whole state");
    assert!(store.hold("s1", "r2").await.unwrap());
    let got = store.touch("s1", IDLE).await.unwrap().unwrap();
    assert_eq!(got.state.revision, second.state.revision, "holding is no change of state");
    assert_eq!(got.holders, BTreeSet::from(["r1".to_owned(), "r2".to_owned()]));
    let made = [SessionChange::Conversation, SessionChange::Task("t9".into())];
    let state = store.change("s1", &made).await.unwrap().unwrap().state;
    assert_eq!(state.level, LoggingLevel::Error);
    assert_eq!(state.subscriptions, BTreeSet::from(["mem://a".to_owned(), "mem://b".to_owned()]));
    assert!(state.conversation);
    assert_eq!(state.tasks, BTreeSet::from(["t9".to_owned()]), "the session's 2025-11-25 tasks");

    let holders = store.remove("s1").await.unwrap().expect("removed");
    assert_eq!(holders, BTreeSet::from(["r1".to_owned(), "r2".to_owned()]), "who to tell");
    assert_eq!(store.remove("s1").await.unwrap(), None);
    assert!(store.touch("s1", IDLE).await.unwrap().is_none());
    assert_eq!(store.change("s1", &changes).await.unwrap(), None, "a change makes no session");
    assert!(!store.hold("s1", "r3").await.unwrap(), "nor does a holder");
    assert!(store.touch("s1", IDLE).await.unwrap().is_none());

    // Idle sessions expire; a touch keeps one alive.
    let short = Duration::from_millis(300);
    assert!(store.create("s2", &record(), short).await.unwrap());
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(store.touch("s2", short).await.unwrap().is_some(), "touched in time");
    }
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(store.touch("s2", short).await.unwrap().is_none(), "idle past its time");

    // Letters reach the replica they are for, in order; none is written for a replica
    // nobody reads as (a name a client made up, or one that stopped).
    let letter = |n: u8| Letter { session: "s".into(), message: format!("{{\"n\":{n}}}\n").into_bytes() };
    assert!(!store.send("r1", letter(0)).await.unwrap(), "nobody reads as r1 yet");
    let mut inbox = store.inbox("r1");
    let mut first = false;
    for _ in 0..100 {
        // The reader takes its name as it starts.
        first = store.send("r1", letter(1)).await.unwrap();
        if first {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(first, "the inbox's reader never started");
    assert!(!store.send("r2", letter(0)).await.unwrap());
    for n in 2..=3 {
        assert!(store.send("r1", letter(n)).await.unwrap());
    }
    for n in 1..=3 {
        let got = tokio::time::timeout(Duration::from_secs(5), inbox.next()).await.unwrap().unwrap();
        assert_eq!(got, letter(n));
    }

    // Tasks: a later write wins whatever the order they arrive in; whether the replica
    // running one lives is told with it.
    let task = |seq: u64, replica: &str, status: &str| TaskRecord {
        owner: Some("ann".into()),
        scopes: vec!["read".into()],
        replica: replica.into(),
        seq,
        task: serde_json::from_value(serde_json::json!({
            "taskId": "t1", "status": status, "createdAt": "2026-11-23T00:00:00Z",
            "lastUpdatedAt": "2026-11-23T00:00:00Z"
        }))
        .unwrap(),
        session: None,
    };
    assert_eq!(store.put_task("t1", &task(2, "r1", "completed"), IDLE).await.unwrap(), TaskWrite::Written);
    assert_eq!(store.put_task("t1", &task(1, "r1", "working"), IDLE).await.unwrap(), TaskWrite::Stale);
    let found = store.task("t1").await.unwrap().unwrap();
    assert_eq!((found.record.seq, found.runner_alive), (2, true), "r1 reads its inbox");
    assert_eq!(found.record, task(2, "r1", "completed"));
    store.put_task("t2", &task(1, "gone", "working"), IDLE).await.unwrap();
    assert!(!store.task("t2").await.unwrap().unwrap().runner_alive, "nobody reads as 'gone'");
    assert!(store.lives("r1").await.unwrap() && !store.lives("gone").await.unwrap());
    // Fencing: only at the seq read, only for a replica with no lease; then final.
    assert!(!store.fence_task("t1", 2, &task(2, "r1", "failed"), IDLE).await.unwrap(), "r1 lives");
    assert!(!store.fence_task("t2", 7, &task(1, "gone", "failed"), IDLE).await.unwrap(), "not the seq read");
    assert!(store.fence_task("t2", 1, &task(1, "gone", "failed"), IDLE).await.unwrap());
    assert_eq!(store.task("t2").await.unwrap().unwrap().record, task(1, "gone", "failed"));
    assert_eq!(store.put_task("t2", &task(9, "gone", "completed"), IDLE).await.unwrap(), TaskWrite::Fenced);
    assert!(!store.fence_task("t2", 1, &task(1, "gone", "failed"), IDLE).await.unwrap(), "fenced once");
    assert!(store.task("t3").await.unwrap().is_none());
    store.put_task("t4", &task(1, "r1", "working"), Duration::from_millis(100)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(store.task("t4").await.unwrap().is_none(), "expired");

    // SSE logs: events after an id, in order; bounded; a retried write is no harm; a
    // reader waits for the next event; the end is logged.
    let event = |seq: u64| LoggedEvent { seq, event: format!("id: {seq}\ndata: {{}}\n\n").into_bytes() };
    let none = Duration::ZERO;
    assert_eq!(store.events_after("s.1", 0, none).await.unwrap(), LoggedAfter::Unknown);
    for seq in 1..=3 {
        store.log_event("s.1", &event(seq), 100, IDLE).await.unwrap();
    }
    store.log_event("s.1", &event(3), 100, IDLE).await.unwrap();
    assert_eq!(store.events_after("s.1", 1, none).await.unwrap(), LoggedAfter::Events(vec![event(2), event(3)]));
    assert_eq!(store.events_after("s.1", 3, none).await.unwrap(), LoggedAfter::Events(Vec::new()));
    let waiting = store.events_after("s.1", 3, Duration::from_secs(5));
    let writing = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        store.log_event("s.1", &LoggedEvent { seq: 4, event: Vec::new() }, 100, IDLE).await.unwrap();
    };
    let (got, ()) = tokio::join!(waiting, writing);
    let LoggedAfter::Events(got) = got.unwrap() else { panic!("no events") };
    assert!(got.len() == 1 && got[0].is_end(), "{got:?}");
    // Ids never sent (after the newest, or the end's own) name nothing.
    assert_eq!(store.events_after("s.1", 4, none).await.unwrap(), LoggedAfter::Unknown);
    assert_eq!(store.events_after("s.1", 9, none).await.unwrap(), LoggedAfter::Unknown);
    assert_eq!(store.events_after("s.1", 3, none).await.unwrap(), LoggedAfter::Events(vec![got[0].clone()]));
    // A log keeps its last events only (Redis trims near the bound: many past it).
    for seq in 1..=400 {
        store.log_event("s.2", &event(seq), 10, IDLE).await.unwrap();
    }
    assert_eq!(store.events_after("s.2", 1, none).await.unwrap(), LoggedAfter::Evicted);
    let LoggedAfter::Events(last) = store.events_after("s.2", 399, none).await.unwrap() else { panic!() };
    assert_eq!(last, vec![event(400)]);

    // Announcements: every listener hears each, with the replica that made it.
    let announcement = Announcement::ResourceUpdated { uri: "file:///a".into() };
    assert_eq!(
        heard(store, &mut store.announcements(), &announcement).await,
        Heard { from: "r1".into(), announcement }
    );
}

/// Announces `announcement` as `r1` until `listener` hears it (it may be subscribing
/// still); what it heard.
async fn heard(
    store: &dyn SessionStore,
    listener: &mut futures_util::stream::BoxStream<'static, Heard>,
    announcement: &Announcement,
) -> Heard {
    let heard = async {
        loop {
            if store.announce("r1", announcement).await.is_ok()
                && let Ok(Some(heard)) = tokio::time::timeout(Duration::from_millis(100), listener.next()).await
            {
                return heard;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(15), heard).await.expect("the announcement was heard")
}

#[tokio::test]
async fn the_memory_store_keeps_the_rules() {
    the_rules(&*MemorySessionStore::new()).await;
}

#[tokio::test]
async fn the_redis_store_keeps_the_same_rules() {
    let server = RedisServer::start();
    let store = store_on(&server);
    the_rules(&store).await;
    assert_eq!(server.keys("tenet:sess:*"), 0, "no session left behind");
}

#[tokio::test]
async fn replicas_share_sessions_and_letters_survive_a_restart_of_redis() {
    let mut server = RedisServer::start();
    let (a, b) = (store_on(&server), store_on(&server));
    assert!(a.create("s", &record(), IDLE).await.unwrap());
    assert_eq!(b.change("s", &[SessionChange::Level(LoggingLevel::Debug)]).await.unwrap().unwrap().state.revision, 1);
    assert_eq!(a.touch("s", IDLE).await.unwrap().unwrap().state.level, LoggingLevel::Debug);

    let mut listener = a.announcements();
    let announcement = Announcement::ToolsChanged;
    assert_eq!(heard(&b, &mut listener, &announcement).await.announcement, announcement);
    let mut inbox = a.inbox("ra");
    for _ in 0..100 {
        if b.send("ra", Letter { session: "s".into(), message: b"1".to_vec() }).await.unwrap() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(tokio::time::timeout(Duration::from_secs(5), inbox.next()).await.unwrap().unwrap().message, b"1");

    // Redis restarts empty: sessions are gone (clients initialize again), and the
    // inbox reconnects by itself.
    server.restart();
    let mut back = false;
    for _ in 0..150 {
        // Answered once Redis is back, and delivered once the inbox took its name again.
        if b.send("ra", Letter { session: "s".into(), message: b"2".to_vec() }).await.unwrap_or(false) {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "Redis answers again, and the inbox reads again");
    let mut found = a.touch("s", IDLE).await;
    for _ in 0..50 {
        if found.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        found = a.touch("s", IDLE).await;
    }
    assert!(found.unwrap().is_none(), "a restarted Redis kept no session");
    let got = tokio::time::timeout(Duration::from_secs(15), inbox.next()).await.expect("the inbox reconnected");
    assert_eq!(got.unwrap().message, b"2");
    // The listener subscribed again by itself.
    assert_eq!(heard(&b, &mut listener, &announcement).await.announcement, announcement);
}

#[tokio::test]
async fn without_redis_every_call_fails_within_the_timeout() {
    let mut server = RedisServer::start();
    let config = RedisConfig { timeout: Duration::from_millis(300), ..RedisConfig::new(server.url()) };
    let store = RedisSessionStore::new(Redis::connect(config).unwrap());
    server.stop();
    let started = std::time::Instant::now();
    let e = store.touch("s", IDLE).await.unwrap_err();
    assert!(e.to_string().contains("unavailable"), "{e}");
    assert!(store.create("s", &record(), IDLE).await.is_err());
    assert!(store.change("s", &[SessionChange::Level(LoggingLevel::Info)]).await.is_err());
    assert!(store.send("r", Letter { session: "s".into(), message: Vec::new() }).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
}
