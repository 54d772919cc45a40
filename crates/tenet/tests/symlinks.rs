//! A symbolic link planted in a root while the server runs is refused by live reload
//! as it would be at start: `python/environ.md -> /proc/self/environ` must never put the
//! server's environment into an answer, and the operator is warned.

#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The variable put in the server's environment; its value must never be served.
const MARKER: &str = "TENET_TEST_ENVIRON_MARKER";

/// `tenet serve` on stdio with one extra environment variable; killed when dropped.
struct Server {
    /// The process, killed when the server is dropped (before its pipes).
    _child: common::Killed,
    stdin: ChildStdin,
    lines: Receiver<String>,
    /// Every line the server wrote to stdout, answers and notifications alike.
    seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(root: &str, marker: &str) -> Self {
        let mut command = common::tenet_command();
        command.args(["serve", "--log-level", "warn", "--root", root]);
        for var in ["TENET_LOG", "TENET_LOG_LEVEL", "TENET_TRANSPORT", "TENET_ROOTS", "TENET_NO_BUILTIN"] {
            command.env_remove(var);
        }
        command.env(MARKER, marker).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut stderr_pipe = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap_or_else(PoisonError::into_inner).push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Self { _child: common::Killed(child), stdin, lines, seen: Vec::new(), stderr }
    }

    fn send(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Sends a request and returns its response (bounded wait).
    fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(wait).unwrap_or_else(|_| panic!("no answer to {method}"));
            self.seen.push(line.clone());
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["id"] == id && message.get("method").is_none() {
                return message;
            }
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

fn doc(title: &str, language: &str, domain: &str) -> String {
    format!(
        "---\ntitle: {title}\ndescription: d\nlanguage: {language}\ndomain: {domain}\ntags: [t]\nupdatedAt: '2026-01-02'\n---\n# {title}\n\nrules\n"
    )
}

#[test]
fn a_link_to_proc_self_environ_created_while_serving_is_never_served() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("python")).unwrap();
    std::fs::write(dir.path().join("python/testing.md"), doc("Python testing", "python", "testing")).unwrap();
    let marker = format!("marker-{}-{:?}", std::process::id(), Instant::now());
    let mut server = Server::start(dir.path().to_str().unwrap(), &marker);
    let init = server.call(
        1,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
    );
    assert!(init["result"]["serverInfo"].is_object(), "{init}");
    server.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));

    // The link, and a document written after it: once that document is served, the
    // reload that saw the link is done.
    std::os::unix::fs::symlink("/proc/self/environ", dir.path().join("python/environ.md")).unwrap();
    std::fs::write(dir.path().join("python/security.md"), doc("Python security", "python", "security")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut id = 10;
    loop {
        id += 1;
        let got = server.call(
            id,
            "tools/call",
            json!({"name": "get_stdlib", "arguments": {"language": "python", "domain": "security"}}),
        );
        if got["result"]["structuredContent"]["found"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "the new document was never served: {got}");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));

    let asks = [
        ("tools/call", json!({"name": "get_stdlib", "arguments": {"language": "python", "domain": "environ"}})),
        ("tools/call", json!({"name": "search_stdlib", "arguments": {"query": marker}})),
        ("tools/call", json!({"name": "search_stdlib", "arguments": {"query": "PATH HOME"}})),
        ("tools/call", json!({"name": "list_stdlib", "arguments": {}})),
        ("resources/list", json!({})),
        ("resources/read", json!({"uri": "stdlib://python/environ"})),
        ("resources/read", json!({"uri": "stdlib://python/testing"})),
    ];
    for (method, params) in asks {
        id += 1;
        server.call(id, method, params);
    }
    let get = server.call(
        99,
        "tools/call",
        json!({"name": "get_stdlib", "arguments": {"language": "python", "domain": "environ"}}),
    );
    assert_eq!(get["result"]["structuredContent"]["found"], false, "{get}");
    let listed = server.call(100, "resources/list", json!({}));
    let uris: Vec<&str> =
        listed["result"]["resources"].as_array().unwrap().iter().filter_map(|r| r["uri"].as_str()).collect();
    assert!(uris.contains(&"stdlib://python/security") && !uris.contains(&"stdlib://python/environ"), "{uris:?}");
    for line in &server.seen {
        assert!(!line.contains(&marker), "the server's environment was served: {line}");
    }
    // The operator hears of it: the link and its target.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.stderr().contains("python/environ.md") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stderr = server.stderr();
    assert!(
        stderr.lines().any(|l| l.contains("WARN")
            && l.contains("python/environ.md")
            && l.contains("a symbolic link to /proc/self/environ")),
        "{stderr}"
    );
    assert!(!stderr.contains(&marker), "{stderr}");
}
