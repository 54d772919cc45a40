//! tenet-gateway's integration tests, as one binary: every other `.rs` file in this folder is a
//! module named here, or a `[[test]]` of its own in Cargo.toml (crates/tenet/tests/workspace.rs
//! checks that none is left out).

mod support;

mod catalog;
mod context;
mod faults;
mod gateway;
mod nodes;
mod oauth;
mod peers;
mod relay;
mod sessions;
