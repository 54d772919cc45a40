//! The server's tasks (the extension's; 2025-11-25 tasks live in their session): each
//! found by an unguessable id, bound to the caller that created it, moving through
//! `working` ⇄ `input_required` → `completed` | `failed` | `cancelled`.
//!
//! Every caller has its own share of the board ([`TaskLimits`]): at most so many tasks
//! that have not ended (of so many in all), and at most so many
//! ended ones kept for their results, its oldest dropped first. An ended task no longer
//! counts against creating new ones; past the server's total of ended ones, the caller
//! holding the most gives up its oldest (never one holding fewer than another).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use serde_json::json;
use tenet_jsonrpc::ErrorObject;
use tenet_protocol::{DetailedTask, InputRequest, JsonObject, TaskInfo, TaskStatus};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::ident::{new_task_id, now_iso};
use crate::clock::millis;
use crate::store::{Announcement, SessionStore, TaskRecord, TaskWrite, Unavailable};

/// How long a task is kept: from its creation, and at least this long after it ends.
pub const TASK_TTL: Duration = Duration::from_secs(600);
/// How often clients are asked to poll.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How many tasks the board holds ([`crate::ServerConfig::task_limits`]): each caller's
/// share, and all callers' together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskLimits {
    /// Tasks that have not ended one caller may hold; past it, its next task is
    /// refused. Default 256.
    pub running_per_caller: usize,
    /// Tasks that have not ended, all callers together. Default 4 096.
    pub running: usize,
    /// Ended tasks one caller's results are kept for (until their time is up): past it,
    /// that caller's task that ended first is dropped. Default 1 024.
    pub ended_per_caller: usize,
    /// Ended tasks kept, all callers together: past it, the caller holding the most
    /// gives up its oldest. Default 16 384.
    pub ended: usize,
    /// Bytes of the results (or errors, as JSON) one caller's ended tasks may hold
    /// together: past it, that caller's task that ended first is dropped (never the
    /// one that just ended). Default 64 MiB.
    pub ended_bytes_per_caller: usize,
    /// Bytes of all ended tasks' results together: past it, the caller holding the
    /// most bytes gives up its oldest. Default 512 MiB.
    pub ended_bytes: usize,
}

impl TaskLimits {
    /// The defaults: 256 running per caller of 4 096; 1 024 ended per caller of
    /// 16 384, holding 64 MiB of results per caller of 512 MiB.
    pub const DEFAULT: Self = Self {
        running_per_caller: 256,
        running: 16 * 256,
        ended_per_caller: 1024,
        ended: 16 * 1024,
        ended_bytes_per_caller: 64 << 20,
        ended_bytes: 512 << 20,
    };
}

impl Default for TaskLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What a task ended with: the result the request would have returned, or its error.
pub(crate) type Outcome = Result<JsonObject, ErrorObject>;

/// Every task of the extension, server-wide (requests are stateless: any of them may
/// ask about any task, so the tasks cannot live in a connection).
pub(crate) struct TaskBoard {
    table: Arc<Mutex<Table>>,
    changes: broadcast::Sender<Arc<TaskEntry>>,
    /// Where the tasks are shared with other replicas, once they are.
    shared: OnceLock<Shared>,
    /// Changes other replicas announced of the tasks they run.
    heard: broadcast::Sender<Arc<TaskRecord>>,
    /// The 2025-11-25 tasks this replica runs for shared sessions, by id: the session,
    /// for other replicas' letters (a `tasks/cancel` made there).
    legacy: Mutex<HashMap<String, std::sync::Weak<crate::session::Session>>>,
}

/// The tasks by id, and what each caller holds of them.
#[derive(Default)]
struct Table {
    limits: TaskLimits,
    entries: HashMap<String, Arc<TaskEntry>>,
    /// Per caller (its share key; `None`: callers of no known name, bounded by the
    /// totals alone): its tasks that run, and those that ended.
    holdings: HashMap<Option<String>, Holding>,
    /// Tasks that have not ended, all callers together.
    running: usize,
    /// Every ended task, by when it expires (then id): the sweep's order.
    expiring: BTreeSet<(Instant, String)>,
    /// The callers by how many ended tasks they hold: who gives way first past the
    /// server's total.
    by_ended: crate::store::Ranking,
    /// The bytes of every ended task's outcome, together.
    ended_bytes: usize,
    /// The callers by how many bytes of ended tasks they hold: who gives way first past
    /// the server's total of bytes.
    by_ended_bytes: crate::store::Ranking,
}

/// What one caller holds.
#[derive(Default)]
struct Holding {
    running: usize,
    /// Its ended tasks, by when they expire (then id): the first is the one it loses first.
    ended: BTreeSet<(Instant, String)>,
    /// The bytes of their outcomes, together.
    ended_bytes: usize,
}

impl Table {
    /// Drops the ended tasks whose time is up.
    fn sweep(&mut self, now: Instant) {
        while let Some(first) = self.expiring.first().filter(|(expires, _)| *expires <= now).cloned() {
            self.drop_ended(&first);
        }
    }

    /// Forgets the ended task `key` (its expiry and id) everywhere.
    fn drop_ended(&mut self, key: &(Instant, String)) {
        self.expiring.remove(key);
        if let Some(entry) = self.entries.remove(&key.1)
            && let Some(holding) = self.holdings.get_mut(&entry.share)
        {
            let before = holding.ended.len();
            let bytes_before = holding.ended_bytes;
            if holding.ended.remove(key) {
                let bytes = entry.kept_bytes.load(Ordering::Relaxed);
                holding.ended_bytes -= bytes;
                self.ended_bytes -= bytes;
            }
            let (after, idle) = (holding.ended.len(), holding.running == 0 && holding.ended.is_empty());
            self.by_ended.moved(&entry.share, before, after);
            self.by_ended_bytes.moved(&entry.share, bytes_before, holding.ended_bytes);
            if idle {
                self.holdings.remove(&entry.share);
            }
        }
    }

    /// Moves `entry`, which just ended, from its caller's running tasks to its ended
    /// ones; past that caller's share its oldest ended task goes, and past the server's
    /// total the oldest of the caller holding the most.
    fn ended(&mut self, entry: &TaskEntry, expires: Instant) {
        if !self.entries.contains_key(&entry.id) {
            return;
        }
        let key = (expires, entry.id.clone());
        let Some(holding) = self.holdings.get_mut(&entry.share) else { return };
        let bytes = entry.kept_bytes.load(Ordering::Relaxed);
        let (before, bytes_before) = (holding.ended.len(), holding.ended_bytes);
        holding.ended.insert(key.clone());
        holding.ended_bytes += bytes;
        let (after, bytes_after) = (holding.ended.len(), holding.ended_bytes);
        self.ended_bytes += bytes;
        self.by_ended.moved(&entry.share, before, after);
        self.by_ended_bytes.moved(&entry.share, bytes_before, bytes_after);
        self.release(&entry.share);
        self.expiring.insert(key.clone());
        let limits = self.limits;
        if entry.share.is_some() {
            // Past the caller's share its own oldest go; the task that just ended stays.
            while let Some(oldest) = self
                .holdings
                .get(&entry.share)
                .filter(|h| h.ended.len() > limits.ended_per_caller || h.ended_bytes > limits.ended_bytes_per_caller)
                .and_then(|h| h.ended.first().cloned())
                .filter(|oldest| *oldest != key)
            {
                tracing::debug!(task = %oldest.1, "an ended task dropped before its time: its caller holds too many");
                self.drop_ended(&oldest);
            }
        }
        while self.expiring.len() > limits.ended {
            let most = self.by_ended.most().next().and_then(|share| self.holdings.get(share));
            let Some(oldest) = most.and_then(|h| h.ended.first().cloned()) else { break };
            tracing::debug!(task = %oldest.1, "an ended task dropped before its time: all callers hold too many");
            self.drop_ended(&oldest);
        }
        while self.ended_bytes > limits.ended_bytes {
            let most = self.by_ended_bytes.most().next().and_then(|share| self.holdings.get(share));
            let Some(oldest) = most.and_then(|h| h.ended.first().cloned()) else { break };
            tracing::debug!(task = %oldest.1, "an ended task dropped before its time: all callers' results are too large");
            self.drop_ended(&oldest);
        }
    }

    /// Counts one more running task against `share`, if its share and the server's
    /// total have room.
    fn admit(&mut self, share: &Option<String>) -> Result<(), ErrorObject> {
        let mine = self.holdings.get(share).map_or(0, |h| h.running);
        if share.is_some() && mine >= self.limits.running_per_caller {
            return Err(too_many(format!("This caller already has {mine} tasks running, its most")));
        }
        if self.running >= self.limits.running {
            return Err(too_many(format!("The server already runs {} tasks, its most", self.running)));
        }
        self.holdings.entry(share.clone()).or_default().running += 1;
        self.running += 1;
        Ok(())
    }

    /// One running task of `share` fewer.
    fn release(&mut self, share: &Option<String>) {
        if let Some(holding) = self.holdings.get_mut(share) {
            holding.running -= 1;
            self.running -= 1;
            if holding.running == 0 && holding.ended.is_empty() {
                self.holdings.remove(share);
            }
        }
    }

    /// Forgets `entry` (which may not have ended).
    fn remove(&mut self, entry: &TaskEntry) {
        // Counted as ended only once the table heard so (it may not have yet).
        let ended = entry.ended.get().map(|&expires| (expires, entry.id.clone())).filter(|k| self.expiring.contains(k));
        match ended {
            Some(key) => self.drop_ended(&key),
            None => {
                if self.entries.remove(&entry.id).is_some() {
                    self.release(&entry.share);
                }
            }
        }
    }
}

/// A running task's place on the board ([`TaskBoard::reserve`]), given back when dropped.
pub(crate) struct RunningSlot {
    table: Weak<Mutex<Table>>,
    share: Option<String>,
}

impl Drop for RunningSlot {
    fn drop(&mut self) {
        if let Some(table) = self.table.upgrade() {
            lock(&table).release(&self.share);
        }
    }
}

/// The refusal of a task past a share: -32004, as a rate limit is (HTTP 429).
fn too_many(what: String) -> ErrorObject {
    let wait = millis(POLL_INTERVAL);
    ErrorObject::new(crate::error::RATE_LIMITED, format!("{what}; wait for one to end, then retry"))
        .with_data(json!({ "retryAfterMs": wait }))
}

/// The store replicas share tasks in, and this replica's name there.
#[derive(Clone)]
pub(crate) struct Shared {
    pub store: Arc<dyn SessionStore>,
    pub replica: Arc<str>,
}

impl Default for TaskBoard {
    fn default() -> Self {
        Self::new(TaskLimits::default())
    }
}

impl TaskBoard {
    /// An empty board holding at most what `limits` allow.
    pub(crate) fn new(limits: TaskLimits) -> Self {
        Self {
            table: Arc::new(Mutex::new(Table { limits, ..Table::default() })),
            changes: broadcast::channel(256).0,
            shared: OnceLock::new(),
            heard: broadcast::channel(256).0,
            legacy: Mutex::default(),
        }
    }
}

/// One task.
pub(crate) struct TaskEntry {
    id: String,
    /// The subject of the grant that created it (`None`: a caller without one).
    owner: Option<String>,
    /// Whose share of the board it counts against ([`crate::share_key`]).
    share: Option<String>,
    /// The scopes its tool requires; every request about it must still hold them.
    scopes: Vec<String>,
    created: Instant,
    cancel: CancellationToken,
    state: Mutex<State>,
    /// When it expires, once it has ended.
    ended: OnceLock<Instant>,
    /// The bytes of what it ended with (its result or error, as JSON), once it has:
    /// what it holds of its caller's share.
    kept_bytes: AtomicUsize,
    /// The board's table, told when it ends.
    table: Weak<Mutex<Table>>,
    /// Bumped on every change, for handlers waiting for input.
    changed: watch::Sender<()>,
    /// Where changes are announced (listen streams).
    changes: broadcast::Sender<Arc<TaskEntry>>,
    /// Where every change is written for other replicas, when they share tasks.
    shared: Option<Shared>,
}

struct State {
    /// Grows with every change (the order of the writes to a shared store).
    seq: u64,
    info: TaskInfo,
    expires: Instant,
    /// Input requests not yet answered, by key.
    outstanding: BTreeMap<String, InputRequest>,
    /// Every answer received, by key (a key is asked once over a task's life).
    answers: JsonObject,
    outcome: Option<Outcome>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The error for a task id that names no task of the caller's.
fn unknown(id: &str) -> ErrorObject {
    ErrorObject::invalid_params(format!("Failed to retrieve task: no task {id}")).with_data(json!({"taskId": id}))
}

impl TaskBoard {
    /// Creates a `working` task for `owner`, cancelled through `cancel`; `answers` are
    /// input already gathered (before the task existed).
    pub fn create(
        &self,
        owner: Option<String>,
        share: Option<String>,
        scopes: Vec<String>,
        cancel: CancellationToken,
        answers: JsonObject,
    ) -> Result<Arc<TaskEntry>, ErrorObject> {
        let id = new_task_id()?;
        let now = now_iso();
        let info = TaskInfo {
            task_id: id.clone(),
            status: TaskStatus::Working,
            status_message: None,
            created_at: now.clone(),
            last_updated_at: now,
            ttl_ms: Some(millis(TASK_TTL)),
            poll_interval_ms: Some(millis(POLL_INTERVAL)),
        };
        let created = Instant::now();
        let state =
            State { seq: 1, info, expires: created + TASK_TTL, outstanding: BTreeMap::new(), answers, outcome: None };
        let entry = Arc::new(TaskEntry {
            id: id.clone(),
            owner,
            share,
            scopes,
            created,
            cancel,
            state: Mutex::new(state),
            ended: OnceLock::new(),
            kept_bytes: AtomicUsize::new(0),
            table: Arc::downgrade(&self.table),
            changed: watch::channel(()).0,
            changes: self.changes.clone(),
            shared: self.shared.get().cloned(),
        });
        let mut table = lock(&self.table);
        table.sweep(created);
        table.admit(&entry.share)?;
        table.entries.insert(id, entry.clone());
        Ok(entry)
    }

    /// A place among the running tasks for a 2025-11-25 task of `share` (those live in
    /// their session, but run within the same shares), held until the slot is dropped.
    ///
    /// # Errors
    /// -32004 when `share`, or the server, runs as many tasks as it may.
    pub fn reserve(&self, share: Option<String>) -> Result<RunningSlot, ErrorObject> {
        lock(&self.table).admit(&share)?;
        Ok(RunningSlot { table: Arc::downgrade(&self.table), share })
    }

    /// The task `id`, if `owner` created it and it has not expired. Someone else's
    /// task is as unknown as one that never existed; so is one whose time is up.
    pub fn find(&self, id: &str, owner: Option<&str>) -> Result<Arc<TaskEntry>, ErrorObject> {
        let mut table = lock(&self.table);
        table.sweep(Instant::now());
        table.entries.get(id).filter(|e| e.owner.as_deref() == owner).cloned().ok_or_else(|| unknown(id))
    }

    /// Every change to any task from now on.
    pub fn changes(&self) -> broadcast::Receiver<Arc<TaskEntry>> {
        self.changes.subscribe()
    }

    /// Shares the tasks made from now on with other replicas through `store`, as
    /// `replica` (once; later calls change nothing).
    pub fn share(&self, store: Arc<dyn SessionStore>, replica: Arc<str>) {
        let _ = self.shared.set(Shared { store, replica });
    }

    /// Takes a change another replica announced of a task it runs, for the listen
    /// streams here that watch it.
    pub fn heard(&self, record: TaskRecord) {
        // Nobody listening is fine.
        let _ = self.heard.send(Arc::new(record));
    }

    /// Every change other replicas announce from now on.
    pub fn heard_changes(&self) -> broadcast::Receiver<Arc<TaskRecord>> {
        self.heard.subscribe()
    }

    /// Where tasks are shared, if they are.
    pub fn shared(&self) -> Option<&Shared> {
        self.shared.get()
    }

    /// The task `id` if this replica runs it (no owner check: for another replica's
    /// letters, checked there).
    pub fn local(&self, id: &str) -> Option<Arc<TaskEntry>> {
        lock(&self.table).entries.get(id).cloned()
    }

    /// Notes that this replica runs the 2025-11-25 task `id` of the shared `session`
    /// (until [`TaskBoard::ran_legacy`]).
    pub fn runs_legacy(&self, id: &str, session: &Arc<crate::session::Session>) {
        lock(&self.legacy).insert(id.to_owned(), Arc::downgrade(session));
    }

    /// Forgets the 2025-11-25 task `id`, which ended.
    pub fn ran_legacy(&self, id: &str) {
        lock(&self.legacy).remove(id);
    }

    /// The session of the 2025-11-25 task `id` this replica runs.
    pub fn legacy_session(&self, id: &str) -> Option<Arc<crate::session::Session>> {
        lock(&self.legacy).get(id).and_then(std::sync::Weak::upgrade)
    }

    /// Forgets the task `id` (one whose handle was never given to its client).
    pub fn remove(&self, id: &str) {
        let mut table = lock(&self.table);
        if let Some(entry) = table.entries.get(id).cloned() {
            table.remove(&entry);
        }
    }
}

impl TaskEntry {
    /// The task's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The scopes every request about the task must hold.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The task as `CreateTaskResult` shows it.
    pub fn info(&self) -> TaskInfo {
        lock(&self.state).info.clone()
    }

    /// The task with what its state carries, as `tasks/get` shows it.
    pub fn detailed(&self) -> DetailedTask {
        detailed(&lock(&self.state))
    }

    /// The task as other replicas read it, as it is now.
    fn record(&self, state: &State, shared: &Shared) -> TaskRecord {
        TaskRecord {
            owner: self.owner.clone(),
            scopes: self.scopes.clone(),
            replica: shared.replica.to_string(),
            seq: state.seq,
            task: detailed(state),
            session: None,
        }
    }

    /// How long the store keeps what is written of the task now: as long as here once
    /// it ended; while it runs, at least an hour from each write (the lease of the
    /// replica running it tells whether it still does).
    fn kept(state: &State) -> std::time::Duration {
        let left = state.expires.saturating_duration_since(Instant::now());
        if state.info.status.is_terminal() { left } else { left.max(TASK_TTL * 6) }
    }

    /// Writes the task for other replicas, as it is now (when tasks are shared); with
    /// `bump`, as a new write even when nothing changed (so that a replica waiting for
    /// one sees it).
    ///
    /// # Errors
    /// The store did not answer.
    pub async fn persist(self: &Arc<Self>, bump: bool) -> Result<(), Unavailable> {
        let Some(shared) = &self.shared else { return Ok(()) };
        let (record, ttl) = {
            let mut state = lock(&self.state);
            if bump {
                state.seq += 1;
            }
            (self.record(&state, shared), Self::kept(&state))
        };
        let written = shared.store.put_task(&self.id, &record, ttl).await?;
        self.written(written);
        Ok(())
    }

    /// Takes what became of a write: a fenced task (another replica found this one
    /// gone and ended it as failed) ends so here too, so that every replica agrees.
    fn written(self: &Arc<Self>, written: TaskWrite) {
        if written == TaskWrite::Fenced {
            tracing::warn!(task = %self.id, "another replica ended this task as failed: this replica's lease had lapsed");
            self.update(|state| {
                if state.info.status.is_terminal() {
                    return false;
                }
                let error = ErrorObject::internal(
                    "the replica running this task lost touch with the shared store; the task was ended elsewhere",
                );
                state.info.status = TaskStatus::Failed;
                state.info.status_message = Some(error.message.to_string());
                state.outstanding.clear();
                state.outcome = Some(Err(error));
                true
            });
            self.cancel.cancel();
        }
    }
}

/// The task with what its state carries, as `tasks/get` shows it.
fn detailed(state: &State) -> DetailedTask {
    let mut detailed = DetailedTask::from(state.info.clone());
    match (&state.info.status, &state.outcome) {
        (TaskStatus::InputRequired, _) => detailed.input_requests = Some(state.outstanding.clone()),
        (TaskStatus::Completed, Some(Ok(result))) => detailed.result = Some(result.clone()),
        (TaskStatus::Failed, Some(Err(error))) => detailed.error = Some(error.clone()),
        _ => {}
    }
    detailed
}

impl TaskEntry {
    /// Changes the state under the lock, then tells whoever waits or listens.
    fn update(self: &Arc<Self>, change: impl FnOnce(&mut State) -> bool) {
        let mut ended = None;
        let (changed, write) = {
            let mut state = lock(&self.state);
            let changed = change(&mut state);
            if changed {
                state.seq += 1;
                state.info.last_updated_at = now_iso();
                if state.info.status.is_terminal() {
                    // Keep an ended task at least TASK_TTL, and say so in ttlMs.
                    state.expires = state.expires.max(Instant::now() + TASK_TTL);
                    state.info.ttl_ms = Some(millis(state.expires - self.created));
                    if self.ended.set(state.expires).is_ok() {
                        let bytes = match &state.outcome {
                            Some(Ok(result)) => crate::body::json_len(result),
                            Some(Err(error)) => crate::body::json_len(error),
                            None => 0,
                        };
                        self.kept_bytes.store(bytes, Ordering::Relaxed);
                        ended = Some(state.expires);
                    }
                }
            }
            let write = self
                .shared
                .as_ref()
                .filter(|_| changed)
                .map(|shared| (shared.clone(), self.record(&state, shared), Self::kept(&state)));
            (changed, write)
        };
        // The board counts it as ended from now (its state's lock released first: the
        // board's is never taken under a task's).
        if let Some(expires) = ended
            && let Some(table) = self.table.upgrade()
        {
            lock(&table).ended(self, expires);
        }
        if let Some((Shared { store, replica }, record, ttl)) = write {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    // Written in the background; a later write never loses to an earlier one.
                    let entry = self.clone();
                    runtime.spawn(async move {
                        match store.put_task(&entry.id, &record, ttl).await {
                            Ok(TaskWrite::Written) => {
                                // Listen streams on other replicas may watch it.
                                let announcement = Announcement::Task { record: Box::new(record) };
                                if let Err(e) = store.announce(&replica, &announcement).await {
                                    tracing::debug!(task = %entry.id, "other replicas' listeners did not hear of this change: {e}");
                                }
                            }
                            Ok(written) => entry.written(written),
                            Err(e) => {
                                tracing::warn!(task = %entry.id, "other replicas do not see this task's change: {e}");
                            }
                        }
                    });
                }
                Err(_) => tracing::warn!(task = %self.id, "no runtime to write this task's change for other replicas"),
            }
        }
        if changed {
            self.changed.send_replace(());
            // Nobody listening is fine.
            let _ = self.changes.send(self.clone());
        }
    }

    /// Records how the work ended, unless the task already has (it was cancelled).
    pub fn finish(self: &Arc<Self>, outcome: Outcome) {
        self.update(|state| {
            if state.info.status.is_terminal() {
                return false;
            }
            state.outstanding.clear();
            match &outcome {
                Ok(_) => state.info.status = TaskStatus::Completed,
                Err(error) => {
                    state.info.status = TaskStatus::Failed;
                    state.info.status_message = Some(error.message.to_string());
                }
            }
            state.outcome = Some(outcome);
            true
        });
    }

    /// Cancels the task, if it has not ended; cancelling an ended task changes nothing.
    pub fn cancel(self: &Arc<Self>) {
        self.update(|state| {
            if state.info.status.is_terminal() {
                return false;
            }
            state.info.status = TaskStatus::Cancelled;
            state.info.status_message = Some("Cancelled at the client's request".into());
            state.outstanding.clear();
            true
        });
        self.cancel.cancel();
    }

    /// Takes the client's answers to outstanding input requests (`tasks/update`); the
    /// task works again once nothing is outstanding. Answers to keys that are not
    /// outstanding are ignored.
    ///
    /// # Errors
    /// -32602 when an answer to an outstanding request is not an object.
    pub fn answer(self: &Arc<Self>, responses: JsonObject) -> Result<(), ErrorObject> {
        let mut invalid = None;
        self.update(|state| {
            if let Some((key, _)) = responses.iter().find(|(k, v)| state.outstanding.contains_key(*k) && !v.is_object())
            {
                invalid = Some(key.clone());
                return false;
            }
            let mut moved = false;
            for (key, value) in responses {
                if state.outstanding.remove(&key).is_some() {
                    state.answers.insert(key, value);
                    moved = true;
                }
            }
            if moved && state.outstanding.is_empty() && state.info.status == TaskStatus::InputRequired {
                state.info.status = TaskStatus::Working;
            }
            moved
        });
        match invalid {
            Some(key) => {
                Err(ErrorObject::invalid_params(format!("Invalid params: inputResponses.{key} must be an object")))
            }
            None => Ok(()),
        }
    }

    /// Waits for answers to `requests` (the task is `input_required` meanwhile) and
    /// returns them by key. Keys answered before come back at once.
    ///
    /// # Errors
    /// When the task ends (is cancelled) first.
    pub async fn ask(self: &Arc<Self>, requests: BTreeMap<String, InputRequest>) -> Result<JsonObject, ErrorObject> {
        let mut changed = self.changed.subscribe();
        loop {
            let mut done = None;
            self.update(|state| {
                if state.info.status.is_terminal() {
                    done = Some(Err(ErrorObject::internal("the task ended while it waited for input")));
                    return false;
                }
                if requests.keys().all(|k| state.answers.contains_key(k)) {
                    let answers = requests.keys().map(|k| (k.clone(), state.answers[k].clone())).collect();
                    done = Some(Ok(answers));
                    return false;
                }
                let mut asked = false;
                for (key, request) in &requests {
                    if !state.answers.contains_key(key) && !state.outstanding.contains_key(key) {
                        state.outstanding.insert(key.clone(), request.clone());
                        asked = true;
                    }
                }
                let parked = state.info.status != TaskStatus::InputRequired;
                state.info.status = TaskStatus::InputRequired;
                // Seen under the lock: any answer after it wakes the wait below.
                changed.borrow_and_update();
                asked || parked
            });
            if let Some(done) = done {
                return done;
            }
            if changed.changed().await.is_err() {
                return Err(ErrorObject::internal("the task is gone"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const LIMITS: TaskLimits = TaskLimits::DEFAULT;

    fn board_with_task(owner: Option<&str>) -> (TaskBoard, Arc<TaskEntry>) {
        let board = TaskBoard::default();
        let entry = board
            .create(
                owner.map(Into::into),
                owner.map(Into::into),
                Vec::new(),
                CancellationToken::new(),
                JsonObject::new(),
            )
            .unwrap();
        (board, entry)
    }

    fn question(key: &str) -> BTreeMap<String, InputRequest> {
        BTreeMap::from([(key.to_owned(), InputRequest { method: "elicitation/create".into(), params: None })])
    }

    fn accept() -> JsonObject {
        serde_json::from_value(json!({"action": "accept"})).unwrap()
    }

    #[test]
    fn ids_are_long_random_and_bound_to_their_creator() {
        let (board, entry) = board_with_task(Some("alice"));
        let other = board.create(
            Some("alice".into()),
            Some("alice".into()),
            Vec::new(),
            CancellationToken::new(),
            JsonObject::new(),
        );
        assert_ne!(entry.id(), other.unwrap().id());
        assert_eq!(entry.id().len(), 32);
        assert!(board.find(entry.id(), Some("alice")).is_ok());
        for stranger in [Some("mallory"), None] {
            let e = board.find(entry.id(), stranger).err().unwrap();
            assert_eq!(e.code.0, -32602, "{stranger:?} must not see alice's task");
        }
        assert_eq!(board.find("no-such-task", Some("alice")).err().unwrap().code.0, -32602);
    }

    #[test]
    fn a_finished_task_inlines_its_result_or_error() {
        let (_, done) = board_with_task(None);
        let mut result = JsonObject::new();
        result.insert("content".into(), json!([]));
        done.finish(Ok(result.clone()));
        let detailed = done.detailed();
        assert_eq!((detailed.task.status, detailed.result), (TaskStatus::Completed, Some(result)));
        assert!(detailed.error.is_none() && detailed.input_requests.is_none());
        // Ended is ended: a late cancel or second outcome changes nothing.
        done.cancel();
        done.finish(Err(ErrorObject::internal("late")));
        assert_eq!(done.info().status, TaskStatus::Completed);

        let (_, failed) = board_with_task(None);
        failed.finish(Err(ErrorObject::internal("boom")));
        let detailed = failed.detailed();
        assert_eq!(detailed.task.status, TaskStatus::Failed);
        assert_eq!(detailed.error.unwrap().message, "boom");
        assert!(detailed.result.is_none());
    }

    #[test]
    fn cancelling_fires_the_token_once_and_keeps_the_task_visible() {
        let (board, entry) = board_with_task(None);
        let token = entry.cancel.clone();
        entry.cancel();
        assert!(token.is_cancelled());
        assert_eq!(board.find(entry.id(), None).unwrap().info().status, TaskStatus::Cancelled);
        entry.finish(Ok(JsonObject::new()));
        assert_eq!(entry.detailed().result, None);
        let ttl = entry.info().ttl_ms.unwrap();
        assert!(ttl >= millis(TASK_TTL), "kept at least TASK_TTL after it ended: {ttl}");
    }

    #[tokio::test]
    async fn input_is_asked_for_answered_in_parts_and_resumes_the_work() {
        let (_, entry) = board_with_task(None);
        let mut both = question("a");
        both.extend(question("b"));
        let waiter = tokio::spawn({
            let entry = entry.clone();
            async move { entry.ask(both).await }
        });
        let mut changes = entry.changed.subscribe();
        while entry.detailed().input_requests.map_or(0, |r| r.len()) < 2 {
            changes.changed().await.unwrap();
        }
        assert_eq!(entry.info().status, TaskStatus::InputRequired);

        let mut first = JsonObject::new();
        first.insert("a".into(), Value::Object(accept()));
        first.insert("never-asked".into(), json!(1));
        entry.answer(first).unwrap();
        let pending = entry.detailed();
        assert_eq!(pending.task.status, TaskStatus::InputRequired, "b is still outstanding");
        assert_eq!(pending.input_requests.unwrap().keys().collect::<Vec<_>>(), ["b"]);

        let mut wrong = JsonObject::new();
        wrong.insert("b".into(), json!("not an object"));
        assert_eq!(entry.answer(wrong).err().unwrap().code.0, -32602);
        let mut second = JsonObject::new();
        second.insert("b".into(), Value::Object(accept()));
        entry.answer(second).unwrap();
        let answers = waiter.await.unwrap().unwrap();
        assert_eq!(answers.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(entry.info().status, TaskStatus::Working);
        // A key answered once stays answered: asking again does not park the task.
        assert_eq!(entry.ask(question("a")).await.unwrap()["a"]["action"], "accept");
    }

    #[tokio::test]
    async fn a_cancel_ends_the_wait_for_input() {
        let (_, entry) = board_with_task(None);
        let waiter = tokio::spawn({
            let entry = entry.clone();
            async move { entry.ask(question("q")).await }
        });
        let mut changes = entry.changed.subscribe();
        while entry.info().status != TaskStatus::InputRequired {
            changes.changed().await.unwrap();
        }
        entry.cancel();
        assert!(waiter.await.unwrap().is_err());
        assert!(entry.detailed().input_requests.is_none());
    }

    #[tokio::test]
    async fn a_task_another_replica_fenced_ends_failed_here_too() {
        let store = crate::store::MemorySessionStore::new();
        let board = TaskBoard::default();
        // This replica ("here") reads no inbox: to the store, it is gone.
        board.share(store.clone(), "here".into());
        let entry = board.create(None, None, Vec::new(), CancellationToken::new(), JsonObject::new()).unwrap();
        entry.persist(false).await.unwrap();
        let found = store.task(entry.id()).await.unwrap().unwrap();
        assert!(!found.runner_alive);
        let mut failed = found.record.clone();
        failed.task.task.status = TaskStatus::Failed;
        assert!(store.fence_task(entry.id(), found.record.seq, &failed, TASK_TTL).await.unwrap());
        // Its next write finds the fence: it takes that end, its work stopped.
        entry.persist(true).await.unwrap();
        assert_eq!(entry.info().status, TaskStatus::Failed);
        assert!(entry.cancel.is_cancelled());
        assert_eq!(store.task(entry.id()).await.unwrap().unwrap().record.task.task.status, TaskStatus::Failed);
    }

    fn create(board: &TaskBoard, owner: &str) -> Result<Arc<TaskEntry>, ErrorObject> {
        board.create(Some(owner.into()), Some(owner.into()), Vec::new(), CancellationToken::new(), JsonObject::new())
    }

    #[test]
    fn one_caller_cannot_fill_the_board_and_a_full_share_is_a_rate_limit_not_an_internal_error() {
        let board = TaskBoard::default();
        let greedy: Vec<_> = (0..LIMITS.running_per_caller).map(|_| create(&board, "greedy").unwrap()).collect();
        let refused = create(&board, "greedy").err().unwrap();
        assert_eq!(refused.code, crate::error::RATE_LIMITED, "{refused:?}");
        assert!(refused.message.contains("256 tasks running"), "{}", refused.message);
        assert!(refused.data.as_ref().is_some_and(|d| d["retryAfterMs"].is_u64()), "{refused:?}");
        assert!(create(&board, "modest").is_ok(), "another caller's share is untouched");
        // One that ends frees its place at once: ended tasks do not count against new ones.
        greedy[0].finish(Ok(JsonObject::new()));
        assert!(create(&board, "greedy").is_ok());
        assert!(board.find(greedy[0].id(), Some("greedy")).is_ok(), "its result is still there");
    }

    #[test]
    fn the_server_runs_at_most_max_running_tasks_whoever_asks() {
        let board = TaskBoard::default();
        for caller in 0..LIMITS.running / LIMITS.running_per_caller {
            for _ in 0..LIMITS.running_per_caller {
                create(&board, &format!("caller-{caller}")).unwrap();
            }
        }
        let refused = create(&board, "latecomer").err().unwrap();
        assert_eq!(refused.code, crate::error::RATE_LIMITED);
        assert!(refused.message.contains("server already runs"), "{}", refused.message);
    }

    #[test]
    fn quick_tasks_never_lock_anyone_out_and_a_caller_loses_only_its_own_oldest_results() {
        let board = TaskBoard::default();
        let kept = create(&board, "modest").unwrap();
        kept.finish(Ok(JsonObject::new()));
        // Eight callers each end far more tasks than a caller's results are kept for.
        let mut firsts = Vec::new();
        for caller in 0..8 {
            let owner = format!("flood-{caller}");
            for n in 0..LIMITS.ended_per_caller + 100 {
                let entry = create(&board, &owner).unwrap();
                if n == 0 {
                    firsts.push((owner.clone(), entry.clone()));
                }
                entry.finish(Ok(JsonObject::new()));
            }
        }
        for (owner, first) in &firsts {
            assert!(board.find(first.id(), Some(owner)).is_err(), "{owner}'s oldest result went first");
        }
        assert!(board.find(kept.id(), Some("modest")).is_ok(), "nobody else's task was dropped");
        assert!(create(&board, "modest").is_ok(), "and nobody is locked out");
        let table = lock(&board.table);
        assert_eq!(table.running, 1);
        assert!(table.holdings.values().all(|h| h.ended.len() <= LIMITS.ended_per_caller));
        assert_eq!(table.expiring.len(), table.holdings.values().map(|h| h.ended.len()).sum::<usize>());
    }

    /// A result of about `kib` KiB.
    fn result_of(kib: usize) -> JsonObject {
        let mut result = JsonObject::new();
        result.insert("text".into(), serde_json::Value::String("x".repeat(kib << 10)));
        result
    }

    #[test]
    fn a_callers_results_are_bounded_in_bytes_and_only_its_own_oldest_give_way() {
        let limits = TaskLimits { ended_bytes_per_caller: 100 << 10, ended_bytes: 250 << 10, ..LIMITS };
        let board = TaskBoard::new(limits);
        let kept = create(&board, "modest").unwrap();
        kept.finish(Ok(result_of(40)));
        // Few results, but large ones: the count bound alone would keep them all.
        let big: Vec<_> = (0..5).map(|_| create(&board, "greedy").unwrap()).collect();
        for entry in &big {
            entry.finish(Ok(result_of(40)));
        }
        let held = |id: &str, owner: &str| board.find(id, Some(owner)).is_ok();
        assert!(!held(big[0].id(), "greedy") && !held(big[2].id(), "greedy"), "its oldest went first");
        assert!(held(big[3].id(), "greedy") && held(big[4].id(), "greedy"), "its newest stay");
        assert!(held(kept.id(), "modest"), "nobody else's result went");
        {
            let table = lock(&board.table);
            let greedy = &table.holdings[&Some("greedy".to_owned())];
            assert!(greedy.ended_bytes <= 100 << 10, "{}", greedy.ended_bytes);
            assert_eq!(table.ended_bytes, table.holdings.values().map(|h| h.ended_bytes).sum::<usize>());
        }
        // A result larger than the share is kept (it is what the caller asked for), alone.
        let huge = create(&board, "greedy").unwrap();
        huge.finish(Err(ErrorObject::internal("y".repeat(150 << 10))));
        assert!(held(huge.id(), "greedy") && !held(big[4].id(), "greedy"));
        // Past the server's total, the caller holding the most bytes gives way.
        let other: Vec<_> = (0..2).map(|_| create(&board, "other").unwrap()).collect();
        for entry in &other {
            entry.finish(Ok(result_of(45)));
        }
        assert!(!held(huge.id(), "greedy"), "the largest holder gave way");
        assert!(held(kept.id(), "modest") && other.iter().all(|e| held(e.id(), "other")));
        let table = lock(&board.table);
        assert!(table.ended_bytes <= 250 << 10, "{}", table.ended_bytes);
        // A task forgotten gives its bytes back.
        drop(table);
        for entry in [&kept, &other[0], &other[1]] {
            board.remove(entry.id());
        }
        let table = lock(&board.table);
        assert_eq!((table.ended_bytes, table.by_ended_bytes.most().count()), (0, 0), "nothing is held");
    }

    #[test]
    fn past_the_server_total_a_caller_drops_its_own_oldest_result_not_anothers() {
        let board = TaskBoard::default();
        let kept = create(&board, "modest").unwrap();
        kept.finish(Ok(JsonObject::new()));
        for caller in 0..LIMITS.ended / LIMITS.ended_per_caller + 2 {
            for _ in 0..LIMITS.ended_per_caller {
                create(&board, &format!("caller-{caller}")).unwrap().finish(Ok(JsonObject::new()));
            }
        }
        let table = lock(&board.table);
        assert_eq!(table.expiring.len(), LIMITS.ended);
        assert!(table.entries.values().any(|e| e.id == kept.id), "the modest caller's one result stays");
    }

    #[test]
    fn without_authorization_each_address_has_its_share() {
        let board = TaskBoard::default();
        let anonymous = |addr: &str| {
            board.create(None, Some(format!("ip:{addr}")), Vec::new(), CancellationToken::new(), JsonObject::new())
        };
        for _ in 0..LIMITS.running_per_caller {
            anonymous("192.0.2.1").unwrap();
        }
        assert_eq!(anonymous("192.0.2.1").err().unwrap().code, crate::error::RATE_LIMITED, "a flood from one address");
        assert!(anonymous("192.0.2.2").is_ok(), "does not lock out the next");
        // A caller of no known name is bounded by the total alone.
        let unnamed = || board.create(None, None, Vec::new(), CancellationToken::new(), JsonObject::new());
        for _ in 0..=LIMITS.running_per_caller {
            unnamed().unwrap();
        }
    }

    #[test]
    fn a_session_task_runs_within_its_callers_share() {
        let board = TaskBoard::default();
        let slots: Vec<_> =
            (0..LIMITS.running_per_caller).map(|_| board.reserve(Some("ann".into())).unwrap()).collect();
        assert_eq!(create(&board, "ann").err().unwrap().code, crate::error::RATE_LIMITED, "one share for both kinds");
        assert_eq!(board.reserve(Some("ann".into())).err().unwrap().code, crate::error::RATE_LIMITED);
        assert!(board.reserve(Some("bob".into())).is_ok());
        drop(slots);
        assert!(create(&board, "ann").is_ok(), "the places came back");
        let table = lock(&board.table);
        assert_eq!(table.running, 1);
        assert_eq!(table.holdings.len(), 1);
    }

    #[test]
    fn a_removed_or_expired_task_gives_its_place_back() {
        let board = TaskBoard::default();
        let running = create(&board, "alice").unwrap();
        board.remove(running.id());
        let ended = create(&board, "alice").unwrap();
        ended.finish(Ok(JsonObject::new()));
        board.remove(ended.id());
        // One that ended, removed before the table heard it ended: counted as running.
        let racing = create(&board, "alice").unwrap();
        let _ = racing.ended.set(Instant::now() + TASK_TTL);
        board.remove(racing.id());
        let expiring = create(&board, "alice").unwrap();
        expiring.finish(Ok(JsonObject::new()));
        let mut table = lock(&board.table);
        assert_eq!((table.running, table.expiring.len()), (0, 1));
        table.sweep(Instant::now() + TASK_TTL + Duration::from_secs(1));
        assert!(table.entries.is_empty() && table.holdings.is_empty() && table.expiring.is_empty());
    }
}
