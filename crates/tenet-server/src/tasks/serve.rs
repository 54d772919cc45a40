//! Serving the extension: `tools/call` of task-supporting tools, and `tasks/get`,
//! `tasks/update`, `tasks/cancel`.

use std::sync::Arc;

use serde_json::Value;
use tenet_jsonrpc::{ErrorObject, Id, RawJson};
use tenet_protocol::{EmptyResult, JsonObject, Method, TASKS_EXTENSION, TaskIdParams, UpdateTaskParams};
use tokio_util::sync::CancellationToken;

use super::board::TaskEntry;
use super::seat::{First, Seat};
use crate::error::ToolError;
use crate::handler::{CompiledTool, Inputs, TaskSupport, tool_reply};
use crate::routing::{Reply, Route, params};
use crate::server::Server;
use crate::session::Link;

/// Who is asking: the subject of the caller's grant, if it has one. A task answers
/// only to the caller that created it.
pub(super) fn caller(link: &Link) -> Option<String> {
    link.grant.as_deref().and_then(crate::Grant::subject).map(str::to_owned)
}

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
            return tool_reply(route.version, self.run_tool(tool, ctx, arguments).await);
        }
        // The task outlives the request, so it has its own cancellation.
        let cancel = CancellationToken::new();
        let board = self.shared.task_board.clone();
        let (seat, first) = Seat::new(board, caller(link), tool.scopes.clone(), cancel.clone());
        if !tool.task_started_by_handler()
            && let Err(e) = seat.start(JsonObject::new())
        {
            return e.into();
        }
        let task_link = Link { cancel: cancel.clone(), ..link.clone() };
        let ctx = self.context(route, id, &task_link, inputs).with_seat(seat.clone());
        let (server, tool, version, stop) = (self.clone(), tool.clone(), route.version, cancel.clone());
        tokio::spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                outcome = server.run_tool(&tool, ctx, arguments) => seat.end(outcome, version),
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
            Ok(First::Started(info)) => Reply::of(&info, Reply::Task),
            Ok(First::Ended(outcome)) => tool_reply(route.version, outcome),
            Err(_) => ErrorObject::internal("the tool call ended without an outcome").into(),
        }
    }

    /// `tasks/get`, `tasks/update` and `tasks/cancel` (routing has checked that both
    /// sides have the extension).
    pub(crate) fn task_extension_method(&self, method: Method, raw: Option<&RawJson>, link: &Link) -> Reply {
        let served = match method {
            Method::TasksUpdate => params::<UpdateTaskParams>(raw).and_then(|p| {
                self.find_task(&p.task_id, link)?.answer(p.input_responses)?;
                Ok(Reply::ok(&EmptyResult {}))
            }),
            Method::TasksCancel => params::<TaskIdParams>(raw).and_then(|p| {
                self.find_task(&p.task_id, link)?.cancel();
                Ok(Reply::ok(&EmptyResult {}))
            }),
            _ => params::<TaskIdParams>(raw).and_then(|p| Ok(Reply::ok(&self.find_task(&p.task_id, link)?.detailed()))),
        };
        served.unwrap_or_else(Reply::Err)
    }

    /// The caller's task `id`, if the caller may still use its tool.
    fn find_task(&self, id: &str, link: &Link) -> Result<Arc<TaskEntry>, ErrorObject> {
        let entry = self.shared.task_board.find(id, caller(link).as_deref())?;
        if !link.allows(entry.scopes()) {
            return Err(link.insufficient_scope(&format!("task {id}"), entry.scopes()));
        }
        Ok(entry)
    }
}
