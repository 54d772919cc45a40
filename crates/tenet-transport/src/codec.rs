//! Newline-delimited framing with a bounded line length.

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{AnyDelimiterCodec, AnyDelimiterCodecError, Decoder};

/// The default limit on one message: 4 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// One unit read from a newline-delimited stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One line, without its line ending. Never empty.
    Message(Bytes),
    /// A line longer than the limit; it has been (or is being) discarded.
    Oversized {
        /// The limit it broke.
        limit: usize,
    },
}

/// Splits a byte stream at `\n` (dropping a trailing `\r`), skips blank lines, and turns
/// over-long lines into [`Frame::Oversized`] instead of an error that ends the stream.
///
/// It wraps tokio-util's delimiter codec, which discards an over-long line up to the next
/// newline and then carries on.
#[derive(Debug)]
pub struct JsonLinesCodec {
    inner: AnyDelimiterCodec,
    limit: usize,
}

impl JsonLinesCodec {
    /// A codec whose lines may be at most `max_bytes` long.
    pub fn new(max_bytes: usize) -> Self {
        Self { inner: AnyDelimiterCodec::new_with_max_length(b"\n".to_vec(), Vec::new(), max_bytes), limit: max_bytes }
    }

    fn frame(&self, result: Result<Option<Bytes>, AnyDelimiterCodecError>) -> Result<Option<Frame>, std::io::Error> {
        match result {
            Ok(Some(line)) => Ok(Some(Frame::Message(line))),
            Ok(None) => Ok(None),
            Err(AnyDelimiterCodecError::MaxChunkLengthExceeded) => Ok(Some(Frame::Oversized { limit: self.limit })),
            Err(AnyDelimiterCodecError::Io(e)) => Err(e),
        }
    }
}

impl Default for JsonLinesCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE_BYTES)
    }
}

fn trim(line: &Bytes) -> Option<Bytes> {
    let end = line.iter().rposition(|b| !matches!(b, b'\r' | b' ' | b'\t'))? + 1;
    Some(line.slice(..end))
}

impl Decoder for JsonLinesCodec {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        loop {
            let decoded = self.inner.decode(src);
            match self.frame(decoded)? {
                Some(Frame::Message(line)) => match trim(&line) {
                    Some(line) => return Ok(Some(Frame::Message(line))),
                    None => continue,
                },
                other => return Ok(other),
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        loop {
            let decoded = self.inner.decode_eof(src);
            match self.frame(decoded)? {
                Some(Frame::Message(line)) => match trim(&line) {
                    Some(line) => return Ok(Some(Frame::Message(line))),
                    None => continue,
                },
                other => return Ok(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use tokio_util::codec::FramedRead;

    async fn frames(input: &[u8], limit: usize) -> Vec<Frame> {
        FramedRead::new(input, JsonLinesCodec::new(limit)).map(|f| f.expect("no io error")).collect().await
    }

    fn msg(s: &str) -> Frame {
        Frame::Message(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[tokio::test]
    async fn splits_lines_and_skips_blank_ones() {
        let got = frames(b"a\r\n\n  \nb\nc", 16).await;
        assert_eq!(got, vec![msg("a"), msg("b"), msg("c")]);
    }

    #[tokio::test]
    async fn an_over_long_line_is_reported_once_then_the_stream_recovers() {
        let mut input = b"ok1\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend(b"\nok2\n");
        let got = frames(&input, 10).await;
        assert_eq!(got, vec![msg("ok1"), Frame::Oversized { limit: 10 }, msg("ok2")]);
    }

    #[tokio::test]
    async fn invalid_utf8_is_passed_on_as_bytes() {
        let got = frames(b"\xff\xfe\nok\n", 16).await;
        assert_eq!(got, vec![Frame::Message(Bytes::from_static(b"\xff\xfe")), msg("ok")]);
    }
}
