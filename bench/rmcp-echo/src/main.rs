//! Benchmark peer: a stdio MCP server built on `rmcp` 3.9.0.
//!
//! It exposes exactly one tool, `echo`, taking `{"text": string}` and
//! returning that text as a single text content block — the same tool Tenet's
//! demo server exposes, so the two can be driven by the same load.
//!
//! The runtime matches Tenet's: multi-thread Tokio with 2 workers. Pass
//! `pipes` as the first argument to use rmcp's non-blocking
//! [`stdio_pipes`](rmcp::transport::io::stdio_pipes) transport instead of the
//! default, documented [`stdio`](rmcp::transport::stdio) one.

use rmcp::{
    ErrorData, ServerHandler, ServiceExt,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig},
    schemars, tool, tool_handler, tool_router,
};
use serde::Deserialize;

/// Arguments of the `echo` tool.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// The text to send back.
    text: String,
}

/// The server: nothing but its tool router, built once and reused for every
/// call (`#[tool_handler]` would otherwise rebuild it per request).
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
            .with_server_info(Implementation::new("rmcp-echo", env!("CARGO_PKG_VERSION")))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pipes = std::env::args().nth(1).as_deref() == Some("pipes");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let service = if pipes {
            EchoServer::new().serve(rmcp::transport::io::stdio_pipes()).await?
        } else {
            EchoServer::new().serve(rmcp::transport::stdio()).await?
        };
        service.waiting().await?;
        Ok(())
    })
}
