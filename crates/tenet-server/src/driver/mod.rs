//! The session driver: the one place that knows an MCP session, for every transport.
//!
//! A transport hands the driver what it reads and says where answers go; the driver
//! owns the rest: the lifecycle and era (through routing), the ids in flight and their
//! cancellation, the routing of the client's responses to server → client requests,
//! batch admission, list-changed and resource-updated delivery, and the drain at the
//! end. Stream transports (stdio, in-memory pipes, HTTP+SSE, WebSocket) feed it whole
//! frames with [`Driver::receive`]; Streamable HTTP, whose answers go back on the POST
//! that carried the request, admits requests one by one with [`Driver::admit`].

mod connection;

pub use connection::{Hangup, OUTBOUND_CAPACITY};

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::Poll;

use futures_util::FutureExt;
use futures_util::future::join_all;
use serde_json::json;
use tenet_jsonrpc::{ErrorObject, Id, Incoming, Message, Rejection, Request, UnknownId};
use tenet_protocol::{CancelledParams, Method};
use tokio::sync::{Semaphore, broadcast};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::event::ServerEvent;
use crate::grant::Grant;
use crate::routing::{Answer, Probe, Routed};
use crate::server::Server;
use crate::session::{IN_FLIGHT_RETRY, Link, MAX_IN_FLIGHT, Outbound, Peer, Session, Untracked};

/// A request being served: resolves to its answer, or to [`Cancelled`] when the client
/// cancelled it or the session closed (a cancelled request gets no response).
pub type Pending = Pin<Box<dyn Future<Output = Result<Answer, Cancelled>> + Send>>;

/// A request that was cancelled before it was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancelled {
    /// The request's id.
    pub id: Id,
}

impl Cancelled {
    /// The answer a transport still owes for the cancelled request (an HTTP POST with
    /// nothing streamed yet): -32603 "Request cancelled".
    pub fn answer(&self) -> Answer {
        let error = ErrorObject::new(tenet_jsonrpc::ErrorCode::INTERNAL_ERROR, "Request cancelled");
        Answer::error(Some(&self.id), UnknownId::Omit, &error)
    }
}

/// How a driver serves one client.
#[derive(Debug, Clone, Default)]
pub struct DriverOptions {
    /// Fires when the server shuts down: listen streams end and the client gets no
    /// new work.
    pub shutdown: CancellationToken,
    /// The scopes the client was granted; `None` when the transport does no access
    /// control.
    pub grant: Option<Arc<Grant>>,
    /// Whom the client's requests count against, for rate limits and per-caller bounds
    /// ([`Link::caller`]).
    pub caller: Option<Arc<str>>,
    /// How the server's list changes and resource updates reach the client.
    pub events: Events,
    /// Begins the id of every server → client request (`<prefix>-<n>`), so that
    /// replicas sharing a session never send two with one id and a response can be
    /// told apart as another replica's; `None`: ids are numbers.
    pub request_ids: Option<Arc<str>>,
}

/// How a session's announcements (list changes, resource updates) reach its client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Events {
    /// The driver pushes them onto the connection's channel as they happen (a task
    /// per connection): for transports whose channel is always read.
    #[default]
    Pushed,
    /// The transport pulls them with [`Driver::announcements`] while a client
    /// listens (Streamable HTTP's GET stream); none are kept meanwhile, and an idle
    /// session costs no task.
    Pulled,
}

/// One client's session, whatever carries it.
///
/// ```
/// use std::sync::Arc;
/// use tenet_server::{Driver, DriverOptions, Server};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let server = Server::builder("demo", "1.0.0").build().unwrap();
/// let (out, mut written) = tokio::sync::mpsc::channel(16);
/// let driver = Arc::new(Driver::new(server, out, DriverOptions::default()));
/// driver.receive(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).await;
/// driver.drain().await;
/// let line = written.recv().await.unwrap();
/// assert_eq!(line, b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n");
/// # });
/// ```
#[derive(Debug)]
pub struct Driver {
    server: Server,
    session: Arc<Session>,
    /// The connection's own channel: answers of stream transports, and the
    /// announcements pushed to them. `None` for a session whose requests each bring a
    /// channel of their own ([`Driver::without_connection`]).
    out: Option<Outbound>,
    /// Fires when the server shuts down.
    shutdown: CancellationToken,
    /// The driver's grant ([`DriverOptions::grant`]).
    grant: Option<Arc<Grant>>,
    /// [`DriverOptions::caller`].
    caller: Option<Arc<str>>,
    /// Fires when the session is closed: every request in flight is cancelled.
    closed: CancellationToken,
    /// What only a connection whose events are pushed has ([`Events::Pushed`]); a
    /// session that pulls them (Streamable HTTP) is never drained, only closed, which
    /// cancels its listen streams with the rest of its requests.
    pushed: Option<Box<Pushed>>,
    /// What a stream transport that spawns its handlers needs, made when the first is
    /// spawned: an HTTP session, which never spawns, goes without.
    spawned: OnceLock<Box<Spawned>>,
}

/// The parts of a driver whose connection gets its announcements pushed.
#[derive(Debug)]
struct Pushed {
    /// Fires when the session stops taking work (drain or close): listen streams end
    /// and the announcements stop.
    ending: CancellationToken,
    /// The task pushing list changes and resource updates.
    forwarder: Mutex<Option<JoinHandle<()>>>,
}

/// The parts of a driver that spawns its handlers (stream transports).
#[derive(Debug)]
struct Spawned {
    /// Bounds the requests that run at once.
    limit: Arc<Semaphore>,
    /// The handlers spawned, waited for by [`Driver::drain`].
    tracker: TaskTracker,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Driver {
    /// A driver whose connection writes to `out`. With [`Events::Pushed`], inside a
    /// tokio runtime, it also starts delivering the server's list changes and resource
    /// updates to `out`, once the session is initialized.
    pub fn new(server: Server, out: Outbound, options: DriverOptions) -> Self {
        Self::with(server, Some(out), options)
    }

    /// A driver of a session without a connection of its own (a Streamable HTTP
    /// session): each request brings the channel its answer and messages go to
    /// ([`Driver::admit`]), and the session's announcements are pulled
    /// ([`Driver::announcements`]), so it holds no channel while it idles. It does not
    /// read frames ([`Driver::receive`]).
    pub fn without_connection(server: Server, options: DriverOptions) -> Self {
        debug_assert!(options.events == Events::Pulled, "nowhere to push announcements to");
        Self::with(server, None, options)
    }

    fn with(server: Server, out: Option<Outbound>, options: DriverOptions) -> Self {
        let DriverOptions { shutdown, grant, caller, events, request_ids } = options;
        let session = Arc::new(Session::new(Arc::new(Peer::new(request_ids))));
        let pushed = (events == Events::Pushed).then(|| {
            let ending = shutdown.child_token();
            let runtime = tokio::runtime::Handle::try_current().ok();
            let forwarder = runtime.zip(out.clone()).map(|(runtime, out)| {
                let announcements = Announcements { events: server.events(), session: session.clone() };
                runtime.spawn(forward(announcements, out, ending.clone()))
            });
            Box::new(Pushed { ending, forwarder: Mutex::new(forwarder) })
        });
        Self {
            server,
            session,
            out,
            shutdown,
            grant,
            caller,
            closed: CancellationToken::new(),
            pushed,
            spawned: OnceLock::new(),
        }
    }

    /// The permits of the requests that run at once, and the tracker of the handlers
    /// spawned for a stream transport.
    fn spawned(&self) -> &Spawned {
        self.spawned.get_or_init(|| {
            let max = self.server.shared.config.max_concurrent_requests.max(1);
            Box::new(Spawned { limit: Arc::new(Semaphore::new(max)), tracker: TaskTracker::new() })
        })
    }

    /// The session's state: what `initialize` negotiated, log level, subscriptions.
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// Takes up a session another replica opened, or another replica's changes to its
    /// state; false when the record does not fit this session.
    pub fn restore(&self, record: &crate::store::SessionRecord) -> bool {
        self.session.restore(record, &self.server.shared.subscriptions)
    }

    /// Sets the session's state as another replica left it.
    pub fn apply(&self, state: &crate::store::SessionState) {
        self.session.apply(state, &self.server.shared.subscriptions);
    }

    /// The session's announcements from now on, for a transport that pulls them
    /// ([`Events::Pulled`]).
    pub fn announcements(&self) -> Announcements {
        Announcements { events: self.server.events(), session: self.session.clone() }
    }

    /// Whether a request is being served.
    pub fn is_busy(&self) -> bool {
        self.session.is_busy()
    }

    /// The `id` an error about an unreadable message carries: `null` for sessions that
    /// negotiated a version before 2025-11-25 (JSON-RPC 2.0), none since.
    pub fn unknown_id(&self) -> UnknownId {
        match self.session.negotiated() {
            Some(n) if !n.version.omits_unknown_ids() => UnknownId::Null,
            _ => UnknownId::Omit,
        }
    }

    /// An error response, encoded as one line.
    pub fn error_line(&self, id: Option<&Id>, error: &ErrorObject) -> Vec<u8> {
        let mut line = Vec::with_capacity(128);
        tenet_jsonrpc::write_error_response(&mut line, id, self.unknown_id(), error);
        line
    }

    /// An error response as an [`Answer`], for a transport that owes the client one.
    pub fn error_answer(&self, id: Option<&Id>, error: &ErrorObject) -> Answer {
        Answer::error(id, self.unknown_id(), error)
    }

    fn link(
        &self,
        out: Outbound,
        cancel: CancellationToken,
        grant: Option<Arc<Grant>>,
        caller: Option<Arc<str>>,
    ) -> Link {
        let shutdown = self.pushed.as_ref().map_or(&self.shutdown, |p| &p.ending).clone();
        Link { session: Some(self.session.clone()), out, cancel, shutdown, grant, caller, addr: None }
    }

    /// Takes a request: refuses it at once (its id already in flight),
    /// or routes it now, in the order read, and returns the future that serves it.
    /// Messages its handler sends (progress, log messages, server → client requests)
    /// go to `out`; `grant` and `caller` override the driver's for this request.
    pub fn admit(
        &self,
        request: Request,
        out: Outbound,
        grant: Option<Arc<Grant>>,
        caller: Option<Arc<str>>,
    ) -> Pending {
        let probe = Probe::read(&request);
        let cancel = self.closed.child_token();
        if let Err(untracked) = self.session.track(&request.id, &cancel) {
            let error = match untracked {
                Untracked::Duplicate => {
                    ErrorObject::invalid_request(format!("Invalid Request: id {} is already in flight", request.id))
                }
                Untracked::Full => crate::limits::refused(
                    &format!("Too many requests in flight in this session (at most {MAX_IN_FLIGHT})"),
                    IN_FLIGHT_RETRY,
                ),
            };
            return ready(self.error_answer(Some(&request.id), &error));
        }
        let untrack = Untrack { session: self.session.clone(), id: request.id.clone() };
        let grant = grant.or_else(|| self.grant.clone());
        let caller = caller.or_else(|| self.caller.clone());
        // The link holds the request's token from here on.
        let link = self.link(out, cancel, grant, caller);
        let routed = match probe {
            Ok(probe) => self.server.route_probed(&request, probe, &link),
            Err(e) => Routed::refused(e),
        };
        let server = self.server.clone();
        Box::pin(async move {
            // A request cancelled before it runs is not run. Its first poll comes
            // before its cancellation's: one answered then (most are) never registers a
            // waiter on its token, which costs a lock to register and another to drop.
            // Once it waits, its cancellation is polled first, so that a cancelled
            // request is dropped without running further.
            let answer = if link.cancel.is_cancelled() {
                None
            } else {
                let mut respond = std::pin::pin!(server.respond(request, routed, &link));
                let mut cancelled = std::pin::pin!(link.cancel.cancelled());
                let mut waiting = false;
                std::future::poll_fn(|cx| {
                    if waiting && cancelled.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(None);
                    }
                    match respond.as_mut().poll(cx) {
                        Poll::Ready(answer) => Poll::Ready(Some(answer)),
                        Poll::Pending if waiting => Poll::Pending,
                        Poll::Pending => {
                            waiting = true;
                            cancelled.as_mut().poll(cx).map(|()| None)
                        }
                    }
                })
                .await
            };
            let untrack = untrack.done();
            answer.filter(|_| !link.cancel.is_cancelled()).ok_or(Cancelled { id: untrack })
        })
    }

    /// Takes a response or notification from the client: a response goes to the
    /// server → client request awaiting it, `notifications/cancelled` cancels the
    /// request it names.
    ///
    /// # Errors
    /// -32600 for a response no request of ours awaits, and for a request (which
    /// [`Driver::admit`] takes).
    pub fn accept(&self, message: Message) -> Result<(), ErrorObject> {
        match message {
            Message::Response(response) => {
                let id = response.id.clone();
                if self.session.peer().resolve(response) {
                    return Ok(());
                }
                let id = id.map_or_else(|| "null".to_owned(), |id| id.to_string());
                Err(ErrorObject::invalid_request(format!("Invalid Request: no request with id {id} awaits a response")))
            }
            Message::Notification(notification) => {
                if notification.method == Method::Cancelled.name() {
                    let params = notification.params.as_deref().map_or("{}", |p| p.get());
                    match serde_json::from_str::<CancelledParams>(params) {
                        Ok(CancelledParams { request_id: Some(id), .. }) => {
                            if !self.session.cancel(&id) {
                                tracing::debug!(%id, "cancellation for a request not in flight");
                            }
                        }
                        _ => tracing::debug!("ignored a malformed cancellation"),
                    }
                }
                Ok(())
            }
            Message::Request(_) => Err(ErrorObject::invalid_request("Invalid Request: a request must be admitted")),
        }
    }

    /// Takes a JSON-RPC batch (only sessions that negotiated 2025-03-26 may send one):
    /// its responses and notifications are accepted, its requests admitted (with
    /// `grant` and `caller`, as [`Driver::admit`]'s); an entry
    /// that cannot be read is answered with an error in its place.
    ///
    /// # Errors
    /// -32600 when the session may not send batches.
    pub fn admit_batch(
        &self,
        entries: Vec<Result<Message, Rejection>>,
        out: &Outbound,
        grant: Option<&Arc<Grant>>,
        caller: Option<&Arc<str>>,
    ) -> Result<Vec<Pending>, ErrorObject> {
        if !self.session.negotiated().is_some_and(|n| n.version.allows_batches()) {
            return Err(ErrorObject::invalid_request(
                "Invalid Request: JSON-RPC batches are only allowed in protocol version 2025-03-26",
            ));
        }
        let mut pending = Vec::with_capacity(entries.len());
        for entry in entries {
            match entry {
                Ok(Message::Request(request)) => {
                    pending.push(self.admit(request, out.clone(), grant.cloned(), caller.cloned()));
                }
                Ok(message) => {
                    // A response is never answered, even one nobody awaits (JSON-RPC).
                    if let Err(e) = self.accept(message) {
                        tracing::warn!("ignored a message in a batch: {}", e.message);
                    }
                }
                Err(rejection) => pending.push(ready(self.error_answer(rejection.id.as_ref(), &rejection.error))),
            }
        }
        Ok(pending)
    }

    /// Takes one frame of a stream transport: a message or a batch, answered on the
    /// connection's channel. At most `max_concurrent_requests` requests run at once;
    /// past that this waits, so the transport stops reading.
    pub async fn receive(&self, frame: &[u8]) {
        match tenet_jsonrpc::parse(frame) {
            Err(rejection) => self.send(self.error_line(rejection.id.as_ref(), &rejection.error)).await,
            Ok(Incoming::Single(Message::Request(request))) => self.run(request).await,
            Ok(Incoming::Single(message)) => {
                if let Err(e) = self.accept(message) {
                    tracing::warn!("ignored a message from the client: {}", e.message);
                }
            }
            Ok(Incoming::Batch(entries)) => self.run_batch(entries).await,
        }
    }

    /// Answers a frame longer than the transport allows (-32700).
    pub async fn refuse_oversized(&self, limit: usize) {
        let error = ErrorObject::parse_error(format!("Parse error: message longer than {limit} bytes"));
        self.send(self.error_line(None, &error)).await;
    }

    async fn send(&self, line: Vec<u8>) {
        if let Some(out) = &self.out {
            let _ = out.send(line).await;
        }
    }

    async fn run(&self, request: Request) {
        // Frames come only from a connection, which has its channel.
        let Some(out) = self.out.clone() else { return };
        // `initialize` runs in order, before anything read after it.
        if request.method == Method::Initialize.name() {
            if let Ok(answer) = self.admit(request, out, None, None).await {
                self.send(answer.line).await;
            }
            return;
        }
        let Ok(permit) = self.spawned().limit.clone().acquire_owned().await else { return };
        let mut pending = self.admit(request, out.clone(), None, None);
        // Most requests are answered on their first poll (a ping, a list, a tool that
        // does not wait): those are answered here, without a task of their own. A
        // request that waits goes on as a task, polled again at once by it, with its
        // waker (the first poll's was a no-op one). A panic on the way (a handler's own
        // are results already) ends this request alone, as it would end its task.
        if let Some(polled) = std::panic::AssertUnwindSafe(&mut pending).catch_unwind().now_or_never() {
            drop(permit);
            match polled {
                Ok(Ok(answer)) => {
                    let _ = out.send(answer.line).await;
                }
                Ok(Err(Cancelled { .. })) => {}
                Err(_) => tracing::error!("a request panicked before it was answered"),
            }
            return;
        }
        self.spawned().tracker.spawn(async move {
            if let Ok(answer) = pending.await {
                let _ = out.send(answer.line).await;
            }
            drop(permit);
        });
    }

    async fn run_batch(&self, entries: Vec<Result<Message, Rejection>>) {
        let Some(out) = self.out.clone() else { return };
        let Ok(permit) = self.spawned().limit.clone().acquire_owned().await else { return };
        let pending = match self.admit_batch(entries, &out, None, None) {
            Ok(pending) => pending,
            Err(e) => return self.send(self.error_line(None, &e)).await,
        };
        self.spawned().tracker.spawn(async move {
            let answers: Vec<Answer> = join_all(pending).await.into_iter().filter_map(Result::ok).collect();
            if !answers.is_empty() {
                let _ = out.send(batch_body(&answers)).await;
            }
            drop(permit);
        });
    }

    /// Stops taking work and lets the work in flight finish: listen streams end,
    /// server → client requests still waiting fail, tasks are cancelled, and every
    /// request a stream transport spawned is answered. The connection's channel gets
    /// every answer before this returns.
    pub async fn drain(&self) {
        self.stop();
        if let Some(spawned) = self.spawned.get() {
            spawned.tracker.close();
            spawned.tracker.wait().await;
        }
    }

    /// Ends the session now (the client is gone, or the session was deleted or
    /// expired): every request in flight is cancelled and gets no answer.
    pub async fn close(&self) {
        self.closed.cancel();
        self.drain().await;
    }

    /// Resolves once the session is closed ([`Driver::close`], [`Driver::close_now`]).
    pub fn closed(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.closed.cancelled()
    }

    /// Whether the session was closed.
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// [`Driver::close`] for callers that cannot wait: cancels everything; spawned
    /// handlers end on their own.
    pub fn close_now(&self) {
        self.closed.cancel();
        self.stop();
    }

    fn stop(&self) {
        if let Some(pushed) = &self.pushed {
            pushed.ending.cancel();
        }
        self.session.close();
        if let Some(forwarder) = self.pushed.as_ref().and_then(|p| lock(&p.forwarder).take()) {
            forwarder.abort();
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.closed.cancel();
        self.stop();
    }
}

/// Removes a request from the ids in flight when its future ends or is dropped.
struct Untrack {
    session: Arc<Session>,
    id: Id,
}

impl Untrack {
    /// Removes the id now and hands it back.
    fn done(self) -> Id {
        let id = self.id.clone();
        drop(self);
        id
    }
}

impl Drop for Untrack {
    fn drop(&mut self) {
        self.session.untrack(&self.id);
    }
}

fn ready(answer: Answer) -> Pending {
    Box::pin(std::future::ready(Ok(answer)))
}

/// The answers to a batch as one JSON array line.
pub fn batch_body(answers: &[Answer]) -> Vec<u8> {
    let mut body = Vec::with_capacity(answers.iter().map(|a| a.line.len() + 1).sum::<usize>() + 2);
    body.push(b'[');
    for (i, answer) in answers.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(answer.line.strip_suffix(b"\n").unwrap_or(&answer.line));
    }
    body.extend_from_slice(b"]\n");
    body
}

/// The notifications one session gets for the server's events, as they happen.
#[derive(Debug)]
pub struct Announcements {
    events: broadcast::Receiver<ServerEvent>,
    session: Arc<Session>,
}

impl Announcements {
    /// The next notification for the session, encoded; `None` once the server is gone.
    /// Events missed by a slow reader are skipped: a later list change or update says
    /// the same, but a URL-mode elicitation's completion skipped is not told again
    /// (its client finds out by calling again).
    pub async fn next(&mut self) -> Option<Vec<u8>> {
        loop {
            match self.events.recv().await {
                Ok(event) => {
                    if let Some(line) = notification(&self.session, &event) {
                        return Some(line);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// Delivers a session's announcements to `out` until the session ends.
async fn forward(mut announcements: Announcements, out: Outbound, ending: CancellationToken) {
    loop {
        let line = tokio::select! {
            () = ending.cancelled() => return,
            line = announcements.next() => match line {
                Some(line) => line,
                None => return,
            },
        };
        tokio::select! {
            () = ending.cancelled() => return,
            sent = out.send(line) => if sent.is_err() { return },
        }
    }
}

/// The notification a session gets for an event, if any: list changes go to every
/// initialized session, resource updates only to subscribers, a URL-mode
/// elicitation's completion only to the session whose client was sent it.
fn notification(session: &Session, event: &ServerEvent) -> Option<Vec<u8>> {
    session.negotiated()?;
    let method = match event {
        ServerEvent::ToolsChanged => Method::ToolsListChanged,
        ServerEvent::PromptsChanged => Method::PromptsListChanged,
        ServerEvent::ResourcesChanged => Method::ResourcesListChanged,
        ServerEvent::ResourceUpdated(uri) => {
            if !session.is_subscribed(uri) {
                return None;
            }
            let mut line = Vec::with_capacity(96);
            tenet_jsonrpc::write_notification(&mut line, Method::ResourcesUpdated.name(), &json!({ "uri": uri }));
            return Some(line);
        }
        ServerEvent::ElicitationComplete(id) => {
            if !session.complete_url_step(id) {
                return None;
            }
            let mut line = Vec::with_capacity(96);
            let params = json!({ "elicitationId": id });
            tenet_jsonrpc::write_notification(&mut line, Method::ElicitationComplete.name(), &params);
            return Some(line);
        }
    };
    let mut line = Vec::with_capacity(64);
    tenet_jsonrpc::write_notification(&mut line, method.name(), &json!({}));
    Some(line)
}
