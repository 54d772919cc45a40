//! The method handlers: tools, prompts, resources, completion, subscriptions.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use serde_json::{Value, json};
use tenet_jsonrpc::{ErrorCode, ErrorObject, Id, JsonText, RawJson};
use tenet_protocol::{
    AcknowledgedParams, CacheScope, CallToolParams, CallToolResult, CompleteParams, CompleteResult, Completion,
    CreateTaskResult, Era, GetPromptParams, JsonObject, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListTasksResult, ListToolsResult, ListenParams, Method, NodePath, PaginatedParams,
    ProtocolVersion, Reference, ResourceParams, SubscriptionFilter, TaskIdParams, content_for_version,
};
use tokio::sync::broadcast::error::RecvError;

use super::{Admitted, Freshness, Reply, Route};
use crate::clock::millis;
use crate::error::ToolError;
use crate::event::ServerEvent;
use crate::handler::{
    Arguments, Binding, CompiledTool, CompletionRequest, Context, Inputs, PromptRequest, ReadRequest, TaskSupport,
    ToolCall, ToolOutput, ToolResult, page, panic_message, params,
};
use crate::limits::cache::{CacheKey, Kind};
use crate::limits::{Refused, busy};
use crate::server::Server;
use crate::session::{Link, MAX_SUBSCRIPTIONS, Session};
use crate::tasks::{TaskOutcome, by_age, legacy_remote, task_notification};

/// What serves a resource URI ([`Server::find_resource`]).
#[derive(Clone)]
pub(crate) struct Found {
    /// Its reader.
    pub read: crate::handler::ReadHandler,
    /// The template's variables as the URI matched them (none for a listed resource).
    pub vars: BTreeMap<String, String>,
    /// The scopes a caller needs to read it.
    pub scopes: Vec<String>,
    /// How long its contents may be cached, when they may.
    pub ttl: Option<Duration>,
    /// A listed resource or a template.
    pub kind: Kind,
}

/// The params of a plain `tools/call` (a string name, arguments, nothing else that
/// matters here: [`crate::Probe::is_plain_call`]) from what routing found, without reading
/// the params again; `None` for any other call, or anything odd in these two (the whole
/// params are then read, and say what is wrong as they always did).
fn plain_call(route: &Route, raw: Option<&RawJson>) -> Option<CallToolParams> {
    let raw = raw?;
    let name: String = serde_json::from_str(route.plain_name.as_ref()?.text_in(raw)?).ok()?;
    // `"arguments": null` reads as none, as in the params read whole.
    let arguments = match &route.arguments {
        Some(span) => Some(serde_json::from_str::<Value>(span.text_in(raw)?).ok()?).filter(|a| !a.is_null()),
        None => None,
    };
    Some(CallToolParams { name, arguments, input_responses: None, request_state: None, task: None })
}

impl Server {
    /// One page of a list method's items (sorted by their keys, as a registry keeps
    /// them): `cursor` from the params, `build` makes the result from the page and the
    /// next cursor.
    fn list<T, R: serde::Serialize>(
        &self,
        raw: Option<&RawJson>,
        items: &[(String, T)],
        build: impl FnOnce(&[(String, T)], Option<String>) -> R,
    ) -> Reply {
        let cursor: PaginatedParams = match params(raw) {
            Ok(p) => p,
            Err(e) => return e.into(),
        };
        match page(items, cursor.cursor.as_deref(), self.shared.config.page_size, |(key, _)| key) {
            Ok((items, next_cursor)) => Reply::cacheable(&build(items, next_cursor)),
            Err(e) => e.into(),
        }
    }

    pub(crate) fn list_tools(&self, raw: Option<&RawJson>, link: &Link, path: Option<&NodePath>) -> Reply {
        let snapshot = self.shared.tools.snapshot();
        let shown = self.shown(link, path, &snapshot.items, |t| (&t.scopes, t.tool.meta.as_ref()));
        self.list(raw, shown.as_deref().unwrap_or(&snapshot.items), |items, next_cursor| ListToolsResult {
            tools: items.iter().map(|(_, t)| t.tool.clone()).collect(),
            next_cursor,
            meta: None,
        })
    }

    pub(crate) fn list_prompts(&self, raw: Option<&RawJson>, link: &Link, path: Option<&NodePath>) -> Reply {
        let snapshot = self.shared.prompts.snapshot();
        let shown = self.shown(link, path, &snapshot.items, |p| (&p.scopes, p.prompt.meta.as_ref()));
        self.list(raw, shown.as_deref().unwrap_or(&snapshot.items), |items, next_cursor| ListPromptsResult {
            prompts: items.iter().map(|(_, p)| p.prompt.clone()).collect(),
            next_cursor,
            meta: None,
        })
    }

    pub(crate) fn list_resources(&self, raw: Option<&RawJson>, link: &Link, path: Option<&NodePath>) -> Reply {
        let snapshot = self.shared.resources.snapshot();
        let shown = self.shown(link, path, &snapshot.items, |r| (&r.scopes, r.resource.meta.as_ref()));
        self.list(raw, shown.as_deref().unwrap_or(&snapshot.items), |items, next_cursor| ListResourcesResult {
            resources: items.iter().map(|(_, r)| r.resource.clone()).collect(),
            next_cursor,
            meta: None,
        })
    }

    pub(crate) fn list_templates(&self, raw: Option<&RawJson>, link: &Link, path: Option<&NodePath>) -> Reply {
        let snapshot = self.shared.templates.snapshot();
        let shown = self.shown(link, path, &snapshot.items, |t| (&t.def.scopes, t.def.template.meta.as_ref()));
        self.list(raw, shown.as_deref().unwrap_or(&snapshot.items), |items, next_cursor| ListResourceTemplatesResult {
            resource_templates: items.iter().map(|(_, t)| t.def.template.clone()).collect(),
            next_cursor,
            meta: None,
        })
    }

    /// Whether the item with `meta` (a `kind` named `name`) is there for the request
    /// of `route`: always for a client; for another Tenet node, as [`offered`] says
    /// (what is not listed to a node cannot be used by it either).
    ///
    /// # Errors
    /// -32602 saying why, for a node.
    fn offers(&self, route: &Route, kind: &str, name: &str, meta: Option<&JsonObject>) -> Result<(), ErrorObject> {
        if self.offered_to(route, meta) {
            return Ok(());
        }
        let path = route.meta.node_path.as_deref().map(ToString::to_string).unwrap_or_default();
        Err(ErrorObject::invalid_params(format!(
            "Invalid params: {kind} {name} is not offered to other Tenet nodes (request path {path}): this node \
             imported it from a peer, and re-exports no such {kind}, or not along this path (it would revisit a \
             node or pass the hop limit)"
        )))
    }

    /// Whether the item with `meta` is there for the request of `route` ([`offered`]
    /// for a request from another Tenet node; always for a client's).
    pub(crate) fn offered_to(&self, route: &Route, meta: Option<&JsonObject>) -> bool {
        let path = route.meta.node_path.as_deref().filter(|p| !p.is_empty());
        path.is_none_or(|path| offered(meta, path, self.shared.config.reexport))
    }

    /// The items a list shows the caller of `link`, when it is not all of them: those
    /// its grant covers, and, for a request from another Tenet node (one with a node
    /// `path`), what this node offers other nodes ([`crate::ServerConfig::reexport`]),
    /// in the order of `items`.
    fn shown<T: Clone>(
        &self,
        link: &Link,
        path: Option<&NodePath>,
        items: &[(String, T)],
        read: impl Fn(&T) -> (&[String], Option<&JsonObject>),
    ) -> Option<Vec<(String, T)>> {
        let grant = link.grant.as_deref();
        let path = path.filter(|p| !p.is_empty());
        if grant.is_none() && path.is_none() {
            return None;
        }
        let reexport = self.shared.config.reexport;
        let shows = |item: &T| {
            let (scopes, meta) = read(item);
            grant.is_none_or(|g| g.covers(scopes)) && path.is_none_or(|path| offered(meta, path, reexport))
        };
        if items.iter().all(|(_, item)| shows(item)) {
            return None;
        }
        Some(items.iter().filter(|(_, item)| shows(item)).cloned().collect())
    }

    /// Sets up MRTR for a request that may ask for input (2026-07-28 only).
    fn inputs(
        &self,
        route: &Route,
        link: &Link,
        target: &str,
        arguments: Arguments<'_, impl serde::Serialize>,
        state: Option<&str>,
        responses: Option<JsonObject>,
    ) -> Result<Option<Inputs>, ErrorObject> {
        if route.version.era() != Era::Stateless {
            return Ok(None);
        }
        let owner = link.grant.as_deref().and_then(crate::grant::Grant::owner);
        let binding = Binding::new(route.method.name(), target, arguments, owner);
        let key = self.state_key();
        let (mut collected, round, wrapped) = match state {
            None => (JsonObject::new(), 0, None),
            Some(sealed) => {
                let state = key.open(sealed, binding.get()).map_err(ErrorObject::invalid_params)?;
                (state.responses, state.round, state.wrapped)
            }
        };
        collected.extend(responses.unwrap_or_default());
        Ok(Some(Inputs::new(collected, round, binding, key).wrapping(wrapped)))
    }

    pub(crate) async fn call_tool(&self, route: &Route, id: &Id, raw: Option<&RawJson>, link: &Link) -> Reply {
        let plain = plain_call(route, raw);
        let read_plain = plain.is_some();
        let read = plain.map_or_else(|| params::<CallToolParams>(raw), Ok);
        let p = match read {
            Ok(p) => p,
            Err(e) => return e.into(),
        };
        let tool = match route.admitted.as_deref() {
            Some(Admitted::Tool(tool)) => tool.clone(),
            _ => self.shared.tools.snapshot().get(&p.name).cloned(),
        };
        let Some(tool) = tool else {
            let why = self.shared.absent_tools.get().and_then(|explain| explain(&p.name));
            let why = why.map(|why| format!(" ({why})")).unwrap_or_default();
            return ErrorObject::invalid_params(format!("Unknown tool: {}{why}", p.name)).into();
        };
        if let Err(refused) = self.offers(route, "tool", &p.name, tool.tool.meta.as_ref()) {
            return refused.into();
        }
        if let Some(tenet_protocol::context::ContextRef::Carried(carried)) = route.meta.context.as_deref() {
            let bytes = crate::store::ContextData::bytes_of(&carried.entries);
            let limit = self.shared.context_store.max_bytes();
            if bytes > limit {
                return ErrorObject::invalid_params(format!(
                    "Invalid params: the context carried in _meta[\"{}\"] holds {bytes} bytes, over this server's \
                     limit of {limit}",
                    tenet_protocol::CONTEXT_KEY
                ))
                .into();
            }
        }
        let arguments = p.arguments.unwrap_or_else(|| Value::Object(JsonObject::new()));
        if !arguments.is_object() {
            let message = format!("Invalid arguments for tool {}: arguments must be an object", p.name);
            let refused =
                crate::handler::InvalidArguments { message, fields: vec![(String::new(), "not an object".into())] };
            return Reply::tool(&refused.into_result());
        }
        if let Err(refused) = tool.check_arguments(&arguments) {
            return Reply::tool(&refused.into_result());
        }
        // A later MRTR round depends on the client's answers: never cached.
        let first_round = p.request_state.is_none() && p.input_responses.is_none();
        let inputs = {
            // Read plainly, the arguments are bound as the text they were read from (none:
            // `{}`), written out again only if the binding is ever needed.
            let written = (read_plain && route.version.era() == Era::Stateless)
                .then(|| raw.zip(route.arguments.as_ref()).and_then(|(raw, span)| span.text_in(raw)).unwrap_or("{}"));
            let bound = written.map_or(Arguments::Read(&arguments), Arguments::Written);
            match self.inputs(route, link, &p.name, bound, p.request_state.as_deref(), p.input_responses) {
                Ok(inputs) => inputs,
                Err(e) => return e.into(),
            }
        };
        if route.version.era() == Era::Stateless && tool.task_support() != TaskSupport::Forbidden {
            // Boxed, as below: a call that may become a task is rarer than a plain one,
            // and its future (over a kilobyte) would size every call's.
            return Box::pin(self.call_task_tool(route, id, &tool, arguments, inputs, link)).await;
        }
        let as_task =
            p.task.is_some() && route.version >= ProtocolVersion::V2025_11_25 && route.version.era() == Era::Legacy;
        match (tool.task_support(), as_task) {
            (TaskSupport::Forbidden, true) => {
                return ErrorObject::method_not_found(&format!(
                    "tools/call as a task (tool {} does not support tasks)",
                    p.name
                ))
                .into();
            }
            (TaskSupport::Required, false) if route.version.era() == Era::Legacy => {
                return ErrorObject::method_not_found(&format!(
                    "tools/call without a task (tool {} runs only as a task)",
                    p.name
                ))
                .into();
            }
            (_, true) => return Box::pin(self.start_task(route, id, &tool, arguments, p.task.as_ref(), link)).await,
            _ => {}
        }
        let cache = &self.shared.cache;
        let key = (tool.cache_ttl.is_some() && first_round && cache.is_enabled())
            .then(|| CacheKey::tool(&p.name, route.version, link.grant.as_deref(), &arguments));
        if let Some(hit) = self.cached(key.as_ref()) {
            return Reply::Ok { body: hit.into_body(), cacheable: None };
        }
        let generation = cache.generation();
        let ctx = self.context(route, id, link, inputs);
        let probe = ctx.clone();
        // Handed on as written only when common readers take from the text what was
        // checked; else the checked tree is written again.
        let written = raw
            .zip(route.arguments.as_ref())
            .filter(|_| tool.keeps_written_arguments)
            .and_then(|(raw, span)| JsonText::within(raw, span))
            .filter(|written| tenet_jsonrpc::unambiguous(written.get()));
        let outcome = self.run_tool(&tool, ctx, arguments, written).await;
        let keep =
            matches!(&outcome, Ok(result) if !result.is_error()) && !probe.asked_client() && !probe.used_conversation();
        let reply = tool_reply(route.version, outcome);
        if keep {
            self.remember(key, tool.cache_ttl, &reply, generation);
        }
        reply
    }

    /// Runs a tool's handler with its timeout, containing panics; in debug builds the
    /// structured output is checked against the output schema.
    pub(crate) async fn run_tool(
        &self,
        tool: &CompiledTool,
        ctx: Context,
        arguments: Value,
        written_arguments: Option<JsonText>,
    ) -> ToolOutput {
        let name = &tool.tool.name;
        let timeout = tool.timeout.unwrap_or(self.shared.config.tool_timeout);
        // One reading of the clock: the wait for a turn counts against the timeout.
        let deadline = tenet_transport::deadline_after(timeout);
        // Waiting for a turn takes at most half the timeout; the guard outlives the run.
        let _permit = match &tool.limit {
            Some(limit) => Some(limit.acquire(|| ctx.caller_shared(), timeout / 2, ctx.cancellation()).await.map_err(
                |refused| match refused {
                    Refused::Busy(retry) => ToolError::Protocol(busy(name, limit.max(), retry)),
                    Refused::Cancelled => ToolError::Protocol(ErrorObject::internal("Request cancelled")),
                },
            )?),
            None => None,
        };
        // The handler is invoked inside the future, so a panic in its synchronous part
        // (or in an extractor) is contained too.
        let handler = tool.handler.clone();
        let probe = ctx.clone();
        let run = AssertUnwindSafe(async move { handler(ToolCall { ctx, arguments, written_arguments }).await })
            .catch_unwind();
        let outcome = match tokio::time::timeout_at(deadline, run).await {
            Err(_) => Err(ToolError::Failed(format!("Tool {name} timed out after {} ms", timeout.as_millis()))),
            Ok(Err(panic)) => Err(ToolError::Failed(format!("Tool {name} failed: {}", panic_message(&panic)))),
            Ok(Ok(outcome)) => outcome,
        };
        // What the handler did to the conversation goes with its result, failed or not
        // (a carried context's changes, or the id a first write made).
        let note = probe.conversation_note();
        let mut result = match (outcome, &note) {
            (Ok(result), _) => result,
            (Err(ToolError::Failed(message)), Some(_)) => CallToolResult::error(message).into(),
            (Err(error), _) => {
                // The client sent to a URL is told when the user is done there.
                if let ToolError::Protocol(error) = &error {
                    probe.expect_url_elicitations_of(error);
                }
                return Err(error);
            }
        };
        if let Some(note) = note {
            let note = serde_json::to_value(note).unwrap_or_default();
            let meta = &mut result.built_mut()?.meta;
            meta.get_or_insert_with(JsonObject::new).insert(tenet_protocol::CONTEXT_KEY.to_owned(), note);
        }
        if cfg!(debug_assertions) {
            let built = result.clone().into_built();
            if let Err(message) = built.map_err(|e| e.to_string()).and_then(|built| tool.check_output(&built)) {
                tracing::error!(tool = %name, "{message}");
                return Err(ToolError::Failed(message));
            }
        }
        Ok(result)
    }

    /// Starts a tool call as a task (2025-11-25) and answers with its handle (once the
    /// other replicas can see it, when they share the session).
    async fn start_task(
        &self,
        route: &Route,
        id: &Id,
        tool: &Arc<CompiledTool>,
        arguments: Value,
        task: Option<&Value>,
        link: &Link,
    ) -> Reply {
        let Some(session) = link.session.clone() else {
            return ErrorObject::method_not_found("tasks").into();
        };
        let ttl = task.and_then(|t| t.get("ttl")).and_then(Value::as_u64);
        let board = &self.shared.task_board;
        let created = board.reserve(link.share()).and_then(|slot| session.tasks().create(ttl, Some(slot)));
        let (handle, running) = match created {
            Ok(created) => created,
            Err(e) => return e.into(),
        };
        let sharing = board.shared().filter(|_| session.shared_id().is_some()).cloned();
        if let Some(shared) = &sharing {
            session.note_task(&handle.task_id);
            board.runs_legacy(&handle.task_id, &session);
            if let Err(e) = legacy_remote::write(shared, &session, &handle.task_id, legacy_remote::STARTED).await {
                let _ = session.tasks().cancel(&handle.task_id);
                board.ran_legacy(&handle.task_id);
                return ErrorObject::internal(format!("the task cannot be shared with the other replicas: {e}")).into();
            }
        }
        // The task outlives the request: it has its own cancellation.
        let task_link = Link { cancel: running.cancellation(), ..link.clone() };
        let ctx = self.context(route, id, &task_link, None);
        let server = self.clone();
        let tool = tool.clone();
        let (task_id, task_session) = (handle.task_id.clone(), link.session.clone());
        tokio::spawn(async move {
            let cancel = running.cancellation();
            let outcome = tokio::select! {
                () = cancel.cancelled() => return,
                outcome = server.run_tool(&tool, ctx, arguments, None) => outcome,
            };
            let ended = running.finish(match outcome.and_then(ToolResult::into_built) {
                Ok(result) => Ok(result),
                Err(ToolError::Failed(message)) => Ok(CallToolResult::error(message)),
                Err(other) => Err(other.into()),
            });
            if let (true, Some(shared), Some(session)) = (ended, sharing, task_session) {
                server.shared.task_board.ran_legacy(&task_id);
                if let Err(e) = legacy_remote::write(&shared, &session, &task_id, legacy_remote::ENDED).await {
                    tracing::warn!(task = %task_id, "other replicas do not see this task's end: {e}");
                }
            }
        });
        Reply::ok(&CreateTaskResult { task: handle, meta: None })
    }

    pub(crate) async fn task_method(&self, method: Method, raw: Option<&RawJson>, link: &Link) -> Reply {
        let Some(session) = &link.session else {
            return ErrorObject::method_not_found(method.name()).into();
        };
        let store = session.tasks();
        let board = &self.shared.task_board;
        // The session's tasks other replicas run, when replicas share it.
        let sharing = board.shared().zip(session.shared_id());
        if method == Method::TasksList {
            let cursor: PaginatedParams = match params(raw) {
                Ok(p) => p,
                Err(e) => return e.into(),
            };
            let mut tasks = store.list();
            if let Some((shared, id)) = sharing {
                let here: std::collections::HashSet<String> = tasks.iter().map(|t| t.task_id.clone()).collect();
                let elsewhere: Vec<String> = session.shared_tasks().into_iter().filter(|t| !here.contains(t)).collect();
                tasks.extend(legacy_remote::list(shared, id, &elsewhere).await);
            }
            let tasks = by_age(tasks);
            return match page(&tasks, cursor.cursor.as_deref(), self.shared.config.page_size, |(key, _)| key) {
                Ok((items, next_cursor)) => {
                    let tasks = items.iter().map(|(_, task)| task.clone()).collect();
                    Reply::ok(&ListTasksResult { tasks, next_cursor, meta: None })
                }
                Err(e) => e.into(),
            };
        }
        let p: TaskIdParams = match params(raw) {
            Ok(p) => p,
            Err(e) => return e.into(),
        };
        if let (Err(unknown), Some((shared, id))) = (store.get(&p.task_id), sharing) {
            return match legacy_remote::serve(shared, id, method, &p.task_id).await {
                Ok(legacy_remote::Answer::Task(task)) => Reply::ok(&task),
                Ok(legacy_remote::Answer::Outcome(outcome)) => task_result(session, &p.task_id, outcome),
                Err(None) => unknown.into(),
                Err(Some(e)) => e.into(),
            };
        }
        match method {
            Method::TasksGet => store.get(&p.task_id).map_or_else(Reply::Err, |t| Reply::ok(&t)),
            Method::TasksCancel => {
                let cancelled = store.cancel(&p.task_id);
                if let (Ok(_), Some((shared, _))) = (&cancelled, sharing) {
                    board.ran_legacy(&p.task_id);
                    if let Err(e) = legacy_remote::write(shared, session, &p.task_id, legacy_remote::ENDED).await {
                        tracing::warn!(task = %p.task_id, "other replicas do not see this task's end: {e}");
                    }
                }
                cancelled.map_or_else(Reply::Err, |t| Reply::ok(&t))
            }
            _ => match store.result(&p.task_id).await {
                Ok(outcome) => task_result(session, &p.task_id, outcome),
                Err(e) => e.into(),
            },
        }
    }

    pub(crate) async fn get_prompt(&self, route: &Route, id: &Id, raw: Option<&RawJson>, link: &Link) -> Reply {
        let p: GetPromptParams = match params(raw) {
            Ok(p) => p,
            Err(e) => return e.into(),
        };
        let prompt = match route.admitted.as_deref() {
            Some(Admitted::Prompt(prompt)) => prompt.clone(),
            _ => self.shared.prompts.snapshot().get(&p.name).cloned(),
        };
        let Some(prompt) = prompt else {
            return ErrorObject::invalid_params(format!("Unknown prompt: {}", p.name)).into();
        };
        if let Err(refused) = self.offers(route, "prompt", &p.name, prompt.prompt.meta.as_ref()) {
            return refused.into();
        }
        let arguments = p.arguments.unwrap_or_default();
        if let Some(missing) = prompt.missing_argument(&arguments) {
            return ErrorObject::invalid_params(format!("Missing required argument {missing:?} for prompt {}", p.name))
                .into();
        }
        let bound = Arguments::Read(&arguments);
        let inputs = match self.inputs(route, link, &p.name, bound, p.request_state.as_deref(), p.input_responses) {
            Ok(inputs) => inputs,
            Err(e) => return e.into(),
        };
        let ctx = self.context(route, id, link, inputs);
        let get = prompt.get.clone();
        match AssertUnwindSafe(async move { get(PromptRequest { ctx, arguments }).await }).catch_unwind().await {
            Ok(Ok(mut result)) => {
                for message in &mut result.messages {
                    message.content = message.content.clone().for_version(route.version);
                }
                Reply::ok(&result)
            }
            Ok(Err(e)) => tool_error_reply(e),
            Err(panic) => ErrorObject::internal(format!("prompt {} failed: {}", p.name, panic_message(&panic))).into(),
        }
    }

    pub(crate) async fn read_resource(&self, route: &Route, id: &Id, raw: Option<&RawJson>, link: &Link) -> Reply {
        let p: ResourceParams = match params(raw) {
            Ok(p) => p,
            Err(e) => return e.into(),
        };
        let found = match route.admitted.as_deref() {
            Some(Admitted::Resource(found)) => found.clone(),
            _ => self.find_resource(Some(route), &p.uri),
        };
        let Some(Found { read: handler, vars, ttl, kind, .. }) = found else {
            return self.resource_not_found(route, &p.uri);
        };
        let first_round = p.request_state.is_none() && p.input_responses.is_none();
        let inputs = match self.inputs(
            route,
            link,
            &p.uri,
            Arguments::Read(&json!({})),
            p.request_state.as_deref(),
            p.input_responses,
        ) {
            Ok(inputs) => inputs,
            Err(e) => return e.into(),
        };
        // Who may share the answer: only this caller's authorization context, if it has one.
        let scope = if link.grant.is_some() { CacheScope::Private } else { CacheScope::Public };
        let cache = &self.shared.cache;
        let key = (ttl.is_some() && first_round && cache.is_enabled())
            .then(|| CacheKey::read(kind, &p.uri, route.version, link.grant.as_deref()));
        if let Some(hit) = self.cached(key.as_ref()) {
            let freshness = Freshness::Own { ttl_ms: millis(hit.remaining), scope };
            return Reply::Ok { body: hit.into_body(), cacheable: Some(freshness) };
        }
        let generation = cache.generation();
        let ctx = self.context(route, id, link, inputs);
        let probe = ctx.clone();
        let request = ReadRequest { ctx, uri: p.uri.clone(), vars };
        match AssertUnwindSafe(async move { handler(request).await }).catch_unwind().await {
            Ok(Ok(Some(contents))) => {
                let result = tenet_protocol::ReadResourceResult { contents, meta: None };
                let Some(ttl) = ttl else { return Reply::cacheable(&result) };
                let reply = Reply::fresh(&result, Freshness::Own { ttl_ms: millis(ttl), scope });
                if !probe.asked_client() {
                    self.remember(key, Some(ttl), &reply, generation);
                }
                reply
            }
            Ok(Ok(None)) => self.resource_not_found(route, &p.uri),
            Ok(Err(e)) => tool_error_reply(e),
            Err(panic) => ErrorObject::internal(format!("reading {} failed: {}", p.uri, panic_message(&panic))).into(),
        }
    }

    /// The fresh cached response under `key`, if it has one; the lookup is counted in
    /// the metrics as a hit or a miss.
    fn cached(&self, key: Option<&CacheKey>) -> Option<crate::limits::cache::Hit> {
        let hit = self.shared.cache.get(key?, Instant::now());
        self.shared.metrics.cache(hit.is_some());
        hit
    }

    /// Stores a successful reply under `key`, if it has one, unless the cache was
    /// invalidated since `generation` was read.
    fn remember(&self, key: Option<CacheKey>, ttl: Option<Duration>, reply: &Reply, generation: u64) {
        if let (Some(key), Some(ttl), Reply::Ok { body, .. }) = (key, ttl, reply) {
            self.shared.cache.insert(key, body, ttl, generation, Instant::now());
        }
    }

    /// The resource or template that serves `uri` for the request of `route`: the
    /// listed resource of that URI, else the first template that matches, listed ones
    /// first, each registry's narrowest first (so a catch-all never hides a narrower
    /// template, and which one wins does not depend on when each came). What is not
    /// offered to a node (imported from a peer) is not there for the request of `route`;
    /// with no route, every item counts.
    pub(crate) fn find_resource(&self, route: Option<&Route>, uri: &str) -> Option<Found> {
        let shown = |meta: Option<&JsonObject>| route.is_none_or(|route| self.offered_to(route, meta));
        if let Some(resource) = self.shared.resources.snapshot().get(uri).filter(|r| shown(r.resource.meta.as_ref())) {
            let (read, scopes, ttl) = (resource.read.clone(), resource.scopes.clone(), resource.cache_ttl);
            return Some(Found { read, vars: BTreeMap::new(), scopes, ttl, kind: Kind::Resource });
        }
        let (listed, hidden) = (self.shared.templates.snapshot(), self.shared.hidden_templates.snapshot());
        listed.ranked().chain(hidden.ranked()).find_map(|(_, t)| {
            let def = &t.def;
            t.matcher.matches(uri).filter(|_| shown(def.template.meta.as_ref())).map(|vars| Found {
                read: def.read.clone(),
                vars,
                scopes: def.scopes.clone(),
                ttl: def.cache_ttl,
                kind: Kind::Template,
            })
        })
    }

    /// Legacy: -32002; 2026-07-28: -32602. Both carry the URI.
    fn resource_not_found(&self, route: &Route, uri: &str) -> Reply {
        let code =
            if route.version.era() == Era::Legacy { ErrorCode::RESOURCE_NOT_FOUND } else { ErrorCode::INVALID_PARAMS };
        ErrorObject::new(code, format!("Resource not found: {uri}")).with_data(json!({ "uri": uri })).into()
    }

    pub(crate) fn subscribe(&self, method: Method, raw: Option<&RawJson>, link: &Link) -> Reply {
        let p: ResourceParams = match params(raw) {
            Ok(p) => p,
            Err(e) => return e.into(),
        };
        if let Some(session) = &link.session {
            if method == Method::ResourcesSubscribe {
                if !session.subscribe(p.uri, &self.shared.subscriptions) {
                    return ErrorObject::invalid_params(format!(
                        "Too many subscriptions: a session may hold {MAX_SUBSCRIPTIONS}; unsubscribe from one first"
                    ))
                    .into();
                }
            } else {
                session.unsubscribe(&p.uri);
            }
        }
        Reply::ok(&json!({}))
    }

    pub(crate) async fn complete(&self, route: &Route, raw: Option<&RawJson>) -> Reply {
        let p: CompleteParams = match params(raw) {
            Ok(p) => p,
            Err(e) => return e.into(),
        };
        let node_path = route.meta.node_path.clone();
        // What the door found, when it looked (a caller with a grant), else a lookup.
        let admitted = route.admitted.as_deref();
        let handler = match &p.reference {
            Reference::Prompt { name } => {
                let prompt = match admitted {
                    Some(Admitted::Prompt(prompt)) => prompt.clone(),
                    _ => self.shared.prompts.snapshot().get(name).cloned(),
                };
                match prompt {
                    Some(prompt) => prompt.completions.get(&p.argument.name),
                    None => return ErrorObject::invalid_params(format!("Unknown prompt: {name}")).into(),
                }
            }
            Reference::Resource { uri } => {
                let template = match admitted {
                    Some(Admitted::Template(template)) => template.clone(),
                    _ => self.shared.templates.snapshot().get(uri).cloned(),
                };
                match template {
                    Some(template) => template.def.completions.get(&p.argument.name),
                    None => return ErrorObject::invalid_params(format!("Unknown resource template: {uri}")).into(),
                }
            }
        };
        let values = match handler {
            Some(handler) => {
                let request = CompletionRequest {
                    argument: p.argument.name,
                    value: p.argument.value,
                    context: p.context.and_then(|c| c.arguments).unwrap_or_default(),
                    node_path,
                };
                handler(request).await
            }
            None => Vec::new(),
        };
        Reply::ok(&CompleteResult { completion: Completion::from_values(values), meta: None })
    }

    /// `subscriptions/listen`: acknowledge, then forward the events asked for, each
    /// tagged with the listen request's id, until cancelled or shut down.
    pub(crate) async fn listen(&self, route: &Route, id: &Id, raw: Option<&RawJson>, link: &Link) -> Reply {
        let p: ListenParams = match params(raw) {
            Ok(p) => p,
            Err(e) => return e.into(),
        };
        let mut tasks = match self.watch_tasks(route, p.notifications.task_ids.as_deref(), link).await {
            Ok(tasks) => tasks,
            Err(e) => return e.into(),
        };
        let caps = &self.shared.capabilities;
        let asked = p.notifications;
        if let Err(e) = listen_bound(asked.resource_subscriptions.as_ref().map_or(0, Vec::len)) {
            return e.into();
        }
        let honoured = SubscriptionFilter {
            tools_list_changed: asked.tools_list_changed.filter(|&b| b && caps.tools.is_some()),
            prompts_list_changed: asked.prompts_list_changed.filter(|&b| b && caps.prompts.is_some()),
            resources_list_changed: asked.resources_list_changed.filter(|&b| b && caps.resources.is_some()),
            resource_subscriptions: asked.resource_subscriptions.filter(|_| caps.resources.is_some()),
            task_ids: tasks.ids(),
        };
        let mut events = self.shared.events.subscribe();
        // Held for as long as the stream is open.
        let _subscriptions: Vec<_> = honoured
            .resource_subscriptions
            .iter()
            .flatten()
            .map(|uri| self.shared.subscriptions.hold(uri.clone()))
            .collect();
        let tag = || {
            let mut meta = JsonObject::new();
            meta.insert(tenet_protocol::SUBSCRIPTION_ID_KEY.into(), json!(id));
            meta
        };
        let ack = AcknowledgedParams { notifications: honoured.clone(), meta: Some(tag()) };
        send(link, Method::SubscriptionsAcknowledged, &ack).await;
        for task in tasks.current() {
            send(link, Method::TasksChanged, &task_notification(task, tag())).await;
        }
        loop {
            let event = tokio::select! {
                () = link.cancel.cancelled() => break,
                () = link.shutdown.cancelled() => break,
                task = tasks.next() => {
                    send(link, Method::TasksChanged, &task_notification(task, tag())).await;
                    continue;
                }
                event = events.recv() => event,
            };
            let event = match event {
                Ok(event) => event,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            };
            let method = match &event {
                ServerEvent::ToolsChanged if honoured.tools_list_changed == Some(true) => Method::ToolsListChanged,
                ServerEvent::PromptsChanged if honoured.prompts_list_changed == Some(true) => {
                    Method::PromptsListChanged
                }
                ServerEvent::ResourcesChanged if honoured.resources_list_changed == Some(true) => {
                    Method::ResourcesListChanged
                }
                ServerEvent::ResourceUpdated(uri)
                    if honoured.resource_subscriptions.as_ref().is_some_and(|s| s.iter().any(|u| u == uri)) =>
                {
                    let params = json!({ "uri": uri, "_meta": tag() });
                    send(link, Method::ResourcesUpdated, &params).await;
                    continue;
                }
                _ => continue,
            };
            send(link, method, &json!({ "_meta": tag() })).await;
        }
        Reply::ok(&json!({ "_meta": tag() }))
    }
}

/// Whether an item with `meta` is offered to the node at the end of `path`: an item of
/// this node's own (or its upstreams') always; one imported from peers only when
/// re-exported (`reexport`, the hop limit), and then only if its import path visits no
/// node on `path` and the two together stay within the limit.
/// A listen stream may ask for at most [`MAX_SUBSCRIPTIONS`] resources; the door holds
/// a request to this before it looks any up, the handler for a request the door let by.
pub(crate) fn listen_bound(uris: usize) -> Result<(), ErrorObject> {
    if uris > MAX_SUBSCRIPTIONS {
        return Err(ErrorObject::invalid_params(format!(
            "Too many resourceSubscriptions: {uris}, and a stream may hold {MAX_SUBSCRIPTIONS}"
        )));
    }
    Ok(())
}

fn offered(meta: Option<&JsonObject>, path: &NodePath, reexport: Option<usize>) -> bool {
    match tenet_protocol::imported_via(meta) {
        Ok(None) => true,
        Ok(Some(via)) => reexport.is_some_and(|max| !via.meets(path) && path.len() + via.len() <= max),
        // A malformed import path: kept from other nodes, as if it were too long.
        Err(_) => false,
    }
}

async fn send(link: &Link, method: Method, params: &impl serde::Serialize) {
    let mut line = Vec::with_capacity(128);
    tenet_jsonrpc::write_notification(&mut line, method.name(), params);
    let _ = link.out.send(line).await;
}

fn route_version(session: &Session) -> ProtocolVersion {
    session.negotiated().map_or(ProtocolVersion::LATEST_LEGACY, |n| n.version)
}

/// The reply to a `tools/call` whose handler produced `outcome`: a tool failure is an
/// `isError` result the model can read.
pub(crate) fn tool_reply(version: ProtocolVersion, outcome: ToolOutput) -> Reply {
    // Written JSON goes on as it is to a client that knows every kind of content block.
    let outcome = match outcome {
        Ok(ToolResult::Written(written)) if version >= ProtocolVersion::V2025_06_18 => {
            return Reply::tool_written(written);
        }
        outcome => outcome.and_then(ToolResult::into_built),
    };
    match outcome {
        Ok(mut result) => {
            result.content = content_for_version(result.content, version);
            Reply::tool(&result)
        }
        Err(ToolError::Failed(message)) => Reply::tool(&CallToolResult::error(message)),
        Err(error) => tool_error_reply(error),
    }
}

fn tool_error_reply(error: ToolError) -> Reply {
    match error {
        ToolError::InputRequired(result) => Reply::of(&result, Reply::InputRequired),
        other => Reply::Err(other.into()),
    }
}

/// The answer to `tasks/result` for the task `id` of `session`, which ended with `outcome`.
fn task_result(session: &Session, id: &str, outcome: TaskOutcome) -> Reply {
    match outcome {
        Ok(mut result) => {
            result.content = content_for_version(result.content, route_version(session));
            let meta = result.meta.get_or_insert_with(JsonObject::new);
            meta.insert(tenet_protocol::RELATED_TASK_KEY.into(), json!({ "taskId": id }));
            Reply::ok(&result)
        }
        Err(e) => e.into(),
    }
}
