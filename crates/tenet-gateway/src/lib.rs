//! Tenet as an MCP gateway: the tools, prompts, resources and resource templates of a
//! team's other MCP servers (upstreams), listed beside the server's own under each
//! upstream's namespace, behind one endpoint and one policy.
//!
//! Each upstream has a supervisor: it connects (stdio, Streamable HTTP of either era,
//! HTTP+SSE or WebSocket, through `tenet-client`), lists what the upstream offers on
//! the [`Server`](tenet_server::Server) (tools and prompts as `name__tool`, resources
//! and templates as `tenet://name/<the upstream's URI>`, an MCP App's `ui://rest` as
//! `ui://name/rest`), sends heartbeats (`ping`, or
//! `server/discover` to a 2026 server), takes it all off the lists when the upstream
//! fails and reconnects with backoff. A call to a namespaced tool is checked against
//! the upstream's input schema at the gateway (compiled once), then relayed with its
//! progress and cancellation; prompts, reads and completions are relayed likewise,
//! and resource URIs in what comes back point through the gateway.
//!
//! ```
//! use tenet_gateway::{ToolFilter, name};
//!
//! let filter = ToolFilter { allow: vec!["*".into()], deny: vec!["dangerous_*".into()] };
//! assert!(filter.offers("echo"));
//! assert!(!filter.offers("dangerous_rm"));
//! assert_eq!(name::advertised(Some("everything"), "__", "echo").as_deref(), Some("everything__echo"));
//! ```

mod catalog;
mod config;
mod downstream;
mod forward;
mod gateway;
mod metrics;
pub mod name;
mod node;
mod server_info;
mod sessions;
mod subscription;
mod upstream;

pub use catalog::URI_SCHEME;
pub use config::{
    ClientSecret, ConfigError, DEFAULT_MAX_HOPS, GatewayOptions, INHERITED_ENV, OAuthClient, PeerConfig, SessionMode,
    ToolFilter, UpstreamConfig, is_env_pattern, validate,
};
pub use gateway::Gateway;
pub use upstream::{Calls, State, Status, Unreachable, Upstream};

/// What the fuzz targets drive (`fuzz/`): present only in builds with `--cfg fuzzing`.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use std::ops::Range;

    use tenet_client::RawResult;

    use crate::server_info::{NameOnly, PassedOn, passed_on, unnamed};

    /// A tool's result as the gateway passes it on: its JSON, whether it says
    /// `isError`, and where its `_meta` value is.
    pub type Passed = (String, bool, Option<Range<usize>>);

    /// What the gateway makes of `json` as an upstream's tool result, when it is one
    /// its client takes: passed on three times through one memo of the upstream's
    /// name (it learns on the way), then once through a fresh memo; and the result
    /// without the server's entry (what a typed read is given).
    pub fn tool_result(json: &str) -> Option<(Vec<Passed>, String)> {
        let result = RawResult::parse(json).ok()?;
        let kept = crate::forward::RESULT_MEMBERS;
        let learning = NameOnly::default();
        let parts = |out: PassedOn| (out.json, out.is_error, out.meta);
        let mut passed: Vec<Passed> = (0..3).map(|_| parts(passed_on(&result, kept, &learning))).collect();
        passed.push(parts(passed_on(&result, kept, &NameOnly::default())));
        Some((passed, unnamed(&result).into_owned()))
    }

    /// The members a passed-on tool result keeps.
    pub const KEPT: &[&str] = crate::forward::RESULT_MEMBERS;
}
