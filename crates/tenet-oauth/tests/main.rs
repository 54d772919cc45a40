//! tenet-oauth's integration tests, as one binary: every other `.rs` file in this folder is a
//! module named here, or a `[[test]]` of its own in Cargo.toml (crates/tenet/tests/workspace.rs
//! checks that none is left out).

mod support;

mod assertions;
mod challenge;
mod discovery;
mod dpop;
mod errors;
mod flow;
mod loopback;
mod scopes;
mod stand_in;
