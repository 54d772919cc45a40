//! Tenet's shared state on Redis (or Valkey): what several replicas of one server
//! behind a load balancer must agree on, behind the store traits of `tenet-server`,
//! whose in-memory implementations serve a single process.
//!
//! [`Redis`] is one connection to the server (multiplexed, reconnected on its own, every
//! command bounded by a timeout), with a key prefix, a health check and metrics; the
//! stores are built on it: [`RedisContextStore`] keeps conversations' contexts,
//! [`RedisSessionStore`] legacy sessions (and the letters replicas hand each other),
//! [`RedisRateStore`] the token buckets of rate limits.
//!
//! ```no_run
//! use std::sync::Arc;
//! use tenet_redis::{Redis, RedisConfig, RedisContextStore};
//! use tenet_server::Server;
//!
//! # async fn run() -> Result<(), tenet_redis::StoreError> {
//! let redis = Redis::connect(RedisConfig::new("redis://127.0.0.1:6379/0"))?;
//! let contexts = RedisContextStore::new(redis.clone(), Default::default());
//! let server = Server::builder("tenet", "1.0.0").context_store(Arc::new(contexts)).build().unwrap();
//! redis.register_metrics(server.metrics());
//! # Ok(()) }
//! ```

mod context;
mod metrics;
mod rate;
mod session;
#[cfg(feature = "test-support")]
pub mod test_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use context::RedisContextStore;
use metrics::StoreMetrics;
pub use rate::RedisRateStore;
pub use session::RedisSessionStore;

/// Where the Redis server is and how to talk to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port/db` (or `unix:///path/to/redis.sock`).
    pub url: String,
    /// Put before every key, so that several deployments can share one server.
    pub prefix: String,
    /// How long one command may take before it fails (the store is then
    /// unavailable for that request, which gets a clear error instead of hanging).
    pub timeout: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How many multiplexed connections carry the commands, taken in turn (at least
    /// 1). One already pipelines every command sent at once; more spread the work of
    /// reading answers over the runtime's threads and keep one slow answer (a big
    /// script result) from delaying the rest. Blocking reads and the subscriber use
    /// connections of their own either way.
    pub pool_size: usize,
}

impl RedisConfig {
    /// The defaults for the server at `url`: prefix `tenet:`, 2 s per command, 2 s to
    /// connect, one connection.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: "tenet:".to_owned(),
            timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
            pool_size: 1,
        }
    }
}

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not one the client understands.
    #[error("store url {url:?}: {message}")]
    Url {
        /// The URL, without its password.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The server could not be reached, or did not answer in time.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
}

/// The connections to a Redis server, shared by every store built on it (cheap to
/// clone): [`RedisConfig::pool_size`] multiplexed ones, taken in turn. Each connects on
/// first use and reconnects on its own after a failure; a command that fails (the
/// server down, slow past the timeout) is an error for that request only.
#[derive(Clone)]
pub struct Redis {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    manager: ConnectionManagerConfig,
    /// The pool, each made inside the runtime on first use.
    connections: Box<[tokio::sync::OnceCell<ConnectionManager>]>,
    /// The next connection of the pool to use.
    turn: std::sync::atomic::AtomicUsize,
    prefix: String,
    timeout: Duration,
    metrics: StoreMetrics,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").field("prefix", &self.inner.prefix).finish_non_exhaustive()
    }
}

impl Redis {
    /// A connection to the server `config` names, made when it is first used (so that
    /// Tenet starts whether Redis is up or not).
    ///
    /// # Errors
    /// [`StoreError::Url`] for a URL that does not parse.
    pub fn connect(config: RedisConfig) -> Result<Self, StoreError> {
        let shown = redact(&config.url);
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| StoreError::Url { url: shown.clone(), message: e.to_string() })?;
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connect_timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let inner = Inner {
            client,
            manager,
            connections: (0..config.pool_size.max(1)).map(|_| tokio::sync::OnceCell::new()).collect(),
            turn: std::sync::atomic::AtomicUsize::new(0),
            prefix: config.prefix,
            timeout: config.timeout,
            metrics: StoreMetrics::default(),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// How long one command may take.
    pub(crate) fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// `key` under the configured prefix.
    pub(crate) fn key(&self, key: &str) -> String {
        format!("{}{key}", self.inner.prefix)
    }

    /// Runs `command` (an operation named `op`) on the connection, bounded by the
    /// timeout, counted and timed in the metrics.
    pub(crate) async fn run<T, F>(&self, op: &'static str, command: F) -> Result<T, StoreError>
    where
        F: AsyncFnOnce(&mut ConnectionManager) -> redis::RedisResult<T>,
    {
        let started = Instant::now();
        let pool = &self.inner.connections;
        let turn = self.inner.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % pool.len();
        let made = pool[turn]
            .get_or_try_init(|| async {
                ConnectionManager::new_lazy_with_config(self.inner.client.clone(), self.inner.manager.clone())
            })
            .await;
        let mut connection = match made {
            Ok(connection) => connection.clone(),
            Err(e) => {
                self.inner.metrics.record(op, false, started.elapsed());
                return Err(StoreError::Unavailable(e.to_string()));
            }
        };
        // The client's own timeout bounds a command on a live connection; this one
        // also bounds waiting for a connection that is being made again.
        let outcome = match tokio::time::timeout(self.inner.timeout, command(&mut connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(StoreError::Unavailable(e.to_string())),
            Err(_) => Err(StoreError::Unavailable(format!("no answer within {} ms", self.inner.timeout.as_millis()))),
        };
        self.inner.metrics.record(op, outcome.is_ok(), started.elapsed());
        if let Err(e) = &outcome {
            tracing::debug!(op, error = %e, "store operation failed");
        }
        outcome
    }

    /// A connection of its own for a command that blocks for up to `wait` (`BLPOP`),
    /// which would hold up every other command on the shared one.
    pub(crate) async fn blocking_connection(
        &self,
        wait: Duration,
    ) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.inner.timeout))
            .set_response_timeout(Some(wait + self.inner.timeout));
        self.inner.client.get_multiplexed_async_connection_with_config(&config).await
    }

    /// A connection of its own in subscriber mode (`SUBSCRIBE`), made within the timeout.
    pub(crate) async fn pubsub(&self) -> Result<redis::aio::PubSub, StoreError> {
        match tokio::time::timeout(self.inner.timeout, self.inner.client.get_async_pubsub()).await {
            Ok(Ok(pubsub)) => Ok(pubsub),
            Ok(Err(e)) => Err(StoreError::Unavailable(e.to_string())),
            Err(_) => Err(StoreError::Unavailable(format!("no answer within {} ms", self.inner.timeout.as_millis()))),
        }
    }

    /// Whether the server answers `PING` now; how long it took.
    ///
    /// # Errors
    /// Why not.
    pub async fn ping(&self) -> Result<Duration, StoreError> {
        let started = Instant::now();
        self.run("ping", async |c| redis::cmd("PING").query_async::<String>(c).await).await?;
        Ok(started.elapsed())
    }

    /// How far the server's clock (`TIME`) is ahead of this machine's, in milliseconds,
    /// measured at the middle of the round trip.
    ///
    /// # Errors
    /// The server did not answer.
    pub async fn clock_offset(&self) -> Result<i64, StoreError> {
        let local = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros());
        let before = local();
        let (secs, micros): (u64, u64) =
            self.run("time", async |c| redis::cmd("TIME").query_async::<(u64, u64)>(c).await).await?;
        let middle = (before + local()) / 2;
        let theirs = u128::from(secs) * 1_000_000 + u128::from(micros);
        let offset = i128::try_from(theirs).unwrap_or(0) - i128::try_from(middle).unwrap_or(0);
        Ok(i64::try_from(offset / 1000).unwrap_or(0))
    }

    /// Checks the server every `every` (a `TIME`) until `stop` fires, inside the tokio
    /// runtime this is called in; what the last check found. Each answer also sets how
    /// far this machine's clock is from the server's ([`tenet_server::clock`]), so that
    /// replicas date what they share by one clock.
    pub fn watch(&self, every: Duration, stop: tokio_util::sync::CancellationToken) -> Health {
        let health = Health { problem: Arc::new(std::sync::Mutex::new(Some(NOT_CHECKED.to_owned()))) };
        let (redis, seen) = (self.clone(), health.clone());
        periodically(every, stop, move || {
            let (redis, seen) = (redis.clone(), seen.clone());
            async move {
                let problem = match redis.clock_offset().await {
                    Ok(offset) => {
                        tenet_server::clock::set_offset(offset);
                        None
                    }
                    Err(e) => Some(e.to_string()),
                };
                let mut was = seen.problem.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                match (&*was, &problem) {
                    // At start: the server serves, and `/ready` says 503 until the store answers.
                    (Some(first), Some(now)) if first == NOT_CHECKED => tracing::warn!(
                        problem = %now,
                        "waiting for the shared store: /ready answers 503 until it answers (checked every {} s)",
                        every.as_secs_f64()
                    ),
                    (None, Some(now)) => tracing::warn!(problem = %now, "the shared store is unreachable"),
                    (Some(_), None) => tracing::info!("the shared store answers"),
                    _ => {}
                }
                *was = problem;
            }
        });
        health
    }

    /// Asserts `secret`, the state secret `server` signs with, every `every` until
    /// `stop` ([`Redis::reassert_state_secret`]), inside the tokio runtime this is
    /// called in: when the store lost it, it is written back; when another replica
    /// wrote another one first, `server` adopts that one and still accepts input rounds
    /// begun under its own (what a store without persistence needs after a restart, and
    /// a replica that could not reach the store when it started).
    pub fn keep_state_secret(
        &self,
        server: tenet_server::Server,
        secret: String,
        every: Duration,
        stop: tokio_util::sync::CancellationToken,
    ) {
        let (redis, held) = (self.clone(), Arc::new(std::sync::Mutex::new(secret)));
        periodically(every, stop, move || {
            let (redis, server, held) = (redis.clone(), server.clone(), held.clone());
            async move {
                let ours = held.lock().map(|s| s.clone()).unwrap_or_default();
                let agreed = match redis.reassert_state_secret(&ours).await {
                    Ok(agreed) => agreed,
                    // A store that does not answer is reported by its health check.
                    Err(e) => return tracing::debug!(error = %e, "the state key could not be asserted in the store"),
                };
                if agreed != ours && server.adopt_state_secret(agreed.as_bytes()) {
                    tracing::warn!(
                        "the shared store holds another state key than this replica's (it lost its data, and a \
                         replica wrote a new one; or it was not reachable when this one started): signing input \
                         rounds with it from now on; rounds begun here before still continue here"
                    );
                }
                if let Ok(mut held) = held.lock() {
                    *held = agreed;
                }
            }
        });
    }

    /// The state secret agreed through the store ([`agreed_state_secret`]), asserted
    /// again: `ours` (the one this replica signs with) is written back when the store no
    /// longer holds one (it lost its data), and the one it holds is returned: `ours`, or
    /// one another replica wrote first, to be adopted
    /// ([`tenet_server::Server::adopt_state_secret`]). One round trip.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store does not answer in time, or holds a
    /// secret too short to sign with.
    pub async fn reassert_state_secret(&self, ours: &str) -> Result<String, StoreError> {
        let key = self.key("state-key");
        let (agreed,): (String,) = self
            .run("state_key", async |c| {
                let mut pipe = redis::pipe();
                pipe.cmd("SET").arg(&key).arg(ours).arg("NX").ignore().cmd("GET").arg(&key);
                pipe.query_async(c).await
            })
            .await?;
        signing_secret(&key, agreed)
    }

    /// Adds the store's metrics to `metrics` (`tenet_store_operations_total` by
    /// operation and outcome, `tenet_store_operation_seconds` by operation).
    pub fn register_metrics(&self, metrics: &tenet_server::Metrics) {
        self.inner.metrics.register(metrics);
    }
}

/// What the last health check of the store found ([`Redis::watch`]).
#[derive(Clone, Debug)]
pub struct Health {
    problem: Arc<std::sync::Mutex<Option<String>>>,
}

impl Health {
    /// Why the store did not answer the last check; `None` when it did.
    pub fn problem(&self) -> Option<String> {
        self.problem.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// What [`Health::problem`] says before the first check.
const NOT_CHECKED: &str = "not checked yet";

/// Runs `check` every `every` until `stop` fires, on a task of the current runtime (a
/// check that overruns delays the next rather than stacking up).
fn periodically<F, Fut>(every: Duration, stop: tokio_util::sync::CancellationToken, mut check: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => check().await,
            }
        }
    });
}

/// `d` in whole milliseconds, as Redis takes a time to live: at least 1.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// A short fixed-length name for `text` (a principal's name may be long or hold
/// anything), to put in a key: 24 hex digits of its SHA-256.
pub(crate) fn digest(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// The secret the replicas sharing this store sign `requestState` with, agreed through
/// the store: the first to ask writes a random one under `<prefix>state-key` (`SET …
/// NX`, no expiry), and every replica reads the one written. Replicas of one deployment
/// (one prefix) so agree without a secret to configure; anyone who can read the store
/// can read it, as they can read sessions and contexts. A blocking exchange on a
/// connection of its own, for start-up (before any runtime runs).
///
/// # Errors
/// [`StoreError::Url`] for a URL that does not parse; [`StoreError::Unavailable`] when
/// the store cannot be reached or does not answer within the config's timeouts, or
/// holds a secret too short to sign with (under 32 characters: not one of ours).
pub fn agreed_state_secret(config: &RedisConfig) -> Result<String, StoreError> {
    let shown = redact(&config.url);
    let unavailable = |e: redis::RedisError| StoreError::Unavailable(e.to_string());
    let client = redis::Client::open(config.url.as_str())
        .map_err(|e| StoreError::Url { url: shown.clone(), message: e.to_string() })?;
    let mut connection = client.get_connection_with_timeout(config.connect_timeout).map_err(unavailable)?;
    connection.set_read_timeout(Some(config.timeout)).map_err(unavailable)?;
    connection.set_write_timeout(Some(config.timeout)).map_err(unavailable)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Unavailable(format!("no randomness for a secret: {e}")))?;
    let fresh = tenet_server::hex(&bytes);
    let key = format!("{}state-key", config.prefix);
    redis::cmd("SET").arg(&key).arg(&fresh).arg("NX").exec(&mut connection).map_err(unavailable)?;
    let agreed: String = redis::cmd("GET").arg(&key).query(&mut connection).map_err(unavailable)?;
    signing_secret(&key, agreed)
}

/// `agreed`, read from `key`, when it is long enough to sign with (every secret we
/// write is).
fn signing_secret(key: &str, agreed: String) -> Result<String, StoreError> {
    if agreed.len() < 32 {
        return Err(StoreError::Unavailable(format!(
            "{key} holds {} characters, too few for a signing key",
            agreed.len()
        )));
    }
    Ok(agreed)
}

/// `url` without its user information and query (either may hold a password).
fn redact(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://…@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_that_does_not_parse_is_refused_without_its_password() {
        let e = Redis::connect(RedisConfig::new("http://user:s3cret@h")).unwrap_err().to_string();
        assert!(e.starts_with("store url") && !e.contains("s3cret"), "{e}");
        assert_eq!(redact("redis://u:p@ss@h:1/0"), "redis://…@h:1/0");
        assert_eq!(redact("unix:///run/redis.sock?pass=s3cret"), "unix:///run/redis.sock");
        assert!(Redis::connect(RedisConfig::new("redis://127.0.0.1:1/0")).is_ok(), "connected on first use");
    }
}
