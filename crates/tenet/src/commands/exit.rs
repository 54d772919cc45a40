//! The exit codes of the commands, one meaning each: every command's usage error, and
//! those of the commands that talk to a server (`tenet call` and its kin, `tenet
//! upstreams`, `tenet peers`).

/// What was asked failed: a tool returned `isError`, or some listed upstream or peer is
/// not up.
pub(crate) const FAILED: u8 = 1;
/// What the command was given cannot be used: its command line, a `TENET_*` variable,
/// a config file, the standards it should read.
pub(crate) const USAGE: u8 = 2;
/// The server could not be reached.
pub(crate) const UNREACHABLE: u8 = 3;
/// The server answered, but not as asked: an error, a broken protocol, not the page.
pub(crate) const UNEXPECTED: u8 = 4;
