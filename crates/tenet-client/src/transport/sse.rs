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
#[derive(Debug, Default)]
pub(crate) struct Parser {
    buffer: Vec<u8>,
    kind: Option<String>,
    data: Option<String>,
    /// The last `id:` seen (kept across events, as the spec says).
    pub last_id: Option<String>,
    /// The last `retry:` seen, in milliseconds.
    pub retry_ms: Option<u64>,
}

impl Parser {
    /// Adds bytes; returns the events they complete.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<Event> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n' || *b == b'\r') {
            // A `\r` at the very end may be the first half of `\r\n`: wait for more.
            if self.buffer[end] == b'\r' && end + 1 == self.buffer.len() {
                break;
            }
            let skip = if self.buffer[end] == b'\r' && self.buffer.get(end + 1) == Some(&b'\n') { 2 } else { 1 };
            let line: Vec<u8> = self.buffer.drain(..end + skip).take(end).collect();
            if let Some(event) = self.line(&String::from_utf8_lossy(&line)) {
                events.push(event);
            }
        }
        events
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
        let mut parser = Parser::default();
        assert!(parser.push(b"id: 1\r\nretry: 500\r\ndata: \r\n\r").is_empty());
        let events = parser.push(b"\nevent: message\ndata: {\"a\"\ndata: :1}\n\n: keep-alive\n\n");
        assert_eq!(events.len(), 2, "the priming event and the message");
        assert_eq!(events[0].data, "");
        assert_eq!(events[1], Event { kind: Some("message".into()), data: "{\"a\"\n:1}".into() });
        assert_eq!(parser.last_id.as_deref(), Some("1"));
        assert_eq!(parser.retry_ms, Some(500));
    }

    #[test]
    fn an_unfinished_event_is_not_emitted() {
        let mut parser = Parser::default();
        assert!(parser.push(b"data: {\"half\":").is_empty());
        assert_eq!(parser.push(b"1}\n\n")[0].data, "{\"half\":1}");
    }
}
