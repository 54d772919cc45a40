//! The gateway: a supervisor per upstream, and the catalog that lists their tools on
//! the server under their namespaces.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenet_client::ClientError;
use tenet_protocol::Tool;
use tenet_server::{Server, ToolDef};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{GatewayOptions, UpstreamConfig};
use crate::forward::forward;
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
    /// Which upstream each advertised tool name belongs to.
    owners: Mutex<HashMap<String, usize>>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// The names upstream `index` owns.
fn owned_by(owners: &HashMap<String, usize>, index: usize) -> Vec<String> {
    owners.iter().filter(|(_, i)| **i == index).map(|(n, _)| n.clone()).collect()
}

impl Gateway {
    /// Starts a supervisor per upstream (inside a tokio runtime): each connects, lists
    /// its tools on `server`, sends heartbeats, and reconnects when it fails.
    pub fn start(server: Server, upstreams: Vec<UpstreamConfig>, options: GatewayOptions) -> Self {
        let inner = Arc::new(Inner {
            server,
            options,
            upstreams: upstreams.into_iter().map(|c| Arc::new(Upstream::new(c))).collect(),
            owners: Mutex::new(HashMap::new()),
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
                Ok(Ok(client)) => match client.list_all_tools().await {
                    Ok(tools) => {
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
                        tracing::info!(upstream = %upstream.name(), tools = tools.len(), "upstream is up");
                        self.publish(index, tools);
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
                        format!("tools/list failed: {e}")
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
        let lists_changes =
            client.server().and_then(|d| d.capabilities.tools).is_some_and(|tools| tools.list_changed == Some(true));
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
                    match client.list_all_tools().await {
                        Ok(tools) => {
                            self.publish(index, tools);
                            continue;
                        }
                        Err(e) if is_gone(&e) => return Some(e.to_string()),
                        Err(e) => tracing::warn!(upstream = %upstream.name(), error = %e, "re-listing tools failed"),
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

    /// Lists `tools` of upstream `index` on the server under their advertised names,
    /// replacing what it listed before, as one change.
    ///
    /// Conflict rule: the knowledge server's own tools keep their names; between
    /// upstreams, the one earlier in the config keeps a name both would advertise.
    /// A tool left out is logged with the reason.
    fn publish(&self, index: usize, tools: Vec<Tool>) {
        let upstream = &self.upstreams[index];
        let prefix = (!self.options.prefixless).then_some(upstream.name());
        let mut owners = lock(&self.owners);
        let before = owned_by(&owners, index);
        let mut left_out = 0usize;
        let mut defs = Vec::with_capacity(tools.len());
        let mut names = HashSet::with_capacity(tools.len());
        let mut taken_from = Vec::new();
        for mut tool in tools {
            let original = tool.name.clone();
            if !upstream.config.tools.offers(&original) {
                left_out += 1;
                continue;
            }
            let Some(name) = advertised(prefix, &self.options.separator, &original) else {
                tracing::warn!(upstream = %upstream.name(), tool = %original, "left out: no valid tool name fits it");
                left_out += 1;
                continue;
            };
            match owners.get(&name) {
                Some(&other) if other < index => {
                    let other = self.upstreams[other].name();
                    tracing::warn!(upstream = %upstream.name(), tool = %original, %name, %other, "left out: the name is taken by an earlier upstream");
                    left_out += 1;
                    continue;
                }
                Some(&other) if other > index => taken_from.push((other, name.clone())),
                Some(_) => {}
                None if names.contains(&name) || self.server.with_tool(&name, |_| ()).is_some() => {
                    tracing::warn!(upstream = %upstream.name(), tool = %original, %name, "left out: the name is taken");
                    left_out += 1;
                    continue;
                }
                None => {}
            }
            tool.name.clone_from(&name);
            // Tasks are not relayed yet: the tool is called, and answers, as a plain call.
            tool.execution = None;
            if owners.get(&name) == Some(&index) && self.server.with_tool(&name, |listed| *listed == tool) == Some(true)
            {
                // Listed by this upstream exactly so already: a re-list that found
                // nothing new changes nothing (and announces nothing).
                names.insert(name);
                continue;
            }
            let handler_upstream = upstream.clone();
            let original: Arc<str> = original.into();
            let mut def = ToolDef::from_listing(tool, move |ctx, args| {
                forward(handler_upstream.clone(), original.clone(), ctx, args)
            });
            for scope in &upstream.config.scopes {
                def = def.scope(scope.clone());
            }
            defs.push(def);
            names.insert(name);
        }
        let removed: Vec<String> = before.into_iter().filter(|n| !names.contains(n)).collect();
        for name in &removed {
            owners.remove(name);
        }
        let refused = self.server.change_tools(&removed, defs);
        let mut stale = Vec::new();
        for error in &refused {
            tracing::warn!(upstream = %upstream.name(), %error, "left out: its schema is not valid JSON Schema");
            if let tenet_server::BuildError::InvalidSchema { tool, .. }
            | tenet_server::BuildError::NotAnObjectSchema(tool) = error
            {
                names.remove(tool);
                // Listed before with a schema that compiled, it is still on the server.
                if owners.get(tool) == Some(&index) {
                    owners.remove(tool);
                    stale.push(tool.clone());
                }
            }
        }
        if !stale.is_empty() {
            self.server.change_tools(&stale, Vec::new());
        }
        left_out += refused.len();
        for name in &names {
            owners.insert(name.clone(), index);
        }
        let count = names.len();
        drop(owners);
        // A name is taken from a later upstream only if this one's tool was accepted.
        for (other, _) in taken_from.iter().filter(|(_, name)| names.contains(name)) {
            self.upstreams[*other].update(|s| {
                s.tools = s.tools.saturating_sub(1);
                s.tools_left_out += 1;
            });
        }
        upstream.update(|s| {
            s.tools = count;
            s.tools_left_out = left_out;
        });
    }

    /// Takes every tool of upstream `index` off the server, as one change.
    fn withdraw(&self, index: usize) {
        let mut owners = lock(&self.owners);
        let names = owned_by(&owners, index);
        for name in &names {
            owners.remove(name);
        }
        drop(owners);
        self.server.change_tools(&names, Vec::new());
        self.upstreams[index].update(|s| s.tools = 0);
    }
}

/// Keeps a `subscriptions/listen` stream open to a 2026 upstream, so that its
/// `tools/list_changed` reach the supervisor through the client's handler (as on a
/// legacy session), reopening it `retry` after the server ends it, until `stop` fires,
/// the connection is gone or the server refuses to listen.
async fn listen(client: tenet_client::Client, retry: Duration, stop: CancellationToken) {
    let filter = tenet_protocol::SubscriptionFilter {
        tools_list_changed: Some(true),
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
