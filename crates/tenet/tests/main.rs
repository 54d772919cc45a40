//! tenet's integration tests, as one binary: every other `.rs` file in this folder is a
//! module named here, or a `[[test]]` of its own in Cargo.toml (crates/tenet/tests/workspace.rs
//! checks that none is left out).

mod common;

mod auth;
mod cache;
mod check;
mod cli;
mod cli_reference;
mod client;
mod config;
mod export;
mod gateway;
mod guide;
mod health;
mod knowledge;
mod metrics;
mod node;
mod reload;
mod request_log;
mod startup;
mod stdio;
mod store;
mod symlinks;
mod telemetry;
mod workspace;
