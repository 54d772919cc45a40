//! 2025-11-25 tasks of sessions replicas share. The replica running one writes it to
//! the store when it starts (before its handle is answered) and when it ends (with its
//! result or error), and the session's record lists its id; any replica serving the
//! session answers `tasks/get`, `tasks/result` (waiting for the end) and `tasks/list`
//! from there, and hands `tasks/cancel` to the replica running it. A task whose replica
//! died ends as failed, with a clear error, rather than pending forever.

use std::time::Duration;

use tenet_jsonrpc::ErrorObject;
use tenet_protocol::{CallToolResult, DetailedTask, Method, Task, TaskInfo};

use super::board::Shared;
use super::legacy::{DEFAULT_TTL, MAX_TTL, TaskOutcome};
use super::remote::{hand_over, orphaned, read};
use crate::session::Session;
use crate::store::{TaskRecord, Unavailable};

/// How often `tasks/result` looks at a task another replica runs, at most.
const LOOK_AT_MOST_EVERY: Duration = Duration::from_secs(1);

/// The write of a task as it starts.
pub(crate) const STARTED: u64 = 1;
/// The write of a task as it ends.
pub(crate) const ENDED: u64 = 2;

/// What a replica answers for a task another one runs.
pub(crate) enum Answer {
    /// Its state (`tasks/get`, `tasks/cancel`).
    Task(Task),
    /// How it ended (`tasks/result`).
    Outcome(TaskOutcome),
}

/// The record of `task` of the session `session`, as write `seq` of this replica.
fn record_of(session: &str, shared: &Shared, seq: u64, task: Task, outcome: Option<TaskOutcome>) -> TaskRecord {
    let info = TaskInfo {
        task_id: task.task_id,
        status: task.status,
        status_message: task.status_message,
        created_at: task.created_at,
        last_updated_at: task.last_updated_at,
        ttl_ms: task.ttl,
        poll_interval_ms: task.poll_interval,
    };
    let mut detailed = DetailedTask::from(info);
    match outcome {
        Some(Ok(result)) => {
            detailed.result = serde_json::to_value(result).ok().and_then(|v| v.as_object().cloned());
        }
        Some(Err(error)) => detailed.error = Some(error),
        None => {}
    }
    TaskRecord {
        owner: None,
        scopes: Vec::new(),
        replica: shared.replica.to_string(),
        seq,
        task: detailed,
        session: Some(session.to_owned()),
    }
}

/// The task a record shows.
fn task_of(record: &TaskRecord) -> Task {
    let info = &record.task.task;
    Task {
        task_id: info.task_id.clone(),
        status: info.status,
        status_message: info.status_message.clone(),
        created_at: info.created_at.clone(),
        last_updated_at: info.last_updated_at.clone(),
        ttl: info.ttl_ms,
        poll_interval: info.poll_interval_ms,
    }
}

/// How a task ended, as its record has it (`None` while it runs).
fn outcome_of(record: &TaskRecord) -> Option<TaskOutcome> {
    if !record.task.task.status.is_terminal() {
        return None;
    }
    if let Some(error) = &record.task.error {
        return Some(Err(error.clone()));
    }
    let result = record.task.result.clone().unwrap_or_default();
    Some(serde_json::from_value::<CallToolResult>(serde_json::Value::Object(result)).map_err(|e| {
        ErrorObject::internal(format!("the result another replica wrote does not read as a tool result: {e}"))
    }))
}

/// Writes the task `id` of `session` (a shared one) as it is here, as write `seq`.
///
/// # Errors
/// The store did not answer.
pub(crate) async fn write(shared: &Shared, session: &Session, id: &str, seq: u64) -> Result<(), Unavailable> {
    let (Some(session_id), Some((task, outcome))) = (session.shared_id(), session.tasks().snapshot(id)) else {
        return Ok(());
    };
    // Kept as long as here once it ended; while it runs, as long as a task may live.
    let ttl = match outcome {
        Some(_) => task.ttl.map_or(DEFAULT_TTL, Duration::from_millis).min(MAX_TTL),
        None => MAX_TTL,
    };
    let record = record_of(session_id, shared, seq, task, outcome);
    shared.store.put_task(id, &record, ttl).await.map(drop)
}

/// The task `id` of the session `session` as the store has it (ended as failed, for
/// every replica, when the replica running it died); `Err(None)` when the session has
/// no such task.
async fn find(shared: &Shared, session: &str, id: &str) -> Result<TaskRecord, Option<ErrorObject>> {
    let found = read(shared, id).await?;
    if found.record.session.as_deref() != Some(session) {
        return Err(None);
    }
    match found.runner_alive || found.record.task.task.status.is_terminal() {
        true => Ok(found.record),
        false => orphaned(shared, id, found.record).await,
    }
}

/// Serves `method` (`tasks/get`, `tasks/result` or `tasks/cancel`) for the task `id`
/// of the session `session` from the store. `Err(None)`: no such task there either.
pub(crate) async fn serve(
    shared: &Shared,
    session: &str,
    method: Method,
    id: &str,
) -> Result<Answer, Option<ErrorObject>> {
    let record = find(shared, session, id).await?;
    match method {
        Method::TasksCancel if record.task.task.status.is_terminal() => Err(Some(ErrorObject::invalid_params(
            format!("Task {id} has already ended ({:?}) and cannot be cancelled", record.task.task.status),
        ))),
        Method::TasksCancel => {
            let after = hand_over(shared, id, &record, b"cancel".to_vec()).await?;
            Ok(Answer::Task(task_of(&after)))
        }
        Method::TasksResult => {
            let mut record = record;
            let mut every = Duration::from_millis(50);
            loop {
                if let Some(outcome) = outcome_of(&record) {
                    return Ok(Answer::Outcome(outcome));
                }
                tokio::time::sleep(every).await;
                every = (every * 2).min(LOOK_AT_MOST_EVERY);
                record = find(shared, session, id).await?;
            }
        }
        _ => Ok(Answer::Task(task_of(&record))),
    }
}

/// The tasks of the session `session` among `ids` (those other replicas run), as the
/// store has them; those it no longer has are left out.
pub(crate) async fn list(shared: &Shared, session: &str, ids: &[String]) -> Vec<Task> {
    let found = futures_util::future::join_all(ids.iter().map(|id| find(shared, session, id))).await;
    found.into_iter().filter_map(Result::ok).map(|record| task_of(&record)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemorySessionStore;

    #[test]
    fn a_task_and_its_outcome_read_back_from_the_record() {
        let shared = Shared { store: MemorySessionStore::new(), replica: "r1".into() };
        let task: Task = serde_json::from_value(serde_json::json!({
            "taskId": "t1", "status": "completed", "createdAt": "2026-11-23T00:00:00Z",
            "lastUpdatedAt": "2026-11-23T00:00:01Z", "ttl": 60000, "pollInterval": 500
        }))
        .unwrap();
        let result = CallToolResult::success(Vec::new());
        let record = record_of("s1", &shared, ENDED, task.clone(), Some(Ok(result.clone())));
        assert_eq!((record.session.as_deref(), record.owner.as_deref()), (Some("s1"), None));
        assert_eq!(task_of(&record), task);
        assert_eq!(outcome_of(&record), Some(Ok(result)));
        let failed = record_of("s1", &shared, ENDED, task, Some(Err(ErrorObject::internal("boom"))));
        assert_eq!(outcome_of(&failed).unwrap().unwrap_err().message, "boom");
    }
}
