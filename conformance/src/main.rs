//! The conformance fixture server: `PORT=3000 tenet-conformance-server` serves
//! `http://127.0.0.1:3000/mcp` to clients of both protocol eras until SIGINT/SIGTERM.
//! `PORT=0` picks a free port; the first line on stdout names the address.
//!
//! As a replica among several behind a load balancer: `TENET_STORE_URL` (a Redis URL)
//! shares legacy sessions and conversations' contexts there, and the replicas agree
//! there on the key that signs `requestState` (or take `TENET_STATE_SECRET`, the same
//! on every replica), so any replica continues an input round another began.

use std::process::ExitCode;

use std::sync::Arc;

use tenet_http::HttpConfig;
use tenet_redis::{Redis, RedisConfig, RedisContextStore, RedisSessionStore};
use tenet_server::CancellationToken;
use tenet_server::store::SessionStore;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let port = match std::env::var("PORT").map(|p| p.parse::<u16>()) {
        Err(_) => 3000,
        Ok(Ok(port)) => port,
        Ok(Err(e)) => {
            eprintln!("PORT must be a port number: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(port)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tenet-conformance-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let store = std::env::var("TENET_STORE_URL").ok().map(RedisConfig::new);
    let redis = store.clone().map(Redis::connect).transpose()?;
    let mut secret = std::env::var("TENET_STATE_SECRET").ok();
    if let (None, Some(store)) = (&secret, store) {
        // As `tenet serve` does: the replicas agree on the key through the store.
        secret = Some(tokio::task::spawn_blocking(move || tenet_redis::agreed_state_secret(&store)).await??);
    }
    let (server, triggers) = tenet_conformance::fixture_with(|mut builder| {
        if let Some(secret) = &secret {
            builder = builder.state_key(secret.as_bytes());
        }
        if let Some(redis) = &redis {
            builder = builder.context_store(Arc::new(RedisContextStore::new(redis.clone(), Default::default())));
        }
        builder
    })?;
    tokio::spawn(tenet_conformance::run_triggers(server.clone(), triggers));
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    if let Some(redis) = &redis {
        // Dates shared state by the store's clock, as `tenet serve` does.
        redis.watch(std::time::Duration::from_secs(1), shutdown.clone());
    }
    let config = HttpConfig {
        sse_retry: std::time::Duration::from_millis(500),
        session_store: redis.map(|redis| Arc::new(RedisSessionStore::new(redis)) as Arc<dyn SessionStore>),
        ..HttpConfig::on_port(port)
    };
    let listener = tokio::net::TcpListener::bind((config.host, config.port)).await?;
    // Scripts read the real port from this line (PORT=0 picks a free one).
    println!("listening on http://{}{}", listener.local_addr()?, config.path);
    tenet_http::serve_listener(listener, server, config, shutdown).await?;
    Ok(())
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match term.as_mut() {
            Some(term) => {
                term.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminated => {}
    }
    shutdown.cancel();
}
