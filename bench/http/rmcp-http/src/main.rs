//! Benchmark peer: `rmcp` 3.9.0 serving one `echo` tool over Streamable HTTP.
//!
//! `rmcp-http <port> stateless` — `legacy_session_mode = false`,
//! `json_response = true` (one JSON body per POST, no session);
//! `rmcp-http <port> session` — rmcp's default legacy session mode
//! (`initialize` mints an `Mcp-Session-Id`, responses as SSE).
//!
//! Served by axum on 127.0.0.1 with `TCP_NODELAY` set on every accepted
//! socket (rmcp's own examples leave Nagle on: ~44 ms per SSE response), on a
//! current-thread Tokio runtime since the server is pinned to one core.

use std::sync::Arc;

use axum::serve::ListenerExt;
use rmcp::{
    ErrorData, ServerHandler,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig},
    schemars, tool, tool_handler, tool_router,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};
use serde::Deserialize;

/// Arguments of the `echo` tool.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// The text to send back.
    text: String,
}

/// The server: its tool router only.
#[derive(Clone)]
struct EchoServer {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl EchoServer {
    fn new() -> Self {
        Self { tool_router: Self::tool_router() }
    }

    /// Return `text` unchanged as one text content block.
    #[tool(description = "Echo the given text back.")]
    async fn echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> Result<CallToolResult, ErrorData> {
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for EchoServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("rmcp-http", env!("CARGO_PKG_VERSION")))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().as_deref().unwrap_or("3031").parse()?;
    let stateless = args.next().as_deref() != Some("session");
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(!stateless)
        .with_json_response(stateless)
        .with_sse_keep_alive(None);
    let router = EchoServer::new();
    let service = StreamableHttpService::new(
        move || Ok(router.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let app = axum::Router::new().route_service("/mcp", service);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        eprintln!("rmcp-http listening on 127.0.0.1:{port}/mcp ({})", if stateless { "stateless" } else { "session" });
        axum::serve(listener, app).await?;
        Ok(())
    })
}
