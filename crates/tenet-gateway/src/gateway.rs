//! The gateway: a supervisor per upstream, and the catalog that lists their tools on
//! the server under their namespaces.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenet_client::ClientError;
use tenet_protocol::{Prompt, Reference, Resource, ResourceTemplate, Tool};
use tenet_server::{BuildError, PromptDef, ResourceDef, Server, TemplateDef, ToolDef};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::catalog::{Listing, Owners, owned_by, place, settle};
use crate::config::{GatewayOptions, UpstreamConfig};
use crate::forward;
use crate::name::advertised;
use crate::upstream::{State, Status, Upstream, backoff, is_gone, lock, sleep_or_cancel};

/// How long connecting (start and handshake) may take before it counts as a failure.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a burst of `list_changed` from one upstream is gathered into one re-list.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// Tenet in front of other MCP servers: their tools listed on `server` under their
/// namespaces, kept in step with their state.
///
/// ```no_run
/// use tenet_gateway::{Gateway, GatewayOptions, UpstreamConfig};
/// use tenet_server::Server;
///
/// # async fn run() {
/// let server = Server::builder("gateway", "1.0.0").dynamic().build().unwrap();
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
        let upstreams = upstreams.into_iter().map(|c| Arc::new(Upstream::new(c, options.prefixless))).collect();
        let inner = Arc::new(Inner {
            server,
            options,
            upstreams,
            names: Mutex::new(Names::default()),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        });
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
        let mut failures = 0u32;
        while !self.shutdown.is_cancelled() {
            upstream.update(|s| s.state = State::Connecting);
            let connected = tokio::select! {
                () = self.shutdown.cancelled() => break,
                connected = tokio::time::timeout(CONNECT_TIMEOUT, upstream.connect()) => connected,
            };
            let reason = match connected {
                Ok(Ok(client)) => match Listing::fetch(&client).await {
                    Ok(listing) => {
                        failures = 0;
                        upstream.set_client(Some(client.clone()));
                        upstream.update(|s| {
                            let version = client.version();
                            s.state = State::Up;
                            s.era = Some(match version.era() {
                                tenet_protocol::Era::Legacy => "legacy",
                                tenet_protocol::Era::Stateless => "stateless",
                            });
                            s.version = Some(version.as_str());
                            s.server = client
                                .server()
                                .and_then(|d| d.server_info)
                                .map(|i| format!("{} {}", i.name, i.version));
                            s.missed = 0;
                        });
                        tracing::info!(
                            upstream = %upstream.name(),
                            tools = listing.tools.len(),
                            prompts = listing.prompts.len(),
                            resources = listing.resources.len(),
                            templates = listing.templates.len(),
                            "upstream is up"
                        );
                        self.publish(index, listing);
                        let reason = self.watch(&upstream, index, &client).await;
                        self.withdraw(index);
                        upstream.set_client(None);
                        client.close().await;
                        match reason {
                            Some(reason) => reason,
                            None => break,
                        }
                    }
                    Err(e) => {
                        client.close().await;
                        format!("listing failed: {e}")
                    }
                },
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no answer to the handshake within {} s", CONNECT_TIMEOUT.as_secs()),
            };
            tracing::warn!(upstream = %upstream.name(), %reason, "upstream is down");
            upstream.update(|s| {
                s.state = State::Down;
                s.last_error = Some(reason);
                s.restarts += 1;
            });
            if !sleep_or_cancel(backoff(&self.options, failures), &self.shutdown).await {
                break;
            }
            failures = failures.saturating_add(1);
        }
        if let Some(client) = upstream.take_client() {
            client.close().await;
        }
    }

    /// Keeps an upstream's connection under watch until it fails (returns why) or the
    /// gateway stops (returns `None`): heartbeats at the interval, a re-list when its
    /// tools change.
    async fn watch(&self, upstream: &Upstream, index: usize, client: &tenet_client::Client) -> Option<String> {
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
        if client.version().era() == tenet_protocol::Era::Stateless && lists_changes {
            self.tasks.spawn(listen(client.clone(), self.options.heartbeat, listening));
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
                    match Listing::fetch(client).await {
                        Ok(listing) => {
                            self.publish(index, listing);
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

    /// Lists what upstream `index` offers on the server under the names the gateway
    /// gives it, replacing what it listed before: each kind as one change (so one
    /// `list_changed` at most), and nothing at all when nothing changed. The conflict
    /// rule is [`place`]'s; what is left out is logged with the reason.
    fn publish(&self, index: usize, listing: Listing) {
        let upstream = &self.upstreams[index];
        let prefix = (!self.options.prefixless).then_some(upstream.name());
        let separator = &self.options.separator;
        let names_of = |i: usize| self.upstreams[i].name().to_owned();
        let completes = upstream.completes();
        let mut names = lock(&self.names);

        // Tools.
        let mut filtered = 0usize;
        let tools = listing.tools.into_iter().filter_map(|mut tool| {
            if !upstream.config.tools.offers(&tool.name) {
                filtered += 1;
                return None;
            }
            let name = advertised(prefix, separator, &tool.name);
            let original = std::mem::replace(&mut tool.name, name.clone().unwrap_or_default());
            // Tasks are not relayed yet: the tool is called, and answers, as a plain call.
            tool.execution = None;
            Some((name, original.clone(), (original, tool)))
        });
        let on_server = |name: &str, (_, tool): &(String, Tool)| self.server.with_tool(name, |listed| listed == tool);
        let mut placed = place(&names.tools, index, upstream.name(), "tool", tools, on_server, names_of);
        let defs: Vec<ToolDef> = placed
            .defined
            .drain(..)
            .map(|(_, (original, tool))| {
                let (up, uris, original) = (upstream.clone(), upstream.uris.clone(), Arc::<str>::from(original));
                let def = ToolDef::from_listing(tool, move |ctx, args| {
                    forward::forward(up.clone(), uris.clone(), original.clone(), ctx, args)
                });
                upstream.config.scopes.iter().fold(def, |def, scope| def.scope(scope.clone()))
            })
            .collect();
        let refused = refusals(upstream, self.server.change_tools(&placed.removed, defs));
        let stale = settle(&mut names.tools, index, &mut placed, &refused);
        if !stale.is_empty() {
            self.server.change_tools(&stale, Vec::new());
        }
        for (other, _) in &placed.taken_from {
            self.upstreams[*other].update(|s| {
                s.tools = s.tools.saturating_sub(1);
                s.left_out += 1;
            });
        }
        let mut left_out = filtered + placed.left_out;
        let tools = placed.names.len();

        // Prompts.
        let prompts = listing.prompts.into_iter().map(|mut prompt| {
            let name = advertised(prefix, separator, &prompt.name);
            let original = std::mem::replace(&mut prompt.name, name.clone().unwrap_or_default());
            (name, original.clone(), (original, prompt))
        });
        let on_server =
            |name: &str, (_, prompt): &(String, Prompt)| self.server.with_prompt(name, |listed| listed == prompt);
        let mut placed = place(&names.prompts, index, upstream.name(), "prompt", prompts, on_server, names_of);
        let defs: Vec<PromptDef> = placed
            .defined
            .drain(..)
            .map(|(_, (original, prompt))| {
                let (up, uris, name) = (upstream.clone(), upstream.uris.clone(), Arc::<str>::from(original.as_str()));
                let mut def = PromptDef::from_listing(prompt, move |request| {
                    forward::prompt(up.clone(), uris.clone(), name.clone(), request)
                });
                if completes {
                    let up = upstream.clone();
                    def = def.complete_others(move |request| {
                        forward::complete(up.clone(), Reference::Prompt { name: original.clone() }, request)
                    });
                }
                upstream.config.scopes.iter().fold(def, |def, scope| def.scope(scope.clone()))
            })
            .collect();
        self.server.change_prompts(&placed.removed, defs);
        settle(&mut names.prompts, index, &mut placed, &[]);
        left_out += placed.left_out;
        let prompts = placed.names.len();

        // Resources.
        let uris = &upstream.uris;
        let resources = listing.resources.into_iter().map(|mut resource| {
            let original = std::mem::take(&mut resource.uri);
            resource.uri = uris.outward(&original);
            (Some(resource.uri.clone()), original, resource)
        });
        let on_server = |uri: &str, resource: &Resource| self.server.with_resource(uri, |listed| listed == resource);
        let mut placed = place(&names.resources, index, upstream.name(), "resource", resources, on_server, names_of);
        let defs: Vec<ResourceDef> = placed
            .defined
            .drain(..)
            .map(|(_, resource)| {
                let (up, uris) = (upstream.clone(), upstream.uris.clone());
                let def = ResourceDef::new(resource, move |request| forward::read(up.clone(), uris.clone(), request));
                upstream.config.scopes.iter().fold(def, |def, scope| def.scope(scope.clone()))
            })
            .collect();
        self.server.change_resources(&placed.removed, defs);
        settle(&mut names.resources, index, &mut placed, &[]);
        left_out += placed.left_out;
        let resources = placed.names.len();

        // Resource templates.
        let templates = listing.templates.into_iter().map(|mut template| {
            let original = std::mem::take(&mut template.uri_template);
            template.uri_template = uris.outward(&original);
            (Some(template.uri_template.clone()), original.clone(), (original, template))
        });
        let on_server = |uri: &str, (_, template): &(String, ResourceTemplate)| {
            self.server.with_template(uri, |listed| listed == template)
        };
        let mut placed = place(&names.templates, index, upstream.name(), "template", templates, on_server, names_of);
        let defs: Vec<TemplateDef> = placed
            .defined
            .drain(..)
            .map(|(_, (original, template))| {
                let (up, uris) = (upstream.clone(), upstream.uris.clone());
                let mut def =
                    TemplateDef::new(template, move |request| forward::read(up.clone(), uris.clone(), request));
                if completes {
                    let up = upstream.clone();
                    def = def.complete_others(move |request| {
                        forward::complete(up.clone(), Reference::Resource { uri: original.clone() }, request)
                    });
                }
                upstream.config.scopes.iter().fold(def, |def, scope| def.scope(scope.clone()))
            })
            .collect();
        let refused = refusals(upstream, self.server.change_templates(&placed.removed, defs));
        let stale = settle(&mut names.templates, index, &mut placed, &refused);
        if !stale.is_empty() {
            self.server.change_templates(&stale, Vec::new());
        }
        left_out += placed.left_out;
        let templates = placed.names.len();
        drop(names);
        upstream.update(|s| {
            s.tools = tools;
            s.prompts = prompts;
            s.resources = resources;
            s.templates = templates;
            s.left_out = left_out;
        });
    }

    /// Takes everything upstream `index` listed off the server (each kind as one
    /// change), then has the upstreams after it list again: a name it held may now be
    /// theirs.
    fn withdraw(&self, index: usize) {
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
        drop(names);
        self.upstreams[index].update(|s| {
            s.tools = 0;
            s.prompts = 0;
            s.resources = 0;
            s.templates = 0;
        });
        for later in &self.upstreams[index + 1..] {
            later.wake.notify_one();
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

/// Keeps a `subscriptions/listen` stream open to a 2026 upstream, so that its
/// `tools/list_changed` reach the supervisor through the client's handler (as on a
/// legacy session), reopening it `retry` after the server ends it, until `stop` fires,
/// the connection is gone or the server refuses to listen.
async fn listen(client: tenet_client::Client, retry: Duration, stop: CancellationToken) {
    let filter = tenet_protocol::SubscriptionFilter {
        tools_list_changed: Some(true),
        prompts_list_changed: Some(true),
        resources_list_changed: Some(true),
        ..tenet_protocol::SubscriptionFilter::default()
    };
    let options = tenet_client::RequestOptions::default().with_cancel(stop.clone());
    while !stop.is_cancelled() {
        match client.listen(filter.clone(), &options).await {
            Ok(_) => {}
            Err(ClientError::Cancelled) => return,
            Err(e) if is_gone(&e) || matches!(e, ClientError::Server(_) | ClientError::Unsupported(_)) => {
                tracing::debug!(error = %e, "no list changes from this upstream");
                return;
            }
            Err(e) => tracing::debug!(error = %e, "the listen stream ended"),
        }
        if !sleep_or_cancel(retry, &stop).await {
            return;
        }
    }
}
