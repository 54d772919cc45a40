//! Benchmark ceiling: the least work a stdio JSON-RPC `echo` server can do.
//!
//! Read a line, parse it with `serde_json`, write the result line; flush only
//! when no more input is already buffered. No MCP semantics beyond answering
//! `initialize` and `tools/call`; notifications are ignored. It bounds from
//! above what any real server can reach on this pipe.
//!
//! `ceiling-stdio relay <command> [args...]` is the floor under any stdio gateway
//! instead: it starts the command and copies bytes from its own stdin to the
//! command's and from the command's stdout to its own, reading nothing. What it
//! costs is the extra process and the two extra pipes alone.

use serde_json::{Value, json};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => echo(),
        [mode, command, rest @ ..] if mode == "relay" => std::process::exit(relay(command, rest)?),
        _ => {
            eprintln!(
                "usage: ceiling-stdio                           (the echo server)\n       ceiling-stdio relay <command> [args...]"
            );
            std::process::exit(2)
        }
    }
}

/// Copies bytes both ways between this process's stdio and `command`'s, each
/// direction on its own thread, each chunk written as soon as it is read; says the
/// command's exit code (128 + the signal that ended it, as a shell says).
fn relay(command: &str, args: &[String]) -> std::io::Result<i32> {
    let mut child = Command::new(command).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    let (Some(mut to_child), Some(mut from_child)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(std::io::Error::other("the command's stdio was not piped"));
    };
    // The child's stdin closes when this copy ends (end of input), as a client's would.
    // It is not waited for: a child that ends first leaves it blocked on input. Its
    // errors (the child gone) show as the end of the child's output.
    std::thread::spawn(move || copy(&mut std::io::stdin().lock(), &mut to_child));
    // Written straight to the descriptor: `Stdout` would hold back what follows a line's end.
    let mut stdout = File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    let copied = copy(&mut from_child, &mut stdout);
    if copied.is_err() {
        // The client is gone: so is the command, before the next run starts.
        let _ = child.kill();
    }
    let status = child.wait()?;
    copied?;
    Ok(status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

/// `std::io::copy` with a buffer sized like a pipe's and nothing held back.
fn copy(from: &mut impl Read, to: &mut impl Write) -> std::io::Result<()> {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) => return to.flush(),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buffer[..n])?;
        to.flush()?;
    }
}

/// The echo server.
fn echo() -> std::io::Result<()> {
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
            Some("ping") => json!({"jsonrpc": "2.0", "id": id, "result": {}}),
            Some("tools/call") => json!({"jsonrpc": "2.0", "id": id, "result": {"content": [
                {"type": "text", "text": msg["params"]["arguments"]["text"]}]}}),
            _ => json!({"jsonrpc": "2.0", "id": id,
                        "error": {"code": -32601, "message": "method not found"}}),
        };
        serde_json::to_writer(&mut output, &reply)?;
        output.write_all(b"\n")?;
    }
}
