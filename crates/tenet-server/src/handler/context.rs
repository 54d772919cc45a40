//! What a handler knows about the request it serves, and what it can send back.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tenet_jsonrpc::Id;
use tenet_protocol::{
    ClientCapabilities, CreateMessageParams, CreateMessageResult, ElicitParams, ElicitResult, Era, InputRequest,
    InputRequiredResult, JsonObject, ListRootsResult, LoggingLevel, LoggingMessageParams, Method, ProgressParams,
    ProgressToken, ProtocolVersion, SpanId, TraceContext,
};
use tokio_util::sync::CancellationToken;

use super::conversation::Conversation;
use super::request_state::{Binding, State, StateKey};
use crate::error::ToolError;
use crate::observe::RequestTrace;
use crate::observe::spans::{AttributeValue, ChildSpan, SpanSink};
use crate::session::{Outbound, Peer, Session};
use crate::store::ContextStore;
use crate::tasks::Seat;
use tenet_protocol::context::ContextRef;

/// The context of one request, handed to every handler (the `Context` extractor).
///
/// Cheap to clone. It tells the request's id, era, version and the client's
/// capabilities; it reports progress and log messages on the request's own channel;
/// it carries the cancellation token; and it asks the client for input — by a real
/// request in the legacy era, by an input-required result in 2026-07-28.
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    id: Id,
    method: Option<Method>,
    version: ProtocolVersion,
    client: Arc<ClientCapabilities>,
    progress_token: Option<ProgressToken>,
    /// The caller's trace and our span in it, when the request carried a traceparent
    /// or spans are exported.
    trace: Option<Arc<RequestTrace>>,
    /// Where spans go, when they are exported.
    spans: Option<Arc<dyn SpanSink>>,
    /// The Tenet nodes the request passed through, when it carried a path.
    node_path: Option<Arc<tenet_protocol::NodePath>>,
    log_level: Option<LoggingLevel>,
    cancel: CancellationToken,
    out: Outbound,
    peer: Option<Arc<Peer>>,
    inputs: Option<Inputs>,
    last_progress: Mutex<Option<f64>>,
    state: Option<Arc<dyn Any + Send + Sync>>,
    peer_timeout: Duration,
    /// The task this call may become (tasks extension), set before the handler runs.
    seat: OnceLock<Arc<Seat>>,
    /// Whether the handler sent the client a request (its answer shaped the result).
    asked_client: AtomicBool,
    /// What the request's conversation is made from, when a handler asks for it.
    seed: ConversationSeed,
    conversation: OnceLock<Conversation>,
}

/// What a request's [`Conversation`] is made from (only when a handler asks for it).
pub(crate) struct ConversationSeed {
    pub store: Arc<dyn ContextStore>,
    /// `_meta["io.tenet/context"]`.
    pub named: Option<Arc<ContextRef>>,
    /// The caller's grant (its subject owns the context).
    pub grant: Option<Arc<crate::grant::Grant>>,
    /// [`crate::Link::caller`] and [`crate::Link::addr`]: whose share the contexts it
    /// makes count against.
    pub caller: Option<Arc<str>>,
    pub addr: Option<std::net::IpAddr>,
    /// The legacy session.
    pub session: Option<Arc<Session>>,
}

/// MRTR bookkeeping for one request (2026-07-28).
pub(crate) struct Inputs {
    /// Answers from earlier rounds (from requestState) and this one.
    responses: JsonObject,
    /// Rounds completed before this one.
    round: u32,
    binding: Binding,
    key: StateKey,
    /// The state a relay wrapped in the previous round.
    wrapped: Option<String>,
}

impl Inputs {
    pub(crate) fn new(responses: JsonObject, round: u32, binding: Binding, key: StateKey) -> Self {
        Self { responses, round, binding, key, wrapped: None }
    }

    pub(crate) fn wrapping(self, wrapped: Option<String>) -> Self {
        Self { wrapped, ..self }
    }
}

/// What a 2026-07-28 client sent back in an input round, as a relay needs it (see
/// [`Context::input_round`]).
#[derive(Clone, Copy, Debug)]
pub struct InputRound<'a> {
    /// The answers: this round's `inputResponses`, with those of earlier rounds that
    /// this server's state kept.
    pub responses: &'a JsonObject,
    /// The state wrapped by [`Context::relay_input_required`] in the previous round.
    pub wrapped: Option<&'a str>,
}

/// Everything needed to build a [`Context`].
pub(crate) struct ContextParts {
    pub id: Id,
    /// `None` for a method added to the table ([`crate::MethodDef`]).
    pub method: Option<Method>,
    pub version: ProtocolVersion,
    pub client: Arc<ClientCapabilities>,
    pub progress_token: Option<ProgressToken>,
    pub log_level: Option<LoggingLevel>,
    pub cancel: CancellationToken,
    pub out: Outbound,
    pub peer: Option<Arc<Peer>>,
    pub inputs: Option<Inputs>,
    pub state: Option<Arc<dyn Any + Send + Sync>>,
    pub peer_timeout: Duration,
    pub trace: Option<Arc<RequestTrace>>,
    pub spans: Option<Arc<dyn SpanSink>>,
    pub node_path: Option<Arc<tenet_protocol::NodePath>>,
    pub seed: ConversationSeed,
}

impl Context {
    pub(crate) fn new(p: ContextParts) -> Self {
        Self {
            inner: Arc::new(Inner {
                id: p.id,
                method: p.method,
                version: p.version,
                client: p.client,
                progress_token: p.progress_token,
                trace: p.trace,
                spans: p.spans,
                node_path: p.node_path,
                log_level: p.log_level,
                cancel: p.cancel,
                out: p.out,
                peer: p.peer,
                inputs: p.inputs,
                last_progress: Mutex::new(None),
                state: p.state,
                peer_timeout: p.peer_timeout,
                seat: OnceLock::new(),
                asked_client: AtomicBool::new(false),
                seed: p.seed,
                conversation: OnceLock::new(),
            }),
        }
    }

    /// The context of a call that may become a task.
    pub(crate) fn with_seat(self, seat: Arc<Seat>) -> Self {
        let _ = self.inner.seat.set(seat);
        self
    }

    /// The task this call runs as, once it has started (the tasks extension).
    fn task(&self) -> Option<&Arc<Seat>> {
        self.inner.seat.get().filter(|seat| seat.task().is_some())
    }

    /// The id of the task this call runs as, once it has started (the tasks extension).
    pub fn task_id(&self) -> Option<&str> {
        self.task().and_then(|seat| seat.task()).map(|entry| entry.id())
    }

    /// Lets the call go on as a task (the tasks extension), for tools registered with
    /// [`crate::ToolDef::task_started_by_handler`]: the client gets the task handle
    /// now, and what the handler returns becomes the task's result. Input asked for
    /// after this parks the task until the client answers with `tasks/update`; input
    /// gathered before (by MRTR) stays available. Where the call cannot become a task
    /// (the client did not list the extension, an older protocol, a tool without task
    /// support) or already is one, nothing changes and the call goes on as it was.
    ///
    /// # Errors
    /// When the server holds too many tasks.
    pub async fn start_task(&self) -> Result<(), ToolError> {
        let Some(seat) = self.inner.seat.get() else { return Ok(()) };
        let gathered = self.inner.inputs.as_ref().map(|i| i.responses.clone()).unwrap_or_default();
        seat.start(gathered).map_err(ToolError::Protocol)
    }

    /// The request's id.
    pub fn request_id(&self) -> &Id {
        &self.inner.id
    }

    /// The request's method: `None` for one added to the server's table
    /// ([`crate::MethodDef`]), whose handler takes its name as [`crate::MethodName`].
    pub fn method(&self) -> Option<Method> {
        self.inner.method
    }

    /// The protocol version the request speaks.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.inner.version
    }

    /// The request's era.
    pub fn era(&self) -> Era {
        self.inner.version.era()
    }

    /// The caller's W3C trace context (`_meta.traceparent` and `tracestate`), when it
    /// sent a valid one. Requests this handler sends to the client (sampling,
    /// elicitation, roots; legacy era) carry the same trace, with [`Context::span_id`]
    /// as their parent.
    pub fn trace(&self) -> Option<&TraceContext> {
        self.inner.trace.as_deref().and_then(|t| t.caller.as_ref())
    }

    /// The trace context for requests this handler makes on the request's behalf: the
    /// request's trace, with [`Context::span_id`] as their parent and the server's
    /// sampling decision; `None` when the request is not traced (no caller's context,
    /// and spans are not exported).
    pub fn outgoing_trace(&self) -> Option<&TraceContext> {
        self.inner.trace.as_deref().map(|t| &t.ours)
    }

    /// A child span for a request this handler makes on the request's behalf (a
    /// gateway's call to an upstream, a node's to a peer): send its
    /// [`ChildSpan::context`] with that request, then end it. Recorded when spans are
    /// exported and the request's span is sampled; `None` when the request is not
    /// traced. `describe` gives the span's name and attributes; it is called only for
    /// a span that is recorded, so an untraced request pays nothing for them.
    pub fn child_span(
        &self,
        describe: impl FnOnce() -> (String, Vec<(&'static str, AttributeValue)>),
    ) -> Option<ChildSpan> {
        let trace = self.inner.trace.as_deref()?;
        let sink = self.inner.spans.clone().filter(|_| trace.recorded);
        Some(ChildSpan::new(sink, &trace.ours, describe))
    }

    /// The Tenet nodes this request passed through before it reached this server
    /// (`_meta["io.tenet/path"]`, first to last), when it came through any: a node
    /// that forwards it further adds itself, and refuses to forward it back to a node
    /// on it.
    pub fn node_path(&self) -> Option<&tenet_protocol::NodePath> {
        self.inner.node_path.as_deref()
    }

    /// The span id this server acts under within the request's trace (fresh for each
    /// traced request; logged as `span_id`), when the caller sent a trace context or
    /// spans are exported.
    pub fn span_id(&self) -> Option<SpanId> {
        self.inner.trace.as_deref().map(|t| t.ours.parent_id())
    }

    /// The client's capabilities (declared at `initialize`, or on this very request).
    pub fn client_capabilities(&self) -> &Arc<ClientCapabilities> {
        &self.inner.client
    }

    /// Fires when the client cancels the request; the response will not be sent. The
    /// server then drops the handler's future (whatever it awaits is dropped with it),
    /// so a handler need not watch this to stop: it is for work handed elsewhere.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.inner.cancel
    }

    /// Whether the handler sent the client a request (elicitation, sampling, roots,
    /// ping): its result then depends on the answer and is never cached.
    pub(crate) fn asked_client(&self) -> bool {
        self.inner.asked_client.load(Ordering::Relaxed)
    }

    /// Whether the client has cancelled the request.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_cancelled()
    }

    /// The conversation this request belongs to, and its context (see [`Conversation`]).
    pub fn conversation(&self) -> &Conversation {
        self.inner.conversation.get_or_init(|| {
            let seed = &self.inner.seed;
            // No access control: every caller is the same one. A grant that names nobody:
            // an owner no one can name.
            let owner = match seed.grant.as_deref() {
                None => Some(String::new()),
                Some(grant) => grant.owner().map(str::to_owned),
            };
            let relayed = self.node_path().is_some_and(|p| !p.is_empty());
            let share = crate::session::share_of(seed.grant.as_deref(), seed.caller.as_deref(), seed.addr);
            let session = seed.session.clone();
            Conversation::new(seed.store.clone(), owner, share, seed.named.as_deref(), relayed, session)
        })
    }

    /// The id of the conversation this request belongs to: the one its `_meta` names
    /// (or a node carried), else its legacy session's (made now if the session had
    /// none); `None` for a 2026-07-28 request that names none. A gateway keeps a session
    /// upstream per conversation by it (`session = "per-conversation"`).
    pub fn conversation_id(&self) -> Option<tenet_protocol::context::ContextId> {
        let seed = &self.inner.seed;
        match seed.named.as_deref() {
            Some(named) => named.id().cloned(),
            None => seed.session.as_ref().map(|session| session.context_id()),
        }
    }

    /// The conversation's context to carry to another Tenet node with a request relayed
    /// there ([`Conversation::to_carry`]); found without making the conversation when
    /// the request belongs to none yet (the common case, kept cheap).
    ///
    /// # Errors
    /// The store is unavailable.
    pub async fn conversation_to_carry(
        &self,
    ) -> Result<Option<tenet_protocol::context::CarriedContext>, crate::store::ContextError> {
        let seed = &self.inner.seed;
        let bound = self.inner.conversation.get().is_some()
            || seed.named.is_some()
            || seed.session.as_ref().is_some_and(|s| s.context_id_if_any().is_some())
            || self.node_path().is_some_and(|p| !p.is_empty());
        if !bound {
            return Ok(None);
        }
        self.conversation().to_carry().await
    }

    /// What the result's `_meta["io.tenet/context"]` is to say, if a handler used the
    /// conversation and there is something to say.
    pub(crate) fn conversation_note(&self) -> Option<tenet_protocol::context::ContextNote> {
        self.inner.conversation.get()?.note()
    }

    /// Whether a handler read or wrote the conversation's context.
    pub(crate) fn used_conversation(&self) -> bool {
        self.inner.conversation.get().is_some_and(Conversation::used)
    }

    /// The application state given to the server builder, if it is of type `S`.
    pub fn state<S: Send + Sync + 'static>(&self) -> Option<Arc<S>> {
        self.inner.state.clone()?.downcast::<S>().ok()
    }

    /// Whether the client asked for progress (sent a progress token).
    pub fn wants_progress(&self) -> bool {
        self.inner.progress_token.is_some()
    }

    /// Reports progress, if the client asked for it with a progress token. Values that
    /// do not increase are dropped (the spec requires strictly increasing progress).
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        let Some(token) = &self.inner.progress_token else { return };
        {
            let mut last = self.inner.last_progress.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|l| progress <= l) {
                return;
            }
            *last = Some(progress);
        }
        let params = ProgressParams { progress_token: token.clone(), progress, total, message, meta: None };
        self.notify(Method::Progress, &params).await;
    }

    /// Whom the request counts against in per-caller bounds: its principal, else its
    /// client's address (`ip:…`); `None` when neither is known (a program serving the
    /// router with no addresses). A relay names its upstream requests' owner with it.
    pub fn caller(&self) -> Option<String> {
        let seed = &self.inner.seed;
        crate::session::share_of(seed.grant.as_deref(), seed.caller.as_deref(), seed.addr)
    }

    /// [`Context::caller`], shared rather than copied where the transport named the
    /// caller (a relay names the owner of every request it makes with it).
    pub fn caller_shared(&self) -> Option<Arc<str>> {
        let seed = &self.inner.seed;
        match &seed.caller {
            Some(caller) if &**caller != crate::grant::UNNAMED => Some(Arc::clone(caller)),
            _ => crate::grant::share_key(seed.grant.as_deref(), seed.addr).map(Arc::from),
        }
    }

    /// The caller's grant, when the transport does access control.
    pub(crate) fn grant(&self) -> Option<&crate::grant::Grant> {
        self.inner.seed.grant.as_deref()
    }

    /// Whether the caller holds every one of `scopes` (always, without access control):
    /// for a handler that serves items of its own with scopes of their own.
    pub fn may(&self, scopes: &[String]) -> bool {
        crate::session::allows(self.grant(), scopes)
    }

    /// The -32003 error for using `what` without `required` (when [`Context::may`] says
    /// no): its data names the scopes to ask for again, the caller's and the missing
    /// ones, as every refusal of the server's own does.
    pub fn insufficient_scope(&self, what: &str, required: &[String]) -> tenet_jsonrpc::ErrorObject {
        crate::session::insufficient_scope(self.grant(), what, required)
    }

    /// The scopes granted to the caller, sorted (none without access control).
    pub fn granted_scopes(&self) -> impl Iterator<Item = &str> {
        self.grant().into_iter().flat_map(crate::grant::Grant::scopes)
    }

    /// The OAuth access token the caller presented, when the server verified one
    /// ([`crate::grant::Grant::presented_token`]): for acting on the caller's behalf elsewhere
    /// by a token exchange, never to be passed on as it is.
    pub fn presented_token(&self) -> Option<&str> {
        self.grant().and_then(crate::grant::Grant::presented_token)
    }

    /// [`crate::Principal::id`] of the caller, when authorization named one (an API key,
    /// a token's issuer and subject): never an address, which several people may share.
    pub fn principal_id(&self) -> Option<&str> {
        self.inner.seed.grant.as_deref().and_then(crate::grant::Grant::owner)
    }

    /// The lowest level of log message the client asked for, if any (legacy: with
    /// `logging/setLevel`; 2026-07-28: with `logLevel` on this request).
    pub fn log_level(&self) -> Option<LoggingLevel> {
        self.inner.log_level
    }

    /// Whether a log message at `level` would be sent.
    pub fn logs(&self, level: LoggingLevel) -> bool {
        self.inner.log_level.is_some_and(|min| level >= min)
    }

    /// Sends a log message to the client, if it asked for this level (legacy: with
    /// `logging/setLevel`; 2026-07-28: with `logLevel` on this request).
    pub async fn log(&self, level: LoggingLevel, data: impl Into<Value>) {
        if !self.logs(level) {
            return;
        }
        let params = LoggingMessageParams { level, logger: None, data: data.into(), meta: None };
        self.notify(Method::Message, &params).await;
    }

    /// Sends a notification related to this request, unless it was cancelled or runs
    /// as a task (the tasks extension sends no progress or log messages for tasks).
    pub async fn notify(&self, method: Method, params: &impl Serialize) {
        if self.is_cancelled() || self.task().is_some() {
            return;
        }
        let mut line = Vec::with_capacity(128);
        tenet_jsonrpc::write_notification(&mut line, method.name(), params);
        // A closed channel means the client is gone; there is nobody to tell.
        let _ = self.inner.out.send(line).await;
    }

    /// Lets the transport end this request's response stream now, before the answer
    /// (SSE polling, 2025-11-25): the client reconnects and receives what follows, the
    /// answer included. Transports that cannot resume a stream ignore it.
    pub async fn close_stream(&self) {
        // An empty message is the signal; it is never written as bytes.
        let _ = self.inner.out.send(Vec::new()).await;
    }

    /// Remembers that this request's client is sent the URL-mode elicitation `id`
    /// (in `elicitation/create`, or in a -32042 error), so that
    /// [`crate::Server::url_elicitation_complete`] tells that client, and no other,
    /// when the user is done there. Only 2025-11-25 has the notification.
    pub(crate) fn expect_url_elicitation(&self, id: &str) {
        if !Method::ElicitationComplete.exists_in(self.inner.version) {
            return;
        }
        if let Some(session) = &self.inner.seed.session {
            session.expect_url_step(id);
        }
    }

    /// Remembers the URL-mode elicitations a -32042 `error` sends this request's
    /// client to ([`Context::expect_url_elicitation`]).
    pub(crate) fn expect_url_elicitations_of(&self, error: &tenet_jsonrpc::ErrorObject) {
        for elicitation in error.url_elicitations() {
            if let Some(id) = elicitation.get("elicitationId").and_then(Value::as_str) {
                self.expect_url_elicitation(id);
            }
        }
    }

    /// Asks the user for input (`elicitation/create`).
    ///
    /// `key` names this question: in 2026-07-28 it is the key of the input request,
    /// and the handler is run again with the answer once the client has it.
    ///
    /// # Errors
    /// -32021 when the client did not declare elicitation; the client's error; or
    /// (2026-07-28) the input-required result that asks the question.
    pub async fn elicit(&self, key: &str, params: ElicitParams) -> Result<ElicitResult, ToolError> {
        let url = params.mode.as_deref() == Some("url");
        let caps = self.client_capabilities();
        if !(if url { caps.elicitation_url() } else { caps.elicitation_form() }) {
            let mode = if url { "url" } else { "form" };
            return Err(ToolError::missing_capability(&serde_json::json!({"elicitation": {mode: {}}})));
        }
        if let Some(id) = params.elicitation_id.as_deref().filter(|_| url) {
            self.expect_url_elicitation(id);
        }
        self.ask(key, Method::ElicitationCreate, params).await
    }

    /// Asks the client's model for a completion (`sampling/createMessage`).
    ///
    /// # Errors
    /// As [`Context::elicit`].
    pub async fn sample(&self, key: &str, params: CreateMessageParams) -> Result<CreateMessageResult, ToolError> {
        if self.client_capabilities().sampling.is_none() {
            return Err(ToolError::missing_capability(&serde_json::json!({"sampling": {}})));
        }
        self.ask(key, Method::SamplingCreateMessage, params).await
    }

    /// Asks the client for its roots (`roots/list`).
    ///
    /// # Errors
    /// As [`Context::elicit`].
    pub async fn list_roots(&self, key: &str) -> Result<ListRootsResult, ToolError> {
        if self.client_capabilities().roots.is_none() {
            return Err(ToolError::missing_capability(&serde_json::json!({"roots": {}})));
        }
        self.ask(key, Method::RootsList, serde_json::json!({})).await
    }

    /// Pings the client (legacy era only: 2026-07-28 has no server → client requests).
    ///
    /// # Errors
    /// When the client does not answer in time, answers with an error, or the request
    /// is stateless.
    pub async fn ping(&self) -> Result<(), ToolError> {
        if self.era() == Era::Stateless {
            return Err(ToolError::msg("ping does not exist in protocol 2026-07-28"));
        }
        self.legacy_request(Method::Ping, serde_json::json!({})).await.map(drop)
    }

    /// Asks several things at once. In 2026-07-28 they go out in one input-required
    /// result; in the legacy era they are sent one after another. Answers come back in
    /// the order asked, as JSON. Capabilities are not checked here.
    ///
    /// # Errors
    /// As [`Context::elicit`].
    pub async fn ask_all(&self, requests: Vec<(String, InputRequest)>) -> Result<Vec<Value>, ToolError> {
        for (_, request) in &requests {
            if request.method == Method::ElicitationCreate.name()
                && let Some(params) = &request.params
                && params.get("mode").and_then(Value::as_str) == Some("url")
                && let Some(id) = params.get("elicitationId").and_then(Value::as_str)
            {
                self.expect_url_elicitation(id);
            }
        }
        if let Some(seat) = self.task() {
            let mut answers = seat.ask(requests.iter().cloned().collect()).await?;
            return Ok(requests.iter().map(|(k, _)| answers.remove(k).unwrap_or_default()).collect());
        }
        if let Some(inputs) = &self.inner.inputs {
            let missing: BTreeMap<String, InputRequest> =
                requests.iter().filter(|(k, _)| !inputs.responses.contains_key(k)).cloned().collect();
            if !missing.is_empty() {
                return Err(self.input_required(inputs, missing));
            }
            return Ok(requests.iter().map(|(k, _)| inputs.responses[k].clone()).collect());
        }
        let mut answers = Vec::with_capacity(requests.len());
        for (_, request) in requests {
            let method = Method::from_name(&request.method).ok_or_else(|| ToolError::msg("unknown input method"))?;
            let raw = self.legacy_request(method, request.params.unwrap_or(Value::Object(JsonObject::new()))).await?;
            answers.push(serde_json::from_str(raw.get()).map_err(ToolError::from)?);
        }
        Ok(answers)
    }

    async fn ask<P: Serialize, R: DeserializeOwned>(
        &self,
        key: &str,
        method: Method,
        params: P,
    ) -> Result<R, ToolError> {
        let invalid = |e: serde_json::Error| {
            ToolError::invalid_params(format!("inputResponses.{key} is not a valid {} result: {e}", method.name()))
        };
        if let Some(seat) = self.task() {
            let request = InputRequest { method: method.name().into(), params: serde_json::to_value(params).ok() };
            let answers = seat.ask(BTreeMap::from([(key.to_owned(), request)])).await?;
            return R::deserialize(answers.get(key).unwrap_or(&Value::Null)).map_err(invalid);
        }
        if let Some(inputs) = &self.inner.inputs {
            return match inputs.responses.get(key) {
                Some(answer) => R::deserialize(answer).map_err(invalid),
                None => {
                    let request =
                        InputRequest { method: method.name().into(), params: serde_json::to_value(params).ok() };
                    Err(self.input_required(inputs, BTreeMap::from([(key.to_owned(), request)])))
                }
            };
        }
        let raw = self.legacy_request(method, params).await?;
        serde_json::from_str(raw.get())
            .map_err(|e| ToolError::msg(format!("the client's {} result is invalid: {e}", method.name())))
    }

    async fn legacy_request(
        &self,
        method: Method,
        params: impl Serialize,
    ) -> Result<tenet_jsonrpc::RawObject, ToolError> {
        let params = self.traced(params)?;
        let Some(peer) = &self.inner.peer else {
            return Err(ToolError::msg(format!("{} cannot be sent on this connection", method.name())));
        };
        self.inner.asked_client.store(true, Ordering::Relaxed);
        peer.request(&self.inner.out, method.name(), &params, self.inner.peer_timeout)
            .await
            .map_err(|e| ToolError::msg(e.message))
    }

    /// `params` with `_meta.traceparent` (and `tracestate`) naming the caller's trace
    /// and our span, when the request carried a trace context and the handler set no
    /// `traceparent` itself.
    fn traced<P: Serialize>(&self, params: P) -> Result<Traced<P>, ToolError> {
        let Some(trace) = &self.inner.trace else { return Ok(Traced::Plain(params)) };
        let mut value = serde_json::to_value(params)?;
        if let Value::Object(map) = &mut value
            && let Value::Object(meta) = map.entry("_meta").or_insert_with(|| Value::Object(JsonObject::new()))
            && !meta.contains_key(tenet_protocol::TRACEPARENT_KEY)
        {
            trace.ours.write_meta(meta);
        }
        Ok(Traced::With(value))
    }

    /// 2026-07-28: the answers and wrapped state the client sent back with this
    /// request (empty on a first round); `None` in the legacy era and in a task.
    pub fn input_round(&self) -> Option<InputRound<'_>> {
        let inputs = self.inner.inputs.as_ref().filter(|_| self.task().is_none())?;
        Some(InputRound { responses: &inputs.responses, wrapped: inputs.wrapped.as_deref() })
    }

    /// 2026-07-28: the input-required result a relay answers with when the server it
    /// relays to asks `requests`. Its `requestState` is this server's own,
    /// integrity-protected and bound to this request, and carries `wrapped` (the other
    /// server's state) but none of this round's answers: the next round's answers go
    /// to the other server, which keeps its own. `None` in the legacy era and in a task.
    pub fn relay_input_required(
        &self,
        requests: BTreeMap<String, InputRequest>,
        wrapped: Option<String>,
    ) -> Option<ToolError> {
        let inputs = self.inner.inputs.as_ref().filter(|_| self.task().is_none())?;
        Some(self.seal_round(inputs, JsonObject::new(), requests, wrapped))
    }

    fn input_required(&self, inputs: &Inputs, requests: BTreeMap<String, InputRequest>) -> ToolError {
        self.seal_round(inputs, inputs.responses.clone(), requests, None)
    }

    fn seal_round(
        &self,
        inputs: &Inputs,
        responses: JsonObject,
        requests: BTreeMap<String, InputRequest>,
        wrapped: Option<String>,
    ) -> ToolError {
        let mut state = State::new(inputs.binding.get().to_owned(), responses, inputs.round + 1);
        state.wrapped = wrapped;
        ToolError::InputRequired(Box::new(InputRequiredResult {
            input_requests: Some(requests),
            request_state: Some(inputs.key.seal(&state)),
            meta: None,
        }))
    }
}

/// Params of a request to the client: as the handler gave them, or with the trace.
#[derive(Serialize)]
#[serde(untagged)]
enum Traced<P> {
    Plain(P),
    With(Value),
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.inner.id)
            .field("method", &self.inner.method)
            .field("version", &self.inner.version)
            .finish_non_exhaustive()
    }
}
