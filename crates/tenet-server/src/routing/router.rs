//! The low level: one request in, one response out. Decides the era, enforces the
//! lifecycle, routes the method, and writes the era's result members.

use std::sync::Arc;

use serde_json::json;
use tenet_jsonrpc::{ErrorCode, ErrorObject, Id, JsonText, RawJson, Request, UnknownId};
use tenet_protocol::{
    CacheScope, ClientCapabilities, DiscoverResult, Era, InitializeParams, InitializeResult, Method, ProtocolVersion,
};
use tracing::Instrument;

use super::probe::{MetaView, Probe};
use super::route::{Call, Called, Freshness, Reply, Route, RouteMeta};
use super::table::Entry;
use crate::body::{Body, OwnMeta};
use crate::handler::{Context, ContextParts, ConversationSeed, Inputs, params};
use crate::observe::{Label, RequestTrace, Watch};
use crate::server::Server;
use crate::session::{Link, Negotiated};

/// A request after routing: how to serve it, or the error it earned. Transports route
/// in the order requests are read, then respond (possibly concurrently).
#[derive(Debug)]
pub struct Routed(pub(crate) Result<Route, (bool, ErrorObject)>);

impl Routed {
    /// A request refused before its era was known (its params could not be read).
    pub(crate) fn refused(error: ErrorObject) -> Self {
        Routed(Err((false, error)))
    }

    /// Whether the request is served in the stateless (2026-07-28) era.
    pub fn is_stateless(&self) -> bool {
        match &self.0 {
            Ok(route) => route.version.era() == Era::Stateless,
            Err((stateless, _)) => *stateless,
        }
    }

    /// The core method, when routing succeeded and the request calls one (`None` too
    /// for a method added to the table, [`crate::MethodDef`]).
    pub fn method(&self) -> Option<Method> {
        self.0.as_ref().ok().and_then(|r| r.method.core())
    }

    /// The protocol version, when routing succeeded.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.0.as_ref().ok().map(|r| r.version)
    }

    /// The error routing produced, if any.
    pub fn error(&self) -> Option<&ErrorObject> {
        self.0.as_ref().err().map(|(_, e)| e)
    }
}

/// An encoded response, with what a transport needs to know about it.
#[derive(Debug)]
pub struct Answer {
    /// The response, one JSON line ending in `\n`.
    pub line: Vec<u8>,
    /// The error code, when the response is an error.
    pub error: Option<ErrorCode>,
    /// Whether it was served in the stateless era.
    pub stateless: bool,
}

impl Answer {
    /// The error response `error` to the request `id` (or, with none, one with the
    /// `unknown` id rule), as an answer of the legacy era.
    pub fn error(id: Option<&Id>, unknown: UnknownId, error: &ErrorObject) -> Self {
        let mut line = Vec::with_capacity(128);
        tenet_jsonrpc::write_error_response(&mut line, id, unknown, error);
        Self { line, error: Some(error.code), stateless: false }
    }
}

/// The version a self-describing request names, if it is one served statelessly: the
/// one check of the 2026-07-28 version rule, shared by routing and the HTTP header
/// rules.
///
/// # Errors
/// -32022 naming the versions served, for any other.
pub fn stateless_version(requested: &str) -> Result<ProtocolVersion, ErrorObject> {
    ProtocolVersion::parse(requested)
        .filter(|v| v.era() == Era::Stateless)
        .ok_or_else(|| unsupported_version(requested))
}

/// The -32022 error for a version we do not serve statelessly.
pub fn unsupported_version(requested: &str) -> ErrorObject {
    let supported: Vec<&str> = ProtocolVersion::stateless().map(ProtocolVersion::as_str).collect();
    ErrorObject::new(ErrorCode::UNSUPPORTED_PROTOCOL_VERSION, format!("Unsupported protocol version: {requested}"))
        .with_data(json!({ "supported": supported, "requested": requested }))
}

impl Server {
    /// Serves one request and returns the encoded response line.
    pub async fn handle_request(&self, request: Request, link: &Link) -> Vec<u8> {
        let routed = self.route(&request, link);
        self.respond(request, routed, link).await.line
    }

    /// Serves a request already routed. Transports route in the order requests are
    /// read (so a request read before `initialize` is refused even if it runs after),
    /// then respond concurrently. `routed` must be what [`Server::route`] (or
    /// [`Server::route_probed`]) made of this very `request`, unchanged since: the
    /// route points into its params.
    ///
    /// Every request is counted and timed in [`Server::metrics`] and logged as one
    /// event under [`crate::REQUEST_TARGET`].
    pub async fn respond(&self, request: Request, mut routed: Routed, link: &Link) -> Answer {
        let sink = self.shared.config.spans.as_deref();
        if let (Some(sink), Ok(route)) = (sink, &mut routed.0) {
            // Spans are exported: every request is traced, continuing the caller's
            // trace or starting one, and sampled by the sink.
            let caller = route.meta.trace.take().and_then(|t| t.caller.clone());
            route.meta.trace = RequestTrace::sampled(sink, caller);
        }
        let (method, trace) = match &routed.0 {
            Ok(route) => (route.method.label(), route.meta.trace.clone()),
            Err(_) => (self.label_of(&request.method), None),
        };
        let watch = Watch::start(&self.shared.metrics, sink, &request, method, trace);
        let (stateless, reply) = match routed.0 {
            Ok(mut route) => {
                let stateless = route.version.era() == Era::Stateless;
                // The one door, whatever transport the request came by; boxed, its
                // future does not size every request's, and a request it has nothing to
                // check (no grant, no rate limits) skips it.
                let admitted = if self.guards(&route, link) {
                    Box::pin(self.admit(&mut route, &request, link)).await
                } else {
                    Ok(())
                };
                let reply = match admitted {
                    Err(refused) => Reply::Err(refused),
                    Ok(()) => {
                        let dispatch = self.dispatch(route, &request, link);
                        match watch.span() {
                            Some(span) => dispatch.instrument(span).await,
                            None => dispatch.await,
                        }
                    }
                };
                (stateless, reply)
            }
            Err((stateless, e)) => (stateless, Reply::Err(e)),
        };
        watch.finish(reply.outcome());
        let error = match &reply {
            Reply::Err(e) => Some(e.code),
            _ => None,
        };
        Answer { line: self.encode(&request.id, stateless, reply), error, stateless }
    }

    /// Works out the era, version and client capabilities of a request.
    pub fn route(&self, request: &Request, link: &Link) -> Routed {
        match Probe::read(request) {
            Ok(probe) => self.route_probed(request, probe, link),
            Err(e) => Routed::refused(e),
        }
    }

    /// [`Server::route`] for a request whose params were already read into `probe`.
    pub fn route_probed(&self, request: &Request, probe: Probe<'_>, link: &Link) -> Routed {
        Routed(self.route_inner(request, probe, link))
    }

    fn route_inner(&self, request: &Request, probe: Probe<'_>, link: &Link) -> Result<Route, (bool, ErrorObject)> {
        // Found once here, for a tool that passes its arguments on as written.
        let params = request.params.as_deref();
        let arguments = probe.arguments().zip(params).and_then(|(value, params)| JsonText::span_of(params, value));
        let plain_name = probe
            .name()
            .filter(|_| probe.is_plain_call())
            .zip(params)
            .and_then(|(name, params)| JsonText::span_of(params, name));
        self.route_era(request, probe, link).map(|route| Route { arguments, plain_name, ..route })
    }

    /// Works out the era, and with it the version and the client's capabilities.
    fn route_era(&self, request: &Request, probe: Probe<'_>, link: &Link) -> Result<Route, (bool, ErrorObject)> {
        let entry = self.shared.methods.get(request.method.as_str());
        let stateless_only = entry.is_some_and(Entry::stateless_only);
        // In an initialized legacy session a 2026-only method is simply unknown.
        if probe.is_stateless() || (stateless_only && !link.session.as_ref().is_some_and(|s| s.is_initialized())) {
            let requested = probe.stateless_version().map_err(|e| (true, e))?;
            let view = probe.meta.unwrap_or_default();
            return self.route_stateless(entry, &request.method, &requested, view).map_err(|e| (true, e));
        }
        let meta = RouteMeta::new(probe.meta.unwrap_or_default());
        self.route_legacy(entry, &request.method, meta, link).map_err(|e| (false, e))
    }

    /// Routes a request `_meta` describes as 2026-07-28 (`requested` is its version).
    fn route_stateless(
        &self,
        entry: Option<&Entry>,
        name: &str,
        requested: &str,
        view: MetaView<'_>,
    ) -> Result<Route, ErrorObject> {
        let client = match view.client_capabilities {
            // Read once for the text a client repeats request after request.
            Some(raw) if raw.starts_with('{') => super::repeated::capabilities(raw, |raw| {
                serde_json::from_str::<ClientCapabilities>(raw)
                    .map_err(|e| ErrorObject::invalid_params(format!("Invalid params: clientCapabilities: {e}")))
            })?,
            _ => return Err(ErrorObject::invalid_params("Invalid params: clientCapabilities must be an object")),
        };
        let version = stateless_version(requested)?;
        let method = entry
            .and_then(|entry| entry.served(Era::Stateless))
            .filter(|method| method.exists_in(version))
            .ok_or_else(|| ErrorObject::method_not_found(name))?;
        // An extension's method that asks it: only for a client that declared the extension.
        if let Called::Added(added) = method
            && added.client_declares
            && let Some((extension, _)) = &added.extension
            && !client.has_extension(extension)
        {
            return Err(crate::error::ToolError::missing_extension(extension).into());
        }
        Ok(Self::stateless_route(method.clone(), version, client, view))
    }

    /// The route of a 2026-07-28 request once its method is known.
    fn stateless_route(
        method: Called,
        version: ProtocolVersion,
        client: Arc<ClientCapabilities>,
        view: MetaView<'_>,
    ) -> Route {
        let meta = RouteMeta::new(view);
        Route {
            method,
            version,
            client,
            log_level: meta.log_level,
            meta,
            arguments: None,
            plain_name: None,
            admitted: None,
        }
    }

    fn route_legacy(
        &self,
        entry: Option<&Entry>,
        name: &str,
        meta: RouteMeta,
        link: &Link,
    ) -> Result<Route, ErrorObject> {
        let method = entry
            .and_then(|entry| entry.served(Era::Legacy))
            .cloned()
            .ok_or_else(|| ErrorObject::method_not_found(name))?;
        let Some(session) = &link.session else {
            return Err(ErrorObject::method_not_found(name));
        };
        let negotiated = session.negotiated();
        let (version, client) = match (&negotiated, method.core()) {
            (_, Some(Method::Initialize)) | (None, Some(Method::Ping)) => {
                (ProtocolVersion::LATEST_LEGACY, Arc::default())
            }
            (None, _) => {
                return Err(ErrorObject::invalid_request(format!(
                    "Invalid Request: {name} before initialize; send initialize first"
                )));
            }
            (Some(n), _) => (n.version, n.client.clone()),
        };
        if !method.exists_in(version) {
            return Err(ErrorObject::method_not_found(name));
        }
        let log_level = Some(session.log_level());
        Ok(Route { method, version, client, log_level, meta, arguments: None, plain_name: None, admitted: None })
    }

    /// Builds the handler context for a routed request.
    pub(crate) fn context(&self, route: &Route, id: &Id, link: &Link, inputs: Option<Inputs>) -> Context {
        let legacy = route.version.era() == Era::Legacy;
        Context::new(ContextParts {
            id: id.clone(),
            method: route.method.core(),
            version: route.version,
            client: route.client.clone(),
            progress_token: route.meta.progress_token.clone(),
            log_level: route.log_level,
            cancel: link.cancel.clone(),
            out: link.out.clone(),
            peer: if legacy { link.session.as_ref().map(|s| s.peer().clone()) } else { None },
            inputs,
            state: self.shared.state.clone(),
            peer_timeout: self.shared.config.client_request_timeout,
            trace: route.meta.trace.clone(),
            spans: self.shared.config.spans.clone(),
            node_path: route.meta.node_path.clone(),
            seed: ConversationSeed {
                store: self.shared.context_store.clone(),
                named: route.meta.context.clone(),
                grant: link.grant.clone(),
                caller: link.caller.clone(),
                addr: link.addr,
                session: if legacy { link.session.clone() } else { None },
            },
        })
    }

    async fn dispatch(&self, route: Route, request: &Request, link: &Link) -> Reply {
        match &route.method {
            Called::Core(core) => {
                let call = Call { server: self, route: &route, request, link, method: core.method };
                core.run(call).reply().await
            }
            // Boxed, as the largest: its future does not size every core request's.
            Called::Added(added) => Box::pin(self.call_added(added.clone(), &route, request, link)).await,
        }
    }

    /// Serves a method added to the table: its handler, given the request's context and
    /// params. A cacheable one's result gets the server's freshness in 2026-07-28, kept
    /// private to a caller with a grant (what it may see is its own).
    async fn call_added(
        &self,
        added: Arc<crate::handler::MethodDef>,
        route: &Route,
        request: &Request,
        link: &Link,
    ) -> Reply {
        let ctx = self.context(route, &request.id, link, None);
        let call = crate::handler::MethodCall { ctx, method: added.name, params: request.params.clone() };
        match added.run(call).await {
            Ok(result) if added.cacheable => {
                let config = &self.shared.config;
                let scope = if link.grant.is_some() { CacheScope::Private } else { config.cache_scope };
                Reply::fresh(&result, Freshness::Own { ttl_ms: config.cache_ttl_ms, scope })
            }
            Ok(result) => Reply::ok(&result),
            Err(e) => Reply::Err(e),
        }
    }

    /// What a request routing refused is counted as: its method, core or added.
    fn label_of(&self, name: &str) -> Label {
        match Method::from_name(name) {
            Some(method) => Label::Core(method),
            None => {
                self.shared.methods.get(name).and_then(|entry| entry.added_name()).map_or(Label::Other, Label::Added)
            }
        }
    }

    pub(super) fn initialize(&self, raw: Option<&RawJson>, link: &Link) -> Reply {
        let params: InitializeParams = match params(raw) {
            Ok(p) => p,
            Err(e) => return e.into(),
        };
        let Some(session) = &link.session else {
            return ErrorObject::method_not_found("initialize").into();
        };
        let version = ProtocolVersion::parse(&params.protocol_version)
            .filter(|v| v.era() == Era::Legacy)
            .unwrap_or(ProtocolVersion::LATEST_LEGACY);
        let negotiated = Negotiated { version, client: Arc::new(params.capabilities), client_info: params.client_info };
        if !session.initialize(negotiated) {
            return ErrorObject::invalid_request("Invalid Request: the session is already initialized").into();
        }
        let mut meta = tenet_protocol::JsonObject::new();
        self.shared.handshake_meta.write(self, &mut meta);
        Reply::ok(&InitializeResult {
            protocol_version: version,
            capabilities: self.shared.capabilities.for_era(Era::Legacy),
            server_info: self.shared.info.clone(),
            instructions: self.shared.instructions(),
            meta: (!meta.is_empty()).then_some(meta),
        })
    }

    pub(super) fn discover(&self) -> Reply {
        let mut meta = tenet_protocol::JsonObject::new();
        meta.insert(tenet_protocol::SERVER_INFO_KEY.into(), json!(self.shared.info));
        self.shared.handshake_meta.write(self, &mut meta);
        Reply::cacheable(&DiscoverResult {
            supported_versions: ProtocolVersion::stateless().map(|v| v.as_str().to_owned()).collect(),
            capabilities: self.shared.capabilities.for_era(Era::Stateless),
            instructions: self.shared.instructions(),
            meta: Some(meta),
        })
    }

    pub(super) fn set_level(&self, raw: Option<&RawJson>, link: &Link) -> Reply {
        let p: tenet_protocol::SetLevelParams = match params(raw) {
            Ok(p) => p,
            Err(e) => return e.into(),
        };
        if let Some(session) = &link.session {
            session.set_log_level(p.level);
        }
        Reply::ok(&json!({}))
    }

    /// Encodes a reply as a response line, adding the era's result members.
    pub(crate) fn encode(&self, id: &Id, stateless: bool, reply: Reply) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        match reply {
            Reply::Err(e) => tenet_jsonrpc::write_error_response(&mut out, Some(id), UnknownId::Omit, &e),
            Reply::Ok { body, .. } if !stateless => {
                tenet_jsonrpc::write_result_response(&mut out, id, &body.json, &[]);
            }
            // Counted apart by `respond`; on the wire, a result like any other.
            Reply::ToolError(reply) => return self.encode(id, stateless, *reply),
            Reply::Ok { body, cacheable } => {
                const COMPLETE: &str = r#""resultType":"complete""#;
                match cacheable {
                    None => self.encode_stateless(&mut out, id, &body, &[COMPLETE]),
                    Some(freshness) => {
                        let config = &self.shared.config;
                        let (ttl_ms, cache_scope) = match freshness {
                            Freshness::Server => (config.cache_ttl_ms, config.cache_scope),
                            Freshness::Own { ttl_ms, scope } => (ttl_ms, scope),
                        };
                        let ttl = format!("\"ttlMs\":{ttl_ms}");
                        let scope = format!("\"cacheScope\":\"{}\"", cache_scope.as_str());
                        self.encode_stateless(&mut out, id, &body, &[COMPLETE, &ttl, &scope]);
                    }
                }
            }
            Reply::InputRequired(body) => {
                self.encode_stateless(&mut out, id, &body, &[r#""resultType":"input_required""#]);
            }
            Reply::Task(body) => self.encode_stateless(&mut out, id, &body, &[r#""resultType":"task""#]),
        }
        out
    }

    /// Writes a 2026-07-28 result with `extra` members and the server's name in its
    /// `_meta` (its own, if it has one).
    fn encode_stateless(&self, out: &mut Vec<u8>, id: &Id, body: &Body, extra: &[&str]) {
        let spliced = match body.meta {
            OwnMeta::Absent => {
                // The era's members (at most three, on the stack), then the server's name.
                let name = self.shared.server_info_member.as_str();
                let mut members = [""; 4];
                let written: Vec<&str>;
                let members = match extra.len() {
                    count @ 0..=3 => {
                        members[..count].copy_from_slice(extra);
                        members[count] = name;
                        &members[..=count]
                    }
                    _ => {
                        written = extra.iter().copied().chain([name]).collect();
                        &written[..]
                    }
                };
                return tenet_jsonrpc::write_result_response(out, id, &body.json, members);
            }
            OwnMeta::At(_) => body.with_meta_entry(&self.shared.server_info_entry),
            OwnMeta::Done => None,
        };
        let json = spliced.as_deref().unwrap_or(&body.json);
        tenet_jsonrpc::write_result_response(out, id, json, extra);
    }
}
