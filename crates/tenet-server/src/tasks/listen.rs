//! Task status notifications (`notifications/tasks`) on `subscriptions/listen`
//! streams: a listen request may name tasks (`taskIds`); each change of one of them
//! is sent as the task would show in `tasks/get`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tenet_jsonrpc::ErrorObject;
use tenet_protocol::{DetailedTask, JsonObject, TASKS_EXTENSION};
use tokio::sync::broadcast::{self, error::RecvError};

use super::board::{Shared, TaskEntry};
use super::caller;
use super::remote;
use crate::error::ToolError;
use crate::routing::Route;
use crate::server::Server;
use crate::session::Link;
use crate::store::TaskRecord;

/// How many tasks one listen stream may watch.
pub const MAX_WATCHED_TASKS: usize = 256;
/// How often a listen stream reads again the tasks other replicas run that it watches
/// (announcements can be lost: a lagging stream, a store reconnecting), and ends as
/// failed one whose replica died.
const LOOK_AGAIN_EVERY: Duration = Duration::from_secs(5);

/// The tasks one listen stream watches: those this replica runs, and (when replicas
/// share tasks) those others run, whose changes they announce.
pub(crate) struct TaskWatch {
    /// The ids the acknowledgement lists (`None` when none were asked for).
    ids: Option<Vec<String>>,
    entries: Vec<Arc<TaskEntry>>,
    changes: Option<broadcast::Receiver<Arc<TaskEntry>>>,
    /// Tasks other replicas run: as last seen.
    remote: Vec<TaskRecord>,
    heard: Option<broadcast::Receiver<Arc<TaskRecord>>>,
    /// Where they are read again.
    shared: Option<Shared>,
    /// Changes found on reading them again, not yet sent.
    found: VecDeque<DetailedTask>,
    /// When to read them again (while there are any).
    again: Option<tokio::time::Interval>,
}

impl Server {
    /// The tasks a listen request may watch: those it names that exist, are the
    /// caller's, and whose tools the caller may still use (others are left out of
    /// the acknowledgement).
    ///
    /// # Errors
    /// -32021 when the request names tasks but does not list the tasks extension;
    /// -32602 when it names more than [`MAX_WATCHED_TASKS`].
    pub(crate) async fn watch_tasks(
        &self,
        route: &Route,
        asked: Option<&[String]>,
        link: &Link,
    ) -> Result<TaskWatch, ErrorObject> {
        let board = &self.shared.task_board;
        let mut watch = TaskWatch {
            ids: None,
            entries: Vec::new(),
            changes: None,
            remote: Vec::new(),
            heard: None,
            shared: board.shared().cloned(),
            found: VecDeque::new(),
            again: None,
        };
        let Some(asked) = asked else { return Ok(watch) };
        if !route.client.has_extension(TASKS_EXTENSION) {
            return Err(ToolError::missing_extension(TASKS_EXTENSION).into());
        }
        let mut unique: Vec<&String> = Vec::with_capacity(asked.len());
        for id in asked {
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        if unique.len() > MAX_WATCHED_TASKS {
            return Err(ErrorObject::invalid_params(format!(
                "Too many taskIds: {}, and a stream may watch {MAX_WATCHED_TASKS}",
                unique.len()
            )));
        }
        // Subscribed before the lookups, so no change after them is missed.
        let (changes, heard) = (board.changes(), board.heard_changes());
        let owner = caller(link);
        // Each id found here once; those this replica does not run may be another's,
        // all looked up in the store at once.
        let here: Vec<_> = unique.into_iter().map(|id| (id, board.find(id, owner.as_deref()).ok())).collect();
        let elsewhere = here.iter().filter(|(_, entry)| entry.is_none()).map(|(id, _)| *id);
        let looked_up = match &watch.shared {
            Some(shared) => futures_util::future::join_all(elsewhere.map(|id| remote::read(shared, id))).await,
            None => Vec::new(),
        };
        let mut looked_up = looked_up.into_iter();
        let mut ids = Vec::new();
        for (id, entry) in here {
            match entry {
                Some(entry) if link.allows(entry.scopes()) => watch.entries.push(entry),
                Some(_) => continue,
                None => match looked_up.next() {
                    // Neither another caller's, nor a legacy session's (2025-11-25).
                    Some(Ok(found))
                        if found.record.owner == owner
                            && found.record.session.is_none()
                            && link.allows(&found.record.scopes) =>
                    {
                        watch.remote.push(found.record);
                    }
                    _ => continue,
                },
            }
            ids.push(id.clone());
        }
        watch.ids = Some(ids);
        watch.changes = (!watch.entries.is_empty()).then_some(changes);
        watch.heard = (!watch.remote.is_empty()).then_some(heard);
        if !watch.remote.is_empty() {
            let first = tokio::time::Instant::now() + LOOK_AGAIN_EVERY;
            watch.again = Some(tokio::time::interval_at(first, LOOK_AGAIN_EVERY));
        }
        Ok(watch)
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

    /// Takes `record` if it is newer than the watched one of that task; what to send.
    fn take(&mut self, record: &TaskRecord) -> Option<DetailedTask> {
        // The newest write only: announcements of one task may arrive out of order.
        let watched = self.remote.iter_mut().find(|r| r.task.task.task_id == record.task.task.task_id)?;
        (watched.seq < record.seq).then(|| {
            *watched = record.clone();
            record.task.clone()
        })
    }

    /// Reads again the unfinished tasks other replicas run (ending as failed those
    /// whose replica died), keeping what changed for [`TaskWatch::next`].
    async fn look_again(&mut self) {
        let Some(shared) = self.shared.clone() else { return };
        let running: Vec<String> = self
            .remote
            .iter()
            .filter(|r| !r.task.task.status.is_terminal())
            .map(|r| r.task.task.task_id.clone())
            .collect();
        for id in running {
            let record = match remote::read(&shared, &id).await {
                Ok(found) if found.runner_alive || found.record.task.task.status.is_terminal() => found.record,
                Ok(found) => match remote::orphaned(&shared, &id, found.record).await {
                    Ok(record) => record,
                    Err(_) => continue,
                },
                Err(_) => continue,
            };
            if let Some(task) = self.take(&record) {
                self.found.push_back(task);
            }
        }
    }

    /// The next change of a watched task; never resolves when none is watched.
    pub async fn next(&mut self) -> DetailedTask {
        loop {
            if let Some(task) = self.found.pop_front() {
                return task;
            }
            tokio::select! {
                entry = recv(&mut self.changes) => {
                    if self.entries.iter().any(|e| Arc::ptr_eq(e, &entry)) {
                        return entry.detailed();
                    }
                }
                heard = recv_or_lag(&mut self.heard) => match heard {
                    Some(record) => {
                        if let Some(task) = self.take(&record) {
                            return task;
                        }
                    }
                    // Some were missed: read them all again.
                    None => self.look_again().await,
                },
                () = tick(&mut self.again) => self.look_again().await,
            }
        }
    }
}

/// The next tick of `interval`; never, without one.
async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(interval) => drop(interval.tick().await),
        None => std::future::pending().await,
    }
}

/// The next item of `channel`, or `None` once some were missed; never resolves once it
/// is closed (or when there is none).
async fn recv_or_lag<T: Clone>(channel: &mut Option<broadcast::Receiver<T>>) -> Option<T> {
    loop {
        let Some(receiver) = channel else { return std::future::pending().await };
        match receiver.recv().await {
            Ok(item) => return Some(item),
            Err(RecvError::Lagged(_)) => return None,
            Err(RecvError::Closed) => *channel = None,
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
