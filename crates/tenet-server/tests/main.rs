//! tenet-server's integration tests, as one binary: every other `.rs` file in this folder is a
//! module named here, or a `[[test]]` of its own in Cargo.toml (crates/tenet/tests/workspace.rs
//! checks that none is left out).

mod common;
#[path = "../../tenet-protocol/tests/support/mod.rs"]
mod support;

mod added_methods;
mod advertised_schemas;
mod batched_changes;
mod cache;
mod concurrency;
mod conversation;
mod handshake;
mod node_lists;
mod observability;
mod pagination;
mod protocol;
mod rate_limit;
mod schema;
mod scopes;
mod task_extension;
