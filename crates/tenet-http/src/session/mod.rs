//! Legacy sessions (`Mcp-Session-Id`): what each session holds; their table, shares
//! and expiry are [`table`]'s.

mod answers;
mod table;

pub(crate) use answers::{not_found, required};
pub(crate) use table::{Full, Lookup, Sessions};

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tenet_server::store::SessionOwner;
use tenet_server::{Driver, Grant, Session};

use crate::replay::Streams;

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
    /// What the session counts against in the per-caller bound: the principal, or the
    /// client's address when there is no authorization ([`crate::caller::Caller::key`]).
    caller: Arc<str>,
    /// Its SSE streams, for replay.
    pub streams: Mutex<Streams>,
    last_used: AtomicU64,
    /// Whether its GET stream (list changes and resource updates, pulled) is open: one
    /// at a time. The session holds no channel of its own: what the server sends about
    /// a request goes on that request's POST stream.
    standalone: std::sync::atomic::AtomicBool,
    /// The revision of the shared state this copy holds (shared sessions only).
    revision: AtomicU64,
    /// Held while the state is written to the shared store or brought up to date
    /// from it, so that no request of the session is answered before the changes it
    /// made are shared, and no older state overwrites a newer one.
    syncing: tokio::sync::Mutex<()>,
    /// The other replicas that hold a copy, as the store last said (shared sessions
    /// only): those told when the session changes or ends here.
    holders: Mutex<Vec<String>>,
}

/// The principal requests carrying `grant` act for; `None` when there is no access
/// control. A session is bound to its creator's.
pub(crate) fn owner_of(grant: Option<&Grant>) -> Option<SessionOwner> {
    grant.map(|g| SessionOwner { subject: g.owner().map(str::to_owned) })
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

    /// Takes the session's one GET stream; `false` if one is open.
    pub(crate) fn take_standalone(&self) -> bool {
        !self.standalone.swap(true, std::sync::atomic::Ordering::AcqRel)
    }

    /// Gives the GET stream back when it ends.
    pub(crate) fn return_standalone(&self) {
        self.standalone.store(false, std::sync::atomic::Ordering::Release);
    }

    fn busy(&self) -> bool {
        self.driver.is_busy() || self.standalone.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Ends the session (DELETE, expiry, shutdown): its requests are cancelled and its
    /// streams end (`driver.closed()` fires).
    fn close(&self) {
        self.driver.close_now();
    }
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
