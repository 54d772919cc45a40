//! The Model Context Protocol as Rust types, for every spec version.
//!
//! One set of types covers 2024-11-05 through 2026-07-28: fields that a version lacks
//! are optional and left out when empty, unknown fields are ignored when parsing, and
//! the era-specific members of results (`resultType`, `ttlMs`, `cacheScope`) are added
//! by the server runtime for the requests that need them. [`Method`] is the one list of
//! method names; [`ProtocolVersion`] knows what each version allows.
//!
//! ```
//! use tenet_protocol::{CallToolResult, ContentBlock, Method, ProtocolVersion};
//!
//! let result = CallToolResult::success(vec![ContentBlock::text("hello")]);
//! let json = serde_json::to_value(&result).unwrap();
//! assert_eq!(json["content"][0]["type"], "text");
//!
//! assert_eq!(Method::from_name("tools/call"), Some(Method::ToolsCall));
//! assert!(!Method::Ping.exists_in(ProtocolVersion::V2026_07_28));
//! ```

pub mod client_feature;
pub mod completion;
pub mod content;
pub mod context;
pub mod header;
pub mod input;
pub mod json;
pub mod lifecycle;
pub mod logging;
pub mod meta;
pub mod method;
pub mod node;
pub mod notification;
pub mod prompts;
pub mod resources;
pub mod skill_extension;
pub mod task;
pub mod task_extension;
pub mod tools;
pub mod trace;
pub mod version;

pub use client_feature::*;
pub use completion::*;
pub use content::*;
pub use input::*;
pub use json::JsonObject;
pub use lifecycle::*;
pub use logging::*;
pub use meta::*;
pub use method::{Direction, Method};
pub use node::{
    Announcement, CONTEXT_KEY, InvalidNodeId, ListDigests, MAX_NODE_PATH, NODE_KEY, NODE_PATH_KEY, NodeId, NodePath,
    VIA_KEY, imported_via,
};
pub use notification::*;
pub use prompts::*;
pub use resources::*;
pub use skill_extension::{SKILLS_EXTENSION, skill_front_matter};
pub use task::*;
pub use task_extension::*;
pub use tools::*;
pub use trace::{SpanId, TRACEPARENT_KEY, TRACESTATE_KEY, TraceContext, TraceId};
pub use version::{Era, ProtocolVersion};

pub use tenet_jsonrpc as jsonrpc;
