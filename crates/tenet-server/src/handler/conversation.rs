//! A conversation's context, as a tool handler reads and changes it: JSON values by
//! key, each with a version, kept per caller and conversation.
//!
//! Which conversation a request belongs to: the id a client names in
//! `_meta["io.tenet/context"]`; else, on a legacy session, the session's own; else
//! none yet, and the first write makes an id, told to the client in the result's
//! `_meta["io.tenet/context"]` (`{"id": …}`) so that it can name it next time.
//!
//! A request that another Tenet node relays carries the context with it (its entries
//! as that node had them); a tool here then works on that copy, and its changes go
//! back in the result's `_meta`, for the node that keeps the context to apply when the
//! answer arrives: all of them, each with the expectation it had here (a
//! compare-and-set stays one), or none of them, with a warning there, when the context
//! changed meanwhile in a way they did not expect.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tenet_protocol::context::{CarriedContext, ContextEntry, ContextId, ContextNote, ContextOp, ContextRef, Expect};

use crate::session::Session;
use crate::store::{ContextData, ContextError, ContextKey, ContextStore};

/// A conversation's context (the `Conversation` extractor, or [`crate::Context::conversation`]).
///
/// Cheap to clone. Writes are atomic per call; [`Conversation::compare_and_set`] and
/// [`Conversation::apply`] with [`Expect`] give compare-and-set, and
/// [`Conversation::merge`] a JSON Merge Patch (RFC 7396) that needs no read first.
///
/// ```
/// use serde_json::json;
/// use tenet_server::{Args, Conversation, ToolDef};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Remember { key: String, value: serde_json::Value }
///
/// async fn remember(conversation: Conversation, Args(r): Args<Remember>) -> Result<String, tenet_server::ToolError> {
///     let version = conversation.set(&r.key, r.value).await?;
///     Ok(format!("kept {} (version {version})", r.key))
/// }
/// let tool = ToolDef::new("remember", remember);
/// ```
#[derive(Clone)]
pub struct Conversation {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn ContextStore>,
    /// Whose: the caller's subject, or empty.
    owner: String,
    /// Whose share the contexts it makes count against ([`crate::share_key`]).
    share: Option<String>,
    /// The legacy session whose conversation it is, when it names none.
    session: Option<Arc<Session>>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    id: Option<ContextId>,
    /// Whether this request made the id (the client is told it).
    made: bool,
    /// The context another node carried here, and the changes made to it.
    carried: Option<Carried>,
    /// Whether a handler read or wrote it.
    used: bool,
    /// Why it cannot be used at all ([`ContextError::Anonymous`]).
    refused: bool,
}

/// Where a conversation's context is ([`Conversation::locate`]).
enum Located<T> {
    /// Carried here from another node: what was done with the copy.
    Copy(T),
    /// Stored: its key, when it has an id.
    Stored(Option<ContextKey>),
}

/// A context carried from another node: a copy, and what was done to it.
struct Carried {
    data: ContextData,
    /// The versions the copy came with: an expectation of one of those is kept as it
    /// is for the node that applies the changes; one of a version made here is not.
    arrived: HashMap<String, u64>,
    changes: Vec<ContextOp>,
}

impl Carried {
    fn new(context: CarriedContext) -> Self {
        let arrived = context.entries.iter().map(|(k, e)| (k.clone(), e.version)).collect();
        Self { data: ContextData::from_entries(context.entries), arrived, changes: Vec::new() }
    }

    /// Applies `ops` to the copy (within `max_bytes`) and records them for the node
    /// that keeps the context.
    fn apply(&mut self, ops: &[ContextOp], max_bytes: usize) -> Result<Vec<Option<u64>>, ContextError> {
        let versions = self.data.apply(ops, max_bytes)?;
        for op in ops {
            let mut op = op.clone();
            if let ContextOp::Set { expect, key, .. } | ContextOp::Delete { expect, key } = &mut op
                && let Expect::Version(v) = *expect
                && self.arrived.get(key.as_str()) != Some(&v)
            {
                // A version made here, after an earlier change recorded with the key's
                // real expectation: the changes are applied together or not at all.
                *expect = Expect::Any;
            }
            self.changes.push(op);
        }
        Ok(versions)
    }
}

impl Conversation {
    /// The conversation of a request: `named` in its `_meta` (an id, or a context
    /// carried by another node), `relayed` (it came through another node, which
    /// carried none: an empty copy), else `session`'s. `owner` is the caller's subject:
    /// `None` for a caller whose credentials name nobody, who may not name an id.
    pub(crate) fn new(
        store: Arc<dyn ContextStore>,
        owner: Option<String>,
        share: Option<String>,
        named: Option<&ContextRef>,
        relayed: bool,
        session: Option<Arc<Session>>,
    ) -> Self {
        let mut state = State::default();
        let mut session = session;
        match named {
            Some(ContextRef::Id(id)) => {
                state.id = Some(id.clone());
                // An id the server made cannot be guessed; one a client chose can.
                state.refused = owner.is_none() && !id.is_made();
            }
            Some(ContextRef::Carried(context)) => {
                state.id.clone_from(&context.id);
                state.carried = Some(Carried::new(context.clone()));
            }
            None if relayed => state.carried = Some(Carried::new(CarriedContext::default())),
            None => state.id = session.as_ref().and_then(|s| s.context_id_if_any()),
        }
        if state.id.is_some() || state.carried.is_some() {
            session = None;
        }
        let owner = owner.unwrap_or_default();
        Self { inner: Arc::new(Inner { store, owner, share, session, state: Mutex::new(state) }) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The conversation's id, when it has one yet.
    pub fn id(&self) -> Option<ContextId> {
        self.state().id.clone()
    }

    /// Where the context is, for one use of it (the conversation counts as used from
    /// then on): a carried copy, worked on at once with `on_copy` (given the
    /// conversation's id too); or the stored context's key (`None`: no id yet; with
    /// `bind`, one is made).
    ///
    /// # Errors
    /// [`ContextError::Anonymous`].
    fn locate<T>(
        &self,
        bind: bool,
        on_copy: impl FnOnce(Option<&ContextId>, &mut Carried) -> T,
    ) -> Result<Located<T>, ContextError> {
        let mut state = self.state();
        let state = &mut *state;
        state.used = true;
        if state.refused {
            return Err(ContextError::Anonymous);
        }
        if let Some(carried) = &mut state.carried {
            return Ok(Located::Copy(on_copy(state.id.as_ref(), carried)));
        }
        if state.id.is_none() && bind {
            state.id = Some(match &self.inner.session {
                Some(session) => session.context_id(),
                None => {
                    state.made = true;
                    crate::store::new_context_id()
                }
            });
        }
        Ok(Located::Stored(state.id.clone().map(|id| ContextKey { owner: self.inner.owner.clone(), id })))
    }

    /// Every entry.
    ///
    /// # Errors
    /// The store is unavailable.
    pub async fn entries(&self) -> Result<BTreeMap<String, ContextEntry>, ContextError> {
        match self.locate(false, |_, copy| copy.data.entries().clone())? {
            Located::Copy(entries) => Ok(entries),
            Located::Stored(Some(key)) => self.inner.store.entries(&key).await,
            Located::Stored(None) => Ok(BTreeMap::new()),
        }
    }

    /// The entry `key`.
    ///
    /// # Errors
    /// The store is unavailable.
    pub async fn get(&self, key: &str) -> Result<Option<ContextEntry>, ContextError> {
        match self.locate(false, |_, copy| copy.data.entries().get(key).cloned())? {
            Located::Copy(entry) => Ok(entry),
            Located::Stored(Some(stored)) => self.inner.store.get(&stored, key).await,
            Located::Stored(None) => Ok(None),
        }
    }

    /// Applies `ops`, all or none; the version each leaves its key at (`None`: removed).
    ///
    /// # Errors
    /// A compare-and-set that found something else ([`ContextError::Conflict`]), a
    /// context that would grow past its limit ([`ContextError::Full`]), an invalid key,
    /// or a store that is unavailable; nothing is changed then.
    pub async fn apply(&self, ops: &[ContextOp]) -> Result<Vec<Option<u64>>, ContextError> {
        let max = self.inner.store.max_bytes();
        match self.locate(true, |_, copy| copy.apply(ops, max))? {
            Located::Copy(applied) => applied,
            Located::Stored(Some(key)) => self.inner.store.apply(&key, self.inner.share.as_deref(), ops).await,
            Located::Stored(None) => Ok(Vec::new()),
        }
    }

    /// Sets `key` to `value`; its new version.
    ///
    /// # Errors
    /// As [`Conversation::apply`].
    pub async fn set(&self, key: &str, value: impl Into<Value>) -> Result<u64, ContextError> {
        self.compare_and_set(key, value, Expect::Any).await
    }

    /// Sets `key` to `value` if what is there is what `expect` says; its new version.
    ///
    /// # Errors
    /// As [`Conversation::apply`].
    pub async fn compare_and_set(
        &self,
        key: &str,
        value: impl Into<Value>,
        expect: Expect,
    ) -> Result<u64, ContextError> {
        let op = ContextOp::Set { key: key.to_owned(), value: value.into(), expect };
        Ok(self.apply(&[op]).await?.first().copied().flatten().unwrap_or_default())
    }

    /// Merges `patch` into the value of `key` (JSON Merge Patch); its new version.
    ///
    /// # Errors
    /// As [`Conversation::apply`].
    pub async fn merge(&self, key: &str, patch: Value) -> Result<u64, ContextError> {
        let op = ContextOp::Merge { key: key.to_owned(), patch };
        Ok(self.apply(&[op]).await?.first().copied().flatten().unwrap_or_default())
    }

    /// Removes `key` if what is there is what `expect` says.
    ///
    /// # Errors
    /// As [`Conversation::apply`].
    pub async fn delete(&self, key: &str, expect: Expect) -> Result<(), ContextError> {
        self.apply(&[ContextOp::Delete { key: key.to_owned(), expect }]).await.map(drop)
    }

    /// The context to carry to another Tenet node with a request relayed there: its
    /// id and entries as they are now; `None` when there is nothing to carry yet (no
    /// id, nothing written). The node that keeps the context is this one, or the one
    /// that carried it here.
    ///
    /// # Errors
    /// The store is unavailable.
    pub async fn to_carry(&self) -> Result<Option<CarriedContext>, ContextError> {
        let on_copy = |id: Option<&ContextId>, copy: &mut Carried| CarriedContext {
            id: id.cloned(),
            entries: copy.data.entries().clone(),
        };
        match self.locate(false, on_copy)? {
            Located::Copy(carried) => Ok(Some(carried)),
            Located::Stored(Some(key)) => {
                let entries = self.inner.store.entries(&key).await?;
                Ok(Some(CarriedContext { id: Some(key.id), entries }))
            }
            Located::Stored(None) => Ok(None),
        }
    }

    /// Applies what a tool on another node changed in the context carried there
    /// (`note`, from its result), all or none.
    ///
    /// # Errors
    /// As [`Conversation::apply`]; nothing is changed then.
    pub async fn apply_returned(&self, note: ContextNote) -> Result<(), ContextError> {
        if note.changes.is_empty() {
            return Ok(());
        }
        self.apply(&note.changes).await.map(drop)
    }

    /// What the result's `_meta["io.tenet/context"]` says, if anything: the changes
    /// made to a carried context, or the id this request made.
    pub(crate) fn note(&self) -> Option<ContextNote> {
        let state = self.state();
        match &state.carried {
            Some(carried) if !carried.changes.is_empty() => {
                Some(ContextNote { id: state.id.clone(), changes: carried.changes.clone() })
            }
            Some(_) => None,
            None => state.made.then(|| ContextNote { id: state.id.clone(), changes: Vec::new() }),
        }
    }

    /// Whether a handler read or wrote it (its result then depends on it).
    pub(crate) fn used(&self) -> bool {
        self.state().used
    }
}

impl std::fmt::Debug for Conversation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("Conversation").field("id", &state.id).field("carried", &state.carried.is_some()).finish()
    }
}
