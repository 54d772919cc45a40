//! Legacy-era session state: what `initialize` negotiated, the log level, subscriptions.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tenet_jsonrpc::Id;
use tenet_protocol::{ClientCapabilities, Implementation, LoggingLevel, ProtocolVersion};
use tokio_util::sync::CancellationToken;

use super::{MAX_SUBSCRIPTIONS, Peer, Subscription, Subscriptions};
use crate::store::{SessionChange, SessionOwner, SessionRecord, SessionState};
use crate::tasks::TaskStore;

/// One legacy session: a stdio process after `initialize`, or one `Mcp-Session-Id`.
#[derive(Debug)]
pub struct Session {
    negotiated: Mutex<Option<Arc<Negotiated>>>,
    log_level: AtomicU8,
    subscriptions: Mutex<HashMap<String, Subscription>>,
    peer: Arc<Peer>,
    tasks: TaskStore,
    /// The client's requests being served, by id, with what cancels each (kept here,
    /// beside the rest, so an idle session is one allocation less).
    in_flight: Mutex<crate::FastMap<Id, CancellationToken>>,
    /// The id of the session's conversation context, made when a tool first writes to
    /// it (unless the client names its conversation itself).
    context: std::sync::OnceLock<tenet_protocol::context::ContextId>,
    /// What only a session replicas share has ([`Session::share`]).
    shared: std::sync::OnceLock<Box<Sharing>>,
    /// The ids of the URL-mode elicitations the client was sent and not yet told
    /// were completed, oldest first ([`Session::expect_url_step`]).
    url_steps: Mutex<VecDeque<String>>,
}

/// A session remembers at most this many URL-mode elicitations awaiting completion:
/// the oldest of more is forgotten (its client is then not told it completed, and
/// finds out by calling again).
const MAX_URL_STEPS: usize = 32;

/// A shared session's own: its changes not yet written to the store, and its
/// conversation's id, the same on every replica.
#[derive(Debug)]
struct Sharing {
    /// The session's id.
    id: String,
    journal: Mutex<Vec<SessionChange>>,
    /// The ids of the session's tasks (2025-11-25), wherever they run.
    tasks: Mutex<std::collections::BTreeSet<String>>,
    /// Derived from the session's id: every replica knows it without asking.
    context: tenet_protocol::context::ContextId,
    /// Whether another replica made the conversation (it is then this one's too).
    conversation_elsewhere: std::sync::atomic::AtomicBool,
}

/// What `initialize` settled.
#[derive(Debug, Clone)]
pub struct Negotiated {
    /// The version both sides speak.
    pub version: ProtocolVersion,
    /// What the client can do.
    pub client: Arc<ClientCapabilities>,
    /// Who the client is.
    pub client_info: Implementation,
}

/// Room for this many requests in flight is kept when none are: what a burst took
/// beyond it is given back.
const IN_FLIGHT_ROOM: usize = 16;

/// The most requests one session may have in flight at once, on every transport: a
/// stream's reader waits past `max_concurrent_requests` (256 by default), but a batch
/// is admitted whole and Streamable HTTP posts each request on its own; past this, a
/// request is refused (-32004) until one ends. It bounds the session's table of ids, whose
/// keys its client picks.
pub(crate) const MAX_IN_FLIGHT: usize = 1024;

/// When a request refused past [`MAX_IN_FLIGHT`] is told to retry (`retryAfterMs`): most
/// requests end well within it.
pub(crate) const IN_FLIGHT_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// Why [`Session::track`] did not take a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Untracked {
    /// A request with that id is in flight already.
    Duplicate,
    /// [`MAX_IN_FLIGHT`] requests are.
    Full,
}

const LEVELS: [LoggingLevel; 8] = [
    LoggingLevel::Debug,
    LoggingLevel::Info,
    LoggingLevel::Notice,
    LoggingLevel::Warning,
    LoggingLevel::Error,
    LoggingLevel::Critical,
    LoggingLevel::Alert,
    LoggingLevel::Emergency,
];

impl Session {
    /// A session whose server → client traffic goes through `peer`.
    pub fn new(peer: Arc<Peer>) -> Self {
        Self {
            negotiated: Mutex::new(None),
            log_level: AtomicU8::new(0),
            subscriptions: Mutex::new(HashMap::new()),
            peer,
            tasks: TaskStore::default(),
            in_flight: Mutex::new(crate::FastMap::default()),
            context: std::sync::OnceLock::new(),
            shared: std::sync::OnceLock::new(),
            url_steps: Mutex::new(VecDeque::new()),
        }
    }

    /// Makes this the copy of a session replicas share, whose id is `id`: from now on
    /// every change to its state is kept until [`Session::take_changes`], for the
    /// store; and its conversation, when it has one, has an id derived from `id` (a
    /// digest: it tells nothing of the session id), the same on every replica.
    pub fn share(&self, id: &str) {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("io.tenet/context:{id}").as_bytes());
        let text: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        let Ok(context) = text.parse() else { return };
        self.shared.get_or_init(|| {
            Box::new(Sharing {
                id: id.to_owned(),
                journal: Mutex::new(Vec::new()),
                tasks: Mutex::default(),
                context,
                conversation_elsewhere: std::sync::atomic::AtomicBool::new(false),
            })
        });
    }

    /// The id of the session, when replicas share it.
    pub(crate) fn shared_id(&self) -> Option<&str> {
        self.shared.get().map(|s| s.id.as_str())
    }

    /// Notes the task `id` (2025-11-25) made in this session, for the other replicas.
    pub(crate) fn note_task(&self, id: &str) {
        // Under the state's lock, as every change (see `apply`).
        let _state = self.subscriptions.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = self.shared.get() {
            shared.tasks.lock().unwrap_or_else(PoisonError::into_inner).insert(id.to_owned());
            self.note(|| SessionChange::Task(id.to_owned()));
        }
    }

    /// The ids of the session's tasks (2025-11-25) the replicas sharing it know of.
    pub(crate) fn shared_tasks(&self) -> Vec<String> {
        self.shared
            .get()
            .map(|s| s.tasks.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The changes made since the last call (none unless [`Session::share`]d).
    pub fn take_changes(&self) -> Vec<SessionChange> {
        self.shared
            .get()
            .map(|s| std::mem::take(&mut *s.journal.lock().unwrap_or_else(PoisonError::into_inner)))
            .unwrap_or_default()
    }

    /// Puts back `changes` that could not be written (before any made since), so that
    /// the next write has them.
    pub fn put_back(&self, mut changes: Vec<SessionChange>) {
        if let Some(shared) = self.shared.get() {
            let mut journal = shared.journal.lock().unwrap_or_else(PoisonError::into_inner);
            changes.append(&mut journal);
            *journal = changes;
        }
    }

    fn note(&self, change: impl FnOnce() -> SessionChange) {
        if let Some(shared) = self.shared.get() {
            shared.journal.lock().unwrap_or_else(PoisonError::into_inner).push(change());
        }
    }

    /// What another replica needs to serve this session, once `initialize` has run.
    pub fn record(&self, owner: Option<SessionOwner>) -> Option<SessionRecord> {
        let negotiated = self.negotiated()?;
        let state = SessionState {
            level: self.log_level(),
            subscriptions: self.subscriptions.lock().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect(),
            conversation: self.context.get().is_some(),
            revision: 0,
            tasks: self.shared_tasks().into_iter().collect(),
        };
        Some(SessionRecord {
            version: negotiated.version,
            capabilities: (*negotiated.client).clone(),
            client_info: negotiated.client_info.clone(),
            owner,
            state,
            holders: std::collections::BTreeSet::new(),
        })
    }

    /// Takes up a session another replica opened, as `record` has it: what `initialize`
    /// settled (only the first time) and its state. Nothing taken up is noted as a
    /// change. False, and nothing changed, when another version was negotiated here.
    pub(crate) fn restore(&self, record: &SessionRecord, registry: &Arc<Subscriptions>) -> bool {
        if self.negotiated().is_some_and(|n| n.version != record.version) {
            return false;
        }
        let negotiated = Negotiated {
            version: record.version,
            client: Arc::new(record.capabilities.clone()),
            client_info: record.client_info.clone(),
        };
        self.initialize(negotiated);
        self.apply(&record.state, registry);
        true
    }

    /// Sets the state to `state` (as the store has it), without noting it; changes made
    /// here and not yet written stay made.
    pub(crate) fn apply(&self, state: &SessionState, registry: &Arc<Subscriptions>) {
        // The subscriptions' lock is the state's: a change made meanwhile is in the
        // journal by the time it is read here (changes note themselves under it).
        let mut held = self.subscriptions.lock().unwrap_or_else(PoisonError::into_inner);
        let pending = self
            .shared
            .get()
            .map(|s| s.journal.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .unwrap_or_default();
        let mut state = state.clone();
        state.apply(&pending);
        if let Some(shared) = self.shared.get()
            && state.conversation
        {
            shared.conversation_elsewhere.store(true, Ordering::Relaxed);
        }
        self.store_level(state.level);
        if let Some(shared) = self.shared.get() {
            *shared.tasks.lock().unwrap_or_else(PoisonError::into_inner) = state.tasks.clone();
        }
        held.retain(|uri, _| state.subscriptions.contains(uri));
        for uri in &state.subscriptions {
            if !held.contains_key(uri) && held.len() < MAX_SUBSCRIPTIONS {
                held.insert(uri.clone(), registry.hold(uri.clone()));
            }
        }
    }

    /// The id of the session's conversation context, made now if it has none.
    pub(crate) fn context_id(&self) -> tenet_protocol::context::ContextId {
        self.context
            .get_or_init(|| match self.shared.get() {
                Some(shared) => {
                    if !shared.conversation_elsewhere.load(Ordering::Relaxed) {
                        self.note(|| SessionChange::Conversation);
                    }
                    shared.context.clone()
                }
                None => crate::store::new_context_id(),
            })
            .clone()
    }

    /// The id of the session's conversation context, if it has one yet (here, or made
    /// by another replica).
    pub(crate) fn context_id_if_any(&self) -> Option<tenet_protocol::context::ContextId> {
        self.context.get().cloned().or_else(|| {
            let shared = self.shared.get()?;
            shared.conversation_elsewhere.load(Ordering::Relaxed).then(|| shared.context.clone())
        })
    }

    /// Registers the request `id` as in flight, cancelled by `cancel`.
    ///
    /// # Errors
    /// [`Untracked`]: a request with that id is in flight already, or
    /// [`MAX_IN_FLIGHT`] requests are.
    pub(crate) fn track(&self, id: &Id, cancel: &CancellationToken) -> Result<(), Untracked> {
        let mut map = self.in_flight.lock().unwrap_or_else(PoisonError::into_inner);
        let full = map.len() >= MAX_IN_FLIGHT;
        match map.entry(id.clone()) {
            std::collections::hash_map::Entry::Occupied(_) => Err(Untracked::Duplicate),
            std::collections::hash_map::Entry::Vacant(_) if full => Err(Untracked::Full),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(cancel.clone());
                Ok(())
            }
        }
    }

    /// Forgets the request `id` (answered, or dropped). The map's table is freed
    /// when the last request leaves, so an idle session holds none.
    pub(crate) fn untrack(&self, id: &Id) {
        let mut map = self.in_flight.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(id);
        // The room a burst took is given back once it is over; a session that sends
        // one request at a time keeps its small table.
        if map.is_empty() && map.capacity() > IN_FLIGHT_ROOM {
            map.shrink_to(IN_FLIGHT_ROOM);
        }
    }

    /// Cancels the request `id`; false if none with that id is in flight.
    pub(crate) fn cancel(&self, id: &Id) -> bool {
        match self.in_flight.lock().unwrap_or_else(PoisonError::into_inner).get(id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Whether a request of the client's is being served.
    pub(crate) fn is_busy(&self) -> bool {
        !self.in_flight.lock().unwrap_or_else(PoisonError::into_inner).is_empty()
    }

    /// The session's tasks (2025-11-25).
    pub(crate) fn tasks(&self) -> &TaskStore {
        &self.tasks
    }

    /// The peer (server → client requests and notifications).
    pub fn peer(&self) -> &Arc<Peer> {
        &self.peer
    }

    /// What `initialize` negotiated, once it has run.
    pub fn negotiated(&self) -> Option<Arc<Negotiated>> {
        self.negotiated.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Whether `initialize` has run.
    pub fn is_initialized(&self) -> bool {
        self.negotiated.lock().unwrap_or_else(PoisonError::into_inner).is_some()
    }

    /// Records the outcome of `initialize`; false if the session was already initialized.
    pub fn initialize(&self, negotiated: Negotiated) -> bool {
        let mut slot = self.negotiated.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_some() {
            return false;
        }
        *slot = Some(Arc::new(negotiated));
        true
    }

    /// The least severe level the client wants (everything until it says otherwise).
    pub fn log_level(&self) -> LoggingLevel {
        LEVELS[usize::from(self.log_level.load(Ordering::Relaxed)).min(7)]
    }

    /// Sets the log level.
    pub fn set_log_level(&self, level: LoggingLevel) {
        // Under the state's lock, as `apply` reads the journal.
        let _state = self.subscriptions.lock().unwrap_or_else(PoisonError::into_inner);
        self.store_level(level);
        self.note(|| SessionChange::Level(level));
    }

    fn store_level(&self, level: LoggingLevel) {
        let index = LEVELS.iter().position(|l| *l == level).unwrap_or(0);
        self.log_level.store(u8::try_from(index).unwrap_or(0), Ordering::Relaxed);
    }

    /// Subscribes to updates of `uri`, counted in `registry` (a second subscription to
    /// the same URI changes nothing). The session holds it before the registry's
    /// watchers hear of it, so no update they cause can miss the session. False, and
    /// nothing held, when the session already holds [`MAX_SUBSCRIPTIONS`] others.
    pub(crate) fn subscribe(&self, uri: String, registry: &Arc<Subscriptions>) -> bool {
        let mut subscriptions = self.subscriptions.lock().unwrap_or_else(PoisonError::into_inner);
        let full = subscriptions.len() >= MAX_SUBSCRIPTIONS;
        match subscriptions.entry(uri) {
            Entry::Occupied(_) => true,
            Entry::Vacant(_) if full => false,
            Entry::Vacant(entry) => {
                let held = registry.hold(entry.key().clone());
                self.note(|| SessionChange::Subscribe(entry.key().clone()));
                entry.insert(held);
                true
            }
        }
    }

    /// Unsubscribes from `uri`.
    pub fn unsubscribe(&self, uri: &str) {
        let mut held = self.subscriptions.lock().unwrap_or_else(PoisonError::into_inner);
        if held.remove(uri).is_some() {
            self.note(|| SessionChange::Unsubscribe(uri.to_owned()));
        }
    }

    /// Ends the session: fails every server → client request still waiting for an
    /// answer and cancels its tasks. Transports call it when a session is deleted or
    /// expires.
    pub fn close(&self) {
        self.subscriptions.lock().unwrap_or_else(PoisonError::into_inner).clear();
        self.peer.close();
        self.tasks.cancel_all();
    }

    /// Whether the session is subscribed to `uri`.
    pub fn is_subscribed(&self, uri: &str) -> bool {
        self.subscriptions.lock().unwrap_or_else(PoisonError::into_inner).contains_key(uri)
    }

    /// Remembers that the client was sent the URL-mode elicitation `id`, so that it
    /// is told when the elicitation completes.
    pub fn expect_url_step(&self, id: &str) {
        let mut steps = self.url_steps.lock().unwrap_or_else(PoisonError::into_inner);
        if steps.iter().any(|step| step == id) {
            return;
        }
        if steps.len() >= MAX_URL_STEPS {
            steps.pop_front();
        }
        steps.push_back(id.to_owned());
    }

    /// Whether the client was sent the URL-mode elicitation `id` and has not been told
    /// it completed: if so, it is to be told now, and only now.
    pub(crate) fn complete_url_step(&self, id: &str) -> bool {
        let mut steps = self.url_steps.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(at) = steps.iter().position(|step| step == id) else { return false };
        steps.remove(at);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session's table of requests in flight refuses a duplicate id, and any id once
    /// it holds MAX_IN_FLIGHT, until one ends.
    #[test]
    fn requests_in_flight_are_bounded_per_session() {
        let session = Session::new(Arc::new(Peer::new(None)));
        let token = CancellationToken::new();
        for n in 0..MAX_IN_FLIGHT {
            assert_eq!(session.track(&Id::Number(n as i64), &token), Ok(()));
        }
        assert_eq!(session.track(&Id::Number(0), &token), Err(Untracked::Duplicate));
        assert_eq!(session.track(&Id::String("one more".into()), &token), Err(Untracked::Full));
        session.untrack(&Id::Number(7));
        assert_eq!(session.track(&Id::String("one more".into()), &token), Ok(()));
        assert_eq!(session.track(&Id::String("and another".into()), &token), Err(Untracked::Full));
        assert!(session.cancel(&Id::String("one more".into())) && token.is_cancelled());
    }

    #[test]
    fn a_url_step_is_completed_once_and_only_the_newest_are_remembered() {
        let session = Session::new(Arc::new(Peer::new(None)));
        assert!(!session.complete_url_step("never sent"));
        session.expect_url_step("e-1");
        session.expect_url_step("e-1");
        assert!(session.complete_url_step("e-1"));
        assert!(!session.complete_url_step("e-1"), "told once");
        for n in 0..=MAX_URL_STEPS {
            session.expect_url_step(&format!("s-{n}"));
        }
        assert!(!session.complete_url_step("s-0"), "the oldest is forgotten past the limit");
        assert!(session.complete_url_step("s-1"));
        assert!(session.complete_url_step(&format!("s-{MAX_URL_STEPS}")));
    }
}
