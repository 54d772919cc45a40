//! The client's `text/event-stream` reader: any body, cut into any chunks, gives the
//! same events as read whole, and no event's data holds a line ending other than the
//! `\n` that joins its `data:` lines.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    cuts: Vec<u8>,
    body: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let whole = tenet_client::fuzzing::sse([input.body.as_slice()]);
    let mut chunks = Vec::new();
    let mut rest = input.body.as_slice();
    for cut in input.cuts.iter().map(|&c| usize::from(c) + 1) {
        if rest.is_empty() {
            break;
        }
        let (chunk, after) = rest.split_at(cut.min(rest.len()));
        chunks.push(chunk);
        rest = after;
    }
    chunks.push(rest);
    let cut = tenet_client::fuzzing::sse(chunks);
    assert_eq!(whole, cut, "chunking changed what was read");
    for (kind, data) in &whole.0 {
        assert!(!data.contains('\r'), "a carriage return inside an event's data");
        assert!(kind.as_deref().is_none_or(|k| !k.contains(['\n', '\r'])), "a line ending inside an event type");
    }
    assert!(whole.1.as_deref().is_none_or(|id| !id.contains(['\0', '\n', '\r'])), "a bad last event id");
});
