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

/// The tasks one listen stream watches.
pub(crate) struct TaskWatch {
    /// Whether the request asked for tasks at all.
    asked: bool,
    entries: Vec<Arc<TaskEntry>>,
    changes: Option<broadcast::Receiver<Arc<TaskEntry>>>,
}

impl Server {
    /// The tasks a listen request may watch: those it names that exist, are the
    /// caller's, and whose tools the caller may still use (others are left out of
    /// the acknowledgement).
    ///
    /// # Errors
    /// -32021 when the request names tasks but does not list the tasks extension.
    pub(crate) fn watch_tasks(
        &self,
        route: &Route,
        asked: Option<&[String]>,
        link: &Link,
    ) -> Result<TaskWatch, ErrorObject> {
        let Some(ids) = asked else { return Ok(TaskWatch { asked: false, entries: Vec::new(), changes: None }) };
        if !route.client.has_extension(TASKS_EXTENSION) {
            return Err(ToolError::missing_extension(TASKS_EXTENSION).into());
        }
        let board = &self.shared.task_board;
        // Subscribed before the lookups, so no change after them is missed.
        let changes = board.changes();
        let owner = caller(link);
        let entries: Vec<_> = ids
            .iter()
            .filter_map(|id| board.find(id, owner.as_deref()).ok())
            .filter(|entry| link.allows(entry.scopes()))
            .collect();
        let changes = (!entries.is_empty()).then_some(changes);
        Ok(TaskWatch { asked: true, entries, changes })
    }
}

impl TaskWatch {
    /// The task ids the acknowledgement lists (`None` when none were asked for).
    pub fn ids(&self) -> Option<Vec<String>> {
        self.asked.then(|| self.entries.iter().map(|e| e.id().to_owned()).collect())
    }

    /// Every watched task as it is now (sent right after the acknowledgement).
    pub fn current(&self) -> Vec<DetailedTask> {
        self.entries.iter().map(|e| e.detailed()).collect()
    }

    /// The next change of a watched task; never resolves when none is watched.
    pub async fn next(&mut self) -> DetailedTask {
        loop {
            let Some(changes) = &mut self.changes else { return std::future::pending().await };
            match changes.recv().await {
                Ok(entry) if self.entries.iter().any(|e| Arc::ptr_eq(e, &entry)) => return entry.detailed(),
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => self.changes = None,
            }
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
