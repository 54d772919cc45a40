//! The state key replicas agree on through the store: one for every replica of a
//! deployment, another for another prefix, kept across restarts of the replicas.

#![allow(clippy::unwrap_used)]

use tenet_redis::test_support::RedisServer;
use tenet_redis::{RedisConfig, StoreError, agreed_state_secret};

#[test]
fn replicas_of_one_deployment_agree_on_one_secret() {
    let redis = RedisServer::start();
    let config = RedisConfig::new(redis.url());
    let first = agreed_state_secret(&config).unwrap();
    assert_eq!(first.len(), 64, "32 random bytes, hex: {first}");
    assert_eq!(agreed_state_secret(&config).unwrap(), first, "the second replica reads the first one's");
    let other = RedisConfig { prefix: "other:".into(), ..config };
    assert_ne!(agreed_state_secret(&other).unwrap(), first, "another deployment, another secret");
    assert_eq!(redis.cli(&["TTL", "tenet:state-key"]).as_deref(), Some("-1"), "it never expires");
}

#[test]
fn a_store_that_does_not_answer_is_an_error_in_time() {
    let port = tenet_redis::test_support::free_port();
    let config = RedisConfig::new(format!("redis://127.0.0.1:{port}"));
    let started = std::time::Instant::now();
    assert!(matches!(agreed_state_secret(&config), Err(StoreError::Unavailable(_))));
    assert!(started.elapsed() < config.connect_timeout * 2, "{:?}", started.elapsed());
}

#[test]
fn a_stored_secret_too_short_to_sign_with_is_refused() {
    let redis = RedisServer::start();
    redis.cli(&["SET", "tenet:state-key", "short"]).unwrap();
    let e = agreed_state_secret(&RedisConfig::new(redis.url())).unwrap_err();
    assert!(e.to_string().contains("too few for a signing key"), "{e}");
}

/// Issue 59: a store that lost its data (restarted without persistence, as the replicas'
/// compose file runs it) gets the secret back from the first replica to check, and a
/// replica that finds another one there (written by a replica started since) is told it.
#[test]
fn a_secret_the_store_lost_is_written_back_and_one_written_since_is_read() {
    let mut redis = RedisServer::start();
    let config = RedisConfig::new(redis.url());
    let ours = agreed_state_secret(&config).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = tenet_redis::Redis::connect(config.clone()).unwrap();
    assert_eq!(runtime.block_on(store.reassert_state_secret(&ours)).unwrap(), ours, "nothing lost: ours");
    redis.restart();
    assert_eq!(redis.keys("tenet:state-key"), 0, "the restarted store holds nothing");
    let again = runtime.block_on(async {
        // The pooled connection finds the store gone once, then reconnects.
        for _ in 0..50 {
            if let Ok(agreed) = store.reassert_state_secret(&ours).await {
                return agreed;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the restarted store never answered")
    });
    assert_eq!(again, ours, "written back");
    assert_eq!(redis.cli(&["GET", "tenet:state-key"]).as_deref(), Some(ours.as_str()));
    redis.cli(&["FLUSHALL"]).unwrap();
    let theirs = agreed_state_secret(&config).unwrap();
    assert_ne!(theirs, ours, "a replica started after the loss wrote a new one");
    assert_eq!(runtime.block_on(store.reassert_state_secret(&ours)).unwrap(), theirs, "the one in the store wins");
    redis.cli(&["SET", "tenet:state-key", "short"]).unwrap();
    let e = runtime.block_on(store.reassert_state_secret(&ours)).unwrap_err();
    assert!(e.to_string().contains("too few for a signing key"), "{e}");
}
