//! `tenet serve` state shared by replicas (the `[store]` table of the config file): the
//! Redis server that holds it, and the secret every replica signs `requestState` with.

use std::sync::Arc;
use std::time::Duration;

use tenet_redis::{Health, Redis, RedisConfig, RedisContextStore};
use tenet_server::ServerConfig;

/// The fewest characters a state secret may have.
const MIN_SECRET: usize = 16;

// Where replicas of one server keep what they share.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Store")]
pub struct StoreArgs {
    /// The Redis (or Valkey) server replicas share, `redis://[user:password@]host:port/db`
    /// or `unix:///path/to/redis.sock`: what replicas share is kept there (legacy
    /// sessions and their streams, tasks, conversations' contexts, rate limits). Unset:
    /// everything stays in this process.
    #[arg(id = "url", long = "store-url", value_name = "URL", env = "TENET_STORE_URL", hide_env_values = true)]
    pub url: Option<String>,
    /// Put before every key in the store, so that several deployments can share one.
    #[arg(
        id = "prefix",
        long = "store-prefix",
        value_name = "PREFIX",
        default_value = "tenet:",
        env = "TENET_STORE_PREFIX"
    )]
    pub prefix: String,
    /// Seconds one store operation may take; past it the request that needed it gets
    /// a clear error instead of waiting.
    #[arg(id = "command_timeout", long = "store-timeout", value_name = "SECONDS", default_value_t = 2.0, env = "TENET_STORE_TIMEOUT", value_parser = crate::parse::positive_seconds)]
    pub timeout: f64,
    /// How many connections to the store carry its commands, taken in turn (1 to 64).
    /// One pipelines every command sent at once and is enough for most loads.
    #[arg(id = "pool_size", long = "store-pool-size", value_name = "N", default_value_t = 1, env = "TENET_STORE_POOL_SIZE", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub pool_size: u16,
    /// The secret that signs `requestState` (2026-07-28 input rounds), at least 16
    /// characters: replicas behind one load balancer must share it, so that any of them
    /// continues a round another began. Unset: replicas given --store-url agree on one
    /// through the store by themselves; without a store, a random key per process.
    #[arg(long = "state-secret", value_name = "SECRET", env = "TENET_STATE_SECRET", hide_env_values = true)]
    pub state_secret: Option<String>,
    /// While the state secret rotates: the one it replaces, still accepted (give every
    /// replica the new secret with the old one here, then drop the old one).
    #[arg(
        long = "state-secret-previous",
        value_name = "SECRET",
        env = "TENET_STATE_SECRET_PREVIOUS",
        hide_env_values = true
    )]
    pub state_secret_previous: Option<String>,
}

impl StoreArgs {
    /// Puts the shared store and the state key into `config`; the connection to the
    /// store, if there is one.
    ///
    /// # Errors
    /// A URL that does not parse, a secret too short, or a previous secret without a
    /// current one; the message names the option.
    pub fn apply(&self, config: &mut ServerConfig) -> Result<Option<SharedStore>, String> {
        let secret = |name: &str, value: &str| {
            if value.chars().count() < MIN_SECRET {
                Err(format!("--{name}: the secret must be at least {MIN_SECRET} characters"))
            } else {
                Ok(())
            }
        };
        match (&self.state_secret, &self.state_secret_previous) {
            (None, Some(_)) => {
                return Err("--state-secret-previous: give --state-secret too (the secret that replaces it)".into());
            }
            (Some(current), previous) => {
                secret("state-secret", current)?;
                let mut key = tenet_server::StateKey::from_bytes(current.as_bytes());
                if let Some(previous) = previous {
                    secret("state-secret-previous", previous)?;
                    key = key.with_previous(previous.as_bytes());
                }
                config.state_key = Some(key);
            }
            (None, None) => {}
        }
        let Some(url) = &self.url else { return Ok(None) };
        let redis_config = RedisConfig {
            prefix: self.prefix.clone(),
            timeout: Duration::from_secs_f64(self.timeout),
            connect_timeout: Duration::from_secs_f64(self.timeout),
            pool_size: usize::from(self.pool_size),
            ..RedisConfig::new(url.clone())
        };
        // Without --state-secret: the store's (or, when it does not answer, one of this
        // replica's own, offered to the store and given up for the store's once it
        // answers: Redis::keep_state_secret).
        let agreed_secret = config.state_key.is_none().then(|| {
            let secret = agree_state_secret(&redis_config).unwrap_or_else(tenet_server::StateKey::random_secret);
            config.state_key = Some(tenet_server::StateKey::from_bytes(secret.as_bytes()));
            secret
        });
        let redis = Redis::connect(redis_config).map_err(|e| format!("--store-url: {e}"))?;
        let contexts = RedisContextStore::new(redis.clone(), config.context_limits);
        config.context_store = Some(Arc::new(contexts));
        Ok(Some(SharedStore { redis, agreed_secret }))
    }
}

/// The store replicas share, as [`StoreArgs::apply`] set it up.
pub struct SharedStore {
    /// The connection to it.
    pub redis: Redis,
    /// The secret the replicas agree on through it, when no `--state-secret` was
    /// given: the store's, or this replica's own while the store has not answered yet
    /// ([`Redis::keep_state_secret`] keeps it agreed).
    pub agreed_secret: Option<String>,
}

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret itself.
        f.debug_struct("SharedStore").field("agreed_secret", &self.agreed_secret.as_ref().map(|_| "…")).finish()
    }
}

/// The secret replicas sharing the store sign input rounds with, without
/// `--state-secret`: agreed through the store ([`tenet_redis::agreed_state_secret`]),
/// tried for up to three seconds (a store started beside the replicas may not answer at
/// once). `None` (each replica its own key) when the store does not answer, said in a
/// warning.
fn agree_state_secret(config: &RedisConfig) -> Option<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let mut last = None;
    for attempt in 0.. {
        if attempt > 0 {
            if std::time::Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        match tenet_redis::agreed_state_secret(config) {
            Ok(secret) => {
                tracing::debug!("the state key is agreed through the store");
                return Some(secret);
            }
            Err(e) => {
                if attempt == 0 {
                    tracing::info!("waiting up to 3 s for the shared store to agree on a state key ({e})");
                }
                last = Some(e);
            }
        }
    }
    if let Some(e) = last {
        tracing::warn!(
            "no state key agreed through the store yet ({e}): an input round begun here continues only \
             here until the store answers (checked every second); give every replica --state-secret to \
             share one from the start"
        );
    }
    None
}

/// The store's state on the HTTP endpoint: `/ready` answers 503 while it does not
/// answer.
pub fn not_ready(health: &Health) -> Option<String> {
    health.problem().map(|problem| format!("the shared store is unreachable: {problem}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn args(flags: &[&str]) -> StoreArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            store: StoreArgs,
        }
        Cli::parse_from(std::iter::once("tenet").chain(flags.iter().copied())).store
    }

    #[test]
    fn secrets_are_checked_and_a_previous_one_needs_a_current_one() {
        let mut config = ServerConfig::default();
        assert!(args(&[]).apply(&mut config).unwrap().is_none());
        assert!(config.state_key.is_none() && config.context_store.is_none());
        let e = args(&["--state-secret", "short"]).apply(&mut config).unwrap_err();
        assert!(e.starts_with("--state-secret: ") && e.contains("16"), "{e}");
        let e = args(&["--state-secret-previous", "0123456789abcdef"]).apply(&mut config).unwrap_err();
        assert!(e.starts_with("--state-secret-previous: give --state-secret"), "{e}");
        args(&["--state-secret", "0123456789abcdef", "--state-secret-previous", "fedcba9876543210"])
            .apply(&mut config)
            .unwrap();
        assert!(config.state_key.is_some());
    }

    #[test]
    fn a_store_url_is_checked_and_the_store_used_for_contexts() {
        let mut config = ServerConfig::default();
        let e = args(&["--store-url", "http://user:pw@h/0"]).apply(&mut config).unwrap_err();
        assert!(e.starts_with("--store-url: store url") && !e.contains("pw@"), "{e}");
        let redis = args(&["--store-url", "redis://127.0.0.1:1/0"]).apply(&mut config).unwrap();
        assert!(redis.is_some() && config.context_store.is_some());
    }
}
