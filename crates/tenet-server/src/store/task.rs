//! Tasks (of the tasks extension, and 2025-11-25 ones) that replicas share: the replica running a task
//! writes what `tasks/get` shows of it ([`TaskRecord`]) after every change; any replica
//! answers `tasks/get` from it, and hands `tasks/update` and `tasks/cancel` to the
//! replica running it (a letter). Kept by the same store as sessions (it knows which
//! replicas live): see [`crate::store::SessionStore`].

use serde::{Deserialize, Serialize};
use tenet_protocol::DetailedTask;

/// A task as the replica running it last wrote it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRecord {
    /// The subject of the grant that created it (`None`: a caller without one).
    pub owner: Option<String>,
    /// The scopes every request about it must hold.
    pub scopes: Vec<String>,
    /// The replica running it.
    pub replica: String,
    /// Grows with every write: an older write never replaces a newer one.
    pub seq: u64,
    /// The task as `tasks/get` shows it (a 2025-11-25 task's fields as the extension
    /// names them; its result is the `CallToolResult`).
    pub task: DetailedTask,
    /// The legacy session (2025-11-25) the task was made in, whose requests alone may
    /// see it; `None` for a task of the tasks extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// A task record as read, and whether the replica running it still lives.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedTask {
    /// The record.
    pub record: TaskRecord,
    /// Whether the replica running it holds its lease (a replica that died takes its
    /// tasks with it).
    pub runner_alive: bool,
}

/// What became of a write of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskWrite {
    /// Written.
    Written,
    /// A write with a later seq came first: nothing written.
    Stale,
    /// The task was ended as failed by another replica, which found this one gone:
    /// nothing is written to it any more (the replica running it adopts that end).
    Fenced,
}
