//! A routed request and what serves it: the [`Route`] routing decides on, the
//! [`Called`] method (a core handler or an added method), the [`Call`] a core handler
//! is given, and the [`Reply`] it makes, before the era's members are added.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use tenet_jsonrpc::{ErrorObject, Request};
use tenet_protocol::{CallToolResult, ClientCapabilities, LoggingLevel, Method, ProgressToken, ProtocolVersion};

use super::probe::MetaView;
use crate::body::Body;
use crate::observe::metrics::Outcome;
use crate::observe::{Label, RequestTrace};
use crate::server::Server;
use crate::session::Link;

/// What a method handler produced, before the era's members are added.
pub(crate) enum Reply {
    /// A result object's JSON; `cacheable` results get `ttlMs`/`cacheScope` in 2026.
    Ok { body: Body, cacheable: Option<Freshness> },
    /// An input-required result (2026-07-28 only).
    InputRequired(Body),
    /// A task handle instead of the result (the tasks extension, 2026-07-28).
    Task(Body),
    /// A JSON-RPC error.
    Err(ErrorObject),
    /// A tool result with `isError: true`: the `Ok` reply it is encoded as, counted
    /// apart.
    ToolError(Box<Reply>),
}

/// Where a cacheable result's `ttlMs` and `cacheScope` come from (2026-07-28).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// The server's configuration (`cache_ttl_ms`, `cache_scope`): lists, discover.
    Server,
    /// The capability's own TTL (what is left of it, for an answer from the cache).
    Own { ttl_ms: u64, scope: tenet_protocol::CacheScope },
}

impl Reply {
    pub(crate) fn ok(value: &impl Serialize) -> Self {
        Self::of(value, |body| Reply::Ok { body, cacheable: None })
    }

    /// `value` serialized and wrapped by `wrap`, or the error saying it could not be.
    pub(crate) fn of(value: &impl Serialize, wrap: impl FnOnce(Body) -> Reply) -> Self {
        match Body::of(value) {
            Ok(body) => wrap(body),
            Err(e) => Reply::Err(ErrorObject::internal(format!("cannot serialize the result: {e}"))),
        }
    }

    pub(crate) fn cacheable(value: &impl Serialize) -> Self {
        Self::fresh(value, Freshness::Server)
    }

    /// A cacheable result whose hints come from `freshness`.
    pub(crate) fn fresh(value: &impl Serialize, freshness: Freshness) -> Self {
        match Self::ok(value) {
            Reply::Ok { body, .. } => Reply::Ok { body, cacheable: Some(freshness) },
            other => other,
        }
    }
}

impl From<ErrorObject> for Reply {
    fn from(e: ErrorObject) -> Self {
        Reply::Err(e)
    }
}

impl Reply {
    /// A tool's result: [`Reply::ToolError`] when it says it failed.
    pub(crate) fn tool(result: &CallToolResult) -> Self {
        let written = match Body::of_text_result(result) {
            Some(body) => Reply::Ok { body, cacheable: None },
            None => Self::ok(result),
        };
        match written {
            ok @ Reply::Ok { .. } if result.is_error == Some(true) => Reply::ToolError(Box::new(ok)),
            other => other,
        }
    }

    /// A tool's result written elsewhere, as it is: [`Reply::ToolError`] when it says
    /// it failed.
    pub(crate) fn tool_written(written: crate::handler::WrittenResult) -> Self {
        let failed = written.is_error();
        let (json, meta) = written.into_parts();
        let ok = Reply::Ok { body: Body::written(json, meta), cacheable: None };
        if failed { Reply::ToolError(Box::new(ok)) } else { ok }
    }

    /// How the request ended, for metrics and the request log.
    pub(super) fn outcome(&self) -> Outcome {
        match self {
            Reply::Ok { .. } => Outcome::Ok,
            Reply::ToolError(_) => Outcome::ToolError,
            Reply::InputRequired(_) => Outcome::InputRequired,
            Reply::Task(_) => Outcome::Task,
            Reply::Err(e) => Outcome::Error(e.code),
        }
    }
}

impl Called {
    /// What the request is counted and traced as.
    pub(super) fn label(&self) -> Label {
        match self {
            Called::Core(core) => Label::Core(core.method),
            Called::Added(added) => Label::Added(added.name),
        }
    }
}

/// How one request is to be served, once its era is known.
#[derive(Debug)]
pub struct Route {
    pub(crate) method: Called,
    pub(crate) version: ProtocolVersion,
    pub(crate) client: Arc<ClientCapabilities>,
    pub(crate) log_level: Option<LoggingLevel>,
    pub(crate) meta: RouteMeta,
    /// Where the params' `arguments` are in their text, as routing read them.
    pub(crate) arguments: Option<tenet_jsonrpc::Span>,
    /// Where the params' `name` is in their text, for a plain `tools/call`
    /// ([`crate::Probe::is_plain_call`]): its handler then reads only the name and the
    /// arguments, not the params again.
    pub(crate) plain_name: Option<tenet_jsonrpc::Span>,
    /// What the door found the request's target to be, when it looked (a caller with a
    /// grant): the handler serves that, never a second lookup's answer, so the scopes
    /// checked are those of what runs.
    pub(crate) admitted: Option<Box<super::admitted::Admitted>>,
}

/// What routing keeps of a request's `_meta` for serving it.
#[derive(Debug, Default)]
pub(crate) struct RouteMeta {
    pub progress_token: Option<ProgressToken>,
    pub(super) log_level: Option<LoggingLevel>,
    /// The trace this request continues (`traceparent` and `tracestate`), with a span
    /// id of ours.
    pub trace: Option<Arc<RequestTrace>>,
    /// The Tenet nodes the request passed through.
    pub node_path: Option<Arc<tenet_protocol::NodePath>>,
    /// The conversation the request belongs to.
    pub context: Option<Arc<tenet_protocol::context::ContextRef>>,
}

impl RouteMeta {
    pub(super) fn new(view: MetaView<'_>) -> Self {
        let MetaView { progress_token, log_level, traceparent, tracestate, node_path, context, .. } = view;
        let trace = traceparent.map(|caller| match tracestate {
            Some(state) => RequestTrace::new(caller.with_state(&state)),
            None => RequestTrace::new(caller),
        });
        Self { progress_token, log_level, trace, node_path: node_path.map(Arc::new), context: context.map(Arc::from) }
    }
}

/// One request, as a core method's handler is given it.
#[derive(Clone, Copy)]
pub(crate) struct Call<'a> {
    pub server: &'a Server,
    pub route: &'a Route,
    pub request: &'a Request,
    pub link: &'a Link,
    /// The method called (one handler serves several).
    pub method: Method,
}

impl<'a> Call<'a> {
    pub(super) fn params(&self) -> Option<&'a tenet_jsonrpc::RawJson> {
        self.request.params.as_deref()
    }
}

/// What a core method's handler gives back: the reply, or the future that makes it
/// (boxed, so that no one method's future sizes every request's).
pub(crate) enum Served<'a> {
    Now(Reply),
    Later(Pin<Box<dyn Future<Output = Reply> + Send + 'a>>),
    /// A `tools/call`, run in place: the hottest path, whose future is large. Boxed as
    /// `Later`, each call copied it into fresh memory once more: +7 % CPU per stateless
    /// call under 64 connections, in cache misses (callgrind, issue 58).
    ToolCall(Call<'a>),
}

impl Served<'_> {
    /// The reply, once made.
    pub(crate) async fn reply(self) -> Reply {
        match self {
            Served::Now(reply) => reply,
            Served::Later(future) => future.await,
            Served::ToolCall(c) => c.server.call_tool(c.route, &c.request.id, c.params(), c.link).await,
        }
    }
}

/// A core method's handler.
pub(crate) type CoreFn = for<'a> fn(Call<'a>) -> Served<'a>;

/// A core method of the table, with its handler.
#[derive(Clone, Copy)]
pub(crate) struct Core {
    pub method: Method,
    pub(super) run: CoreFn,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Core").field(&self.method).finish()
    }
}

impl Core {
    /// Serves `call` (its `method` is this one's).
    pub(crate) fn run<'a>(self, call: Call<'a>) -> Served<'a> {
        (self.run)(call)
    }
}

/// What serves a method in one era: a core handler, or an added method.
#[derive(Debug, Clone)]
pub(crate) enum Called {
    /// A method of the protocol itself.
    Core(Core),
    /// A method an extension (or the server) added.
    Added(Arc<crate::handler::MethodDef>),
}

impl Called {
    /// The core method, if it is one.
    pub(crate) fn core(&self) -> Option<Method> {
        match self {
            Called::Core(core) => Some(core.method),
            Called::Added(_) => None,
        }
    }

    /// The added method, if it is one.
    pub(super) fn added(&self) -> Option<&Arc<crate::handler::MethodDef>> {
        match self {
            Called::Core(_) => None,
            Called::Added(added) => Some(added),
        }
    }

    /// The method's wire name.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Called::Core(core) => core.method.name(),
            Called::Added(added) => added.name,
        }
    }

    /// Whether it is served at `version` (a core method exists in some versions of its
    /// era only).
    pub(crate) fn exists_in(&self, version: ProtocolVersion) -> bool {
        self.core().is_none_or(|method| method.exists_in(version))
    }
}
