//! The table of a server's legacy sessions: each session by its id, what each caller
//! holds of them (its share), the store replicas share them through, and expiry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tenet_server::jsonrpc::{Id, Incoming, Message};
use tenet_server::prometheus_client::metrics::gauge::Gauge;
use tenet_server::store::{Letter, SessionOwner, SessionRecord, SessionStore, Unavailable};
use tenet_server::{CancellationToken, Driver, DriverOptions, Events, Grant, Server};

use crate::caller::Shares;
use crate::config::HttpConfig;
use crate::replay::Streams;

use super::{HttpSession, SessionId, lock, owner_of};

/// No sweep yet.
const NEVER: u64 = u64::MAX;

/// Why no session can be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// `max_sessions` are alive, idle ones expired.
    Total,
    /// The caller holds `max_sessions_per_caller` of them, idle ones expired.
    Caller(usize),
}

/// Legacy sessions shared with other replicas.
pub(crate) struct SharedSessions {
    /// Where they are kept.
    pub store: Arc<dyn SessionStore>,
    /// This replica's name there: the inbox it reads, and what begins the id of every
    /// server → client request it sends (`<replica>-<n>`).
    pub replica: Arc<str>,
}

impl SharedSessions {
    /// Sessions shared through `store`, under a fresh random replica name.
    pub(crate) fn new(store: Arc<dyn SessionStore>) -> Self {
        let mut bytes = [0u8; 6];
        if getrandom::fill(&mut bytes).is_err() {
            // No randomness: the process and the time still tell replicas apart.
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 24);
            bytes.copy_from_slice(&mixed.to_be_bytes()[2..]);
        }
        let replica: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self { store, replica: replica.into() }
    }

    /// Tells the other replicas holding `session` to read it again from the store (it
    /// changed, or ended): a letter with no message each.
    async fn tell_holders(&self, session: &HttpSession) {
        let holders = lock(&session.holders).clone();
        self.tell(&session.id.to_string(), holders.iter()).await;
    }

    /// Tells `holders` (but this replica) to read the session `id` again.
    async fn tell(&self, id: &str, holders: impl Iterator<Item = &String>) {
        let letters = holders
            .filter(|h| **h != *self.replica)
            .map(|holder| self.store.send(holder, Letter { session: id.to_owned(), message: Vec::new() }));
        for sent in futures_util::future::join_all(letters).await {
            if let Err(e) = sent {
                tracing::debug!("could not tell a replica of session {id}: {e}");
            }
        }
    }

    /// The replica that sent the server → client request `id` answers, when it is
    /// another than this one.
    fn sender_of<'a>(&self, id: &'a Id) -> Option<&'a str> {
        let Id::String(id) = id else { return None };
        let (replica, n) = id.split_once('-')?;
        let named = replica.len() == 12 && replica.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let numbered = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
        (named && numbered && replica != &*self.replica).then_some(replica)
    }
}

/// Why a shared session cannot be found or used.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// No such session (or another principal's).
    NotFound,
    /// The shared store did not answer.
    Unavailable(Unavailable),
    /// A session limit is reached.
    Full(Full),
}

/// The live sessions by id, and how many each caller holds (kept together, under one
/// lock, so that the per-caller bound is checked and taken in one step).
#[derive(Default)]
struct Table {
    by_id: HashMap<SessionId, Arc<HttpSession>>,
    by_caller: Shares,
}

impl Table {
    fn get(&self, id: &SessionId) -> Option<&Arc<HttpSession>> {
        self.by_id.get(id)
    }

    fn len(&self) -> usize {
        self.by_id.len()
    }

    fn values(&self) -> impl Iterator<Item = &Arc<HttpSession>> {
        self.by_id.values()
    }

    /// Adds `session`; returns the one it replaces (a closed copy), if any.
    fn insert(&mut self, session: Arc<HttpSession>) -> Option<Arc<HttpSession>> {
        self.by_caller.take(&session.caller);
        let replaced = self.by_id.insert(session.id, session)?;
        self.by_caller.give_back(&replaced.caller);
        Some(replaced)
    }

    fn remove(&mut self, id: &SessionId) -> Option<Arc<HttpSession>> {
        let session = self.by_id.remove(id)?;
        self.by_caller.give_back(&session.caller);
        Some(session)
    }

    fn drain(&mut self) -> Vec<Arc<HttpSession>> {
        self.by_caller.clear();
        self.by_id.drain().map(|(_, s)| s).collect()
    }

    fn shrink(&mut self) {
        if self.by_id.capacity() > 64 && self.by_id.len() < self.by_id.capacity() / 4 {
            self.by_id.shrink_to_fit();
            self.by_caller.shrink_to_fit();
        }
    }
}

/// Every live session, by id.
pub(crate) struct Sessions {
    map: RwLock<Table>,
    epoch: Instant,
    max: usize,
    /// The most sessions one caller may hold ([`HttpConfig::max_sessions_per_caller`]).
    per_caller: usize,
    /// When the last sweep ran (milliseconds since `epoch`), or [`NEVER`].
    last_sweep: AtomicU64,
    idle: Duration,
    replay_events: usize,
    replay_streams: usize,
    /// `tenet_sessions{transport="streamable_http"}`: up and down with the map (shared
    /// by every endpoint of one server, so it moves rather than being set).
    gauge: Gauge,
    /// Where sessions are shared with other replicas; `None`: they live here only.
    pub shared: Option<SharedSessions>,
}

impl Sessions {
    pub(crate) fn new(config: &HttpConfig, gauge: Gauge) -> Self {
        Self {
            gauge,
            shared: config.session_store.clone().map(SharedSessions::new),
            map: RwLock::new(Table::default()),
            epoch: Instant::now(),
            max: config.max_sessions,
            per_caller: config.max_sessions_per_caller.max(1),
            last_sweep: AtomicU64::new(NEVER),
            idle: config.session_idle_timeout,
            replay_events: config.replay_events,
            replay_streams: config.replay_streams,
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// How many sessions are alive.
    pub(crate) fn len(&self) -> usize {
        self.map.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Creates and registers a session of `server` with a fresh random id, bound to
    /// the principal `grant` names and counted against `caller`.
    ///
    /// # Errors
    /// [`Full`] when `max_sessions` are alive, or `caller` holds
    /// `max_sessions_per_caller`, even after expiring idle ones.
    pub(crate) fn create(
        &self,
        server: &Server,
        shutdown: &CancellationToken,
        grant: Option<Arc<Grant>>,
        caller: &Arc<str>,
    ) -> Result<Arc<HttpSession>, Full> {
        self.room_for(caller)?;
        let id = SessionId::new().ok_or(Full::Total)?;
        self.register(self.build(id, server, shutdown, grant.clone(), owner_of(grant.as_deref()), caller))
    }

    /// Whether a session more fits, in all and for `caller`; when not, idle sessions
    /// are expired first and the question asked again.
    fn room_for(&self, caller: &str) -> Result<(), Full> {
        let check = || {
            let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
            if map.len() >= self.max {
                Err(Full::Total)
            } else if map.by_caller.holds(caller, self.per_caller) {
                Err(Full::Caller(self.per_caller))
            } else {
                Ok(())
            }
        };
        check().or_else(|full| {
            // At most one sweep a second on their account: a caller looping on a refused
            // initialize must not make every refusal a walk of the whole table.
            let now = self.now();
            let last = self.last_sweep.load(Ordering::Relaxed);
            if last != NEVER && now.saturating_sub(last) < 1_000 {
                return Err(full);
            }
            self.sweep();
            check()
        })
    }

    /// A copy of the session `id`, bound to `owner`, not yet registered.
    fn build(
        &self,
        id: SessionId,
        server: &Server,
        shutdown: &CancellationToken,
        grant: Option<Arc<Grant>>,
        owner: Option<SessionOwner>,
        caller: &Arc<str>,
    ) -> Arc<HttpSession> {
        // One copy of the caller's name for all of its sessions.
        let caller = self.map.read().unwrap_or_else(PoisonError::into_inner).by_caller.interned(caller);
        let options = DriverOptions {
            shutdown: shutdown.clone(),
            grant,
            // Its requests name their caller themselves when there are rate limits; this
            // is who its tasks and contexts count against.
            caller: Some(caller.clone()),
            events: Events::Pulled,
            request_ids: self.shared.as_ref().map(|s| s.replica.clone()),
        };
        let session = Arc::new(HttpSession {
            id,
            driver: Driver::without_connection(server.clone(), options),
            owner,
            caller,
            streams: Mutex::new(Streams::new(self.replay_events, self.replay_streams)),
            last_used: AtomicU64::new(self.now()),
            standalone: std::sync::atomic::AtomicBool::new(false),
            revision: AtomicU64::new(0),
            syncing: tokio::sync::Mutex::new(()),
            holders: Mutex::new(Vec::new()),
        });
        if let Some(shared) = &self.shared {
            session.inner().share(&id.to_string());
            // The replica's name, then a count: never one tag for two copies, and any
            // replica reading an event id knows whose lease tells whether it lives.
            static COPIES: AtomicU64 = AtomicU64::new(1);
            let tag = format!("{}-{}", shared.replica, COPIES.fetch_add(1, Ordering::Relaxed));
            session.streams.lock().unwrap_or_else(PoisonError::into_inner).set_origin(tag);
        }
        session
    }

    /// Registers `session`; when a live copy of it is there already (made meanwhile
    /// for another request), that one is kept and returned, and `session` dropped.
    ///
    /// # Errors
    /// [`Full`] when the bounds [`Self::room_for`] checked were reached meanwhile (the
    /// check and the insert are one step here, under the table's lock).
    fn register(&self, session: Arc<HttpSession>) -> Result<Arc<HttpSession>, Full> {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        let refused = match map.get(&session.id) {
            Some(held) if !held.driver.is_closed() => {
                let held = held.clone();
                drop(map);
                session.close();
                return Ok(held);
            }
            Some(_) => None,
            None if map.len() >= self.max => Some(Full::Total),
            None if map.by_caller.holds(&session.caller, self.per_caller) => Some(Full::Caller(self.per_caller)),
            None => None,
        };
        if let Some(full) = refused {
            drop(map);
            session.close();
            return Err(full);
        }
        if map.insert(session.clone()).is_none() {
            self.gauge.inc();
        }
        Ok(session)
    }

    /// This replica's live copy of the session `id`, if it has one.
    fn copy(&self, id: SessionId) -> Option<Arc<HttpSession>> {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        map.get(&id).filter(|s| !s.driver.is_closed()).cloned()
    }

    /// Tells the other replicas of the session `session` just initialized.
    ///
    /// # Errors
    /// The store did not answer, or (never, ids being 128 random bits) already holds a
    /// session with that id.
    pub(crate) async fn publish(&self, session: &HttpSession) -> Result<(), Unavailable> {
        let Some(shared) = &self.shared else { return Ok(()) };
        let mut record =
            session.inner().record(session.owner.clone()).ok_or_else(|| Unavailable("not initialized".into()))?;
        record.holders.insert(shared.replica.to_string());
        match shared.store.create(&session.id.to_string(), &record, self.idle).await? {
            true => Ok(()),
            false => Err(Unavailable(format!("session id {} is taken", session.id))),
        }
    }

    /// The session `id`, if the caller holding `grant` may use it: this replica's copy,
    /// checked against the shared store (taken up from it when this replica has none,
    /// brought up to date when another changed it, dropped when it ended elsewhere).
    pub(crate) async fn find(
        &self,
        id: SessionId,
        server: &Server,
        shutdown: &CancellationToken,
        grant: Option<&Arc<Grant>>,
        caller: impl FnOnce() -> Arc<str>,
    ) -> Result<Arc<HttpSession>, Lookup> {
        let Some(shared) = &self.shared else {
            return self.get(id, grant.map(Arc::as_ref)).ok_or(Lookup::NotFound);
        };
        let Some(record) = shared.store.touch(&id.to_string(), self.idle).await.map_err(Lookup::Unavailable)? else {
            if let Some(local) = self.copy(id) {
                self.forget(&local);
            }
            return Err(Lookup::NotFound);
        };
        if record.owner != owner_of(grant.map(Arc::as_ref)) {
            return Err(Lookup::NotFound);
        }
        // Looked up after the store answered: a copy may have been made, or dropped, meanwhile.
        let session = match self.copy(id) {
            Some(session) => session,
            None => self.take_up(shared, id, &record, server, shutdown, grant, &caller()).await?,
        };
        Self::bring_up_to_date(&session, &record, &shared.replica).await;
        session.last_used.store(self.now(), Ordering::Relaxed);
        Ok(session)
    }

    /// A copy here of the session `id` another replica opened, as `record` has it,
    /// counted against `caller` as the sessions opened here are.
    #[allow(clippy::too_many_arguments)]
    async fn take_up(
        &self,
        shared: &SharedSessions,
        id: SessionId,
        record: &SessionRecord,
        server: &Server,
        shutdown: &CancellationToken,
        grant: Option<&Arc<Grant>>,
        caller: &Arc<str>,
    ) -> Result<Arc<HttpSession>, Lookup> {
        self.room_for(caller).map_err(Lookup::Full)?;
        let fresh = self.build(id, server, shutdown, grant.cloned(), record.owner.clone(), caller);
        if !fresh.driver.restore(record) {
            fresh.close();
            return Err(Lookup::NotFound);
        }
        fresh.revision.store(record.state.revision, Ordering::Release);
        let rules = crate::replay::Resumability::of(record.version);
        fresh.streams.lock().unwrap_or_else(PoisonError::into_inner).set_resumability(rules);
        let session = self.register(fresh).map_err(Lookup::Full)?;
        if !record.holders.contains(&*shared.replica) {
            match shared.store.hold(&id.to_string(), &shared.replica).await {
                Ok(true) => {}
                // Ended meanwhile (and whoever ended it did not know to tell this replica).
                Ok(false) => {
                    self.forget(&session);
                    return Err(Lookup::NotFound);
                }
                // Served all the same; other replicas' changes reach this copy at its next request.
                Err(e) => tracing::debug!("could not record this replica as holding session {id}: {e}"),
            }
        }
        Ok(session)
    }

    /// Brings `session` up to `record` (what the store says): its state, unless this
    /// copy has it already (or a newer one), and who else holds it.
    async fn bring_up_to_date(session: &HttpSession, record: &SessionRecord, me: &str) {
        *lock(&session.holders) = record.holders.iter().filter(|h| *h != me).cloned().collect();
        if record.state.revision <= session.revision.load(Ordering::Acquire) {
            return;
        }
        let _syncing = session.syncing.lock().await;
        // Another request may have brought it further while this one waited.
        if record.state.revision > session.revision.load(Ordering::Acquire) {
            session.driver.apply(&record.state);
            session.revision.store(record.state.revision, Ordering::Release);
        }
    }

    /// Writes the changes requests made to the session's state to the shared store,
    /// before their answers go out, and tells the other replicas holding it.
    ///
    /// # Errors
    /// The store did not answer (the changes are kept, for the next write), or the
    /// session ended meanwhile.
    pub(crate) async fn sync(&self, session: &Arc<HttpSession>) -> Result<(), Unavailable> {
        let Some(shared) = &self.shared else { return Ok(()) };
        let syncing = session.syncing.lock().await;
        let changes = session.inner().take_changes();
        if changes.is_empty() {
            return Ok(());
        }
        // The write runs on its own: a request dropped meanwhile (its client left) does
        // not drop the changes it took from the journal.
        let (store, copy, me) = (shared.store.clone(), session.clone(), shared.replica.clone());
        let written = tokio::spawn(async move {
            match store.change(&copy.id.to_string(), &changes).await {
                Ok(Some(record)) => {
                    // The store's state has every replica's changes, this one's included.
                    copy.driver.apply(&record.state);
                    copy.revision.store(record.state.revision, Ordering::Release);
                    *lock(&copy.holders) = record.holders.iter().filter(|h| **h != *me).cloned().collect();
                    Ok(())
                }
                Ok(None) => Err(Unavailable("the session ended meanwhile".into())),
                Err(e) => {
                    copy.inner().put_back(changes);
                    Err(e)
                }
            }
        })
        .await
        .unwrap_or_else(|e| Err(Unavailable(format!("the write stopped: {e}"))));
        drop(syncing);
        written?;
        shared.tell_holders(session).await;
        Ok(())
    }

    /// Hands what the client sent to the replicas it is for: a response to the one
    /// whose request it answers (true: it is not for this one), a cancellation to every
    /// other replica holding the session (it may be running the request there; false:
    /// it is for this one too).
    pub(crate) async fn forward(&self, session: &HttpSession, message: &Message) -> Result<bool, Unavailable> {
        let Some(shared) = &self.shared else { return Ok(false) };
        let id = session.id.to_string();
        match message {
            Message::Response(response) => {
                let Some(replica) = response.id.as_ref().and_then(|id| shared.sender_of(id)) else { return Ok(false) };
                let mut line = Vec::with_capacity(256);
                tenet_server::jsonrpc::write_response(&mut line, response);
                if !shared.store.send(replica, Letter { session: id, message: line }).await? {
                    // That replica stopped, and whoever awaited the answer with it.
                    tracing::debug!(replica, "an answer for a replica that is gone");
                }
                Ok(true)
            }
            Message::Notification(n) if n.method == tenet_server::protocol::Method::Cancelled.name() => {
                let mut line = Vec::with_capacity(128);
                let params = n.params.as_deref().map(|p| p as &tenet_server::jsonrpc::RawJson);
                tenet_server::jsonrpc::write_notification(&mut line, &n.method, &params);
                let holders = lock(&session.holders).clone();
                let letters =
                    holders.iter().map(|h| shared.store.send(h, Letter { session: id.clone(), message: line.clone() }));
                for sent in futures_util::future::join_all(letters).await {
                    sent?;
                }
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    /// Takes a letter another replica sent this one, for the session's copy here: a
    /// client's response or cancellation, or (no message) word that the session
    /// changed or ended, so it is read again from the store. A letter for a session
    /// this replica no longer holds is dropped.
    pub(crate) async fn deliver(&self, server: &Server, letter: &Letter) {
        if let Some(task) = letter.session.strip_prefix("task:") {
            server.task_letter(task, &letter.message);
            return;
        }
        let (Some(shared), Some(id)) = (&self.shared, SessionId::parse(&letter.session)) else { return };
        let Some(session) = self.copy(id) else { return };
        if letter.message.is_empty() {
            match shared.store.touch(&letter.session, self.idle).await {
                Ok(Some(record)) => Self::bring_up_to_date(&session, &record, &shared.replica).await,
                Ok(None) => self.forget(&session),
                Err(e) => tracing::debug!("could not read session {id} again: {e}"),
            }
            return;
        }
        if let Ok(Incoming::Single(message @ (Message::Response(_) | Message::Notification(_)))) =
            tenet_server::jsonrpc::parse(&letter.message)
            && let Err(e) = session.driver.accept(message)
        {
            tracing::debug!("a forwarded message: {}", e.message);
        }
    }

    /// Drops this replica's copy of `session` (it ended elsewhere, or is idle here).
    fn forget(&self, session: &Arc<HttpSession>) {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if map.get(&session.id).is_some_and(|held| Arc::ptr_eq(held, session)) {
            map.remove(&session.id);
            self.gauge.dec();
        }
        drop(map);
        session.close();
    }

    /// Keeps the shared sessions busy here (requests running, a GET stream open) alive
    /// in the store, and drops the copies of those that ended elsewhere.
    pub(crate) async fn keep_alive(&self) {
        let Some(shared) = &self.shared else { return };
        let busy: Vec<_> =
            self.map.read().unwrap_or_else(PoisonError::into_inner).values().filter(|s| s.busy()).cloned().collect();
        for session in busy {
            match shared.store.touch(&session.id.to_string(), self.idle).await {
                Ok(Some(record)) => Self::bring_up_to_date(&session, &record, &shared.replica).await,
                Ok(None) => self.forget(&session),
                Err(e) => {
                    // The rest would wait as long for the same answer: next time.
                    tracing::debug!("could not keep sessions alive: {e}");
                    return;
                }
            }
        }
    }

    /// The session `id`, marked as used now; `None` when there is none or it belongs
    /// to another principal than `grant`'s (answered as for an unknown session, and
    /// left untouched).
    pub(crate) fn get(&self, id: SessionId, grant: Option<&Grant>) -> Option<Arc<HttpSession>> {
        let session = self.map.read().unwrap_or_else(PoisonError::into_inner).get(&id).cloned()?;
        if !session.belongs_to(grant) {
            return None;
        }
        session.last_used.store(self.now(), Ordering::Relaxed);
        Some(session)
    }

    /// Ends the session `id` on every replica (DELETE); false if there was none, or it
    /// belongs to another principal than `grant`'s.
    ///
    /// # Errors
    /// The shared store did not answer.
    pub(crate) async fn end(&self, id: SessionId, grant: Option<&Arc<Grant>>) -> Result<bool, Lookup> {
        let Some(shared) = &self.shared else { return Ok(self.remove(id, grant.map(Arc::as_ref))) };
        let key = id.to_string();
        let record = shared.store.touch(&key, self.idle).await.map_err(Lookup::Unavailable)?;
        let local = self.copy(id);
        let Some(record) = record else {
            if let Some(local) = local {
                self.forget(&local);
            }
            return Ok(false);
        };
        if record.owner != owner_of(grant.map(Arc::as_ref)) {
            return Ok(false);
        }
        let Some(holders) = shared.store.remove(&key).await.map_err(Lookup::Unavailable)? else {
            // Ended meanwhile by another request.
            if let Some(local) = local {
                self.forget(&local);
            }
            return Ok(false);
        };
        // Every other replica holding it drops its copy, streams and requests included.
        shared.tell(&key, holders.iter()).await;
        if let Some(local) = local {
            self.forget(&local);
        }
        Ok(true)
    }

    /// `session`, whose `initialize` is being answered: ended if the answer never
    /// carries its id (the request went, or failed), or a client that leaves
    /// mid-initialize would hold a share it can neither use nor end.
    pub(crate) fn unanswered<'a>(&'a self, session: &'a HttpSession, grant: Option<&'a Grant>) -> Unanswered<'a> {
        Unanswered { sessions: self, session, grant }
    }

    /// Ends and forgets the session `id` here; false if there was none, or it belongs
    /// to another principal than `grant`'s.
    pub(crate) fn remove(&self, id: SessionId, grant: Option<&Grant>) -> bool {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if !map.get(&id).is_some_and(|s| s.belongs_to(grant)) {
            return false;
        }
        let Some(session) = map.remove(&id) else { return false };
        drop(map);
        self.gauge.dec();
        session.close();
        true
    }

    /// Ends every session idle for longer than the idle timeout; returns how many.
    pub(crate) fn sweep(&self) -> usize {
        let now = self.now();
        self.last_sweep.store(now, Ordering::Relaxed);
        let idle = u64::try_from(self.idle.as_millis()).unwrap_or(u64::MAX);
        let expired: Vec<Arc<HttpSession>> = {
            let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
            let ids: Vec<SessionId> = map
                .values()
                .filter(|s| now.saturating_sub(s.last_used.load(Ordering::Relaxed)) > idle)
                .filter(|s| {
                    // A session with a request running or a GET stream open is in use.
                    let busy = s.busy();
                    if busy {
                        s.last_used.store(now, Ordering::Relaxed);
                    }
                    !busy
                })
                .map(|s| s.id)
                .collect();
            let expired: Vec<_> = ids.iter().filter_map(|id| map.remove(id)).collect();
            self.gauge.dec_by(count(expired.len()));
            map.shrink();
            expired
        };
        for session in &expired {
            session.close();
        }
        expired.len()
    }

    /// Ends every session (the server is shutting down).
    pub(crate) fn close_all(&self) {
        let all = self.map.write().unwrap_or_else(PoisonError::into_inner).drain();
        self.gauge.dec_by(count(all.len()));
        for session in all {
            session.close();
        }
    }
}

/// A number of sessions, as a gauge step.
fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A session whose `initialize` has not been answered with its id
/// ([`Sessions::unanswered`]): ended when dropped, unless [`Unanswered::answered`].
pub(crate) struct Unanswered<'a> {
    sessions: &'a Sessions,
    session: &'a HttpSession,
    grant: Option<&'a Grant>,
}

impl Unanswered<'_> {
    /// The answer carries the session's id: the session stays.
    pub(crate) fn answered(self) {
        std::mem::forget(self);
    }
}

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        self.sessions.remove(self.session.id, self.grant);
    }
}

#[cfg(test)]
mod tests {
    use super::super::new_id;
    use super::*;
    use tenet_server::Principal;
    use tenet_server::jsonrpc::{Id, Request};

    fn sessions(max: usize, idle: Duration) -> Sessions {
        let config = HttpConfig { max_sessions: max, session_idle_timeout: idle, ..HttpConfig::default() };
        Sessions::new(&config, Gauge::default())
    }

    fn server() -> Server {
        Server::builder("t", "1").build().unwrap()
    }

    fn create(store: &Sessions, grant: Option<Arc<Grant>>) -> Arc<HttpSession> {
        open(store, grant, "ip:127.0.0.1").unwrap()
    }

    fn open(store: &Sessions, grant: Option<Arc<Grant>>, caller: &str) -> Result<Arc<HttpSession>, Full> {
        store.create(&server(), &CancellationToken::new(), grant, &Arc::from(caller))
    }

    /// Why `open` was refused (a session has no `Debug`).
    fn refusal(opened: Result<Arc<HttpSession>, Full>) -> Option<Full> {
        opened.err()
    }

    #[test]
    fn a_response_is_another_replicas_only_when_its_id_names_one() {
        let shared = SharedSessions::new(tenet_server::store::MemorySessionStore::new());
        assert_eq!(shared.replica.len(), 12);
        let other = |id: Id| shared.sender_of(&id).map(str::to_owned);
        assert_eq!(other(Id::String("a1b2c3d4e5f6-7".into())).as_deref(), Some("a1b2c3d4e5f6"));
        assert_eq!(other(Id::String(format!("{}-7", shared.replica))), None, "this replica's own");
        for id in [
            Id::Number(7),
            Id::String("7".into()),
            Id::String("-7".into()),
            Id::String("a1b2c3d4e5f6-7x".into()),
            Id::String("a1b2c3d4e5f6-".into()),
            Id::String("A1B2C3D4E5F6-7".into()),
            Id::String("inbox:evil-7".into()),
        ] {
            assert_eq!(other(id.clone()), None, "{id}");
        }
    }

    #[test]
    fn ids_are_random_visible_ascii() {
        let a = new_id().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        assert_ne!(a, new_id().unwrap());
    }

    #[test]
    fn ids_read_back_exactly_as_written() {
        for _ in 0..100 {
            let id = SessionId::new().unwrap();
            assert_eq!(SessionId::parse(&id.to_string()), Some(id));
        }
        assert_eq!(SessionId::parse(&"0".repeat(32)), Some(SessionId(0)));
        assert_eq!(SessionId(1).to_string(), format!("{}1", "0".repeat(31)), "leading zeros are written");
        let written = SessionId(0xabc).to_string();
        for other in [
            written.to_uppercase(),
            format!("+{}", &written[1..]),
            written[1..].to_owned(),
            format!("{written}0"),
            String::new(),
            format!("{}g", &written[1..]),
        ] {
            assert_eq!(SessionId::parse(&other), None, "{other:?}");
        }
    }

    #[tokio::test]
    async fn the_cap_holds_and_removed_sessions_are_gone() {
        let store = sessions(2, Duration::from_secs(60));
        let a = create(&store, None);
        create(&store, None);
        assert_eq!(refusal(open(&store, None, "ip:10.0.0.9")), Some(Full::Total), "full for everyone");
        assert_eq!(store.gauge.get(), 2);
        assert!(store.remove(a.id, None));
        assert_eq!(store.gauge.get(), 1);
        assert!(a.driver.is_closed());
        assert!(store.get(a.id, None).is_none());
        assert!(!store.remove(a.id, None));
        assert!(open(&store, None, "ip:127.0.0.1").is_ok());
    }

    #[tokio::test]
    async fn one_caller_cannot_hold_more_than_its_share_of_sessions() {
        let config = HttpConfig { max_sessions: 10, max_sessions_per_caller: 3, ..HttpConfig::default() };
        let store = Sessions::new(&config, Gauge::default());
        let ann = Arc::new(Grant::new(["read"]).with_principal(Principal::ApiKey("ann".into())));
        let held: Vec<_> = (0..3).map(|_| open(&store, Some(ann.clone()), "key:ann").unwrap()).collect();
        assert_eq!(refusal(open(&store, Some(ann.clone()), "key:ann")), Some(Full::Caller(3)));
        // Everyone else still gets theirs, up to the same share.
        for caller in ["key:bob", "ip:10.0.0.1"] {
            for _ in 0..3 {
                open(&store, None, caller).unwrap();
            }
            assert_eq!(refusal(open(&store, None, caller)), Some(Full::Caller(3)), "{caller}");
        }
        assert_eq!(store.len(), 9);
        // A session ended gives its caller the room back, and only that caller.
        assert!(store.remove(held[0].id, Some(&ann)));
        assert_eq!(refusal(open(&store, None, "key:bob")), Some(Full::Caller(3)));
        let again = open(&store, Some(ann), "key:ann").unwrap();
        assert!(Arc::ptr_eq(&again.caller, &held[1].caller), "one key per caller, shared by its sessions");
        store.close_all();
        assert_eq!(store.len(), 0);
        assert_eq!(refusal(open(&store, None, "key:bob")), None, "counts leave with the sessions");
    }

    #[tokio::test]
    async fn idle_sessions_make_room_for_their_caller() {
        let config = HttpConfig {
            max_sessions: 10,
            max_sessions_per_caller: 1,
            session_idle_timeout: Duration::ZERO,
            ..HttpConfig::default()
        };
        let store = Sessions::new(&config, Gauge::default());
        let first = open(&store, None, "ip:10.0.0.1").unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let second = open(&store, None, "ip:10.0.0.1").unwrap();
        assert!(first.driver.is_closed(), "the idle one expired to make room");
        assert!(!second.driver.is_closed());
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn a_session_answers_only_to_the_principal_that_made_it() {
        let store = sessions(10, Duration::from_secs(60));
        let ann = Arc::new(Grant::new(["read"]).with_principal(Principal::ApiKey("ann".into())));
        let bob = Grant::new(["read"]).with_principal(Principal::ApiKey("bob".into()));
        let session = create(&store, Some(ann.clone()));
        assert!(store.get(session.id, Some(&bob)).is_none());
        assert!(store.get(session.id, None).is_none(), "no credentials is another principal");
        assert!(!store.remove(session.id, Some(&bob)), "another principal cannot delete it");
        assert!(!session.driver.is_closed());
        assert!(
            store
                .get(session.id, Some(&Grant::new(["other"]).with_principal(Principal::ApiKey("ann".into()))))
                .is_some()
        );
        assert!(store.remove(session.id, Some(&ann)));
    }

    #[tokio::test]
    async fn idle_sessions_expire_unless_busy() {
        let store = sessions(100, Duration::ZERO);
        let idle = create(&store, None);
        let busy = create(&store, None);
        // A request whose handler never ends keeps its session busy.
        let (out, _rx) = tokio::sync::mpsc::channel(4);
        let request = Request { id: Id::Number(1), method: "ping".into(), params: None };
        let pending = busy.driver.admit(request, out, None, None);
        std::thread::sleep(Duration::from_millis(5));
        assert!(busy.driver.is_busy());
        assert_eq!(store.sweep(), 1);
        assert!(idle.driver.is_closed());
        assert!(store.get(busy.id, None).is_some());
        drop(pending);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(store.sweep(), 1);
        assert_eq!(store.len(), 0);
        assert_eq!(store.gauge.get(), 0, "expired sessions are not counted");
    }
}
