//! Task status notifications (`notifications/tasks`) on `subscriptions/listen`
//! streams: a listen request may name tasks (`taskIds`); each change of one of them
//! is sent as the task would show in `tasks/get`.

use std::sync::Arc;

use serde_json::Value;
use tenet_jsonrpc::ErrorObject;
use tenet_protocol::{DetailedTask, JsonObject, TASKS_EXTENSION};
use tokio::sync::broadcast::{self, error::RecvError};

use super::board::TaskEntry;
use super::caller;
use crate::error::ToolError;
use crate::routing::Route;
use crate::server::Server;
use crate::session::Link;
use crate::store::TaskRecord;

/// The tasks one listen stream watches: those this replica runs, and (when replicas
/// share tasks) those others run, whose changes they announce.
pub(crate) struct TaskWatch {
    /// The ids the acknowledgement lists (`None` when none were asked for).
    ids: Option<Vec<String>>,
    entries: Vec<Arc<TaskEntry>>,
    changes: Option<broadcast::Receiver<Arc<TaskEntry>>>,
    /// Tasks other replicas run: as last seen, by id.
    remote: Vec<TaskRecord>,
    heard: Option<broadcast::Receiver<Arc<TaskRecord>>>,
}

impl Server {
    /// The tasks a listen request may watch: those it names that exist, are the
    /// caller's, and whose tools the caller may still use (others are left out of
    /// the acknowledgement).
    ///
    /// # Errors
    /// -32021 when the request names tasks but does not list the tasks extension.
    pub(crate) async fn watch_tasks(
        &self,
        route: &Route,
        asked: Option<&[String]>,
        link: &Link,
    ) -> Result<TaskWatch, ErrorObject> {
        let Some(asked) = asked else {
            return Ok(TaskWatch { ids: None, entries: Vec::new(), changes: None, remote: Vec::new(), heard: None });
        };
        if !route.client.has_extension(TASKS_EXTENSION) {
            return Err(ToolError::missing_extension(TASKS_EXTENSION).into());
        }
        let board = &self.shared.task_board;
        // Subscribed before the lookups, so no change after them is missed.
        let (changes, heard) = (board.changes(), board.heard_changes());
        let owner = caller(link);
        let (mut ids, mut entries, mut remote) = (Vec::new(), Vec::new(), Vec::new());
        for id in asked {
            match board.find(id, owner.as_deref()) {
                Ok(entry) if link.allows(entry.scopes()) => entries.push(entry),
                Ok(_) => continue,
                // Another replica's, perhaps.
                Err(_) => match board.shared() {
                    Some(shared) => match shared.store.task(id).await {
                        Ok(Some(found)) if found.record.owner == owner && link.allows(&found.record.scopes) => {
                            remote.push(found.record);
                        }
                        Ok(_) => continue,
                        Err(e) => {
                            tracing::debug!(task = %id, "a listen stream cannot watch this task: {e}");
                            continue;
                        }
                    },
                    None => continue,
                },
            }
            ids.push(id.clone());
        }
        let changes = (!entries.is_empty()).then_some(changes);
        let heard = (!remote.is_empty()).then_some(heard);
        Ok(TaskWatch { ids: Some(ids), entries, changes, remote, heard })
    }
}

impl TaskWatch {
    /// The task ids the acknowledgement lists (`None` when none were asked for).
    pub fn ids(&self) -> Option<Vec<String>> {
        self.ids.clone()
    }

    /// Every watched task as it is now (sent right after the acknowledgement).
    pub fn current(&self) -> Vec<DetailedTask> {
        let here = self.entries.iter().map(|e| e.detailed());
        here.chain(self.remote.iter().map(|r| r.task.clone())).collect()
    }

    /// The next change of a watched task; never resolves when none is watched.
    pub async fn next(&mut self) -> DetailedTask {
        loop {
            tokio::select! {
                entry = recv(&mut self.changes) => {
                    if self.entries.iter().any(|e| Arc::ptr_eq(e, &entry)) {
                        return entry.detailed();
                    }
                }
                record = recv(&mut self.heard) => {
                    // The newest write only: announcements of one task may arrive out of order.
                    let watched = self.remote.iter_mut().find(|r| r.task.task.task_id == record.task.task.task_id);
                    if let Some(watched) = watched.filter(|w| w.seq < record.seq) {
                        *watched = (*record).clone();
                        return record.task.clone();
                    }
                }
            }
        }
    }
}

/// The next item of `channel`; never resolves once it is closed (or when there is none).
async fn recv<T: Clone>(channel: &mut Option<broadcast::Receiver<T>>) -> T {
    loop {
        let Some(receiver) = channel else { return std::future::pending().await };
        match receiver.recv().await {
            Ok(item) => return item,
            Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => *channel = None,
        }
    }
}

/// `notifications/tasks` params: the task, tagged with the listen stream's `_meta`.
pub(crate) fn task_notification(task: DetailedTask, meta: JsonObject) -> Value {
    let mut params = serde_json::to_value(task).unwrap_or_default();
    if let Some(object) = params.as_object_mut() {
        object.insert("_meta".into(), Value::Object(meta));
    }
    params
}
