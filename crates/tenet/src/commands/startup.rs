//! What `tenet serve` checks and builds before it serves, in one place: `serve` runs
//! it to start, and `tenet config check` runs the same to approve a configuration, so
//! the two cannot disagree.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tenet_http::auth::Auth;
use tenet_kb::lint::injections;
use tenet_kb::{KnowledgeBase, LinkPolicy, Root};
use tenet_server::{Server, ServerConfig};

use crate::args::{KnowledgeArgs, ServeArgs, Transport};
use crate::demo;
use crate::knowledge::{self, KnowledgeServer, Limits};

/// Why `tenet serve` cannot start with a configuration. Every one is a usage error
/// (exit status 2).
#[derive(Debug)]
pub enum StartError {
    /// The metrics path is the MCP endpoint's path.
    MetricsPathClash(String),
    /// A rate limit that does not parse.
    Limits(String),
    /// `--no-builtin` without a `--root`.
    NothingToServe,
    /// A root that cannot be read.
    Knowledge(String),
    /// Authorization settings that do not work (an unreadable key file, a bad URL…).
    Auth(String),
    /// The server could not be assembled from the documents.
    Build(String),
    /// An `[[upstream]]` table or `--upstream` flag that cannot run.
    Gateway(crate::gateway::GatewayError),
    /// The node's kept id cannot be read.
    Node(tenet_node::IdentityError),
    /// The `[store]` settings do not work.
    Store(String),
    /// The `[telemetry]` settings or `OTEL_*` variables do not work.
    Telemetry(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MetricsPathClash(path) => {
                write!(f, "--metrics-path {path} is the MCP endpoint's path; choose another or --no-metrics")
            }
            Self::Limits(e)
            | Self::Knowledge(e)
            | Self::Auth(e)
            | Self::Build(e)
            | Self::Telemetry(e)
            | Self::Store(e) => f.write_str(e),
            Self::Gateway(e) => e.fmt(f),
            Self::NothingToServe => f.write_str("nothing to serve: --no-builtin needs at least one --root"),
            Self::Node(e) => write!(f, "node id: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A checked configuration, ready to serve.
pub struct Prepared {
    /// The MCP server (the knowledge server, or the demo tools).
    pub server: Server,
    /// The knowledge server's documents, for reloading (not with `--demo`).
    pub knowledge: Option<KnowledgeServer>,
    /// The skills the server serves, where a gateway mounts its upstreams' (the knowledge
    /// server's; with `--no-local-tools`, none of its own).
    pub skills: Option<Arc<tenet_skills::Skills>>,
    /// The authorization checks, built for the configured port.
    pub auth: Option<Arc<Auth>>,
    /// The MCP servers to front (`[[upstream]]`, `--upstream`) and the peers
    /// (`[[peer]]`, `--peer`).
    pub upstreams: Vec<tenet_gateway::UpstreamConfig>,
    /// The store replicas share (`[store]`), if there is one.
    pub store: Option<crate::store::SharedStore>,
    /// The span exporter (`[telemetry]`), when traces are on: shut it down last.
    pub telemetry: Option<Arc<tenet_telemetry::OtlpSink>>,
}

/// Runs every check `tenet serve` makes before it serves and builds what it serves.
///
/// # Errors
/// The first check that fails.
pub fn prepare(args: &ServeArgs) -> Result<Prepared, StartError> {
    if !args.no_metrics && args.metrics_path == args.path {
        return Err(StartError::MetricsPathClash(args.path.clone()));
    }
    let mut rate_limit = args.limits.build().map_err(StartError::Limits)?;
    let mut config = ServerConfig {
        tool_timeout: Duration::from_secs_f64(args.timeout),
        max_concurrent_requests: args.max_concurrent_requests as usize,
        max_message_bytes: usize::try_from(args.max_message_bytes).unwrap_or(usize::MAX),
        cache_max_bytes: args.limits.cache_bytes(),
        tool_concurrency: args.limits.tool_concurrency(),
        context_limits: args.limits.context_limits(),
        task_limits: args.limits.task_limits(),
        // Only HTTP can serve them; on stdio, or with --no-metrics, nothing is counted.
        metrics: matches!(args.transport, Transport::Http) && !args.no_metrics,
        reexport: args.node.reexport.then_some(args.node.max_hops as usize),
        ..ServerConfig::default()
    };
    let store = args.store.apply(&mut config).map_err(StartError::Store)?;
    let telemetry = args.telemetry.start().map_err(StartError::Telemetry)?;
    config.spans = telemetry.clone().map(|sink| sink as Arc<dyn tenet_server::spans::SpanSink>);
    if let (Some(crate::store::SharedStore { redis, .. }), Transport::Http) = (&store, args.transport) {
        // Replicas take from one bucket per client: a client gets its rate in total, the
        // configured ones and the tools' own (a gateway table's `rate_limit`).
        let shared: Arc<dyn tenet_server::RateStore> = Arc::new(tenet_redis::RedisRateStore::new(redis.clone()));
        if let Some(limiter) = &rate_limit {
            let limits = limiter.limits().clone();
            rate_limit = Some(Arc::new(tenet_server::RateLimiter::new(limits).shared(shared.clone())));
        }
        config.rate_store = Some(shared);
    }
    // Every request passes them at the server's one door, whatever its transport.
    config.rate_limit = rate_limit;
    let upstreams = args.gateway.upstreams(args.config.as_deref()).map_err(StartError::Gateway)?;
    let gateway = !upstreams.is_empty();
    let (server, knowledge, skills) = if gateway && args.gateway.no_local_tools {
        // No skills of its own: the upstreams' are mounted on it.
        let skills = tenet_skills::Skills::new(tenet_skills::Catalog::default());
        let builder = tenet_server::Server::builder("tenet", env!("CARGO_PKG_VERSION")).dynamic().tasks();
        let builder = skills.methods().into_iter().fold(builder, tenet_server::ServerBuilder::method);
        let server = builder.config(config).build().map_err(|e| StartError::Build(e.to_string()))?;
        if let Some(refused) = server.change_hidden_templates(&[], [skills.files()]).into_iter().next() {
            return Err(StartError::Build(refused.to_string()));
        }
        (server, None, Some(skills))
    } else if args.demo {
        (demo::server(config, gateway).map_err(|e| StartError::Build(e.to_string()))?, None, None)
    } else {
        let (base, mut limits) = load(&args.knowledge)?;
        limits.cache_ttl = args.limits.cache_ttl();
        let ks = knowledge::server(base, limits, config, gateway).map_err(|e| StartError::Build(e.to_string()))?;
        ks.knowledge.searches.log_queries(args.log_weak_searches);
        let skills = Some(ks.skills.clone());
        (ks.server.clone(), Some(ks), skills)
    };
    // A caller's token is kept with its grant only for an upstream that exchanges it.
    let exchanges = upstreams.iter().any(|u| u.oauth.as_ref().is_some_and(|oauth| oauth.token_exchange));
    let auth = args.auth.build(&server, &default_resource(args, args.port), exchanges).map_err(StartError::Auth)?;
    let mut upstreams = upstreams;
    if auth.is_some() {
        scope_upstreams(&mut upstreams);
    }
    Ok(Prepared { server, knowledge, skills, auth, upstreams, store, telemetry })
}

/// With authorization on, the tools of an upstream or peer whose table names no scopes
/// need its default one ([`tenet_gateway::UpstreamConfig::default_scope`]) unless the
/// table sets `open = true`; start-up says which are open, and what the others need.
pub fn scope_upstreams(upstreams: &mut [tenet_gateway::UpstreamConfig]) {
    for upstream in upstreams.iter_mut().filter(|u| u.scopes.is_empty()) {
        let kind = if upstream.peer { "peer" } else { "upstream" };
        let name = if upstream.name.is_empty() { upstream.target() } else { upstream.name.clone() };
        if upstream.open {
            tracing::warn!("{kind} {name} is open (open = true): every authorized caller may use what it offers");
        } else {
            let scope = upstream.default_scope();
            tracing::info!("{kind} {name}: what it offers needs the scope {scope} (or set scopes, or open = true)");
            upstream.scopes.push(scope);
        }
    }
}

/// Who `tenet serve` is as a node: `--node-id`; else the id kept in `--state-dir`;
/// else, for an HTTP server on a fixed port, the id kept for that address in the
/// default state directory (one node per address: several on one machine differ);
/// else (stdio, whose server is its client's own process, or port 0) an id for this run.
///
/// # Errors
/// A kept id that cannot be read or is not an id, or no randomness for a new one.
pub fn node_identity(args: &ServeArgs) -> Result<tenet_node::Identity, StartError> {
    let fixed_address = matches!(args.transport, Transport::Http) && args.port != 0;
    let state_dir = args.node.state_dir.clone().or_else(|| {
        // One directory per address (`:` of an IPv6 address as `_`).
        let address = format!("http-{}-{}", args.host, args.port).replace(':', "_");
        fixed_address.then(tenet_node::default_state_dir).flatten().map(|dir| dir.join(address))
    });
    if fixed_address && state_dir.is_none() {
        tracing::warn!(
            "no state directory (no --state-dir, $XDG_STATE_HOME or $HOME): the node id lasts this run only"
        );
    }
    let kept = state_dir.is_some();
    let node = tenet_node::Identity::load(args.node.id.clone(), state_dir.as_deref()).map_err(StartError::Node)?;
    match &node.source {
        tenet_node::Source::Ephemeral(why) if kept => {
            tracing::warn!(node = %node.id, "node id lasts this run only: {why}");
        }
        source => tracing::debug!(node = %node.id, ?source, "node id"),
    }
    Ok(node)
}

/// The URI clients use when `--auth-resource` is not given, for the port served on.
pub fn default_resource(args: &ServeArgs, port: u16) -> String {
    match args.host {
        std::net::IpAddr::V6(ip) => format!("http://[{ip}]:{port}{}", args.path),
        std::net::IpAddr::V4(ip) => format!("http://{ip}:{port}{}", args.path),
    }
}

/// Loads the roots the arguments name, logging what loading had to say.
///
/// # Errors
/// Nothing to load, or a root that cannot be read.
pub fn load(args: &KnowledgeArgs) -> Result<(KnowledgeBase, Limits), StartError> {
    let mut roots = Vec::new();
    if !args.no_builtin {
        roots.push(Root::Builtin);
    }
    roots.extend(args.roots.iter().cloned().map(Root::Dir));
    if roots.is_empty() {
        return Err(StartError::NothingToServe);
    }
    let links = link_policy(&args.allow_link_targets).map_err(StartError::Knowledge)?;
    let base = KnowledgeBase::load_with(&roots, &links).map_err(|e| StartError::Knowledge(e.to_string()))?;
    for warning in base.warnings() {
        tracing::warn!("{warning}");
    }
    tracing::info!(documents = base.documents().len(), languages = base.languages().len(), "knowledge base loaded");
    let cap = usize::try_from(args.max_tokens_cap).unwrap_or(usize::MAX);
    let limits = Limits {
        default_max_tokens: usize::try_from(args.max_tokens).unwrap_or(cap).min(cap),
        max_tokens_cap: cap,
        cache_ttl: None,
    };
    Ok((base, limits))
}

/// The rule for symbolic links that `--allow-link-target` folders make: links may lead
/// into those folders (and anywhere inside a root), nowhere else.
///
/// # Errors
/// A folder that does not exist, is not a folder, or is a system folder, named with
/// the option.
pub fn link_policy(allowed: &[std::path::PathBuf]) -> Result<LinkPolicy, String> {
    allowed.iter().try_fold(LinkPolicy::new(), |links, dir| {
        links.allow(dir).map_err(|e| format!("--allow-link-target {}: {e}", dir.display()))
    })
}

/// Warnings about what is being served that the operator should hear of at start:
/// no documents at all, and documents `tenet check` flags as prompt injection. Each
/// says how to make it go away.
pub fn content_warnings(base: &KnowledgeBase) -> Vec<String> {
    let mut warnings = Vec::new();
    let dirs: Vec<String> = base
        .roots()
        .iter()
        .filter_map(|root| match root {
            Root::Dir(dir) => Some(dir.display().to_string()),
            Root::Builtin => None,
        })
        .collect();
    if base.documents().is_empty() {
        warnings.push(format!(
            "serving 0 documents: {} holds no standards (<language>/<domain>.md); add some, pass another --root, \
             or drop --no-builtin to serve the built-in corpus",
            if dirs.is_empty() { "no root".to_owned() } else { dirs.join(", ") }
        ));
    }
    for finding in injections(base) {
        let root = base.roots().iter().find_map(|root| match root {
            Root::Dir(dir) if finding.file.starts_with(dir) => Some(dir.display().to_string()),
            _ => None,
        });
        warnings.push(format!(
            "{}:{}: {}; it is served as written: fix the document (`tenet check {}` lists every finding)",
            finding.file.display(),
            finding.line,
            finding.message,
            root.as_deref().unwrap_or("DIR"),
        ));
    }
    warnings
}
