//! Tasks another replica runs: `tasks/get` answered from what that replica wrote to the
//! store replicas share; `tasks/update` and `tasks/cancel` handed to it (a letter), then
//! answered once its next write shows them taken. A task whose replica died ends as
//! failed, with a clear error, rather than pending forever.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use tenet_jsonrpc::ErrorObject;
use tenet_protocol::{DetailedTask, JsonObject, Method, TaskStatus};

use super::board::{Shared, TASK_TTL};
use crate::grant::Grant;
use crate::session::{allows, insufficient_scope};
use crate::store::{Announcement, Letter, SharedTask, TaskRecord};

/// How long a replica waits for the one running a task to show a change taken.
const TAKEN_WITHIN: Duration = Duration::from_secs(3);
/// How often it looks meanwhile.
const LOOK_EVERY: Duration = Duration::from_millis(15);

/// What a request of the tasks extension answers, whichever replica runs the task:
/// nothing more (`{}`), or the task.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum TaskAnswer {
    /// `tasks/update` and `tasks/cancel`.
    Done {},
    /// `tasks/get`.
    Task(Box<DetailedTask>),
}

/// Serves `method` for the task `id` from the shared store. `Err(None)`: no such task
/// there either (the caller answers as for an unknown task).
pub(super) async fn serve(
    shared: &Shared,
    method: Method,
    id: &str,
    responses: Option<JsonObject>,
    grant: Option<&Grant>,
) -> Result<TaskAnswer, Option<ErrorObject>> {
    let found = read(shared, id).await?;
    let record = &found.record;
    // Another caller's, or a legacy session's (2025-11-25).
    if record.owner.as_deref() != grant.and_then(Grant::owner) || record.session.is_some() {
        return Err(None);
    }
    if !allows(grant, &record.scopes) {
        return Err(Some(insufficient_scope(grant, &format!("task {id}"), &record.scopes)));
    }
    let record = match found.runner_alive || record.task.task.status.is_terminal() {
        true => found.record,
        false => orphaned(shared, id, found.record).await?,
    };
    let terminal = record.task.task.status.is_terminal();
    match (method, responses) {
        (Method::TasksCancel, _) if !terminal => {
            hand_over(shared, id, &record, b"cancel".to_vec()).await?;
            Ok(TaskAnswer::Done {})
        }
        (Method::TasksUpdate, Some(responses)) if !terminal && !responses.is_empty() => {
            // The replica running the task decides (the store's copy may lag behind it).
            let message = serde_json::to_vec(&responses).map_err(|e| Some(ErrorObject::internal(e.to_string())))?;
            let after = hand_over(shared, id, &record, message).await?;
            // What it did not take, though it asks for it: not an object.
            let still = after.task.input_requests.unwrap_or_default();
            match responses.keys().find(|k| still.contains_key(*k)) {
                Some(key) => Err(Some(ErrorObject::invalid_params(format!(
                    "Invalid params: inputResponses.{key} must be an object"
                )))),
                None => Ok(TaskAnswer::Done {}),
            }
        }
        (Method::TasksCancel | Method::TasksUpdate, _) => Ok(TaskAnswer::Done {}),
        _ => Ok(TaskAnswer::Task(Box::new(record.task))),
    }
}

/// The store did not answer, as the request's error.
fn unavailable(e: crate::store::Unavailable) -> Option<ErrorObject> {
    Some(ErrorObject::internal(e.to_string()))
}

/// The task `id` as the store has it.
pub(super) async fn read(shared: &Shared, id: &str) -> Result<SharedTask, Option<ErrorObject>> {
    match shared.store.task(id).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(None),
        Err(e) => Err(unavailable(e).map(|e| e.with_data(json!({"taskId": id})))),
    }
}

/// Ends a task whose replica died as failed, for every replica to read, and fences it
/// (that replica, if it lives after all, takes that end too); the task as it is then
/// (another replica may have got there first, or the replica written meanwhile).
pub(super) async fn orphaned(shared: &Shared, id: &str, found: TaskRecord) -> Result<TaskRecord, Option<ErrorObject>> {
    let error = ErrorObject::internal(format!(
        "the replica running this task ({}) stopped before it ended; its work is lost",
        found.replica
    ));
    let mut record = found.clone();
    // A later write than the one read: listeners that saw that one take this one.
    record.seq = found.seq + 1;
    record.task.task.status = TaskStatus::Failed;
    record.task.task.status_message = Some(error.message.to_string());
    record.task.task.last_updated_at = super::ident::now_iso();
    record.task.input_requests = None;
    record.task.result = None;
    record.task.error = Some(error);
    if shared.store.fence_task(id, found.seq, &record, TASK_TTL).await.map_err(unavailable)? {
        // Listen streams watching it, on any replica, hear how it ended.
        let announcement = Announcement::Task { record: Box::new(record.clone()) };
        if let Err(e) = shared.store.announce(&shared.replica, &announcement).await {
            tracing::debug!(task = id, "listeners did not hear that this task failed: {e}");
        }
        return Ok(record);
    }
    Ok(read(shared, id).await?.record)
}

/// Hands `message` to the replica running the task and waits (a few seconds at most)
/// for its next write, which it makes once it took the letter; the task as it is then.
pub(super) async fn hand_over(
    shared: &Shared,
    id: &str,
    record: &TaskRecord,
    message: Vec<u8>,
) -> Result<TaskRecord, Option<ErrorObject>> {
    let letter = Letter { session: format!("task:{id}"), message };
    if !shared.store.send(&record.replica, letter).await.map_err(unavailable)? {
        // Its replica is gone: so is the work.
        return orphaned(shared, id, record.clone()).await;
    }
    let deadline = Instant::now() + TAKEN_WITHIN;
    let mut every = LOOK_EVERY;
    while Instant::now() < deadline {
        tokio::time::sleep(every).await;
        every = (every * 2).min(Duration::from_millis(200));
        let found = read(shared, id).await?;
        if found.record.seq > record.seq || found.record.task.task.status.is_terminal() {
            return Ok(found.record);
        }
    }
    Err(Some(ErrorObject::internal(format!(
        "the replica running task {id} did not take the request within {} s",
        TAKEN_WITHIN.as_secs()
    ))))
}
