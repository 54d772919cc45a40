//! Drives the real `tenet` binary over its stdin/stdout: one child process per test,
//! newline-delimited JSON-RPC written to its stdin, and its stdout read by a thread.
//!
//! Every wait is bounded, and the child is killed when the [`Tenet`] handle is dropped
//! (including when a test panics), so no test can hang on a misbehaving server. A
//! watchdog also kills the child after [`MAX_LIFETIME`], which turns a write blocked on
//! a server that stopped reading into a failed write instead of a hung test.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A command running the `tenet` binary. What a node keeps (an HTTP node on a fixed
/// port keeps its id) goes to a scratch directory, not the home of whoever runs the
/// tests.
pub fn tenet_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenet"));
    command.env("XDG_STATE_HOME", std::env::temp_dir().join("tenet-tests-state"));
    command
}

/// A child process killed and reaped when dropped, so that a test failing midway leaves
/// no server behind (one that kept the test's stdout open would also keep whoever reads
/// the test's output waiting).
pub struct Killed(pub Child);

impl std::ops::Deref for Killed {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Killed {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The stateless protocol version.
pub const MODERN: &str = "2026-07-28";
/// The latest version negotiated through `initialize`.
pub const LATEST_LEGACY: &str = "2025-11-25";
/// How long any single expected message may take to arrive.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// How long any one server process may live; a watchdog kills it after that.
pub const MAX_LIFETIME: Duration = Duration::from_secs(240);

/// The knowledge server's environment variables (roots, built-in corpus, budgets).
pub const KNOWLEDGE_ENV: [&str; 4] = ["TENET_ROOTS", "TENET_NO_BUILTIN", "TENET_MAX_TOKENS", "TENET_MAX_TOKENS_CAP"];

/// How much of the child's stderr is kept for failure messages.
const STDERR_KEEP: usize = 1 << 20;

/// `_meta` for a stateless (2026-07-28) request with no client capabilities.
pub fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
    })
}

/// A stateless request: `params` (an object) with the modern `_meta` added.
pub fn stateless(id: impl Into<Value>, method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = meta();
    json!({"jsonrpc": "2.0", "id": id.into(), "method": method, "params": params})
}

/// A legacy request (no `_meta`); `params` may be `Value::Null` for none.
pub fn legacy(id: impl Into<Value>, method: &str, params: Value) -> Value {
    let mut request = json!({"jsonrpc": "2.0", "id": id.into(), "method": method});
    if !params.is_null() {
        request["params"] = params;
    }
    request
}

/// A `tools/call` of `echo` with the given text, stateless.
pub fn stateless_echo(id: impl Into<Value>, text: &str) -> Value {
    stateless(id, "tools/call", json!({"name": "echo", "arguments": {"text": text}}))
}

/// Params of a legacy `initialize`.
pub fn initialize_params(version: &str) -> Value {
    json!({
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "tenet-e2e", "version": "0.0.0"},
    })
}

/// Whether `message` is a response (result or error) with this id.
pub fn is_response_to(message: &Value, id: &Value) -> bool {
    message.get("method").is_none()
        && message.get("id") == Some(id)
        && (message.get("result").is_some() || message.get("error").is_some())
}

/// Asserts `response` is a JSON-RPC error with `code` and `id`; returns the error object.
#[track_caller]
/// An expected `id` of `null` stands for "the id could not be read": since MCP
/// 2025-11-25 such an error response has no `id` member at all (see
/// `assert_error_with_null_id` for older sessions).
pub fn assert_error<'a>(response: &'a Value, code: i64, id: &Value) -> &'a Value {
    assert_eq!(response["jsonrpc"], "2.0", "not a JSON-RPC 2.0 message: {response}");
    if id.is_null() {
        assert!(response.get("id").is_none(), "an error about an unreadable id carries no id: {response}");
    } else {
        assert_eq!(response.get("id"), Some(id), "wrong id (expected {id}): {response}");
    }
    assert!(response.get("result").is_none(), "expected an error, got a result: {response}");
    let error = &response["error"];
    assert_eq!(error["code"], code, "expected error {code}: {response}");
    assert!(error["message"].is_string(), "error without a message: {response}");
    error
}

/// Asserts `response` is an error with `"id": null`, as JSON-RPC 2.0 and MCP up to
/// 2025-06-18 have it for an id that could not be read.
#[track_caller]
pub fn assert_error_with_null_id(response: &Value, code: i64) {
    assert_eq!(response.get("id"), Some(&Value::Null), "expected \"id\": null: {response}");
    assert_eq!(response["error"]["code"], code, "expected error {code}: {response}");
}

/// Asserts `response` is a successful JSON-RPC response with `id`; returns the result.
#[track_caller]
pub fn assert_result<'a>(response: &'a Value, id: &Value) -> &'a Value {
    assert_eq!(response["jsonrpc"], "2.0", "not a JSON-RPC 2.0 message: {response}");
    assert_eq!(response.get("id"), Some(id), "wrong id (expected {id}): {response}");
    assert!(response.get("error").is_none(), "expected a result, got an error: {response}");
    let result = &response["result"];
    assert!(result.is_object(), "result is not an object: {response}");
    result
}

/// The concatenated text content of a tool result.
pub fn tool_text(result: &Value) -> String {
    result["content"]
        .as_array()
        .map(|blocks| blocks.iter().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

enum Next {
    Line(Vec<u8>),
    Timeout,
    Eof,
}

/// A running `tenet serve` child.
pub struct Tenet {
    child: Arc<Mutex<Child>>,
    pid: u32,
    /// Dropped with the handle, which tells the watchdog to stand down.
    _watchdog: Sender<()>,
    stdin: Option<ChildStdin>,
    lines: Receiver<Vec<u8>>,
    /// Messages read while waiting for something else, oldest first.
    pending: VecDeque<Value>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Closed by the stderr reader at end of file.
    stderr_closed: Receiver<()>,
    health_checks: u64,
}

impl Tenet {
    /// `tenet serve --log-level warn`.
    pub fn start() -> Self {
        Self::start_with(&["serve", "--demo", "--log-level", "warn"])
    }

    /// `tenet` with these arguments.
    pub fn start_with(args: &[&str]) -> Self {
        Self::start_without_env(args, &[])
    }

    /// `tenet` with these arguments, and without the knowledge server's environment
    /// variables ([`KNOWLEDGE_ENV`]) either, so the caller's shell cannot add roots or
    /// change budgets.
    pub fn start_knowledge(args: &[&str]) -> Self {
        Self::start_without_env(args, &KNOWLEDGE_ENV)
    }

    /// `tenet` with these arguments, without the environment variables that
    /// [`Tenet::start_with`] removes and without `also_remove`.
    pub fn start_without_env(args: &[&str], also_remove: &[&str]) -> Self {
        Self::start_with_env(args, also_remove, &[])
    }

    /// `tenet` with these arguments, without the environment variables that
    /// [`Tenet::start_with`] removes and without `also_remove`, and with `set` set.
    pub fn start_with_env(args: &[&str], also_remove: &[&str], set: &[(&str, &str)]) -> Self {
        let mut command = tenet_command();
        command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        for var in [
            "TENET_LOG",
            "TENET_LOG_LEVEL",
            "TENET_TRANSPORT",
            "TENET_TIMEOUT",
            "TENET_MAX_CONCURRENT_REQUESTS",
            "TENET_MAX_MESSAGE_BYTES",
            "TENET_CACHE_SIZE",
            "TENET_CACHE_TTL",
            "TENET_TOOL_CONCURRENCY",
        ]
        .iter()
        .chain(also_remove)
        {
            command.env_remove(var);
        }
        command.envs(set.iter().copied());
        let mut child = command.spawn().expect("cannot start the tenet binary");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("child stdout");
        let stderr = child.stderr.take().expect("child stderr");

        let (tx, lines) = channel();
        thread::spawn(move || {
            let mut reader = BufReader::with_capacity(1 << 16, stdout);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                        }
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        });

        let kept = Arc::new(Mutex::new(Vec::new()));
        let sink = kept.clone();
        let (eof, stderr_closed) = channel::<()>();
        thread::spawn(move || {
            let _eof = eof;
            let mut stderr = stderr;
            let mut buf = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut kept = sink.lock().unwrap_or_else(PoisonError::into_inner);
                let room = STDERR_KEEP.saturating_sub(kept.len()).min(n);
                kept.extend_from_slice(&buf[..room]);
            }
        });

        let pid = child.id();
        let child = Arc::new(Mutex::new(child));
        let (watchdog, stand_down) = channel::<()>();
        let watched = child.clone();
        thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = stand_down.recv_timeout(MAX_LIFETIME) {
                eprintln!("watchdog: killing tenet (pid {pid}) after {MAX_LIFETIME:?}");
                let _ = watched.lock().unwrap_or_else(PoisonError::into_inner).kill();
            }
        });

        Self {
            child,
            pid,
            _watchdog: watchdog,
            stdin,
            lines,
            pending: VecDeque::new(),
            stderr: kept,
            stderr_closed,
            health_checks: 0,
        }
    }

    fn child(&self) -> std::sync::MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// What the child wrote to stderr so far (its first megabyte).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }

    /// Waits up to `within` for the child's stderr to satisfy `done` (e.g. to hold a
    /// message it writes just before exiting, which the reader thread may not have
    /// caught yet); returns the stderr text either way.
    pub fn wait_stderr(&self, within: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = self.stderr_text();
            if done(&text) || Instant::now() >= deadline {
                return text;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn stdin(&self) -> &ChildStdin {
        self.stdin.as_ref().expect("stdin is already closed")
    }

    /// Writes `bytes` and a newline, as one line.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let mut line = Vec::with_capacity(bytes.len() + 1);
        line.extend_from_slice(bytes);
        line.push(b'\n');
        self.write_bulk(&line);
    }

    /// Writes one message as one line.
    pub fn send(&mut self, message: &Value) {
        let bytes = serde_json::to_vec(message).expect("serialize");
        self.send_raw(&bytes);
    }

    /// Writes pre-framed bytes (already newline-terminated lines) in as few writes as possible.
    pub fn write_bulk(&mut self, bytes: &[u8]) {
        let mut stdin = self.stdin();
        if let Err(e) = stdin.write_all(bytes).and_then(|()| stdin.flush()) {
            panic!("cannot write to the server's stdin: {e}{}", self.diagnostics());
        }
    }

    /// Writes many messages, one line each, through a buffer.
    pub fn send_many(&mut self, messages: impl IntoIterator<Item = Value>) {
        let result = {
            let mut out = BufWriter::with_capacity(1 << 16, self.stdin());
            let mut result = Ok(());
            for message in messages {
                result = serde_json::to_writer(&mut out, &message)
                    .map_err(std::io::Error::from)
                    .and_then(|()| out.write_all(b"\n"));
                if result.is_err() {
                    break;
                }
            }
            result.and_then(|()| out.flush())
        };
        if let Err(e) = result {
            panic!("cannot write to the server's stdin: {e}{}", self.diagnostics());
        }
    }

    /// Closes the server's stdin (EOF).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    fn next_line(&mut self, deadline: Instant) -> Next {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(wait) {
            Ok(line) => Next::Line(line),
            Err(RecvTimeoutError::Timeout) => Next::Timeout,
            Err(RecvTimeoutError::Disconnected) => Next::Eof,
        }
    }

    #[track_caller]
    fn parse_line(&self, line: &[u8]) -> Value {
        match serde_json::from_slice(line) {
            Ok(value) => value,
            Err(e) => {
                let shown = String::from_utf8_lossy(&line[..line.len().min(500)]).into_owned();
                panic!("stdout line is not JSON ({e}): {shown:?}{}", self.diagnostics());
            }
        }
    }

    /// The next message (pending ones first), or `None` if none arrives before `deadline`
    /// or stdout ends.
    #[track_caller]
    pub fn next_message_before(&mut self, deadline: Instant) -> Option<Value> {
        if let Some(message) = self.pending.pop_front() {
            return Some(message);
        }
        match self.next_line(deadline) {
            Next::Line(line) => Some(self.parse_line(&line)),
            Next::Timeout | Next::Eof => None,
        }
    }

    /// The next message; panics if none arrives within [`TIMEOUT`].
    #[track_caller]
    pub fn next_message(&mut self) -> Value {
        match self.next_message_before(Instant::now() + TIMEOUT) {
            Some(message) => message,
            None => panic!("no message from the server within {TIMEOUT:?}{}", self.diagnostics()),
        }
    }

    /// Waits for the response with this id; anything else read meanwhile stays pending.
    #[track_caller]
    pub fn response(&mut self, id: impl Into<Value>) -> Value {
        let id = id.into();
        if let Some(at) = self.pending.iter().position(|m| is_response_to(m, &id)) {
            return self.pending.remove(at).expect("position is in range");
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.next_line(deadline) {
                Next::Line(line) => {
                    let message = self.parse_line(&line);
                    if is_response_to(&message, &id) {
                        return message;
                    }
                    self.pending.push_back(message);
                }
                Next::Timeout => panic!("no response with id {id} within {TIMEOUT:?}{}", self.diagnostics()),
                Next::Eof => panic!("stdout ended before the response with id {id}{}", self.diagnostics()),
            }
        }
    }

    /// Sends a request and waits for its response.
    #[track_caller]
    pub fn call(&mut self, request: &Value) -> Value {
        self.send(request);
        self.response(request["id"].clone())
    }

    /// Takes every message read but not yet consumed.
    pub fn take_pending(&mut self) -> Vec<Value> {
        self.pending.drain(..).collect()
    }

    /// Pending messages plus everything arriving within `window`.
    #[track_caller]
    pub fn collect_for(&mut self, window: Duration) -> Vec<Value> {
        let deadline = Instant::now() + window;
        let mut messages = self.take_pending();
        while let Next::Line(line) = self.next_line(deadline) {
            messages.push(self.parse_line(&line));
        }
        messages
    }

    /// Every raw stdout line until the server closes stdout; nothing may be pending.
    #[track_caller]
    pub fn raw_lines_to_eof(&mut self, within: Duration) -> Vec<Vec<u8>> {
        assert!(self.pending.is_empty(), "raw_lines_to_eof with messages already parsed");
        let deadline = Instant::now() + within;
        let mut lines = Vec::new();
        loop {
            match self.next_line(deadline) {
                Next::Line(line) => lines.push(line),
                Next::Eof => return lines,
                Next::Timeout => {
                    panic!("stdout still open after {within:?} ({} lines read){}", lines.len(), self.diagnostics())
                }
            }
        }
    }

    /// Pending messages plus every message until the server closes stdout.
    #[track_caller]
    pub fn messages_to_eof(&mut self, within: Duration) -> Vec<Value> {
        let mut messages = self.take_pending();
        let deadline = Instant::now() + within;
        loop {
            match self.next_line(deadline) {
                Next::Line(line) => messages.push(self.parse_line(&line)),
                Next::Eof => return messages,
                Next::Timeout => panic!(
                    "stdout still open after {within:?} ({} messages read){}",
                    messages.len(),
                    self.diagnostics()
                ),
            }
        }
    }

    /// `initialize` with this version, then `notifications/initialized`; returns the result.
    #[track_caller]
    pub fn initialize(&mut self, version: &str) -> Value {
        let id = json!("init");
        let response = self.call(&legacy(id.clone(), "initialize", initialize_params(version)));
        let result = assert_result(&response, &id).clone();
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        result
    }

    /// Asserts the process is running and still answers a valid request (a stateless
    /// `tools/call` of `echo`, which needs no session).
    #[track_caller]
    pub fn assert_alive(&mut self) {
        if let Ok(Some(status)) = self.child().try_wait() {
            panic!("the server exited ({status}){}", self.diagnostics());
        }
        self.health_checks += 1;
        let id = json!(format!("alive-{}", self.health_checks));
        let text = format!("still here {}", self.health_checks);
        let response = self.call(&stateless_echo(id.clone(), &text));
        let result = assert_result(&response, &id);
        assert_eq!(result.get("isError"), None, "health check failed: {response}");
        assert_eq!(tool_text(result), text, "health check echoed the wrong text: {response}");
    }

    /// Waits for the process to exit; kills it and panics after `within`. Once it
    /// has exited, waits (a little) for the stderr reader to reach end of file, so
    /// [`Tenet::stderr_text`] holds everything the process wrote.
    #[track_caller]
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            let status = self.child().try_wait();
            match status {
                Ok(Some(status)) => {
                    // A grandchild that inherited stderr may hold it open: bounded.
                    let _ = self.stderr_closed.recv_timeout(Duration::from_secs(2));
                    return status;
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => {
                    let _ = self.child().kill();
                    panic!("the server did not exit within {within:?}{}", self.diagnostics());
                }
                Err(e) => panic!("cannot wait for the server: {e}"),
            }
        }
    }

    /// Sends SIGTERM with the `kill` command.
    #[track_caller]
    pub fn sigterm(&mut self) {
        let status = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().expect("cannot run `kill`");
        assert!(status.success(), "`kill -TERM` failed: {status}");
    }

    /// A field of `/proc/<pid>/status` in kB (`VmHWM`, `VmRSS`, …).
    #[track_caller]
    pub fn proc_status_kb(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("read /proc/<pid>/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/<pid>/status"))
    }

    fn diagnostics(&self) -> String {
        let pending: Vec<String> = self.pending.iter().take(20).map(|m| truncate(&m.to_string(), 300)).collect();
        let stderr = self.stderr_text();
        let start = (stderr.len().saturating_sub(4000)..stderr.len())
            .find(|&i| stderr.is_char_boundary(i))
            .unwrap_or(stderr.len());
        let tail = &stderr[start..];
        format!(
            "\n--- {} pending message(s), first ones:\n{}\n--- server stderr (tail):\n{}",
            self.pending.len(),
            pending.join("\n"),
            tail
        )
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

impl Drop for Tenet {
    fn drop(&mut self) {
        self.stdin = None;
        let mut child = self.child();
        if !matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}
