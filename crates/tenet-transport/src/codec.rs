//! Newline-delimited framing with a bounded line length.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

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

/// Splits a byte stream at `\n` (dropping trailing `\r`, spaces and tabs), skips blank
/// lines, and turns over-long lines into [`Frame::Oversized`] instead of an error that
/// ends the stream: the rest of such a line is discarded up to the next newline, and
/// reading carries on.
///
/// The search for a newline (`memchr`'s vectorised one) resumes where the last one
/// stopped, so a line arriving in pieces is not searched again from its start.
#[derive(Debug)]
pub struct JsonLinesCodec {
    limit: usize,
    /// How far the buffer has been searched for a newline without finding one.
    searched: usize,
    /// An over-long line is being dropped up to its newline.
    discarding: bool,
}

impl JsonLinesCodec {
    /// A codec whose lines may be at most `max_bytes` long.
    pub fn new(max_bytes: usize) -> Self {
        Self { limit: max_bytes, searched: 0, discarding: false }
    }
}

impl Default for JsonLinesCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE_BYTES)
    }
}

/// `line` without trailing `\r`, spaces and tabs; `None` when nothing else is left.
fn trim(line: Bytes) -> Option<Bytes> {
    let end = line.iter().rposition(|b| !matches!(b, b'\r' | b' ' | b'\t'))? + 1;
    Some(line.slice(..end))
}

impl Decoder for JsonLinesCodec {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        loop {
            if self.discarding {
                match memchr::memchr(b'\n', src) {
                    Some(at) => {
                        src.advance(at + 1);
                        self.discarding = false;
                    }
                    None => {
                        src.clear();
                        return Ok(None);
                    }
                }
            }
            // A line may be `limit` bytes long, its newline after them.
            let window = src.len().min(self.limit.saturating_add(1));
            let from = self.searched.min(window);
            match memchr::memchr(b'\n', &src[from..window]) {
                Some(at) => {
                    let end = from + at;
                    self.searched = 0;
                    let mut line = src.split_to(end + 1).freeze();
                    line.truncate(end);
                    if let Some(line) = trim(line) {
                        return Ok(Some(Frame::Message(line)));
                    }
                }
                None if src.len() > self.limit => {
                    // What was searched holds no newline: it goes now.
                    src.advance(window);
                    self.searched = 0;
                    self.discarding = true;
                    return Ok(Some(Frame::Oversized { limit: self.limit }));
                }
                None => {
                    self.searched = window;
                    return Ok(None);
                }
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        // The last line, with no newline after it (at most `limit` long, or `decode`
        // would have said so).
        self.searched = 0;
        if self.discarding || src.is_empty() {
            src.clear();
            return Ok(None);
        }
        Ok(trim(src.split().freeze()).map(Frame::Message))
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

    /// Feeds `input` to one codec `step` bytes at a time, as a slow pipe would.
    fn trickled(input: &[u8], step: usize, limit: usize) -> Vec<Frame> {
        let mut codec = JsonLinesCodec::new(limit);
        let mut buffer = BytesMut::new();
        let mut out = Vec::new();
        for chunk in input.chunks(step) {
            buffer.extend_from_slice(chunk);
            while let Some(frame) = codec.decode(&mut buffer).expect("no io error") {
                out.push(frame);
            }
        }
        while let Some(frame) = codec.decode_eof(&mut buffer).expect("no io error") {
            out.push(frame);
        }
        out
    }

    #[test]
    fn lines_arriving_in_pieces_come_out_whole_whatever_the_piece_size() {
        let mut input = b"{\"a\":1}\r\n\n".to_vec();
        input.extend(std::iter::repeat_n(b'y', 40));
        input.extend(b"\nlast");
        let long = "y".repeat(40);
        for step in [1, 2, 3, 7, 64] {
            let got = trickled(&input, step, 40);
            assert_eq!(got, vec![msg("{\"a\":1}"), msg(&long), msg("last")], "step {step}");
        }
    }

    #[test]
    fn a_line_of_exactly_the_limit_passes_and_one_byte_more_does_not() {
        let exact = "z".repeat(8);
        let over = "z".repeat(9);
        for step in [1, 4, 100] {
            let input = format!("{exact}\n{over}\nafter\n{over}");
            let got = trickled(input.as_bytes(), step, 8);
            assert_eq!(
                got,
                vec![msg(&exact), Frame::Oversized { limit: 8 }, msg("after"), Frame::Oversized { limit: 8 }],
                "step {step}"
            );
        }
    }

    #[tokio::test]
    async fn invalid_utf8_is_passed_on_as_bytes() {
        let got = frames(b"\xff\xfe\nok\n", 16).await;
        assert_eq!(got, vec![Frame::Message(Bytes::from_static(b"\xff\xfe")), msg("ok")]);
    }
}
