//! Requests relayed to an upstream: a call to a namespaced tool (arguments already
//! checked against the upstream's schema, progress relayed back), `prompts/get`,
//! `resources/read` and `completion/complete`, each with the upstream's timeout and
//! the downstream request's cancellation, resource URIs in the answers rewritten.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tenet_client::{ClientError, RequestOptions};
use tenet_protocol::{
    CallToolResult, CompleteResult, GetPromptResult, Method, ProgressParams, ReadResourceResult, Reference,
};
use tenet_server::{CompletionRequest, Context, PromptRequest, RawArgs, ReadOutput, ReadRequest, ToolError};
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
    let mut options = options(&upstream, Some(&ctx));
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
    let mut result = result.map_err(|e| failure(&upstream, &tool, e))?;
    upstream.uris.blocks(result.content.iter_mut());
    Ok(result)
}

/// A request's options: the upstream's timeout, and the downstream request's
/// cancellation when there is one.
fn options(upstream: &Upstream, ctx: Option<&Context>) -> RequestOptions {
    let options = RequestOptions::timeout(upstream.config.call_timeout());
    match ctx {
        Some(ctx) => options.with_cancel(ctx.cancellation().clone()),
        None => options,
    }
}

/// Sends `method` with `params` to `upstream` for the downstream request `ctx`, with
/// the upstream's timeout and the request's cancellation; `what` names it in errors.
async fn relay<T: DeserializeOwned>(
    upstream: &Upstream,
    method: Method,
    params: Value,
    ctx: Option<&Context>,
    what: &str,
) -> Result<T, ToolError> {
    let client = upstream.client().map_err(ToolError::msg)?;
    let value =
        client.request(method.name(), params, &options(upstream, ctx)).await.map_err(|e| failure(upstream, what, e))?;
    serde_json::from_value(value).map_err(|e| {
        ToolError::msg(format!("upstream {} answered {what} with an invalid result: {e}", upstream.name()))
    })
}

/// `prompts/get` of the upstream's prompt `name`; embedded resources in its messages
/// are named as the gateway names them.
pub(crate) async fn prompt(
    upstream: Arc<Upstream>,
    name: Arc<str>,
    request: PromptRequest,
) -> Result<GetPromptResult, ToolError> {
    let params = json!({ "name": &*name, "arguments": request.arguments });
    let mut result: GetPromptResult = relay(&upstream, Method::PromptsGet, params, Some(&request.ctx), &name).await?;
    upstream.uris.blocks(result.messages.iter_mut().map(|m| &mut m.content));
    Ok(result)
}

/// `resources/read` of the gateway's URI, as the upstream's URI; the contents come
/// back under the gateway's URIs.
pub(crate) async fn read(upstream: Arc<Upstream>, request: ReadRequest) -> ReadOutput {
    // Only URIs under this upstream's prefix reach here (listed ones, or any through
    // its catch-all template).
    let Some(original) = upstream.uris.inward(&request.uri) else { return Ok(None) };
    let params = json!({ "uri": original });
    let mut result: ReadResourceResult =
        match relay(&upstream, Method::ResourcesRead, params, Some(&request.ctx), original).await {
            Ok(result) => result,
            // The upstream has nothing there: the gateway answers as its own protocol
            // version says (-32002 or -32602) and names its own URI.
            Err(ToolError::Protocol(e)) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
    upstream.uris.read(&mut result.contents);
    Ok(Some(result.contents))
}

/// Whether an upstream's error says a resource is not there: -32002 (before
/// 2026-07-28), or -32602 naming the URI in its data (2026-07-28).
fn is_not_found(error: &tenet_server::jsonrpc::ErrorObject) -> bool {
    use tenet_server::jsonrpc::ErrorCode;
    error.code == ErrorCode::RESOURCE_NOT_FOUND
        || (error.code == ErrorCode::INVALID_PARAMS && error.data.as_ref().is_some_and(|d| d.get("uri").is_some()))
}

/// `completion/complete` for an argument of the upstream's prompt or template
/// `reference`; no completions when the upstream has none or fails.
pub(crate) async fn complete(upstream: Arc<Upstream>, reference: Reference, request: CompletionRequest) -> Vec<String> {
    let mut params = json!({
        "ref": reference,
        "argument": { "name": request.argument, "value": request.value },
    });
    if !request.context.is_empty() {
        params["context"] = json!({ "arguments": request.context });
    }
    match relay::<CompleteResult>(&upstream, Method::CompletionComplete, params, None, "completion/complete").await {
        Ok(result) => result.completion.values,
        Err(e) => {
            tracing::debug!(upstream = %upstream.name(), error = %e, "no completions");
            Vec::new()
        }
    }
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
