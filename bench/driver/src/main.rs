//! `mcp-bench`: a stdio load driver for MCP servers.
//!
//! It spawns a server command, speaks newline-delimited JSON-RPC over the
//! server's stdin/stdout, and measures one scenario per invocation:
//!
//! - `pipelined N`: initialize, then write N `tools/call echo` lines as fast
//!   as possible from one thread while this one reads the responses; req/s.
//!   With `--method ping`, N `ping` lines instead (reported as `pipelined-ping`).
//! - `eof N`: the same, but stdin is closed right after the last request and
//!   stdout is read until it closes; how many responses survived, exit code.
//! - `latency N`: one request at a time; p50/p99/mean in µs.
//! - `coldstart R`: R times spawn → `initialize` → first response line; ms.
//! - `idle R`: R times spawn → `initialize` → `notifications/initialized`, then
//!   `--settle` seconds idle; the server's `VmRSS`, `RssAnon` and `RssFile` (the
//!   pages of its executable and libraries), medians.
//! - `ws-pipelined N`, `ws-idle N`: the same echo calls over WebSocket to an
//!   HTTP server (`--port`), and the RSS of N idle sockets; see [`ws`].
//!
//! Every run records the server's peak RSS (`ru_maxrss` from `wait4`), is
//! bounded in time by a watchdog that SIGKILLs the server, checks that every
//! id came back exactly once and that sampled responses echo the text.
//! One JSON line per measurement goes to stdout, a human line to stderr.
//!
//! `mcp-bench report FILE…` turns those JSON lines into a markdown table.

mod report;
mod scan;
mod sys;
mod ws;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: mcp-bench [options] <pipelined|eof|latency|coldstart|idle> <count> -- <cmd> [args...]
       mcp-bench [options] --port P <ws-pipelined|ws-idle> <count> -- <cmd> [args...]
       mcp-bench report [--labels a,b,c] [--ratio a/b]... <results.jsonl>...

options:
  --label NAME        name of the server in the output (default: the command's file name)
  --timeout SECS      abort a run after this long, reported as failed (default 60)
  --idle SECS         abort a run when no response arrives for this long (default 10)
  --exit-timeout SECS after stdin closes, SIGKILL the server if it has not exited (default 10)
  --server-cpu N      pin the server to CPU N (set before exec; no wrapper process)
  --driver-cpu N      pin this driver to CPU N
  --warmup N          latency: unmeasured requests first (default 100)
  --text TEXT         the echoed text (default \"hello world\")
  --method METHOD     what each request asks: tools/call (the echo tool, default) or ping
  --protocol V        stdio: 2025-11-25 (default: an `initialize` session) or 2026-07-28 (`server/discover`,
                      then every request carries its `_meta`, as a stateless client sends it)
  --stderr            let the server's stderr through (default: discarded)
  --port P            ws-*: the server listens on 127.0.0.1:P (the command must say so too)
  --path PATH         ws-*: the MCP path of the WebSocket upgrade (default /mcp)
  --warm N            ws-idle: sockets opened (and kept) before the RSS baseline (default 16)
  --settle SECS       ws-idle: idle wait before the second RSS reading; idle: before the reading (default 1)
  --attach PID        ws-*: measure a server already running as PID (e.g. under strace) instead of
                      spawning one; it is left running, but the watchdog still kills it on timeout";

/// The text every `tools/call` asks the server to echo.
const DEFAULT_TEXT: &str = "hello world";

/// The measurement to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Pipelined,
    Eof,
    Latency,
    Coldstart,
    Idle,
    WsPipelined,
    WsIdle,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Pipelined => "pipelined",
            Scenario::Eof => "eof",
            Scenario::Latency => "latency",
            Scenario::Coldstart => "coldstart",
            Scenario::Idle => "idle",
            Scenario::WsPipelined => "ws-pipelined",
            Scenario::WsIdle => "ws-idle",
        }
    }
}

/// Parsed command line of a measurement.
#[derive(Debug, Clone)]
struct Opts {
    label: String,
    timeout: Duration,
    idle: Duration,
    exit_timeout: Duration,
    server_cpu: Option<usize>,
    driver_cpu: Option<usize>,
    warmup: usize,
    text: String,
    /// Each request a `tools/call` of the echo tool, or a `ping`.
    ping: bool,
    /// The protocol version spoken over stdio: a legacy session, or 2026-07-28 requests.
    protocol: Protocol,
    show_stderr: bool,
    scenario: Scenario,
    count: usize,
    cmd: Vec<String>,
    port: Option<u16>,
    path: String,
    warm: usize,
    settle: Duration,
    attach: Option<u32>,
}

fn parse_args(args: &[String]) -> Result<Opts, String> {
    let mut it = args.iter();
    let mut label = None;
    let mut timeout = 60.0;
    let mut idle = 10.0;
    let mut exit_timeout = 10.0;
    let mut server_cpu = None;
    let mut driver_cpu = None;
    let mut warmup = 100;
    let mut text = DEFAULT_TEXT.to_owned();
    let mut ping = false;
    let mut protocol = Protocol::Session;
    let mut show_stderr = false;
    let mut port = None;
    let mut path = "/mcp".to_owned();
    let mut warm = 16;
    let mut settle = 1.0;
    let mut attach = None;
    let mut positional = Vec::new();
    let mut cmd = Vec::new();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
        let num = |name: &str, v: String| {
            v.parse::<f64>().ok().filter(|x| *x > 0.0).ok_or_else(|| format!("{name}: not a positive number: {v}"))
        };
        let int = |name: &str, v: String| v.parse::<usize>().map_err(|_| format!("{name}: not an integer: {v}"));
        match arg.as_str() {
            "--" => {
                cmd.extend(it.by_ref().cloned());
                break;
            }
            "--label" => label = Some(value(arg)?),
            "--timeout" => timeout = num(arg, value(arg)?)?,
            "--idle" => idle = num(arg, value(arg)?)?,
            "--exit-timeout" => exit_timeout = num(arg, value(arg)?)?,
            "--server-cpu" => server_cpu = Some(int(arg, value(arg)?)?),
            "--driver-cpu" => driver_cpu = Some(int(arg, value(arg)?)?),
            "--warmup" => warmup = int(arg, value(arg)?)?,
            "--text" => text = value(arg)?,
            "--method" => {
                ping = match value(arg)?.as_str() {
                    "tools/call" => false,
                    "ping" => true,
                    v => return Err(format!("--method: tools/call or ping, not {v}")),
                }
            }
            "--protocol" => {
                protocol = match value(arg)?.as_str() {
                    "2025-11-25" => Protocol::Session,
                    "2026-07-28" => Protocol::Stateless,
                    v => return Err(format!("--protocol: 2025-11-25 or 2026-07-28, not {v}")),
                }
            }
            "--stderr" => show_stderr = true,
            "--port" => {
                let v = value(arg)?;
                port = Some(v.parse::<u16>().map_err(|_| format!("--port: not a port: {v}"))?);
            }
            "--path" => path = value(arg)?,
            "--warm" => warm = int(arg, value(arg)?)?,
            "--settle" => settle = num(arg, value(arg)?)?,
            "--attach" => {
                let v = value(arg)?;
                attach = Some(v.parse::<u32>().map_err(|_| format!("--attach: not a pid: {v}"))?);
            }
            "-h" | "--help" => return Err(String::new()),
            a if a.starts_with("--") => return Err(format!("unknown option {a}")),
            _ => positional.push(arg.clone()),
        }
    }
    let [scenario, count] = positional.as_slice() else {
        return Err("expected <scenario> <count>".into());
    };
    if ping && scenario != "pipelined" {
        return Err(format!("--method ping: only the pipelined scenario sends pings, not {scenario}"));
    }
    let scenario = match scenario.as_str() {
        "pipelined" => Scenario::Pipelined,
        "eof" => Scenario::Eof,
        "latency" => Scenario::Latency,
        "coldstart" => Scenario::Coldstart,
        "idle" => Scenario::Idle,
        "ws-pipelined" => Scenario::WsPipelined,
        "ws-idle" => Scenario::WsIdle,
        s => return Err(format!("unknown scenario {s}")),
    };
    let count = count
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("count must be a positive integer: {count}"))?;
    if cmd.is_empty() {
        return Err("missing `-- <cmd> [args...]`".into());
    }
    let label = label.unwrap_or_else(|| {
        std::path::Path::new(&cmd[0]).file_name().map_or_else(|| cmd[0].clone(), |f| f.to_string_lossy().into_owned())
    });
    let secs = Duration::from_secs_f64;
    Ok(Opts {
        label,
        timeout: secs(timeout),
        idle: secs(idle),
        exit_timeout: secs(exit_timeout),
        server_cpu,
        driver_cpu,
        warmup,
        text,
        ping,
        protocol,
        show_stderr,
        scenario,
        count,
        cmd,
        port,
        path,
        warm,
        settle: secs(settle),
        attach,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("report") {
        std::process::exit(report::main(&args[1..]));
    }
    let opts = match parse_args(&args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("mcp-bench: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Some(cpu) = opts.driver_cpu
        && let Err(e) = sys::pin_current_thread(cpu)
    {
        eprintln!("mcp-bench: cannot pin driver to CPU {cpu}: {e}");
    }
    let record = match opts.scenario {
        Scenario::Pipelined => run_burst(&opts, false),
        Scenario::Eof => run_burst(&opts, true),
        Scenario::Latency => run_latency(&opts),
        Scenario::Coldstart => run_coldstart(&opts),
        Scenario::Idle => run_idle(&opts),
        Scenario::WsPipelined => ws::run_pipelined(&opts),
        Scenario::WsIdle => ws::run_idle(&opts),
    };
    eprintln!("{}", human(&record));
    println!("{record}");
}

// ---------------------------------------------------------------------------
// The server process

/// A spawned server with its pipes.
struct Server {
    /// Kept only so the handles stay owned; it is reaped with `wait4`, never
    /// through `Child::wait`.
    _child: Child,
    pid: u32,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

fn spawn(opts: &Opts) -> Result<Server, String> {
    let mut cmd = Command::new(&opts.cmd[0]);
    cmd.args(&opts.cmd[1..]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(if opts.show_stderr {
        Stdio::inherit()
    } else {
        Stdio::null()
    });
    if let Some(cpu) = opts.server_cpu {
        sys::pin_child(&mut cmd, cpu);
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot spawn {}: {e}", opts.cmd[0]))?;
    let pid = child.id();
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    Ok(Server { _child: child, pid, stdin, stdout: BufReader::with_capacity(256 * 1024, stdout) })
}

/// How the server ended after its stdin was closed.
#[derive(Debug, Clone, Copy)]
struct Exit {
    code: Option<i32>,
    signal: Option<i32>,
    /// We had to SIGKILL it (it did not exit within the exit timeout).
    killed: bool,
    /// From stdin close to the process being reaped.
    exit_ms: f64,
    maxrss_kb: u64,
    /// Lines read from stdout after the measurement proper ended.
    extra_lines: u64,
}

/// Close stdin (if still open), read stdout to EOF, and reap the server, all
/// within `opts.exit_timeout`. `closed_at` is when stdin was closed, if the
/// caller already did.
fn finish(mut server: Server, closed_at: Option<Instant>, opts: &Opts) -> Exit {
    drop(server.stdin.take());
    let closed_at = closed_at.unwrap_or_else(Instant::now);
    let wd = Watchdog::start(server.pid, opts.exit_timeout, opts.exit_timeout);
    let mut extra_lines = 0;
    let mut line = Vec::new();
    while matches!(server.stdout.read_until(b'\n', &mut line), Ok(n) if n > 0) {
        extra_lines += 1;
        line.clear();
    }
    let fired = wd.stop().is_some();
    let deadline = closed_at + opts.exit_timeout;
    let mut killed = fired;
    let reaped = loop {
        match sys::wait4(server.pid, false) {
            Ok(Some(r)) => break Some(r),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_micros(200)),
            Ok(None) => {
                sys::kill(server.pid);
                killed = true;
                break sys::wait4(server.pid, true).ok().flatten();
            }
            Err(_) => break None,
        }
    };
    let exit_ms = ms(closed_at.elapsed());
    let r = reaped.unwrap_or(sys::Reaped { code: None, signal: None, maxrss_kb: 0 });
    Exit { code: r.code, signal: r.signal, killed, exit_ms, maxrss_kb: r.maxrss_kb, extra_lines }
}

/// Fields of a live process's `/proc/PID/status` given in KiB (`VmHWM`, `VmRSS`,
/// `RssAnon`, …), read at one time; `None` when the process is gone or a field missing.
fn status_kb<const N: usize>(pid: u32, names: [&str; N]) -> Option<[u64; N]> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.strip_prefix(name).is_some_and(|rest| rest.starts_with(':')))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    let mut found = [0; N];
    for (slot, name) in found.iter_mut().zip(names) {
        *slot = field(name)?;
    }
    Some(found)
}

/// Peak RSS so far (`VmHWM`, KiB) of a live process.
fn vmhwm_kb(pid: u32) -> Option<u64> {
    status_kb(pid, ["VmHWM"]).map(|[kb]| kb)
}

/// CPU time (ns) every live thread of a process has used so far, from
/// `/proc/PID/task/*/schedstat` (nanosecond resolution, unlike `stat`'s ticks).
fn task_cpu_ns(pid: u32) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// CPU used by the server and by this driver between two points of a run.
#[derive(Debug, Clone, Copy)]
struct CpuMark {
    server_ns: Option<u64>,
    driver_us: u64,
}

impl CpuMark {
    fn now(pid: u32) -> Self {
        CpuMark { server_ns: task_cpu_ns(pid), driver_us: sys::self_cpu_us() }
    }

    /// Record the CPU spent since `self` (server: ms and µs per response;
    /// driver: ms) into `m`.
    fn record_since(self, pid: u32, responses: usize, m: &mut serde_json::Map<String, Value>) {
        let end = CpuMark::now(pid);
        if let (Some(a), Some(b)) = (self.server_ns, end.server_ns) {
            let ns = b.saturating_sub(a) as f64;
            m.insert("server_cpu_ms".into(), json!(round(ns / 1e6, 2)));
            if responses > 0 {
                m.insert("server_cpu_us_per_req".into(), json!(round(ns / 1e3 / responses as f64, 3)));
            }
        }
        m.insert("driver_cpu_ms".into(), json!(round(end.driver_us.saturating_sub(self.driver_us) as f64 / 1e3, 2)));
    }
}

// ---------------------------------------------------------------------------
// Watchdog

/// Kills the server when a run exceeds its deadline or makes no progress for
/// the idle timeout, which unblocks every pipe read and write of the driver.
struct Watchdog {
    stop: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
    handle: JoinHandle<Option<&'static str>>,
}

impl Watchdog {
    fn start(pid: u32, deadline: Duration, idle: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(AtomicU64::new(0));
        let (stop2, progress2) = (Arc::clone(&stop), Arc::clone(&progress));
        let handle = thread::spawn(move || {
            let start = Instant::now();
            let mut seen = 0;
            let mut last_progress = start;
            loop {
                thread::park_timeout(Duration::from_millis(50));
                if stop2.load(Ordering::Acquire) {
                    return None;
                }
                let now = Instant::now();
                let p = progress2.load(Ordering::Relaxed);
                if p != seen {
                    seen = p;
                    last_progress = now;
                }
                let reason = if now - start >= deadline {
                    "deadline"
                } else if now - last_progress >= idle {
                    "idle"
                } else {
                    continue;
                };
                sys::kill(pid);
                return Some(reason);
            }
        });
        Watchdog { stop, progress, handle }
    }

    /// Note that the run is still moving.
    fn tick(&self) {
        self.progress.fetch_add(1, Ordering::Relaxed);
    }

    /// Stop watching; returns why it fired, if it did.
    fn stop(self) -> Option<&'static str> {
        self.stop.store(true, Ordering::Release);
        self.handle.thread().unpark();
        self.handle.join().unwrap_or(Some("watchdog panicked"))
    }
}

// ---------------------------------------------------------------------------
// Protocol

/// How the driver speaks to the server over stdio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// `initialize` + `notifications/initialized`, then plain 2025-11-25 requests.
    Session,
    /// `server/discover`, then 2026-07-28 requests, each with its version, client
    /// name and capabilities in `_meta`.
    Stateless,
}

/// What every 2026-07-28 request carries in its `_meta`.
fn stateless_meta() -> String {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "mcp-bench", "version": env!("CARGO_PKG_VERSION")},
        "io.modelcontextprotocol/clientCapabilities": {}
    })
    .to_string()
}

fn discover_line() -> Vec<u8> {
    let mut line = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"server/discover\",\"params\":{{\"_meta\":{}}}}}",
        stateless_meta()
    )
    .into_bytes();
    line.push(b'\n');
    line
}

fn initialize_line() -> Vec<u8> {
    let msg = json!({
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "mcp-bench", "version": env!("CARGO_PKG_VERSION")}
        }
    });
    let mut line = msg.to_string().into_bytes();
    line.push(b'\n');
    line
}

const INITIALIZED_LINE: &[u8] = b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";

/// One request line: a `ping` when `ping`, else a `tools/call echo`; `meta` is the
/// `_meta` member's text, if any (2026-07-28).
fn call_line(id: usize, ping: bool, text_json: &str, meta: Option<&str>, out: &mut Vec<u8>) {
    // `write!` into a Vec cannot fail.
    let _ = match meta {
        None if ping => writeln!(out, "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"ping\"}}"),
        Some(meta) if ping => {
            writeln!(out, "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"ping\",\"params\":{{\"_meta\":{meta}}}}}")
        }
        None => writeln!(
            out,
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/call\",\"params\":{{\"name\":\"echo\",\"arguments\":{{\"text\":{text_json}}}}}}}"
        ),
        Some(meta) => writeln!(
            out,
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/call\",\"params\":{{\"name\":\"echo\",\"arguments\":{{\"text\":{text_json}}},\"_meta\":{meta}}}}}"
        ),
    };
}

/// What the server said about itself in its `initialize` result.
#[derive(Debug, Clone, Default)]
struct InitInfo {
    server: String,
    protocol_version: String,
}

impl InitInfo {
    fn from_response(line: &[u8]) -> Result<Self, String> {
        let v: Value = serde_json::from_slice(line).map_err(|e| format!("initialize response is not JSON: {e}"))?;
        if let Some(err) = v.get("error") {
            return Err(format!("initialize failed: {err}"));
        }
        let result = v.get("result").ok_or("initialize response has no result")?;
        // A 2026-07-28 server names itself in the `_meta` of its discover result.
        let info = match result.get("serverInfo") {
            Some(info) => info,
            None => &result["_meta"]["io.modelcontextprotocol/serverInfo"],
        };
        let version = match result.get("supportedVersions") {
            Some(_) => "2026-07-28",
            None => result["protocolVersion"].as_str().unwrap_or("?"),
        };
        Ok(InitInfo {
            server: format!("{} {}", info["name"].as_str().unwrap_or("?"), info["version"].as_str().unwrap_or("?")),
            protocol_version: version.to_owned(),
        })
    }
}

/// Read lines until the response with id 0; returns it.
fn read_initialize_response(server: &mut Server, wd: &Watchdog) -> Result<Vec<u8>, String> {
    let mut line = Vec::new();
    for _ in 0..1000 {
        line.clear();
        match server.stdout.read_until(b'\n', &mut line) {
            Ok(0) => return Err("stdout closed before the initialize response".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("reading stdout: {e}")),
        }
        wd.tick();
        if let Some(top) = scan::scan(&line)
            && top.id == Some(0)
            && !top.has_method
        {
            return Ok(line);
        }
    }
    Err("no initialize response within 1000 lines".into())
}

/// `initialize` → response → `notifications/initialized`; or, for 2026-07-28,
/// `server/discover` → response.
fn handshake(server: &mut Server, wd: &Watchdog, protocol: Protocol) -> Result<InitInfo, String> {
    let stdin = server.stdin.as_mut().ok_or("no stdin pipe")?;
    let first = match protocol {
        Protocol::Session => initialize_line(),
        Protocol::Stateless => discover_line(),
    };
    stdin.write_all(&first).map_err(|e| format!("writing the first request: {e}"))?;
    let line = read_initialize_response(server, wd)?;
    let info = InitInfo::from_response(&line)?;
    if protocol == Protocol::Stateless {
        return Ok(info);
    }
    let stdin = server.stdin.as_mut().ok_or("no stdin pipe")?;
    stdin.write_all(INITIALIZED_LINE).map_err(|e| format!("writing initialized: {e}"))?;
    Ok(info)
}

/// Accounting of every line the server wrote during a measurement.
struct Tally {
    n: usize,
    seen: Vec<bool>,
    received: usize,
    duplicates: usize,
    unknown_ids: usize,
    errors: usize,
    not_json: usize,
    notifications: usize,
    server_requests: usize,
    sample_every: usize,
    sample_checked: usize,
    sample_bad: usize,
    first_bad: Option<String>,
    sample_response: Option<String>,
    /// The text a `tools/call` echoes; `None` for pings, whose result is an object.
    expected_text: Option<String>,
    last_at: Option<Instant>,
}

/// What [`Tally::take`] made of a line.
#[derive(Debug, PartialEq, Eq)]
enum Taken {
    /// A response to one of our calls (first time seen).
    Response,
    /// Anything else: duplicate, stray, notification, garbage.
    Other,
}

impl Tally {
    fn new(n: usize, expected_text: Option<&str>) -> Self {
        Tally {
            n,
            seen: vec![false; n + 1],
            received: 0,
            duplicates: 0,
            unknown_ids: 0,
            errors: 0,
            not_json: 0,
            notifications: 0,
            server_requests: 0,
            sample_every: (n / 100).max(1),
            sample_checked: 0,
            sample_bad: 0,
            first_bad: None,
            sample_response: None,
            expected_text: expected_text.map(str::to_owned),
            last_at: None,
        }
    }

    fn take(&mut self, line: &[u8]) -> Taken {
        let Some(top) = scan::scan(line) else {
            self.not_json += 1;
            self.note_bad(line);
            return Taken::Other;
        };
        if top.has_method {
            if top.has_id {
                self.server_requests += 1;
            } else {
                self.notifications += 1;
            }
            return Taken::Other;
        }
        let id = match top.id.and_then(|id| usize::try_from(id).ok()) {
            Some(id) if (1..=self.n).contains(&id) => id,
            _ => {
                self.unknown_ids += 1;
                self.note_bad(line);
                return Taken::Other;
            }
        };
        if self.seen[id] {
            self.duplicates += 1;
            return Taken::Other;
        }
        self.seen[id] = true;
        self.received += 1;
        self.last_at = Some(Instant::now());
        if top.has_error || !top.has_result {
            self.errors += 1;
            self.note_bad(line);
        }
        if id == 1 || id == self.n || id % self.sample_every == 0 {
            self.check_sample(line);
        }
        Taken::Response
    }

    /// Parse a sampled response in full and check it echoes the text.
    fn check_sample(&mut self, line: &[u8]) {
        self.sample_checked += 1;
        let good = serde_json::from_slice::<Value>(line).is_ok_and(|v| match &self.expected_text {
            Some(text) => {
                let block = &v["result"]["content"][0];
                block["type"] == "text" && block["text"] == text.as_str() && v["result"]["isError"] != true
            }
            None => v["result"].is_object(),
        });
        if !good {
            self.sample_bad += 1;
            self.note_bad(line);
        }
        if self.sample_response.is_none() {
            self.sample_response = Some(snippet(line));
        }
    }

    fn note_bad(&mut self, line: &[u8]) {
        if self.first_bad.is_none() {
            self.first_bad = Some(snippet(line));
        }
    }

    fn lost(&self) -> usize {
        self.n - self.received
    }

    /// The reply stream itself was sound (ids, results, sampled content).
    fn sound(&self) -> bool {
        self.duplicates == 0 && self.unknown_ids == 0 && self.errors == 0 && self.not_json == 0 && self.sample_bad == 0
    }

    fn to_json(&self) -> Value {
        json!({
            "received": self.received,
            "lost": self.lost(),
            "duplicates": self.duplicates,
            "unknown_ids": self.unknown_ids,
            "errors": self.errors,
            "not_json": self.not_json,
            "notifications": self.notifications,
            "server_requests": self.server_requests,
            "sample_checked": self.sample_checked,
            "sample_bad": self.sample_bad,
            "first_bad": self.first_bad,
            "sample_response": self.sample_response,
        })
    }
}

fn snippet(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(line);
    let s = s.trim_end();
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn round(x: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (x * p).round() / p
}

/// Fields every record carries.
fn base_record(opts: &Opts) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("label".into(), json!(opts.label));
    // Pipelined pings are a scenario of their own in the report.
    let scenario =
        if opts.ping && opts.scenario == Scenario::Pipelined { "pipelined-ping" } else { opts.scenario.name() };
    m.insert("scenario".into(), json!(scenario));
    m.insert("n".into(), json!(opts.count));
    m.insert("cmd".into(), json!(opts.cmd.join(" ")));
    m.insert("server_cpu".into(), json!(opts.server_cpu));
    m.insert("driver_cpu".into(), json!(opts.driver_cpu));
    m
}

fn exit_json(m: &mut serde_json::Map<String, Value>, exit: &Exit) {
    m.insert("rss_peak_kb".into(), json!(exit.maxrss_kb));
    m.insert("rss_peak_mb".into(), json!(round(exit.maxrss_kb as f64 / 1024.0, 2)));
    m.insert("exit_code".into(), json!(exit.code));
    m.insert("exit_signal".into(), json!(exit.signal));
    m.insert("killed_at_exit".into(), json!(exit.killed));
    m.insert("exit_ms".into(), json!(round(exit.exit_ms, 2)));
    m.insert("extra_lines".into(), json!(exit.extra_lines));
}

/// Append why the watchdog fired, if it did, to an error message.
fn with_watchdog(e: String, fired: Option<&str>) -> String {
    match fired {
        Some(r) => format!("{e} (watchdog fired: {r})"),
        None => e,
    }
}

fn failed(mut m: serde_json::Map<String, Value>, why: String) -> Value {
    m.insert("valid".into(), json!(false));
    m.insert("ok".into(), json!(false));
    m.insert("failure".into(), json!(why));
    Value::Object(m)
}

// ---------------------------------------------------------------------------
// Scenarios

/// `pipelined` (stdin stays open until every response is in) and `eof`
/// (stdin closed right after the last request; read stdout to EOF).
fn run_burst(opts: &Opts, close_after_write: bool) -> Value {
    let mut m = base_record(opts);
    let mut server = match spawn(opts) {
        Ok(s) => s,
        Err(e) => return failed(m, e),
    };
    let wd = Watchdog::start(server.pid, opts.timeout, opts.idle);
    let info = match handshake(&mut server, &wd, opts.protocol) {
        Ok(i) => i,
        Err(e) => {
            let fired = wd.stop();
            let exit = finish(server, None, opts);
            exit_json(&mut m, &exit);
            return failed(m, with_watchdog(e, fired));
        }
    };
    m.insert("server".into(), json!(info.server));
    m.insert("protocol_version".into(), json!(info.protocol_version));

    let n = opts.count;
    let text_json = Value::from(opts.text.as_str()).to_string();
    let meta = (opts.protocol == Protocol::Stateless).then(stateless_meta);
    let mut requests = Vec::with_capacity(n * (100 + text_json.len()));
    for id in 1..=n {
        call_line(id, opts.ping, &text_json, meta.as_deref(), &mut requests);
    }
    m.insert("request_bytes".into(), json!(requests.len()));

    let mut stdin = server.stdin.take();
    let cpu = CpuMark::now(server.pid);
    let started = Instant::now();
    let writer = thread::spawn(move || {
        let result = match stdin.as_mut() {
            Some(s) => s.write_all(&requests),
            None => Err(std::io::Error::other("no stdin pipe")),
        };
        let done = Instant::now();
        if close_after_write {
            drop(stdin.take());
        }
        (stdin, result, done)
    });

    let mut tally = Tally::new(n, (!opts.ping).then_some(opts.text.as_str()));
    let mut line = Vec::with_capacity(512);
    let mut read_error = None;
    loop {
        line.clear();
        match server.stdout.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                read_error = Some(e.to_string());
                break;
            }
        }
        wd.tick();
        tally.take(&line);
        if !close_after_write && tally.received == n {
            break;
        }
    }
    let finished = tally.last_at.unwrap_or_else(Instant::now);
    // After an EOF the server may be exiting and its threads gone: no CPU figure then.
    if !close_after_write {
        cpu.record_since(server.pid, tally.received, &mut m);
    }
    let vmhwm = vmhwm_kb(server.pid);
    let (stdin, write_result, write_done) =
        writer.join().unwrap_or((None, Err(std::io::Error::other("writer panicked")), started));
    let closed_at = if close_after_write {
        Some(write_done)
    } else {
        drop(stdin);
        Some(Instant::now())
    };
    let fired = wd.stop();
    let exit = finish(server, closed_at, opts);

    let secs = (finished - started).as_secs_f64();
    let req_per_s = if secs > 0.0 { tally.received as f64 / secs } else { 0.0 };
    m.insert("req_per_s".into(), json!(round(req_per_s, 0)));
    m.insert("elapsed_ms".into(), json!(round(secs * 1e3, 2)));
    m.insert("write_ms".into(), json!(round(ms(write_done - started), 2)));
    if let Value::Object(t) = tally.to_json() {
        m.extend(t);
    }
    m.insert("vmhwm_kb".into(), json!(vmhwm));
    exit_json(&mut m, &exit);
    m.insert("timed_out".into(), json!(fired));
    m.insert("write_error".into(), json!(write_result.err().map(|e| e.to_string())));
    m.insert("read_error".into(), json!(read_error));

    let mut why = Vec::new();
    if let Some(r) = fired {
        why.push(format!("watchdog fired ({r})"));
    }
    if !tally.sound() {
        why.push("bad responses".to_owned());
    }
    // In `eof`, lost responses are the measurement, not an invalid run.
    let valid = why.is_empty();
    if tally.lost() > 0 {
        why.push(format!("{} responses lost", tally.lost()));
    }
    m.insert("valid".into(), json!(valid));
    m.insert("ok".into(), json!(why.is_empty()));
    m.insert("failure".into(), if why.is_empty() { Value::Null } else { json!(why.join("; ")) });
    Value::Object(m)
}

/// `latency`: one request in flight at a time.
fn run_latency(opts: &Opts) -> Value {
    let mut m = base_record(opts);
    let mut server = match spawn(opts) {
        Ok(s) => s,
        Err(e) => return failed(m, e),
    };
    let wd = Watchdog::start(server.pid, opts.timeout, opts.idle);
    let info = match handshake(&mut server, &wd, opts.protocol) {
        Ok(i) => i,
        Err(e) => {
            let fired = wd.stop();
            let exit = finish(server, None, opts);
            exit_json(&mut m, &exit);
            return failed(m, with_watchdog(e, fired));
        }
    };
    m.insert("server".into(), json!(info.server));
    m.insert("protocol_version".into(), json!(info.protocol_version));

    let n = opts.count;
    let total = opts.warmup + n;
    let text_json = Value::from(opts.text.as_str()).to_string();
    let meta = (opts.protocol == Protocol::Stateless).then(stateless_meta);
    let lines: Vec<Vec<u8>> = (1..=total)
        .map(|id| {
            let mut l = Vec::with_capacity(128);
            call_line(id, opts.ping, &text_json, meta.as_deref(), &mut l);
            l
        })
        .collect();
    let mut tally = Tally::new(total, (!opts.ping).then_some(opts.text.as_str()));
    let mut samples_ns: Vec<u64> = Vec::with_capacity(n);
    let mut line = Vec::with_capacity(512);
    let mut failure = None;
    let Some(mut stdin) = server.stdin.take() else {
        return failed(m, "no stdin pipe".into());
    };
    'outer: for (i, req) in lines.iter().enumerate() {
        let t0 = Instant::now();
        if let Err(e) = stdin.write_all(req) {
            failure = Some(format!("write: {e}"));
            break;
        }
        loop {
            line.clear();
            match server.stdout.read_until(b'\n', &mut line) {
                Ok(0) => {
                    failure = Some("stdout closed".into());
                    break 'outer;
                }
                Ok(_) => {}
                Err(e) => {
                    failure = Some(format!("read: {e}"));
                    break 'outer;
                }
            }
            if tally.take(&line) == Taken::Response {
                break;
            }
        }
        let dt = t0.elapsed();
        wd.tick();
        if i >= opts.warmup {
            samples_ns.push(u64::try_from(dt.as_nanos()).unwrap_or(u64::MAX));
        }
    }
    let vmhwm = vmhwm_kb(server.pid);
    drop(stdin);
    let fired = wd.stop();
    let exit = finish(server, None, opts);

    samples_ns.sort_unstable();
    let pct = |p: f64| -> f64 {
        if samples_ns.is_empty() {
            return 0.0;
        }
        let idx = ((p / 100.0) * (samples_ns.len() - 1) as f64).round() as usize;
        samples_ns[idx] as f64 / 1e3
    };
    let mean =
        if samples_ns.is_empty() { 0.0 } else { samples_ns.iter().sum::<u64>() as f64 / samples_ns.len() as f64 / 1e3 };
    m.insert("warmup".into(), json!(opts.warmup));
    m.insert("measured".into(), json!(samples_ns.len()));
    m.insert("p50_us".into(), json!(round(pct(50.0), 1)));
    m.insert("p90_us".into(), json!(round(pct(90.0), 1)));
    m.insert("p99_us".into(), json!(round(pct(99.0), 1)));
    m.insert("max_us".into(), json!(round(pct(100.0), 1)));
    m.insert("min_us".into(), json!(round(pct(0.0), 1)));
    m.insert("mean_us".into(), json!(round(mean, 1)));
    if let Value::Object(t) = tally.to_json() {
        m.extend(t);
    }
    m.insert("vmhwm_kb".into(), json!(vmhwm));
    exit_json(&mut m, &exit);
    m.insert("timed_out".into(), json!(fired));

    let mut why = Vec::new();
    if let Some(r) = fired {
        why.push(format!("watchdog fired ({r})"));
    }
    if let Some(f) = failure {
        why.push(f);
    }
    if !tally.sound() || tally.lost() > 0 {
        why.push("bad or missing responses".to_owned());
    }
    m.insert("valid".into(), json!(why.is_empty()));
    m.insert("ok".into(), json!(why.is_empty()));
    m.insert("failure".into(), if why.is_empty() { Value::Null } else { json!(why.join("; ")) });
    Value::Object(m)
}

/// `coldstart`: R times spawn → initialize → first response line.
fn run_coldstart(opts: &Opts) -> Value {
    let mut m = base_record(opts);
    let init = initialize_line();
    let mut times_ms = Vec::with_capacity(opts.count);
    let mut rss_kb = Vec::with_capacity(opts.count);
    let mut exit_ms = Vec::with_capacity(opts.count);
    let mut failures = Vec::new();
    let mut info = InitInfo::default();
    for run in 0..opts.count {
        let t0 = Instant::now();
        let mut server = match spawn(opts) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("run {run}: {e}"));
                continue;
            }
        };
        let wd = Watchdog::start(server.pid, opts.timeout, opts.idle);
        let result = match server.stdin.as_mut() {
            Some(stdin) => stdin.write_all(&init).map_err(|e| format!("writing initialize: {e}")),
            None => Err("no stdin pipe".into()),
        }
        .and_then(|()| {
            let mut line = Vec::new();
            match server.stdout.read_until(b'\n', &mut line) {
                Ok(0) => Err("stdout closed".to_owned()),
                Ok(_) => Ok((t0.elapsed(), line)),
                Err(e) => Err(format!("read: {e}")),
            }
        })
        .and_then(|(dt, line)| {
            let top = scan::scan(&line).ok_or("first line is not a JSON object")?;
            if top.id != Some(0) {
                return Err(format!("first line is not the initialize response: {}", snippet(&line)));
            }
            InitInfo::from_response(&line).map(|i| (dt, i))
        });
        let fired = wd.stop();
        let exit = finish(server, None, opts);
        match (result, fired) {
            (Ok((dt, i)), None) => {
                times_ms.push(ms(dt));
                rss_kb.push(exit.maxrss_kb);
                exit_ms.push(exit.exit_ms);
                info = i;
            }
            (Ok(_), Some(r)) => failures.push(format!("run {run}: watchdog fired ({r})")),
            (Err(e), _) => failures.push(format!("run {run}: {e}")),
        }
    }
    times_ms.sort_by(f64::total_cmp);
    rss_kb.sort_unstable();
    exit_ms.sort_by(f64::total_cmp);
    let median = |v: &[f64]| if v.is_empty() { 0.0 } else { v[v.len() / 2] };
    m.insert("server".into(), json!(info.server));
    m.insert("protocol_version".into(), json!(info.protocol_version));
    m.insert("runs_ok".into(), json!(times_ms.len()));
    m.insert("p50_ms".into(), json!(round(median(&times_ms), 3)));
    m.insert("min_ms".into(), json!(round(times_ms.first().copied().unwrap_or(0.0), 3)));
    m.insert("max_ms".into(), json!(round(times_ms.last().copied().unwrap_or(0.0), 3)));
    let mean = if times_ms.is_empty() { 0.0 } else { times_ms.iter().sum::<f64>() / times_ms.len() as f64 };
    m.insert("mean_ms".into(), json!(round(mean, 3)));
    let rss = rss_kb.get(rss_kb.len() / 2).copied().unwrap_or(0);
    m.insert("rss_peak_kb".into(), json!(rss));
    m.insert("rss_peak_mb".into(), json!(round(rss as f64 / 1024.0, 2)));
    m.insert("exit_ms".into(), json!(round(median(&exit_ms), 2)));
    let ok = failures.is_empty();
    m.insert("valid".into(), json!(ok));
    m.insert("ok".into(), json!(ok));
    m.insert("failure".into(), if ok { Value::Null } else { json!(failures.join("; ")) });
    Value::Object(m)
}

/// `idle`: R times spawn → handshake → `--settle` idle → the server's resident memory.
fn run_idle(opts: &Opts) -> Value {
    let mut m = base_record(opts);
    let mut readings: [Vec<u64>; 3] = Default::default();
    let mut failures = Vec::new();
    let mut info = InitInfo::default();
    for run in 0..opts.count {
        let mut server = match spawn(opts) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("run {run}: {e}"));
                continue;
            }
        };
        // The watchdog's idle bound would fire while the server is left idle on purpose.
        let wd = Watchdog::start(server.pid, opts.timeout, opts.idle.max(opts.settle + Duration::from_secs(5)));
        let result = handshake(&mut server, &wd, opts.protocol).and_then(|i| {
            thread::sleep(opts.settle);
            status_kb(server.pid, ["VmRSS", "RssAnon", "RssFile"])
                .map(|kb| (i, kb))
                .ok_or_else(|| "could not read /proc/PID/status".to_owned())
        });
        let fired = wd.stop();
        finish(server, None, opts);
        match (result, fired) {
            (Ok((i, kb)), None) => {
                for (all, one) in readings.iter_mut().zip(kb) {
                    all.push(one);
                }
                info = i;
            }
            (Ok(_), Some(r)) => failures.push(format!("run {run}: watchdog fired ({r})")),
            (Err(e), _) => failures.push(format!("run {run}: {e}")),
        }
    }
    m.insert("server".into(), json!(info.server));
    m.insert("protocol_version".into(), json!(info.protocol_version));
    m.insert("runs_ok".into(), json!(readings[0].len()));
    for (name, mut all) in ["vmrss", "rss_anon", "rss_file"].into_iter().zip(readings) {
        all.sort_unstable();
        let median = all.get(all.len() / 2).copied().unwrap_or(0);
        m.insert(format!("{name}_kb"), json!(median));
        m.insert(format!("{name}_mb"), json!(round(median as f64 / 1024.0, 2)));
    }
    let ok = failures.is_empty();
    m.insert("valid".into(), json!(ok));
    m.insert("ok".into(), json!(ok));
    m.insert("failure".into(), if ok { Value::Null } else { json!(failures.join("; ")) });
    Value::Object(m)
}

/// One human-readable line for a record.
fn human(r: &Value) -> String {
    let f = |k: &str| r.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let v = |k: &str| match r.get(k) {
        Some(Value::Null) | None => "-".to_owned(),
        Some(x) => x.to_string(),
    };
    let head = format!(
        "{:<10} {:<9} n={:<7} {}",
        r["label"].as_str().unwrap_or("?"),
        r["scenario"].as_str().unwrap_or("?"),
        r["n"],
        if r["ok"] == true { "ok  " } else { "FAIL" }
    );
    let body = match r["scenario"].as_str() {
        Some("pipelined" | "pipelined-ping" | "eof" | "ws-pipelined") => format!(
            "{:>9.0} req/s  received {}/{}  lost {}  rss {:.1} MB  exit {}{} after {:.1} ms",
            f("req_per_s"),
            v("received"),
            v("n"),
            v("lost"),
            f("rss_peak_mb"),
            if r["exit_code"].is_null() { format!("signal {}", v("exit_signal")) } else { v("exit_code") },
            if r["killed_at_exit"] == true { " (killed)" } else { "" },
            f("exit_ms"),
        ),
        Some("latency") => format!(
            "p50 {:.1} µs  p99 {:.1} µs  mean {:.1} µs  rss {:.1} MB",
            f("p50_us"),
            f("p99_us"),
            f("mean_us"),
            f("rss_peak_mb")
        ),
        Some("coldstart") => format!(
            "p50 {:.2} ms  min {:.2} ms  ({} ok)  rss {:.1} MB",
            f("p50_ms"),
            f("min_ms"),
            v("runs_ok"),
            f("rss_peak_mb")
        ),
        Some("idle") => format!(
            "VmRSS {:.2} MB  RssAnon {:.2} MB  RssFile {:.2} MB  ({} ok)",
            f("vmrss_mb"),
            f("rss_anon_mb"),
            f("rss_file_mb"),
            v("runs_ok")
        ),
        Some("ws-idle") => format!(
            "{} sockets  VmRSS {} -> {} KB  {:.2} KB/socket  opened in {:.2} s",
            v("sockets"),
            v("rss_before_kb"),
            v("rss_after_kb"),
            f("kb_per_socket"),
            f("open_secs")
        ),
        _ => String::new(),
    };
    match r["failure"].as_str() {
        Some(why) => format!("{head} {body}  [{why}]"),
        None => format!("{head} {body}"),
    }
}
