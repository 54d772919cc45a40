//! Legacy sessions (`Mcp-Session-Id`): the store, what each session holds, and expiry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tenet_server::jsonrpc::{Id, Incoming, Message};
use tenet_server::prometheus_client::metrics::gauge::Gauge;
use tenet_server::store::{Letter, SessionOwner, SessionRecord, SessionStore, Unavailable};
use tenet_server::{CancellationToken, Driver, DriverOptions, Events, Grant, Server, Session};
use tokio::sync::mpsc;

use crate::config::HttpConfig;
use crate::replay::Streams;

/// Server → client messages not tied to a request, waiting for the GET stream.
const STANDALONE_CAPACITY: usize = 32;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One legacy session as the HTTP endpoint sees it.
pub(crate) struct HttpSession {
    /// The `Mcp-Session-Id`.
    pub id: SessionId,
    /// The session driver: the runtime's session, requests in flight, notifications.
    pub driver: Driver,
    /// Who created the session (the grant's subject); only they may use it.
    owner: Option<SessionOwner>,
    /// Its SSE streams, for replay.
    pub streams: Mutex<Streams>,
    last_used: AtomicU64,
    /// The driver's own channel (notifications, requests not tied to a POST); taken
    /// by the GET stream while one is open.
    standalone: Mutex<Option<mpsc::Receiver<Vec<u8>>>>,
    /// The revision of the shared state this copy holds (shared sessions only).
    revision: AtomicU64,
    /// Held while changes to the state are written to the shared store, so that no
    /// request of the session is answered before the changes it made are shared.
    syncing: tokio::sync::Mutex<()>,
}

/// The principal requests carrying `grant` act for; `None` when there is no access
/// control. A session is bound to its creator's.
pub(crate) fn owner_of(grant: Option<&Grant>) -> Option<SessionOwner> {
    grant.map(|g| SessionOwner { subject: g.subject().map(str::to_owned) })
}

impl HttpSession {
    /// The runtime's session (negotiated version, log level, subscriptions, peer).
    pub(crate) fn inner(&self) -> &Arc<Session> {
        self.driver.session()
    }

    /// Whether a request carrying `grant` may use this session: the same principal
    /// that created it (or no access control at all).
    pub(crate) fn belongs_to(&self, grant: Option<&Grant>) -> bool {
        self.owner == owner_of(grant)
    }

    /// Takes the standalone channel for a GET stream; `None` if a GET stream is open.
    pub(crate) fn take_standalone(&self) -> Option<mpsc::Receiver<Vec<u8>>> {
        lock(&self.standalone).take()
    }

    /// Gives the standalone channel back when the GET stream ends.
    pub(crate) fn return_standalone(&self, rx: mpsc::Receiver<Vec<u8>>) {
        *lock(&self.standalone) = Some(rx);
    }

    fn busy(&self) -> bool {
        self.driver.is_busy() || lock(&self.standalone).is_none()
    }

    /// Ends the session (DELETE, expiry, shutdown): its requests are cancelled and its
    /// streams end (`driver.closed()` fires).
    fn close(&self) {
        self.driver.close_now();
    }
}

/// The session limit is reached.
#[derive(Debug)]
pub(crate) struct Full;

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
    pub(crate) fn new(store: Arc<dyn SessionStore>) -> Option<Self> {
        let mut bytes = [0u8; 6];
        getrandom::fill(&mut bytes).ok()?;
        let replica: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Some(Self { store, replica: replica.into() })
    }

    /// The replica that sent the server → client request `id` answers, when it is
    /// another than this one.
    fn sender_of<'a>(&self, id: &'a Id) -> Option<&'a str> {
        let Id::String(id) = id else { return None };
        let (replica, n) = id.rsplit_once('-')?;
        let ours = !replica.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && replica != &*self.replica;
        ours.then_some(replica)
    }
}

/// Why a shared session cannot be found or used.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// No such session (or another principal's).
    NotFound,
    /// The shared store did not answer.
    Unavailable(Unavailable),
    /// The session limit is reached.
    Full,
}

/// Every live session, by id.
pub(crate) struct Sessions {
    map: RwLock<HashMap<SessionId, Arc<HttpSession>>>,
    epoch: Instant,
    max: usize,
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
            shared: config.session_store.clone().and_then(SharedSessions::new),
            map: RwLock::new(HashMap::new()),
            epoch: Instant::now(),
            max: config.max_sessions,
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
    /// the principal `grant` names.
    ///
    /// # Errors
    /// [`Full`] when `max_sessions` are alive, even after expiring idle ones.
    pub(crate) fn create(
        &self,
        server: &Server,
        shutdown: &CancellationToken,
        grant: Option<Arc<Grant>>,
    ) -> Result<Arc<HttpSession>, Full> {
        if self.len() >= self.max {
            self.sweep();
            if self.len() >= self.max {
                return Err(Full);
            }
        }
        let id = SessionId::new().ok_or(Full)?;
        Ok(self.insert(id, server, shutdown, grant.clone(), owner_of(grant.as_deref())))
    }

    /// A session `id` here, bound to `owner`.
    fn insert(
        &self,
        id: SessionId,
        server: &Server,
        shutdown: &CancellationToken,
        grant: Option<Arc<Grant>>,
        owner: Option<SessionOwner>,
    ) -> Arc<HttpSession> {
        let (tx, rx) = mpsc::channel(STANDALONE_CAPACITY);
        let options = DriverOptions {
            shutdown: shutdown.clone(),
            grant,
            rate_limit: None,
            events: Events::Pulled,
            request_ids: self.shared.as_ref().map(|s| s.replica.clone()),
        };
        let session = Arc::new(HttpSession {
            id,
            driver: Driver::new(server.clone(), tx, options),
            owner,
            streams: Mutex::new(Streams::new(self.replay_events, self.replay_streams)),
            last_used: AtomicU64::new(self.now()),
            standalone: Mutex::new(Some(rx)),
            revision: AtomicU64::new(0),
            syncing: tokio::sync::Mutex::new(()),
        });
        if self.shared.is_some() {
            session.inner().share();
        }
        let previous = self.map.write().unwrap_or_else(PoisonError::into_inner).insert(id, session.clone());
        match previous {
            Some(previous) => previous.close(),
            None => {
                self.gauge.inc();
            }
        }
        session
    }

    /// Tells the other replicas of the session `session` just initialized.
    ///
    /// # Errors
    /// The store did not answer, or (never, ids being 128 random bits) already holds a
    /// session with that id.
    pub(crate) async fn publish(&self, session: &HttpSession) -> Result<(), Unavailable> {
        let Some(shared) = &self.shared else { return Ok(()) };
        let record =
            session.inner().record(session.owner.clone()).ok_or_else(|| Unavailable("not initialized".into()))?;
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
    ) -> Result<Arc<HttpSession>, Lookup> {
        let local = self.map.read().unwrap_or_else(PoisonError::into_inner).get(&id).cloned();
        let Some(shared) = &self.shared else {
            return self.get(id, grant.map(Arc::as_ref)).ok_or(Lookup::NotFound);
        };
        let Some(record) = shared.store.touch(&id.to_string(), self.idle).await.map_err(Lookup::Unavailable)? else {
            if let Some(local) = local {
                self.forget(&local);
            }
            return Err(Lookup::NotFound);
        };
        if record.owner != owner_of(grant.map(Arc::as_ref)) {
            return Err(Lookup::NotFound);
        }
        let session = match local {
            Some(session) => {
                if record.state.revision > session.revision.load(Ordering::Acquire) {
                    let _syncing = session.syncing.lock().await;
                    session.driver.apply(&record.state);
                    session.revision.fetch_max(record.state.revision, Ordering::AcqRel);
                }
                session
            }
            None => self.take_up(id, record, server, shutdown, grant)?,
        };
        session.last_used.store(self.now(), Ordering::Relaxed);
        Ok(session)
    }

    /// A copy here of the session `id` another replica opened.
    fn take_up(
        &self,
        id: SessionId,
        record: SessionRecord,
        server: &Server,
        shutdown: &CancellationToken,
        grant: Option<&Arc<Grant>>,
    ) -> Result<Arc<HttpSession>, Lookup> {
        if self.len() >= self.max {
            self.sweep();
            if self.len() >= self.max {
                return Err(Lookup::Full);
            }
        }
        let session = self.insert(id, server, shutdown, grant.cloned(), record.owner.clone());
        if !session.driver.restore(&record) {
            self.forget(&session);
            return Err(Lookup::NotFound);
        }
        session.revision.store(record.state.revision, Ordering::Release);
        let rules = crate::replay::Resumability::of(record.version);
        session.streams.lock().unwrap_or_else(PoisonError::into_inner).set_resumability(rules);
        Ok(session)
    }

    /// Writes the changes requests made to the session's state to the shared store,
    /// before their answers go out.
    ///
    /// # Errors
    /// The store did not answer: the changes hold on this replica only.
    pub(crate) async fn sync(&self, session: &HttpSession) -> Result<(), Unavailable> {
        let Some(shared) = &self.shared else { return Ok(()) };
        let _syncing = session.syncing.lock().await;
        let changes = session.inner().take_changes();
        if changes.is_empty() {
            return Ok(());
        }
        match shared.store.change(&session.id.to_string(), &changes).await? {
            Some(revision) => {
                session.revision.fetch_max(revision, Ordering::AcqRel);
                Ok(())
            }
            None => Err(Unavailable("the session ended meanwhile".into())),
        }
    }

    /// Hands a client's response that another replica awaits to that replica: true
    /// when `message` is one (sent on, or lost with the store).
    pub(crate) async fn forward(&self, session: &HttpSession, message: &Message) -> Result<bool, Unavailable> {
        let (Some(shared), Message::Response(response)) = (&self.shared, message) else { return Ok(false) };
        let Some(replica) = response.id.as_ref().and_then(|id| shared.sender_of(id)) else { return Ok(false) };
        let mut line = Vec::with_capacity(256);
        tenet_server::jsonrpc::write_response(&mut line, response);
        shared.store.send(replica, Letter { session: session.id.to_string(), message: line }).await?;
        Ok(true)
    }

    /// Takes a letter another replica sent this one: a client's response for the
    /// session's copy here. A letter for a session this replica no longer holds is
    /// dropped (whoever awaited it is gone).
    pub(crate) fn deliver(&self, letter: &Letter) {
        let Some(id) = SessionId::parse(&letter.session) else { return };
        let Some(session) = self.map.read().unwrap_or_else(PoisonError::into_inner).get(&id).cloned() else { return };
        if let Ok(Incoming::Single(message @ Message::Response(_))) = tenet_server::jsonrpc::parse(&letter.message)
            && let Err(e) = session.driver.accept(message)
        {
            tracing::debug!("a forwarded response: {}", e.message);
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
                Ok(Some(_)) => {}
                Ok(None) => self.forget(&session),
                Err(e) => tracing::debug!("could not keep session {} alive: {e}", session.id),
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
    pub(crate) async fn end(
        &self,
        id: SessionId,
        server: &Server,
        shutdown: &CancellationToken,
        grant: Option<&Arc<Grant>>,
    ) -> Result<bool, Lookup> {
        let Some(shared) = &self.shared else { return Ok(self.remove(id, grant.map(Arc::as_ref))) };
        let session = match self.find(id, server, shutdown, grant).await {
            Ok(session) => session,
            Err(Lookup::NotFound) => return Ok(false),
            Err(e) => return Err(e),
        };
        let removed = shared.store.remove(&id.to_string()).await.map_err(Lookup::Unavailable)?;
        self.forget(&session);
        Ok(removed)
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
            if map.capacity() > 64 && map.len() < map.capacity() / 4 {
                map.shrink_to_fit();
            }
            expired
        };
        for session in &expired {
            session.close();
        }
        expired.len()
    }

    /// Ends every session (the server is shutting down).
    pub(crate) fn close_all(&self) {
        let all: Vec<_> = self.map.write().unwrap_or_else(PoisonError::into_inner).drain().map(|(_, s)| s).collect();
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

/// A session id: 128 random bits from the OS, written as 32 lowercase hex digits
/// (visible ASCII). Kept as the number, so an idle session holds no string for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SessionId(u128);

impl SessionId {
    /// A fresh id; `None` if the OS has no randomness to give.
    pub(crate) fn new() -> Option<Self> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).ok()?;
        Some(Self(u128::from_be_bytes(bytes)))
    }

    /// The id `text` names, if it is one this server could have written (exactly 32
    /// lowercase hex digits); anything else names no session.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let digits = text.len() == 32 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        digits.then(|| u128::from_str_radix(text, 16).ok()).flatten().map(Self)
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// A fresh session id as text (HTTP+SSE sessions).
pub(crate) fn new_id() -> Option<String> {
    SessionId::new().map(|id| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenet_server::jsonrpc::{Id, Request};

    fn sessions(max: usize, idle: Duration) -> Sessions {
        let config = HttpConfig { max_sessions: max, session_idle_timeout: idle, ..HttpConfig::default() };
        Sessions::new(&config, Gauge::default())
    }

    fn server() -> Server {
        Server::builder("t", "1").build().unwrap()
    }

    fn create(store: &Sessions, grant: Option<Arc<Grant>>) -> Arc<HttpSession> {
        store.create(&server(), &CancellationToken::new(), grant).unwrap()
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
        assert!(store.create(&server(), &CancellationToken::new(), None).is_err());
        assert_eq!(store.gauge.get(), 2);
        assert!(store.remove(a.id, None));
        assert_eq!(store.gauge.get(), 1);
        assert!(a.driver.is_closed());
        assert!(store.get(a.id, None).is_none());
        assert!(!store.remove(a.id, None));
        assert!(store.create(&server(), &CancellationToken::new(), None).is_ok());
    }

    #[tokio::test]
    async fn a_session_answers_only_to_the_principal_that_made_it() {
        let store = sessions(10, Duration::from_secs(60));
        let ann = Arc::new(Grant::new(["read"]).with_subject("ann"));
        let bob = Grant::new(["read"]).with_subject("bob");
        let session = create(&store, Some(ann.clone()));
        assert!(store.get(session.id, Some(&bob)).is_none());
        assert!(store.get(session.id, None).is_none(), "no credentials is another principal");
        assert!(!store.remove(session.id, Some(&bob)), "another principal cannot delete it");
        assert!(!session.driver.is_closed());
        assert!(store.get(session.id, Some(&Grant::new(["other"]).with_subject("ann"))).is_some());
        assert!(store.remove(session.id, Some(&ann)));
    }

    #[tokio::test]
    async fn idle_sessions_expire_unless_busy() {
        let store = sessions(100, Duration::ZERO);
        let idle = create(&store, None);
        let busy = create(&store, None);
        // A request whose handler never ends keeps its session busy.
        let (out, _rx) = mpsc::channel(4);
        let request = Request { id: Id::Number(1), method: "ping".into(), params: None };
        let pending = busy.driver.admit(request, out, None);
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
