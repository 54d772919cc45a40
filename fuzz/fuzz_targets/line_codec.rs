//! The line codec of stdio: any bytes, cut into any chunks, under any limit, give the
//! same lines as reading them whole; no line is empty, longer than the limit or holds a
//! newline; an over-long line is reported, never an error that ends the stream.
#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tenet_transport::{Frame, JsonLinesCodec};
use tokio_util::codec::Decoder;

#[derive(Debug, Arbitrary)]
struct Input {
    limit: u8,
    /// Where the stream is cut, as lengths of the chunks after the first.
    cuts: Vec<u8>,
    bytes: Vec<u8>,
}

fn frames(bytes: &[u8], limit: usize, cuts: &[u8]) -> Vec<Frame> {
    let mut codec = JsonLinesCodec::new(limit);
    let mut buffer = BytesMut::new();
    let mut frames = Vec::new();
    let mut rest = bytes;
    let mut cuts = cuts.iter().map(|&c| usize::from(c) + 1);
    while !rest.is_empty() {
        let take = cuts.next().unwrap_or(rest.len()).min(rest.len());
        buffer.extend_from_slice(&rest[..take]);
        rest = &rest[take..];
        while let Some(frame) = codec.decode(&mut buffer).expect("decoding never fails") {
            frames.push(frame);
        }
    }
    while let Some(frame) = codec.decode_eof(&mut buffer).expect("the end never fails") {
        frames.push(frame);
    }
    frames
}

fuzz_target!(|input: Input| {
    let limit = usize::from(input.limit) + 1;
    let whole = frames(&input.bytes, limit, &[]);
    for frame in &whole {
        match frame {
            Frame::Message(line) => {
                assert!(!line.is_empty(), "an empty line");
                assert!(line.len() <= limit, "a line of {} bytes under a limit of {limit}", line.len());
                assert!(!line.contains(&b'\n'), "a line holding a newline");
            }
            Frame::Oversized { limit: said } => assert_eq!(*said, limit),
        }
    }
    // Cutting the stream may not change the lines read (an over-long line is
    // reported once however it arrives).
    let cut = frames(&input.bytes, limit, &input.cuts);
    let lines = |frames: &[Frame]| -> Vec<Vec<u8>> {
        frames.iter().filter_map(|f| if let Frame::Message(l) = f { Some(l.to_vec()) } else { None }).collect()
    };
    assert_eq!(lines(&whole), lines(&cut), "chunking changed the lines");
});
