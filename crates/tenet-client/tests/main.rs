//! tenet-client's integration tests, as one binary: every other `.rs` file in this folder is a
//! module named here, or a `[[test]]` of its own in Cargo.toml (crates/tenet/tests/workspace.rs
//! checks that none is left out).

mod common;

mod bad_input;
mod eras;
mod http;
mod oauth;
mod skills;
mod tasks;
mod websocket;
