//! The tasks extension, `io.modelcontextprotocol/tasks` (2026-07-28 and later).
//!
//! A client that lists the extension in a request's capabilities may get a task handle
//! instead of the result (`resultType: "task"`, the flat [`TaskInfo`]); it then polls
//! `tasks/get` (a [`DetailedTask`]: the result, the error or the input the task waits
//! for is inlined), answers input with `tasks/update` and stops the task with
//! `tasks/cancel`. There is no `tasks/list` and no `tasks/result`. The task states are
//! the 2025-11-25 ones ([`TaskStatus`]); durations carry their unit (`ttlMs`,
//! `pollIntervalMs`).
//!
//! ```
//! use tenet_protocol::{DetailedTask, TaskInfo, TaskStatus};
//!
//! let task = TaskInfo {
//!     task_id: "t1".into(),
//!     status: TaskStatus::Working,
//!     status_message: None,
//!     created_at: "2026-07-28T10:00:00.000Z".into(),
//!     last_updated_at: "2026-07-28T10:00:00.000Z".into(),
//!     ttl_ms: Some(60_000),
//!     poll_interval_ms: Some(500),
//! };
//! let json = serde_json::to_value(DetailedTask::from(task)).unwrap();
//! assert_eq!(json["ttlMs"], 60_000);
//! assert!(json.get("ttl").is_none() && json.get("result").is_none());
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tenet_jsonrpc::ErrorObject;

use crate::input::InputRequest;
use crate::json::JsonObject;
use crate::task::TaskStatus;

/// The extension's identifier, the key under `capabilities.extensions`.
pub const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// A task as the extension reports it: the body of a `CreateTaskResult` (with
/// `resultType: "task"`) and the common part of every [`DetailedTask`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInfo {
    /// The task's id, minted by the server.
    pub task_id: String,
    /// Its state.
    pub status: TaskStatus,
    /// A human-readable note on the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// When it was created (ISO 8601).
    pub created_at: String,
    /// When it last changed (ISO 8601).
    pub last_updated_at: String,
    /// How long the task is kept, in integer milliseconds from its creation; `null`
    /// for no limit. Always present on the wire.
    pub ttl_ms: Option<u64>,
    /// How often to poll, in integer milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval_ms: Option<u64>,
}

/// A task with what its state carries: the `tasks/get` result (with
/// `resultType: "complete"`) and the params of `notifications/tasks`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailedTask {
    /// The task.
    #[serde(flatten)]
    pub task: TaskInfo,
    /// `input_required`: every request still waiting for an answer, by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_requests: Option<BTreeMap<String, InputRequest>>,
    /// `completed`: the result the request would have returned (a `CallToolResult`
    /// for `tools/call`, `isError` results included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<JsonObject>,
    /// `failed`: the JSON-RPC error the request would have returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

impl From<TaskInfo> for DetailedTask {
    fn from(task: TaskInfo) -> Self {
        Self { task, input_requests: None, result: None, error: None }
    }
}

/// `tasks/update` params: answers to some (or all) of the input a task waits for.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateTaskParams {
    /// The task.
    pub task_id: String,
    /// Answers by input request key; keys not outstanding are ignored.
    pub input_responses: JsonObject,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(status: TaskStatus) -> TaskInfo {
        TaskInfo {
            task_id: "t".into(),
            status,
            status_message: None,
            created_at: "2026-07-28T00:00:00.000Z".into(),
            last_updated_at: "2026-07-28T00:00:00.000Z".into(),
            ttl_ms: None,
            poll_interval_ms: None,
        }
    }

    #[test]
    fn an_unlimited_ttl_is_null_not_absent() {
        let json = serde_json::to_value(info(TaskStatus::Working)).unwrap();
        assert_eq!(json["ttlMs"], serde_json::Value::Null);
        assert!(json.as_object().unwrap().contains_key("ttlMs"));
        assert!(json.get("pollIntervalMs").is_none());
    }

    #[test]
    fn detailed_tasks_are_flat_and_round_trip() {
        let mut failed = DetailedTask::from(info(TaskStatus::Failed));
        failed.error = Some(ErrorObject::internal("boom"));
        let json = serde_json::to_value(&failed).unwrap();
        assert_eq!(json["status"], "failed");
        assert_eq!(json["error"], json!({"code": -32603, "message": "boom"}));
        assert!(json.get("task").is_none() && json.get("result").is_none());
        assert_eq!(serde_json::from_value::<DetailedTask>(json).unwrap(), failed);
    }

    #[test]
    fn update_params_need_a_task_id_and_responses() {
        let p: UpdateTaskParams =
            serde_json::from_value(json!({"taskId": "t", "inputResponses": {"k": {"action": "accept"}}})).unwrap();
        assert_eq!(p.input_responses["k"]["action"], "accept");
        assert!(serde_json::from_value::<UpdateTaskParams>(json!({"taskId": "t"})).is_err());
    }
}
