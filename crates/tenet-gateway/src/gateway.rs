//! The gateway: a supervisor per upstream, and the catalog that lists their tools on
//! the server under their namespaces.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenet_client::ClientError;
use tenet_protocol::{Prompt, Reference, Resource, ResourceTemplate, Tool};
use tenet_server::{BuildError, MAX_SUBSCRIPTIONS, PromptDef, ResourceDef, Server, TemplateDef, ToolDef};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::catalog::{Listing, Owners, Placed, owned_by, place, settle};
use crate::config::{GatewayOptions, UpstreamConfig};
use crate::forward::{self, Target};
use crate::name::advertised;
use crate::upstream::{KINDS, State, Status, Upstream, backoff, is_gone, lock, sleep_or_cancel};

/// How long a burst of `list_changed` from one upstream is gathered into one re-list.
const DEBOUNCE: Duration = Duration::from_millis(100);
/// How long closing an upstream's connection may take.
const CLOSE_WAIT: Duration = Duration::from_secs(10);
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
    upstreams: Vec<Arc<Upstream>>,
    /// Which upstream each advertised name belongs to.
    names: Mutex<Names>,
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
        let upstreams: Vec<Arc<Upstream>> =
            upstreams.into_iter().map(|c| Arc::new(Upstream::new(c, &options, server.downgrade()))).collect();
        // A downstream subscription to an upstream's resource is held at the upstream
        // for as long as some client holds it here.
        let watched: Vec<_> = upstreams.iter().map(Arc::downgrade).collect();
        let subscribed = watched.clone();
        server.on_subscription(move |uri, on| {
            subscribed.iter().filter_map(std::sync::Weak::upgrade).any(|u| u.want(uri, on));
        });
        let inner = Arc::new(Inner {
            server,
            options,
            upstreams,
            names: Mutex::new(Names::default()),
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
        let connect_timeout = self.options.connect_timeout;
        while !self.shutdown.is_cancelled() {
            upstream.update(|s| s.state = State::Connecting);
            // Start, handshake and first listing, all before one deadline; a client that
            // connected but did not list in time is closed.
            let deadline = tokio::time::Instant::now() + connect_timeout;
            let late = || {
                format!("not started within {} s (process, handshake, first listing)", connect_timeout.as_secs_f64())
            };
            let start = async {
                let client = match tokio::time::timeout_at(deadline, upstream.connect()).await {
                    Ok(connected) => connected.map_err(|e| e.to_string())?,
                    Err(_) => return Err(late()),
                };
                let failed = match tokio::time::timeout_at(deadline, Listing::fetch(&client, upstream.name())).await {
                    Ok(Ok(listing)) => return Ok((client, listing)),
                    Ok(Err(e)) => format!("listing failed: {e}"),
                    Err(_) => late(),
                };
                close(client).await;
                Err(failed)
            };
            let started = tokio::select! {
                () = self.shutdown.cancelled() => break,
                started = start => started,
            };
            let reason = match started {
                Ok((client, listing)) => {
                    let up_since = tokio::time::Instant::now();
                    upstream.set_client(Some(client.clone()));
                    upstream.update(|s| {
                        let version = client.version();
                        s.state = State::Up;
                        s.era = Some(match version.era() {
                            tenet_protocol::Era::Legacy => "legacy",
                            tenet_protocol::Era::Stateless => "stateless",
                        });
                        s.version = Some(version.as_str());
                        s.server =
                            client.server().and_then(|d| d.server_info).map(|i| format!("{} {}", i.name, i.version));
                        s.missed = 0;
                    });
                    let [tools, prompts, resources, templates] = listing.counts();
                    tracing::info!(upstream = %upstream.name(), tools, prompts, resources, templates, "upstream is up");
                    self.publish(index, listing);
                    // Any URI under its prefix is read from it, listed or not (a link in a
                    // tool's result, say), for as long as it is connected.
                    self.server.change_hidden_templates(&[], [catch_all(&upstream)]);
                    let reason = self.watch(&upstream, index, &client).await;
                    if up_since.elapsed() >= self.options.stable_after {
                        failures = 0;
                    }
                    self.withdraw(index);
                    upstream.set_client(None);
                    upstream.lost_updates();
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
                        "crash loop: restarted {limit} times (max_restarts), and each time it failed within {} s \
                         of starting; not started again until Tenet restarts. Last: {reason}",
                        self.options.stable_after.as_secs()
                    )
                };
                tracing::error!(upstream = %upstream.name(), %reason, "upstream given up");
                upstream.update(|s| {
                    s.state = State::Failed;
                    s.last_error = Some(reason);
                });
                break;
            }
            tracing::warn!(upstream = %upstream.name(), %reason, "upstream is down");
            upstream.update(|s| {
                s.state = State::Down;
                s.last_error = Some(reason);
                s.restarts += 1;
            });
            if !sleep_or_cancel(backoff(&self.options, failures - 1), &self.shutdown).await {
                break;
            }
        }
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
        let mut tick = tokio::time::interval(self.options.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return None,
                _ = tick.tick() => {}
                () = upstream.wake.notified() => {
                    // A burst of list changes (or failed calls) is one re-list.
                    if !sleep_or_cancel(DEBOUNCE, &self.shutdown).await {
                        return None;
                    }
                    match Listing::fetch(client, upstream.name()).await {
                        Ok(listing) => {
                            self.relist(index, listing);
                            continue;
                        }
                        Err(e) if is_gone(&e) => return Some(e.to_string()),
                        Err(e) => tracing::warn!(upstream = %upstream.name(), error = %e, "re-listing failed"),
                    }
                }
            }
            let timeout = self.options.heartbeat.min(upstream.config.call_timeout());
            match upstream.heartbeat(client, timeout).await {
                Ok(latency) => upstream.heard(latency),
                Err(e) if is_gone(&e) => return Some(e.to_string()),
                Err(e) => {
                    let mut missed = 0;
                    upstream.update(|s| {
                        s.missed += 1;
                        missed = s.missed;
                    });
                    tracing::warn!(upstream = %upstream.name(), missed, error = %e, "missed heartbeat");
                    if missed >= self.options.failures {
                        return Some(format!("{missed} heartbeats missed; last: {e}"));
                    }
                }
            }
        }
    }

    /// [`Inner::publish`] after the upstream announced changes; an announced change
    /// that left the gateway's lists as they were is still passed on, as a
    /// transparent gateway must.
    fn relist(&self, index: usize, listing: Listing) {
        let mut heard = self.server.events();
        self.publish(index, listing);
        let mut emitted = Vec::new();
        while let Ok(event) = heard.try_recv() {
            emitted.push(event);
        }
        for event in self.upstreams[index].take_announced().filter(|e| !emitted.contains(e)) {
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
                    .task_started_by_handler();
                upstream.scoped(def, ToolDef::scope)
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

    fn name_of(&self, index: usize) -> String {
        self.upstreams[index].name().to_owned()
    }

    /// Has every upstream after `index` list again: a name `index` held may be theirs.
    fn wake_after(&self, index: usize) {
        for later in &self.upstreams[index + 1..] {
            later.wake.notify_one();
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
        self.server.change_hidden_templates(&[upstream.uris.outward(ANY_URI)], Vec::new());
        drop(names);
        upstream.update(|s| {
            for kind in 0..KINDS {
                *s.count_mut(kind) = 0;
            }
        });
        self.wake_after(index);
    }
}

/// The template, under an upstream's prefix, that matches any URI.
const ANY_URI: &str = "{+uri}";

/// Closes an upstream's connection, waiting at most [`CLOSE_WAIT`] (a hung HTTP server
/// may never answer the session's DELETE; a stdio server is stopped either way).
async fn close(client: tenet_client::Client) {
    if tokio::time::timeout(CLOSE_WAIT, client.close()).await.is_err() {
        tracing::debug!("an upstream connection did not close in time");
    }
}

/// The unlisted template that sends any URI under `upstream`'s prefix to it (every
/// URI, in a prefix-less gateway).
fn catch_all(upstream: &Arc<Upstream>) -> TemplateDef {
    let template = ResourceTemplate {
        uri_template: upstream.uris.outward(ANY_URI),
        name: format!("{}-any", upstream.name()),
        title: None,
        description: None,
        mime_type: None,
        annotations: None,
        icons: None,
        meta: None,
    };
    let up = upstream.clone();
    let def = TemplateDef::new(template, move |request| forward::read(up.clone(), request));
    upstream.scoped(def, TemplateDef::scope)
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
            tracing::warn!(upstream = %upstream.name(), %error, "left out");
            match error {
                BuildError::InvalidSchema { tool: name, .. }
                | BuildError::NotAnObjectSchema(name)
                | BuildError::InvalidTemplate(name, _) => Some(name),
                _ => None,
            }
        })
        .collect()
}

/// What a connection's subscription task works with: the upstream, and when to stop
/// (the supervisor's watch of this connection ended).
struct Listening {
    upstream: Arc<Upstream>,
    stop: CancellationToken,
}

/// Keeps a `subscriptions/listen` stream open to a 2026 upstream, so that its list
/// changes and the updates of the resources `wanted` (`None`: it takes no subscriptions)
/// reach the supervisor and the gateway's clients through the client's handler, as on
/// a legacy session. When the wanted URIs change, a stream with the new filter opens
/// before the old one ends: the old one ends once the new one is acknowledged (or ends
/// itself), so that an update to a resource held all along is never missed (while both
/// are open it may be told twice). An old stream that breaks before that counts as a
/// gap ([`Upstream::lost_updates`]). After a stream ends or breaks it is opened again
/// `retry` later, until the watch stops or the server cannot listen at all. A server
/// that refuses the subscriptions asked for is asked again when they change. After a
/// broken stream, what it held again is announced to its subscribers as possibly
/// changed.
async fn listen(
    client: tenet_client::Client,
    listening: Listening,
    mut wanted: Option<watch::Receiver<BTreeSet<String>>>,
    retry: Duration,
) {
    let Listening { upstream, stop } = listening;
    let mut acknowledged = upstream.acknowledged.subscribe();
    // The last stream acknowledged, while the one replacing it opens: it ends when its
    // guard is dropped (taken, replaced, or the task ends).
    let mut outgoing: Option<tokio_util::sync::DropGuard> = None;
    // A stream being replaced that ends by itself (broken, or ended by the server)
    // before it is let go: what it held may have changed unseen.
    let watch_replaced = |stream: tokio::task::JoinHandle<tenet_client::Result<serde_json::Value>>| {
        let upstream = Arc::clone(&upstream);
        tokio::spawn(async move {
            if !matches!(stream.await, Ok(Err(ClientError::Cancelled))) {
                upstream.lost_updates();
            }
        });
    };
    while !stop.is_cancelled() {
        let subscriptions = wanted.as_mut().map(|w| {
            let wanted = w.borrow_and_update();
            if wanted.len() > MAX_SUBSCRIPTIONS {
                tracing::warn!(
                    upstream = %upstream.name(),
                    wanted = wanted.len(),
                    "more subscriptions than one listen stream may hold; the first {MAX_SUBSCRIPTIONS} are held"
                );
            }
            wanted.iter().take(MAX_SUBSCRIPTIONS).cloned().collect::<Vec<_>>()
        });
        let subscriptions = subscriptions.filter(|s| !s.is_empty());
        let subscribing = subscriptions.is_some();
        let filter = tenet_protocol::SubscriptionFilter {
            tools_list_changed: Some(true),
            prompts_list_changed: Some(true),
            resources_list_changed: Some(true),
            resource_subscriptions: subscriptions,
            ..tenet_protocol::SubscriptionFilter::default()
        };
        let stream = stop.child_token();
        // Acknowledgements from before this stream opened are not its own.
        acknowledged.mark_unchanged();
        // Its own task: a stream being replaced stays open after this iteration.
        let mut opened = {
            let (client, options) =
                (client.clone(), tenet_client::RequestOptions::default().with_cancel(stream.clone()));
            tokio::spawn(async move { client.listen(filter, &options).await })
        };
        // The stream ends when this guard is dropped, unless it is kept as `outgoing`.
        let stream = stream.drop_guard();
        let changed = async {
            match wanted.as_mut() {
                Some(w) => w.changed().await.is_ok(),
                None => std::future::pending().await,
            }
        };
        tokio::pin!(changed);
        let mut held = false;
        let ended = loop {
            tokio::select! {
                ended = &mut opened => {
                    break Some(ended.unwrap_or_else(|e| Err(ClientError::Closed(format!("the listen task failed: {e}")))));
                }
                _ = acknowledged.changed(), if !held => {
                    // This stream is open at the upstream: the one it replaces may go.
                    // (Which stream an acknowledgement is for is not told apart: one
                    // from a stream cancelled before it was acknowledged, arriving
                    // after the next one opened, lets the old one go a moment early.)
                    held = true;
                    outgoing.take();
                }
                open = &mut changed => {
                    if !open {
                        return;
                    }
                    // The subscriptions changed: a stream opens with them. Until it is
                    // acknowledged, the last acknowledged stream stays open.
                    if held {
                        outgoing.replace(stream);
                    }
                    break None;
                }
            }
        };
        let Some(ended) = ended else {
            if held {
                watch_replaced(opened);
            }
            continue;
        };
        // A refused stream leaves the one it was to replace open (it still holds what it
        // held); anything else ends it too.
        let refused = matches!(ended, Err(ClientError::Server(_))) && subscribing;
        if !refused {
            outgoing.take();
        }
        match ended {
            Ok(_) => upstream.lost_updates(),
            Err(ClientError::Cancelled) => return,
            Err(ClientError::Unsupported(e)) => {
                tracing::debug!(error = %e, "no notifications from this upstream");
                return;
            }
            Err(ClientError::Server(e)) if subscribing => {
                // Perhaps one of the subscriptions: asked again when they change.
                // Meanwhile only what the stream it was to replace holds (if any) is held.
                tracing::warn!(error = %e.message, "the upstream refused a listen stream with subscriptions");
                upstream.lost_updates();
                tokio::select! {
                    () = stop.cancelled() => return,
                    open = &mut changed => if !open { return },
                }
                continue;
            }
            Err(ClientError::Server(e)) => {
                tracing::debug!(error = %e.message, "the upstream refused a listen stream");
                return;
            }
            // Broken (a proxy's idle timeout, an upstream restarted behind a load
            // balancer): opened again while the connection is watched.
            Err(e) => {
                tracing::debug!(error = %e, "the listen stream ended");
                upstream.lost_updates();
            }
        }
        if !sleep_or_cancel(retry, &stop).await {
            return;
        }
    }
}

/// Holds at a legacy upstream the subscriptions `wanted` (`resources/subscribe` and
/// `resources/unsubscribe` as they change), until the watch stops. What failed is
/// tried again `retry` later, and everything is subscribed again when the upstream
/// forgot the session (it is renewed with nothing held); what is held again after
/// that, or after a reconnection, is announced to its subscribers as possibly
/// changed. Its `resources/updated` reach the gateway's clients through the client's
/// handler.
async fn keep_subscribed(
    client: tenet_client::Client,
    listening: Listening,
    mut wanted: watch::Receiver<BTreeSet<String>>,
    retry: Duration,
) {
    let Listening { upstream, stop } = listening;
    let mut held = BTreeSet::new();
    let mut session = client.session_renewals();
    loop {
        if client.session_renewals() != session {
            session = client.session_renewals();
            held.clear();
            upstream.lost_updates();
        }
        let now = wanted.borrow_and_update().clone();
        let (mut refused, mut first) = (0, None);
        for uri in now.difference(&held).cloned().collect::<Vec<_>>() {
            match client.subscribe(&uri).await {
                // Held on a connection the supervisor has let go of: the next one tells.
                Ok(()) if stop.is_cancelled() => return,
                Ok(()) => {
                    upstream.held_again(&uri);
                    held.insert(uri);
                }
                Err(e) => {
                    refused += 1;
                    first.get_or_insert_with(|| format!("{uri} ({e})"));
                }
            }
        }
        if let Some(first) = first {
            tracing::warn!(upstream = %upstream.name(), refused, first, "the upstream did not take subscriptions");
        }
        for uri in held.difference(&now).cloned().collect::<Vec<_>>() {
            held.remove(&uri);
            if let Err(e) = client.unsubscribe(&uri).await {
                tracing::debug!(%uri, error = %e, "unsubscribing failed");
            }
        }
        // Checked again at every `retry`: for what failed, and for a renewed session.
        tokio::select! {
            () = stop.cancelled() => return,
            changed = wanted.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(retry) => {}
        }
    }
}
