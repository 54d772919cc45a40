//! A call to a namespaced tool, relayed to its upstream: arguments already checked
//! against the upstream's schema, progress relayed back, cancellation relayed on.

use std::sync::Arc;

use serde_json::Value;
use tenet_client::{ClientError, RequestOptions};
use tenet_protocol::{CallToolResult, ProgressParams};
use tenet_server::{Context, RawArgs, ToolError};
use tokio::sync::mpsc;

use crate::upstream::{Upstream, is_gone};

/// Progress notifications held between the upstream's reader and the downstream
/// request; past this, the newest news is dropped rather than slowing the upstream
/// (a later notification says more).
const PROGRESS_QUEUE: usize = 64;

/// Calls `tool` on `upstream` for the downstream request `ctx`.
///
/// An upstream's own tool failure comes back as it was (`isError`); an error the
/// upstream answers with (say -32602) is passed on as that error; an upstream that is
/// down, times out or drops the connection gives a tool error naming it, so the model
/// reads what happened.
pub(crate) async fn forward(
    upstream: Arc<Upstream>,
    tool: Arc<str>,
    ctx: Context,
    RawArgs(arguments): RawArgs,
) -> Result<CallToolResult, ToolError> {
    let client = upstream.client().map_err(ToolError::msg)?;
    let mut options = RequestOptions::timeout(upstream.config.call_timeout()).with_cancel(ctx.cancellation().clone());
    let arguments = if arguments.as_object().is_some_and(serde_json::Map::is_empty) { Value::Null } else { arguments };
    let result = if ctx.wants_progress() {
        let (tx, mut rx) = mpsc::channel::<ProgressParams>(PROGRESS_QUEUE);
        options = options.with_progress(move |p| {
            let _ = tx.try_send(p);
        });
        let call = client.call_tool_with(&tool, arguments, &options);
        tokio::pin!(call);
        loop {
            tokio::select! {
                biased;
                Some(p) = rx.recv() => ctx.progress(p.progress, p.total, p.message).await,
                result = &mut call => break result,
            }
        }
    } else {
        client.call_tool_with(&tool, arguments, &options).await
    };
    result.map_err(|e| failure(&upstream, &tool, e))
}

/// What a failed relay becomes downstream.
fn failure(upstream: &Upstream, tool: &str, error: ClientError) -> ToolError {
    let name = upstream.name();
    match error {
        ClientError::Server(e) => ToolError::Protocol(e),
        ClientError::Timeout(after) => {
            ToolError::msg(format!("upstream {name} did not answer {tool} within {} s (cancelled)", after.as_secs()))
        }
        error if is_gone(&error) => {
            // The supervisor checks the connection now rather than at the next heartbeat.
            upstream.wake.notify_one();
            ToolError::msg(format!("upstream {name} lost the connection during {tool}: {error}"))
        }
        other => ToolError::msg(format!("upstream {name} failed {tool}: {other}")),
    }
}
