//! `tenet serve`: serve MCP on stdio until the client goes away, or over HTTP until a
//! signal.

use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tenet_http::HttpConfig;
use tenet_http::auth::Auth;
use tenet_kb::KnowledgeBase;
use tenet_server::CancellationToken;
use tracing_subscriber::EnvFilter;

use super::startup::{self, Prepared};
use crate::args::{LogFormat, LogLevel, ServeArgs, Transport};
use crate::knowledge::KnowledgeServer;

/// Serves until the client goes away (stdio) or a signal arrives (HTTP). Exit status
/// 2 when the configuration is refused, 1 when serving fails.
pub fn run(args: &ServeArgs) -> ExitCode {
    init_logging(args.log_level, args.log_format);
    let prepared = match startup::prepare(args) {
        Ok(prepared) => prepared,
        Err(e) => {
            // Once, on stderr whatever the log level: the process ends here.
            eprintln!("tenet: {e}");
            return ExitCode::from(super::exit::USAGE);
        }
    };
    let Prepared { server, knowledge, skills, auth, upstreams, store, telemetry } = prepared;
    let node = match startup::node_identity(args) {
        Ok(node) => node,
        Err(e) => {
            eprintln!("tenet: {e}");
            return ExitCode::from(super::exit::USAGE);
        }
    };
    tenet_node::announce(&server, &node.id);
    let _watcher = knowledge.as_ref().and_then(|ks| {
        warn_about_content(&ks.knowledge.base());
        watch(ks, args)
    });
    // stdio serves one client: one thread avoids cross-thread wake-ups (measured:
    // ~20% more throughput and a faster start). HTTP serves many: a worker per core
    // the process may run on, or one thread when that is a single core. (Only HTTP asks
    // how many cores: the answer costs a dozen reads of /proc and cgroup files.)
    let many_cores = || std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    let runtime = match args.transport {
        Transport::Http if many_cores() => tokio::runtime::Builder::new_multi_thread().enable_all().build(),
        Transport::Stdio | Transport::Http => tokio::runtime::Builder::new_current_thread().enable_all().build(),
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tenet: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(on_signal(shutdown.clone()));
        // The shared store: legacy sessions kept there (HTTP), counted in the metrics,
        // and (over HTTP) checked every second for /ready.
        let sessions = store.as_ref().map(|store| {
            Arc::new(tenet_redis::RedisSessionStore::new(store.redis.clone()))
                as Arc<dyn tenet_server::store::SessionStore>
        });
        let store = store.and_then(|crate::store::SharedStore { redis, agreed_secret }| {
            if let Some(secret) = agreed_secret {
                redis.keep_state_secret(server.clone(), secret, STATE_SECRET_CHECK, shutdown.clone());
            }
            redis.register_metrics(server.metrics());
            matches!(args.transport, Transport::Http).then(|| redis.watch(Duration::from_secs(1), shutdown.clone()))
        });
        let options = tenet_gateway::GatewayOptions {
            node: Some(node.id.clone()),
            max_hops: args.node.max_hops as usize,
            // An upstream `tenet serve` is a node of its own, not this one again (nor
            // does it read this one's config file, with its upstreams).
            unset_env: ["TENET_NODE_ID", "TENET_STATE_DIR", crate::config::CONFIG_ENV].map(String::from).to_vec(),
            ..args.gateway.options()
        };
        let gateway = (!upstreams.is_empty())
            .then(|| tenet_gateway::Gateway::start_with_skills(server.clone(), upstreams, options, skills));
        let served = match args.transport {
            Transport::Stdio => {
                let grant = match crate::auth::stdio_grant(auth.as_deref(), args.auth.stdio_token.as_deref()).await {
                    Ok(grant) => grant,
                    Err(e) => return Err(Failure::Start(e)),
                };
                if let Some(gateway) = &gateway {
                    // A stdio client lists tools once, right after connecting: give the
                    // upstreams a moment to be in that list (later ones announce themselves).
                    if !gateway.wait_ready(STDIO_UPSTREAM_WAIT).await {
                        tracing::warn!("serving before every required upstream is up");
                    }
                }
                tracing::info!(version = env!("CARGO_PKG_VERSION"), node = %node.id, "serving MCP on stdio");
                if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                    eprint!("{FIRST_CONTACT}");
                }
                let (stdin, stdout) = tenet_transport::stdio::stdio();
                server.serve_as(stdin, stdout, shutdown, grant).await.map_err(Failure::Serve)
            }
            Transport::Http => {
                let status = crate::gateway::Status { gateway: gateway.clone(), node: node.id.clone(), store };
                let status = Some(Arc::new(status) as Arc<dyn tenet_http::StatusSource>);
                let page = knowledge.as_ref().and_then(|ks| web_page(args, ks, auth.is_some(), &shutdown));
                let shared = Beyond { status, sessions, page };
                serve_http(args, server, auth, shutdown, shared, &node.id).await
            }
        };
        if let Some(gateway) = gateway {
            gateway.shutdown().await;
        }
        served
    });
    let code = match outcome {
        Ok(()) => {
            tracing::info!("finished; every response written");
            0
        }
        Err(Failure::Start(e)) => {
            eprintln!("tenet: {e}");
            2
        }
        Err(Failure::Serve(e)) => {
            tracing::error!("transport error: {e}");
            1
        }
    };
    // Every request has been answered: send the spans still queued.
    if let Some(telemetry) = telemetry {
        telemetry.shutdown();
    }
    let _ = std::io::stderr().flush();
    // A read blocked on stdin (after a signal) would hold the runtime open: leave now,
    // everything has been written and flushed.
    std::process::exit(code)
}

/// How long a stdio gateway waits for its required upstreams before it serves.
const STDIO_UPSTREAM_WAIT: Duration = Duration::from_secs(10);

/// What `tenet serve` says on stderr when a person, not a client, started it: stdin is
/// a terminal. It then serves as usual (a line of JSON-RPC typed in is answered).
const FIRST_CONTACT: &str = "\
tenet serve speaks MCP on stdin and stdout, and waits for a client to start it and talk.
Connect one instead of typing here, for example:
  claude mcp add tenet -- tenet serve
  gemini mcp add tenet tenet serve
  codex mcp add tenet -- tenet serve
or serve many clients over HTTP: tenet serve --transport http (then http://127.0.0.1:3020/mcp).
To try it without a client: tenet tools -- tenet serve, or tenet search \"error handling\".
Ctrl-D ends it.
";

/// How often a replica asserts the state secret it agreed on through the store again
/// (a store that lost its data gets it back within this).
const STATE_SECRET_CHECK: Duration = Duration::from_secs(1);

/// Why serving ended badly.
enum Failure {
    /// It could not start (the address is taken, the stdio token is refused).
    Start(String),
    /// The transport failed while serving.
    Serve(std::io::Error),
}

/// What an HTTP endpoint shares beyond its MCP path: its status pages, and the store
/// where its legacy sessions are shared with other replicas.
struct Beyond {
    status: Option<Arc<dyn tenet_http::StatusSource>>,
    sessions: Option<Arc<dyn tenet_server::store::SessionStore>>,
    page: Option<tenet_http::Page>,
}

/// The standards' web page, unless turned off or authorization is on (a browser
/// sends no bearer token with a page it opens: the page would be open to anyone). It
/// follows the knowledge base's reloads, told of them by the server's announcements.
fn web_page(
    args: &ServeArgs,
    ks: &KnowledgeServer,
    auth: bool,
    shutdown: &CancellationToken,
) -> Option<tenet_http::Page> {
    if args.no_web {
        return None;
    }
    if auth {
        tracing::info!("no web page: authorization is on, and a browser would send no credentials");
        return None;
    }
    let knowledge = ks.knowledge.clone();
    let searches = knowledge.searches.clone();
    let site = tenet_web::Site::new(move || knowledge.base(), searches, &args.path, shutdown.clone());
    let mut events = ks.server.events();
    let (told, shutdown) = (site.clone(), shutdown.clone());
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => return,
                event = events.recv() => event,
            };
            match event {
                Ok(tenet_server::ServerEvent::ResourceUpdated(uri)) => told.changed(&uri),
                Ok(tenet_server::ServerEvent::ResourcesChanged)
                | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => told.changed("*"),
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    // A search on the page runs search_stdlib's engine: its rate limits hold there too.
    let calls = ["/search", "/search.json"]
        .map(|path| tenet_http::PageCall {
            path: path.into(),
            method: "tools/call".into(),
            target: Some("search_stdlib".into()),
        })
        .to_vec();
    Some(tenet_http::Page { router: site.router(), paths: tenet_web::PATHS.map(String::from).to_vec(), calls })
}

/// Binds the HTTP address first, so that what is logged is where clients can connect
/// (the real port when `--port 0` asked for any), then serves there.
async fn serve_http(
    args: &ServeArgs,
    server: tenet_server::Server,
    mut auth: Option<Arc<Auth>>,
    shutdown: CancellationToken,
    beyond: Beyond,
    node: &tenet_node::NodeId,
) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind((args.host, args.port))
        .await
        .map_err(|e| Failure::Start(bind_error(args.host, args.port, &e)))?;
    let bound = listener.local_addr().map_err(Failure::Serve)?;
    if bound.port() != args.port && args.auth.resource.is_none() {
        // The default resource names the port: it is known only now.
        let keep_tokens = auth.as_ref().is_some_and(|auth| auth.config().keep_presented_tokens);
        let resource = startup::default_resource(args, bound.port());
        auth = args.auth.build(&server, &resource, keep_tokens).map_err(Failure::Start)?;
    }
    let config = HttpConfig {
        host: args.host,
        port: bound.port(),
        path: args.path.clone(),
        allowed_origins: args.allowed_origins.clone(),
        allowed_hosts: args.allowed_hosts.clone(),
        cors_origins: args.cors_origins.clone(),
        max_body_bytes: usize::try_from(args.max_message_bytes).unwrap_or(usize::MAX),
        max_sessions: args.max_sessions as usize,
        max_sessions_per_caller: args.max_sessions_per_caller as usize,
        max_streams_per_caller: args.max_streams_per_caller as usize,
        max_connections: args.max_connections as usize,
        max_connections_per_address: args.max_connections_per_address.map(|n| n as usize),
        trusted_proxies: args.trusted_proxies.clone(),
        session_idle_timeout: Duration::from_secs_f64(args.session_idle_timeout),
        header_read_timeout: Duration::from_secs_f64(args.header_timeout),
        body_read_timeout: Duration::from_secs_f64(args.body_timeout),
        shutdown_grace: Duration::from_secs_f64(args.shutdown_grace),
        auth,
        metrics_path: (!args.no_metrics).then(|| args.metrics_path.clone()),
        websocket: tenet_http::WebSocketConfig {
            enabled: !args.no_websocket,
            max_sockets: args.max_websockets as usize,
            idle_timeout: Duration::from_secs_f64(args.session_idle_timeout),
            ..tenet_http::WebSocketConfig::default()
        },
        rest: !args.no_rest,
        page: beyond.page,
        status: beyond.status,
        session_store: beyond.sessions,
        ..HttpConfig::default()
    };
    if config.auth.is_none() && !config.host.is_loopback() {
        tracing::warn!("serving beyond loopback without authorization: anyone who can connect may call every tool");
    }
    // The WebSocket URL goes in a field: the message stays one URL a script can read.
    let websocket = config.websocket.enabled.then(|| format!("ws://{bound}{}", config.path));
    let openapi = config.rest.then(|| format!("http://{bound}/openapi.json"));
    let page = config.page.is_some().then(|| format!("http://{bound}/"));
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        websocket = websocket.as_deref().unwrap_or("off"),
        openapi = openapi.as_deref().unwrap_or("off"),
        page = page.as_deref().unwrap_or("off"),
        node = %node,
        "serving MCP over HTTP at http://{bound}{}",
        config.path
    );
    tenet_http::serve_listener(listener, server, config, shutdown).await.map_err(Failure::Serve)
}

/// A bind failure, with the address, and what to change when the port is taken.
fn bind_error(host: IpAddr, port: u16, e: &std::io::Error) -> String {
    let addr = std::net::SocketAddr::new(host, port);
    match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "cannot listen on {addr}: port {port} is already in use (is another tenet serve running?); \
             stop that process, or choose another port with --port (TENET_PORT, [http] port; 0 picks a free one)"
        ),
        std::io::ErrorKind::AddrNotAvailable => {
            format!("cannot listen on {addr}: {host} is not an address of this machine; choose another with --host")
        }
        std::io::ErrorKind::PermissionDenied => {
            format!(
                "cannot listen on {addr}: permission denied (ports below 1024 need privileges); choose another with --port"
            )
        }
        _ => format!("cannot listen on {addr} (--host {host} --port {port}): {e}"),
    }
}

/// Logs [`startup::content_warnings`] before serving starts.
fn warn_about_content(base: &KnowledgeBase) {
    for warning in startup::content_warnings(base) {
        tracing::warn!("{warning}");
    }
}

/// Reloads the knowledge base when a root folder changes (unless --no-watch).
fn watch(ks: &KnowledgeServer, args: &ServeArgs) -> Option<tenet_kb::watch::Watcher> {
    if args.no_watch || args.knowledge.roots.is_empty() {
        return None;
    }
    let reloader =
        KnowledgeServer { server: ks.server.clone(), knowledge: ks.knowledge.clone(), skills: ks.skills.clone() };
    let on_change = move |changes: tenet_kb::watch::Changes| {
        if let Err(e) = reloader.apply(&changes) {
            tracing::error!("reload failed, still serving the previous documents: {e}");
        }
    };
    // The watcher does not follow links: folders links may lead into are watched too.
    let mut dirs = args.knowledge.roots.clone();
    dirs.extend(args.knowledge.allow_link_targets.iter().cloned());
    match tenet_kb::watch::watch(&dirs, tenet_kb::watch::QUIET, on_change) {
        Ok(watcher) => Some(watcher),
        Err(e) => {
            tracing::warn!("not watching the roots for changes: {e}");
            None
        }
    }
}

async fn on_signal(shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: finishing requests in flight"),
            _ = int.recv() => tracing::info!("SIGINT: finishing requests in flight"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    shutdown.cancel();
}

/// Sends `tracing` events at `level` (or as `TENET_LOG` says) to stderr, in `format`.
pub fn init_logging(level: LogLevel, format: LogFormat) {
    let directive = match level {
        LogLevel::Off => "off",
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
    };
    let filter = EnvFilter::try_from_env("TENET_LOG").unwrap_or_else(|_| EnvFilter::new(directive));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false);
    let _ = match format {
        LogFormat::Pretty => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().with_current_span(true).flatten_event(true).try_init(),
    };
}
