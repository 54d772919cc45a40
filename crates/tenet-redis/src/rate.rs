//! Rate limits replicas share: one token bucket per client and limit
//! (`<prefix>rate:<client digest>:<limit>`, a hash of its tokens and when they were
//! counted), taken from by one Lua script on Redis's clock, gone once it would be full.

use std::time::Duration;

use futures_util::future::BoxFuture;
use tenet_server::store::Unavailable;
use tenet_server::{Rate, RateStore};

use crate::Redis;

/// Token buckets on Redis ([`RateStore`]): a client gets its rate across every
/// replica, whichever one it reaches.
#[derive(Debug)]
pub struct RedisRateStore {
    redis: Redis,
    script: redis::Script,
}

impl RedisRateStore {
    /// The buckets on `redis`.
    pub fn new(redis: Redis) -> Self {
        Self { redis, script: redis::Script::new(include_str!("scripts/rate_take.lua")) }
    }
}

impl RateStore for RedisRateStore {
    fn take<'a>(
        &'a self,
        client: &'a str,
        limit: &'a str,
        rate: Rate,
    ) -> BoxFuture<'a, Result<Result<(), Duration>, Unavailable>> {
        Box::pin(async move {
            let client = crate::digest(client);
            let mut invocation = self.script.key(self.redis.key(&format!("rate:{client}:{limit}")));
            invocation.arg(rate.per_second.max(1e-6)).arg(rate.burst.max(1));
            let wait: u64 = self
                .redis
                .run("rate_take", async |c| invocation.invoke_async(c).await)
                .await
                .map_err(|e| Unavailable(e.to_string()))?;
            Ok(if wait == 0 { Ok(()) } else { Err(Duration::from_millis(wait)) })
        })
    }
}
