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
    let mut server = RedisServer::start();
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

    // Redis down: each replica limits on its own rather than refusing or waiting.
    server.stop();
    let started = std::time::Instant::now();
    assert_eq!(allowed(&[&a], "cy", None, 20).await, 5);
    assert_eq!(allowed(&[&b], "cy", None, 20).await, 5);
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
}
