//! Tasks: tool calls that answer at once with a task handle and run on in the
//! background, in both of their forms. The 2025-11-25 tasks of a legacy session are in
//! [`legacy`]; the rest of this folder is the tasks extension for 2026-07-28 requests:
//! the server-wide [`TaskBoard`] (`board`), a call's [`Seat`] on it (`seat`), the
//! methods that serve it (`serve`) and task notifications on listen streams (`listen`).
//!
//! # The tasks extension
//!
//! The tasks extension (`io.modelcontextprotocol/tasks`): a server offers it (in `server/discover`) when some tool supports tasks
//! ([`crate::ToolDef::task_support`]). A `tools/call` of such a tool from a request
//! that lists the extension in its client capabilities answers with a task handle
//! (`resultType: "task"`) and the work goes on in the background: the client polls
//! `tasks/get` (the result, the error or the pending input is inlined), answers input
//! with `tasks/update` and stops the work with `tasks/cancel`. Without the extension
//! the call is served plainly, or refused with -32021 when the tool runs only as a task.
//!
//! The task starts before the handler runs, or — for tools that gather input the MRTR
//! way first ([`crate::ToolDef::task_started_by_handler`]) — when the handler calls
//! [`crate::Context::start_task`]. Once it has started, the handler's input requests
//! ([`crate::Context::elicit`] and the like) park the task in `input_required` until
//! `tasks/update` answers them, and progress and log messages are not sent. The
//! handler runs under the tool's timeout like any call, time waiting for input
//! included. A listen stream may name tasks (`taskIds`) to hear `notifications/tasks`
//! when they change.
//!
//! Task ids are 128 random bits; a task answers only to the caller that created it
//! (the subject of its grant) while that caller still holds the tool's scopes.
//!
//! The 2025-11-25 tasks (`tasks/result`, `tasks/list`, the `task` param) are in
//! [`legacy`]; they live in their legacy session (and in the store, for the other
//! replicas, when replicas share it: [`legacy_remote`]).

mod board;
mod ident;
mod legacy;
pub(crate) mod legacy_remote;
mod listen;
mod remote;
mod seat;
mod serve;

pub(crate) use board::TaskBoard;
pub use board::TaskLimits;

/// Who is asking: the subject of the caller's grant, if it has one. A task answers
/// only to the caller that created it.
fn caller(link: &crate::session::Link) -> Option<String> {
    link.grant.as_deref().and_then(crate::grant::Grant::owner).map(str::to_owned)
}
pub(crate) use legacy::{TaskOutcome, TaskStore, by_age};
pub(crate) use listen::task_notification;
pub(crate) use seat::Seat;
pub(crate) use serve::extension_methods;
