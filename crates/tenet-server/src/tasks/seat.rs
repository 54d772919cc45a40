//! A task-supporting tool call's place on the board: empty until its task starts (at
//! once, or when the handler calls [`crate::Context::start_task`]), then the way the
//! handler asks for input and the way its outcome reaches the task.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tenet_jsonrpc::ErrorObject;
use tenet_protocol::{InputRequest, JsonObject, ProtocolVersion, ResultType, TaskInfo, content_for_version};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::board::{Outcome, TaskBoard, TaskEntry};
use crate::error::ToolError;
use crate::handler::ToolOutput;

/// What the request waiting on a call hears first.
pub(crate) enum First {
    /// The task started: answer with its handle.
    Started(TaskInfo),
    /// The handler ended before starting a task: answer as a plain call.
    Ended(ToolOutput),
}

/// One call's link to the task it may become.
pub(crate) struct Seat {
    board: Arc<TaskBoard>,
    owner: Option<String>,
    /// Whose share of the board its task counts against ([`crate::Link::caller`]).
    share: Option<String>,
    scopes: Vec<String>,
    /// The call's cancellation, which becomes the task's.
    cancel: CancellationToken,
    entry: OnceLock<Arc<TaskEntry>>,
    first: Mutex<Option<oneshot::Sender<First>>>,
}

impl Seat {
    /// A seat for a call by `owner`, counted against `share`, of a tool requiring
    /// `scopes`, and where its request hears what happens first.
    pub fn new(
        board: Arc<TaskBoard>,
        owner: Option<String>,
        share: Option<String>,
        scopes: Vec<String>,
        cancel: CancellationToken,
    ) -> (Arc<Self>, oneshot::Receiver<First>) {
        let (tx, rx) = oneshot::channel();
        let seat = Self { board, owner, share, scopes, cancel, entry: OnceLock::new(), first: Mutex::new(Some(tx)) };
        (Arc::new(seat), rx)
    }

    /// The task, once it has started.
    pub fn task(&self) -> Option<&Arc<TaskEntry>> {
        self.entry.get()
    }

    /// Starts the task (once; later calls do nothing) and tells the waiting request.
    /// `answers` is the input the call gathered before (MRTR), kept for the task.
    ///
    /// # Errors
    /// When the board is full.
    pub fn start(&self, answers: JsonObject) -> Result<(), ErrorObject> {
        let mut first = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        if self.entry.get().is_some() {
            return Ok(());
        }
        let entry = self.board.create(
            self.owner.clone(),
            self.share.clone(),
            self.scopes.clone(),
            self.cancel.clone(),
            answers,
        )?;
        let info = entry.info();
        let _ = self.entry.set(entry);
        if let Some(tx) = first.take() {
            // The request may be gone (the client left); the task runs on regardless.
            let _ = tx.send(First::Started(info));
        }
        Ok(())
    }

    /// Asks the client for input through the task (`input_required` until answered).
    ///
    /// # Errors
    /// When no task has started, or it ends first.
    pub async fn ask(&self, requests: BTreeMap<String, InputRequest>) -> Result<JsonObject, ToolError> {
        let entry = self.task().ok_or_else(|| ToolError::msg("no task has started"))?;
        entry.ask(requests).await.map_err(ToolError::Protocol)
    }

    /// Records how the call ended: on the task, or for the waiting request when no
    /// task started.
    pub fn end(&self, outcome: ToolOutput, version: ProtocolVersion) {
        match self.entry.get() {
            Some(entry) => entry.finish(task_outcome(outcome, version)),
            None => {
                if let Some(tx) = self.first.lock().unwrap_or_else(PoisonError::into_inner).take() {
                    let _ = tx.send(First::Ended(outcome));
                }
            }
        }
    }
}

/// A call's outcome as its task keeps it: what the request would have returned. A tool
/// error is a completed task with an `isError` result; a protocol error fails it.
fn task_outcome(outcome: ToolOutput, version: ProtocolVersion) -> Outcome {
    let result = match outcome.and_then(crate::handler::ToolResult::into_built) {
        Ok(mut result) => {
            result.content = content_for_version(result.content, version);
            result
        }
        Err(ToolError::Failed(message)) => tenet_protocol::CallToolResult::error(message),
        Err(ToolError::Protocol(error)) => return Err(error),
        Err(ToolError::InputRequired(_)) => {
            return Err(ErrorObject::internal("the tool asked for input by MRTR after its task had started"));
        }
    };
    match serde_json::to_value(result) {
        Ok(serde_json::Value::Object(mut object)) => {
            // Inlined, it is still a 2026-07-28 result, which carries its resultType.
            object.insert("resultType".into(), ResultType::Complete.as_str().into());
            Ok(object)
        }
        Ok(_) => Err(ErrorObject::internal("a tool result must serialize as an object")),
        Err(e) => Err(ErrorObject::internal(format!("cannot serialize the result: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenet_protocol::{CallToolResult, TaskStatus};

    fn seat() -> (Arc<Seat>, oneshot::Receiver<First>) {
        Seat::new(Arc::default(), None, None, Vec::new(), CancellationToken::new())
    }

    #[tokio::test]
    async fn a_call_that_never_starts_a_task_answers_plainly() {
        let (seat, first) = seat();
        assert!(seat.ask(BTreeMap::new()).await.is_err(), "no task to ask through");
        seat.end(Ok(CallToolResult::error("no").into()), ProtocolVersion::V2026_07_28);
        let Ok(First::Ended(Ok(result))) = first.await else { panic!("expected the plain outcome") };
        assert!(result.is_error());
    }

    #[tokio::test]
    async fn a_started_task_takes_the_outcome_and_starts_once() {
        let (seat, first) = seat();
        let mut gathered = JsonObject::new();
        gathered.insert("user_name".into(), serde_json::json!({"action": "accept"}));
        seat.start(gathered).unwrap();
        seat.start(JsonObject::new()).unwrap();
        let Ok(First::Started(info)) = first.await else { panic!("expected the task handle") };
        let task = seat.task().unwrap().clone();
        assert_eq!(task.id(), info.task_id);
        let asked = BTreeMap::from([("user_name".to_owned(), InputRequest { method: "x".into(), params: None })]);
        assert_eq!(seat.ask(asked).await.unwrap()["user_name"]["action"], "accept", "MRTR answers carry over");

        seat.end(Err(ToolError::msg("tool failure")), ProtocolVersion::V2026_07_28);
        let detailed = task.detailed();
        assert_eq!(detailed.task.status, TaskStatus::Completed, "a tool error completes the task");
        let result = detailed.result.unwrap();
        assert_eq!((&result["isError"], &result["resultType"]), (&true.into(), &"complete".into()));
    }

    #[test]
    fn protocol_errors_fail_the_task() {
        let failed = task_outcome(Err(ToolError::invalid_params("bad")), ProtocolVersion::V2026_07_28);
        assert_eq!(failed.err().unwrap().code.0, -32602);
    }
}
