//! Benchmark ceiling: the least work a stdio JSON-RPC `echo` server can do.
//!
//! Read a line, parse it with `serde_json`, write the result line; flush only
//! when no more input is already buffered. No MCP semantics beyond answering
//! `initialize` and `tools/call`; notifications are ignored. It bounds from
//! above what any real server can reach on this pipe.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, BufWriter, Write};

fn main() -> std::io::Result<()> {
    let mut input = BufReader::with_capacity(64 * 1024, std::io::stdin().lock());
    let mut output = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut line = String::new();
    loop {
        if input.buffer().is_empty() {
            output.flush()?; // about to block on read: push out what we have
        }
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return output.flush();
        }
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let Some(id) = msg.get("id").filter(|_| msg.get("method").is_some()) else {
            continue;
        };
        let reply = match msg["method"].as_str() {
            Some("initialize") => json!({"jsonrpc": "2.0", "id": id, "result": {
                "protocolVersion": msg["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "ceiling-stdio", "version": "0"}}}),
            Some("tools/call") => json!({"jsonrpc": "2.0", "id": id, "result": {"content": [
                {"type": "text", "text": msg["params"]["arguments"]["text"]}]}}),
            _ => json!({"jsonrpc": "2.0", "id": id,
                        "error": {"code": -32601, "message": "method not found"}}),
        };
        serde_json::to_writer(&mut output, &reply)?;
        output.write_all(b"\n")?;
    }
}
