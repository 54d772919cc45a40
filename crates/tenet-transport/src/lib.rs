//! Byte transports for MCP messages: newline-delimited JSON over any async pipe.
//!
//! - [`codec::JsonLinesCodec`] splits a byte stream into frames, one per line, with a
//!   bounded line length: an over-long line yields one [`codec::Frame::Oversized`], is
//!   discarded up to the next newline, and the stream goes on.
//! - [`writer::write_lines`] drains a bounded channel of encoded messages into a pipe,
//!   coalescing bursts into one write and flushing whenever the channel runs dry.
//! - [`stdio`] is the process's stdin/stdout; [`memory`] is an in-process pipe for tests.
//!
//! ```
//! use futures_util::StreamExt;
//! use tenet_transport::codec::{Frame, JsonLinesCodec};
//! use tokio_util::codec::FramedRead;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let input: &[u8] = b"{\"a\":1}\n\n{\"b\":2}\r\n";
//! let mut frames = FramedRead::new(input, JsonLinesCodec::new(1024));
//! assert_eq!(frames.next().await.unwrap().unwrap(), Frame::Message("{\"a\":1}".into()));
//! assert_eq!(frames.next().await.unwrap().unwrap(), Frame::Message("{\"b\":2}".into()));
//! assert!(frames.next().await.is_none());
//! # });
//! ```

pub mod codec;
pub mod memory;
pub mod stdio;
pub mod writer;

pub use codec::{DEFAULT_MAX_MESSAGE_BYTES, Frame, JsonLinesCodec};
pub use writer::write_lines;

/// The instant `timeout` from now; a timeout too long to add to the clock (such as
/// `Duration::MAX` for "never") gives an instant decades away instead of a panic.
pub fn deadline_after(timeout: std::time::Duration) -> tokio::time::Instant {
    /// Far enough for any wait, near enough to add to any clock.
    const FAR: std::time::Duration = std::time::Duration::from_secs(30 * 365 * 86_400);
    let now = tokio::time::Instant::now();
    now.checked_add(timeout).unwrap_or(now + FAR)
}
