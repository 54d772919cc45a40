//! Tenet as an MCP gateway: the tools of a team's other MCP servers (upstreams),
//! listed beside the server's own under each upstream's namespace, behind one
//! endpoint and one policy.
//!
//! Each upstream has a supervisor: it connects (stdio, Streamable HTTP of either era,
//! HTTP+SSE or WebSocket, through `tenet-client`), lists the upstream's tools on the
//! [`Server`](tenet_server::Server) as `name__tool`, sends heartbeats (`ping`, or
//! `server/discover` to a 2026 server), takes the tools off the list when the upstream
//! fails and reconnects with backoff. A call to a namespaced tool is checked against
//! the upstream's input schema at the gateway (compiled once), then relayed with its
//! progress and cancellation.
//!
//! ```
//! use tenet_gateway::{ToolFilter, name};
//!
//! let filter = ToolFilter { allow: vec!["*".into()], deny: vec!["dangerous_*".into()] };
//! assert!(filter.offers("echo"));
//! assert!(!filter.offers("dangerous_rm"));
//! assert_eq!(name::advertised(Some("everything"), "__", "echo").as_deref(), Some("everything__echo"));
//! ```

mod config;
mod forward;
mod gateway;
pub mod name;
mod upstream;

pub use config::{ConfigError, GatewayOptions, ToolFilter, UpstreamConfig, validate};
pub use gateway::Gateway;
pub use upstream::{State, Status, Unreachable, Upstream};
