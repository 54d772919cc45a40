//! The WebSocket message path: a client's frames into an upgraded socket of the
//! conformance fixture. Each input line is one frame: a masked text frame carrying the
//! line, or, after `#` and a header byte, a frame with any FIN, RSV and opcode bits
//! (masked), or, after `!`, raw bytes that need not be a frame at all. Whatever arrives, the socket ends once the client stops, and every frame
//! the server wrote is a well-formed, unmasked frame; its text frames are JSON-RPC.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn encode(head: u8, masked: bool, mask: [u8; 4], payload: &[u8], out: &mut Vec<u8>) {
    out.push(head);
    let bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(bit | n as u8),
        n @ 126..=65535 => {
            out.push(bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        out.extend_from_slice(&mask);
    }
    out.extend(payload.iter().enumerate().map(|(i, b)| if masked { b ^ mask[i % 4] } else { *b }));
}

/// Splits what the server wrote into frames; panics on one a client could not read.
fn server_frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 2, "a truncated frame header");
        let (head, second) = (bytes[0], bytes[1]);
        assert_eq!(second & 0x80, 0, "a server frame must not be masked");
        let (len, at) = match second & 0x7f {
            126 if bytes.len() >= 4 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
            127 if bytes.len() >= 10 => (u64::from_be_bytes(bytes[2..10].try_into().expect("8 bytes")) as usize, 10),
            126 | 127 => panic!("a truncated frame length"),
            n => (n as usize, 2),
        };
        assert!(bytes.len() >= at + len, "a truncated frame");
        frames.push((head, bytes[at..at + len].to_vec()));
        bytes = &bytes[at + len..];
    }
    frames
}

fuzz_target!(|data: &[u8]| {
    let runtime = tenet_fuzz::runtime();
    let written = runtime.block_on(async {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let socket = tokio::spawn(tenet_http::fuzzing::websocket(tenet_fuzz::server(), server, 64 * 1024));
        let (mut read, mut write) = tokio::io::split(client);
        let reader = tokio::spawn(async move {
            let mut written = Vec::new();
            let _ = read.read_to_end(&mut written).await;
            written
        });
        let mut bytes = Vec::new();
        for line in data.split(|&b| b == b'\n').take(64) {
            match line {
                [b'!', raw @ ..] => bytes.extend_from_slice(raw),
                [b'#', head, payload @ ..] => encode(*head, true, [9, 8, 7, 6], payload, &mut bytes),
                text => encode(0x81, true, [1, 2, 3, 4], text, &mut bytes),
            }
        }
        // The server may stop reading (it closed the socket): the rest is refused.
        let _ = write.write_all(&bytes).await;
        let _ = write.shutdown().await;
        socket.await.expect("the socket's task ends without a panic");
        drop(write);
        reader.await.expect("the reader ends")
    });
    for (head, payload) in server_frames(&written) {
        assert_eq!(head & 0x70, 0, "RSV bits set on a server frame");
        if head & 0x0f == 0x1 {
            assert_eq!(head & 0x80, 0x80, "the server fragments nothing");
            tenet_fuzz::check_written(&payload);
        }
    }
});
