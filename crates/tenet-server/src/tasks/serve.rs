//! Serving the extension: `tools/call` of task-supporting tools, and `tasks/get`,
//! `tasks/update`, `tasks/cancel` (entries of the method table, [`extension_methods`]).

use std::sync::{Arc, Weak};

use serde::de::DeserializeOwned;
use serde_json::Value;
use tenet_jsonrpc::{ErrorObject, Id};
use tenet_protocol::{Era, JsonObject, Method, TASKS_EXTENSION, TaskIdParams, UpdateTaskParams};
use tokio_util::sync::CancellationToken;

use super::board::TaskEntry;
use super::caller;
use super::remote::TaskAnswer;
use super::seat::{First, Seat};
use crate::error::ToolError;
use crate::grant::Grant;
use crate::handler::{CompiledTool, Context, Inputs, MethodDef, Params, TaskSupport};
use crate::routing::tool_reply;
use crate::routing::{Reply, Route};
use crate::server::Server;
use crate::session::{Link, allows, insufficient_scope};

impl Server {
    /// A 2026-07-28 `tools/call` of a tool that supports tasks. A client that did not
    /// list the extension on this request gets a plain call (or -32021 when the tool
    /// runs only as a task); one that did gets a task handle, at once or when the
    /// handler starts its task, unless the handler finishes without starting one.
    pub(crate) async fn call_task_tool(
        &self,
        route: &Route,
        id: &Id,
        tool: &Arc<CompiledTool>,
        arguments: Value,
        inputs: Option<Inputs>,
        link: &Link,
    ) -> Reply {
        if !route.client.has_extension(TASKS_EXTENSION) {
            if tool.task_support() == TaskSupport::Required {
                return ErrorObject::from(ToolError::missing_extension(TASKS_EXTENSION)).into();
            }
            let ctx = self.context(route, id, link, inputs);
            return tool_reply(route.version, self.run_tool(tool, ctx, arguments, None).await);
        }
        // The task outlives the request, so it has its own cancellation.
        let cancel = CancellationToken::new();
        let board = self.shared.task_board.clone();
        let (seat, first) = Seat::new(board, caller(link), link.share(), tool.scopes.clone(), cancel.clone());
        if !tool.task_started_by_handler()
            && let Err(e) = seat.start(JsonObject::new())
        {
            return e.into();
        }
        let task_link = Link { cancel: cancel.clone(), ..link.clone() };
        let ctx = self.context(route, id, &task_link, inputs).with_seat(seat.clone());
        let held = seat.clone();
        let (server, tool, version, stop) = (self.clone(), tool.clone(), route.version, cancel.clone());
        tokio::spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                outcome = server.run_tool(&tool, ctx, arguments, None) => seat.end(outcome, version),
            }
        });
        let first = tokio::select! {
            biased;
            first = first => first,
            () = link.cancel.cancelled() => {
                // The client left before a task existed: nobody can ask for the work.
                cancel.cancel();
                return ErrorObject::internal("the request was cancelled").into();
            }
        };
        match first {
            Ok(First::Started(info)) => {
                // Other replicas know of the task before its client can ask them.
                if let Some(entry) = held.task()
                    && let Err(e) = entry.persist(false).await
                {
                    // Nobody was told of it: gone, and its work stopped.
                    self.shared.task_board.remove(entry.id());
                    cancel.cancel();
                    return ErrorObject::internal(e.to_string()).into();
                }
                Reply::of(&info, Reply::Task)
            }
            Ok(First::Ended(outcome)) => tool_reply(route.version, outcome),
            Err(_) => ErrorObject::internal("the tool call ended without an outcome").into(),
        }
    }

    /// `tasks/get`, `tasks/update` and `tasks/cancel` for a caller of `grant` (routing
    /// has checked that both sides have the extension). A task another replica runs is
    /// read from the store replicas share, and updates and cancellations go to that
    /// replica.
    async fn task_request(
        &self,
        method: Method,
        id: &str,
        responses: Option<JsonObject>,
        grant: Option<&Grant>,
    ) -> Result<TaskAnswer, ErrorObject> {
        let e = match self.find_task(id, grant) {
            Ok(entry) => {
                return match (method, responses) {
                    (Method::TasksUpdate, Some(responses)) => entry.answer(responses).map(|()| TaskAnswer::Done {}),
                    (Method::TasksCancel, _) => {
                        entry.cancel();
                        Ok(TaskAnswer::Done {})
                    }
                    _ => Ok(TaskAnswer::Task(Box::new(entry.detailed()))),
                };
            }
            Err(e) => e,
        };
        match self.shared.task_board.shared() {
            Some(shared) => {
                super::remote::serve(shared, method, id, responses, grant).await.map_err(|r| r.unwrap_or(e))
            }
            None => Err(e),
        }
    }

    /// Takes a letter another replica sent about a task this one runs: a client's
    /// `tasks/cancel` (`cancel`) or `tasks/update` (its `inputResponses`), checked there.
    pub fn task_letter(&self, id: &str, message: &[u8]) {
        let board = &self.shared.task_board;
        if let (Some(session), Some(shared)) = (board.legacy_session(id), board.shared()) {
            // A 2025-11-25 task: cancelled here, then written as it ended.
            if message == b"cancel" && session.tasks().cancel(id).is_ok() {
                board.ran_legacy(id);
            }
            let (shared, id) = (shared.clone(), id.to_owned());
            tokio::spawn(async move {
                let ended = super::legacy_remote::write(&shared, &session, &id, super::legacy_remote::ENDED).await;
                if let Err(e) = ended {
                    tracing::warn!(task = %id, "other replicas do not see this task's end: {e}");
                }
            });
            return;
        }
        let Some(entry) = board.local(id) else { return };
        if message == b"cancel" {
            entry.cancel();
        } else if let Ok(responses) = serde_json::from_slice::<JsonObject>(message)
            && let Err(e) = entry.answer(responses)
        {
            tracing::debug!(task = id, "a forwarded update: {}", e.message);
        }
        // Written again as a new write, whatever the letter changed: the replica that
        // sent it waits for one (and a write that failed before lands now).
        tokio::spawn(async move {
            if let Err(e) = entry.persist(true).await {
                tracing::warn!(task = %entry.id(), "other replicas do not see this task: {e}");
            }
        });
    }

    /// The caller's task `id`, if the caller may still use its tool.
    fn find_task(&self, id: &str, grant: Option<&Grant>) -> Result<Arc<TaskEntry>, ErrorObject> {
        let entry = self.shared.task_board.find(id, grant.and_then(Grant::owner))?;
        if !allows(grant, entry.scopes()) {
            return Err(insufficient_scope(grant, &format!("task {id}"), entry.scopes()));
        }
        Ok(entry)
    }
}

/// The tasks extension's requests (2026-07-28), `tasks/get`, `tasks/update` and
/// `tasks/cancel`, as entries of the server's method table: routed there in the era
/// that has the extension, only for a client that declared it, and admitted at the door
/// as any added method; a task is held to its owner and its scopes here. `shared` is
/// the server's own (the table lives in it).
pub(crate) fn extension_methods(shared: &Weak<crate::server::Shared>) -> [MethodDef; 3] {
    fn serving<P: DeserializeOwned + Send + 'static>(
        shared: &Weak<crate::server::Shared>,
        method: Method,
        read: fn(P) -> (String, Option<JsonObject>),
    ) -> MethodDef {
        let shared = shared.clone();
        let handler = move |ctx: Context, Params(params): Params<P>| {
            let shared = shared.upgrade();
            async move {
                let server = Server { shared: shared.ok_or_else(|| ErrorObject::internal("the server has stopped"))? };
                let (id, responses) = read(params);
                server.task_request(method, &id, responses, ctx.grant()).await
            }
        };
        let def =
            MethodDef::new(method.name(), handler).extension(TASKS_EXTENSION).era(Era::Stateless).client_declares();
        MethodDef { own: true, ..def }
    }
    [
        serving(shared, Method::TasksGet, |p: TaskIdParams| (p.task_id, None)),
        serving(shared, Method::TasksUpdate, |p: UpdateTaskParams| (p.task_id, Some(p.input_responses))),
        serving(shared, Method::TasksCancel, |p: TaskIdParams| (p.task_id, None)),
    ]
}
