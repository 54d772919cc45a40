//! The Redis context store against a real `redis-server` on a loopback port (Debian's
//! `redis-server` package; `scripts/test` and `.ci/run` install it): the same rules as
//! the in-memory store, checked by one suite run on both; shared by every store on
//! the server (two replicas see one context); and what happens when Redis goes away.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tenet_protocol::context::{ContextOp, Expect};
use tenet_redis::test_support::{self as support, RedisServer};
use tenet_redis::{Redis, RedisConfig, RedisContextStore};
use tenet_server::store::{ContextError, ContextKey, ContextLimits, ContextStore, MemoryContextStore};

fn key(owner: &str, id: &str) -> ContextKey {
    ContextKey { owner: owner.into(), id: id.parse().unwrap() }
}

fn set(k: &str, value: serde_json::Value, expect: Expect) -> ContextOp {
    ContextOp::Set { key: k.into(), value, expect }
}

fn store_on(server: &RedisServer, limits: ContextLimits) -> RedisContextStore {
    RedisContextStore::new(Redis::connect(RedisConfig::new(server.url())).unwrap(), limits)
}

/// The rules every context store keeps, on `store` (fresh, with the default limits but
/// a per-context bound of 200 bytes).
async fn the_rules(store: &dyn ContextStore) {
    let k = key("ann", "conv-1");
    // Versions grow; compare-and-set holds.
    let v1 = store.apply(&k, None, &[set("a", json!(1), Expect::Absent)]).await.unwrap()[0].unwrap();
    let refused = store.apply(&k, None, &[set("a", json!(2), Expect::Absent)]).await.unwrap_err();
    assert!(
        matches!(&refused, ContextError::Conflict { key, found: Some(f), .. } if key == "a" && *f == v1),
        "{refused}"
    );
    let v2 = store.apply(&k, None, &[set("a", json!(2), Expect::Version(v1))]).await.unwrap()[0].unwrap();
    assert!(v2 > v1);
    assert_eq!(store.get(&k, "a").await.unwrap().unwrap().value, json!(2));
    // A batch is all or nothing.
    let batch = [set("b", json!("x"), Expect::Any), ContextOp::Delete { key: "a".into(), expect: Expect::Version(v1) }];
    assert!(store.apply(&k, None, &batch).await.is_err());
    assert!(store.get(&k, "b").await.unwrap().is_none(), "nothing of the failed batch");
    // Merge patches (RFC 7396), also several on one key in one batch.
    let merge = |patch| ContextOp::Merge { key: "m".into(), patch };
    store
        .apply(&k, None, &[merge(json!({"x": 1, "y": {"z": 2}})), merge(json!({"y": {"w": 3}, "x": null}))])
        .await
        .unwrap();
    assert_eq!(store.get(&k, "m").await.unwrap().unwrap().value, json!({"y": {"z": 2, "w": 3}}));
    // Values keep their JSON exactly (big integers, empty arrays and objects, unicode).
    let exact = json!({"big": 9_007_199_254_740_993_u64, "empty": [], "obj": {}, "text": "ø/\"\n"});
    store.apply(&k, None, &[set("exact", exact.clone(), Expect::Any)]).await.unwrap();
    assert_eq!(store.get(&k, "exact").await.unwrap().unwrap().value, exact);
    // The size bound: a write past it is refused, and one that shrinks always applies.
    let full = store.apply(&k, None, &[set("big", json!("x".repeat(300)), Expect::Any)]).await.unwrap_err();
    assert!(matches!(full, ContextError::Full { limit: 200, .. }), "{full}");
    // Every entry; another owner's context with the same id is another context.
    let all = store.entries(&k).await.unwrap();
    assert_eq!(all.keys().collect::<Vec<_>>(), ["a", "exact", "m"]);
    assert!(store.entries(&key("bob", "conv-1")).await.unwrap().is_empty());
    // Removing everything, then writing again: no version comes back.
    let gone: Vec<ContextOp> = all.keys().map(|k| ContextOp::Delete { key: k.clone(), expect: Expect::Any }).collect();
    store.apply(&k, None, &gone).await.unwrap();
    assert!(store.entries(&k).await.unwrap().is_empty());
    let again = store.apply(&k, None, &[set("a", json!(1), Expect::Absent)]).await.unwrap()[0].unwrap();
    assert!(again > v2, "{again} after {v2}");
}

fn small() -> ContextLimits {
    ContextLimits { max_bytes: 200, ..ContextLimits::default() }
}

#[tokio::test]
async fn the_redis_store_keeps_the_rules_of_the_memory_store() {
    the_rules(&MemoryContextStore::new(small())).await;
    let server = RedisServer::start();
    the_rules(&store_on(&server, small())).await;
}

#[tokio::test]
async fn a_pool_of_connections_takes_them_in_turn_and_keeps_the_rules() {
    let server = RedisServer::start();
    let redis = Redis::connect(RedisConfig { pool_size: 3, ..RedisConfig::new(server.url()) }).unwrap();
    let store = RedisContextStore::new(redis.clone(), small());
    the_rules(&store).await;
    // Every connection of the pool was made and used; `redis-cli` itself is one more.
    let clients = server.cli(&["CLIENT", "LIST"]).unwrap();
    assert_eq!(clients.lines().count(), 4, "{clients}");
    let used = clients.lines().filter(|line| !line.contains("cmd=client")).filter(|l| !l.contains("cmd=NULL"));
    assert_eq!(used.count(), 3, "each pooled connection ran commands: {clients}");
}

#[tokio::test]
async fn two_replicas_share_one_context_and_concurrent_compare_and_sets_lose_nothing() {
    let server = RedisServer::start();
    let replicas =
        [Arc::new(store_on(&server, ContextLimits::default())), Arc::new(store_on(&server, ContextLimits::default()))];
    let k = key("", "counter");
    replicas[0].apply(&k, None, &[set("n", json!(0), Expect::Any)]).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, k) = (replicas[i % 2].clone(), k.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                loop {
                    let now = store.get(&k, "n").await.unwrap().unwrap();
                    let next = json!(now.value.as_i64().unwrap() + 1);
                    match store.apply(&k, None, &[set("n", next, Expect::Version(now.version))]).await {
                        Ok(_) => break,
                        Err(ContextError::Conflict { .. }) => tokio::task::yield_now().await,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(replicas[1].get(&k, "n").await.unwrap().unwrap().value, json!(200), "no increment was lost");
    // Plain writes and merges from both at once all land (retried inside the store).
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, k) = (replicas[i % 2].clone(), k.clone());
        tasks.push(tokio::spawn(async move {
            let patch = json!({ format!("w{i}"): i });
            store.apply(&k, None, &[ContextOp::Merge { key: "merged".into(), patch }]).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let merged = replicas[0].get(&k, "merged").await.unwrap().unwrap().value;
    assert_eq!(merged.as_object().unwrap().len(), 8, "{merged}");
}

#[tokio::test]
async fn a_context_expires_when_unused_and_lives_while_used() {
    let server = RedisServer::start();
    let store = store_on(&server, ContextLimits { ttl: Duration::from_millis(600), ..ContextLimits::default() });
    let (used, idle) = (key("", "used"), key("", "idle"));
    store.apply(&used, None, &[set("k", json!(1), Expect::Any)]).await.unwrap();
    store.apply(&idle, None, &[set("k", json!(1), Expect::Any)]).await.unwrap();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(store.get(&used, "k").await.unwrap().is_some(), "a read keeps it");
    }
    assert!(store.get(&idle, "k").await.unwrap().is_none(), "expired");
    assert_eq!(server.keys("tenet:ctx:*idle*"), 0, "nothing of it left in Redis");
}

#[tokio::test]
async fn with_redis_gone_a_request_fails_at_once_with_a_clear_error_and_it_recovers() {
    let mut server = RedisServer::start();
    let config = RedisConfig { timeout: Duration::from_millis(500), ..RedisConfig::new(server.url()) };
    let redis = Redis::connect(config).unwrap();
    let store = RedisContextStore::new(redis.clone(), ContextLimits::default());
    let k = key("", "k");
    let before = store.apply(&k, None, &[set("a", json!(1), Expect::Any)]).await.unwrap()[0].unwrap();
    assert_eq!(server.keys("tenet:ctx:*"), 1, "one key per context: its entries and its byte count live as one");
    server.stop();
    let started = std::time::Instant::now();
    let e = store.get(&k, "a").await.unwrap_err();
    assert!(matches!(e, ContextError::Unavailable(_)), "{e}");
    assert!(e.to_string().contains("context store is unavailable"), "{e}");
    // At once: a refused connection is an answer, so well under the 500 ms timeout the
    // store would otherwise wait for (a margin of 250 ms for a loaded machine).
    assert!(started.elapsed() < Duration::from_millis(250), "{:?}", started.elapsed());
    assert!(redis.ping().await.is_err());
    // Back, empty (it kept nothing on disk): the connection is made again on its own.
    server.restart();
    let mut back = false;
    for _ in 0..50 {
        if redis.ping().await.is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "reconnected");
    assert!(store.get(&k, "a").await.unwrap().is_none(), "a restarted Redis kept nothing");
    let after = store.apply(&k, None, &[set("a", json!(2), Expect::Any)]).await.unwrap()[0].unwrap();
    assert!(after > before, "versions do not start over with an empty Redis: {after} after {before}");
}

#[tokio::test]
async fn a_store_on_a_port_where_nothing_listens_is_unavailable_not_hanging() {
    let config = RedisConfig {
        timeout: Duration::from_millis(300),
        ..RedisConfig::new(format!("redis://127.0.0.1:{}/0", support::free_port()))
    };
    let store = RedisContextStore::new(Redis::connect(config).unwrap(), ContextLimits::default());
    let started = std::time::Instant::now();
    let e = store.apply(&key("", "k"), None, &[set("a", json!(1), Expect::Any)]).await.unwrap_err();
    assert!(matches!(e, ContextError::Unavailable(_)), "{e}");
    // Not hanging: the 300 ms timeout bounds it, plus a margin for a loaded machine.
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
}

/// `n` contexts of `caller` (its owner and its share), each holding `value` under "k".
async fn fill(store: &RedisContextStore, caller: &str, ids: std::ops::Range<usize>, value: &serde_json::Value) {
    for n in ids {
        let k = key(caller, &format!("c{n}"));
        store.apply(&k, Some(caller), &[set("k", value.clone(), Expect::Any)]).await.unwrap();
    }
}

async fn held(store: &RedisContextStore, caller: &str, ids: std::ops::Range<usize>) -> Vec<usize> {
    let mut kept = Vec::new();
    for n in ids {
        if store.get(&key(caller, &format!("c{n}")), "k").await.unwrap().is_some() {
            kept.push(n);
        }
    }
    kept
}

#[tokio::test]
async fn one_callers_flood_of_contexts_deletes_only_its_own_oldest() {
    let server = RedisServer::start();
    let limits = ContextLimits { max_caller_contexts: 5, ..ContextLimits::default() };
    let store = store_on(&server, limits);
    fill(&store, "victim", 0..3, &json!(1)).await;
    fill(&store, "flood", 0..40, &json!(1)).await;
    assert_eq!(held(&store, "flood", 0..40).await, [35, 36, 37, 38, 39], "its newest five");
    assert_eq!(held(&store, "victim", 0..3).await, [0, 1, 2], "another caller's stay");
    assert_eq!(server.keys("tenet:ctx:*"), 8, "the rest deleted from Redis, not left to its eviction policy");
    // Without a share (no principal, no address), only the total bounds a caller.
    for n in 0..8 {
        store.apply(&key("", &format!("u{n}")), None, &[set("k", json!(1), Expect::Any)]).await.unwrap();
    }
    assert_eq!(server.keys("tenet:ctx:*"), 16);
}

#[tokio::test]
async fn one_callers_bytes_are_bounded_and_past_the_total_the_biggest_holder_gives_way() {
    let server = RedisServer::start();
    let big = json!("x".repeat(4000));
    // Each context counts its 4 003 bytes and about 550 of bookkeeping: three fit in
    // 15 000 and seven in 32 000, not one more.
    let limits = ContextLimits {
        max_bytes: 8000,
        max_caller_bytes: 15_000,
        max_total_bytes: 32_000,
        ..ContextLimits::default()
    };
    let store = store_on(&server, limits);
    fill(&store, "big", 0..10, &big).await;
    assert_eq!(held(&store, "big", 0..10).await, [7, 8, 9], "three fit its share of bytes");
    fill(&store, "mid", 0..3, &big).await;
    fill(&store, "one", 0..1, &big).await;
    assert_eq!(server.keys("tenet:ctx:*"), 7);
    // An eighth takes the total over; its caller holds no other: one of the two callers
    // holding the most gives up its oldest, not the caller holding one.
    fill(&store, "new", 0..1, &big).await;
    assert_eq!(server.keys("tenet:ctx:*"), 7);
    assert_eq!(held(&store, "one", 0..1).await, [0]);
    assert_eq!(held(&store, "new", 0..1).await, [0]);
    let (b, m) = (held(&store, "big", 0..10).await.len(), held(&store, "mid", 0..3).await.len());
    assert_eq!(b + m, 5, "big {b}, mid {m}");
}

#[tokio::test]
async fn a_hundred_thousand_contexts_from_one_caller_leave_its_share_in_redis() {
    let server = RedisServer::start();
    let store = Arc::new(store_on(&server, ContextLimits::default()));
    fill(&store, "victim", 0..2, &json!(1)).await;
    let started = std::time::Instant::now();
    let mut writers = Vec::new();
    for w in 0..16 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for n in (w..100_000).step_by(16) {
                let k = key("flood", &format!("c{n}"));
                store.apply(&k, Some("flood"), &[set("k", json!(n), Expect::Any)]).await.unwrap();
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let limit = ContextLimits::default().max_caller_contexts;
    assert_eq!(server.keys("tenet:ctx:*"), limit + 2, "its share and the victim's two ({:?})", started.elapsed());
    assert_eq!(held(&store, "victim", 0..2).await, [0, 1]);
}

#[tokio::test]
async fn expired_contexts_leave_the_bookkeeping_too() {
    let server = RedisServer::start();
    let limits = ContextLimits { ttl: Duration::from_millis(300), max_caller_contexts: 4, ..ContextLimits::default() };
    let store = store_on(&server, limits);
    fill(&store, "a", 0..4, &json!(1)).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Its four expired: four new ones fit its share without deleting any of them.
    fill(&store, "a", 4..8, &json!(1)).await;
    assert_eq!(held(&store, "a", 0..8).await, [4, 5, 6, 7]);
    assert_eq!(server.cli(&["ZCARD", "tenet:ctx-all"]).as_deref(), Some("4"), "the expired were forgotten");
}
