//! The tasks extension (`io.modelcontextprotocol/tasks`, 2026-07-28) from the client's
//! side. A client built with [`crate::ClientBuilder::tasks`] lists the extension in its
//! capabilities; when a server then answers a request with a task handle instead of
//! the result, the client follows the task to its end: it polls `tasks/get` at the
//! pace the server asks for, answers the input the task waits for through the
//! [`crate::ClientHandler`] (`tasks/update`), and cancels the task (`tasks/cancel`)
//! when the caller cancels or the request's timeout runs out. The caller sees the
//! result (or the error) the request would have had without a task.
//!
//! A 2025-11-25 task (the answer to a request sent with a `task` param, as a
//! `CreateTaskResult`) is followed with `tasks/result`, which waits for the task's end;
//! the requests the task sends meanwhile come on that request's stream and go to the
//! request's handler.

use std::future::Future;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tenet_protocol::{DetailedTask, Method, RELATED_TASK_KEY, TaskInfo, TaskStatus};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::client::{Client, decode, in_background};
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

/// A task the client still follows. Unless [`Abandon::settled`] says the task ended,
/// it is cancelled on the server: awaited by [`Abandon::cancel`], or in the background
/// when the caller drops the call.
struct Abandon {
    client: Option<Client>,
    id: String,
}

impl Abandon {
    /// The task ended on its own (completed, failed or cancelled): nothing to cancel.
    fn settled(mut self) {
        self.client = None;
    }

    /// Cancels the task now. The cancel runs on its own, so that it is sent even if the
    /// caller stops waiting for it.
    async fn cancel(mut self) {
        if let Some(client) = self.client.take() {
            let id = std::mem::take(&mut self.id);
            let _ = tokio::spawn(async move { client.cancel_task(&id).await }).await;
        }
    }
}

impl Drop for Abandon {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else { return };
        let id = std::mem::take(&mut self.id);
        in_background(async move { client.cancel_task(&id).await });
    }
}

/// `work`, unless the caller cancels or the deadline passes first.
async fn within<T>(
    work: impl Future<Output = Result<T>>,
    cancel: &CancellationToken,
    deadline: Instant,
    timeout: Duration,
) -> Result<T> {
    tokio::select! {
        value = work => value,
        () = cancel.cancelled() => Err(ClientError::Cancelled),
        () = tokio::time::sleep_until(deadline) => Err(ClientError::Timeout(timeout)),
    }
}

impl Client {
    /// Follows a task that a request was answered with until it ends, by the options'
    /// deadline (else within their timeout), and returns the request's result; the
    /// options' handler answers
    /// the input the task waits for. `created` is the answer as it came: a task handle
    /// of the tasks extension (to a request made with [`RequestOptions::relay`]), or a
    /// 2025-11-25 `CreateTaskResult` (to a request sent with a `task` param).
    ///
    /// # Errors
    /// As a request that followed the task itself: the task's error when it fails,
    /// [`ClientError::Cancelled`], [`ClientError::Timeout`], or a failed poll; the task
    /// is cancelled on the server whenever the client stops following it first.
    pub async fn follow_task(&self, created: Value, options: &RequestOptions) -> Result<Value> {
        self.follow_task_until(created, options, self.deadline(options)).await
    }

    /// Follows the task a request was answered with until it ends, and returns the
    /// request's result. `deadline` is when the request's own timeout runs out.
    ///
    /// # Errors
    /// The task's error when it fails, [`ClientError::Cancelled`] when it is cancelled
    /// (by the caller or the server), [`ClientError::Timeout`] at the deadline, or any
    /// failure of the polls themselves. Whenever the client stops following a task
    /// that has not ended (an error, a cancel, the deadline, or the call being dropped),
    /// the task is cancelled on the server.
    pub(crate) async fn follow_task_until(
        &self,
        created: Value,
        options: &RequestOptions,
        deadline: Instant,
    ) -> Result<Value> {
        if created.get("resultType").is_none()
            && let Some(task) = created.get("task")
        {
            let id = task.get("taskId").and_then(Value::as_str);
            let id = id.ok_or_else(|| ClientError::Protocol("a task without a taskId".into()))?;
            return self.await_task_result(id, options, deadline).await;
        }
        let task: TaskInfo = decode(created, "task")?;
        let abandon = Abandon { client: Some(self.clone()), id: task.task_id.clone() };
        match self.poll_task(&task, options, deadline).await {
            Ok(outcome) => {
                abandon.settled();
                outcome
            }
            Err(error) => {
                abandon.cancel().await;
                Err(error)
            }
        }
    }

    /// Waits for a 2025-11-25 task's result with `tasks/result`, and returns it as the
    /// request's own (without the server's note of the task it came from).
    async fn await_task_result(&self, id: &str, options: &RequestOptions, deadline: Instant) -> Result<Value> {
        let abandon = Abandon { client: Some(self.clone()), id: id.to_owned() };
        match self.task_call(Method::TasksResult, json!({ "taskId": id }), options, deadline).await {
            Ok(mut result) => {
                abandon.settled();
                if let Some(Value::Object(meta)) = result.get_mut("_meta") {
                    meta.remove(RELATED_TASK_KEY);
                    if meta.is_empty() {
                        result.as_object_mut().map(|r| r.remove("_meta"));
                    }
                }
                Ok(result)
            }
            // The task ended with the request's error.
            Err(error @ ClientError::Server(_)) => {
                abandon.settled();
                Err(error)
            }
            Err(error) => {
                abandon.cancel().await;
                Err(error)
            }
        }
    }

    /// Polls a task until it ends: `Ok` with the task's own outcome, or `Err` when the
    /// client stops following it first.
    async fn poll_task(&self, task: &TaskInfo, options: &RequestOptions, deadline: Instant) -> Result<Result<Value>> {
        let id = task.task_id.as_str();
        let cancel = options.cancel.clone().unwrap_or_default();
        let timeout = options.timeout.unwrap_or(self.inner.timeout);
        let mut wait = pause(task.poll_interval_ms);
        loop {
            // The caller's cancel and timeout reach every wait, a handler's answer included.
            let sleep = async {
                tokio::time::sleep(wait).await;
                Ok(())
            };
            within(sleep, &cancel, deadline, timeout).await?;
            let polled = self.task_call(Method::TasksGet, json!({ "taskId": id }), options, deadline).await?;
            let polled: DetailedTask = decode(polled, "tasks/get")?;
            wait = pause(polled.task.poll_interval_ms);
            match polled.task.status {
                TaskStatus::Working => {}
                TaskStatus::InputRequired => {
                    let requests = polled.input_requests.unwrap_or_default();
                    if requests.is_empty() {
                        continue;
                    }
                    let answers =
                        within(self.answer_requests(requests, options.handler.as_ref()), &cancel, deadline, timeout)
                            .await?;
                    let update = json!({ "taskId": id, "inputResponses": answers });
                    self.task_call(Method::TasksUpdate, update, options, deadline).await?;
                    // The answers may be all the task waited for: look again soon.
                    wait = POLL_BOUNDS.0;
                }
                TaskStatus::Completed => {
                    return Ok(polled
                        .result
                        .map(Value::Object)
                        .ok_or_else(|| ClientError::Protocol(format!("task {id} completed without a result"))));
                }
                TaskStatus::Failed => {
                    return Ok(Err(polled.error.map_or_else(
                        || ClientError::Protocol(format!("task {id} failed without an error")),
                        ClientError::Server,
                    )));
                }
                TaskStatus::Cancelled => return Ok(Err(ClientError::Cancelled)),
            }
        }
    }

    /// One request about a task, with what is left of the caller's timeout (a timeout
    /// is reported as the caller's own).
    async fn task_call(
        &self,
        method: Method,
        params: Value,
        options: &RequestOptions,
        deadline: Instant,
    ) -> Result<Value> {
        let scoped = RequestOptions {
            timeout: options.timeout,
            deadline: Some(deadline),
            progress: None,
            cancel: options.cancel.clone(),
            log_level: options.log_level,
            handler: options.handler.clone(),
            owner: options.owner.clone(),
            capabilities: options.capabilities.clone(),
            relay: false,
            meta: None,
            written_meta: None,
            arguments: None,
        };
        let mut params = match params {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        self.rounds(method.name(), &mut params, None, &scoped, deadline).await?.into_value()
    }

    /// Tells the server to stop a task the client no longer follows; a failure is only
    /// logged (the task then ends by its own timeout).
    async fn cancel_task(&self, id: &str) {
        let options = RequestOptions::timeout(Duration::from_secs(5));
        let mut params = Map::from_iter([("taskId".to_owned(), json!(id))]);
        if let Err(error) =
            self.rounds(Method::TasksCancel.name(), &mut params, None, &options, self.deadline(&options)).await
        {
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
