//! The gateway: a supervisor per upstream, and the catalog that lists their tools on
//! the server under their namespaces.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenet_client::ClientError;
use tenet_protocol::{
    Announcement, JsonObject, ListDigests, Prompt, Reference, Resource, ResourceTemplate, Tool, VIA_KEY,
};
use tenet_server::{BuildError, PromptDef, ResourceDef, Server, TemplateDef, ToolDef};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::catalog::{Kinds, Listing, Owners, Placed, owned_by, place, settle};
use crate::config::{GatewayOptions, UpstreamConfig};
use crate::forward::{self, Target};
use crate::name::advertised;
use crate::node::{self, Members};
use crate::sessions::close;
use crate::subscription::{Listening, keep_subscribed, listen};
use crate::upstream::{KINDS, State, Status, Upstream, backoff, is_gone, lock, sleep_or_cancel};

/// How long a burst of `list_changed` from one upstream is gathered into one re-list.
const DEBOUNCE: Duration = Duration::from_millis(100);
/// How much longer than an upstream's own timeout the gateway lets a call to it run.
const TIMEOUT_MARGIN: Duration = Duration::from_secs(2);

/// Tenet in front of other MCP servers: their tools listed on `server` under their
/// namespaces, kept in step with their state.
///
/// ```no_run
/// use tenet_gateway::{Gateway, GatewayOptions, UpstreamConfig};
/// use tenet_server::Server;
///
/// # async fn run() {
/// let server = Server::builder("gateway", "1.0.0").dynamic().tasks().build().unwrap();
/// let upstream: UpstreamConfig = toml::from_str(r#"
///     name = "everything"
///     command = ["npx", "-y", "@modelcontextprotocol/server-everything"]
/// "#).unwrap();
/// let gateway = Gateway::start(server.clone(), vec![upstream], GatewayOptions::default());
/// // serve `server` on any transport; `gateway.statuses()` is what `/upstreams` shows.
/// # gateway.shutdown().await;
/// # }
/// ```
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    server: Server,
    options: GatewayOptions,
    /// Where the upstreams' skills are mounted beside the server's own, when it serves
    /// the Skills extension.
    skills: Option<Arc<tenet_skills::Skills>>,
    upstreams: Vec<Arc<Upstream>>,
    /// Which upstream each advertised name belongs to.
    names: Mutex<Names>,
    /// The peers admitted now, by node id.
    members: Mutex<Members>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// Who owns each advertised name, by kind.
#[derive(Default)]
struct Names {
    tools: Owners,
    prompts: Owners,
    resources: Owners,
    templates: Owners,
}

impl Gateway {
    /// Starts a supervisor per upstream (inside a tokio runtime): each connects, lists
    /// its tools on `server`, sends heartbeats, and reconnects when it fails.
    pub fn start(server: Server, upstreams: Vec<UpstreamConfig>, options: GatewayOptions) -> Self {
        Self::start_with_skills(server, upstreams, options, None)
    }

    /// [`Gateway::start`], the skills of every upstream that serves the Skills extension
    /// mounted on `skills` (the server's own, whose methods `server` serves): listed
    /// under `skill://<upstream>/…` beside the server's, with their digests as the
    /// upstream gives them, `skills/get` and directory reads relayed to the upstream,
    /// and taken away while it is down.
    pub fn start_with_skills(
        server: Server,
        upstreams: Vec<UpstreamConfig>,
        options: GatewayOptions,
        skills: Option<Arc<tenet_skills::Skills>>,
    ) -> Self {
        let upstreams: Vec<Arc<Upstream>> =
            upstreams.into_iter().map(|c| Arc::new(Upstream::new(c, &options, server.downgrade()))).collect();
        // A downstream subscription to an upstream's resource is held at the upstream
        // for as long as some client holds it here.
        let watched: Vec<_> = upstreams.iter().map(Arc::downgrade).collect();
        let subscribed = watched.clone();
        server.on_subscription(move |uri, on| {
            subscribed.iter().filter_map(std::sync::Weak::upgrade).any(|u| u.want(uri, on));
        });
        // A call to a tool of an upstream that is down says so, not only that the tool is
        // unknown (its tools are out of the lists until it is back). Only the state: the
        // reason (a host, an authorization server's words) is for /upstreams and the log,
        // and any caller may ask, whatever its scopes.
        let owners = watched.clone();
        let (separator, prefixless) = (options.separator.clone(), options.prefixless);
        server.explain_absent_tools(move |tool| {
            // The longest name that begins the tool's: `a__b` owns `a__b__x`, not `a`.
            let owner = owners.iter().filter_map(std::sync::Weak::upgrade).filter(|u| {
                prefixless
                    || (!u.name().is_empty() && tool.strip_prefix(u.name()).is_some_and(|t| t.starts_with(&*separator)))
            });
            let owner = owner.max_by_key(|u| u.name().len())?;
            let state = owner.status().state;
            (state != State::Up).then(|| format!("upstream {} is {}", owner.name(), state.label()))
        });
        let inner = Arc::new(Inner {
            server,
            options,
            skills,
            upstreams,
            names: Mutex::new(Names::default()),
            members: Mutex::new(Members::default()),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        });
        inner.server.metrics().register_collector(Box::new(crate::metrics::UpstreamCollector(watched)));
        for index in 0..inner.upstreams.len() {
            inner.tasks.spawn(Inner::supervise(inner.clone(), index));
        }
        inner.tasks.close();
        Self { inner }
    }

    /// Every upstream's status, in config order.
    pub fn statuses(&self) -> Vec<Status> {
        self.inner.upstreams.iter().map(|u| u.status()).collect()
    }

    /// Whether every required upstream is up.
    pub fn is_ready(&self) -> bool {
        self.inner.upstreams.iter().all(|u| !u.config.required || u.status().state == State::Up)
    }

    /// Waits until every required upstream is up, at most `timeout`; returns whether
    /// they are.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.is_ready() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Stops the supervisors and closes every upstream connection (stdio servers are
    /// asked to exit, then stopped).
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        self.inner.tasks.wait().await;
    }
}

impl Inner {
    async fn supervise(self: Arc<Self>, index: usize) {
        let upstream = self.upstreams[index].clone();
        // Failed starts in a row: connections that failed, or that were lost before the
        // upstream had been up for `stable_after`.
        let mut failures = 0u32;
        // The failure last logged as a warning, until the upstream is up again: the
        // same one on a retry is told once (it stays on /upstreams), so that a server
        // that stays away fills no log.
        let mut told: Option<String> = None;
        let connect_timeout = self.options.connect_timeout;
        while !self.shutdown.is_cancelled() {
            upstream.update(|s| s.state = State::Connecting);
            // Start, handshake and first listing, all before one deadline; a client that
            // connected but did not list in time is closed.
            let deadline = tokio::time::Instant::now() + connect_timeout;
            let late = || {
                let steps =
                    if upstream.config.command.is_some() { "process, handshake" } else { "connection, handshake" };
                format!("not started within {} s ({steps}, first listing)", connect_timeout.as_secs_f64())
            };
            let start = async {
                let client = match tokio::time::timeout_at(deadline, upstream.connect()).await {
                    Ok(connected) => connected.map_err(|e| e.to_string())?,
                    Err(_) => return Err(late()),
                };
                let said = match self.admit(index, &client) {
                    Ok(said) => said,
                    Err(refused) => {
                        close(client).await;
                        return Err(refused);
                    }
                };
                let listing = self.first_listing(&upstream, &client, said.as_ref());
                let failed = match tokio::time::timeout_at(deadline, listing).await {
                    Ok(Ok(listing)) => return Ok((client, said, listing)),
                    Ok(Err(e)) => format!("listing failed: {e}"),
                    Err(_) => late(),
                };
                self.leave(index);
                close(client).await;
                Err(failed)
            };
            let started = tokio::select! {
                () = self.shutdown.cancelled() => break,
                started = start => started,
            };
            let reason = match started {
                Ok((client, said, listing)) => {
                    told = None;
                    let up_since = tokio::time::Instant::now();
                    // Before its connection is used or its tools listed: their first calls
                    // go where they belong.
                    let mode = upstream.connected_in(client.version().era());
                    upstream.set_client(Some(client.clone()), said.as_ref());
                    let [tools, prompts, resources, templates] = listing.counts();
                    // Listed before it counts as up: a gateway that says it is ready
                    // (`/ready`) serves the upstream's tools already.
                    self.publish(index, listing);
                    // Any URI under its prefix is read from it, listed or not (a link in a
                    // tool's result, say), for as long as it is connected.
                    self.server.change_hidden_templates(&[], catch_all(&upstream));
                    upstream.update(|s| {
                        let version = client.version();
                        s.state = State::Up;
                        s.era = Some(match version.era() {
                            tenet_protocol::Era::Legacy => "legacy",
                            tenet_protocol::Era::Stateless => "stateless",
                        });
                        s.version = Some(version.as_str());
                        s.session = Some(mode.label());
                        s.server =
                            client.server().and_then(|d| d.server_info).map(|i| format!("{} {}", i.name, i.version));
                        s.missed = 0;
                    });
                    // Its instructions for the model join the gateway's, under its name,
                    // for as long as it is up.
                    let instructions = client.server().and_then(|d| d.instructions);
                    if !upstream.name().is_empty() {
                        self.server.set_instructions_part(upstream.name(), instructions.as_deref());
                    }
                    tracing::info!(upstream = %upstream.label(), tools, prompts, resources, templates, "upstream is up");
                    let reason = self.watch(&upstream, index, &client).await;
                    if up_since.elapsed() >= self.options.stable_after {
                        failures = 0;
                    }
                    self.withdraw(index);
                    self.leave(index);
                    self.server.set_instructions_part(upstream.name(), None);
                    upstream.set_client(None, None);
                    upstream.lost_updates();
                    // The callers' sessions go with it: a server that restarted holds
                    // none of them, and its calls are refused until it is back.
                    upstream.close_sessions().await;
                    close(client).await;
                    match reason {
                        Some(reason) => reason,
                        None => break,
                    }
                }
                Err(reason) => reason,
            };
            failures = failures.saturating_add(1);
            if let Some(limit) = upstream.config.restart_limit()
                && failures > limit
            {
                let reason = if limit == 0 {
                    format!("failed, and max_restarts = 0: not started again until Tenet restarts. Last: {reason}")
                } else {
                    format!(
                        "crash loop: restarted {limit} time{} (max_restarts), and each time it failed within {} s \
                         of starting; not started again until Tenet restarts. Last: {reason}",
                        if limit == 1 { "" } else { "s" },
                        self.options.stable_after.as_secs()
                    )
                };
                tracing::error!(upstream = %upstream.label(), %reason, "upstream given up");
                upstream.update(|s| {
                    s.state = State::Failed;
                    s.last_error = Some(reason);
                });
                break;
            }
            let wait = backoff(&self.options, failures - 1);
            if told.as_ref() == Some(&reason) {
                tracing::debug!(upstream = %upstream.label(), attempts = failures, retry_in = ?wait, "upstream still down");
            } else {
                tracing::warn!(upstream = %upstream.label(), %reason, retry_in = ?wait, "upstream is down");
                told = Some(reason.clone());
            }
            upstream.update(|s| {
                s.state = State::Down;
                s.last_error = Some(reason);
                s.restarts += 1;
            });
            if !sleep_or_cancel(wait, &self.shutdown).await {
                break;
            }
        }
        upstream.close_sessions().await;
        if let Some(client) = upstream.take_client() {
            close(client).await;
        }
    }

    /// Keeps an upstream's connection under watch until it fails (returns why) or the
    /// gateway stops (returns `None`): heartbeats at the interval, a re-list when its
    /// tools change.
    async fn watch(&self, upstream: &Arc<Upstream>, index: usize, client: &tenet_client::Client) -> Option<String> {
        // A 2026 server tells of list changes only on a `subscriptions/listen` stream;
        // it is closed when the watch ends.
        let listening = CancellationToken::new();
        let _stop_listening = listening.clone().drop_guard();
        let lists_changes = client.server().is_some_and(|d| {
            let caps = d.capabilities;
            caps.tools.is_some_and(|c| c.list_changed == Some(true))
                || caps.prompts.is_some_and(|c| c.list_changed == Some(true))
                || caps.resources.is_some_and(|c| c.list_changed == Some(true))
        });
        let subscribes = Upstream::subscribable(client);
        match client.version().era() {
            tenet_protocol::Era::Stateless if lists_changes || subscribes => {
                let wanted = subscribes.then(|| upstream.wanted.subscribe());
                let listening = Listening { upstream: Arc::clone(upstream), stop: listening };
                self.tasks.spawn(listen(client.clone(), listening, wanted, self.options.heartbeat));
            }
            tenet_protocol::Era::Legacy if subscribes => {
                let listening = Listening { upstream: Arc::clone(upstream), stop: listening };
                let wanted = upstream.wanted.subscribe();
                self.tasks.spawn(keep_subscribed(client.clone(), listening, wanted, self.options.heartbeat));
            }
            _ => {}
        }
        // A Tenet node of 2026-07-28 tells the digests of its lists with every
        // heartbeat: it is listed again where they changed, and only there.
        let by_digest =
            client.version().era() == tenet_protocol::Era::Stateless && lock(&upstream.listed).digests.is_some();
        let mut tick = tokio::time::interval(self.options.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return None,
                _ = tick.tick() => upstream.close_idle_sessions(),
                () = upstream.wake.notified() => {
                    // A burst of list changes (or failed calls) is one re-list.
                    if !sleep_or_cancel(DEBOUNCE, &self.shutdown).await {
                        return None;
                    }
                    let wake = upstream.take_wake();
                    // A name freed on the gateway: everything is listed again. Lists the
                    // upstream said changed: those, unless a node's digests will tell.
                    let lists = if wake.forced { Kinds::ALL } else if by_digest { Kinds::NONE } else { wake.announced };
                    if !lists.is_empty() {
                        match self.refresh(index, client, lists, None, wake.announced).await {
                            Err(e) if is_gone(&e) => return Some(e.to_string()),
                            Err(e) => tracing::warn!(upstream = %upstream.label(), error = %e, "re-listing failed"),
                            Ok(()) => {}
                        }
                        if !wake.check {
                            continue;
                        }
                    }
                    // Otherwise, or besides, the upstream is checked now: a heartbeat, and
                    // for a node the digests of its lists.
                }
            }
            let timeout = self.options.heartbeat.min(upstream.config.call_timeout());
            match upstream.heartbeat(client, timeout).await {
                Ok(heard) => {
                    upstream.heard(&heard);
                    if let Some(reason) = self.follow_digests(index, client, heard.said, by_digest).await {
                        return Some(reason);
                    }
                }
                Err(e) if is_gone(&e) => return Some(e.to_string()),
                Err(e) => {
                    let mut missed = 0;
                    upstream.update(|s| {
                        s.missed += 1;
                        missed = s.missed;
                    });
                    tracing::warn!(upstream = %upstream.label(), missed, error = %e, "missed heartbeat");
                    if missed >= self.options.failures {
                        return Some(format!("{missed} heartbeats missed; last: {e}"));
                    }
                }
            }
        }
    }

    /// What a node said with a heartbeat: the lists whose digests changed are listed
    /// again. Returns why the connection must be made anew: it announces another node
    /// id than when it was admitted, or (a peer) nothing valid.
    async fn follow_digests(
        &self,
        index: usize,
        client: &tenet_client::Client,
        said: Result<Option<Announcement>, String>,
        by_digest: bool,
    ) -> Option<String> {
        let upstream = &self.upstreams[index];
        let said = match said {
            Ok(Some(said)) => said,
            Ok(None) if upstream.is_peer() && client.version().era() == tenet_protocol::Era::Stateless => {
                return Some(format!("it no longer announces {}", tenet_protocol::NODE_KEY));
            }
            Ok(None) => return None,
            Err(e) if upstream.is_peer() => return Some(e),
            Err(_) => return None,
        };
        if let Some(node) = upstream.node()
            && node != said.id
        {
            return Some(format!("it announces node id {} now, not {node}", said.id));
        }
        let (Some(now), true) = (&said.lists, by_digest) else { return None };
        let changed = match &lock(&upstream.listed).digests {
            Some(known) => Kinds::changed(known, now),
            None => Kinds::ALL,
        };
        if changed.is_empty() {
            return None;
        }
        tracing::debug!(upstream = %upstream.label(), lists = changed.0, "the node's lists changed: listing them again");
        match self.refresh(index, client, changed, Some(&said), Kinds::NONE).await {
            Err(e) if is_gone(&e) => Some(e.to_string()),
            Err(e) => {
                tracing::warn!(upstream = %upstream.label(), error = %e, "re-listing failed");
                None
            }
            Ok(()) => None,
        }
    }

    /// Admits the server `client` reached as upstream `index` ([`node::admit`]); what
    /// it announced about itself.
    fn admit(&self, index: usize, client: &tenet_client::Client) -> Result<Option<Announcement>, String> {
        let mut members = lock(&self.members);
        let names: Vec<String> = self.upstreams.iter().map(|u| u.name().to_owned()).collect();
        let upstream = &self.upstreams[index];
        node::admit(upstream, index, node::handshake(client), self.options.node.as_ref(), &mut members, &names)
    }

    /// Upstream `index` is no longer connected: its node id is free.
    fn leave(&self, index: usize) {
        lock(&self.members).retain(|_, i| *i != index);
    }

    /// What upstream `index` offers when it is up again: the last listing, when the
    /// node announces the same digests of its lists as then; else every list, fetched
    /// now and marked with the nodes each item came through.
    async fn first_listing(
        &self,
        upstream: &Upstream,
        client: &tenet_client::Client,
        said: Option<&Announcement>,
    ) -> Result<Listing, ClientError> {
        let digests = said.and_then(|said| said.lists.clone());
        let node = said.map(|said| said.id.clone());
        {
            let listed = lock(&upstream.listed);
            if let (Some(now), Some(known), Some(listing)) = (&digests, &listed.digests, &listed.listing)
                && now == known
                && listed.node == node
            {
                tracing::debug!(upstream = %upstream.label(), "its lists are as they were: not listed again");
                return Ok(listing.clone());
            }
        }
        let me = self.options.node.as_ref();
        let mut listing = Listing::fetch(client, upstream.name(), Kinds::ALL, &node::list_meta(me)).await?;
        self.mark(upstream, &mut listing, said);
        let mut listed = lock(&upstream.listed);
        listed.listing = listing.is_whole().then(|| listing.clone());
        listed.digests = digests.map(|now| listed_digests(None, &now, &listing));
        listed.node = node;
        Ok(listing)
    }

    /// Lists `lists` of upstream `index` again and publishes them; `said`, when the
    /// node's announcement asked for it (its digests are then the ones the listing
    /// matches). Changes the upstream announced are passed on even when the gateway's
    /// lists stay as they were.
    async fn refresh(
        &self,
        index: usize,
        client: &tenet_client::Client,
        lists: Kinds,
        said: Option<&Announcement>,
        announced: Kinds,
    ) -> Result<(), ClientError> {
        let upstream = &self.upstreams[index];
        let me = self.options.node.as_ref();
        let fetched = Listing::fetch(client, upstream.name(), lists, &node::list_meta(me)).await;
        let mut listed = lock(&upstream.listed);
        let mut listing = match fetched {
            Ok(listing) => listing,
            Err(e) => {
                // Not listed: what the digests say of these lists is not known any more.
                if let Some(digests) = &mut listed.digests {
                    forget(digests, lists);
                }
                return Err(e);
            }
        };
        self.mark(upstream, &mut listing, said);
        if let Some(cached) = &mut listed.listing {
            cached.update(&listing);
        }
        match (said.and_then(|said| said.lists.as_ref()), &mut listed.digests) {
            (Some(now), known) => *known = Some(listed_digests(known.as_ref(), now, &listing)),
            // Listed without the node's digests at hand (it said a list changed, or a
            // name was freed): the digests known are older than the listing now, and
            // the next heartbeat lists again what they do not match.
            (None, Some(digests)) => forget(digests, lists),
            (None, None) => {}
        }
        drop(listed);
        // An upstream that is not a Tenet node may announce a change that leaves the
        // gateway's lists as they were: passed on as it came, as a transparent gateway
        // must. A node's changes show in its lists (two nodes that are each other's
        // peers would otherwise pass one change back and forth for ever).
        let announced = if upstream.node().is_some() { Kinds::NONE } else { announced };
        self.relist(index, listing, announced);
        Ok(())
    }

    /// Marks `listing` with the nodes its items came through ([`node::mark`]).
    fn mark(&self, upstream: &Upstream, listing: &mut Listing, said: Option<&Announcement>) {
        let node = said.map(|said| said.id.clone()).or_else(|| upstream.node());
        let left_out = node::mark(listing, node.as_ref(), upstream.is_peer(), self.options.node.as_ref());
        if left_out > 0 {
            tracing::debug!(upstream = %upstream.label(), left_out, "left out what would lead back to this node");
        }
    }

    /// [`Inner::publish`] after the upstream announced changes; an announced change
    /// that left the gateway's lists as they were is still passed on, as a
    /// transparent gateway must.
    fn relist(&self, index: usize, listing: Listing, announced: Kinds) {
        let mut heard = self.server.events();
        self.publish(index, listing);
        let mut emitted = Vec::new();
        while let Ok(event) = heard.try_recv() {
            emitted.push(event);
        }
        for event in Upstream::events_of(announced).filter(|e| !emitted.contains(e)) {
            self.server.announce(event);
        }
    }

    /// Lists what upstream `index` offers on the server under the names the gateway
    /// gives it, replacing what it listed before: each kind as one change (so one
    /// `list_changed` at most), and nothing at all when nothing changed; a kind whose
    /// list failed this time stays as it was. The conflict rule is [`place`]'s; what
    /// is left out is logged with the reason. Names it no longer holds go to the
    /// upstreams after it, which list again.
    fn publish(&self, index: usize, listing: Listing) {
        let upstream = &self.upstreams[index];
        let mut names = lock(&self.names);
        let outcomes = [
            listing.tools.map(|tools| self.publish_tools(index, tools, listing.tool_tasks, &mut names.tools)),
            listing.prompts.map(|prompts| self.publish_prompts(index, prompts, &mut names.prompts)),
            listing.resources.map(|resources| self.publish_resources(index, resources, &mut names.resources)),
            listing.templates.map(|templates| self.publish_templates(index, templates, &mut names.templates)),
        ];
        drop(names);
        if let Some(skills) = listing.skills {
            self.publish_skills(index, skills);
        }
        let mut freed = false;
        for (kind, outcome) in outcomes.iter().enumerate() {
            let Some(outcome) = outcome else { continue };
            freed |= outcome.freed;
            upstream.update(|s| {
                *s.count_mut(kind) = outcome.count;
                s.left_out_by_kind[kind] = outcome.left_out;
            });
            for &other in &outcome.taken_from {
                self.upstreams[other].update(|s| {
                    *s.count_mut(kind) = s.count_mut(kind).saturating_sub(1);
                    s.left_out_by_kind[kind] += 1;
                });
            }
        }
        if freed {
            self.wake_after(index);
        }
    }

    /// The names each tool of an upstream is advertised under, with its forwarder; a
    /// tool it runs only as a task is called as one when it takes 2025-11-25 tasks
    /// (`tool_tasks`).
    fn publish_tools(&self, index: usize, tools: Vec<Tool>, tool_tasks: bool, owners: &mut Owners) -> Outcome {
        let upstream = &self.upstreams[index];
        let prefix = (!self.options.prefixless).then_some(upstream.name());
        let mut filtered = 0usize;
        let tools = tools.into_iter().filter_map(|mut tool| {
            if !upstream.config.tools.offers(&tool.name) {
                filtered += 1;
                return None;
            }
            let name = advertised(prefix, &self.options.separator, &tool.name);
            let original = std::mem::replace(&mut tool.name, name.clone().unwrap_or_default());
            upstream.uris.tool_meta(tool.meta.as_mut());
            let execution = tool.execution.as_mut();
            let required = execution.as_ref().and_then(|e| e.task_support.as_deref()) == Some("required");
            if let Some(execution) = execution.filter(|_| required && tool_tasks) {
                // The gateway calls it as a task and follows that to its end, so its
                // own clients may call it either way.
                execution.task_support = Some("optional".to_owned());
            }
            Some((name, original.clone(), (original, tool, required && tool_tasks)))
        });
        let on_server =
            |name: &str, (_, tool, _): &(String, Tool, bool)| self.server.with_tool(name, |listed| listed == tool);
        let mut placed = place(owners, index, upstream.name(), "tool", tools, on_server, |i| self.name_of(i));
        let defs: Vec<ToolDef> = placed
            .defined
            .drain(..)
            .map(|(_, (original, tool, as_task))| {
                let target = Target { name: original.into(), as_task };
                let (up, target) = (upstream.clone(), Arc::new(target));
                // A call becomes a task at the gateway when the upstream makes it one.
                // The upstream's timeout ends a call first (counted, the upstream
                // request cancelled); the gateway's limit only backs it up.
                let limit = upstream.config.call_timeout() + TIMEOUT_MARGIN;
                let def = ToolDef::from_listing(tool, move |call| forward::forward(up.clone(), target.clone(), call))
                    .timeout(limit)
                    .task_started_by_handler()
                    .keeps_written_arguments()
                    .strict_names();
                upstream.scoped(upstream.config.rules(def), ToolDef::scope)
            })
            .collect();
        let refused = refusals(upstream, self.server.change_tools(&placed.removed, defs));
        let stale = settle(owners, index, &mut placed, &refused);
        if !stale.is_empty() {
            self.server.change_tools(&stale, Vec::new());
        }
        Outcome::of(&placed, &stale, filtered)
    }

    /// The names each prompt of an upstream is listed under, with its forwarder.
    fn publish_prompts(&self, index: usize, prompts: Vec<Prompt>, owners: &mut Owners) -> Outcome {
        let upstream = &self.upstreams[index];
        let prefix = (!self.options.prefixless).then_some(upstream.name());
        let prompts = prompts.into_iter().map(|mut prompt| {
            let name = advertised(prefix, &self.options.separator, &prompt.name);
            let original = std::mem::replace(&mut prompt.name, name.clone().unwrap_or_default());
            (name, original.clone(), (original, prompt))
        });
        let on_server =
            |name: &str, (_, prompt): &(String, Prompt)| self.server.with_prompt(name, |listed| listed == prompt);
        let mut placed = place(owners, index, upstream.name(), "prompt", prompts, on_server, |i| self.name_of(i));
        let completes = upstream.completes();
        let defs: Vec<PromptDef> = placed
            .defined
            .drain(..)
            .map(|(_, (original, prompt))| {
                let (up, name) = (upstream.clone(), Arc::<str>::from(original.as_str()));
                let mut def =
                    PromptDef::from_listing(prompt, move |request| forward::prompt(up.clone(), name.clone(), request));
                if completes {
                    let up = upstream.clone();
                    def = def.complete_others(move |request| {
                        forward::complete(up.clone(), Reference::Prompt { name: original.clone() }, request)
                    });
                }
                upstream.scoped(def, PromptDef::scope)
            })
            .collect();
        self.server.change_prompts(&placed.removed, defs);
        settle(owners, index, &mut placed, &[]);
        Outcome::of(&placed, &[], 0)
    }

    /// The URIs each resource of an upstream is listed under, with its reader.
    fn publish_resources(&self, index: usize, resources: Vec<Resource>, owners: &mut Owners) -> Outcome {
        let upstream = &self.upstreams[index];
        let resources = resources.into_iter().map(|mut resource| {
            let original = std::mem::take(&mut resource.uri);
            resource.uri = upstream.uris.outward(&original);
            (Some(resource.uri.clone()), original, resource)
        });
        let on_server = |uri: &str, resource: &Resource| self.server.with_resource(uri, |listed| listed == resource);
        let mut placed = place(owners, index, upstream.name(), "resource", resources, on_server, |i| self.name_of(i));
        let defs: Vec<ResourceDef> = placed
            .defined
            .drain(..)
            .map(|(_, resource)| {
                let up = upstream.clone();
                let def = ResourceDef::new(resource, move |request| forward::read(up.clone(), request));
                upstream.scoped(def, ResourceDef::scope)
            })
            .collect();
        self.server.change_resources(&placed.removed, defs);
        settle(owners, index, &mut placed, &[]);
        Outcome::of(&placed, &[], 0)
    }

    /// The URI templates each template of an upstream is listed under, with its
    /// reader and completions.
    fn publish_templates(&self, index: usize, templates: Vec<ResourceTemplate>, owners: &mut Owners) -> Outcome {
        let upstream = &self.upstreams[index];
        let templates = templates.into_iter().map(|mut template| {
            let original = std::mem::take(&mut template.uri_template);
            template.uri_template = upstream.uris.outward(&original);
            (Some(template.uri_template.clone()), original.clone(), (original, template))
        });
        let on_server = |uri: &str, (_, template): &(String, ResourceTemplate)| {
            self.server.with_template(uri, |listed| listed == template)
        };
        let mut placed = place(owners, index, upstream.name(), "template", templates, on_server, |i| self.name_of(i));
        let completes = upstream.completes();
        let defs: Vec<TemplateDef> = placed
            .defined
            .drain(..)
            .map(|(_, (original, template))| {
                let up = upstream.clone();
                let mut def = TemplateDef::new(template, move |request| forward::read(up.clone(), request));
                if completes {
                    let up = upstream.clone();
                    def = def.complete_others(move |request| {
                        forward::complete(up.clone(), Reference::Resource { uri: original.clone() }, request)
                    });
                }
                upstream.scoped(def, TemplateDef::scope)
            })
            .collect();
        let refused = refusals(upstream, self.server.change_templates(&placed.removed, defs));
        let stale = settle(owners, index, &mut placed, &refused);
        if !stale.is_empty() {
            self.server.change_templates(&stale, Vec::new());
        }
        Outcome::of(&placed, &stale, 0)
    }

    /// Mounts the skills of upstream `index` under its URIs on the gateway (none: the
    /// mount goes).
    fn publish_skills(&self, index: usize, mut entries: Vec<tenet_protocol::skill_extension::SkillEntry>) {
        let (Some(skills), upstream) = (&self.skills, &self.upstreams[index]) else { return };
        if upstream.name().is_empty() {
            return; // A peer not named yet: its URIs are not known.
        }
        if entries.is_empty() {
            skills.unmount(upstream.name());
            return;
        }
        for entry in &mut entries {
            upstream.uris.skill(entry);
        }
        let shadowed = skills.mount(tenet_skills::Mount {
            key: upstream.name().to_owned(),
            entries,
            scopes: upstream.config.scopes.clone(),
            imported: upstream.is_peer(),
            remote: Arc::new(forward::SkillsOf(upstream.clone())),
        });
        if shadowed > 0 {
            tracing::warn!(
                upstream = %upstream.label(),
                shadowed,
                "skills of the upstream are not listed: the server's own skills hold their URIs (name it otherwise)"
            );
        }
    }

    fn name_of(&self, index: usize) -> String {
        self.upstreams[index].name().to_owned()
    }

    /// Has every upstream after `index` list again: a name `index` held may be theirs.
    fn wake_after(&self, index: usize) {
        for later in &self.upstreams[index + 1..] {
            later.relist_all();
        }
    }

    /// Takes everything upstream `index` listed off the server (each kind as one
    /// change), then has the upstreams after it list again.
    fn withdraw(&self, index: usize) {
        let upstream = &self.upstreams[index];
        let mut names = lock(&self.names);
        let Names { tools, prompts, resources, templates } = &mut *names;
        let gone = |owners: &mut Owners| {
            let names = owned_by(owners, index);
            for name in &names {
                owners.remove(name);
            }
            names
        };
        self.server.change_tools(&gone(tools), Vec::new());
        self.server.change_prompts(&gone(prompts), Vec::new());
        self.server.change_resources(&gone(resources), Vec::new());
        self.server.change_templates(&gone(templates), Vec::new());
        self.server.change_hidden_templates(&upstream.uris.every_uri(), Vec::new());
        drop(names);
        if let Some(skills) = &self.skills {
            skills.unmount(upstream.name());
        }
        upstream.update(|s| {
            for kind in 0..KINDS {
                *s.count_mut(kind) = 0;
            }
        });
        self.wake_after(index);
    }
}

/// The digests a node's lists are known at after a listing: `now`'s for each list the
/// listing holds; for one it was to hold but failed, none (so the next heartbeat lists
/// it again); for one it did not ask for, the digest known before.
fn listed_digests(known: Option<&ListDigests>, now: &ListDigests, listing: &Listing) -> ListDigests {
    let pick = |fetched: bool, now: &String, known: Option<&String>| {
        if fetched { now.clone() } else { known.cloned().unwrap_or_default() }
    };
    ListDigests {
        tools: pick(listing.tools.is_some(), &now.tools, known.map(|k| &k.tools)),
        prompts: pick(listing.prompts.is_some(), &now.prompts, known.map(|k| &k.prompts)),
        resources: pick(listing.resources.is_some(), &now.resources, known.map(|k| &k.resources)),
        resource_templates: pick(
            listing.templates.is_some(),
            &now.resource_templates,
            known.map(|k| &k.resource_templates),
        ),
    }
}

/// Forgets the digests of `lists` (the next heartbeat lists them again).
fn forget(digests: &mut ListDigests, lists: Kinds) {
    if lists.has(Kinds::TOOLS) {
        digests.tools.clear();
    }
    if lists.has(Kinds::PROMPTS) {
        digests.prompts.clear();
    }
    if lists.has(Kinds::RESOURCES) {
        digests.resources.clear();
        digests.resource_templates.clear();
    }
}

/// The unlisted templates that send any URI under `upstream`'s prefixes (`tenet://`
/// and `ui://`) to it (every URI, in a prefix-less gateway).
fn catch_all(upstream: &Arc<Upstream>) -> Vec<TemplateDef> {
    // A peer's URIs are imported through it, like its listed items.
    let via = upstream.node().filter(|_| upstream.is_peer());
    let meta = via.map(|node| JsonObject::from_iter([(VIA_KEY.to_owned(), serde_json::json!([node]))]));
    let templates = upstream.uris.every_uri().into_iter().map(|uri_template| {
        let template = ResourceTemplate {
            uri_template,
            name: format!("{}-any", upstream.name()),
            title: None,
            description: None,
            mime_type: None,
            annotations: None,
            icons: None,
            meta: meta.clone(),
        };
        let up = upstream.clone();
        let def = TemplateDef::new(template, move |request| forward::read(up.clone(), request));
        upstream.scoped(def, TemplateDef::scope)
    });
    templates.collect()
}

/// What publishing one kind of an upstream's items came to.
struct Outcome {
    /// Items listed.
    count: usize,
    /// Items left out.
    left_out: usize,
    /// The later upstreams it took a name from (one entry per name).
    taken_from: Vec<usize>,
    /// Whether it gave up names it held (removed, or refused on a re-list).
    freed: bool,
}

impl Outcome {
    fn of<T>(placed: &Placed<T>, stale: &[String], filtered: usize) -> Self {
        Self {
            count: placed.names.len(),
            left_out: placed.left_out + filtered,
            taken_from: placed.taken_from.iter().map(|(other, _)| *other).collect(),
            freed: !placed.removed.is_empty() || !stale.is_empty(),
        }
    }
}

/// The names of the items the server would not take (a tool whose schema is not
/// valid JSON Schema, a template that does not parse), each logged with the reason.
fn refusals(upstream: &Upstream, errors: Vec<BuildError>) -> Vec<String> {
    errors
        .into_iter()
        .filter_map(|error| {
            tracing::warn!(upstream = %upstream.label(), %error, "left out");
            match error {
                BuildError::InvalidSchema { tool: name, .. }
                | BuildError::NotAnObjectSchema(name)
                | BuildError::InvalidTemplate(name, _) => Some(name),
                _ => None,
            }
        })
        .collect()
}
