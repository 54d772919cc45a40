//! A Tenet MCP endpoint mounted inside your own axum application: the app keeps its
//! routes, and `/mcp` serves MCP to clients of both eras (plus `/health`, `/ready`,
//! `/metrics`, and HTTP+SSE at `/sse` for 2024-11-05 clients), with Tenet's Host and
//! Origin checks, body limits and sessions.
//!
//! Run with: `cargo run -p example-http-behind-axum`, then
//! `tenet tools http://127.0.0.1:3030/mcp` or `curl http://127.0.0.1:3030/`.
//!
//! (`tenet_http::serve` does the serving for you, with connection caps, header
//! timeouts and graceful shutdown; this example shows the router on its own.)
//!
//! Serving it yourself, set `TCP_NODELAY` on every accepted connection, as `main`
//! does: without it Nagle's algorithm and delayed ACKs stall each streamed (SSE)
//! response by ~40 ms.

use tenet_http::axum::{self, Router, routing::get, serve::ListenerExt};
use tenet_http::{Endpoint, HttpConfig};
use tenet_server::{CancellationToken, Server, ToolDef};

async fn time() -> String {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{} seconds since 1970", since_epoch.as_secs())
}

/// The application: its own page, and the MCP endpoint beside it.
fn app(shutdown: CancellationToken) -> Result<Router, Box<dyn std::error::Error>> {
    let server = Server::builder("clock", env!("CARGO_PKG_VERSION"))
        .tool(ToolDef::new("time", time).description("The current Unix time").read_only())
        .build()?;
    let endpoint = Endpoint::new(server, HttpConfig::default(), shutdown);
    Ok(Router::new().route("/", get(|| async { "my app; MCP is at /mcp\n" })).merge(endpoint.router()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let shutdown = CancellationToken::new();
    let app = app(shutdown.clone())?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 3030)).await?.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            eprintln!("could not set TCP_NODELAY: {error}");
        }
    });
    eprintln!("serving http://127.0.0.1:3030/ and MCP at http://127.0.0.1:3030/mcp");
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await?;
    Ok(())
}
