//! One upstream server: its connection, kept alive by heartbeats and restored with
//! backoff when it fails, and what the operator sees of it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde_json::{Value, json};
use tenet_client::oauth::{Authorizer, AuthorizerConfig, ClientCredentials, Grant, SubjectToken};
use tenet_client::{Client, ClientError, ClientHandler, OAuthHook, RequestOptions, ServerNotification, WrittenMeta};
use tenet_jsonrpc::{ErrorCode, ErrorObject, RawJson};
use tenet_protocol::context::ContextId;
use tenet_protocol::{
    AcknowledgedParams, Announcement, ClientCapabilities, Era, JsonObject, ListChanged, ListDigests, Method,
    NODE_PATH_KEY, NodeId, NodePath,
};
use tenet_server::{Context, ServerEvent, WeakServer};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::catalog::{Kinds, Listing, Uris, rewrite_str};
use crate::config::{ClientSecret, GatewayOptions, SessionMode, UpstreamConfig, assertion_key};
use crate::sessions::{Callers, Lease, NoSession, Sessions};

/// Where an upstream stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not connected yet, or reconnecting.
    Connecting,
    /// Connected and answering heartbeats; its tools are listed.
    Up,
    /// Failed; its tools are not listed and calls to it fail at once.
    Down,
    /// A stdio server that kept failing soon after it started (a crash loop): Tenet
    /// gave up on it and does not start it again until Tenet itself restarts.
    Failed,
}

impl State {
    /// Every state, in the order an upstream goes through them.
    pub const ALL: [Self; 4] = [Self::Connecting, Self::Up, Self::Down, Self::Failed];

    /// Its name in `/upstreams` and the metrics' `state` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Up => "up",
            Self::Down => "down",
            Self::Failed => "failed",
        }
    }
}

impl Serialize for State {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

/// The kinds of items an upstream lists: tools, prompts, resources, templates.
pub(crate) const KINDS: usize = 4;

impl Status {
    /// The count of items of `kind` (an index into tools, prompts, resources, templates).
    pub(crate) fn count_mut(&mut self, kind: usize) -> &mut usize {
        match kind {
            0 => &mut self.tools,
            1 => &mut self.prompts,
            2 => &mut self.resources,
            _ => &mut self.templates,
        }
    }
}

/// What `GET /upstreams` and `tenet upstreams` show of one upstream (and `GET /peers`
/// and `tenet peers` of one peer).
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Its name (the namespace); for a peer named by its node id, empty (shown as
    /// `null`) until the id is known.
    #[serde(serialize_with = "empty_as_null")]
    pub name: String,
    /// Whether it is a peer (another Tenet node, a `[[peer]]` table).
    #[serde(skip)]
    pub peer: bool,
    /// Its URL or command line.
    pub target: String,
    /// Where it stands.
    pub state: State,
    /// Whether the gateway is ready only once it is up.
    pub required: bool,
    /// `legacy` or `stateless`, once connected.
    pub era: Option<&'static str>,
    /// The protocol version in use, once connected.
    pub version: Option<&'static str>,
    /// The server's own name and version, once connected.
    pub server: Option<String>,
    /// The node id it announced, when it is a Tenet node.
    pub node: Option<String>,
    /// The digest of everything it lists, as it last announced it (a Tenet node).
    pub digest: Option<String>,
    /// Tools it offers through the gateway.
    pub tools: usize,
    /// Prompts it offers through the gateway.
    pub prompts: usize,
    /// Resources it offers through the gateway.
    pub resources: usize,
    /// Resource templates it offers through the gateway.
    pub templates: usize,
    /// What it listed that the gateway left out (filtered, names taken or invalid,
    /// schemas or templates that are not valid).
    pub left_out: usize,
    /// `left_out` by kind (tools, prompts, resources, templates), as last listed.
    #[serde(skip)]
    pub(crate) left_out_by_kind: [usize; KINDS],
    /// When it last answered a heartbeat (seconds since the Unix epoch).
    pub last_heartbeat: Option<u64>,
    /// How long that heartbeat took, in milliseconds.
    pub latency_ms: Option<f64>,
    /// Heartbeats missed in a row.
    pub missed: u32,
    /// Attempts to reconnect to it (or start its process again) after it failed, whether
    /// or not they succeeded.
    pub restarts: u64,
    /// Relayed requests (tool calls, prompts, reads, completions) by outcome.
    pub calls: Calls,
    /// How its callers' calls reach it, once connected: `per-caller` or
    /// `per-conversation` (a session of their own each), or `shared` (the gateway's one
    /// connection).
    pub session: Option<&'static str>,
    /// The callers' own sessions open there now (a process each for a stdio server).
    pub sessions: usize,
    /// Why it last failed.
    pub last_error: Option<String>,
}

fn empty_as_null<S: serde::Serializer>(name: &str, serializer: S) -> Result<S::Ok, S::Error> {
    if name.is_empty() { serializer.serialize_none() } else { serializer.serialize_str(name) }
}

/// One upstream: its config, its connection while it is up, and its status.
pub struct Upstream {
    pub(crate) config: UpstreamConfig,
    /// Its namespace: from the config, or (a peer without a name) the node id it
    /// announced when first met.
    name: OnceLock<String>,
    /// How its resource URIs read on the gateway.
    pub(crate) uris: Uris,
    /// The `_meta` its results carry when it only names itself there.
    pub(crate) name_only: crate::server_info::NameOnly,
    client: Mutex<Option<Client>>,
    /// The node id it announced when connected, when it is a Tenet node.
    node: Mutex<Option<NodeId>>,
    /// What the gateway last listed of it, and the digests of its lists that listing
    /// matches (a Tenet node announces them): listed again only where they changed.
    pub(crate) listed: Mutex<Listed>,
    /// The gateway's place on the node paths of what it relays.
    pub(crate) hops: Hops,
    status: Mutex<Status>,
    /// Wakes the supervisor: the upstream's lists changed, or a call lost the connection.
    pub(crate) wake: Notify,
    /// What the supervisor is to do when woken: the lists the upstream said changed
    /// since the last re-list ([`Kinds`] bits), and [`CHECK`].
    announced: AtomicU8,
    /// Relayed requests by outcome, in [`Outcome::ALL`] order.
    outcomes: [AtomicU64; Outcome::ALL.len()],
    /// The upstream URIs some downstream client is subscribed to (through the
    /// gateway's URIs for them); the supervisor holds the same subscriptions upstream.
    pub(crate) wanted: watch::Sender<BTreeSet<String>>,
    /// The subscribed URIs whose updates may have been missed (the connection or the
    /// stream of updates was lost) and that are not yet held again.
    owed: Mutex<BTreeSet<String>>,
    /// Told of every `subscriptions/acknowledged` (a 2026-07-28 listen stream is open at
    /// the upstream): a stream replacing another waits for it.
    pub(crate) acknowledged: watch::Sender<()>,
    /// Counts the `notifications/elicitation/complete` it sent (a user finished a step
    /// the upstream sent them to a URL for): calls waiting on such a step try again.
    pub(crate) url_step_done: watch::Sender<u64>,
    /// The gateway's server, told when a subscribed resource changed upstream.
    server: WeakServer,
    /// The OAuth client of `[upstream.oauth]`, made at the first connection and kept
    /// across reconnections (with its token).
    oauth: Mutex<Option<OAuthHook>>,
    /// The callers' own sessions there (see [`crate::sessions`]).
    pub(crate) sessions: Arc<Sessions>,
    /// Whether callers' calls go on sessions of their own, as the connection's era and
    /// the table decide ([`Upstream::session_mode`]); read with every call.
    own_sessions: std::sync::atomic::AtomicBool,
    /// How long a connection may take to open.
    connect_timeout: Duration,
}

/// The gateway's place on the node paths of the requests it relays.
pub(crate) struct Hops {
    /// The gateway's node id.
    pub(crate) node: Option<NodeId>,
    /// The most nodes a relayed request may pass through, the gateway included.
    pub(crate) max: usize,
    /// The `_meta` entry of a request that came from a client: its path, the gateway's
    /// node alone (written once, added to every such request as it is sent).
    pub(crate) alone: Option<Arc<WrittenMeta>>,
    /// What upstream processes do not inherit from the gateway's environment.
    pub(crate) unset_env: Vec<String>,
}

/// The `_meta` of a request this node sends on its own behalf: its path, this node
/// alone.
pub(crate) fn path_alone(me: &NodeId) -> JsonObject {
    JsonObject::from_iter([(NODE_PATH_KEY.to_owned(), json!([me]))])
}

/// How a relayed request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Answered.
    Ok,
    /// Answered with a tool error (`isError`).
    ToolError,
    /// Answered with a JSON-RPC error.
    Error,
    /// Answered with an input-required round (2026-07-28).
    InputRequired,
    /// No answer within the upstream's timeout (the request was cancelled upstream).
    Timeout,
    /// The downstream client cancelled it.
    Cancelled,
    /// The upstream was down, or the connection was lost.
    Unreachable,
}

impl Outcome {
    pub(crate) const ALL: [Self; 7] = [
        Self::Ok,
        Self::ToolError,
        Self::Error,
        Self::InputRequired,
        Self::Timeout,
        Self::Cancelled,
        Self::Unreachable,
    ];

    /// Its name in `/upstreams` and the metrics' `outcome` label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::ToolError => "tool_error",
            Self::Error => "error",
            Self::InputRequired => "input_required",
            Self::Timeout => "timeout",
            Self::Cancelled => "cancelled",
            Self::Unreachable => "unreachable",
        }
    }
}

/// Relayed requests by outcome, as `/upstreams` shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calls([u64; Outcome::ALL.len()]);

impl Calls {
    /// The count of each outcome, by its name (`ok`, `tool_error`, `error`,
    /// `input_required`, `timeout`, `cancelled`, `unreachable`).
    pub fn by_outcome(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Outcome::ALL.iter().zip(self.0).map(|(outcome, count)| (outcome.label(), count))
    }
}

impl Serialize for Calls {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.by_outcome())
    }
}

/// The lists an upstream may announce changes of, and their bits in `announced`.
const ANNOUNCED: [(Kinds, ServerEvent); 3] = [
    (Kinds::TOOLS, ServerEvent::ToolsChanged),
    (Kinds::PROMPTS, ServerEvent::PromptsChanged),
    (Kinds::RESOURCES, ServerEvent::ResourcesChanged),
];

/// The bit in `announced` that asks the supervisor to check the upstream now: send a
/// heartbeat (a lost connection, a broken or reopened listen stream).
const CHECK: u8 = 8;
/// The bit in `announced` that has the supervisor list the lists asked for, whatever
/// the digests say (a name they may take was freed on the gateway).
const FORCE: u8 = 16;

/// What the supervisor was woken for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wake {
    /// The lists the upstream said changed.
    pub(crate) announced: Kinds,
    /// Whether every list is to be listed again, whatever the digests say.
    pub(crate) forced: bool,
    /// Whether the upstream is to be checked now (a heartbeat).
    pub(crate) check: bool,
}

/// What the gateway last listed of an upstream.
#[derive(Default)]
pub(crate) struct Listed {
    /// The listing, marked as the gateway lists it, when every kind was listed.
    pub(crate) listing: Option<Listing>,
    /// The digests of the upstream's lists that the listing matches, when it is a
    /// Tenet node that announces them (an empty digest: that list failed).
    pub(crate) digests: Option<ListDigests>,
    /// The node id it announced when listed.
    pub(crate) node: Option<NodeId>,
}

/// Why a call could not reach an upstream.
#[derive(Debug, thiserror::Error)]
pub enum Unreachable {
    /// The upstream is down. Its message names it but not the reason, which callers of
    /// its tools get: the reason (a host, an authorization server's words) is for
    /// `/upstreams` and the log.
    #[error("upstream {name} is down")]
    Down {
        /// The upstream.
        name: String,
        /// Why, if known.
        reason: Option<String>,
    },
}

/// The lock of `m`, even if a holder panicked (the data stays usable).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Upstream {
    pub(crate) fn new(config: UpstreamConfig, options: &GatewayOptions, server: WeakServer) -> Self {
        let uris = Uris::new(&config.name, options.prefixless);
        let name = OnceLock::new();
        if !config.name.is_empty() {
            let _ = name.set(config.name.clone());
        }
        let status = Status {
            name: config.name.clone(),
            peer: config.peer,
            target: config.target(),
            state: State::Connecting,
            required: config.required,
            era: None,
            version: None,
            server: None,
            node: None,
            digest: None,
            tools: 0,
            prompts: 0,
            resources: 0,
            templates: 0,
            left_out: 0,
            left_out_by_kind: [0; KINDS],
            last_heartbeat: None,
            latency_ms: None,
            missed: 0,
            restarts: 0,
            calls: Calls::default(),
            session: None,
            sessions: 0,
            last_error: None,
        };
        Self {
            config,
            name,
            uris,
            name_only: crate::server_info::NameOnly::default(),
            client: Mutex::new(None),
            node: Mutex::new(None),
            listed: Mutex::new(Listed::default()),
            hops: Hops {
                node: options.node.clone(),
                max: options.max_hops,
                alone: options.node.as_ref().map(|me| Arc::new(WrittenMeta::new(&path_alone(me)))),
                unset_env: options.unset_env.clone(),
            },
            status: Mutex::new(status),
            wake: Notify::new(),
            announced: AtomicU8::new(0),
            outcomes: Default::default(),
            wanted: watch::Sender::new(BTreeSet::new()),
            owed: Mutex::new(BTreeSet::new()),
            acknowledged: watch::Sender::new(()),
            url_step_done: watch::Sender::new(0),
            server,
            oauth: Mutex::new(None),
            sessions: Arc::default(),
            own_sessions: std::sync::atomic::AtomicBool::new(false),
            connect_timeout: options.connect_timeout,
        }
    }

    /// Notes that some downstream client subscribed to the gateway's `uri` (`on`), or
    /// that the last one left; false if `uri` is not one of this upstream's.
    pub(crate) fn want(&self, uri: &str, on: bool) -> bool {
        let Some(original) = self.uris.inward(uri) else { return false };
        self.wanted.send_modify(|wanted| {
            if on {
                wanted.insert(original.into_owned());
            } else {
                wanted.remove(&*original);
            }
        });
        true
    }

    /// The connection, or the stream of the upstream's updates, was lost: what the
    /// gateway's clients are subscribed to may change unseen until it is held again.
    pub(crate) fn lost_updates(&self) {
        *lock(&self.owed) = self.wanted.borrow().clone();
    }

    /// The upstream's `uri` is held again there; if updates to it may have been missed,
    /// its subscribers are told it may have changed (so they read it again).
    pub(crate) fn held_again(&self, uri: &str) {
        let owed = lock(&self.owed).remove(uri);
        if owed && self.wanted.borrow().contains(uri) {
            tracing::debug!(upstream = %self.name(), %uri, "may have changed while not held");
            self.relay_updated(uri);
        }
    }

    /// Tells the gateway's subscribers of the upstream's `uri` that it changed.
    pub(crate) fn relay_updated(&self, uri: &str) {
        if let Some(server) = self.server.upgrade() {
            server.notify_resource_updated(self.uris.outward(uri));
        }
    }

    /// Whether the upstream takes subscriptions to its resources (as it said when
    /// connected).
    pub(crate) fn subscribable(client: &Client) -> bool {
        client.server().and_then(|d| d.capabilities.resources).is_some_and(|r| r.subscribe == Some(true))
    }

    /// Counts a relayed request that ended with `outcome`.
    pub(crate) fn count(&self, outcome: Outcome) {
        self.outcomes[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// What the supervisor was woken for since it last asked.
    pub(crate) fn take_wake(&self) -> Wake {
        let bits = self.announced.swap(0, Ordering::Relaxed);
        Wake { announced: Kinds(bits & Kinds::ALL.0), forced: bits & FORCE != 0, check: bits & CHECK != 0 }
    }

    /// Has the supervisor list everything again: a name it may take was freed.
    pub(crate) fn relist_all(&self) {
        self.wake_for(FORCE);
    }

    /// Wakes the supervisor for `bits` (kinds of lists, [`CHECK`], [`FORCE`]).
    fn wake_for(&self, bits: u8) {
        self.announced.fetch_or(bits, Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// The `list_changed` events the upstream announced for `lists`.
    pub(crate) fn events_of(lists: Kinds) -> impl Iterator<Item = ServerEvent> {
        ANNOUNCED.into_iter().filter(move |(kind, _)| lists.has(*kind)).map(|(_, event)| event)
    }

    fn announce(&self, event: &ServerEvent) {
        let kind = ANNOUNCED.iter().find(|(_, e)| e == event).map_or(Kinds::NONE, |(kind, _)| *kind);
        self.wake_for(kind.0);
    }

    /// Has the supervisor check the upstream now (a heartbeat, and for a Tenet node the
    /// digests of its lists): its connection may be lost, or changes missed.
    pub(crate) fn check_now(&self) {
        self.wake_for(CHECK);
    }

    /// Changes to the upstream's lists may have been missed (a listen stream opened
    /// anew): a Tenet node that announces digests of its lists is checked against
    /// them; any other upstream lists everything again.
    pub(crate) fn missed_changes(&self) {
        let digests = lock(&self.listed).digests.is_some();
        self.wake_for(if digests { CHECK } else { Kinds::ALL.0 });
    }

    /// Its name (the namespace); empty for a peer named by its node id until the id
    /// is known.
    pub fn name(&self) -> &str {
        self.name.get().map_or("", String::as_str)
    }

    /// How logs name it: its name, or (a peer whose node id is not known yet) its URL.
    pub fn label(&self) -> std::borrow::Cow<'_, str> {
        match self.name() {
            "" => std::borrow::Cow::Owned(self.config.target()),
            name => std::borrow::Cow::Borrowed(name),
        }
    }

    /// Whether it is a peer.
    pub fn is_peer(&self) -> bool {
        self.config.peer
    }

    /// Names a peer that has no name of its own after the node id it announced, once
    /// (the caller has checked that a name it already has is this one).
    pub(crate) fn learn_name(&self, name: &str) {
        if self.name.set(name.to_owned()).is_ok() {
            self.uris.name(name);
            self.update(|s| s.name = name.to_owned());
        }
    }

    /// Its status now.
    pub fn status(&self) -> Status {
        let mut status = lock(&self.status).clone();
        status.calls = Calls(std::array::from_fn(|i| self.outcomes[i].load(Ordering::Relaxed)));
        status.sessions = self.sessions.len();
        status
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut Status)) {
        let mut status = lock(&self.status);
        f(&mut status);
        status.left_out = status.left_out_by_kind.iter().sum();
    }

    /// `def` requiring the upstream's scopes.
    pub(crate) fn scoped<D>(&self, def: D, scope: impl Fn(D, String) -> D) -> D {
        self.config.scopes.iter().fold(def, |def, s| scope(def, s.clone()))
    }

    /// The connection, if the upstream is up.
    ///
    /// # Errors
    /// [`Unreachable::Down`] otherwise.
    pub fn client(&self) -> Result<Client, Unreachable> {
        match &*lock(&self.client) {
            Some(client) => Ok(client.clone()),
            None => {
                Err(Unreachable::Down { name: self.name().to_owned(), reason: lock(&self.status).last_error.clone() })
            }
        }
    }

    /// Connects, as the config says: the supervisor's connection.
    pub(crate) async fn connect(self: &Arc<Self>) -> Result<Client, ClientError> {
        self.connect_with(Relay { upstream: Arc::downgrade(self) }, None).await
    }

    /// How callers' calls reach it once it speaks `era`: as its table says, else a
    /// session of their own for an upstream that keeps sessions (the legacy era), the
    /// one connection for a 2026-07-28 upstream, which keeps none (and so every mode
    /// is `shared` there).
    pub(crate) fn session_mode(&self, era: Era) -> SessionMode {
        match era {
            // A connection of the caller's own carries its exchanged token.
            Era::Stateless if !self.exchanges_tokens() => SessionMode::Shared,
            _ => self.config.session.unwrap_or(SessionMode::PerCaller),
        }
    }

    /// Whether callers' calls go with a token of their own, got by token exchange
    /// ([`crate::OAuthClient::token_exchange`]).
    pub(crate) fn exchanges_tokens(&self) -> bool {
        self.config.oauth.as_ref().is_some_and(|oauth| oauth.token_exchange)
    }

    /// Notes the era the upstream's connection speaks: callers' calls go on sessions
    /// of their own from now on, or on the shared connection; returns the mode.
    pub(crate) fn connected_in(&self, era: Era) -> SessionMode {
        let mode = self.session_mode(era);
        self.own_sessions.store(mode != SessionMode::Shared, Ordering::Relaxed);
        mode
    }

    /// Whose session a call made for `ctx` goes on (see [`SessionKey`]); `None`: the
    /// shared connection (the mode is `shared`, or the request came over a transport
    /// with one client, such as stdio, which the upstream's one connection serves alone).
    pub(crate) fn session_key(&self, ctx: &Context) -> Option<SessionKey> {
        if !self.own_sessions.load(Ordering::Relaxed) {
            return None;
        }
        // The conversation's session within its owner's: the owner's length first, so that
        // no owner and conversation split otherwise read the same.
        let within = |owner: &str, id: ContextId| format!("{}:{owner}conversation:{id}", owner.len());
        match ctx.principal_id() {
            Some(principal) => {
                let per_conversation = self.session_mode(Era::Legacy) == SessionMode::PerConversation;
                let mut key = match ctx.conversation_id().filter(|_| per_conversation) {
                    Some(id) => within(principal, id),
                    None => principal.to_owned(),
                };
                if self.exchanges_tokens() {
                    // A caller's token of other scopes (another app of the same user)
                    // gets a session and an exchanged token of its own.
                    let scopes = ctx.granted_scopes().collect::<Vec<_>>().join(" ");
                    key = format!("{}:{key} scopes:{scopes}", key.len());
                }
                Some(SessionKey { key, owner: Arc::from(principal), presented: self.presented(ctx) })
            }
            // No one named: an address may be several people (a proxy, a NAT, a /64), so
            // the session is the client's own conversation (its legacy session's, or one
            // it names of the form a server makes, which cannot be guessed), counted
            // against its address (or against all callers of no known address); by the
            // address alone only a 2026-07-28 request that names no such conversation. A
            // stdio connection's one client, and a request with neither, share the
            // upstream's one connection.
            None => {
                let caller = ctx.caller();
                if caller.as_deref() == Some(tenet_server::STDIO_CALLER) {
                    return None;
                }
                let owner = caller.clone().unwrap_or_else(|| tenet_server::UNNAMED.to_owned());
                let unguessable = ctx.conversation_id().filter(ContextId::is_made);
                let key = match (unguessable, caller) {
                    (Some(id), _) => within(&owner, id),
                    (None, Some(address)) => address,
                    (None, None) => return None,
                };
                Some(SessionKey { key, owner: Arc::from(owner), presented: self.presented(ctx) })
            }
        }
    }

    /// The OAuth token the caller of `ctx` presented, kept with its session when the
    /// upstream takes a token of the caller's by exchange (and otherwise not kept).
    fn presented(&self, ctx: &Context) -> Option<Arc<str>> {
        ctx.presented_token().filter(|_| self.exchanges_tokens()).map(Arc::from)
    }

    /// The session of `key` (see [`Upstream::session_key`]), opened when it has none;
    /// `handler`, the relayed request's own, hears what the upstream says on it outside
    /// any request while the lease lives, and is given the session's tag first (`tagged`).
    pub(crate) async fn lease(
        self: &Arc<Self>,
        key: &SessionKey,
        handler: Weak<dyn ClientHandler>,
        tagged: impl FnOnce(&Arc<str>),
    ) -> Result<Lease, NoSession> {
        let max = self.config.max_sessions();
        let this = Arc::clone(self);
        let presented = key.presented.clone();
        let lease = self
            .sessions
            .lease(&key.key, &key.owner, max, handler, tagged, move |callers, tag| async move {
                // The first exchange is made while connecting, with the caller's token of now.
                let exchange = this.exchanges_tokens().then(|| {
                    presented.iter().for_each(|token| callers.token().set(token));
                    callers.token().clone()
                });
                let relay = SessionRelay { upstream: Arc::downgrade(&this), callers, tag };
                match tokio::time::timeout(this.connect_timeout, this.connect_with(relay, exchange)).await {
                    Ok(connected) => connected,
                    Err(_) => {
                        Err(ClientError::Connect(format!("no session within {} s", this.connect_timeout.as_secs_f64())))
                    }
                }
            })
            .await?;
        // Later exchanges (once the token expires) use the token the caller shows last.
        if let Some(token) = &key.presented {
            lease.token().set(token);
        }
        Ok(lease)
    }

    /// Closes the callers' sessions idle for the table's `session_idle_timeout`.
    pub(crate) fn close_idle_sessions(&self) {
        self.sessions.close_idle(self.config.session_idle_timeout());
    }

    /// Closes every caller's session (the supervisor's connection was lost, or the
    /// gateway stops).
    pub(crate) async fn close_sessions(&self) {
        self.sessions.close_all().await;
    }

    /// A user finished a step the upstream sent them to a URL for (its
    /// `notifications/elicitation/complete`, with `params`): calls waiting on such a
    /// step try again, and a 2025-11-25 client the step went to as it was is told.
    fn url_step_completed(&self, params: Option<&Value>) {
        self.url_step_done.send_modify(|done| *done += 1);
        let id = params.and_then(|p| p.get("elicitationId")).and_then(Value::as_str);
        if let Some((id, server)) = id.zip(self.server.upgrade()) {
            server.url_elicitation_complete(self.uris.outward(id));
        }
    }

    /// Connects as the config says, with `handler` answering the upstream; with the
    /// caller's token (`exchange`), authorized by a token of the caller's, got by token
    /// exchange, rather than by the gateway's own.
    async fn connect_with(
        &self,
        handler: impl ClientHandler + 'static,
        exchange: Option<SubjectToken>,
    ) -> Result<Client, ClientError> {
        let config = &self.config;
        let mut builder = Client::builder()
            .handler(handler)
            .timeout(config.call_timeout())
            .max_message_bytes(config.message_limit())
            .version(config.pin().unwrap_or_default())
            .client_info(tenet_protocol::Implementation::new("tenet-gateway", env!("CARGO_PKG_VERSION")));
        for (name, value) in &config.headers {
            builder = builder.header(name.clone(), value.clone());
        }
        let hook = match exchange {
            // The session's own authorizer: its token is the caller's, and no one else's.
            Some(subject) => Some(OAuthHook::new(Arc::new(self.authorizer(Grant::TokenExchange(subject))?))),
            None => self.oauth_hook()?,
        };
        if let Some(hook) = hook {
            // Each connection gets the authorizer's full count of attempts: failures
            // while the upstream was down (its authorization server unreachable, a
            // refused secret) must not keep it from trying once things are fixed.
            hook.authorizer().record_success().await;
            builder = builder.auth(hook);
        }
        match (&config.command, &config.url) {
            (Some(command), _) => {
                let (program, args) =
                    command.split_first().ok_or_else(|| ClientError::Connect("empty command".into()))?;
                // What it gets of the gateway's environment, less what says who the
                // gateway is, then its own.
                builder = builder.env_clear();
                for (name, value) in config.inherited_env() {
                    builder = builder.env(name, value);
                }
                for name in &self.hops.unset_env {
                    builder = builder.env_remove(name.clone());
                }
                for (name, value) in &config.env {
                    builder = builder.env(name.clone(), value.clone());
                }
                builder.stderr_to_log(self.name()).connect_stdio(program, args).await
            }
            (None, Some(url)) => builder.connect_http(url).await,
            (None, None) => Err(ClientError::Connect("neither command nor url".into())),
        }
    }

    /// The gateway's own OAuth client of `[upstream.oauth]`, if there is one (made once):
    /// the client credentials grant.
    fn oauth_hook(&self) -> Result<Option<OAuthHook>, ClientError> {
        if self.config.oauth.is_none() {
            return Ok(None);
        }
        let mut slot = lock(&self.oauth);
        if let Some(hook) = &*slot {
            return Ok(Some(hook.clone()));
        }
        let hook = OAuthHook::new(Arc::new(self.authorizer(Grant::ClientCredentials)?));
        *slot = Some(hook.clone());
        Ok(Some(hook))
    }

    /// An authorizer of `[upstream.oauth]`'s client, obtaining tokens by `grant`.
    fn authorizer(&self, grant: Grant) -> Result<Authorizer, ClientError> {
        let unusable = |e: &dyn std::fmt::Display| ClientError::Connect(format!("oauth: {e}"));
        let oauth = self.config.oauth.as_ref().ok_or_else(|| unusable(&"no [upstream.oauth] table"))?;
        let mut config = AuthorizerConfig {
            client_name: "tenet-gateway".into(),
            grant,
            request_offline_access: false,
            authorization_server: oauth.authorization_server.clone(),
            ..AuthorizerConfig::default()
        };
        match oauth.credential().map_err(|(_, message)| unusable(&message))? {
            ClientSecret::Secret(secret) => {
                config.pre_registered = Some(ClientCredentials::new(oauth.client_id.clone(), Some(secret)));
            }
            ClientSecret::KeyPem(pem) => {
                let key = assertion_key(&pem).map_err(|e| unusable(&e))?;
                config.pre_registered = Some(ClientCredentials::new(oauth.client_id.clone(), None));
                config.assertion_key = Some(Arc::new(key));
            }
        }
        Authorizer::new(config).map_err(|e| unusable(&e))
    }

    /// Whether the upstream answers `completion/complete` (as it said when connected).
    pub(crate) fn completes(&self) -> bool {
        lock(&self.client).as_ref().and_then(Client::server).is_some_and(|d| d.capabilities.completions.is_some())
    }

    /// Holds `client` as the connection, and the announcement of the node it
    /// connects to (when it is a Tenet node), or none.
    pub(crate) fn set_client(&self, client: Option<Client>, said: Option<&Announcement>) {
        let node = said.map(|said| said.id.clone());
        self.update(|s| {
            s.node = node.as_ref().map(ToString::to_string);
            s.digest = said.map(|said| said.digest.clone());
        });
        *lock(&self.node) = node;
        *lock(&self.client) = client;
    }

    /// The node id the upstream announced, while connected.
    pub(crate) fn node(&self) -> Option<NodeId> {
        lock(&self.node).clone()
    }

    /// The node id the upstream announced, when it is `me` or on `path`.
    pub(crate) fn node_on(&self, me: &NodeId, path: Option<&NodePath>) -> Option<NodeId> {
        let node = lock(&self.node);
        let there = node.as_ref()?;
        (there == me || path.is_some_and(|p| p.contains(there))).then(|| there.clone())
    }

    pub(crate) fn take_client(&self) -> Option<Client> {
        lock(&self.client).take()
    }

    /// One heartbeat: `ping` to a legacy server, `server/discover` to a 2026 one. A
    /// Tenet node answers `server/discover` with its announcement (malformed: an error
    /// saying what is wrong).
    pub(crate) async fn heartbeat(&self, client: &Client, timeout: Duration) -> Result<Heard, ClientError> {
        let started = Instant::now();
        let options = RequestOptions::timeout(timeout);
        let said = match client.version().era() {
            Era::Legacy => {
                client.request(Method::Ping.name(), json!({}), &options).await?;
                Ok(None)
            }
            Era::Stateless => {
                let result = client.request(Method::Discover.name(), json!({}), &options).await?;
                Announcement::from_meta(result.get("_meta").and_then(Value::as_object))
            }
        };
        Ok(Heard { latency: started.elapsed(), said })
    }

    pub(crate) fn heard(&self, heard: &Heard) {
        self.update(|s| {
            s.last_heartbeat = Some(now_secs());
            s.latency_ms = Some(heard.latency.as_secs_f64() * 1000.0);
            s.missed = 0;
            if let Ok(Some(said)) = &heard.said {
                s.digest = Some(said.digest.clone());
            }
        });
    }
}

/// An answered heartbeat.
pub(crate) struct Heard {
    /// How long it took.
    pub(crate) latency: Duration,
    /// What a Tenet node said about itself with it (2026-07-28: `server/discover`).
    pub(crate) said: Result<Option<Announcement>, String>,
}

/// The next wait before reconnecting: `base` doubled per failure, capped, with up to
/// a quarter of it added at random so that many gateways do not retry in step.
pub(crate) fn backoff(options: &GatewayOptions, failures: u32) -> Duration {
    let doubled = options.backoff.saturating_mul(1u32 << failures.min(16));
    let wait = doubled.min(options.max_backoff);
    let mut byte = [0u8; 2];
    let jitter = if getrandom::fill(&mut byte).is_ok() { u32::from(u16::from_le_bytes(byte)) } else { 0 };
    wait + wait / 4 * jitter / u32::from(u16::MAX)
}

/// Answers an upstream's notifications for the gateway: a list change wakes the
/// supervisor, which lists again. It declares what the gateway can pass on to its
/// clients (sampling, elicitation, roots); a question about a relayed call goes to
/// that call's client (`downstream::Downstream`), and one that belongs to no call
/// it can tell is refused here.
struct Relay {
    upstream: std::sync::Weak<Upstream>,
}

/// What the gateway declares to its upstreams it can pass on to its clients.
fn relayed_capabilities() -> ClientCapabilities {
    ClientCapabilities {
        sampling: Some(JsonObject::new()),
        elicitation: Some(JsonObject::from_iter([("form".to_owned(), json!({})), ("url".to_owned(), json!({}))])),
        roots: Some(ListChanged::default()),
        // MCP Apps: their `ui://` resources and tools' `_meta.ui` pass through to the
        // gateway's clients (those that render them do; the others see the tools'
        // ordinary results), in both eras.
        extensions: Some(JsonObject::from_iter([(
            UI_EXTENSION.to_owned(),
            json!({"mimeTypes": ["text/html;profile=mcp-app"]}),
        )])),
        ..ClientCapabilities::default()
    }
}

/// The MCP Apps extension (`io.modelcontextprotocol/ui`, 2026-01-26).
const UI_EXTENSION: &str = "io.modelcontextprotocol/ui";

impl ClientHandler for Relay {
    fn capabilities(&self) -> ClientCapabilities {
        relayed_capabilities()
    }

    fn answer<'a>(&'a self, method: &'a str, _: Option<&'a RawJson>) -> BoxFuture<'a, Result<Value, ErrorObject>> {
        let name = self.upstream.upgrade().map(|u| u.name().to_owned()).unwrap_or_default();
        Box::pin(async move {
            Err(ErrorObject::new(
                ErrorCode::INVALID_REQUEST,
                format!(
                    "the gateway cannot tell which of its clients upstream {name}'s {method} is for: it came \
                     outside a call's response stream while no single call was in flight"
                ),
            ))
        })
    }

    fn on_notification(&self, notification: ServerNotification) {
        let Some(upstream) = self.upstream.upgrade() else { return };
        match notification {
            ServerNotification::ToolsListChanged => upstream.announce(&ServerEvent::ToolsChanged),
            ServerNotification::PromptsListChanged => upstream.announce(&ServerEvent::PromptsChanged),
            ServerNotification::ResourcesListChanged => upstream.announce(&ServerEvent::ResourcesChanged),
            ServerNotification::ResourceUpdated { uri } => upstream.relay_updated(&uri),
            // A 2026 listen stream is open: list again, for changes made before it was,
            // and tell of the subscriptions it holds again.
            ServerNotification::Other { method, params } if method == Method::SubscriptionsAcknowledged.name() => {
                let acknowledged = params.and_then(|p| serde_json::from_value::<AcknowledgedParams>(p).ok());
                let held = acknowledged.and_then(|a| a.notifications.resource_subscriptions);
                for uri in held.iter().flatten() {
                    upstream.held_again(uri);
                }
                upstream.acknowledged.send_replace(());
                upstream.missed_changes();
            }
            ServerNotification::Other { method, params } if method == Method::ElicitationComplete.name() => {
                upstream.url_step_completed(params.as_ref());
            }
            ServerNotification::Log(log) => {
                tracing::info!(upstream = %upstream.label(), level = ?log.level, data = %log.data, "upstream log");
            }
            _ => {}
        }
    }
}

/// Whose session at an upstream a call goes on ([`Upstream::session_key`]).
pub(crate) struct SessionKey {
    /// The session's key: the principal's id (`per-caller`), with the conversation's
    /// (`per-conversation`); for a caller authorization named no one, its own
    /// conversation (a legacy session has one), else its address.
    pub(crate) key: String,
    /// Whom the session counts against (a share of `max_sessions` each): the
    /// principal, else the address.
    pub(crate) owner: Arc<str>,
    /// The OAuth token the caller presented, for an upstream that takes a token of the
    /// caller's by exchange.
    pub(crate) presented: Option<Arc<str>>,
}

/// Answers the upstream on one caller's own session: what it asks or says there outside
/// any one request (a request on a call's own stream goes to that call before this is
/// asked) goes to the caller's one call being relayed; with none, or several (two
/// windows of one user may have different roots), a question is refused and a log
/// message dropped, never passed to anyone else. Lists and subscriptions are the
/// supervisor's connection's business.
struct SessionRelay {
    upstream: Weak<Upstream>,
    callers: Arc<Callers>,
    /// The session's [`Lease::tag`]: the ids of its URL steps are passed on behind it.
    tag: Arc<str>,
}

impl SessionRelay {
    fn nobody(&self, method: &str) -> ErrorObject {
        let name = self.upstream.upgrade().map(|u| u.name().to_owned()).unwrap_or_default();
        ErrorObject::new(
            ErrorCode::INVALID_REQUEST,
            format!(
                "upstream {name} sent {method} on a caller's session while not exactly one of that caller's calls \
                 was in flight"
            ),
        )
    }
}

impl ClientHandler for SessionRelay {
    fn capabilities(&self) -> ClientCapabilities {
        relayed_capabilities()
    }

    fn answer<'a>(&'a self, method: &'a str, params: Option<&'a RawJson>) -> BoxFuture<'a, Result<Value, ErrorObject>> {
        let caller = self.callers.only();
        Box::pin(async move {
            match caller {
                Some(caller) => caller.answer(method, params).await,
                None => Err(self.nobody(method)),
            }
        })
    }

    fn answer_all(
        &self,
        requests: Vec<(String, tenet_protocol::InputRequest)>,
    ) -> BoxFuture<'_, Result<JsonObject, ErrorObject>> {
        let caller = self.callers.only();
        Box::pin(async move {
            match caller {
                Some(caller) => caller.answer_all(requests).await,
                None => {
                    Err(self.nobody(&requests.iter().map(|(_, r)| r.method.as_str()).collect::<Vec<_>>().join(", ")))
                }
            }
        })
    }

    fn on_notification(&self, notification: ServerNotification) {
        match notification {
            ServerNotification::Log(log) => match self.callers.only() {
                Some(caller) => caller.on_notification(ServerNotification::Log(log)),
                None => {
                    tracing::debug!(level = ?log.level, "a log message on a caller's session outside its calls, dropped");
                }
            },
            ServerNotification::Other { method, mut params } if method == Method::ElicitationComplete.name() => {
                if let Some(upstream) = self.upstream.upgrade() {
                    if let Some(params) = &mut params {
                        tag_step(params, &self.tag);
                    }
                    upstream.url_step_completed(params.as_ref());
                }
            }
            _ => {}
        }
    }
}

/// Puts `tag` (a caller's session's, [`Lease::tag`]) before the `elicitationId` of `step`
/// (a URL step an upstream asked for or said is done on that session).
pub(crate) fn tag_step(step: &mut Value, tag: &str) {
    rewrite_str(step.get_mut("elicitationId"), |id| format!("{tag}{id}"));
}

/// Ends when `cancel` fires.
pub(crate) async fn sleep_or_cancel(wait: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = cancel.cancelled() => false,
        () = tokio::time::sleep(wait) => true,
    }
}

/// Whether the connection itself is gone (no point in waiting for more heartbeats).
pub(crate) fn is_gone(error: &ClientError) -> bool {
    matches!(
        error,
        ClientError::Closed(_) | ClientError::Connect(_) | ClientError::Io(_) | ClientError::WebSocketClosed { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_with_bounded_jitter() {
        let options = GatewayOptions {
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            ..GatewayOptions::default()
        };
        for (failures, base) in [(0, 100), (1, 200), (2, 400), (3, 800), (4, 1000), (30, 1000)] {
            let wait = backoff(&options, failures).as_millis();
            assert!((base..=base + base / 4).contains(&wait), "after {failures} failures: {wait} ms");
        }
    }
}
