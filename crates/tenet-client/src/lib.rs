//! A dual-era MCP client: typed calls to any MCP server, old or new, over stdio,
//! Streamable HTTP, HTTP+SSE, WebSocket or an in-memory pipe.
//!
//! - **Both eras, automatically.** On stdio and WebSocket the client probes with
//!   `server/discover` (2026-07-28) and falls back to the `initialize` handshake on
//!   any failure; on HTTP it falls back from a modern request to an initialize
//!   session, and from there to HTTP+SSE (2024-11-05). After -32022 it retries with
//!   a version the server names. [`VersionPin`] pins an era or a version.
//! - **Every server method**, typed: tools, resources (templates, subscriptions),
//!   prompts, completion, logging, `subscriptions/listen`, with pagination helpers
//!   ([`Client::list_all`]), per-request timeouts, progress callbacks and cancellation
//!   ([`RequestOptions`]).
//! - **Results read once.** [`Client::request_raw`] hands back a result as the server
//!   sent it ([`RawResult`]): its `resultType` and `isError` are known, and it is read
//!   straight into the caller's type, or passed on, without a JSON tree in between.
//! - **The application's answers** ([`ClientHandler`]: sampling, elicitation, roots)
//!   serve both legacy server → client requests and 2026 input-required rounds.
//! - **HTTP details**: sessions, SSE resumption with `Last-Event-ID` and `retry`,
//!   `Mcp-Method` / `Mcp-Name` / `Mcp-Param-*` headers (tools with invalid
//!   `x-mcp-header` annotations are dropped), and an [`AuthHook`] for credentials
//!   (with the `oauth` feature, `OAuthHook`: OAuth 2.1 with discovery, registration,
//!   step-up, refresh and DPoP).
//! - **WebSocket** (`ws://`, `wss://`; the SEP-1288 draft): subprotocol `mcp`, one
//!   JSON-RPC message per text frame, server requests at any time, the close code and
//!   reason in [`ClientError::WebSocketClosed`], credentials on the upgrade.
//!
//! ```
//! use serde_json::json;
//! use tenet_client::Client;
//! use tenet_server::{Server, ToolDef};
//!
//! async fn hello() -> String {
//!     "Hello!".into()
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let server = Server::builder("hello", "1.0.0").tool(ToolDef::new("hello", hello)).build().unwrap();
//! let (client_end, server_end) = tenet_transport::memory::pair();
//! let (read, write) = tokio::io::split(server_end);
//! tokio::spawn(async move { server.serve(read, write, Default::default()).await });
//!
//! let (read, write) = tokio::io::split(client_end);
//! let client = Client::builder().connect_pipe(read, write).await.unwrap();
//! assert_eq!(client.version().as_str(), "2026-07-28");
//! let tools = client.list_all_tools().await.unwrap();
//! assert_eq!(tools[0].name, "hello");
//! let result = client.call_tool("hello", json!({})).await.unwrap();
//! assert_eq!(serde_json::to_value(&result.content[0]).unwrap()["text"], "Hello!");
//! client.close().await;
//! # });
//! ```
//!
//! To talk to a process: `Client::builder().connect_stdio("tenet", &["serve".into()])`;
//! to a URL: `Client::builder().connect_http("http://127.0.0.1:3000/mcp")`, which
//! takes `ws://127.0.0.1:3000/mcp` too (or [`ClientBuilder::connect_websocket`]).

mod api;
mod builder;
mod client;
mod error;
mod handler;
mod inbound;
#[cfg(feature = "oauth")]
mod oauth_hook;
mod options;
mod result;
mod skills;
mod stamp;
mod tasks;
mod transport;

/// A map keyed by what this client chose (its request ids, its progress tokens): a fast
/// hasher is safe, since no peer can pick keys that collide.
pub(crate) type OwnKeyed<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

pub use api::Page;
pub use builder::ClientBuilder;
pub use client::{Client, ServerDetails};
pub use error::{ClientError, HookError, Result};
pub use handler::{ClientHandler, NoHandler, ServerNotification, apply_defaults};
pub use inbound::ProgressCallback;
#[cfg(feature = "oauth")]
pub use oauth_hook::OAuthHook;
pub use options::{RequestOptions, VersionPin};
pub use result::RawResult;
pub use skills::SkillFileError;
pub use stamp::WrittenMeta;
/// The OAuth 2.1 client behind [`OAuthHook`] (feature `oauth`).
#[cfg(feature = "oauth")]
pub use tenet_oauth as oauth;
pub use tenet_protocol as protocol;
pub use tenet_protocol::header::{HeaderParam, InvalidAnnotation, encode_value, header_params, param_headers};
pub use tokio_util::sync::CancellationToken;
pub use transport::auth::{AuthChallenge, AuthHook, AuthResponse, StaticAuth};
pub use transport::{MASK, UrlError, check_server_url, is_server_url, shown_url};

/// What the fuzz targets drive (`fuzz/`): present only in builds with `--cfg fuzzing`.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    /// An `text/event-stream` body, fed in `chunks`: each event's type and data, then the
    /// last event id and retry time the parser kept.
    pub fn sse<'a>(
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> (Vec<(Option<String>, String)>, Option<String>, Option<u64>) {
        // No limit: how events are split must not depend on how the body is chunked
        // (the limit's own behaviour is unit-tested in transport::sse).
        let mut parser = crate::transport::sse::Parser::with_limit(usize::MAX);
        let mut events = Vec::new();
        for chunk in chunks {
            let Ok(done) = parser.push(chunk) else { break };
            events.extend(done.into_iter().map(|e| (e.kind, e.data)));
        }
        (events, parser.last_id, parser.retry_ms)
    }
}
