//! Tasks (2025-11-25, experimental): a `tools/call` with a `task` param returns a task
//! handle at once and runs in the background; the client polls `tasks/get`, waits on
//! `tasks/result`, lists with `tasks/list` and stops one with `tasks/cancel`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::json;
use tenet_jsonrpc::ErrorObject;
use tenet_protocol::{CallToolResult, Task, TaskStatus};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::ident::{new_task_id, now_iso};

/// How long a finished task is kept when the client asks for no particular time.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);
/// The longest a task is kept.
pub const MAX_TTL: Duration = Duration::from_secs(3600);
/// How many tasks one session may hold: past it, its oldest task that has ended is dropped
/// to make room, and a new one is refused only while all of them still run.
pub const MAX_TASKS: usize = 1024;

/// What a task ends with.
pub(crate) type TaskOutcome = Result<CallToolResult, ErrorObject>;

struct Entry {
    task: Mutex<Task>,
    outcome: watch::Sender<Option<TaskOutcome>>,
    cancel: CancellationToken,
    expires: Instant,
}

/// The tasks of one session.
#[derive(Default)]
pub(crate) struct TaskStore {
    entries: Mutex<HashMap<String, Arc<Entry>>>,
    order: Mutex<Vec<String>>,
}

impl std::fmt::Debug for TaskStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TaskStore")
    }
}

/// A running task's handle, for the code that runs it: its place among the caller's
/// running tasks is held until it is dropped (the work ended, or stopped).
pub(crate) struct Running {
    entry: Arc<Entry>,
    _slot: Option<super::board::RunningSlot>,
}

impl Running {
    pub fn cancellation(&self) -> CancellationToken {
        self.entry.cancel.clone()
    }

    /// Records the outcome (unless the task was cancelled first); whether it did.
    pub fn finish(self, outcome: TaskOutcome) -> bool {
        let mut task = self.entry.task.lock().unwrap_or_else(PoisonError::into_inner);
        if task.status.is_terminal() {
            return false;
        }
        task.status = match &outcome {
            Ok(r) if r.is_error == Some(true) => TaskStatus::Failed,
            Ok(_) => TaskStatus::Completed,
            Err(_) => TaskStatus::Failed,
        };
        task.last_updated_at = now_iso();
        drop(task);
        self.entry.outcome.send_replace(Some(outcome));
        true
    }
}

impl TaskStore {
    /// Creates a task in the `working` state, running in `slot` (its caller's place).
    pub fn create(
        &self,
        ttl: Option<u64>,
        slot: Option<super::board::RunningSlot>,
    ) -> Result<(Task, Running), ErrorObject> {
        self.expire();
        let ttl = ttl.map_or(DEFAULT_TTL, Duration::from_millis).min(MAX_TTL);
        let task_id = new_task_id()?;
        let now = now_iso();
        let task = Task {
            task_id: task_id.clone(),
            status: TaskStatus::Working,
            status_message: None,
            created_at: now.clone(),
            last_updated_at: now,
            ttl: Some(crate::clock::millis(ttl)),
            poll_interval: Some(500),
        };
        let entry = Arc::new(Entry {
            task: Mutex::new(task.clone()),
            outcome: watch::channel(None).0,
            cancel: CancellationToken::new(),
            expires: Instant::now() + ttl,
        });
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let mut order = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_TASKS {
            // Full: the oldest task that has ended makes room (its result is given up early).
            let ended = |id: &String| {
                entries
                    .get(id)
                    .is_some_and(|e| e.task.lock().unwrap_or_else(PoisonError::into_inner).status.is_terminal())
            };
            let Some(at) = order.iter().position(ended) else {
                return Err(ErrorObject::new(
                    crate::error::RATE_LIMITED,
                    format!(
                        "This session already has {MAX_TASKS} tasks running, its most; wait for one to end, then retry"
                    ),
                )
                .with_data(json!({ "retryAfterMs": 500 })));
            };
            let dropped = order.remove(at);
            entries.remove(&dropped);
            tracing::debug!(task = %dropped, "an ended task dropped before its time: its session holds too many");
        }
        entries.insert(task_id.clone(), entry.clone());
        order.push(task_id);
        Ok((task, Running { entry, _slot: slot }))
    }

    fn entry(&self, id: &str) -> Result<Arc<Entry>, ErrorObject> {
        self.expire();
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
            .ok_or_else(|| ErrorObject::invalid_params(format!("Unknown task: {id}")).with_data(json!({"taskId": id})))
    }

    /// The task's current state.
    pub fn get(&self, id: &str) -> Result<Task, ErrorObject> {
        Ok(self.entry(id)?.task.lock().unwrap_or_else(PoisonError::into_inner).clone())
    }

    /// The task's current state and its outcome, if it ended; `None` for no such task.
    pub fn snapshot(&self, id: &str) -> Option<(Task, Option<TaskOutcome>)> {
        let entry = self.entry(id).ok()?;
        let task = entry.task.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let outcome = entry.outcome.borrow().clone();
        Some((task, outcome))
    }

    /// Waits for the task to end and returns its outcome.
    pub async fn result(&self, id: &str) -> Result<TaskOutcome, ErrorObject> {
        let entry = self.entry(id)?;
        let mut rx = entry.outcome.subscribe();
        let outcome = rx.wait_for(Option::is_some).await.map_err(|_| ErrorObject::internal("the task was dropped"))?;
        Ok(outcome.clone().unwrap_or_else(|| Err(ErrorObject::internal("the task has no result"))))
    }

    /// Cancels a task that has not ended.
    pub fn cancel(&self, id: &str) -> Result<Task, ErrorObject> {
        let entry = self.entry(id)?;
        let mut task = entry.task.lock().unwrap_or_else(PoisonError::into_inner);
        if task.status.is_terminal() {
            return Err(ErrorObject::invalid_params(format!(
                "Task {id} has already ended ({:?}) and cannot be cancelled",
                task.status
            )));
        }
        task.status = TaskStatus::Cancelled;
        task.status_message = Some("cancelled by the client".into());
        task.last_updated_at = now_iso();
        entry.cancel.cancel();
        entry.outcome.send_replace(Some(Err(ErrorObject::internal("the task was cancelled"))));
        Ok(task.clone())
    }

    /// Stops every task that is still running (the session is ending).
    pub fn cancel_all(&self) {
        for entry in self.entries.lock().unwrap_or_else(PoisonError::into_inner).values() {
            entry.cancel.cancel();
        }
    }

    /// Every live task, oldest first.
    pub fn list(&self) -> Vec<Task> {
        self.expire();
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let order = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        order
            .iter()
            .filter_map(|id| entries.get(id))
            .map(|e| e.task.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .collect()
    }

    fn expire(&self) {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let before = entries.len();
        entries.retain(|_, e| {
            let done = e.task.lock().unwrap_or_else(PoisonError::into_inner).status.is_terminal();
            !(done && e.expires <= now)
        });
        if entries.len() != before {
            self.order.lock().unwrap_or_else(PoisonError::into_inner).retain(|id| entries.contains_key(id));
        }
    }
}

/// `tasks` as `tasks/list` pages them: oldest first, those created in the same
/// millisecond by id, each keyed by its creation time and id (neither ever changes, so
/// a cursor naming a key goes on after it whatever tasks came or went meanwhile). The
/// times are RFC 3339 in UTC to the millisecond, so their text sorts as the time does;
/// the space between them sorts before any character of a time. A task given twice is
/// listed once.
pub(crate) fn by_age(tasks: Vec<Task>) -> Vec<(String, Task)> {
    let mut keyed: Vec<(String, Task)> =
        tasks.into_iter().map(|task| (format!("{} {}", task.created_at, task.task_id), task)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0 == b.0);
    keyed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_runs_to_a_result_then_cannot_be_cancelled() {
        let store = TaskStore::default();
        let (task, running) = store.create(Some(1000), None).unwrap();
        assert_eq!(task.status, TaskStatus::Working);
        assert_eq!(store.list().len(), 1);
        running.finish(Ok(CallToolResult::error("x")));
        assert_eq!(store.get(&task.task_id).unwrap().status, TaskStatus::Failed);
        assert!(store.result(&task.task_id).await.unwrap().is_ok());
        assert!(store.cancel(&task.task_id).is_err());
        assert!(store.get("nope").is_err());
    }

    #[tokio::test]
    async fn cancelling_fires_the_token_and_ends_the_wait() {
        let store = TaskStore::default();
        let (task, running) = store.create(None, None).unwrap();
        let token = running.cancellation();
        assert_eq!(store.cancel(&task.task_id).unwrap().status, TaskStatus::Cancelled);
        assert!(token.is_cancelled());
        assert!(store.result(&task.task_id).await.unwrap().is_err());
        running.finish(Ok(CallToolResult::default()));
        assert_eq!(store.get(&task.task_id).unwrap().status, TaskStatus::Cancelled);
    }

    #[test]
    fn a_full_session_drops_its_oldest_ended_task_and_refuses_only_when_all_run() {
        let store = TaskStore::default();
        let mut running = Vec::new();
        let mut first_ended = None;
        for n in 0..MAX_TASKS {
            let (task, run) = store.create(None, None).unwrap();
            if n % 2 == 0 {
                run.finish(Ok(CallToolResult::default()));
                first_ended.get_or_insert(task.task_id);
            } else {
                running.push((task.task_id, run));
            }
        }
        let (newer, _) = store.create(None, None).expect("an ended task makes room");
        assert!(store.get(first_ended.as_deref().unwrap()).is_err(), "the oldest ended one went");
        assert!(store.get(&running[0].0).is_ok(), "no running task did");
        assert_eq!(store.list().len(), MAX_TASKS);
        // Only running tasks left (but the newest ended ones, dropped one by one).
        let mut made = vec![newer.task_id];
        while let Ok((task, run)) = store.create(None, None) {
            made.push(task.task_id);
            running.push((String::new(), run));
        }
        let refused = store.create(None, None).err().unwrap();
        assert_eq!(refused.code, crate::error::RATE_LIMITED, "{refused:?}");
        assert!(refused.message.contains("tasks running"), "{}", refused.message);
        assert_eq!(store.list().len(), MAX_TASKS);
        assert!(running.iter().filter(|(id, _)| !id.is_empty()).all(|(id, _)| store.get(id).is_ok()));
    }

    #[test]
    fn tasks_are_listed_oldest_first_then_by_id() {
        let task = |id: &str, at: &str| Task {
            task_id: id.into(),
            status: TaskStatus::Working,
            status_message: None,
            created_at: at.into(),
            last_updated_at: at.into(),
            ttl: None,
            poll_interval: None,
        };
        let listed = by_age(vec![
            task("b", "2026-01-01T00:00:00.001Z"),
            task("c", "2026-01-01T00:00:00.000Z"),
            task("a", "2026-01-01T00:00:00.001Z"),
            task("c", "2026-01-01T00:00:00.000Z"),
        ]);
        let ids: Vec<&str> = listed.iter().map(|(_, t)| t.task_id.as_str()).collect();
        assert_eq!(ids, ["c", "a", "b"]);
        assert_eq!(listed[0].0, "2026-01-01T00:00:00.000Z c");
    }
}
