//! The Tenet MCP server runtime: one server for clients of every MCP version.
//!
//! Register tools (plain async fns whose arguments are extractors), resources,
//! templates and prompts on a [`ServerBuilder`]; serve the [`Server`] over stdio, an
//! in-memory pipe, or HTTP (in `tenet-http`). Legacy clients (`initialize`, 2024-11-05
//! to 2025-11-25) and stateless 2026-07-28 clients are served side by side: a request
//! whose `_meta` names a protocol version is served statelessly; `initialize` starts a
//! legacy session.
//!
//! Arguments are checked against the tool's advertised input schema (compiled once)
//! before the handler runs; a failed check is an `isError` result naming the field.
//! A handler that panics or runs past its timeout becomes an error result too.
//!
//! Tools, resources and templates marked `cacheable(ttl)` are answered from a
//! response cache shared by every connection (byte-bounded, per-entry TTL, dropped by
//! the changes the server announces; see [`ServerConfig::cache_max_bytes`] and
//! [`Server::cache_stats`]). [`ToolDef::max_concurrency`] (or
//! [`ServerConfig::tool_concurrency`]) caps how many calls of one tool run at once.
//!
//! Every request is counted and timed in [`Server::metrics`] (Prometheus, see
//! [`metrics`]) and logged as one `debug` event under [`REQUEST_TARGET`]; a W3C
//! `traceparent` in `_meta` is seen by handlers as [`Context::trace`] and carried on
//! the requests they send the client.
//!
//! A tool declared with [`ToolDef::task_support`] runs in the background as a task for
//! clients that can take a task handle: legacy 2025-11-25 clients that ask with the
//! `task` param, and 2026-07-28 requests that list the tasks extension
//! (`io.modelcontextprotocol/tasks`), polled with `tasks/get` and answered with
//! `tasks/update`.
//!
//! ```
//! use tenet_server::{Args, Context, Server, ToolDef};
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Add { a: i64, b: i64 }
//!
//! async fn add(_ctx: Context, Args(Add { a, b }): Args<Add>) -> String {
//!     (a + b).to_string()
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let server = Server::builder("calc", "1.0.0")
//!     .tool(ToolDef::new("add", add).description("Add two integers"))
//!     .build()
//!     .unwrap();
//!
//! // Talk to it over an in-memory pipe, one JSON-RPC message per line.
//! let (client, server_end) = tenet_transport::memory::pair();
//! let (read, write) = tokio::io::split(server_end);
//! tokio::spawn(async move { server.serve(read, write, Default::default()).await });
//!
//! use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//! let (read, mut write) = tokio::io::split(client);
//! let mut lines = BufReader::new(read).lines();
//! let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
//! let call = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"add","arguments":{{"a":2,"b":3}},{meta}}}}}"#);
//! write.write_all(format!("{call}\n").as_bytes()).await.unwrap();
//! let reply: serde_json::Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
//! assert_eq!(reply["result"]["content"][0]["text"], "5");
//! assert_eq!(reply["result"]["resultType"], "complete");
//! # });
//! ```

mod body;
pub mod clock;
mod driver;
mod error;
mod event;
mod grant;
mod handler;
mod handshake;
mod hex;
mod limits;
mod observe;
mod replicas;
mod routing;
mod server;
mod session;
pub mod store;
mod tasks;

/// A map looked up on every request (the requests in flight by id, the registries by
/// name): foldhash, seeded at random per process, in place of SipHash, which took 3 % of
/// a stdio `tools/call`'s instructions here. foldhash does not claim to withstand keys
/// chosen to collide, so its keys are the server's own names, or a session's ids in
/// flight: its client's choice, but at most `session::MAX_IN_FLIGHT` of them, so that
/// even ids that all collided would cost a bounded probe of that session's own table.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub use tasks::TaskLimits;

pub use handler::uri_template;
pub use observe::metrics;
pub use observe::spans;

pub use driver::{
    Announcements, Cancelled, Driver, DriverOptions, Events, Hangup, OUTBOUND_CAPACITY, Pending, batch_body,
};
pub use error::{BuildError, RATE_LIMITED, ToolError};
pub use grant::{Grant, INSUFFICIENT_SCOPE, Principal, STDIO_CALLER, UNNAMED, share_address, share_key};
pub use handler::{
    Args, CompletionRequest, Context, Conversation, FromMethodCall, FromToolCall, InputRound, IntoMethodResult,
    IntoToolResult, Json, MethodCall, MethodDef, MethodError, MethodHandler, MethodName, MethodOutput, Params,
    PromptDef, PromptRequest, RawArgs, RawParams, ReadOutput, ReadRequest, ResourceDef, State, StateKey, TaskSupport,
    TemplateDef, ToolCall, ToolDef, ToolHandler, ToolOutput, ToolResult, WrittenResult, advertised_schema,
    empty_input_schema, schema_of,
};
pub use hex::hex;
pub use limits::{CacheStats, Rate, RateLimiter, RateLimits, RateStore, rate_limited};
#[doc(no_inline)]
pub use metrics::{Metrics, Outcome};
pub use observe::REQUEST_TARGET;
pub use routing::{Answer, Probe, Route, Routed, stateless_version, unsupported_version};
pub use server::{
    DEFAULT_CACHE_BYTES, MAX_INSTRUCTIONS_PART, Server, ServerBuilder, ServerConfig, ServerEvent, WeakServer,
};
pub use session::{Link, MAX_SUBSCRIPTIONS, Negotiated, Outbound, Peer, Session};

pub use prometheus_client;
pub use tenet_jsonrpc as jsonrpc;
pub use tenet_protocol as protocol;
pub use tokio_util::sync::CancellationToken;
