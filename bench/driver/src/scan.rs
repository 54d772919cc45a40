//! A minimal scanner for the top level of one JSON-RPC message line.
//!
//! Fully parsing every response would make the driver, not the server, the
//! bottleneck at ceiling speeds (~1 M lines/s). This walks the outer object
//! once, reads an integer `id`, and notes which of `result`, `error` and
//! `method` are present. Sampled responses are additionally parsed in full
//! with `serde_json` to check their content.

/// What the top level of a message line holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Top {
    /// The `id`, when it is an integer.
    pub id: Option<i64>,
    /// An `id` member is present (integer or not, including `null`).
    pub has_id: bool,
    /// A `result` member is present.
    pub has_result: bool,
    /// An `error` member is present.
    pub has_error: bool,
    /// A `method` member is present (a request or notification from the server).
    pub has_method: bool,
}

/// Scan `line` (one JSON object, optionally followed by a newline).
/// Returns `None` if it is not a well-formed object at the top level.
pub fn scan(line: &[u8]) -> Option<Top> {
    let mut s = Cursor { b: line, i: 0 };
    let mut top = Top::default();
    s.ws();
    s.eat(b'{')?;
    s.ws();
    if s.peek() == Some(b'}') {
        return Some(top);
    }
    loop {
        s.ws();
        let key = s.string()?;
        s.ws();
        s.eat(b':')?;
        s.ws();
        match key {
            b"id" => {
                top.has_id = true;
                top.id = s.integer();
                if top.id.is_none() {
                    s.value()?;
                }
            }
            b"result" => {
                top.has_result = true;
                s.value()?;
            }
            b"error" => {
                top.has_error = true;
                s.value()?;
            }
            b"method" => {
                top.has_method = true;
                s.value()?;
            }
            _ => s.value()?,
        }
        s.ws();
        match s.next()? {
            b',' => continue,
            b'}' => return Some(top),
            _ => return None,
        }
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    /// A string; returns its raw bytes between the quotes (escapes kept).
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            match self.next()? {
                b'"' => return Some(&self.b[start..self.i - 1]),
                b'\\' => {
                    self.next()?;
                }
                _ => {}
            }
        }
    }

    /// An integer that ends the value (followed by `,`, `}` or whitespace).
    /// Leaves the cursor untouched if the value is anything else.
    fn integer(&mut self) -> Option<i64> {
        let start = self.i;
        let neg = self.peek() == Some(b'-');
        if neg {
            self.i += 1;
        }
        let mut n: i64 = 0;
        let mut digits = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            n = n.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
            self.i += 1;
            digits += 1;
        }
        if digits == 0 || !matches!(self.peek(), Some(b',' | b'}' | b' ' | b'\t' | b'\r' | b'\n')) {
            self.i = start;
            return None;
        }
        Some(if neg { -n } else { n })
    }

    /// Skip any value: string, object/array (string-aware), or scalar.
    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while !matches!(self.peek()?, b',' | b'}' | b']') {
                    self.i += 1;
                }
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_id_in_any_position() {
        let t = scan(br#"{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"a\"}b"}]}}"#)
            .expect("well-formed");
        assert_eq!(t.id, Some(42));
        assert!(t.has_result && !t.has_error && !t.has_method);

        let t = scan(br#"{"error":{"code":-32601,"message":"x"},"id":7,"jsonrpc":"2.0"}"#).expect("well-formed");
        assert_eq!(t.id, Some(7));
        assert!(t.has_error);

        let t = scan(b"{ \"result\" : {\"id\": 3} , \"id\" : 9 }\n").expect("well-formed");
        assert_eq!(t.id, Some(9));
    }

    #[test]
    fn non_integer_ids_and_notifications() {
        let t = scan(br#"{"id":"5","result":{}}"#).expect("well-formed");
        assert_eq!((t.id, t.has_id), (None, true));
        let t = scan(br#"{"id":1.5,"result":{}}"#).expect("well-formed");
        assert_eq!((t.id, t.has_id), (None, true));
        let t = scan(br#"{"jsonrpc":"2.0","method":"notifications/message","params":{}}"#).expect("well-formed");
        assert!(t.has_method && !t.has_id);
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(scan(b"hello"), None);
        assert_eq!(scan(br#"{"id":1"#), None);
        assert_eq!(scan(b""), None);
    }
}
