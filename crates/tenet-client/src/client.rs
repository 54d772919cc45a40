//! The client: one request path for both eras (per-request `_meta`, MRTR rounds,
//! version retry, timeouts and cancellation) and the version negotiation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tenet_jsonrpc::{ErrorCode, Id, RawJson};
use tenet_protocol::{
    ClientCapabilities, DiscoverResult, Era, Implementation, InitializeResult, InputRequest, LoggingLevel, Method,
    ProtocolVersion, ResultType, ServerCapabilities,
};

use crate::error::{ClientError, Result};
use crate::handler::ClientHandler;
use crate::inbound::{Inbound, ProgressWatch};
use crate::options::{RequestOptions, VersionPin};
use crate::result::RawResult;
use crate::stamp::{Stamp, Stamped, Written, write_once};
use crate::transport::{Outgoing, Transport};
use tenet_protocol::header::HeaderParam;
use tokio::time::Instant;

/// How long telling a server that a request was abandoned may take.
const CANCEL_NOTICE_WAIT: Duration = Duration::from_secs(2);
/// How many input-required rounds one request may take.
const MAX_ROUNDS: usize = 16;

/// The buffer a request is first written into: a call with its 2026 `_meta` fits.
const REQUEST_ROOM: usize = 512;

/// What the server told us about itself.
#[derive(Clone, Debug)]
pub struct ServerDetails {
    /// The protocol version in use.
    pub version: ProtocolVersion,
    /// The server's capabilities.
    pub capabilities: ServerCapabilities,
    /// The server's name and version, if it said.
    pub server_info: Option<Implementation>,
    /// Instructions for the model, if any.
    pub instructions: Option<String>,
    /// 2026-07-28: every version the server supports.
    pub supported_versions: Vec<String>,
    /// The `_meta` of its handshake result: what it added about itself (a Tenet
    /// node's announcement under `io.tenet/node`, say).
    pub meta: Option<tenet_protocol::JsonObject>,
}

/// A connection to one MCP server. Cheap to clone; all clones share the connection.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) transport: Box<dyn Transport>,
    pub(crate) inbound: Arc<Inbound>,
    pub(crate) info: Implementation,
    /// Declared in `initialize` (2025-11-25 and earlier).
    pub(crate) capabilities: ClientCapabilities,
    /// Sent in every 2026-07-28 request's `_meta`: the same, plus the extensions.
    pub(crate) modern_capabilities: ClientCapabilities,
    /// The name and the capabilities above as every 2026-07-28 request's `_meta` carries
    /// them, written once.
    pub(crate) written: WrittenOnce,
    pub(crate) timeout: Duration,
    pub(crate) log_level: Option<LoggingLevel>,
    pub(crate) version: RwLock<ProtocolVersion>,
    pub(crate) details: RwLock<Option<ServerDetails>>,
    pub(crate) next_id: AtomicI64,
    /// Legacy sessions started again after the server forgot the last one.
    pub(crate) renewals: std::sync::atomic::AtomicU64,
    pub(crate) header_params: Mutex<HashMap<String, Vec<HeaderParam>>>,
}

/// JSON the client writes into every 2026-07-28 request, written once (none when it
/// could not be; then it is written each time).
pub(crate) struct WrittenOnce {
    pub(crate) info: Option<Box<RawJson>>,
    pub(crate) capabilities: Option<Box<RawJson>>,
}

impl WrittenOnce {
    pub(crate) fn new(info: &Implementation, capabilities: &ClientCapabilities) -> Self {
        Self { info: write_once(info), capabilities: write_once(capabilities) }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("version", &self.version()).finish_non_exhaustive()
    }
}

/// The newest version in a -32022 error's `data.supported` that we speak.
fn supported_choice(data: Option<&Value>) -> Option<ProtocolVersion> {
    data?.get("supported")?.as_array()?.iter().filter_map(|v| v.as_str().and_then(ProtocolVersion::parse)).max()
}

pub(crate) fn decode<T: DeserializeOwned>(value: Value, what: &str) -> Result<T> {
    serde_json::from_value(value).map_err(|e| ClientError::Protocol(format!("unreadable {what} result: {e}")))
}

impl Client {
    pub(crate) fn next_id(&self) -> i64 {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The protocol version in use.
    pub fn version(&self) -> ProtocolVersion {
        self.inner.version.read().map_or(ProtocolVersion::LATEST, |v| *v)
    }

    /// How many times the legacy session was started again because the server had
    /// forgotten it (HTTP 404): what the old session held there (subscriptions, the
    /// log level) is gone.
    pub fn session_renewals(&self) -> u64 {
        self.inner.renewals.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// What the server said about itself during negotiation.
    pub fn server(&self) -> Option<ServerDetails> {
        self.inner.details.read().ok().and_then(|d| d.clone())
    }

    fn use_version(&self, version: ProtocolVersion) {
        if let Ok(mut v) = self.inner.version.write() {
            *v = version;
        }
        self.inner.transport.set_version(Some(version));
    }

    /// Sends `method` with `params` and returns the complete result's JSON: adds the
    /// 2026 `_meta`, answers input-required rounds with the handler, retries once with
    /// a supported version after -32022, and cancels on timeout.
    ///
    /// # Errors
    /// The server's error, a timeout, a transport failure, or a malformed result.
    pub async fn request(&self, method: &str, params: Value, options: &RequestOptions) -> Result<Value> {
        self.request_raw(method, params, options).await?.into_value()
    }

    /// [`Client::request`], with the result as the server sent it, to be read once
    /// into the caller's own type ([`RawResult::decode`]) or passed on.
    ///
    /// # Errors
    /// As [`Client::request`].
    pub async fn request_raw(&self, method: &str, params: Value, options: &RequestOptions) -> Result<RawResult> {
        let mut params = match params {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => return Err(ClientError::Protocol("params must be an object".into())),
        };
        if let Some(extra) = options.meta.as_ref().filter(|m| !m.is_empty())
            && let Value::Object(meta) = params.entry("_meta").or_insert_with(|| Value::Object(Map::new()))
        {
            for (key, value) in extra {
                meta.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
        // Progress is delivered until the request ends, however it ends (answered,
        // failed, or dropped by its caller).
        let watch = options.progress.as_ref().map(|callback| {
            let token = json!(format!("progress-{}", self.next_id()));
            self.inner.inbound.watch_progress(token, Arc::clone(callback))
        });
        let progress = watch.as_ref().map(ProgressWatch::token);
        // The clock is read once: the first round and a task the request starts end
        // then.
        let deadline = self.deadline(options);
        let mut result = self.rounds(method, &mut params, progress, options, deadline).await;
        if matches!(result, Err(ClientError::SessionExpired)) && method != Method::Initialize.name() {
            tracing::debug!("the session ended; starting a new one");
            result = match Box::pin(self.initialize(self.version())).await {
                Ok(()) => {
                    self.inner.renewals.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    self.rounds(method, &mut params, progress, options, self.deadline(options)).await
                }
                Err(error) => Err(error),
            };
        }
        match result {
            Ok(created) if !options.relay && matches!(created.kind(), Ok(ResultType::Task)) => {
                // Boxed: a rare path, kept out of every request's future.
                let outcome = Box::pin(self.follow_task_until(created.into_value()?, options, deadline)).await?;
                RawResult::from_value(&outcome)
            }
            other => other,
        }
    }

    /// When a request sent now with `options` runs out of time: the options' deadline,
    /// else their timeout (the client's by default) from now.
    pub(crate) fn deadline(&self, options: &RequestOptions) -> Instant {
        options
            .deadline
            .unwrap_or_else(|| tenet_transport::deadline_after(options.timeout.unwrap_or(self.inner.timeout)))
    }

    /// Sends a request until it is answered with something other than a round of
    /// input; the first round ends at `deadline`, each later one (after input was
    /// answered, or a version retry) at [`Client::deadline`] of its own.
    pub(crate) async fn rounds(
        &self,
        method: &str,
        params: &mut Map<String, Value>,
        progress: Option<&Value>,
        options: &RequestOptions,
        deadline: Instant,
    ) -> Result<RawResult> {
        let mut version_retried = false;
        let mut deadline = Some(deadline);
        // Not copied when it is one the protocol names.
        let method_name: std::borrow::Cow<'static, str> =
            Method::from_name(method).map_or_else(|| method.to_owned().into(), |m| m.name().into());
        for _ in 0..MAX_ROUNDS {
            let version = self.version();
            let modern = version.era() == Era::Stateless;
            let stamp = self.stamp(modern, version, progress, options);
            let headers = if modern && self.inner.transport.is_http() {
                self.headers_for(method, params, options)
            } else {
                Vec::new()
            };
            let id = Id::Number(self.next_id());
            // Room for the request as most are, so that writing it seldom grows the buffer.
            let mut body = Vec::with_capacity(REQUEST_ROOM);
            tenet_jsonrpc::write_request_with(&mut body, &id, method, |out| {
                Stamped { params, arguments: options.arguments.as_ref(), stamp }.write(out)
            });
            let outgoing = Outgoing { id: id.clone(), method: method_name.clone(), body, headers, modern };
            let deadline = deadline.take().unwrap_or_else(|| self.deadline(options));
            match self.send_once(outgoing, modern, options, deadline).await {
                Err(ClientError::Server(error))
                    if error.code == ErrorCode::UNSUPPORTED_PROTOCOL_VERSION && modern && !version_retried =>
                {
                    let chosen = supported_choice(error.data.as_ref()).filter(|v| v.era() == Era::Stateless);
                    let Some(chosen) = chosen else {
                        return Err(ClientError::Negotiation(format!(
                            "the server rejected {version}: {}",
                            error.message
                        )));
                    };
                    tracing::debug!(%version, %chosen, "retrying with a version the server supports");
                    self.use_version(chosen);
                    version_retried = true;
                }
                Err(error) => return Err(error),
                Ok(result) => match result.kind()? {
                    ResultType::InputRequired if !options.relay => self.answer_inputs(params, &result, options).await?,
                    _ => return Ok(result),
                },
            }
        }
        Err(ClientError::Protocol(format!("{method} still needed input after {MAX_ROUNDS} rounds")))
    }

    /// What this client adds to a request's `_meta`: in 2026-07-28, the version, the
    /// capabilities (the options', or the connection's), the client's name and the log
    /// level; in any version, the progress token.
    fn stamp<'a>(
        &'a self,
        modern: bool,
        version: ProtocolVersion,
        progress: Option<&'a Value>,
        options: &'a RequestOptions,
    ) -> Stamp<'a> {
        let mut stamp = Stamp { progress, written: options.written_meta.as_deref(), ..Stamp::default() };
        if modern {
            stamp.version = Some(version.as_str());
            stamp.capabilities = Some(match options.capabilities.as_deref() {
                Some(theirs) => Written::Typed(theirs),
                None => Written::of(self.inner.written.capabilities.as_deref(), &self.inner.modern_capabilities),
            });
            stamp.info = Some(Written::of(self.inner.written.info.as_deref(), &self.inner.info));
            stamp.log_level = options.log_level.or(self.inner.log_level);
        }
        stamp
    }

    /// `Mcp-Name` and `Mcp-Param-*` for a 2026 HTTP request.
    fn headers_for(
        &self,
        method: &str,
        params: &Map<String, Value>,
        options: &RequestOptions,
    ) -> Vec<(String, String)> {
        let mut headers = Vec::new();
        let name = match Method::from_name(method) {
            Some(Method::ToolsCall | Method::PromptsGet) => params.get("name"),
            Some(Method::ResourcesRead) => params.get("uri"),
            Some(Method::TasksGet | Method::TasksUpdate | Method::TasksCancel) => params.get("taskId"),
            _ => None,
        };
        if let Some(name) = name.and_then(tenet_protocol::header::encode_value) {
            headers.push(("mcp-name".to_owned(), name));
        }
        if method == Method::ToolsCall.name()
            && let Some(tool) = params.get("name").and_then(Value::as_str)
            && let Some(annotated) = self.inner.header_params.lock().ok().and_then(|m| m.get(tool).cloned())
        {
            let arguments = match &options.arguments {
                // Text cut from JSON read before; one no tree holds gives no headers.
                Some(written) => serde_json::from_str(written.get()).unwrap_or(Value::Null),
                None => params.get("arguments").cloned().unwrap_or(Value::Null),
            };
            headers.extend(tenet_protocol::header::param_headers(&annotated, &arguments));
        }
        headers
    }

    /// Answers an input-required result's requests and prepares the retry's params.
    async fn answer_inputs(
        &self,
        params: &mut Map<String, Value>,
        result: &RawResult,
        options: &RequestOptions,
    ) -> Result<()> {
        let input: tenet_protocol::InputRequiredResult = result.decode("input-required")?;
        let requests = input.input_requests.unwrap_or_default();
        let responses = self.answer_requests(requests, options.handler.as_ref()).await?;
        params.insert("inputResponses".into(), Value::Object(responses));
        match input.request_state {
            Some(state) => params.insert("requestState".into(), Value::String(state)),
            None => params.remove("requestState"),
        };
        Ok(())
    }

    /// Answers a server's input requests with `handler` (or the connection's), by key.
    pub(crate) async fn answer_requests(
        &self,
        requests: impl IntoIterator<Item = (String, InputRequest)>,
        handler: Option<&Arc<dyn ClientHandler>>,
    ) -> Result<Map<String, Value>> {
        let handler = handler.unwrap_or_else(|| self.inner.inbound.handler());
        handler.answer_all(requests.into_iter().collect()).await.map_err(ClientError::Server)
    }

    async fn send_once(
        &self,
        outgoing: Outgoing,
        modern: bool,
        options: &RequestOptions,
        deadline: Instant,
    ) -> Result<RawResult> {
        let id = outgoing.id.clone();
        // An unanswered discover probe is how a legacy server looks; it gets no
        // cancellation before its handshake.
        let probe = outgoing.method == Method::Discover.name();
        let mut scope = self.inner.inbound.scope(&id, options.handler.clone(), options.owner.clone());
        // Dropped before it ends, the request is cancelled on the server too (never
        // `initialize`, which the spec forbids cancelling).
        let cancellable = !probe && outgoing.method != Method::Initialize.name();
        let mut dropped = Dropped { client: cancellable.then_some(self), id: id.clone(), modern };
        let answer = tokio::time::timeout_at(deadline, self.inner.transport.request(outgoing));
        let answer = async {
            match answer.await {
                Ok(answer) => {
                    scope.answered();
                    (answer, None)
                }
                Err(_) => {
                    let timeout = options.timeout.unwrap_or(self.inner.timeout);
                    (Err(ClientError::Timeout(timeout)), Some("timed out"))
                }
            }
        };
        // The caller's token, when there is one, is watched beside the answer, and
        // first: a request cancelled already is not sent.
        let (result, reason) = match options.cancel.as_ref() {
            None => answer.await,
            Some(cancel) => tokio::select! {
                biased;
                () = cancel.cancelled() => (Err(ClientError::Cancelled), Some("cancelled by the caller")),
                answered = answer => answered,
            },
        };
        let client = dropped.client.take();
        if let (Some(client), Some(reason)) = (client, reason) {
            // Boxed: a rare path, kept out of every request's future.
            Box::pin(client.cancelled(&id, modern, reason)).await;
        }
        // What the server wrote back (an error's message and data) never shows the
        // credentials this client sends, on whatever path it came.
        result.map(RawResult::new).map_err(|e| self.inner.transport.clean(e))
    }

    /// Tells the server a request was abandoned: `notifications/cancelled`, except on
    /// 2026 HTTP, where dropping the response stream already said so, and for the
    /// discover probe.
    async fn cancelled(&self, id: &Id, modern: bool, reason: &str) {
        if modern && self.inner.transport.is_http() {
            return;
        }
        let notice = self.notify(Method::Cancelled.name(), json!({"requestId": id, "reason": reason}));
        // A server that does not take it in time is not waited for: the caller has
        // its answer (an error) already.
        let _ = tokio::time::timeout(CANCEL_NOTICE_WAIT, notice).await;
    }

    /// Sends a notification.
    ///
    /// # Errors
    /// When the transport cannot deliver it.
    pub async fn notify(&self, method: &str, params: Value) -> Result<()> {
        let mut body = Vec::new();
        tenet_jsonrpc::write_notification(&mut body, method, &params);
        let modern = self.version().era() == Era::Stateless;
        self.inner.transport.notify(method.to_owned(), body, modern).await
    }

    /// Picks the protocol version with the server.
    pub(crate) async fn negotiate(&self, pin: VersionPin, probe: Duration) -> Result<()> {
        match pin {
            VersionPin::Exact(version) if version.era() == Era::Legacy => self.initialize(version).await,
            VersionPin::Legacy => self.initialize_or_downgrade().await,
            VersionPin::Exact(version) => self.discover(version, None).await,
            VersionPin::Modern => self.discover(ProtocolVersion::LATEST, None).await,
            VersionPin::Auto => {
                let probe = (!self.inner.transport.is_http()).then_some(probe);
                match self.discover(ProtocolVersion::LATEST, probe).await {
                    Ok(()) => Ok(()),
                    Err(error) => {
                        tracing::debug!(%error, "server/discover failed; trying the legacy handshake");
                        self.initialize_or_downgrade().await
                    }
                }
            }
        }
    }

    async fn discover(&self, version: ProtocolVersion, probe: Option<Duration>) -> Result<()> {
        self.use_version(version);
        let options = RequestOptions { timeout: probe, ..RequestOptions::default() };
        let result: DiscoverResult =
            self.request_raw(Method::Discover.name(), json!({}), &options).await?.decode("server/discover")?;
        let current = self.version();
        let chosen = if result.supported_versions.iter().any(|v| v == current.as_str()) {
            current
        } else {
            let offered = result.supported_versions.iter().filter_map(|v| ProtocolVersion::parse(v));
            offered.filter(|v| v.era() == Era::Stateless).max().ok_or_else(|| {
                ClientError::Negotiation(format!(
                    "the server offers no stateless version we speak: {:?}",
                    result.supported_versions
                ))
            })?
        };
        self.use_version(chosen);
        let server_info = result
            .meta
            .as_ref()
            .and_then(|m| m.get(tenet_protocol::SERVER_INFO_KEY))
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        self.set_details(ServerDetails {
            version: chosen,
            capabilities: result.capabilities,
            server_info,
            instructions: result.instructions,
            supported_versions: result.supported_versions,
            meta: result.meta,
        });
        Ok(())
    }

    fn set_details(&self, details: ServerDetails) {
        if let Ok(mut d) = self.inner.details.write() {
            *d = Some(details);
        }
    }

    async fn initialize_or_downgrade(&self) -> Result<()> {
        match self.initialize(ProtocolVersion::LATEST_LEGACY).await {
            Err(ClientError::Http { status: 400 | 404 | 405, .. }) if self.inner.transport.is_http() => {
                tracing::debug!("Streamable HTTP refused; trying HTTP+SSE (2024-11-05)");
                self.inner.transport.downgrade().await?;
                self.initialize(ProtocolVersion::V2024_11_05).await
            }
            other => other,
        }
    }

    async fn initialize(&self, version: ProtocolVersion) -> Result<()> {
        if let Ok(mut v) = self.inner.version.write() {
            *v = version;
        }
        self.inner.transport.set_version(None);
        let params = json!({
            "protocolVersion": version.as_str(),
            "capabilities": self.inner.capabilities,
            "clientInfo": self.inner.info,
        });
        let value = self.request(Method::Initialize.name(), params, &RequestOptions::default()).await?;
        let chosen = value.get("protocolVersion").and_then(Value::as_str).unwrap_or_default().to_owned();
        let Some(negotiated) = ProtocolVersion::parse(&chosen).filter(|v| v.era() == Era::Legacy) else {
            return Err(ClientError::Negotiation(format!(
                "the server chose {chosen:?}, which this client does not speak"
            )));
        };
        let result: InitializeResult = decode(value, "initialize")?;
        self.use_version(negotiated);
        self.set_details(ServerDetails {
            version: negotiated,
            capabilities: result.capabilities,
            server_info: Some(result.server_info),
            instructions: result.instructions,
            supported_versions: Vec::new(),
            meta: result.meta,
        });
        self.notify(Method::Initialized.name(), json!({})).await?;
        self.inner.transport.session_started().await;
        Ok(())
    }

    /// Ends the connection: ends the HTTP session, closes the WebSocket (code 1000,
    /// after the queued messages), or closes the child's stdin and waits for it
    /// (SIGTERM, then SIGKILL, if it lingers).
    pub async fn close(&self) {
        self.inner.transport.close().await;
    }
}

/// A request in flight: dropped before it ended (its caller stopped waiting), it is
/// cancelled on the server in the background.
struct Dropped<'a> {
    client: Option<&'a Client>,
    id: Id,
    modern: bool,
}

impl Drop for Dropped<'_> {
    fn drop(&mut self) {
        let Some(client) = self.client.take().cloned() else { return };
        let (id, modern) = (self.id.clone(), self.modern);
        in_background(async move { client.cancelled(&id, modern, "abandoned by the caller").await });
    }
}

/// Runs `work` on the current runtime, if there is one: what a `Drop` starts to tell
/// the server that the client stopped waiting.
pub(crate) fn in_background(work: impl Future<Output = ()> + Send + 'static) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(work);
    }
}
