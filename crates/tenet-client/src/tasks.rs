//! The tasks extension (`io.modelcontextprotocol/tasks`, 2026-07-28) from the client's
//! side. A client built with [`crate::ClientBuilder::tasks`] lists the extension in its
//! capabilities; when a server then answers a request with a task handle instead of
//! the result, the client follows the task to its end: it polls `tasks/get` at the
//! pace the server asks for, answers the input the task waits for through the
//! [`crate::ClientHandler`] (`tasks/update`), and cancels the task (`tasks/cancel`)
//! when the caller cancels or the request's timeout runs out. The caller sees the
//! result (or the error) the request would have had without a task.

use std::time::Duration;

use serde_json::{Map, Value, json};
use tenet_protocol::{DetailedTask, Method, TaskInfo, TaskStatus};
use tokio::time::Instant;

use crate::client::{Client, decode};
use crate::error::{ClientError, Result};
use crate::options::RequestOptions;

/// How long to wait between polls when the server does not say.
const DEFAULT_POLL: Duration = Duration::from_millis(250);
/// The shortest and longest waits between polls, whatever the server says.
const POLL_BOUNDS: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(10));

/// The wait before the next poll: the server's `pollIntervalMs`, within [`POLL_BOUNDS`].
fn pause(poll_interval_ms: Option<u64>) -> Duration {
    poll_interval_ms.map_or(DEFAULT_POLL, Duration::from_millis).clamp(POLL_BOUNDS.0, POLL_BOUNDS.1)
}

impl Client {
    /// Follows the task a request was answered with until it ends, and returns the
    /// request's result. `deadline` is when the request's own timeout runs out.
    ///
    /// # Errors
    /// The task's error when it fails, [`ClientError::Cancelled`] when it is cancelled
    /// (by the caller or the server), [`ClientError::Timeout`] at the deadline (the
    /// task is then cancelled), or any failure of the polls themselves.
    pub(crate) async fn follow_task(
        &self,
        created: Value,
        options: &RequestOptions,
        deadline: Instant,
    ) -> Result<Value> {
        let task: TaskInfo = decode(created, "task")?;
        let id = task.task_id;
        let mut wait = pause(task.poll_interval_ms);
        let cancel = options.cancel.clone().unwrap_or_default();
        let timeout = options.timeout.unwrap_or(self.inner.timeout);
        loop {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = cancel.cancelled() => {
                    self.cancel_task(&id).await;
                    return Err(ClientError::Cancelled);
                }
                () = tokio::time::sleep_until(deadline) => {
                    self.cancel_task(&id).await;
                    return Err(ClientError::Timeout(timeout));
                }
            }
            let polled = self.task_call(&id, Method::TasksGet, json!({ "taskId": id }), options, deadline).await?;
            let polled: DetailedTask = decode(polled, "tasks/get")?;
            match polled.task.status {
                TaskStatus::Working => {}
                TaskStatus::InputRequired => {
                    let responses = self.answer_requests(polled.input_requests.unwrap_or_default()).await?;
                    let update = json!({ "taskId": id, "inputResponses": responses });
                    self.task_call(&id, Method::TasksUpdate, update, options, deadline).await?;
                    // The answers may be all the task waited for: look again at once.
                    wait = Duration::ZERO;
                    continue;
                }
                TaskStatus::Completed => {
                    let result = polled
                        .result
                        .ok_or_else(|| ClientError::Protocol(format!("task {id} completed without a result")))?;
                    return Ok(Value::Object(result));
                }
                TaskStatus::Failed => {
                    let error = polled
                        .error
                        .ok_or_else(|| ClientError::Protocol(format!("task {id} failed without an error")))?;
                    return Err(ClientError::Server(error));
                }
                TaskStatus::Cancelled => return Err(ClientError::Cancelled),
            }
            wait = pause(polled.task.poll_interval_ms);
        }
    }

    /// One request about task `id`, with what is left of the caller's timeout. When the
    /// caller cancels or the time runs out meanwhile, the task is cancelled too.
    async fn task_call(
        &self,
        id: &str,
        method: Method,
        params: Value,
        options: &RequestOptions,
        deadline: Instant,
    ) -> Result<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        let scoped = RequestOptions {
            timeout: Some(left),
            progress: None,
            cancel: options.cancel.clone(),
            log_level: options.log_level,
        };
        let mut params = match params {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        match self.rounds(method.name(), &mut params, None, &scoped).await {
            Err(ClientError::Timeout(_)) => {
                self.cancel_task(id).await;
                Err(ClientError::Timeout(options.timeout.unwrap_or(self.inner.timeout)))
            }
            Err(ClientError::Cancelled) => {
                self.cancel_task(id).await;
                Err(ClientError::Cancelled)
            }
            other => other,
        }
    }

    /// Tells the server to stop a task the caller no longer waits for; a failure is
    /// only logged (the task then ends by its own TTL).
    async fn cancel_task(&self, id: &str) {
        let options = RequestOptions::timeout(Duration::from_secs(5));
        let mut params = Map::from_iter([("taskId".to_owned(), json!(id))]);
        if let Err(error) = self.rounds(Method::TasksCancel.name(), &mut params, None, &options).await {
            tracing::debug!(task = id, %error, "could not cancel the task");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_follows_the_server_within_bounds() {
        assert_eq!(pause(None), DEFAULT_POLL);
        assert_eq!(pause(Some(0)), POLL_BOUNDS.0);
        assert_eq!(pause(Some(40)), Duration::from_millis(40));
        assert_eq!(pause(Some(3_600_000)), POLL_BOUNDS.1);
    }
}
