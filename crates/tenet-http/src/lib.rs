//! Streamable HTTP for Tenet MCP servers: clients of both protocol eras on one URL.
//!
//! - **2026-07-28 (stateless)**: every POST stands alone. `MCP-Protocol-Version` must
//!   equal `_meta`'s version and `Mcp-Method` / `Mcp-Name` repeat the body (-32020);
//!   errors get the spec's statuses (400, 404 for unknown methods); a request is
//!   answered with JSON, or with an SSE stream when its handler sends progress or log
//!   messages first. Closing that stream cancels the request. `subscriptions/listen`
//!   streams until the server shuts down.
//! - **2025-11-25 and earlier (sessions)**: `initialize` mints a random
//!   `Mcp-Session-Id`; later requests name it (400 without, 404 when unknown or
//!   ended); DELETE ends it; GET opens the standalone stream. Server → client requests
//!   (sampling, elicitation, roots) go on the POST's SSE stream. From 2025-03-26 on its
//!   events are numbered and can be resumed with `Last-Event-ID`; only 2025-11-25
//!   streams open with a priming event (`retry:`, empty data) and may be ended early
//!   for the client to poll, since older clients parse every `data:` as JSON.
//!   Idle sessions expire.
//! - **2024-11-05 (HTTP+SSE)**: `GET /sse` announces where to POST; answers come back on
//!   that stream, so the oldest clients still connect.
//! - **Secure by default**: `Host` and `Origin` are checked (403) when bound to
//!   loopback, bodies are bounded (413), content types are checked (415/406), and
//!   connections and sessions are capped (503 with `Retry-After`). CORS is off unless
//!   `HttpConfig::cors_origins` lists the browser origins allowed.
//!
//! [`serve`] binds and serves; [`Endpoint::router`] gives the axum [`axum::Router`] to
//! mount in an app of your own. `GET /health`, `GET /ready` and `GET /metrics` (the
//! server's Prometheus metrics, see [`HttpConfig::metrics_path`]) sit beside the endpoint.
//!
//! ```
//! use tenet_http::{Endpoint, HttpConfig};
//! use tenet_server::{CancellationToken, Server, ToolDef};
//! use tower::ServiceExt;
//!
//! async fn hello() -> String {
//!     "Hello!".into()
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let server = Server::builder("hello", "1.0.0")
//!     .tool(ToolDef::new("hello", hello).description("Say hello"))
//!     .build()
//!     .unwrap();
//! let endpoint = Endpoint::new(server, HttpConfig::default(), CancellationToken::new());
//!
//! // A stateless (2026-07-28) call, served in process: no socket needed.
//! let meta = r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
//! let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"hello","_meta":{meta}}}}}"#);
//! let request = axum::http::Request::post("/mcp")
//!     .header("host", "localhost:3020")
//!     .header("content-type", "application/json")
//!     .header("accept", "application/json, text/event-stream")
//!     .header("mcp-protocol-version", "2026-07-28")
//!     .header("mcp-method", "tools/call")
//!     .header("mcp-name", "hello")
//!     .body(axum::body::Body::from(body))
//!     .unwrap();
//! let response = endpoint.router().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//! let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
//! let reply: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
//! assert_eq!(reply["result"]["content"][0]["text"], "Hello!");
//! # });
//! ```
//!
//! To listen on a port instead: `tenet_http::serve(server, HttpConfig::on_port(3020), shutdown).await`.

mod addresses;
pub mod auth;
mod body;
mod caller;
mod config;
mod cors;
mod door;
mod endpoint;
mod exchange;
mod forwarded;
mod gate;
mod guard;
mod headers;
mod legacy;
mod modern;
mod param;
mod replay;
mod response;
mod rest;
mod router;
mod serve;
mod session;
mod shared;
mod sockets;
mod sse;
mod sse_connections;
mod sse_transport;
mod stream_log;
mod streams;
mod unread;
mod websocket;

pub use caller::ClientAddr;
pub use config::{HttpConfig, Page, PageCall, StatusSource, WebSocketConfig};
pub use router::{Endpoint, STATUS_SCOPE, router};
pub use serve::{serve, serve_listener};

pub use axum;
/// Networks, as [`HttpConfig::trusted_proxies`] names them.
pub use ipnet::IpNet;

/// What the fuzz targets drive (`fuzz/`): present only in builds with `--cfg fuzzing`.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use axum::http::HeaderMap;

    pub use crate::websocket::serve_upgraded as websocket;

    /// Reads `headers` and `query` as the auth layer does: the bearer token, whether
    /// the query carries one, and for a token its header, then its claims decoded
    /// (signature unchecked) and read for what they would grant: the scope.
    pub fn bearer(headers: &HeaderMap, query: &str) -> Result<String, String> {
        let _ = crate::auth::query_has_token(query);
        let token = crate::auth::bearer(headers).map_err(|e| format!("{e:?}"))?;
        crate::auth::jwt::fuzz_token(token).map_err(|e| format!("{e:?}"))
    }

    /// The server's check that the `Mcp-Param-*` headers repeat the arguments.
    pub fn param_check(
        params: &[tenet_server::protocol::header::HeaderParam],
        headers: &HeaderMap,
        arguments: &serde_json::Value,
    ) -> Result<(), String> {
        crate::param::check(params, headers, arguments).map_err(|e| e.message.into_owned())
    }

    /// Reads `jwk` as a key of a JWKS document.
    pub fn jwk(jwk: &serde_json::Value) -> bool {
        crate::auth::jwt::key_from_jwk(jwk).is_some()
    }
}
