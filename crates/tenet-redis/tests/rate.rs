//! Rate limits shared on a real `redis-server`: two replicas' limiters take from one
//! bucket per client, so a client gets its rate in total; while Redis is down each
//! replica limits on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use tenet_redis::test_support::RedisServer;
use tenet_redis::{Redis, RedisConfig, RedisRateStore};
use tenet_server::{Rate, RateLimiter, RateLimits, RateStore};

fn limiter(store: &Arc<RedisRateStore>) -> RateLimiter {
    let limits = RateLimits {
        default: Some(Rate { per_second: 5.0, burst: 5 }),
        overrides: vec![("tools/call:slow".into(), Rate { per_second: 1.0, burst: 1 })],
    };
    RateLimiter::new(limits).shared(store.clone() as Arc<dyn RateStore>)
}

async fn allowed(limiters: &[&RateLimiter], client: &str, tool: Option<&str>, tries: usize) -> usize {
    let mut allowed = 0;
    for n in 0..tries {
        if limiters[n % limiters.len()].take(client, "tools/call", tool).await.is_ok() {
            allowed += 1;
        }
    }
    allowed
}

#[tokio::test]
async fn replicas_share_one_bucket_per_client_and_limit() {
    let server = RedisServer::start();
    let config = RedisConfig { timeout: Duration::from_millis(300), ..RedisConfig::new(server.url()) };
    let store = Arc::new(RedisRateStore::new(Redis::connect(config).unwrap()));
    let (a, b) = (limiter(&store), limiter(&store));

    assert_eq!(allowed(&[&a, &b], "ann", None, 20).await, 5, "the burst, in total across both replicas");
    let wait = b.take("ann", "tools/call", None).await.unwrap_err();
    assert!(wait > Duration::ZERO && wait <= Duration::from_millis(200), "{wait:?}");
    assert_eq!(allowed(&[&a, &b], "bob", None, 20).await, 5, "another client has its own bucket");
    assert_eq!(allowed(&[&b, &a], "ann", Some("slow"), 4).await, 1, "a tool's own limit, its own bucket");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let refilled = allowed(&[&a, &b], "ann", None, 20).await;
    assert!((2..=3).contains(&refilled), "refilled at 5/s over 450 ms (and the time the takes took): {refilled}");
    assert!(server.keys("tenet:rate:*") >= 3, "one bucket per client and limit");
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(server.keys("tenet:rate:*"), 0, "a bucket is gone once it would be full again");

    // Redis not answering (paused: every command waits, as on a hung server or a lost
    // network): each replica limits on its own rather than refusing or waiting. Only a
    // replica's first request waits for the store, up to its 300 ms timeout; then the
    // replica leaves the store alone for a while, so its other 19 do not wait. Two
    // waits and 38 local takes stay under 1.5 s on a loaded machine; waiting on every
    // request would take 40 × 300 ms = 12 s.
    assert_eq!(server.cli(&["CLIENT", "PAUSE", "30000", "ALL"]).as_deref(), Some("OK"));
    let started = std::time::Instant::now();
    let on_each = (allowed(&[&a], "cy", None, 20).await, allowed(&[&b], "cy", None, 20).await);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(2 * 300), "each replica's first request waited for the store: {took:?}");
    assert!(took < Duration::from_millis(1500), "the other requests did not wait: {took:?}");
    assert_eq!(on_each, (5, 5), "each replica's own burst");
}
