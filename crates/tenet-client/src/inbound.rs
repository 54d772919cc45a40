//! Everything the server sends that is not the answer to a request: notifications,
//! progress, and (legacy) server → client requests, routed to the handler that
//! answers them.
//!
//! A request may bring its own handler ([`RequestOptions::handler`]): the server's
//! questions and log messages about that request go to it instead of the
//! connection's. They belong to a request when they arrive on its HTTP response
//! stream. Where the transport cannot say (stdio, WebSocket, HTTP+SSE, a standalone
//! stream), they are taken to be about a request only when it is the one request in
//! flight on the connection, no request with a handler of its own was abandoned
//! (cancelled or timed out), and no request with a handler of its own made for another
//! owner ([`RequestOptions::owner`]) ended, answered or not, in the last
//! [`ABANDONED_GRACE`]: the server may still be working on that one, or speak about it
//! after its answer, and its questions must not reach another caller. Otherwise the
//! connection's handler answers.
//!
//! [`RequestOptions::handler`]: crate::RequestOptions::handler
//! [`RequestOptions::owner`]: crate::RequestOptions::owner

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tenet_jsonrpc::{ErrorObject, Id, Notification, Request, UnknownId};
use tenet_protocol::{LoggingMessageParams, Method, ProgressParams, ResourceUpdatedParams};

use crate::OwnKeyed;
use crate::handler::{ClientHandler, ServerNotification, decode_params};

/// A callback for `notifications/progress` on one request.
pub type ProgressCallback = Arc<dyn Fn(ProgressParams) + Send + Sync>;

/// Routes what the server sends on its own to the application.
pub(crate) struct Inbound {
    handler: Arc<dyn ClientHandler>,
    progress: Mutex<OwnKeyed<String, ProgressCallback>>,
    flight: Mutex<Flight>,
    /// Turns to answer the server's requests, [`MAX_ANSWERING`] in all.
    answering: Arc<tokio::sync::Semaphore>,
    /// How many of those turns each owner's requests hold ([`MAX_ANSWERING_PER_OWNER`]
    /// each), for the server's requests that can be told to be about one of them.
    owners_answering: Arc<Answering>,
    /// Whether a request was refused for want of a turn yet (said once, as a warning).
    refused: std::sync::atomic::AtomicBool,
}

/// How many of the server's requests one connection answers at once (each runs the
/// host's handler in a task of its own): past it, a request is refused at once, so a
/// server that floods requests cannot make the client hold a task for each.
pub(crate) const MAX_ANSWERING: usize = 64;

/// How many of the server's requests about one owner's requests one connection answers
/// at once while another owner uses the connection too (a gateway's `shared` upstream):
/// a quarter of [`MAX_ANSWERING`], so that one caller cannot hold every turn. A
/// connection one owner has to itself gives it all of them.
pub(crate) const MAX_ANSWERING_PER_OWNER: usize = MAX_ANSWERING / 4;

/// How many turns each owner's requests hold.
type Answering = Mutex<std::collections::HashMap<Arc<str>, usize>>;

/// A turn to answer one of the server's requests ([`Inbound::answer_turn`]), given back
/// when dropped.
pub(crate) struct Turn {
    _permit: tokio::sync::OwnedSemaphorePermit,
    owner: Option<(Arc<Answering>, Arc<str>)>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        let Some((owners, owner)) = self.owner.take() else { return };
        let mut owners = owners.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(held) = owners.get_mut(&owner) {
            *held -= 1;
            if *held == 0 {
                owners.remove(&owner);
            }
        }
    }
}

/// How long after a request with its own handler is abandoned the server's
/// unattributable questions and log messages go to no single request.
pub(crate) const ABANDONED_GRACE: Duration = Duration::from_secs(60);

/// How many ended requests' owners are remembered for [`ABANDONED_GRACE`]; past it the
/// connection counts as serving several owners until the grace runs out.
const ENDED_KEPT: usize = 32;

/// A request in flight: its own handler, and whom it is made for.
struct InFlight {
    handler: Option<Arc<dyn ClientHandler>>,
    owner: Option<Arc<str>>,
}

/// The requests in flight, by the id they were sent with, with their own handlers.
#[derive(Default)]
struct Flight {
    requests: OwnKeyed<Id, InFlight>,
    /// When a request with its own handler was last abandoned before its answer.
    abandoned: Option<Instant>,
    /// The owners of requests with handlers of their own that ended lately, oldest
    /// first, and when.
    ended: std::collections::VecDeque<(Option<Arc<str>>, Instant)>,
    /// When `ended` last overflowed: owners were forgotten, so any may have spoken.
    overflowed: Option<Instant>,
}

impl Flight {
    /// Forgets what ended longer than [`ABANDONED_GRACE`] ago.
    fn prune(&mut self, now: Instant) {
        while self.ended.front().is_some_and(|(_, at)| now.duration_since(*at) > ABANDONED_GRACE) {
            self.ended.pop_front();
        }
    }

    /// Whether a message that names no request may be about `request`, the one in
    /// flight: nothing abandoned, and no other owner's request ended, lately.
    fn attributable_to(&self, request: &InFlight, now: Instant) -> bool {
        let recent = |at: Option<Instant>| at.is_some_and(|t| now.duration_since(t) <= ABANDONED_GRACE);
        !recent(self.abandoned)
            && !recent(self.overflowed)
            && self.ended.iter().all(|(owner, at)| owner == &request.owner || now.duration_since(*at) > ABANDONED_GRACE)
    }
}

/// A request in flight, until dropped.
pub(crate) struct Scope<'a> {
    inbound: &'a Inbound,
    id: Id,
    own: bool,
    owner: Option<Arc<str>>,
    answered: bool,
}

impl Scope<'_> {
    /// The answer arrived: the server is done with the request.
    pub(crate) fn answered(&mut self) {
        self.answered = true;
    }
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        if let Ok(mut flight) = self.inbound.flight.lock() {
            flight.requests.remove(&self.id);
            if !self.own {
                return;
            }
            let now = Instant::now();
            if !self.answered {
                flight.abandoned = Some(now);
            }
            flight.prune(now);
            if flight.ended.len() == ENDED_KEPT {
                flight.ended.pop_front();
                flight.overflowed = Some(now);
            }
            flight.ended.push_back((self.owner.take(), now));
        }
    }
}

fn token_key(token: &impl serde::Serialize) -> String {
    serde_json::to_string(token).unwrap_or_default()
}

/// Progress for one request's token, delivered until this is dropped.
pub(crate) struct ProgressWatch<'a> {
    inbound: &'a Inbound,
    token: Value,
}

impl ProgressWatch<'_> {
    /// The token the request carries.
    pub(crate) fn token(&self) -> &Value {
        &self.token
    }
}

impl Drop for ProgressWatch<'_> {
    fn drop(&mut self) {
        if let Ok(mut map) = self.inbound.progress.lock() {
            map.remove(&token_key(&self.token));
        }
    }
}

impl Inbound {
    pub(crate) fn new(handler: Arc<dyn ClientHandler>) -> Self {
        Self {
            handler,
            progress: Mutex::default(),
            flight: Mutex::new(Flight::default()),
            answering: Arc::new(tokio::sync::Semaphore::new(MAX_ANSWERING)),
            owners_answering: Arc::default(),
            refused: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A turn to answer `request` (about request `related`, when the transport knows),
    /// held while it is answered; `None` when the connection already answers
    /// [`MAX_ANSWERING`], or, while another owner uses the connection too,
    /// [`MAX_ANSWERING_PER_OWNER`] about the requests of the owner this one is about
    /// (then [`Inbound::busy`] is the answer, where it can be sent without a task of its
    /// own). The first refusal for want of any turn is a warning; the others, and those
    /// of an owner past its share, are logged at debug level.
    pub(crate) fn answer_turn(&self, request: &Request, related: Option<&Id>) -> Option<Turn> {
        let turn = match self.take_turn(related) {
            Err(owner) => {
                tracing::debug!(method = %request.method, %owner, "refused a server request: its owner holds its share of the turns");
                return None;
            }
            Ok(turn) => turn,
        };
        if turn.is_none() {
            if self.refused.swap(true, std::sync::atomic::Ordering::Relaxed) {
                tracing::debug!(method = %request.method, "refused a server request: {MAX_ANSWERING} are being answered");
            } else {
                tracing::warn!(
                    method = %request.method,
                    "refusing the server's requests past {MAX_ANSWERING} being answered at once (said once)"
                );
            }
        }
        turn
    }

    /// A turn, `Ok(None)` when every turn is taken, or `Err(owner)` when the owner the
    /// request is about holds its share on a connection others use too.
    fn take_turn(&self, related: Option<&Id>) -> Result<Option<Turn>, Arc<str>> {
        let (owner, others_in_flight) = self.owner_of(related);
        let mut owners = self.owners_answering.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(owner) = &owner {
            let contested = others_in_flight || owners.keys().any(|o| o != owner);
            if contested && owners.get(owner).copied().unwrap_or(0) >= MAX_ANSWERING_PER_OWNER {
                return Err(Arc::clone(owner));
            }
        }
        let Ok(permit) = Arc::clone(&self.answering).try_acquire_owned() else { return Ok(None) };
        if let Some(owner) = &owner {
            *owners.entry(Arc::clone(owner)).or_insert(0) += 1;
        }
        Ok(Some(Turn { _permit: permit, owner: owner.map(|o| (Arc::clone(&self.owners_answering), o)) }))
    }

    /// The owner of the request a message is about (of request `related`, or else of
    /// the one request in flight, as [`Inbound::handler_for`] attributes it), and whether
    /// another owner's request is in flight.
    fn owner_of(&self, related: Option<&Id>) -> (Option<Arc<str>>, bool) {
        let Ok(flight) = self.flight.lock() else { return (None, false) };
        let owner = match related {
            Some(id) => flight.requests.get(id).and_then(|r| r.owner.clone()),
            None if flight.requests.len() == 1 => flight
                .requests
                .values()
                .next()
                .filter(|request| flight.attributable_to(request, Instant::now()))
                .and_then(|request| request.owner.clone()),
            None => None,
        };
        let others = owner.as_ref().is_some_and(|o| flight.requests.values().any(|r| r.owner.as_ref() != Some(o)));
        (owner, others)
    }

    /// The encoded refusal of `request`, for want of a turn ([`Inbound::answer_turn`]).
    pub(crate) fn busy(request: &Request) -> Vec<u8> {
        let busy = ErrorObject::internal(format!(
            "The client answers at most {MAX_ANSWERING} requests of this server at once, {MAX_ANSWERING_PER_OWNER} of \
             them about one caller's, and is answering that many already; try again later"
        ));
        encode_answer(&request.id, Err(busy))
    }

    /// The connection's handler.
    pub(crate) fn handler(&self) -> &Arc<dyn ClientHandler> {
        &self.handler
    }

    /// Request `id`, made for `owner`, is in flight while the returned scope lives;
    /// what the server says about it goes to `handler`, when it has one of its own.
    pub(crate) fn scope(&self, id: &Id, handler: Option<Arc<dyn ClientHandler>>, owner: Option<Arc<str>>) -> Scope<'_> {
        let own = handler.is_some();
        if let Ok(mut flight) = self.flight.lock() {
            flight.requests.insert(id.clone(), InFlight { handler, owner: owner.clone() });
        }
        Scope { inbound: self, id: id.clone(), own, owner, answered: false }
    }

    /// The handler for a message about request `related` (when the transport knows),
    /// or else about the one request in flight (see the module's documentation).
    fn handler_for(&self, related: Option<&Id>) -> Arc<dyn ClientHandler> {
        let own = self.flight.lock().ok().and_then(|flight| match related {
            Some(id) => flight.requests.get(id).and_then(|r| r.handler.clone()),
            None if flight.requests.len() == 1 => {
                let request = flight.requests.values().next()?;
                if flight.attributable_to(request, Instant::now()) { request.handler.clone() } else { None }
            }
            None => None,
        });
        own.unwrap_or_else(|| Arc::clone(&self.handler))
    }

    /// Routes progress for `token` to `callback` while the returned watch lives: a
    /// request holds it until it ends, however it ends (answered, failed, or dropped
    /// by its caller).
    pub(crate) fn watch_progress(&self, token: Value, callback: ProgressCallback) -> ProgressWatch<'_> {
        if let Ok(mut map) = self.progress.lock() {
            map.insert(token_key(&token), callback);
        }
        ProgressWatch { inbound: self, token }
    }

    /// Delivers one notification, which arrived on the stream of request `related`
    /// when the transport says. Malformed ones are logged and dropped.
    pub(crate) fn notification(&self, notification: &Notification, related: Option<&Id>) {
        let raw = notification.params.as_deref();
        let delivered = match Method::from_name(&notification.method) {
            Some(Method::Progress) => decode_params::<ProgressParams>(raw).map(|p| {
                let callback = self.progress.lock().ok().and_then(|m| m.get(&token_key(&p.progress_token)).cloned());
                if let Some(callback) = callback {
                    callback(p);
                }
            }),
            Some(Method::ToolsListChanged) => self.emit(ServerNotification::ToolsListChanged),
            Some(Method::PromptsListChanged) => self.emit(ServerNotification::PromptsListChanged),
            Some(Method::ResourcesListChanged) => self.emit(ServerNotification::ResourcesListChanged),
            Some(Method::ResourcesUpdated) => decode_params::<ResourceUpdatedParams>(raw)
                .and_then(|p| self.emit(ServerNotification::ResourceUpdated { uri: p.uri })),
            Some(Method::Message) => decode_params::<LoggingMessageParams>(raw).map(|p| {
                self.handler_for(related).on_notification(ServerNotification::Log(p));
            }),
            _ => {
                let params = raw.and_then(|r| serde_json::from_str(r.get()).ok());
                self.emit(ServerNotification::Other { method: notification.method.clone(), params })
            }
        };
        if let Err(e) = delivered {
            tracing::warn!(method = %notification.method, error = %e.message, "dropped a malformed notification");
        }
    }

    fn emit(&self, notification: ServerNotification) -> Result<(), ErrorObject> {
        self.handler.on_notification(notification);
        Ok(())
    }

    /// Answers a legacy server → client request, which arrived on the stream of
    /// request `related` when the transport says; returns the encoded response line.
    pub(crate) async fn request(&self, request: &Request, related: Option<&Id>) -> Vec<u8> {
        let answer = if request.method == Method::Ping.name() {
            Ok(Value::Object(serde_json::Map::new()))
        } else {
            self.handler_for(related).answer(&request.method, request.params.as_deref()).await
        };
        encode_answer(&request.id, answer)
    }
}

/// Encodes the response to a server → client request, one line.
pub(crate) fn encode_answer(id: &Id, answer: Result<Value, ErrorObject>) -> Vec<u8> {
    let mut out = Vec::new();
    match answer {
        Ok(value) => tenet_jsonrpc::write_result_response(&mut out, id, &value.to_string(), &[]),
        Err(error) => tenet_jsonrpc::write_error_response(&mut out, Some(id), UnknownId::Omit, &error),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::NoHandler;

    #[test]
    fn a_requests_progress_is_forgotten_however_the_request_ends() {
        let inbound = Inbound::new(Arc::new(NoHandler));
        let watched = || inbound.progress.lock().map(|m| m.len()).unwrap_or(0);
        let watch = inbound.watch_progress(serde_json::json!("progress-1"), Arc::new(|_| {}));
        assert_eq!(watch.token(), "progress-1");
        assert_eq!(watched(), 1);
        drop(watch);
        assert_eq!(watched(), 0, "the callback (and what it holds) is let go");
        // A request future dropped mid-way drops its watch with it.
        let pending = async {
            let _watch = inbound.watch_progress(serde_json::json!(7), Arc::new(|_| {}));
            std::future::pending::<()>().await;
        };
        let mut pending = Box::pin(pending);
        let waker = std::task::Waker::noop();
        assert!(pending.as_mut().poll(&mut std::task::Context::from_waker(waker)).is_pending());
        assert_eq!(watched(), 1);
        drop(pending);
        assert_eq!(watched(), 0);
    }

    /// Answers `roots/list` with one root named after it.
    struct Roots(&'static str);

    impl ClientHandler for Roots {
        fn list_roots(
            &self,
        ) -> futures_util::future::BoxFuture<'_, Result<tenet_protocol::ListRootsResult, ErrorObject>> {
            let uri = format!("file:///home/{}", self.0);
            Box::pin(async move { Ok(serde_json::from_value(serde_json::json!({"roots": [{"uri": uri}]})).unwrap()) })
        }
    }

    /// Whose roots a `roots/list` that names no request gets: the answer's text.
    async fn roots_asked(inbound: &Inbound) -> String {
        let request = Request { id: Id::Number(9), method: "roots/list".into(), params: None };
        String::from_utf8(inbound.request(&request, None).await).unwrap()
    }

    fn owner(name: &str) -> Option<Arc<str>> {
        Some(Arc::from(name))
    }

    #[tokio::test]
    async fn a_question_after_another_owners_request_ended_reaches_no_one_in_particular() {
        let inbound = Inbound::new(Arc::new(NoHandler));
        let (alice, bob): (Arc<dyn ClientHandler>, Arc<dyn ClientHandler>) =
            (Arc::new(Roots("alice")), Arc::new(Roots("bob")));
        // Alice's call is answered and ends; the server speaks about it afterwards,
        // while Bob's call is the one in flight.
        let mut scope = inbound.scope(&Id::Number(1), Some(alice.clone()), owner("alice"));
        scope.answered();
        drop(scope);
        let bobs = inbound.scope(&Id::Number(2), Some(bob), owner("bob"));
        let answer = roots_asked(&inbound).await;
        assert!(!answer.contains("bob") && !answer.contains("alice") && answer.contains("error"), "{answer}");
        drop(bobs);

        // Where only Alice's requests ended lately, her next call is hers to be asked about.
        let inbound = Inbound::new(Arc::new(NoHandler));
        let mut scope = inbound.scope(&Id::Number(1), Some(alice.clone()), owner("alice"));
        scope.answered();
        drop(scope);
        let _alices = inbound.scope(&Id::Number(3), Some(alice), owner("alice"));
        let answer = roots_asked(&inbound).await;
        assert!(answer.contains("/home/alice"), "{answer}");
    }

    #[tokio::test]
    async fn without_owners_an_answered_request_does_not_stop_attribution() {
        let inbound = Inbound::new(Arc::new(NoHandler));
        let mut scope = inbound.scope(&Id::Number(1), Some(Arc::new(Roots("first"))), None);
        scope.answered();
        drop(scope);
        let _second = inbound.scope(&Id::Number(2), Some(Arc::new(Roots("second"))), None);
        assert!(roots_asked(&inbound).await.contains("/home/second"), "one application's requests, one after another");
    }

    #[tokio::test]
    async fn too_many_ended_owners_to_remember_stop_attribution_for_the_grace() {
        let inbound = Inbound::new(Arc::new(NoHandler));
        for n in 0..=ENDED_KEPT {
            let mut scope = inbound.scope(&Id::Number(n as i64), Some(Arc::new(Roots("bob"))), owner("bob"));
            scope.answered();
            drop(scope);
        }
        // Every remembered owner is bob, but one was forgotten: it may have been anyone.
        let _bobs = inbound.scope(&Id::Number(100), Some(Arc::new(Roots("bob"))), owner("bob"));
        let answer = roots_asked(&inbound).await;
        assert!(!answer.contains("/home/bob"), "{answer}");
    }

    /// A shared connection (a gateway's `shared` upstream): one owner's requests get a
    /// quarter of the turns to answer the server's questions about them, so another
    /// owner's question is still answered while the first holds all of its own.
    #[test]
    fn one_owners_requests_hold_a_quarter_of_the_answer_turns_and_no_more() {
        let inbound = Inbound::new(Arc::new(NoHandler));
        let question = Request { id: Id::Number(1), method: "elicitation/create".into(), params: None };
        let scopes: Vec<_> = (0..40).map(|n| inbound.scope(&Id::Number(n), None, owner("alice"))).collect();
        // Alone on the connection, alice may take every turn.
        let alone: Vec<Turn> = (0..).map_while(|n| inbound.answer_turn(&question, Some(&Id::Number(n % 40)))).collect();
        assert_eq!(alone.len(), MAX_ANSWERING, "a connection of one owner's is all its own");
        drop(alone);
        let _bobs = inbound.scope(&Id::Number(100), None, owner("bob"));
        let mut alices: Vec<Turn> =
            (0..).map_while(|n| inbound.answer_turn(&question, Some(&Id::Number(n % 40)))).collect();
        assert_eq!(alices.len(), MAX_ANSWERING_PER_OWNER, "alice's share, and no more");
        let bobs = inbound.answer_turn(&question, Some(&Id::Number(100)));
        assert!(bobs.is_some(), "bob is still answered");
        alices.pop();
        let again = inbound.answer_turn(&question, Some(&Id::Number(3)));
        assert!(again.is_some(), "a turn given back is alice's again");
        assert!(inbound.answer_turn(&question, Some(&Id::Number(4))).is_none(), "and her share is full again");
        // Questions about no known owner share what is left of the connection's turns.
        let anyone: Vec<Turn> = (0..).map_while(|_| inbound.answer_turn(&question, None)).collect();
        assert_eq!(anyone.len(), MAX_ANSWERING - MAX_ANSWERING_PER_OWNER - 1);
        drop(scopes);
    }
}
