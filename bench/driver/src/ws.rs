//! WebSocket scenarios: the server is an HTTP server (e.g. `tenet serve --demo
//! --transport http --port P`) speaking MCP over WebSocket at
//! `ws://127.0.0.1:P/mcp` (subprotocol `mcp`, one JSON-RPC message per text
//! frame).
//!
//! - `ws-pipelined N`: one socket, `initialize` + `notifications/initialized`,
//!   then one thread writes N `tools/call echo` frames as fast as the socket
//!   takes them while this one reads; req/s = N / (first write → last response).
//! - `ws-idle N`: N sockets, each `initialize` + `notifications/initialized` +
//!   a `ping` request answered, kept open and idle; the server's `VmRSS` before
//!   and after, per socket.
//!
//! The client is plain `std`: the upgrade request is written by hand (the
//! answer's `Sec-WebSocket-Accept` and subprotocol are checked), the request
//! frames are encoded and masked before the clock starts (as the stdio
//! driver pre-builds its lines), and the reader decodes frames from a large
//! buffered reader, so that the client costs little more than over a pipe.
//! Responses go through the same [`Tally`] as stdio: every id exactly once,
//! no error, ~100 sampled responses parsed in full.

use crate::{
    CpuMark, InitInfo, Opts, Tally, Watchdog, base_record, call_line, failed, ms, round, scan, status_kb, sys, vmhwm_kb,
};
use serde_json::{Value, json};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Text frame opcode.
const OP_TEXT: u8 = 0x1;
const OP_CONT: u8 = 0x0;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// A spawned HTTP server that is listening.
struct HttpServer {
    /// Holds the stdin pipe open (and the handles owned); reaped with `wait4`.
    /// `None` for a server we did not start (`--attach`).
    _child: Option<Child>,
    pid: u32,
}

impl HttpServer {
    /// SIGKILL and reap; returns the peak RSS over the process life (KiB).
    /// A server we attached to is left running (its `VmHWM` is returned).
    fn kill(self) -> u64 {
        if self._child.is_none() {
            return vmhwm_kb(self.pid).unwrap_or(0);
        }
        sys::kill(self.pid);
        sys::wait4(self.pid, true).ok().flatten().map_or(0, |r| r.maxrss_kb)
    }
}

fn port(opts: &Opts) -> Result<u16, String> {
    opts.port.ok_or_else(|| "the ws scenarios need --port (where the server listens)".to_owned())
}

/// Spawn the server (pinned before exec) and wait until it accepts TCP on the port.
fn spawn_listening(opts: &Opts, port: u16) -> Result<HttpServer, String> {
    if let Some(pid) = opts.attach {
        // Started elsewhere (e.g. under strace or perf): it must listen already.
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port).into();
        TcpStream::connect_timeout(&addr, Duration::from_secs(2))
            .map_err(|e| format!("nothing listens on 127.0.0.1:{port}: {e}"))?;
        return Ok(HttpServer { _child: None, pid });
    }
    let mut cmd = Command::new(&opts.cmd[0]);
    cmd.args(&opts.cmd[1..]).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(if opts.show_stderr {
        Stdio::inherit()
    } else {
        Stdio::null()
    });
    if let Some(cpu) = opts.server_cpu {
        sys::pin_child(&mut cmd, cpu);
    }
    let child = cmd.spawn().map_err(|e| format!("cannot spawn {}: {e}", opts.cmd[0]))?;
    let server = HttpServer { pid: child.id(), _child: Some(child) };
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port).into();
    let t0 = Instant::now();
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(server);
        }
        if let Ok(Some(r)) = sys::wait4(server.pid, false) {
            return Err(format!("server exited before listening (code {:?}, signal {:?})", r.code, r.signal));
        }
        if t0.elapsed() > Duration::from_secs(10) {
            server.kill();
            return Err(format!("server did not listen on 127.0.0.1:{port} within 10 s"));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// `VmRSS` (KiB) of a live process.
fn vmrss_kb(pid: u32) -> Option<u64> {
    status_kb(pid, ["VmRSS"]).map(|[kb]| kb)
}

// ---------------------------------------------------------------------------
// The client side of RFC 6455, just what the benchmark needs

/// A tiny xorshift for the `Sec-WebSocket-Key` and the frame masks (the server
/// only has to unmask; the keys need not be secret here).
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Append one masked client frame (FIN set) carrying `payload`.
fn encode_frame(opcode: u8, payload: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    out.push(0x80 | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= 0xFFFF {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
}

fn text_frame(rng: &mut Rng, payload: &[u8], out: &mut Vec<u8>) {
    let mask = (rng.next() as u32).to_ne_bytes();
    encode_frame(OP_TEXT, payload, mask, out);
}

/// One open socket after the upgrade.
struct Ws {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    rng: Rng,
    /// Payload of the message being read (reused).
    buf: Vec<u8>,
    pings: u64,
}

/// A message read from the server.
enum Msg<'a> {
    Text(&'a [u8]),
    Close(&'a [u8]),
    Other,
}

impl Ws {
    /// Connect to `127.0.0.1:port`, upgrade `path` with subprotocol `mcp`.
    fn connect(port: u16, path: &str, read_buffer: usize) -> Result<Self, String> {
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        let stream =
            TcpStream::connect_timeout(&addr.into(), Duration::from_secs(5)).map_err(|e| format!("connect: {e}"))?;
        stream.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| format!("read timeout: {e}"))?;
        let mut rng = Rng::new();
        let key_bytes: Vec<u8> = (0..16).map(|_| rng.next() as u8).collect();
        let key = base64(&key_bytes);
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mcp\r\n\r\n"
        );
        let mut writer = stream.try_clone().map_err(|e| format!("clone: {e}"))?;
        writer.write_all(request.as_bytes()).map_err(|e| format!("writing the upgrade: {e}"))?;
        let mut reader = BufReader::with_capacity(read_buffer, stream);
        // The server sends nothing before the upgrade answer, and nothing after it
        // until we send a message: reading the head line by line loses nothing.
        let mut head = Vec::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => return Err("connection closed during the upgrade".into()),
                Ok(_) => {}
                Err(e) => return Err(format!("reading the upgrade answer: {e}")),
            }
            if line == b"\r\n" {
                break;
            }
            head.extend_from_slice(&line);
            if head.len() > 16 * 1024 {
                return Err("upgrade answer head too long".into());
            }
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let status = head.lines().next().unwrap_or("");
        if !status.starts_with("HTTP/1.1 101") {
            return Err(format!("upgrade refused: {}", head.lines().next().unwrap_or("(empty)")));
        }
        let header = |name: &str| {
            head.lines().skip(1).find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
        };
        let expected = tungstenite::handshake::derive_accept_key(key.as_bytes());
        if header("sec-websocket-accept").as_deref() != Some(expected.as_str()) {
            return Err(format!("bad Sec-WebSocket-Accept: {:?}", header("sec-websocket-accept")));
        }
        if header("sec-websocket-protocol").as_deref() != Some("mcp") {
            return Err(format!("subprotocol not mcp: {:?}", header("sec-websocket-protocol")));
        }
        Ok(Ws { reader, writer, rng, buf: Vec::with_capacity(1024), pings: 0 })
    }

    fn send_text(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut frame = Vec::with_capacity(payload.len() + 14);
        text_frame(&mut self.rng, payload, &mut frame);
        self.writer.write_all(&frame)
    }

    /// Read one whole message (continuation frames joined). Pings are counted and
    /// not answered (a run is far shorter than the server's ping interval).
    fn read(&mut self) -> io::Result<Msg<'_>> {
        self.buf.clear();
        let mut message_op = None;
        loop {
            let mut h = [0u8; 2];
            self.reader.read_exact(&mut h)?;
            let (fin, op, masked) = (h[0] & 0x80 != 0, h[0] & 0x0F, h[1] & 0x80 != 0);
            let len = match h[1] & 0x7F {
                126 => {
                    let mut b = [0u8; 2];
                    self.reader.read_exact(&mut b)?;
                    u64::from(u16::from_be_bytes(b))
                }
                127 => {
                    let mut b = [0u8; 8];
                    self.reader.read_exact(&mut b)?;
                    u64::from_be_bytes(b)
                }
                n => u64::from(n),
            };
            let mask = if masked {
                let mut m = [0u8; 4];
                self.reader.read_exact(&mut m)?;
                Some(m)
            } else {
                None
            };
            let len = usize::try_from(len).map_err(|_| io::Error::other("frame too long"))?;
            if op >= 0x8 {
                // Control frame: never fragmented, at most 125 bytes; read it apart.
                let mut p = vec![0u8; len];
                self.reader.read_exact(&mut p)?;
                match op {
                    OP_PING => self.pings += 1,
                    OP_PONG => {}
                    OP_CLOSE => {
                        self.buf = p;
                        return Ok(Msg::Close(&self.buf));
                    }
                    _ => return Err(io::Error::other(format!("unknown control opcode {op}"))),
                }
                continue;
            }
            match (op, message_op) {
                (OP_CONT, Some(_)) | (OP_TEXT | OP_BINARY, None) => {}
                _ => return Err(io::Error::other(format!("unexpected opcode {op}"))),
            }
            message_op.get_or_insert(op);
            let start = self.buf.len();
            self.buf.resize(start + len, 0);
            self.reader.read_exact(&mut self.buf[start..])?;
            if let Some(m) = mask {
                for (i, b) in self.buf[start..].iter_mut().enumerate() {
                    *b ^= m[i & 3];
                }
            }
            if fin {
                return Ok(if message_op == Some(OP_TEXT) { Msg::Text(&self.buf) } else { Msg::Other });
            }
        }
    }

    /// Read messages until the response with integer id `id`; returns it.
    fn read_response(&mut self, id: i64) -> Result<Vec<u8>, String> {
        for _ in 0..1000 {
            match self.read().map_err(|e| format!("reading: {e}"))? {
                Msg::Text(t) => {
                    if let Some(top) = scan::scan(t)
                        && top.id == Some(id)
                        && !top.has_method
                    {
                        return Ok(t.to_vec());
                    }
                }
                Msg::Close(p) => return Err(format!("server closed the socket: {}", String::from_utf8_lossy(p))),
                Msg::Other => {}
            }
        }
        Err(format!("no response with id {id} within 1000 messages"))
    }

    /// `initialize` → response → `notifications/initialized`.
    fn handshake(&mut self) -> Result<InitInfo, String> {
        let init = crate::initialize_line();
        self.send_text(init.trim_ascii_end()).map_err(|e| format!("writing initialize: {e}"))?;
        let line = self.read_response(0)?;
        let info = InitInfo::from_response(&line)?;
        self.send_text(crate::INITIALIZED_LINE.trim_ascii_end()).map_err(|e| format!("writing initialized: {e}"))?;
        Ok(info)
    }

    /// A `ping` request answered with an empty result.
    fn ping(&mut self, id: i64) -> Result<(), String> {
        let req = format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"ping\"}}");
        self.send_text(req.as_bytes()).map_err(|e| format!("writing ping: {e}"))?;
        let line = self.read_response(id)?;
        let top = scan::scan(&line).ok_or("ping answer is not JSON")?;
        if top.has_result && !top.has_error {
            Ok(())
        } else {
            Err(format!("ping failed: {}", crate::snippet(&line)))
        }
    }
}

/// Standard base64 with padding (for the 16-byte key).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        s.push(A[(n >> 18) as usize & 63] as char);
        s.push(A[(n >> 12) as usize & 63] as char);
        s.push(if c.len() > 1 { A[(n >> 6) as usize & 63] as char } else { '=' });
        s.push(if c.len() > 2 { A[n as usize & 63] as char } else { '=' });
    }
    s
}

// ---------------------------------------------------------------------------
// Scenarios

/// `ws-pipelined N`.
pub fn run_pipelined(opts: &Opts) -> Value {
    let mut m = base_record(opts);
    m.insert("transport".into(), json!("websocket"));
    let port = match port(opts) {
        Ok(p) => p,
        Err(e) => return failed(m, e),
    };
    let server = match spawn_listening(opts, port) {
        Ok(s) => s,
        Err(e) => return failed(m, e),
    };
    let wd = Watchdog::start(server.pid, opts.timeout, opts.idle);
    let mut ws = match Ws::connect(port, &opts.path, 256 * 1024) {
        Ok(ws) => ws,
        Err(e) => {
            let fired = wd.stop();
            server.kill();
            return failed(m, crate::with_watchdog(e, fired));
        }
    };
    let info = match ws.handshake() {
        Ok(i) => i,
        Err(e) => {
            let fired = wd.stop();
            server.kill();
            return failed(m, crate::with_watchdog(e, fired));
        }
    };
    m.insert("server".into(), json!(info.server));
    m.insert("protocol_version".into(), json!(info.protocol_version));

    // Every frame encoded and masked before the clock starts.
    let n = opts.count;
    let text_json = Value::from(opts.text.as_str()).to_string();
    let mut frames = Vec::with_capacity(n * (110 + text_json.len()));
    let mut line = Vec::with_capacity(256);
    for id in 1..=n {
        line.clear();
        call_line(id, false, &text_json, None, &mut line);
        text_frame(&mut ws.rng, line.trim_ascii_end(), &mut frames);
    }
    m.insert("request_bytes".into(), json!(frames.len()));

    let mut writer = match ws.writer.try_clone() {
        Ok(w) => w,
        Err(e) => {
            wd.stop();
            server.kill();
            return failed(m, format!("clone: {e}"));
        }
    };
    let cpu = CpuMark::now(server.pid);
    let started = Instant::now();
    let write_thread = thread::spawn(move || {
        let result = writer.write_all(&frames);
        (result, Instant::now())
    });

    let mut tally = Tally::new(n, Some(opts.text.as_str()));
    let mut read_error = None;
    let mut closed = None;
    while tally.received < n {
        match ws.read() {
            Ok(Msg::Text(t)) => {
                wd.tick();
                tally.take(t);
            }
            Ok(Msg::Close(p)) => {
                closed = Some(String::from_utf8_lossy(p).into_owned());
                break;
            }
            Ok(Msg::Other) => {}
            Err(e) => {
                read_error = Some(e.to_string());
                break;
            }
        }
    }
    let finished = tally.last_at.unwrap_or_else(Instant::now);
    cpu.record_since(server.pid, tally.received, &mut m);
    let vmhwm = vmhwm_kb(server.pid);
    let fired = wd.stop();
    let peak = server.kill();
    let (write_result, write_done) =
        write_thread.join().unwrap_or((Err(io::Error::other("writer panicked")), started));

    let secs = (finished - started).as_secs_f64();
    let req_per_s = if secs > 0.0 { tally.received as f64 / secs } else { 0.0 };
    m.insert("req_per_s".into(), json!(round(req_per_s, 0)));
    m.insert("elapsed_ms".into(), json!(round(secs * 1e3, 2)));
    m.insert("write_ms".into(), json!(round(ms(write_done - started), 2)));
    if let Value::Object(t) = tally.to_json() {
        m.extend(t);
    }
    m.insert("server_pings".into(), json!(ws.pings));
    m.insert("vmhwm_kb".into(), json!(vmhwm));
    m.insert("rss_peak_kb".into(), json!(peak));
    m.insert("rss_peak_mb".into(), json!(round(peak as f64 / 1024.0, 2)));
    m.insert("timed_out".into(), json!(fired));
    m.insert("write_error".into(), json!(write_result.err().map(|e| e.to_string())));
    m.insert("read_error".into(), json!(read_error));
    m.insert("closed_by_server".into(), json!(closed));

    let mut why = Vec::new();
    if let Some(r) = fired {
        why.push(format!("watchdog fired ({r})"));
    }
    if let Some(c) = &closed {
        why.push(format!("server closed the socket ({c})"));
    }
    if !tally.sound() {
        why.push("bad responses".to_owned());
    }
    if tally.lost() > 0 {
        why.push(format!("{} responses lost", tally.lost()));
    }
    m.insert("valid".into(), json!(why.is_empty()));
    m.insert("ok".into(), json!(why.is_empty()));
    m.insert("failure".into(), if why.is_empty() { Value::Null } else { json!(why.join("; ")) });
    Value::Object(m)
}

/// Open one real session on a fresh socket: upgrade, handshake, a ping answered.
fn open_session(port: u16, path: &str) -> Result<Ws, String> {
    let mut ws = Ws::connect(port, path, 4096)?;
    ws.handshake()?;
    ws.ping(1)?;
    Ok(ws)
}

/// `ws-idle N`.
pub fn run_idle(opts: &Opts) -> Value {
    let mut m = base_record(opts);
    m.insert("transport".into(), json!("websocket"));
    let port = match port(opts) {
        Ok(p) => p,
        Err(e) => return failed(m, e),
    };
    let server = match spawn_listening(opts, port) {
        Ok(s) => s,
        Err(e) => return failed(m, e),
    };
    let wd = Watchdog::start(server.pid, opts.timeout, opts.idle);
    let mut sockets = Vec::with_capacity(opts.warm + opts.count);
    let mut failure = None;
    // Warm-up sockets (kept open): one-time allocations are not a per-socket cost.
    for _ in 0..opts.warm {
        match open_session(port, &opts.path) {
            Ok(ws) => sockets.push(ws),
            Err(e) => {
                failure = Some(format!("warm-up socket: {e}"));
                break;
            }
        }
        wd.tick();
    }
    let mut before = None;
    let mut after = None;
    let mut open_secs = 0.0;
    let mut checked = 0;
    if failure.is_none() {
        thread::sleep(Duration::from_millis(500));
        wd.tick();
        before = vmrss_kb(server.pid);
        let t0 = Instant::now();
        for i in 0..opts.count {
            match open_session(port, &opts.path) {
                Ok(ws) => sockets.push(ws),
                Err(e) => {
                    failure = Some(format!("socket {}: {e}", i + 1));
                    break;
                }
            }
            wd.tick();
        }
        open_secs = t0.elapsed().as_secs_f64();
        // Idle wait, in short steps so that the watchdog sees we are alive.
        let settle = Instant::now();
        while settle.elapsed() < opts.settle {
            thread::sleep(Duration::from_millis(100));
            wd.tick();
        }
        after = vmrss_kb(server.pid);
        // The sessions are still there: every 50th socket answers another ping.
        if failure.is_none() {
            for (i, ws) in sockets.iter_mut().enumerate().skip(opts.warm).step_by(50) {
                if let Err(e) = ws.ping(2) {
                    failure = Some(format!("socket {} after the wait: {e}", i + 1 - opts.warm));
                    break;
                }
                checked += 1;
            }
        }
    }
    let opened = sockets.len().saturating_sub(opts.warm);
    let fired = wd.stop();
    let vmhwm = vmhwm_kb(server.pid);
    let peak = server.kill();
    drop(sockets);

    m.insert("warm".into(), json!(opts.warm));
    m.insert("sockets".into(), json!(opened));
    m.insert("rss_before_kb".into(), json!(before));
    m.insert("rss_after_kb".into(), json!(after));
    if let (Some(b), Some(a)) = (before, after)
        && opened > 0
    {
        let per = (a as f64 - b as f64) / opened as f64;
        m.insert("kb_per_socket".into(), json!(round(per, 2)));
        m.insert("bytes_per_socket".into(), json!(round(per * 1024.0, 0)));
    }
    m.insert("open_secs".into(), json!(round(open_secs, 3)));
    m.insert("settle_secs".into(), json!(opts.settle.as_secs_f64()));
    m.insert("pings_checked_after_wait".into(), json!(checked));
    m.insert("vmhwm_kb".into(), json!(vmhwm));
    m.insert("rss_peak_kb".into(), json!(peak));
    m.insert("timed_out".into(), json!(fired));
    let mut why = Vec::new();
    if let Some(r) = fired {
        why.push(format!("watchdog fired ({r})"));
    }
    if let Some(f) = failure {
        why.push(f);
    }
    if before.is_none() || after.is_none() {
        why.push("could not read VmRSS".to_owned());
    }
    m.insert("valid".into(), json!(why.is_empty()));
    m.insert("ok".into(), json!(why.is_empty()));
    m.insert("failure".into(), if why.is_empty() { Value::Null } else { json!(why.join("; ")) });
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_of_the_rfc_key() {
        assert_eq!(base64(b"the sample nonce"), "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
    }

    #[test]
    fn frames_are_masked_with_the_right_length() {
        let mut out = Vec::new();
        encode_frame(OP_TEXT, b"Hello", [0x37, 0xfa, 0x21, 0x3d], &mut out);
        // RFC 6455 §5.7: a masked "Hello".
        assert_eq!(out, [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        let mut out = Vec::new();
        encode_frame(OP_TEXT, &[b'x'; 200], [0; 4], &mut out);
        assert_eq!(&out[..4], &[0x81, 0x80 | 126, 0, 200]);
        assert_eq!(out.len(), 4 + 4 + 200);
    }
}
