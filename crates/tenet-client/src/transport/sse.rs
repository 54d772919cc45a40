//! Reading `text/event-stream` bodies: events split on blank lines, `data` lines
//! joined, `id` and `retry` remembered for resumption.

/// One complete event.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Event {
    /// `event:` (absent means `message`).
    pub kind: Option<String>,
    /// The joined `data:` lines.
    pub data: String,
}

/// An incremental parser; feed it chunks as they arrive.
#[derive(Debug)]
pub(crate) struct Parser {
    /// The longest line or event it holds before giving up ([`Oversized`]).
    limit: usize,
    buffer: Vec<u8>,
    /// How far into `buffer` no line end was found: a new chunk is searched from here,
    /// so a long line sent in small pieces is read once, not once per piece.
    scanned: usize,
    kind: Option<String>,
    data: Option<String>,
    /// The last `id:` seen (kept across events, as the spec says).
    pub last_id: Option<String>,
    /// The last `retry:` seen, in milliseconds.
    pub retry_ms: Option<u64>,
}

/// A line or event longer than the parser's limit arrived: the stream is to be let go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Oversized {
    /// The limit, in bytes.
    pub limit: usize,
}

impl From<Oversized> for crate::ClientError {
    fn from(o: Oversized) -> Self {
        crate::ClientError::TooLarge { limit: o.limit }
    }
}

impl Parser {
    /// A parser that holds lines and events of at most `limit` bytes.
    pub(crate) fn with_limit(limit: usize) -> Self {
        Self { limit, buffer: Vec::new(), scanned: 0, kind: None, data: None, last_id: None, retry_ms: None }
    }

    /// Forgets the line and event in progress (a resumed stream starts afresh), keeping
    /// the last id and retry.
    pub(crate) fn restart(&mut self) {
        self.buffer = Vec::new();
        self.scanned = 0;
        self.kind = None;
        self.data = None;
    }

    /// Adds bytes; returns the events they complete, or [`Oversized`] once a line or an
    /// event passes the limit (what it held is let go).
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<Vec<Event>, Oversized> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        // The start of the line being read, and where to look for its end.
        let (mut start, mut from) = (0, self.scanned);
        loop {
            let Some(at) = self.buffer[from..].iter().position(|b| *b == b'\n' || *b == b'\r') else {
                from = self.buffer.len();
                break;
            };
            let end = from + at;
            // A `\r` at the very end may be the first half of `\r\n`: wait for more.
            if self.buffer[end] == b'\r' && end + 1 == self.buffer.len() {
                from = end;
                break;
            }
            let skip = if self.buffer[end] == b'\r' && self.buffer.get(end + 1) == Some(&b'\n') { 2 } else { 1 };
            let line = String::from_utf8_lossy(&self.buffer[start..end]).into_owned();
            if let Some(event) = self.line(&line) {
                events.push(event);
            }
            if self.data.as_ref().is_some_and(|d| d.len() > self.limit) {
                return Err(self.oversized());
            }
            (start, from) = (end + skip, end + skip);
        }
        // Once per chunk, not once per line.
        self.buffer.drain(..start);
        self.scanned = from - start;
        if self.buffer.len() > self.limit {
            return Err(self.oversized());
        }
        Ok(events)
    }

    fn oversized(&mut self) -> Oversized {
        self.restart();
        Oversized { limit: self.limit }
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            let data = self.data.take();
            let kind = self.kind.take();
            return data.map(|data| Event { kind, data });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').map_or((line, ""), |(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)));
        match field {
            "data" => {
                let data = self.data.get_or_insert_with(String::new);
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value);
            }
            "event" => self.kind = Some(value.to_owned()),
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            "retry" => self.retry_ms = value.parse().ok().or(self.retry_ms),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_and_line_endings() {
        let mut parser = Parser::with_limit(1024);
        assert!(parser.push(b"id: 1\r\nretry: 500\r\ndata: \r\n\r").unwrap().is_empty());
        let events = parser.push(b"\nevent: message\ndata: {\"a\"\ndata: :1}\n\n: keep-alive\n\n").unwrap();
        assert_eq!(events.len(), 2, "the priming event and the message");
        assert_eq!(events[0].data, "");
        assert_eq!(events[1], Event { kind: Some("message".into()), data: "{\"a\"\n:1}".into() });
        assert_eq!(parser.last_id.as_deref(), Some("1"));
        assert_eq!(parser.retry_ms, Some(500));
    }

    #[test]
    fn an_unfinished_event_is_not_emitted() {
        let mut parser = Parser::with_limit(1024);
        assert!(parser.push(b"data: {\"half\":").unwrap().is_empty());
        assert_eq!(parser.push(b"1}\n\n").unwrap()[0].data, "{\"half\":1}");
    }

    #[test]
    fn a_long_line_in_small_pieces_is_read_in_linear_time() {
        let mut parser = Parser::with_limit(8 * 1024 * 1024);
        let began = std::time::Instant::now();
        assert!(parser.push(b"data: ").unwrap().is_empty());
        for _ in 0..(4 * 1024 * 1024 / 256) {
            assert!(parser.push(&[b'x'; 256]).unwrap().is_empty());
        }
        let events = parser.push(b"\n\n").unwrap();
        assert_eq!(events[0].data.len(), 4 * 1024 * 1024);
        // Quadratic, this took over 20 s of CPU; linear, milliseconds (debug build).
        assert!(began.elapsed() < std::time::Duration::from_secs(5), "{:?}", began.elapsed());
    }

    #[test]
    fn a_restarted_parser_forgets_the_line_in_progress_and_keeps_the_id() {
        let mut parser = Parser::with_limit(1024);
        assert!(parser.push(b"id: 7\ndata: {\"half\":").unwrap().is_empty());
        parser.restart();
        assert_eq!(parser.push(b"data: whole\n\n").unwrap()[0].data, "whole");
        assert_eq!(parser.last_id.as_deref(), Some("7"));
    }

    #[test]
    fn a_line_or_an_event_past_the_limit_is_refused_and_let_go() {
        let mut parser = Parser::with_limit(64);
        // One long line, never ended, sent in pieces.
        assert!(parser.push(&[b'x'; 40]).unwrap().is_empty());
        assert_eq!(parser.push(&[b'x'; 40]), Err(Oversized { limit: 64 }));
        assert!(parser.buffer.capacity() == 0, "what it held is let go");
        // An event of many short data lines.
        let mut parser = Parser::with_limit(64);
        let lines = "data: 0123456789\n".repeat(8);
        assert_eq!(parser.push(lines.as_bytes()), Err(Oversized { limit: 64 }));
        // Under the limit, everything passes.
        let mut parser = Parser::with_limit(64);
        assert_eq!(parser.push(b"data: small\n\n").unwrap()[0].data, "small");
    }
}
