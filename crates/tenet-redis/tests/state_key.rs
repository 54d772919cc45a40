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
