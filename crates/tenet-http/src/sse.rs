//! Server-Sent Events framing: one JSON message per `data:` line.

use bytes::{BufMut, Bytes, BytesMut};

/// The JSON text of an encoded message line, without its trailing newline.
fn json(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

/// An event carrying one message (encoded JSON lines never contain a raw newline).
pub(crate) fn event(line: &[u8]) -> Bytes {
    let json = json(line);
    let mut out = BytesMut::with_capacity(json.len() + 8);
    out.put_slice(b"data: ");
    out.put_slice(json);
    out.put_slice(b"\n\n");
    out.freeze()
}

/// An event with an id, for streams a client can resume.
pub(crate) fn event_with_id(id: &str, line: &[u8]) -> Bytes {
    let json = json(line);
    let mut out = BytesMut::with_capacity(json.len() + id.len() + 14);
    out.put_slice(b"id: ");
    out.put_slice(id.as_bytes());
    out.put_slice(b"\ndata: ");
    out.put_slice(json);
    out.put_slice(b"\n\n");
    out.freeze()
}

/// The priming event (2025-11-25): an id to resume from, the reconnection delay, and
/// empty data.
pub(crate) fn priming(id: &str, retry_ms: u128) -> Bytes {
    Bytes::from(format!("id: {id}\nretry: {retry_ms}\ndata: \n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_single_data_lines() {
        assert_eq!(&event(b"{\"a\":1}\n")[..], b"data: {\"a\":1}\n\n");
        assert_eq!(&event_with_id("3.1", b"{}")[..], b"id: 3.1\ndata: {}\n\n");
        assert_eq!(&priming("3.0", 1500)[..], b"id: 3.0\nretry: 1500\ndata: \n\n");
    }
}
