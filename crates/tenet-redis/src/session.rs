//! Legacy sessions on Redis, so that any replica serves any session: a hash per
//! session (`<prefix>sess:<id>`: the record as JSON in `open`, the log level in
//! `level`, one `sub:<uri>` field per subscription, `conv` once its conversation was
//! made, one `at:<replica>` field per replica holding a copy, the revision in `rev`)
//! that expires after the idle time unless touched; and an inbox per replica (a list,
//! `<prefix>inbox:<replica>`, read with `BLPOP`) for the messages replicas hand each
//! other, written only while the replica holds its lease (`<prefix>replica:<replica>`,
//! renewed by the reader before each wait), so that no name a client makes up gets one.
//!
//! Also here: tasks (`<prefix>task:<id>`, written by Lua scripts that keep the latest
//! write and honour a fence); each SSE stream's log (a Redis stream,
//! `<prefix>sse:<session>:<copy>.<stream>`, entries `0-<seq>`, trimmed near its bound
//! with `MAXLEN ~`, read with `XRANGE` and waited on with `XREAD BLOCK`); and the
//! announcements replicas make (`PUBLISH` on `<prefix>announce`, heard on a subscriber
//! connection of its own).
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use redis::Value;
use tenet_protocol::LoggingLevel;
use tenet_server::store::{
    Announcement, Heard, Letter, LoggedAfter, LoggedEvent, SessionChange, SessionRecord, SessionState, SessionStore,
    SharedTask, TaskRecord, TaskWrite, Unavailable, never_sent,
};
use tokio::sync::mpsc;

use crate::{Redis, StoreError, millis};

/// How long a letter waits for a replica that does not read its inbox.
const LETTER_TTL_MS: i64 = 60_000;
/// Where replicas' leases are kept (before the replica's name, under the prefix).
const LEASES: &str = "replica:";
/// How long a replica's lease outlives its last renewal.
const LEASE_SECS: u64 = 15;
/// How long one `BLPOP` of the inbox blocks before it is issued again.
const INBOX_WAIT: Duration = Duration::from_secs(5);
/// How often an idle subscriber connection is checked.
const PUBSUB_CHECK: Duration = Duration::from_secs(15);
/// The channel announcements are published on (under the prefix).
const ANNOUNCEMENTS: &str = "announce";
/// Letters read but not yet taken by the endpoint.
const INBOX_CAPACITY: usize = 64;

/// Legacy sessions on Redis ([`SessionStore`]).
#[derive(Debug)]
pub struct RedisSessionStore {
    redis: Redis,
    create: redis::Script,
    change: redis::Script,
    remove: redis::Script,
    send: redis::Script,
    put_task: redis::Script,
    get_task: redis::Script,
    fence_task: redis::Script,
}

impl RedisSessionStore {
    /// The sessions on `redis`.
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            create: redis::Script::new(include_str!("scripts/session_create.lua")),
            change: redis::Script::new(include_str!("scripts/session_change.lua")),
            remove: redis::Script::new(include_str!("scripts/session_remove.lua")),
            send: redis::Script::new(include_str!("scripts/letter_send.lua")),
            put_task: redis::Script::new(include_str!("scripts/task_put.lua")),
            get_task: redis::Script::new(include_str!("scripts/task_get.lua")),
            fence_task: redis::Script::new(include_str!("scripts/task_fence.lua")),
        }
    }

    /// The key of the lease of the replica named `replica`.
    fn lease(&self, replica: &str) -> String {
        self.redis.key(&format!("{LEASES}{replica}"))
    }

    fn key(&self, id: &str) -> String {
        self.redis.key(&format!("sess:{id}"))
    }
}

fn unavailable(e: StoreError) -> Unavailable {
    Unavailable(e.to_string())
}

fn level_name(level: LoggingLevel) -> String {
    level.to_string()
}

/// The record a session's hash holds; `None` for none (or one this build cannot read,
/// which is as good as none: the client initializes again).
fn read_record(fields: HashMap<String, String>) -> Option<SessionRecord> {
    let mut record: SessionRecord = serde_json::from_str(fields.get("open")?).ok()?;
    let level = fields.get("level").and_then(|l| serde_json::from_value(serde_json::Value::String(l.clone())).ok());
    let named = |prefix: &str| fields.keys().filter_map(|f| f.strip_prefix(prefix)).map(str::to_owned).collect();
    record.state = SessionState {
        level: level.unwrap_or_default(),
        subscriptions: named("sub:"),
        conversation: fields.contains_key("conv"),
        revision: fields.get("rev").and_then(|r| r.parse().ok()).unwrap_or(0),
        tasks: named("task:"),
    };
    record.holders = named("at:");
    Some(record)
}

/// The seq of a log entry's id (`0-<seq>`).
fn seq_of(id: &str) -> u64 {
    id.split_once('-').and_then(|(_, n)| n.parse().ok()).unwrap_or(0)
}

/// A log entry as a logged event.
fn logged(entry: &redis::streams::StreamId) -> LoggedEvent {
    let event = entry.get::<Vec<u8>>("e").unwrap_or_default();
    LoggedEvent { seq: seq_of(&entry.id), event }
}

/// A change as the change script's arguments.
fn change_args(invocation: &mut redis::ScriptInvocation<'_>, change: &SessionChange) {
    match change {
        SessionChange::Level(level) => invocation.arg("L").arg(level_name(*level)),
        SessionChange::Subscribe(uri) => invocation.arg("S").arg(uri),
        SessionChange::Unsubscribe(uri) => invocation.arg("U").arg(uri),
        SessionChange::Conversation => invocation.arg("C").arg(""),
        SessionChange::Task(id) => invocation.arg("T").arg(id),
    };
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
            invocation.arg(if record.state.conversation { "1" } else { "0" });
            invocation.arg(record.state.subscriptions.len());
            for name in record.state.subscriptions.iter().chain(&record.holders) {
                invocation.arg(name);
            }
            let made: i64 = self
                .redis
                .run("session_create", async |c| invocation.invoke_async(c).await)
                .await
                .map_err(unavailable)?;
            Ok(made == 1)
        })
    }

    fn hold<'a>(&'a self, id: &'a str, replica: &'a str) -> BoxFuture<'a, Result<bool, Unavailable>> {
        Box::pin(async move {
            let mut invocation = self.change.key(self.key(id));
            invocation.arg("H").arg(replica);
            let held: Option<HashMap<String, String>> = self
                .redis
                .run("session_hold", async |c| invocation.invoke_async(c).await)
                .await
                .map_err(unavailable)?;
            Ok(held.is_some())
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
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, Unavailable>> {
        Box::pin(async move {
            let mut invocation = self.change.key(self.key(id));
            for change in changes {
                change_args(&mut invocation, change);
            }
            let fields: Option<HashMap<String, String>> = self
                .redis
                .run("session_change", async |c| invocation.invoke_async(c).await)
                .await
                .map_err(unavailable)?;
            Ok(fields.and_then(read_record))
        })
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<BTreeSet<String>>, Unavailable>> {
        Box::pin(async move {
            let invocation = self.remove.key(self.key(id));
            let holders: Option<Vec<String>> = self
                .redis
                .run("session_remove", async |c| invocation.invoke_async(c).await)
                .await
                .map_err(unavailable)?;
            Ok(holders.map(|h| h.into_iter().collect()))
        })
    }

    fn send<'a>(&'a self, to: &'a str, letter: Letter) -> BoxFuture<'a, Result<bool, Unavailable>> {
        Box::pin(async move {
            let mut payload = Vec::with_capacity(letter.session.len() + 1 + letter.message.len());
            payload.extend_from_slice(letter.session.as_bytes());
            payload.push(b'\n');
            payload.extend_from_slice(&letter.message);
            let mut invocation = self.send.key(self.redis.key(&format!("inbox:{to}")));
            invocation.key(self.lease(to)).arg(payload).arg(LETTER_TTL_MS);
            let sent: i64 =
                self.redis.run("letter_send", async |c| invocation.invoke_async(c).await).await.map_err(unavailable)?;
            Ok(sent == 1)
        })
    }

    fn lives<'a>(&'a self, replica: &'a str) -> BoxFuture<'a, Result<bool, Unavailable>> {
        Box::pin(async move {
            let lease = self.lease(replica);
            let found: i64 = self
                .redis
                .run("replica_lives", async |c| redis::cmd("EXISTS").arg(&lease).query_async(c).await)
                .await
                .map_err(unavailable)?;
            Ok(found == 1)
        })
    }

    fn put_task<'a>(
        &'a self,
        id: &'a str,
        record: &'a TaskRecord,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<TaskWrite, Unavailable>> {
        Box::pin(async move {
            let json = serde_json::to_string(record).map_err(|e| Unavailable(e.to_string()))?;
            let mut invocation = self.put_task.key(self.redis.key(&format!("task:{id}")));
            invocation.arg(record.seq).arg(json).arg(&record.replica).arg(millis(ttl));
            let written: i64 =
                self.redis.run("task_put", async |c| invocation.invoke_async(c).await).await.map_err(unavailable)?;
            Ok(match written {
                1 => TaskWrite::Written,
                2 => TaskWrite::Fenced,
                _ => TaskWrite::Stale,
            })
        })
    }

    fn fence_task<'a>(
        &'a self,
        id: &'a str,
        seq: u64,
        record: &'a TaskRecord,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, Unavailable>> {
        Box::pin(async move {
            let json = serde_json::to_string(record).map_err(|e| Unavailable(e.to_string()))?;
            let mut invocation = self.fence_task.key(self.redis.key(&format!("task:{id}")));
            invocation.arg(seq).arg(json).arg(self.redis.key(LEASES)).arg(millis(ttl));
            let fenced: i64 =
                self.redis.run("task_fence", async |c| invocation.invoke_async(c).await).await.map_err(unavailable)?;
            Ok(fenced == 1)
        })
    }

    fn task<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SharedTask>, Unavailable>> {
        Box::pin(async move {
            let mut invocation = self.get_task.key(self.redis.key(&format!("task:{id}")));
            invocation.arg(self.redis.key(LEASES));
            let found: Option<(String, i64)> =
                self.redis.run("task_get", async |c| invocation.invoke_async(c).await).await.map_err(unavailable)?;
            Ok(found.and_then(|(json, alive)| {
                let record: TaskRecord = serde_json::from_str(&json).ok()?;
                Some(SharedTask { record, runner_alive: alive == 1 })
            }))
        })
    }

    fn log_event<'a>(
        &'a self,
        stream: &'a str,
        event: &'a LoggedEvent,
        keep: usize,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), Unavailable>> {
        Box::pin(async move {
            let key = self.redis.key(&format!("sse:{stream}"));
            let id = format!("0-{}", event.seq);
            let written = self
                .redis
                .run("sse_log", async |c| {
                    redis::pipe()
                        .atomic()
                        .cmd("XADD")
                        .arg(&key)
                        .arg("MAXLEN")
                        .arg("~")
                        .arg(keep.max(1))
                        .arg(&id)
                        .arg("e")
                        .arg(&event.event)
                        .ignore()
                        .pexpire(&key, millis(ttl))
                        .ignore()
                        .query_async::<()>(c)
                        .await
                })
                .await;
            match written {
                // Logged before (a write retried): it is there.
                Err(e) if e.to_string().contains("equal or smaller") => Ok(()),
                other => other.map_err(unavailable),
            }
        })
    }

    fn events_after<'a>(
        &'a self,
        stream: &'a str,
        seq: u64,
        wait: Duration,
    ) -> BoxFuture<'a, Result<LoggedAfter, Unavailable>> {
        Box::pin(async move {
            let key = self.redis.key(&format!("sse:{stream}"));
            type Range = redis::streams::StreamRangeReply;
            let (first, newest, after): (Range, Range, Range) = self
                .redis
                .run("sse_read", async |c| {
                    redis::pipe()
                        .cmd("XRANGE")
                        .arg(&key)
                        .arg("-")
                        .arg("+")
                        .arg("COUNT")
                        .arg(1)
                        .cmd("XREVRANGE")
                        .arg(&key)
                        .arg("+")
                        .arg("-")
                        .arg("COUNT")
                        .arg(1)
                        .cmd("XRANGE")
                        .arg(&key)
                        .arg(format!("(0-{seq}"))
                        .arg("+")
                        .query_async(c)
                        .await
                })
                .await
                .map_err(unavailable)?;
            let (Some(oldest), Some(newest)) = (first.ids.first(), newest.ids.first()) else {
                return Ok(LoggedAfter::Unknown);
            };
            if never_sent(&logged(newest), seq) {
                return Ok(LoggedAfter::Unknown);
            }
            if seq_of(&oldest.id) > seq + 1 {
                return Ok(LoggedAfter::Evicted);
            }
            let mut events: Vec<LoggedEvent> = after.ids.iter().map(logged).collect();
            if events.is_empty() && !wait.is_zero() {
                // Nothing yet: wait for the next on a connection of its own (XREAD blocks it).
                let mut connection =
                    self.redis.blocking_connection(wait).await.map_err(|e| Unavailable(e.to_string()))?;
                let read: Option<redis::streams::StreamReadReply> = redis::cmd("XREAD")
                    .arg("BLOCK")
                    .arg(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1))
                    .arg("STREAMS")
                    .arg(&key)
                    .arg(format!("0-{seq}"))
                    .query_async(&mut connection)
                    .await
                    .map_err(|e| Unavailable(e.to_string()))?;
                events = read.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids).map(|id| logged(&id)).collect();
            }
            Ok(LoggedAfter::Events(events))
        })
    }

    fn announce<'a>(&'a self, from: &'a str, announcement: &'a Announcement) -> BoxFuture<'a, Result<(), Unavailable>> {
        Box::pin(async move {
            let heard = Heard { from: from.to_owned(), announcement: announcement.clone() };
            let payload = serde_json::to_vec(&heard).map_err(|e| Unavailable(e.to_string()))?;
            let channel = self.redis.key(ANNOUNCEMENTS);
            self.redis
                .run("announce", async |c| {
                    redis::cmd("PUBLISH").arg(&channel).arg(&payload).query_async::<i64>(c).await
                })
                .await
                .map(drop)
                .map_err(unavailable)
        })
    }

    fn announcements(&self) -> BoxStream<'static, Heard> {
        let (tx, rx) = mpsc::channel(INBOX_CAPACITY);
        tokio::spawn(listen(self.redis.clone(), self.redis.key(ANNOUNCEMENTS), tx));
        Box::pin(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|h| (h, rx)) }))
    }

    fn inbox(&self, me: &str) -> BoxStream<'static, Letter> {
        let (tx, rx) = mpsc::channel(INBOX_CAPACITY);
        let (inbox, lease) = (self.redis.key(&format!("inbox:{me}")), self.lease(me));
        tokio::spawn(read_inbox(self.redis.clone(), inbox, lease, tx));
        Box::pin(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|l| (l, rx)) }))
    }
}

/// Hears the announcements published on `channel`, on a connection of its own
/// (subscribed again after a failure), until nobody takes them.
async fn listen(redis: Redis, channel: String, tx: mpsc::Sender<Heard>) {
    use futures_util::StreamExt;
    while !tx.is_closed() {
        let mut pubsub = match redis.pubsub().await {
            Ok(pubsub) => pubsub,
            Err(e) => {
                tracing::debug!("announcements cannot connect: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = pubsub.subscribe(&channel).await {
            tracing::debug!("announcements cannot subscribe: {e}");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        let (mut sink, mut messages) = pubsub.split();
        let mut check = tokio::time::interval(PUBSUB_CHECK);
        check.reset();
        loop {
            let message = tokio::select! {
                () = tx.closed() => return,
                message = messages.next() => message,
                // A connection cut off without a word never ends: a PING tells.
                _ = check.tick() => {
                    match tokio::time::timeout(redis.timeout(), sink.ping::<redis::Value>()).await {
                        Ok(Ok(_)) => continue,
                        _ => break,
                    }
                }
            };
            // The connection dropped: subscribe again.
            let Some(message) = message else { break };
            match serde_json::from_slice::<Heard>(message.get_payload_bytes()) {
                Ok(heard) => {
                    if tx.send(heard).await.is_err() {
                        return;
                    }
                }
                Err(e) => tracing::debug!("an announcement that does not parse: {e}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads the inbox `key` on a connection of its own (`BLPOP` blocks it), made again
/// after a failure, renewing the replica's `lease` before each wait, until nobody takes
/// the letters.
async fn read_inbox(redis: Redis, key: String, lease: String, tx: mpsc::Sender<Letter>) {
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
        let renewed: redis::RedisResult<()> =
            redis::cmd("SET").arg(&lease).arg(1).arg("EX").arg(LEASE_SECS).query_async(&mut live).await;
        let popped: redis::RedisResult<Option<(String, Vec<u8>)>> = match renewed {
            Ok(()) => redis::cmd("BLPOP").arg(&key).arg(INBOX_WAIT.as_secs()).query_async(&mut live).await,
            Err(e) => Err(e),
        };
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
