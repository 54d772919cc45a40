//! `tenet serve`: serve MCP on stdio until the client goes away.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use tenet_http::HttpConfig;
use tenet_server::{CancellationToken, ServerConfig};
use tracing_subscriber::EnvFilter;

use crate::args::{KnowledgeArgs, LogFormat, LogLevel, ServeArgs, Transport};
use crate::demo;
use crate::knowledge::{self, KnowledgeServer, Limits};
use tenet_kb::{KnowledgeBase, Root};

pub fn run(args: &ServeArgs) -> ExitCode {
    init_logging(args.log_level, args.log_format);
    if !args.no_metrics && args.metrics_path == args.path {
        eprintln!("tenet: --metrics-path {} is the MCP endpoint's path; choose another or --no-metrics", args.path);
        return ExitCode::from(2);
    }
    let rate_limit = match args.limits.build() {
        Ok(limiter) => limiter,
        Err(e) => {
            eprintln!("tenet: {e}");
            return ExitCode::from(2);
        }
    };
    let config = ServerConfig {
        // Stream clients are limited by the server; HTTP clients by the endpoint, per caller.
        rate_limit: if matches!(args.transport, Transport::Stdio) { rate_limit.clone() } else { None },
        tool_timeout: Duration::from_secs_f64(args.timeout),
        max_concurrent_requests: args.max_concurrent_requests as usize,
        max_message_bytes: usize::try_from(args.max_message_bytes).unwrap_or(usize::MAX),
        cache_max_bytes: args.limits.cache_bytes(),
        tool_concurrency: args.limits.tool_concurrency(),
        // Only HTTP can serve them; on stdio, or with --no-metrics, nothing is counted.
        metrics: matches!(args.transport, Transport::Http) && !args.no_metrics,
        ..ServerConfig::default()
    };
    let mut _watcher = None;
    let built = if args.demo {
        demo::server(config).map_err(|e| e.to_string())
    } else {
        knowledge_server(args, config).map(|ks| {
            _watcher = watch(&ks, args);
            ks.server
        })
    };
    let server = match built {
        Ok(server) => server,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            eprintln!("tenet: {e}");
            return ExitCode::from(2);
        }
    };
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
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(on_signal(shutdown.clone()));
        match args.transport {
            Transport::Stdio => {
                let grant = match stdio_grant(args, &server).await {
                    Ok(grant) => grant,
                    Err(e) => return Err(std::io::Error::other(e)),
                };
                tracing::info!(version = env!("CARGO_PKG_VERSION"), "serving MCP on stdio");
                let (stdin, stdout) = tenet_transport::stdio::stdio();
                server.serve_as(stdin, stdout, shutdown, grant).await
            }
            Transport::Http => {
                let config = HttpConfig {
                    host: args.host,
                    port: args.port,
                    path: args.path.clone(),
                    allowed_origins: args.allowed_origins.clone(),
                    allowed_hosts: args.allowed_hosts.clone(),
                    cors_origins: args.cors_origins.clone(),
                    max_body_bytes: usize::try_from(args.max_message_bytes).unwrap_or(usize::MAX),
                    max_sessions: args.max_sessions as usize,
                    max_connections: args.max_connections as usize,
                    session_idle_timeout: Duration::from_secs_f64(args.session_idle_timeout),
                    header_read_timeout: Duration::from_secs_f64(args.header_timeout),
                    shutdown_grace: Duration::from_secs_f64(args.shutdown_grace),
                    auth: args.auth.build(&server, &default_resource(args)).map_err(std::io::Error::other)?,
                    rate_limit,
                    metrics_path: (!args.no_metrics).then(|| args.metrics_path.clone()),
                    ..HttpConfig::default()
                };
                if config.auth.is_none() && !config.host.is_loopback() {
                    tracing::warn!(
                        "serving beyond loopback without authorization: anyone who can connect may call every tool"
                    );
                }
                tracing::info!(
                    version = env!("CARGO_PKG_VERSION"),
                    "serving MCP over HTTP at http://{}:{}{}",
                    config.host,
                    config.port,
                    config.path
                );
                tenet_http::serve(server, config, shutdown).await
            }
        }
    });
    let code = match outcome {
        Ok(()) => {
            tracing::info!("finished; every response written");
            0
        }
        Err(e) => {
            tracing::error!("transport error: {e}");
            1
        }
    };
    let _ = std::io::stderr().flush();
    // A read blocked on stdin (after a signal) would hold the runtime open: leave now,
    // everything has been written and flushed.
    std::process::exit(code)
}

/// The URI clients use when `--auth-resource` is not given.
fn default_resource(args: &ServeArgs) -> String {
    match args.host {
        std::net::IpAddr::V6(ip) => format!("http://[{ip}]:{}{}", args.port, args.path),
        std::net::IpAddr::V4(ip) => format!("http://{ip}:{}{}", args.port, args.path),
    }
}

/// The stdio client's grant, from `TENET_TOKEN` checked like an HTTP bearer token.
async fn stdio_grant(
    args: &ServeArgs,
    server: &tenet_server::Server,
) -> Result<Option<std::sync::Arc<tenet_server::Grant>>, String> {
    let auth = args.auth.build(server, &default_resource(args))?;
    crate::auth::stdio_grant(auth.as_deref(), args.auth.stdio_token.as_deref()).await
}

/// Reloads the knowledge base when a root folder changes (unless --no-watch).
fn watch(ks: &KnowledgeServer, args: &ServeArgs) -> Option<tenet_kb::watch::Watcher> {
    if args.no_watch || args.knowledge.roots.is_empty() {
        return None;
    }
    let reloader = KnowledgeServer { server: ks.server.clone(), knowledge: ks.knowledge.clone() };
    let on_change = move |changes: tenet_kb::watch::Changes| {
        if let Err(e) = reloader.apply(&changes) {
            tracing::error!("reload failed, still serving the previous documents: {e}");
        }
    };
    match tenet_kb::watch::watch(&args.knowledge.roots, tenet_kb::watch::QUIET, on_change) {
        Ok(watcher) => Some(watcher),
        Err(e) => {
            tracing::warn!("not watching the roots for changes: {e}");
            None
        }
    }
}

fn knowledge_server(args: &ServeArgs, config: ServerConfig) -> Result<KnowledgeServer, String> {
    let (base, mut limits) = load(&args.knowledge)?;
    limits.cache_ttl = args.limits.cache_ttl();
    knowledge::server(base, limits, config).map_err(|e| e.to_string())
}

/// Loads the roots the arguments name, logging what loading had to say.
pub fn load(args: &KnowledgeArgs) -> Result<(KnowledgeBase, Limits), String> {
    let mut roots = Vec::new();
    if !args.no_builtin {
        roots.push(Root::Builtin);
    }
    roots.extend(args.roots.iter().cloned().map(Root::Dir));
    if roots.is_empty() {
        return Err("nothing to serve: --no-builtin needs at least one --root".into());
    }
    let base = KnowledgeBase::load(&roots).map_err(|e| e.to_string())?;
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
