//! Requests relayed to an upstream: a call to a namespaced tool (arguments already
//! checked against the upstream's schema), `prompts/get`, `resources/read` and
//! `completion/complete`. Every one goes through [`exchange`]: the upstream's timeout,
//! the downstream request's cancellation, capabilities, log level and trace context,
//! its progress and log messages relayed back, the upstream's questions put to the
//! downstream client, and resource URIs in the answers rewritten.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tenet_client::{ClientError, RawResult, RequestOptions};
use tenet_protocol::context::ContextNote;
use tenet_protocol::skill_extension::{GetSkillResult, SkillEntry};
use tenet_protocol::{
    CONTEXT_KEY, CallToolResult, ClientCapabilities, CompleteResult, Era, GetPromptResult, InputRequest,
    InputRequiredResult, JsonObject, Method, NODE_PATH_KEY, NodePath, ProtocolVersion, ReadResourceResult, Reference,
    ResourceContents, ResultType,
};
use tenet_server::jsonrpc::{ErrorCode, ErrorObject, JsonText};
use tenet_server::spans::AttributeValue;
use tenet_server::{
    CompletionRequest, Context, PromptRequest, ReadOutput, ReadRequest, ToolCall, ToolError, ToolResult, WrittenResult,
};
use tokio::time::Instant;

use crate::catalog::rewrite_str;
use crate::downstream::{Downstream, Event, Events};
use crate::server_info;
use crate::sessions::NoSession;
use crate::upstream::{Outcome, Upstream, is_gone};

/// An upstream's tool as the gateway calls it.
pub(crate) struct Target {
    /// Its name at the upstream.
    pub(crate) name: Arc<str>,
    /// Whether it is called as a 2025-11-25 task (the upstream runs it only as one).
    pub(crate) as_task: bool,
}

/// Calls `tool` on `upstream` for the downstream request `ctx`.
///
/// An upstream's own tool failure comes back as it was (`isError`); an error the
/// upstream answers with (say -32602) is passed on as that error; an upstream that is
/// down, times out or drops the connection gives a tool error naming it, so the model
/// reads what happened.
///
/// A tool the upstream runs only as a task (`execution.taskSupport: "required"`) is
/// called as a 2025-11-25 task when the upstream takes those ([`Target::as_task`]), and
/// followed to its end.
pub(crate) async fn forward(
    upstream: Arc<Upstream>,
    tool: Arc<Target>,
    ToolCall { ctx, arguments, written_arguments: written, .. }: ToolCall,
) -> Result<ToolResult, ToolError> {
    let mut params = Map::new();
    params.insert("name".into(), Value::from(&*tool.name));
    // The arguments go on as the client wrote them when the server kept them so (common
    // readers take them as they were checked); else the checked tree is written again.
    if written.is_none() && !arguments.is_null() {
        params.insert("arguments".into(), arguments);
    }
    if tool.as_task {
        params.insert("task".into(), json!({}));
    }
    let tool = &tool.name;
    // A peer (a Tenet node this node trusts with its conversations) runs the tool with
    // the conversation's context carried along; what the tool changes there comes back
    // with the result and is applied here. Nothing else is ever sent the context.
    let peer = upstream.is_peer();
    if peer {
        let carried = ctx.conversation_to_carry().await.map_err(|e| {
            ToolError::msg(format!("cannot carry the conversation's context to upstream {}: {e}", upstream.name()))
        })?;
        if let Some(carried) = carried {
            params.insert("_meta".into(), json!({ CONTEXT_KEY: carried }));
        }
    }
    let raw = relay(
        &upstream,
        Method::ToolsCall.name(),
        Params { members: params, arguments: written },
        Some(&ctx),
        ctx.node_path(),
        tool,
    )
    .await?;
    // A result on one line and without nulls is checked (told valid by its text when it
    // is of text alone, else read), and passed on as it came (less what a result does
    // not have) when nothing in it is to change. Others are written again: a line break
    // would end a line-framed message, and a typed result leaves out what is null.
    let passable = tenet_jsonrpc::one_line(raw.json()) && NULL.find(raw.json().as_bytes()).is_none();
    let mut written = passable.then(|| server_info::passed_on(&raw, RESULT_MEMBERS, &upstream.name_only));
    // What nearly every tool returns, a result of text alone, is told valid without a
    // read, and has nothing to change (no URI, no context of a conversation).
    if let Some(plain) = written.take_if(|w| CallToolResult::is_text_only(&w.json) && !carries_context(w)) {
        return Ok(WrittenResult::new(plain.json, plain.is_error, plain.meta)?.into());
    }
    let text = written.as_ref().map_or_else(|| server_info::unnamed(&raw), |w| Cow::Borrowed(w.json.as_str()));
    let mut result: CallToolResult = serde_json::from_str(&text).map_err(|e| invalid(&upstream, tool, &e))?;
    drop(text);
    // What another server says there is never passed on as this node's own word.
    let note = result.meta.as_mut().and_then(|meta| meta.remove(CONTEXT_KEY));
    if let Some(written) = written
        && note.is_none()
        && !upstream.uris.rewrites(&result.content)
    {
        return Ok(WrittenResult::new(written.json, written.is_error, written.meta)?.into());
    }
    if let Some(note) = note
        && peer
    {
        apply_returned(&upstream, &ctx, note).await;
    }
    upstream.uris.blocks(result.content.iter_mut());
    server_info::drop_from(&mut result.meta);
    Ok(result.into())
}

/// Whether the `_meta` of a result passed on names a conversation's context.
fn carries_context(result: &server_info::PassedOn) -> bool {
    let meta = result.meta.clone().and_then(|meta| result.json.get(meta)).unwrap_or_default();
    tenet_jsonrpc::members(meta).any(|member| member.name == CONTEXT_KEY)
}

/// A search for `null`, set up once.
static NULL: LazyLock<memchr::memmem::Finder<'static>> = LazyLock::new(|| memchr::memmem::Finder::new("null"));

/// The members of a `CallToolResult`.
pub(crate) const RESULT_MEMBERS: &[&str] = &["content", "structuredContent", "isError", "_meta"];

/// Applies the changes a tool on the node `upstream` made to the conversation's
/// context carried there (its result's `note`), all or none: a context that changed
/// here meanwhile in a way they did not expect keeps its values, with a warning.
async fn apply_returned(upstream: &Upstream, ctx: &Context, note: Value) {
    let applied = match serde_json::from_value::<ContextNote>(note) {
        Ok(note) => ctx.conversation().apply_returned(note).await.map_err(|e| e.to_string()),
        Err(e) => Err(format!("its {CONTEXT_KEY} is malformed: {e}")),
    };
    if let Err(error) = applied {
        tracing::warn!(upstream = %upstream.label(), %error, "the context changes of a call there were not applied");
    }
}

/// Sends `method` with `params` to `upstream` for the downstream request `ctx`, and
/// returns the upstream's result; `what` names the request in errors.
///
/// With a downstream request, the upstream sees that client's capabilities, log level
/// and trace, and what the upstream says about the request goes back to it: progress
/// and log messages as they come; a legacy upstream's questions as requests to a legacy
/// client; a 2026-07-28 upstream's input rounds as requests to a legacy client, or as
/// the gateway's own input-required result to a 2026-07-28 client, whose
/// integrity-protected `requestState` carries the upstream's, so that the client's
/// next round continues the upstream's.
/// How long a caller's session whose call timed out has to answer a heartbeat before
/// it is taken for hung and replaced.
const SESSION_CHECK: Duration = Duration::from_secs(2);

async fn exchange(
    upstream: &Arc<Upstream>,
    method: &str,
    Params { members: mut params, arguments }: Params,
    ctx: Option<&Context>,
    came: Option<&NodePath>,
    what: &str,
    deadline: Instant,
) -> Result<RawResult, ToolError> {
    let client = upstream.client().map_err(|down| {
        upstream.count(Outcome::Unreachable);
        ToolError::msg(down)
    })?;
    let mut options = RequestOptions::timeout(upstream.config.call_timeout());
    options.deadline = Some(deadline);
    options.arguments = arguments;
    let asked_task = params.contains_key("task");
    match next_path(upstream, came)? {
        Some(Path::Alone) => options.written_meta = upstream.hops.alone.clone(),
        Some(Path::Through(path)) => {
            if let Value::Object(meta) = params.entry("_meta").or_insert_with(|| json!({})) {
                meta.insert(NODE_PATH_KEY.into(), path);
            }
        }
        None => {}
    }
    let Some(ctx) = ctx else {
        let result = Box::pin(client.request_raw(method, Value::Object(params), &options)).await;
        return result.map_err(|e| failure(upstream, what, e));
    };
    let downstream = Arc::new(Downstream {
        ctx: ctx.clone(),
        upstream: Arc::clone(upstream),
        events: Events::default(),
        session: std::sync::OnceLock::new(),
    });
    let events = &downstream.events;
    // The caller's own session, unless the upstream's connection is shared: what the
    // upstream keeps and says per session is then this caller's alone.
    let handler: Arc<dyn tenet_client::ClientHandler> = downstream.clone();
    let key = upstream.session_key(ctx);
    // With token exchange, a call goes on a session of its caller's alone, or nowhere.
    if upstream.exchanges_tokens() && (ctx.presented_token().is_none() || key.is_none()) {
        upstream.count(Outcome::Error);
        return Err(ToolError::msg(format!(
            "upstream {} takes each caller's own token, got by token exchange for the OAuth token the caller \
             signed in to the gateway with, and this call came with none (an API key, or no sign-in); {what} was \
             not sent",
            upstream.name()
        )));
    }
    // (Boxed: the shared connection's calls, most of them, carry a pointer for it.)
    let mut lease = match key {
        Some(key) => Some(Box::new(
            // The request knows the session's tag before anything is asked on it.
            Box::pin(upstream.lease(&key, Arc::downgrade(&handler), |tag| {
                let _ = downstream.session.set(Arc::clone(tag));
            }))
            .await
            .map_err(|refused| no_session(upstream, what, refused))?,
        )),
        None => None,
    };
    let client = lease.as_ref().map_or(client, |lease| lease.client().clone());
    // No cancellation token: when the downstream request is cancelled (its client
    // cancelled it, its stream closed, its task was cancelled) the server drops this
    // future, and dropping the upstream request cancels it there too.
    options.capabilities = Some(Arc::clone(ctx.client_capabilities()));
    options.log_level = ctx.log_level();
    if ctx.wants_progress() {
        // The callback does not keep the request alive: a call its client abandons
        // leaves nothing of it behind.
        let downstream = Arc::downgrade(&downstream);
        options = options.with_progress(move |p| {
            if let Some(downstream) = downstream.upgrade() {
                downstream.events.push(Event::Progress(p));
            }
        });
    }
    options.handler = Some(handler);
    // What the upstream says about no request in particular reaches this call only when
    // no other caller's call ended lately (tenet-client's attribution rule).
    options.owner = ctx.caller_shared();
    // Whether the call is made again (until the deadline) while the user finishes a
    // legacy upstream's URL steps they accepted in an earlier round (a declined one
    // ends the call here, before the upstream is called again).
    let mut url_round = false;
    let era = client.version().era();
    if let Some(round) = ctx.input_round() {
        // A 2026-07-28 client outside a task: the upstream's input rounds and task go
        // back to it, as the gateway's own.
        options.relay = true;
        if era == Era::Stateless {
            if !round.responses.is_empty() {
                params.insert("inputResponses".into(), Value::Object(round.responses.clone()));
            }
            if let Some(state) = round.wrapped {
                params.insert("requestState".into(), Value::from(state));
            }
        } else if url_steps_accepted(round.responses, upstream.name(), what)? > 0 {
            // The whole round, calls included, within the upstream's timeout (the
            // gateway's own limit on the call is a little longer).
            url_round = true;
        }
    }
    // The upstream's part is a child span of the request's: its context goes along.
    let span = ctx.child_span(|| {
        let attributes = vec![
            ("mcp.method.name", AttributeValue::Text(method.to_owned())),
            ("tenet.upstream", AttributeValue::Text(upstream.name().to_owned())),
        ];
        (format!("{method} {}", upstream.name()), attributes)
    });
    if let Some(span) = &span
        && let Value::Object(meta) = params.entry("_meta").or_insert_with(|| json!({}))
    {
        span.context().write_meta(meta);
    }
    // The request's future lives on the heap, and so do the rarer ones below: this
    // future stays small, and so does every one that holds it (each is copied as it is
    // created).
    let mut url_failure = None;
    let mut result = loop {
        // A retry of a call waiting on URL steps: its params again, and the
        // upstream's word that a step was done from now on.
        let again = url_round.then(|| (params.clone(), upstream.url_step_done.subscribe()));
        let mut call = Box::pin(client.request_raw(method, Value::Object(params), &options));
        let result = loop {
            tokio::select! {
                biased;
                event = events.next() => Box::pin(event.deliver(ctx)).await,
                result = &mut call => break result,
            }
        };
        match result {
            // The gateway declares URL elicitation to a legacy upstream for all its
            // clients; -32042 goes on as it is only to one that may be answered with it.
            Err(ClientError::Server(e))
                if e.code == ErrorCode::URL_ELICITATION_REQUIRED
                    && !takes_url_elicitation(ctx.protocol_version(), ctx.client_capabilities()) =>
            {
                let (params_again, done) = again.unzip();
                let legacy = era == Era::Legacy;
                match (
                    Box::pin(url_step(ctx, upstream, legacy, what, &e, url_round.then_some(deadline), done)).await,
                    params_again,
                ) {
                    (Ok(()), Some(again)) => params = again,
                    (outcome, _) => {
                        url_failure = Some(
                            outcome
                                .err()
                                .unwrap_or_else(|| ToolError::msg(url_step_refused(upstream.name(), what, &e))),
                        );
                        break Err(ClientError::Server(e));
                    }
                }
            }
            result => break result,
        }
    };
    if let (Err(error), Some(lease)) = (&mut result, &mut lease) {
        // A caller's session whose connection is gone is opened anew at its next call;
        // so is one whose call timed out and that then misses a heartbeat (a process that
        // hangs: its caller's every later call would time out too).
        let lost = is_gone(error)
            || (matches!(error, ClientError::Timeout(_)) && {
                let wait = upstream.config.call_timeout().min(SESSION_CHECK);
                upstream.heartbeat(lease.client(), wait).await.is_err()
            });
        if lost {
            lease.lost();
        }
        // URL steps of the caller's session are passed on as its own.
        if let ClientError::Server(e) = error {
            e.url_elicitations_mut().iter_mut().for_each(|step| crate::upstream::tag_step(step, lease.tag()));
        }
    }
    // What came before the answer goes out before it.
    while let Some(event) = events.pop() {
        Box::pin(event.deliver(ctx)).await;
    }
    if let Some(span) = span {
        // A URL step the client is sent to is a round of input, as an upstream's own
        // input round is; a step that ends the call ends the span with why.
        let error = match &url_failure {
            Some(ToolError::InputRequired(_)) => None,
            Some(failure) => Some(failure.to_string()),
            None => result.as_ref().err().map(ToString::to_string),
        };
        span.end(error);
    }
    if let Some(failure) = url_failure {
        return Err(failure);
    }
    let result = result.map_err(|e| failure(upstream, what, e))?;
    let kind = result.kind().unwrap_or(ResultType::Complete);
    // A 2025-11-25 task created as asked says so by its `task` member alone.
    let created = asked_task && !result.declares_kind() && result.holds_task();
    let kind = if created { ResultType::Task } else { kind };
    match kind {
        ResultType::InputRequired => {
            let input: InputRequiredResult = decode(upstream, what, &result)?;
            Err(ctx
                .relay_input_required(input.input_requests.unwrap_or_default(), input.request_state)
                .unwrap_or_else(|| ToolError::msg(format!("upstream {} asked for input out of turn", upstream.name()))))
        }
        ResultType::Task => {
            // The upstream runs the call as a task (the 2026 extension's, or the
            // 2025-11-25 task asked for): so does the gateway (its client gets the
            // gateway's task), which follows the upstream's to its end; the input it
            // waits for is asked in the gateway's task.
            // The upstream's `timeout` bounds the whole call, the task's run included.
            ctx.start_task().await?;
            options.relay = false;
            let created = result.into_value().map_err(|e| failure(upstream, what, e))?;
            let outcome =
                Box::pin(client.follow_task(created, &options)).await.map_err(|e| failure(upstream, what, e))?;
            RawResult::from_value(&outcome).map_err(|e| failure(upstream, what, e))
        }
        ResultType::Complete => Ok(result),
    }
}

/// The node path a relayed request carries.
enum Path {
    /// It came from a client: this gateway's node alone, written once
    /// ([`crate::upstream::Hops::alone`]).
    Alone,
    /// It came through other nodes: theirs, then this one.
    Through(Value),
}

/// The node path a request that came with `came` carries to `upstream`: `came` and
/// this gateway's node after it. Refused (-32602) when the request has passed through
/// this node already, or would reach the upstream's node again, or would pass through
/// more nodes than the hop limit.
fn next_path(upstream: &Upstream, came: Option<&NodePath>) -> Result<Option<Path>, ToolError> {
    let hops = &upstream.hops;
    let Some(me) = &hops.node else { return Ok(came.map(|path| Path::Through(json!(path)))) };
    let refuse = |why: String| Err(ToolError::Protocol(ErrorObject::invalid_params(why)));
    let came = came.filter(|path| !path.is_empty());
    if let Some(came) = came {
        if came.contains(me) {
            return refuse(format!(
                "loop refused: this request has passed through node {me} already (path {came}), and would again"
            ));
        }
        if came.len() >= hops.max {
            return refuse(format!(
                "hop limit reached: relaying this request would make {} nodes on its path ({came} → {me}), over \
                 the limit of {}",
                came.len() + 1,
                hops.max
            ));
        }
    }
    if let Some(there) = upstream.node_on(me, came) {
        if &there == me {
            return refuse(format!("loop refused: upstream {} is this node ({me}) itself", upstream.name()));
        }
        return refuse(format!(
            "loop refused: upstream {} is node {there}, which this request has passed through (path {})",
            upstream.name(),
            came.map_or_else(|| me.to_string(), |came| came.then(me).to_string())
        ));
    }
    // Most requests come from a client, not through another node: their path is this
    // node alone, written once.
    Ok(Some(match came {
        Some(came) => Path::Through(json!(came.then(me))),
        None => Path::Alone,
    }))
}

/// A relayed request's params: its members, and its arguments when they go on as the
/// client wrote them ([`RequestOptions::arguments`]) rather than among the members.
struct Params {
    members: Map<String, Value>,
    arguments: Option<JsonText>,
}

impl From<Map<String, Value>> for Params {
    fn from(members: Map<String, Value>) -> Self {
        Self { members, arguments: None }
    }
}

/// [`exchange`], counted by outcome.
async fn relay(
    upstream: &Arc<Upstream>,
    method: &str,
    params: Params,
    ctx: Option<&Context>,
    came: Option<&NodePath>,
    what: &str,
) -> Result<RawResult, ToolError> {
    // The clock is read once: the upstream's timeout ends the call then.
    let deadline = tenet_transport::deadline_after(upstream.config.call_timeout());
    // A call dropped on the downstream side (its client cancelled or went away, or the
    // gateway's limit ran out) is counted; the upstream request is cancelled as it is
    // dropped.
    let mut abandoned = Abandoned(Some((upstream, deadline)));
    let result = exchange(upstream, method, params, ctx, came, what, deadline).await;
    abandoned.0 = None;
    // Failures to reach the upstream were counted where they were told apart.
    match &result {
        Ok(result) if result.is_error() => upstream.count(Outcome::ToolError),
        Ok(_) => upstream.count(Outcome::Ok),
        Err(ToolError::InputRequired(_)) => upstream.count(Outcome::InputRequired),
        Err(_) => {}
    }
    result
}

/// The upstream's result read as `T`, without the upstream's name in its `_meta`.
fn decode<T: DeserializeOwned>(upstream: &Upstream, what: &str, result: &RawResult) -> Result<T, ToolError> {
    serde_json::from_str(&server_info::unnamed(result)).map_err(|e| invalid(upstream, what, &e))
}

/// A relayed request under way (until when), counted if it is dropped: as timed out
/// once its deadline has passed (the gateway's own limit on the call ran out), else
/// as cancelled (its client cancelled or went away).
struct Abandoned<'a>(Option<(&'a Upstream, Instant)>);

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        if let Some((upstream, deadline)) = self.0 {
            let late = Instant::now() >= deadline;
            upstream.count(if late { Outcome::Timeout } else { Outcome::Cancelled });
        }
    }
}

fn invalid(upstream: &Upstream, what: &str, error: &serde_json::Error) -> ToolError {
    ToolError::msg(format!("upstream {} answered {what} with an invalid result: {error}", upstream.name()))
}

/// The params object of `value` (built with `json!`).
fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `prompts/get` of the upstream's prompt `name`; embedded resources in its messages
/// are named as the gateway names them.
pub(crate) async fn prompt(
    upstream: Arc<Upstream>,
    name: Arc<str>,
    request: PromptRequest,
) -> Result<GetPromptResult, ToolError> {
    let params = object(json!({ "name": &*name, "arguments": request.arguments }));
    let raw =
        relay(&upstream, Method::PromptsGet.name(), params.into(), Some(&request.ctx), request.ctx.node_path(), &name)
            .await?;
    let mut result: GetPromptResult = decode(&upstream, &name, &raw)?;
    upstream.uris.blocks(result.messages.iter_mut().map(|m| &mut m.content));
    server_info::drop_from(&mut result.meta);
    Ok(result)
}

/// `resources/read` of the gateway's URI, as the upstream's URI; the contents come
/// back under the gateway's URIs.
pub(crate) async fn read(upstream: Arc<Upstream>, request: ReadRequest) -> ReadOutput {
    // Only URIs under this upstream's prefix reach here (listed ones, or any through
    // its catch-all template).
    let Some(original) = upstream.uris.inward(&request.uri) else { return Ok(None) };
    let original = &*original;
    let params = Params::from(object(json!({ "uri": original })));
    let raw = match relay(
        &upstream,
        Method::ResourcesRead.name(),
        params,
        Some(&request.ctx),
        request.ctx.node_path(),
        original,
    )
    .await
    {
        Ok(raw) => raw,
        // The upstream has nothing there: the gateway answers as its own protocol
        // version says (-32002 or -32602) and names its own URI.
        Err(ToolError::Protocol(e)) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut result: ReadResourceResult = decode(&upstream, original, &raw)?;
    upstream.uris.read(&mut result.contents);
    Ok(Some(result.contents))
}

/// The upstream whose skills are mounted on the gateway's ([`tenet_skills::Mount`]):
/// `skills/get` and directory reads relayed to it with its own URIs, answered with the
/// gateway's, the caller's session and scopes as for any request relayed.
pub(crate) struct SkillsOf(pub(crate) Arc<Upstream>);

impl SkillsOf {
    /// Relays `method` for the gateway's `uri` (with `members` beside it) and reads the
    /// result as `T`.
    async fn relay<T: DeserializeOwned>(
        &self,
        method: &'static str,
        uri: &str,
        mut members: Map<String, Value>,
        ctx: &Context,
    ) -> Result<T, ErrorObject> {
        let upstream = &self.0;
        let original = upstream.uris.inward(uri).ok_or_else(|| {
            ErrorObject::invalid_params(format!(
                "Invalid params: {uri:?} is not a skill upstream {} serves",
                upstream.name()
            ))
        })?;
        members.insert("uri".into(), Value::from(&*original));
        let raw = relay(upstream, method, members.into(), Some(ctx), ctx.node_path(), &original).await?;
        decode(upstream, &original, &raw).map_err(ErrorObject::from)
    }
}

impl tenet_skills::Remote for SkillsOf {
    fn get(&self, uri: String, ctx: Context) -> tenet_skills::RemoteFuture<SkillEntry> {
        let this = SkillsOf(self.0.clone());
        Box::pin(async move {
            let mut got: GetSkillResult = this.relay("skills/get", &uri, Map::new(), &ctx).await?;
            this.0.uris.skill(&mut got.skill);
            Ok(got.skill)
        })
    }

    fn read(&self, uri: String, ctx: Context) -> tenet_skills::RemoteFuture<Option<Vec<ResourceContents>>> {
        let upstream = self.0.clone();
        Box::pin(async move {
            let request = ReadRequest { ctx, uri, vars: std::collections::BTreeMap::new() };
            read(upstream, request).await.map_err(ErrorObject::from)
        })
    }

    fn directory(
        &self,
        uri: String,
        cursor: Option<String>,
        ctx: Context,
    ) -> tenet_skills::RemoteFuture<Map<String, Value>> {
        let this = SkillsOf(self.0.clone());
        Box::pin(async move {
            let members = cursor.map(|c| Map::from_iter([("cursor".to_owned(), Value::from(c))])).unwrap_or_default();
            let mut page: Map<String, Value> = this.relay("resources/directory/read", &uri, members, &ctx).await?;
            // The page, not what the upstream's server wrote around it (its `resultType`).
            page.retain(|member, _| member == "resources" || member == "nextCursor");
            if let Some(Value::Array(children)) = page.get_mut("resources") {
                for child in children {
                    rewrite_str(child.get_mut("uri"), |uri| this.0.uris.outward(uri));
                }
            }
            Ok(page)
        })
    }
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
    if upstream.exchanges_tokens() {
        // A completion is asked on the gateway's own connection, with no caller to act
        // for: an upstream that acts for each caller completes for no one.
        return Vec::new();
    }
    let came = request.node_path.as_deref();
    let what = "completion/complete";
    let raw = relay(&upstream, Method::CompletionComplete.name(), object(params).into(), None, came, what).await;
    match raw.and_then(|raw| decode::<CompleteResult>(&upstream, what, &raw)) {
        Ok(result) => result.completion.values,
        Err(e) => {
            tracing::debug!(upstream = %upstream.label(), error = %e, "no completions");
            Vec::new()
        }
    }
}

/// Whether a client on `version` with `capabilities` may be answered -32042 (URL
/// elicitation required).
fn takes_url_elicitation(version: ProtocolVersion, capabilities: &ClientCapabilities) -> bool {
    version.has_url_elicitation_error() && capabilities.elicitation_url()
}

/// How many URL steps of one upstream a 2026-07-28 client may be sent to for one call
/// before the gateway stops asking.
const URL_STEPS: usize = 5;

/// How long a call whose URL steps the user accepted waits before it is made again,
/// unless the upstream says first that a step was completed.
const URL_STEP_POLL: Duration = Duration::from_secs(1);

/// The least time between two calls waiting on URL steps, however often the upstream
/// says a step was completed.
const URL_STEP_GAP: Duration = Duration::from_millis(100);

/// The least time a call made again while the user finishes URL steps may take: with
/// less of the upstream's timeout left, the gateway stops waiting.
const URL_STEP_CALL: Duration = Duration::from_secs(1);

/// The input key under which a 2026-07-28 client is asked `upstream`'s URL step `id`
/// (its `elicitationId`).
fn url_step_key(upstream: &str, id: &str) -> String {
    format!("{upstream}/url-step/{id}")
}

/// How many of `upstream`'s URL steps `responses` answer.
///
/// # Errors
/// When the user declined or cancelled one: the call is not made again.
fn url_steps_accepted(responses: &JsonObject, upstream: &str, what: &str) -> Result<usize, ToolError> {
    let prefix = url_step_key(upstream, "");
    let mut accepted = 0;
    for (_, answer) in responses.iter().filter(|(key, _)| key.starts_with(&prefix)) {
        let action = answer.get("action").and_then(Value::as_str).unwrap_or("no answer");
        if action != "accept" {
            return Err(ToolError::msg(format!(
                "the user did not go through the step in a web browser that upstream {upstream} needs before \
                 {what} can run (the answer was {action:?}), so nothing was done"
            )));
        }
        accepted += 1;
    }
    Ok(accepted)
}

/// What becomes of a legacy upstream's -32042 that the downstream request `ctx` cannot
/// be answered with.
///
/// A 2026-07-28 client that declared URL elicitation, calling outside a task, is sent
/// to each step's URL in an input round (`Err`: the input-required result). Its next
/// round calls the upstream again; while the upstream still needs steps the user
/// accepted (they are at the URL), the call is made again each [`URL_STEP_POLL`], or
/// as soon as the upstream says a step was completed (`done` changes), while enough
/// of the time to `deadline` is left for another call (`Ok`: call again). Any other
/// client reads [`url_step_refused`].
async fn url_step(
    ctx: &Context,
    upstream: &Upstream,
    legacy: bool,
    what: &str,
    error: &ErrorObject,
    deadline: Option<Instant>,
    done: Option<tokio::sync::watch::Receiver<u64>>,
) -> Result<(), ToolError> {
    let name = upstream.name();
    let steps = error.url_elicitations();
    let steps: Option<Vec<(String, &str, &str)>> = steps.iter().map(|step| url_step_of(name, step)).collect();
    let steps = steps.filter(|steps| !steps.is_empty());
    let round = ctx.input_round().filter(|_| legacy && ctx.client_capabilities().elicitation_url());
    let (Some(steps), Some(round)) = (steps, round) else {
        upstream.count(Outcome::Error);
        return Err(ToolError::msg(url_step_refused(name, what, error)));
    };
    let asked: Vec<(String, InputRequest)> = steps
        .into_iter()
        .filter(|(key, ..)| !round.responses.contains_key(key))
        .map(|(key, url, message)| {
            let params = json!({ "mode": "url", "message": message, "url": url });
            (key, InputRequest { method: Method::ElicitationCreate.name().to_owned(), params: Some(params) })
        })
        .collect();
    if !asked.is_empty() {
        if url_steps_accepted(round.responses, name, what)? + asked.len() > URL_STEPS {
            upstream.count(Outcome::Error);
            return Err(ToolError::msg(format!(
                "upstream {name} asked for more than {URL_STEPS} steps in a web browser before {what}, so nothing \
                 was done"
            )));
        }
        // In a round of its own, asking ends in the input-required result that asks.
        return Err(ctx.ask_all(asked).await.err().unwrap_or_else(|| ToolError::msg("the step was answered")));
    }
    // Every step was accepted and the upstream still needs them: the user is at it.
    let left = deadline.and_then(|d| d.checked_duration_since(Instant::now()));
    let (Some(left), Some(mut done)) = (left.filter(|left| *left >= URL_STEP_GAP + URL_STEP_CALL), done) else {
        upstream.count(Outcome::Error);
        return Err(ToolError::msg(format!(
            "the user has not finished the step in a web browser that upstream {name} needs before {what} within \
             {} s, so nothing was done: call again once it is done",
            upstream.config.call_timeout().as_secs()
        )));
    };
    let wait = (left - URL_STEP_CALL).min(URL_STEP_POLL);
    tokio::select! {
        // Said since the call was made, or while waiting.
        Ok(()) = done.changed() => tokio::time::sleep(URL_STEP_GAP).await,
        () = tokio::time::sleep(wait) => {}
    }
    Ok(())
}

/// A step of `upstream`'s -32042: its input key, URL and message (`None` without an
/// `elicitationId`, which 2025-11-25 requires and which tells steps apart).
fn url_step_of<'a>(upstream: &str, step: &'a Value) -> Option<(String, &'a str, &'a str)> {
    let id = step.get("elicitationId")?.as_str()?;
    Some((url_step_key(upstream, id), step.get("url")?.as_str()?, step.get("message")?.as_str()?))
}

/// What a client that cannot be sent to a URL reads instead of the upstream's -32042:
/// that the user has a step to complete there, in the upstream's words (the URL itself
/// is for the user's client to show, not for the model).
fn url_step_refused(upstream: &str, what: &str, error: &ErrorObject) -> String {
    let said: Vec<&str> =
        error.url_elicitations().iter().filter_map(|e| e.get("message").and_then(Value::as_str)).collect();
    let said = if said.is_empty() { error.message.to_string() } else { said.join("; ") };
    format!(
        "upstream {upstream} needs the user to complete a step in a web browser before {what} can run ({said}); \
         this request cannot send the user there (that takes a client that declares URL elicitation, and in MCP \
         2026-07-28 a call outside a task), so nothing was done: complete that step with a client that supports \
         it, then call again"
    )
}

/// What a failed relay becomes downstream.
fn failure(upstream: &Upstream, tool: &str, error: ClientError) -> ToolError {
    let name = upstream.name();
    match error {
        ClientError::Server(mut e) => {
            upstream.count(Outcome::Error);
            // A -32042 that reaches the client as it is names the steps as the
            // gateway does.
            e.url_elicitations_mut().iter_mut().for_each(|step| upstream.uris.elicitation(step));
            ToolError::Protocol(e)
        }
        ClientError::Timeout(after) => {
            upstream.count(Outcome::Timeout);
            ToolError::msg(format!("upstream {name} did not answer {tool} within {} s (cancelled)", after.as_secs()))
        }
        ClientError::Cancelled => {
            upstream.count(Outcome::Cancelled);
            ToolError::msg(format!("{tool} was cancelled"))
        }
        error if is_gone(&error) => {
            upstream.count(Outcome::Unreachable);
            // The supervisor checks the connection now rather than at the next heartbeat.
            upstream.check_now();
            ToolError::msg(format!("upstream {name} lost the connection during {tool}: {error}"))
        }
        other => {
            upstream.count(Outcome::Error);
            // The log keeps the (redacted) start of what the upstream said; the caller
            // gets its status alone.
            tracing::debug!(upstream = %upstream.label(), error = %other, "a call failed");
            ToolError::msg(format!("upstream {name} failed {tool}: {}", summary(&other)))
        }
    }
}

/// What a caller is told when it got no session of its own at `upstream` for `what`.
fn no_session(upstream: &Upstream, what: &str, refused: NoSession) -> ToolError {
    upstream.count(Outcome::Unreachable);
    let name = upstream.name();
    match refused {
        NoSession::Full { max } => ToolError::msg(format!(
            "upstream {name} has all its {max} sessions (max_sessions) in use by other callers; {what} was not \
             sent: try again shortly"
        )),
        NoSession::Share { share } => ToolError::msg(format!(
            "this caller has {share} sessions at upstream {name} in use, its share of max_sessions; {what} was \
             not sent: try again when one of its calls there ends"
        )),
        NoSession::Rate { retry } => ToolError::msg(format!(
            "this caller opened sessions at upstream {name} faster than one every {} s (after {}); {what} was not \
             sent: try again in {} s",
            crate::sessions::OPEN_EVERY.as_secs(),
            crate::sessions::OPEN_BURST,
            // Whole seconds, rounded up.
            retry.as_secs() + u64::from(retry.subsec_nanos() > 0)
        )),
        NoSession::Connect(error) => {
            tracing::warn!(upstream = %upstream.label(), error = %error, "a caller's session could not be opened");
            ToolError::msg(format!("upstream {name} could not open a session for this caller: {}", summary(&error)))
        }
    }
}

/// What a caller is told of an upstream's failure: the status or the kind of error,
/// none of the text the upstream wrote (an error body, a challenge).
fn summary(error: &ClientError) -> String {
    match error {
        ClientError::Http { status, .. } => format!("HTTP {status}"),
        ClientError::Unauthorized { status, .. } => {
            format!("HTTP {status}: the upstream refused the gateway's authorization")
        }
        // An authorization server's own words (its error_description) stay in the log.
        ClientError::Auth(_) => "the gateway could not get authorization for the upstream".to_owned(),
        other => other.to_string(),
    }
}
