//! Legacy sessions (`Mcp-Session-Id`) shared by replicas: what each replica needs to
//! serve a session another one opened ([`SessionRecord`]), and the messages one
//! replica hands another for a session it serves ([`Letter`]), behind
//! [`SessionStore`], with an in-memory implementation here ([`MemorySessionStore`]:
//! several endpoints of one process share it, as replicas share Redis).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};
use tenet_protocol::{ClientCapabilities, Implementation, LoggingLevel, ProtocolVersion};
use tokio::sync::mpsc;

use super::announce::{Announcement, Heard};
use super::events::{LoggedAfter, LoggedEvent, never_sent};
use super::task::{SharedTask, TaskRecord, TaskWrite};

/// The shared store could not be reached, or did not answer in time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the shared store is unavailable: {0}")]
pub struct Unavailable(pub String);

/// What every replica needs to serve a legacy session: what `initialize` settled, who
/// may use it, and what changes while it lives ([`SessionState`]). (Its conversation's
/// id is derived from the session's id: see `Session::share`.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    /// The version negotiated.
    pub version: ProtocolVersion,
    /// What the client can do.
    pub capabilities: ClientCapabilities,
    /// Who the client is.
    pub client_info: Implementation,
    /// Who may use the session: `None` when the endpoint does no access control, else
    /// the subject of the grant that opened it (which may name nobody).
    pub owner: Option<SessionOwner>,
    /// What changes while the session lives (kept apart by stores).
    #[serde(skip)]
    pub state: SessionState,
    /// The replicas that hold a copy of the session (or did): those to tell when it
    /// changes or ends (kept apart by stores).
    #[serde(skip)]
    pub holders: BTreeSet<String>,
}

/// The principal a session is bound to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionOwner {
    /// The subject of the grant that opened the session, if it names one.
    pub subject: Option<String>,
}

/// What changes while a session lives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionState {
    /// The least severe log level the client wants.
    pub level: LoggingLevel,
    /// The resources the client is subscribed to.
    pub subscriptions: BTreeSet<String>,
    /// Whether a tool has used the session's conversation (its context may hold
    /// something).
    pub conversation: bool,
    /// Grows with every change, so a replica that saw this revision knows it has
    /// nothing to apply.
    pub revision: u64,
    /// The ids of the session's tasks (2025-11-25), wherever they run.
    pub tasks: BTreeSet<String>,
}

/// One change of a session's [`SessionState`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionChange {
    /// `logging/setLevel`.
    Level(LoggingLevel),
    /// `resources/subscribe`.
    Subscribe(String),
    /// `resources/unsubscribe`.
    Unsubscribe(String),
    /// A tool used the session's conversation for the first time.
    Conversation,
    /// A task (2025-11-25) was made in the session: its id.
    Task(String),
}

impl SessionState {
    /// Applies `changes` in order, as one revision.
    pub fn apply(&mut self, changes: &[SessionChange]) {
        for change in changes {
            match change {
                SessionChange::Level(level) => self.level = *level,
                SessionChange::Subscribe(uri) => {
                    self.subscriptions.insert(uri.clone());
                }
                SessionChange::Unsubscribe(uri) => {
                    self.subscriptions.remove(uri);
                }
                SessionChange::Conversation => self.conversation = true,
                SessionChange::Task(id) => {
                    self.tasks.insert(id.clone());
                }
            }
        }
        self.revision += 1;
    }
}

/// A message for a session, from the replica that received it to the one that can
/// use it (the client's response to a server → client request goes to the replica
/// whose handler awaits it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Letter {
    /// The session's id.
    pub session: String,
    /// The message, one JSON-RPC message as read.
    pub message: Vec<u8>,
}

/// Where legacy sessions are kept so that any replica can serve any of them, and how
/// replicas hand each other messages for them. A session lives until it is removed or
/// unused for the idle time it was last touched with.
pub trait SessionStore: Send + Sync + std::fmt::Debug + 'static {
    /// Keeps `record` (its state and holders included) under `id`, for `idle` unless
    /// touched; false, and nothing written, when `id` is taken.
    fn create<'a>(
        &'a self,
        id: &'a str,
        record: &'a SessionRecord,
        idle: Duration,
    ) -> BoxFuture<'a, Result<bool, Unavailable>>;

    /// Adds `replica` to the holders of the session `id`; false when there is no such
    /// session.
    fn hold<'a>(&'a self, id: &'a str, replica: &'a str) -> BoxFuture<'a, Result<bool, Unavailable>>;

    /// The session `id`, kept for `idle` from now; `None` when there is none (never
    /// made, removed, or expired).
    fn touch<'a>(&'a self, id: &'a str, idle: Duration) -> BoxFuture<'a, Result<Option<SessionRecord>, Unavailable>>;

    /// Applies `changes` to the state of the session `id`, as one revision; the
    /// session as it is then (other replicas' changes included), or `None`, and
    /// nothing written, when there is no such session.
    fn change<'a>(
        &'a self,
        id: &'a str,
        changes: &'a [SessionChange],
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, Unavailable>>;

    /// Ends the session `id` for every replica: the replicas that held a copy (to
    /// tell), or `None` when there was no such session.
    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<BTreeSet<String>>, Unavailable>>;

    /// Hands `letter` to the replica named `to`, which reads it from its
    /// [`SessionStore::inbox`] (kept a minute if it does not); false, and nothing
    /// written, when no live replica has that name (one that stopped, or a name a
    /// client made up).
    fn send<'a>(&'a self, to: &'a str, letter: Letter) -> BoxFuture<'a, Result<bool, Unavailable>>;

    /// The letters sent to the replica named `me`, as they come, while the stream is
    /// held (reconnecting to the store as needed).
    fn inbox(&self, me: &str) -> BoxStream<'static, Letter>;

    /// Whether the replica named `replica` lives (holds its lease: it reads its inbox).
    fn lives<'a>(&'a self, replica: &'a str) -> BoxFuture<'a, Result<bool, Unavailable>>;

    /// Tells every replica listening (this one too) of `announcement`, made by the
    /// replica named `from`.
    fn announce<'a>(&'a self, from: &'a str, announcement: &'a Announcement) -> BoxFuture<'a, Result<(), Unavailable>>;

    /// The announcements any replica makes from now on, as they come (reconnecting to
    /// the store as needed: those made while this replica was cut off are not heard).
    fn announcements(&self) -> BoxStream<'static, Heard>;

    /// Writes the task `id` as `record` has it, kept `ttl`, unless a write with a later
    /// (or the same) `seq` came first, or the task was fenced.
    fn put_task<'a>(
        &'a self,
        id: &'a str,
        record: &'a TaskRecord,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<TaskWrite, Unavailable>>;

    /// Ends the task `id` as `record` has it (failed: its replica is gone) and fences
    /// it, so that nothing is written to it any more; only while the record stored is
    /// still at `seq` and its replica holds no lease. False, and nothing written,
    /// otherwise (the replica wrote meanwhile, or lives).
    fn fence_task<'a>(
        &'a self,
        id: &'a str,
        seq: u64,
        record: &'a TaskRecord,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, Unavailable>>;

    /// The task `id`, and whether the replica running it lives; `None` when there is
    /// no such task (or it expired).
    fn task<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SharedTask>, Unavailable>>;

    /// Appends `event` to the log of the SSE stream `stream`, which keeps its last
    /// `keep` events and expires `ttl` after its last write.
    fn log_event<'a>(
        &'a self,
        stream: &'a str,
        event: &'a LoggedEvent,
        keep: usize,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), Unavailable>>;

    /// The events of the stream `stream` after the one numbered `seq`, waiting up to
    /// `wait` for some when there are none yet.
    fn events_after<'a>(
        &'a self,
        stream: &'a str,
        seq: u64,
        wait: Duration,
    ) -> BoxFuture<'a, Result<LoggedAfter, Unavailable>>;
}

/// Sessions in memory ([`SessionStore`]), for endpoints of one process.
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    inner: Mutex<Memory>,
    /// Announcements, to every listener.
    heard: Hub,
    /// Wakes readers waiting for a log's next event.
    logged: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Memory {
    sessions: HashMap<String, (SessionRecord, Instant)>,
    inboxes: HashMap<String, mpsc::UnboundedSender<Letter>>,
    /// Tasks by id: the record, when it expires, whether it is fenced.
    tasks: HashMap<String, (TaskRecord, Instant, bool)>,
    /// SSE streams' logs by stream: the events kept, when the log expires.
    logs: HashMap<String, (std::collections::VecDeque<LoggedEvent>, Instant)>,
}

impl Memory {
    /// Whether the replica named `replica` lives: it still reads its inbox.
    fn lives(&self, replica: &str) -> bool {
        self.inboxes.get(replica).is_some_and(|inbox| !inbox.is_closed())
    }
}

/// Where announcements go in memory.
#[derive(Debug)]
struct Hub(tokio::sync::broadcast::Sender<Heard>);

impl Default for Hub {
    fn default() -> Self {
        Self(tokio::sync::broadcast::channel(1024).0)
    }
}

/// When something idle for `idle` from now expires (far in the future for an idle time
/// too long to count).
fn until(idle: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(idle).unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
}

impl Memory {
    /// The live session `id`, forgetting it if expired.
    fn live(&mut self, id: &str) -> Option<&mut SessionRecord> {
        let expired = self.sessions.get(id).is_some_and(|(_, until)| *until <= Instant::now());
        if expired {
            self.sessions.remove(id);
        }
        self.sessions.get_mut(id).map(|(record, _)| record)
    }
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SessionStore for MemorySessionStore {
    fn create<'a>(
        &'a self,
        id: &'a str,
        record: &'a SessionRecord,
        idle: Duration,
    ) -> BoxFuture<'a, Result<bool, Unavailable>> {
        let mut memory = self.lock();
        let now = Instant::now();
        memory.sessions.retain(|_, (_, until)| *until > now);
        let created = memory.live(id).is_none();
        if created {
            let mut record = record.clone();
            record.state.revision = 0;
            memory.sessions.insert(id.to_owned(), (record, until(idle)));
        }
        Box::pin(std::future::ready(Ok(created)))
    }

    fn hold<'a>(&'a self, id: &'a str, replica: &'a str) -> BoxFuture<'a, Result<bool, Unavailable>> {
        let held = self.lock().live(id).map(|record| record.holders.insert(replica.to_owned())).is_some();
        Box::pin(std::future::ready(Ok(held)))
    }

    fn touch<'a>(&'a self, id: &'a str, idle: Duration) -> BoxFuture<'a, Result<Option<SessionRecord>, Unavailable>> {
        let mut memory = self.lock();
        let found = memory.live(id).is_some();
        let record = found.then(|| memory.sessions.get_mut(id)).flatten().map(|(record, expires)| {
            *expires = until(idle);
            record.clone()
        });
        Box::pin(std::future::ready(Ok(record)))
    }

    fn change<'a>(
        &'a self,
        id: &'a str,
        changes: &'a [SessionChange],
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, Unavailable>> {
        let record = self.lock().live(id).map(|record| {
            record.state.apply(changes);
            record.clone()
        });
        Box::pin(std::future::ready(Ok(record)))
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<BTreeSet<String>>, Unavailable>> {
        let mut memory = self.lock();
        let holders = match memory.live(id) {
            Some(_) => memory.sessions.remove(id).map(|(record, _)| record.holders),
            None => None,
        };
        Box::pin(std::future::ready(Ok(holders)))
    }

    fn send<'a>(&'a self, to: &'a str, letter: Letter) -> BoxFuture<'a, Result<bool, Unavailable>> {
        let mut memory = self.lock();
        let sent = memory.inboxes.get(to).is_some_and(|inbox| inbox.send(letter).is_ok());
        if !sent {
            // The replica stopped reading: it is gone.
            memory.inboxes.remove(to);
        }
        Box::pin(std::future::ready(Ok(sent)))
    }

    fn lives<'a>(&'a self, replica: &'a str) -> BoxFuture<'a, Result<bool, Unavailable>> {
        let lives = self.lock().lives(replica);
        Box::pin(std::future::ready(Ok(lives)))
    }

    fn announce<'a>(&'a self, from: &'a str, announcement: &'a Announcement) -> BoxFuture<'a, Result<(), Unavailable>> {
        // Nobody listening is no failure.
        let _ = self.heard.0.send(Heard { from: from.to_owned(), announcement: announcement.clone() });
        Box::pin(std::future::ready(Ok(())))
    }

    fn announcements(&self) -> BoxStream<'static, Heard> {
        let heard = self.heard.0.subscribe();
        Box::pin(futures_util::stream::unfold(heard, |mut heard| async move {
            loop {
                match heard.recv().await {
                    Ok(one) => return Some((one, heard)),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        }))
    }

    fn put_task<'a>(
        &'a self,
        id: &'a str,
        record: &'a TaskRecord,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<TaskWrite, Unavailable>> {
        let mut memory = self.lock();
        let now = Instant::now();
        memory.tasks.retain(|_, (_, until, _)| *until > now);
        let written = match memory.tasks.get(id) {
            Some((_, _, true)) => TaskWrite::Fenced,
            Some((held, _, _)) if held.seq >= record.seq => TaskWrite::Stale,
            _ => {
                memory.tasks.insert(id.to_owned(), (record.clone(), until(ttl), false));
                TaskWrite::Written
            }
        };
        Box::pin(std::future::ready(Ok(written)))
    }

    fn fence_task<'a>(
        &'a self,
        id: &'a str,
        seq: u64,
        record: &'a TaskRecord,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, Unavailable>> {
        let mut memory = self.lock();
        let alive = memory.lives(&record.replica);
        let at_seq = memory.tasks.get(id).is_some_and(|(held, _, fenced)| held.seq == seq && !fenced);
        let fenced = at_seq && !alive;
        if fenced {
            memory.tasks.insert(id.to_owned(), (record.clone(), until(ttl), true));
        }
        Box::pin(std::future::ready(Ok(fenced)))
    }

    fn task<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SharedTask>, Unavailable>> {
        let memory = self.lock();
        let found = memory
            .tasks
            .get(id)
            .filter(|(_, until, _)| *until > Instant::now())
            .map(|(record, _, _)| SharedTask { runner_alive: memory.lives(&record.replica), record: record.clone() });
        Box::pin(std::future::ready(Ok(found)))
    }

    fn log_event<'a>(
        &'a self,
        stream: &'a str,
        event: &'a LoggedEvent,
        keep: usize,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), Unavailable>> {
        let mut memory = self.lock();
        let now = Instant::now();
        memory.logs.retain(|_, (_, until)| *until > now);
        let (events, until_) = memory.logs.entry(stream.to_owned()).or_insert_with(|| (Default::default(), now));
        // A write retried (the same seq, or an older one) is there already.
        if events.back().is_none_or(|last| last.seq < event.seq) {
            events.push_back(event.clone());
        }
        while events.len() > keep.max(1) {
            events.pop_front();
        }
        *until_ = until(ttl);
        drop(memory);
        self.logged.notify_waiters();
        Box::pin(std::future::ready(Ok(())))
    }

    fn events_after<'a>(
        &'a self,
        stream: &'a str,
        seq: u64,
        wait: Duration,
    ) -> BoxFuture<'a, Result<LoggedAfter, Unavailable>> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                let notified = self.logged.notified();
                let found = {
                    let memory = self.lock();
                    match memory.logs.get(stream).filter(|(_, until)| *until > Instant::now()) {
                        None => LoggedAfter::Unknown,
                        Some((events, _)) if events.back().is_none_or(|newest| never_sent(newest, seq)) => {
                            LoggedAfter::Unknown
                        }
                        Some((events, _)) if events.front().is_some_and(|e| e.seq > seq + 1) => LoggedAfter::Evicted,
                        Some((events, _)) => {
                            LoggedAfter::Events(events.iter().filter(|e| e.seq > seq).cloned().collect())
                        }
                    }
                };
                match found {
                    LoggedAfter::Events(events) if events.is_empty() => {
                        if tokio::time::timeout_at(deadline, notified).await.is_err() {
                            return Ok(LoggedAfter::Events(Vec::new()));
                        }
                    }
                    found => return Ok(found),
                }
            }
        })
    }

    fn inbox(&self, me: &str) -> BoxStream<'static, Letter> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().inboxes.insert(me.to_owned(), tx);
        Box::pin(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|l| (l, rx)) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn record() -> SessionRecord {
        SessionRecord {
            version: ProtocolVersion::V2025_06_18,
            capabilities: ClientCapabilities::default(),
            client_info: Implementation::new("c", "1"),
            owner: Some(SessionOwner { subject: Some("ann".into()) }),
            state: SessionState::default(),
            holders: BTreeSet::new(),
        }
    }

    #[tokio::test]
    async fn a_session_lives_until_removed_or_idle() {
        let store = MemorySessionStore::new();
        let idle = Duration::from_secs(60);
        assert!(store.create("a", &record(), idle).await.unwrap());
        assert!(!store.create("a", &record(), idle).await.unwrap(), "an id is never made twice");
        let changes = [SessionChange::Level(LoggingLevel::Error), SessionChange::Subscribe("u".into())];
        assert_eq!(store.change("a", &changes).await.unwrap().unwrap().state.revision, 1);
        assert!(store.hold("a", "r2").await.unwrap());
        let got = store.touch("a", idle).await.unwrap().unwrap();
        assert_eq!(got.state.level, LoggingLevel::Error);
        assert_eq!(got.state.subscriptions, BTreeSet::from(["u".to_owned()]));
        assert_eq!(got.state.revision, 1);
        assert!(got.holders.contains("r2"));
        assert_eq!(store.remove("a").await.unwrap(), Some(BTreeSet::from(["r2".to_owned()])));
        assert!(store.touch("a", idle).await.unwrap().is_none());
        assert_eq!(store.change("a", &changes).await.unwrap(), None, "no session is made by a change");
        assert!(!store.hold("a", "r2").await.unwrap(), "nor by a holder");
        assert!(store.create("b", &record(), Duration::ZERO).await.unwrap());
        assert!(store.touch("b", idle).await.unwrap().is_none(), "expired");
    }

    #[tokio::test]
    async fn letters_reach_the_replica_they_are_for() {
        let store = MemorySessionStore::new();
        let mut inbox = store.inbox("r1");
        assert!(!store.send("r2", Letter { session: "s".into(), message: b"lost".to_vec() }).await.unwrap());
        assert!(store.send("r1", Letter { session: "s".into(), message: b"{}".to_vec() }).await.unwrap());
        assert_eq!(inbox.next().await.unwrap().message, b"{}");
    }

    #[test]
    fn a_record_reads_back_as_written_but_for_its_state() {
        let mut written = record();
        written.state.revision = 3;
        written.holders.insert("r1".into());
        let text = serde_json::to_string(&written).unwrap();
        assert!(!text.contains("revision"), "{text}");
        let read: SessionRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(read, SessionRecord { state: SessionState::default(), holders: BTreeSet::new(), ..written });
    }
}
