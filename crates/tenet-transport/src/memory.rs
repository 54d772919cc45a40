//! An in-process pipe, so a client and a server can talk in tests without a process.

use tokio::io::DuplexStream;

/// Two connected ends; bytes written to one are read from the other. Each end is both
/// the reader and the writer of its side.
pub fn pair() -> (DuplexStream, DuplexStream) {
    tokio::io::duplex(256 * 1024)
}
