//! Legacy sessions on Redis, so that any replica serves any session: a hash per
//! session (`<prefix>sess:<id>`: the record as JSON in `open`, the log level in
//! `level`, one `sub:<uri>` field per subscription, the revision in `rev`) that expires
//! after the idle time unless touched; and an inbox per replica (a list,
//! `<prefix>inbox:<replica>`, read with `BLPOP`) for the messages replicas hand each
//! other.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use redis::Value;
use tenet_protocol::LoggingLevel;
use tenet_server::store::{Letter, SessionChange, SessionRecord, SessionState, SessionStore, Unavailable};
use tokio::sync::mpsc;

use crate::{Redis, StoreError};

/// How long a letter waits for a replica that does not read its inbox.
const LETTER_TTL_MS: i64 = 60_000;
/// How long one `BLPOP` of the inbox blocks before it is issued again.
const INBOX_WAIT: Duration = Duration::from_secs(5);
/// Letters read but not yet taken by the endpoint.
const INBOX_CAPACITY: usize = 64;

/// Legacy sessions on Redis ([`SessionStore`]).
#[derive(Debug)]
pub struct RedisSessionStore {
    redis: Redis,
    create: redis::Script,
    change: redis::Script,
}

impl RedisSessionStore {
    /// The sessions on `redis`.
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            create: redis::Script::new(include_str!("scripts/session_create.lua")),
            change: redis::Script::new(include_str!("scripts/session_change.lua")),
        }
    }

    fn key(&self, id: &str) -> String {
        self.redis.key(&format!("sess:{id}"))
    }
}

fn unavailable(e: StoreError) -> Unavailable {
    Unavailable(e.to_string())
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

fn level_name(level: LoggingLevel) -> String {
    level.to_string()
}

/// The record a session's hash holds; `None` for none (or one this build cannot read,
/// which is as good as none: the client initializes again).
fn read_record(fields: HashMap<String, String>) -> Option<SessionRecord> {
    let mut record: SessionRecord = serde_json::from_str(fields.get("open")?).ok()?;
    let level = fields.get("level").and_then(|l| serde_json::from_value(serde_json::Value::String(l.clone())).ok());
    record.state = SessionState {
        level: level.unwrap_or_default(),
        subscriptions: fields.keys().filter_map(|f| f.strip_prefix("sub:")).map(str::to_owned).collect(),
        revision: fields.get("rev").and_then(|r| r.parse().ok()).unwrap_or(0),
    };
    Some(record)
}

impl SessionStore for RedisSessionStore {
    fn create<'a>(
        &'a self,
        id: &'a str,
        record: &'a SessionRecord,
        idle: Duration,
    ) -> BoxFuture<'a, Result<bool, Unavailable>> {
        Box::pin(async move {
            let open = serde_json::to_string(record).map_err(|e| Unavailable(e.to_string()))?;
            let mut invocation = self.create.key(self.key(id));
            invocation.arg(millis(idle)).arg(open).arg(level_name(record.state.level));
            for uri in &record.state.subscriptions {
                invocation.arg(uri);
            }
            let made: i64 = self
                .redis
                .run("session_create", async |c| invocation.invoke_async(c).await)
                .await
                .map_err(unavailable)?;
            Ok(made == 1)
        })
    }

    fn touch<'a>(&'a self, id: &'a str, idle: Duration) -> BoxFuture<'a, Result<Option<SessionRecord>, Unavailable>> {
        Box::pin(async move {
            let key = self.key(id);
            let fields: HashMap<String, String> = self
                .redis
                .run("session_touch", async |c| {
                    let (fields, _): (HashMap<String, String>, Value) =
                        redis::pipe().hgetall(&key).pexpire(&key, millis(idle)).query_async(c).await?;
                    Ok(fields)
                })
                .await
                .map_err(unavailable)?;
            Ok(read_record(fields))
        })
    }

    fn change<'a>(
        &'a self,
        id: &'a str,
        changes: &'a [SessionChange],
    ) -> BoxFuture<'a, Result<Option<u64>, Unavailable>> {
        Box::pin(async move {
            let mut invocation = self.change.key(self.key(id));
            for change in changes {
                match change {
                    SessionChange::Level(level) => invocation.arg("L").arg(level_name(*level)),
                    SessionChange::Subscribe(uri) => invocation.arg("S").arg(uri),
                    SessionChange::Unsubscribe(uri) => invocation.arg("U").arg(uri),
                };
            }
            self.redis.run("session_change", async |c| invocation.invoke_async(c).await).await.map_err(unavailable)
        })
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, Unavailable>> {
        Box::pin(async move {
            let key = self.key(id);
            let removed: i64 = self
                .redis
                .run("session_remove", async |c| redis::cmd("DEL").arg(&key).query_async(c).await)
                .await
                .map_err(unavailable)?;
            Ok(removed == 1)
        })
    }

    fn send<'a>(&'a self, to: &'a str, letter: Letter) -> BoxFuture<'a, Result<(), Unavailable>> {
        Box::pin(async move {
            let inbox = self.redis.key(&format!("inbox:{to}"));
            let mut payload = Vec::with_capacity(letter.session.len() + 1 + letter.message.len());
            payload.extend_from_slice(letter.session.as_bytes());
            payload.push(b'\n');
            payload.extend_from_slice(&letter.message);
            self.redis
                .run("letter_send", async |c| {
                    redis::pipe().rpush(&inbox, &payload).pexpire(&inbox, LETTER_TTL_MS).query_async::<Value>(c).await
                })
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn inbox(&self, me: &str) -> BoxStream<'static, Letter> {
        let (tx, rx) = mpsc::channel(INBOX_CAPACITY);
        tokio::spawn(read_inbox(self.redis.clone(), self.redis.key(&format!("inbox:{me}")), tx));
        Box::pin(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|l| (l, rx)) }))
    }
}

/// Reads the inbox `key` on a connection of its own (`BLPOP` blocks it), made again
/// after a failure, until nobody takes the letters.
async fn read_inbox(redis: Redis, key: String, tx: mpsc::Sender<Letter>) {
    let mut connection = None;
    while !tx.is_closed() {
        let live = match connection.take() {
            Some(live) => live,
            None => match redis.blocking_connection(INBOX_WAIT).await {
                Ok(made) => made,
                Err(e) => {
                    tracing::debug!("the inbox cannot connect: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        let mut live = live;
        let popped: redis::RedisResult<Option<(String, Vec<u8>)>> =
            redis::cmd("BLPOP").arg(&key).arg(INBOX_WAIT.as_secs()).query_async(&mut live).await;
        match popped {
            Ok(Some((_, payload))) => {
                connection = Some(live);
                let Some(cut) = payload.iter().position(|b| *b == b'\n') else { continue };
                let session = String::from_utf8_lossy(&payload[..cut]).into_owned();
                let letter = Letter { session, message: payload[cut + 1..].to_vec() };
                if tx.send(letter).await.is_err() {
                    return;
                }
            }
            Ok(None) => connection = Some(live),
            Err(e) => {
                tracing::debug!("the inbox read failed: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
