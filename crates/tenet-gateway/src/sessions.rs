//! An upstream's sessions, one per caller (or per conversation), so that what an MCP
//! server keeps per session — the roots it was told, its log level, its own state — and
//! what it asks or says there reach only the caller that session belongs to.
//!
//! The supervisor's own connection lists and watches the upstream for everyone. A call
//! is made on its caller's session, opened at the caller's first call (for a stdio
//! server, a process of its own) and closed once it has been idle for the table's
//! `session_idle_timeout`. At most `max_sessions` are open at once, and a quarter of
//! them (at least one) for any one owner (a principal, or an address: the sessions of
//! one caller's conversations): past either, the least recently used idle session of
//! the owner, else of anyone, is closed to make room, and when none is idle the caller
//! waits for one up to [`FULL_WAIT`], then is refused with an error that says which
//! bound it met.
//! A session whose connection is lost is forgotten, and the caller's next call opens
//! another: one caller's crashed process fails only that caller's calls. How fast one
//! owner opens sessions is bounded too ([`OPEN_BURST`], then one every [`OPEN_EVERY`]):
//! an owner whose process keeps crashing, or who opens conversation after conversation,
//! waits its turn (up to [`FULL_WAIT`], then is refused), rather than starting process
//! after process on the upstream's host.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use tenet_client::oauth::SubjectToken;
use tenet_client::{Client, ClientError, ClientHandler};
use tokio::sync::{Notify, OnceCell};
use tokio::time::Instant;

/// How long a new caller waits for a session while every one is in use (or while its
/// owner may open none yet).
pub(crate) const FULL_WAIT: Duration = Duration::from_secs(5);

/// How many sessions one owner may open at once, before [`OPEN_EVERY`] applies.
pub(crate) const OPEN_BURST: f64 = 4.0;

/// How often one owner may open a session once its burst is spent.
pub(crate) const OPEN_EVERY: Duration = Duration::from_secs(2);

/// The sessions open at one upstream, by caller.
#[derive(Default)]
pub(crate) struct Sessions {
    slots: Mutex<HashMap<Arc<str>, Slot>>,
    /// The number of the next session opened: what sets its ids apart ([`Lease::tag`]).
    opened: std::sync::atomic::AtomicU64,
    /// Told when a session is no longer in use, or is closed.
    freed: Notify,
    /// Each owner's sessions opened lately ([`OPEN_BURST`], [`OPEN_EVERY`]).
    opening: Opening,
}

/// Each owner's bucket of sessions it may open: [`OPEN_BURST`] full, refilled by one
/// every [`OPEN_EVERY`]. An owner whose bucket is full again is forgotten, so the table
/// holds only owners that opened sessions lately.
#[derive(Default)]
struct Opening(Mutex<HashMap<Arc<str>, (f64, Instant)>>);

impl Opening {
    /// Takes one opening for `owner` at `now`, or says how long until it may.
    fn take(&self, owner: &Arc<str>, now: Instant) -> Result<(), Duration> {
        let every = OPEN_EVERY.as_secs_f64();
        let level =
            |(tokens, at): (f64, Instant)| (tokens + now.duration_since(at).as_secs_f64() / every).min(OPEN_BURST);
        let mut owners = lock(&self.0);
        let bucket = owners.entry(Arc::clone(owner)).or_insert((OPEN_BURST, now));
        let tokens = level(*bucket);
        if tokens < 1.0 {
            return Err(OPEN_EVERY.mul_f64(1.0 - tokens));
        }
        *bucket = (tokens - 1.0, now);
        if owners.len() > 64 {
            owners.retain(|_, bucket| level(*bucket) < OPEN_BURST);
        }
        Ok(())
    }
}

/// One caller's session: its connection once made (every call of the caller waits on
/// the same making), the calls relayed on it now, and when it was last used.
struct Slot {
    /// Its key in the table, kept for the calls that take it.
    key: Arc<str>,
    /// [`Lease::tag`].
    tag: Arc<str>,
    /// Whom it counts against.
    owner: Arc<str>,
    client: Arc<OnceCell<Client>>,
    callers: Arc<Callers>,
    in_use: usize,
    last_used: Instant,
}

/// The requests of one caller being relayed on its session: what the upstream asks or
/// says there outside any one of them goes to the one in flight, and nowhere when there
/// is none or several.
#[derive(Default)]
pub(crate) struct Callers {
    handlers: Mutex<Vec<Weak<dyn ClientHandler>>>,
    /// The OAuth token its caller presented last, for an upstream that takes a token
    /// of the caller's by exchange ([`crate::OAuthClient::token_exchange`]).
    token: SubjectToken,
}

impl Callers {
    /// The caller's OAuth token of the moment, for a token exchange.
    pub(crate) fn token(&self) -> &SubjectToken {
        &self.token
    }

    /// The one request being relayed, when there is exactly one.
    pub(crate) fn only(&self) -> Option<Arc<dyn ClientHandler>> {
        let callers = lock(&self.handlers);
        let mut live = callers.iter().filter_map(Weak::upgrade);
        let only = live.next()?;
        live.next().is_none().then_some(only)
    }
}

/// Why a caller got no session.
#[derive(Debug)]
pub(crate) enum NoSession {
    /// Every session is in use and none became free in time.
    Full {
        /// The most sessions the upstream may have.
        max: usize,
    },
    /// Every session of the owner's share is in use and none became free in time.
    Share {
        /// The most sessions one owner may have there.
        share: usize,
    },
    /// The owner opened sessions faster than it may, and its turn did not come in time.
    Rate {
        /// How long until it may open one.
        retry: Duration,
    },
    /// Opening it failed.
    Connect(ClientError),
}

/// One call's use of a session, from the moment it is counted (before the session is
/// open: the caller may go away while it opens) until dropped.
struct Use {
    pool: Arc<Sessions>,
    key: Arc<str>,
    tag: Arc<str>,
    cell: Arc<OnceCell<Client>>,
    callers: Arc<Callers>,
    handler: Weak<dyn ClientHandler>,
    lost: bool,
}

impl Drop for Use {
    fn drop(&mut self) {
        lock(&self.callers.handlers).retain(|h| !Weak::ptr_eq(h, &self.handler) && h.strong_count() > 0);
        if let Some(client) = self.pool.release(&self.key, &self.cell, self.lost) {
            spawn_close(client);
        }
    }
}

/// A caller's open session, in use until dropped.
pub(crate) struct Lease {
    session: Use,
    client: Client,
}

impl Lease {
    /// The session's connection.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The session's caller's OAuth token of the moment, for a token exchange.
    pub(crate) fn token(&self) -> &SubjectToken {
        self.session.callers.token()
    }

    /// What sets the ids the upstream makes on this session (of URL steps) apart from
    /// those it makes on other callers' sessions, put before them where the gateway
    /// passes them on (`s7/`: two processes may both number their steps from 1).
    pub(crate) fn tag(&self) -> &Arc<str> {
        &self.session.tag
    }

    /// The connection was lost: the session is forgotten (and closed once no call uses
    /// it), so that the caller's next call opens another.
    pub(crate) fn lost(&mut self) {
        self.session.lost = true;
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How long closing an upstream's connection may take.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// Closes an upstream's connection, waiting at most [`CLOSE_WAIT`] (a hung HTTP server
/// may never answer the session's DELETE; a stdio server is stopped either way).
pub(crate) async fn close(client: Client) {
    if tokio::time::timeout(CLOSE_WAIT, client.close()).await.is_err() {
        tracing::debug!("an upstream connection did not close in time");
    }
}

/// Closes `client` in the background, if there is a runtime to do it on (else dropping
/// it closes it: a stdio server is stopped).
fn spawn_close(client: Client) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(close(client));
    }
}

impl Sessions {
    /// How many sessions are open or opening.
    pub(crate) fn len(&self) -> usize {
        lock(&self.slots).len()
    }

    /// The session of `key`, opened with `connect` (given the session's [`Callers`] and
    /// [`Lease::tag`], which `tagged` is told first, before the session is used)
    /// when there is none; `handler` (the request's own) hears what the upstream says on
    /// the session outside any request while the lease lives. At most `max` sessions:
    /// see the module's documentation.
    pub(crate) async fn lease<F, C>(
        self: &Arc<Self>,
        key: &str,
        owner: &Arc<str>,
        max: usize,
        handler: Weak<dyn ClientHandler>,
        tagged: impl FnOnce(&Arc<str>),
        connect: C,
    ) -> Result<Lease, NoSession>
    where
        C: FnOnce(Arc<Callers>, Arc<str>) -> F,
        F: Future<Output = Result<Client, ClientError>>,
    {
        let deadline = Instant::now() + FULL_WAIT;
        let session = loop {
            // Made before looking: a session freed in between still wakes it.
            let freed = self.freed.notified();
            let mut closing = Vec::new();
            let taken = self.take(&mut lock(&self.slots), key, owner, max, &handler, &mut closing);
            closing.into_iter().for_each(spawn_close);
            match taken {
                Ok(session) => break session,
                // Its owner's turn to open one comes after a while, or too late.
                Err(NoSession::Rate { retry }) if Instant::now() + retry <= deadline => tokio::time::sleep(retry).await,
                Err(refused @ NoSession::Rate { .. }) => return Err(refused),
                Err(refused) if tokio::time::timeout_at(deadline, freed).await.is_err() => return Err(refused),
                Err(_) => {}
            }
        };
        tagged(&session.tag);
        let (callers, tag) = (Arc::clone(&session.callers), Arc::clone(&session.tag));
        match session.cell.get_or_try_init(|| connect(callers, tag)).await {
            Ok(client) => {
                let client = client.clone();
                Ok(Lease { session, client })
            }
            // Another call of the caller's waiting on the same making tries again; the
            // slot goes when the last gives up.
            Err(e) => Err(NoSession::Connect(e)),
        }
    }

    /// Gives back one use of `key`'s session (`cell`): when `lost`, or never opened
    /// and no longer in use, the session is forgotten; returned for closing when no
    /// call uses it any more.
    fn release(&self, key: &Arc<str>, cell: &Arc<OnceCell<Client>>, lost: bool) -> Option<Client> {
        let mut slots = lock(&self.slots);
        // A lost session may have been replaced meanwhile (or all were closed): only its
        // own slot is touched; forgotten already, the last call to use it closes it.
        let Some(slot) = slots.get_mut(key).filter(|slot| Arc::ptr_eq(&slot.client, cell)) else {
            return if Arc::strong_count(cell) == 1 { cell.get().cloned() } else { None };
        };
        slot.in_use = slot.in_use.saturating_sub(1);
        slot.last_used = Instant::now();
        let forget = lost || (slot.in_use == 0 && cell.get().is_none());
        let closing = if forget {
            let slot = slots.remove(key)?;
            // Calls still using a lost one end on their own; the last closes it.
            if slot.in_use == 0 { slot.client.get().cloned() } else { None }
        } else {
            None
        };
        drop(slots);
        self.freed.notify_waiters();
        closing
    }

    /// Forgets the sessions idle for `idle` or longer, and closes them in the
    /// background.
    pub(crate) fn close_idle(&self, idle: Duration) {
        let now = Instant::now();
        let mut closing = Vec::new();
        lock(&self.slots).retain(|_, slot| {
            let keep = slot.in_use > 0 || now.duration_since(slot.last_used) < idle;
            if !keep {
                closing.extend(slot.client.get().cloned());
            }
            keep
        });
        if !closing.is_empty() {
            tracing::debug!(sessions = closing.len(), "closing idle upstream sessions");
            self.freed.notify_waiters();
        }
        closing.into_iter().for_each(spawn_close);
    }

    /// Forgets every session and closes them (calls still using one fail as it closes;
    /// one still opening is closed by its last call).
    pub(crate) async fn close_all(&self) {
        let closing: Vec<Client> =
            lock(&self.slots).drain().filter_map(|(_, slot)| slot.client.get().cloned()).collect();
        self.freed.notify_waiters();
        futures_util::future::join_all(closing.into_iter().map(close)).await;
    }
}

/// The most sessions one owner may have at an upstream that may have `max`: a
/// quarter, at least one.
fn owner_share(max: usize) -> usize {
    (max / 4).max(1)
}

impl Sessions {
    /// The session opened or opening for `key` (of `owner`), taken for one more call (by
    /// the request `handler`): a new one when it has none and there is room, made by
    /// closing the least recently used idle session (the owner's own first, and only
    /// its own when its share is full) when there is not (its connection added to
    /// `closing`); refused, with the bound it met, when every session that could give
    /// way is in use.
    fn take(
        self: &Arc<Self>,
        slots: &mut HashMap<Arc<str>, Slot>,
        key: &str,
        owner: &Arc<str>,
        max: usize,
        handler: &Weak<dyn ClientHandler>,
        closing: &mut Vec<Client>,
    ) -> Result<Use, NoSession> {
        let taken = |slot: &Slot| Use {
            pool: Arc::clone(self),
            key: Arc::clone(&slot.key),
            tag: Arc::clone(&slot.tag),
            cell: Arc::clone(&slot.client),
            callers: Arc::clone(&slot.callers),
            handler: handler.clone(),
            lost: false,
        };
        if let Some(slot) = slots.get_mut(key) {
            slot.in_use += 1;
            lock(&slot.callers.handlers).push(handler.clone());
            return Ok(taken(slot));
        }
        let idle_of = |slots: &HashMap<Arc<str>, Slot>, mine: bool| {
            let idle = slots.values().filter(|s| s.in_use == 0 && (!mine || s.owner == *owner));
            idle.min_by_key(|s| s.last_used).map(|s| Arc::clone(&s.key))
        };
        let share = owner_share(max);
        let held = slots.values().filter(|s| s.owner == *owner).count();
        let room = if held >= share {
            Some(idle_of(slots, true).ok_or(NoSession::Share { share })?)
        } else if slots.len() >= max {
            // The caller's own idle session first: another's gives way only when it has none.
            Some(idle_of(slots, true).or_else(|| idle_of(slots, false)).ok_or(NoSession::Full { max })?)
        } else {
            None
        };
        // There is room: its owner's turn to open one, before anything gives way for it
        // (a caller waiting for room takes no turn while it waits).
        self.opening.take(owner, Instant::now()).map_err(|retry| NoSession::Rate { retry })?;
        if let Some(removed) = room.and_then(|key| slots.remove(&key)) {
            closing.extend(removed.client.get().cloned());
        }
        let opened = self.opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key: Arc<str> = Arc::from(key);
        let slot = Slot {
            key: Arc::clone(&key),
            tag: Arc::from(format!("s{opened}/")),
            owner: Arc::clone(owner),
            client: Arc::new(OnceCell::new()),
            callers: Arc::new(Callers { handlers: Mutex::new(vec![handler.clone()]), token: SubjectToken::default() }),
            in_use: 1,
            last_used: Instant::now(),
        };
        let session = taken(&slot);
        slots.insert(key, slot);
        Ok(session)
    }
}
