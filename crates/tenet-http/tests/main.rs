//! tenet-http's integration tests, as one binary: every other `.rs` file in this folder is a
//! module named here, or a `[[test]]` of its own in Cargo.toml (crates/tenet/tests/workspace.rs
//! checks that none is left out).

mod issuer;
mod support;

mod auth;
mod auth_flow;
mod http_sse;
mod metrics;
mod rate_limit;
mod replicas;
mod rest;
mod router_auth;
mod security;
mod serve;
mod sessions;
mod sse_versions;
mod stateless;
mod websocket;
