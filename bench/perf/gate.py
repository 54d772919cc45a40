"""The performance gate's measurements, comparison and baseline file (python3 stdlib only).

Run it through scripts/perf-gate, which finds the binary; bench/perf-baseline.toml holds the
baselines, their tolerances and the spreads they were chosen from. Every figure is of one
server process:

* Ir/request: user-space instructions (callgrind's Ir) per request. The server runs under
  `valgrind --tool=callgrind --instr-atstart=no`; this driver runs natively, on one
  connection (stdin/stdout, or one keep-alive TCP connection), and sends its requests one
  at a time: each in one write, the next only once the answer is in and every thread of the
  server sleeps again. After the start (initialize; a legacy session's
  notifications/initialized) and a warm-up, `callgrind_control -i on`, N requests,
  `callgrind_control -i off`: the Ir counted / N. (--method diff instead runs the server
  twice, with N1 and N2 requests, and takes (Ir(N2) - Ir(N1)) / (N2 - N1).) The server's
  entropy is fixed (class Entropy) and the figure is the mean over a few seeds. Every
  answer is checked: its id, no error, the echoed text or some search hits.
* KiB, B/session: RssAnon (/proc/PID/status: the anonymous pages resident, what the server
  allocated) of a native `tenet serve --transport http` (the built-in corpus) idle after one
  legacy initialize, and after 1 000 more idle legacy sessions; the median over a few
  servers. Not VmRSS: that also counts the binary's own file pages, which follow the page
  cache rather than the server (one binary idled at 18.9 MB VmRSS as the linker wrote it
  and at 20.6 MB after a `cp`, run after run; RssAnon 5.3 MB both ways). Those file pages
  have a row of their own, as shipped (RssFile), coarse for that reason: it holds the
  layout scripts/link-order gives the code a server runs.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

LEGACY = "2025-11-25"
MODERN = "2026-07-28"
ECHO_TEXT = "hello world"
QUERY = "error handling"
# The node id every server is given: with it no state directory is read or written.
NODE_ID = "perf-gate"
TIMEOUT = 120.0  # seconds for any one answer (a server under valgrind starts slowly)


class GateError(Exception):
    """A run that did not go as it must (no answer, a wrong answer, a crash)."""


# --- JSON-RPC messages --------------------------------------------------------------------

def initialize(version):
    return {"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {},
                       "clientInfo": {"name": "perf-gate", "version": "0.1.0"}}}


INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
PING = {"jsonrpc": "2.0", "id": "ping", "method": "ping"}


def call(rid, tool, arguments, modern=False):
    params = {"name": tool, "arguments": arguments}
    if modern:
        params["_meta"] = {"io.modelcontextprotocol/protocolVersion": MODERN,
                           "io.modelcontextprotocol/clientCapabilities": {}}
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": params}


def line(message):
    return (json.dumps(message, separators=(",", ":")) + "\n").encode()


def check_result(message, rid, expect):
    """Raises unless `message` is the successful answer to request `rid`."""
    if message.get("id") != rid:
        raise GateError(f"expected the answer to id {rid}, got {str(message)[:300]}")
    result = message.get("result")
    if not isinstance(result, dict) or result.get("isError"):
        raise GateError(f"request {rid} failed: {str(message)[:300]}")
    expect(result, rid)


def expect_text(text):
    def check(result, rid):
        content = result.get("content") or [{}]
        if content[0].get("text") != text:
            raise GateError(f"request {rid}: expected {text!r}, got {str(result)[:300]}")
    return check


def expect_hits(result, rid):
    hits = (result.get("structuredContent") or {}).get("results")
    if not hits:
        raise GateError(f"request {rid}: search_stdlib found nothing: {str(result)[:300]}")


# --- The paths ----------------------------------------------------------------------------

@dataclass
class Path_:
    """One measured path: what it runs, and what its figure means."""
    name: str
    what: str
    unit: str
    kind: str  # "stdio", "http" (instructions) or "rss"
    command: list = field(default_factory=list)
    tool: str = "echo"
    arguments: dict = field(default_factory=dict)
    expect: object = None
    mode: str = ""  # http: "stateless" or "legacy"; rss: "idle", "sessions", "per_session" or "file_idle"
    env: dict = field(default_factory=dict)
    n: tuple = (0, 0)  # requests: (N1, N2) of --method diff; N2 is toggle's window;
    # rss: (sessions, servers whose median is the figure)
    warm: int = 20  # toggle: requests before the window
    seeds: int = 5  # fixed-entropy seeds the figure is the mean over (see Entropy)


def paths(tenet, example, workdir, http_workers="1", example_env=None):
    """Every path, in the order of the table. `example` is the self-test's server, run with
    `example_env` added to its environment."""
    echo = {"text": ECHO_TEXT}
    upstream = workdir / "upstream.sh"
    upstream.write_text(f"#!/bin/sh\nexec {sh_quote(Path(tenet).resolve())} serve --demo --node-id perf-gate-up\n")
    upstream.chmod(0o755)
    # HTTP: tokio's multi-thread runtime (as on any host with 2 cores or more) with one
    # worker (TOKIO_WORKER_THREADS, read by tokio). With two, the wake-ups of a connection go
    # from one worker to the other as timing has it: 2.5 % more instructions, spread 0.6 %
    # (stateless) and 1.1 % (legacy) over 4 runs of one seed, against 0.01 % and 0.02 %
    # with one worker, which runs the same code (the multi-thread scheduler, its I/O and
    # timer drivers, the blocking pool).
    http_env = {} if http_workers == "auto" else {"TOKIO_WORKER_THREADS": http_workers}
    purge_now = {"MIMALLOC_PURGE_DELAY": "0"}
    return [
        Path_("stdio_call", "stdio tools/call echo (serve --demo, 2025-11-25)", "Ir/request", "stdio",
              [tenet, "serve", "--demo", "--node-id", NODE_ID], "echo", echo, expect_text(ECHO_TEXT),
              n=(100, 500)),
        Path_("http_stateless_call", "HTTP stateless tools/call echo (2026-07-28)", "Ir/request", "http",
              [tenet, "serve", "--demo", "--transport", "http"], "echo", echo, expect_text(ECHO_TEXT),
              mode="stateless", env=http_env, n=(100, 500)),
        Path_("http_legacy_call", "HTTP legacy-session tools/call echo (2025-11-25)", "Ir/request", "http",
              [tenet, "serve", "--demo", "--transport", "http"], "echo", echo, expect_text(ECHO_TEXT),
              mode="legacy", env=http_env, n=(100, 500)),
        Path_("gateway_call", "gateway relay tools/call echo (stdio, upstream serve --demo)", "Ir/request",
              "stdio", [tenet, "serve", "--prefixless", "--no-local-tools", "--node-id", NODE_ID,
                        "--upstream", "up=./upstream.sh"], "echo", echo, expect_text(ECHO_TEXT),
              n=(100, 500), seeds=3),
        # The answer cache off (--cache-size 0): with it, every call after the first would be a
        # cache hit, and the search itself would go unmeasured.
        Path_("search_stdlib", f"search_stdlib {QUERY!r} (serve, built-in corpus, no cache, stdio)", "Ir/request",
              "stdio", [tenet, "serve", "--node-id", NODE_ID, "--cache-size", "0"], "search_stdlib", {"query": QUERY},
              expect_hits, n=(8, 40), warm=5, seeds=3),
        # Memory: with mimalloc's purge delay at 0 (MIMALLOC_PURGE_DELAY, read by the shipped
        # binary), freed memory goes back to the system at once and RssAnon is what the
        # server holds: it repeats to ~1 %. With the shipped delay (10 ms, but a purge only
        # runs when the thread that freed the memory calls the allocator again), an idle
        # server keeps some 7 MB of start-up garbage resident, more or less of it as the
        # threads were scheduled: rss_idle_shipped, a coarse row.
        Path_("rss_idle", "RssAnon, serve --transport http, idle after one initialize (purge delay 0)", "KiB",
              "rss", [tenet, "serve", "--transport", "http", "--max-sessions-per-caller", "2000"], mode="idle", env=purge_now, n=(1000, 3)),
        Path_("rss_1000_sessions", "RssAnon, the same server after 1 000 idle legacy sessions", "KiB", "rss",
              [tenet, "serve", "--transport", "http", "--max-sessions-per-caller", "2000"], mode="sessions", env=purge_now, n=(1000, 3)),
        Path_("rss_per_session", "(RssAnon after - before) / 1 000 legacy sessions", "B/session", "rss",
              [tenet, "serve", "--transport", "http", "--max-sessions-per-caller", "2000"], mode="per_session", env=purge_now, n=(1000, 3)),
        Path_("rss_idle_shipped", "RssAnon, serve --transport http, idle after one initialize (as shipped)",
              "KiB", "rss", [tenet, "serve", "--transport", "http"], mode="idle", n=(0, 7)),
        # The same servers' resident pages of the executable (RssFile): the code and data they
        # ran, and what the kernel mapped around it. scripts/link-order's list, laid out first
        # by the linker, keeps it small; a build the list no longer fits shows here.
        Path_("rss_file_idle_shipped", "RssFile, serve --transport http, idle after one initialize (as shipped)",
              "KiB", "rss", [tenet, "serve", "--transport", "http"], mode="file_idle", n=(0, 7)),
        # (Their 1 001 sessions come from one address: its share is raised past them.)
        # The self-test's server (examples/hello-stdio), measured only when asked for.
        Path_("example_call", "self-test: examples/hello-stdio tools/call greet (stdio)", "Ir/request",
              "stdio", [example], "greet", {"name": "Ada"}, expect_text("Hello, Ada!"), env=example_env or {},
              n=(100, 500)),
    ]


def sh_quote(text):
    return "'" + str(text).replace("'", "'\\''") + "'"


# Every server runs in the work directory as `./server` (a symbolic link to its binary), with
# this environment and nothing else: argv, the environment and the auxiliary vector sit at the
# top of the stack, so their length moves everything the program puts on its stack, and the
# string routines (memcpy, memchr) take more or fewer instructions with the alignment of
# what they are handed. Measured: examples/hello-stdio from /tmp/example-unplanted cost
# 23 706 Ir/request, the same file from /tmp/perf-gate-self-test.AbCdEf/unplanted 23 979
# (+1.2 %), every seed alike. (It also keeps a developer's TENET_* settings out.)
FIXED_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "TMPDIR": "/tmp"}


def fixed_env(extra=None):
    return {**FIXED_ENV, **(extra or {})}


def as_server(workdir, command):
    """`command` to run from `workdir` as ./server (see FIXED_ENV)."""
    link = workdir / "server"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(Path(command[0]).resolve())
    return ["./server", *[str(c) for c in command[1:]]]


def tool(name):
    found = shutil.which(name)
    if not found:
        raise GateError(f"needs {name} on PATH")
    return found


# --- Fixed entropy ------------------------------------------------------------------------
#
# Left to itself, the count of a path moved by up to 0.8 % from one run of the same binary to
# the next, in steps (runs landed on one of a few values). The cause: the process's random
# numbers (getrandom). They seed HashMap's hashers (so iteration orders, and the order and
# sizes of start-up allocations, e.g. building the tools' JSON schema validators) and
# mimalloc's own state; the allocator ends start-up in a different state, and in one state
# a request's allocations take mimalloc's slow path (refilling a page's free list) once or
# twice more per request than in another. Real, but noise to a gate. So the server runs
# with its entropy fixed: getrandom(2) fails with ENOSYS (a seccomp filter set before
# exec), so Rust's std, the getrandom crate and mimalloc all fall back to reading
# /dev/urandom, and in a private mount namespace (unshare -m) that is a file of bytes drawn
# from a fixed seed. The binary is the one shipped, unchanged; its counts then repeat to a
# few hundredths of a percent. Each path is measured with SEEDS different files and the
# figure is their mean: a code change that only moves the allocator to another state moves
# that mean less than it would move one seed's count.

SECCOMP_ARCH_X86_64 = 0xC000003E
# Where the work directory appears inside the server's mount namespace (an empty directory
# outside it; any number of gates may share it).
FIXED_CWD = Path("/tmp/perf-gate.cwd")
SYS_GETRANDOM = {"x86_64": 318, "aarch64": 278}


def _deny_getrandom():
    """preexec_fn: a seccomp filter under which getrandom(2) fails with ENOSYS."""
    import ctypes
    import platform
    import struct
    libc = ctypes.CDLL(None, use_errno=True)
    machine = platform.machine()
    nr = SYS_GETRANDOM[machine]
    arch = SECCOMP_ARCH_X86_64 if machine == "x86_64" else 0xC00000B7

    def op(code, jt, jf, k):
        return struct.pack("HBBI", code, jt, jf, k)
    allow, enosys = 0x7FFF0000, 0x00050000 | 38
    prog = b"".join([
        op(0x20, 0, 0, 4),  # A = seccomp_data.arch
        op(0x15, 1, 0, arch),  # this architecture: go on, else allow
        op(0x06, 0, 0, allow),
        op(0x20, 0, 0, 0),  # A = seccomp_data.nr
        op(0x15, 0, 1, nr),  # getrandom: ENOSYS, else allow
        op(0x06, 0, 0, enosys),
        op(0x06, 0, 0, allow),
    ])
    buf = ctypes.create_string_buffer(prog, len(prog))

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    fprog = Fprog(len(prog) // 8, ctypes.addressof(buf))
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


class Entropy:
    """Runs commands with fixed entropy (see above), or, with seeds=0, as they are."""

    def __init__(self, workdir, seeds):
        self.workdir = workdir
        self.seeds = seeds
        self.unshare = []
        if seeds:
            self.unshare = self._how()

    def _how(self):
        for unshare in (["unshare", "-m"], ["unshare", "-r", "-m"]):
            probe = self.wrap(unshare, 1, ["/bin/sh", "-c", "head -c 8 /dev/urandom | od -An -tx1"])
            try:
                got = subprocess.run(probe, preexec_fn=_deny_getrandom, capture_output=True, text=True,
                                     timeout=30)
            except (OSError, subprocess.SubprocessError, KeyError, GateError):
                continue
            if got.returncode == 0 and got.stdout.split() == [f"{b:02x}" for b in self.bytes(1)[:8]]:
                return unshare
        raise GateError("cannot fix the servers' entropy (needs unshare -m, or unshare -r -m, and seccomp); "
                        "--seeds 0 measures without (counts then move by up to ~1 % from run to run)")

    def bytes(self, seed):
        import random
        return random.Random(seed).randbytes(1 << 20)

    def file(self, seed):
        path = self.workdir / f"entropy-{seed}"
        if not path.exists():
            path.write_bytes(self.bytes(seed))
        return path

    def wrap(self, unshare, seed, cmd):
        # The work directory is also mounted on a directory whose name never changes, and
        # the command runs there: valgrind keeps its working directory's name, and the
        # length of that moved where the server's memory went (see FIXED_ENV). (sh exports
        # PWD: unset, it could not vary either.)
        script = ('mount --bind "$0" /dev/urandom && mount --bind "$1" "$2" && cd "$2" '
                  '&& unset PWD OLDPWD && shift 2 && exec "$@"')
        FIXED_CWD.mkdir(exist_ok=True)
        return [tool(unshare[0]), *unshare[1:], "/bin/sh", "-c", script, str(self.file(seed)),
                str(self.workdir.resolve()), str(FIXED_CWD), *[str(c) for c in cmd]]

    def popen(self, seed, cmd, **kw):
        """Starts cmd (with the pid cmd itself will have: unshare and sh exec it)."""
        if not self.seeds:
            return subprocess.Popen([str(c) for c in cmd], **kw)
        return subprocess.Popen(self.wrap(self.unshare, seed, cmd), preexec_fn=_deny_getrandom, **kw)


# --- Running a server under callgrind ----------------------------------------------------

class Callgrind:
    def __init__(self, workdir, method, entropy):
        self.workdir = workdir
        self.method = method  # "diff" or "toggle"
        self.entropy = entropy
        self.seq = 0

    def start(self, path, stdio, seed):
        self.seq += 1
        # Relative to the work directory (the server's), and always as long: the length of
        # valgrind's arguments moves where it maps the server's memory (see FIXED_ENV).
        name = f"cg-{self.seq % 10000:04d}.out"
        out = self.workdir / name
        log = open(self.workdir / f"{path.name}-{self.seq}.log", "wb")
        cmd = [tool("valgrind"), "--tool=callgrind", f"--callgrind-out-file={name}"]
        if self.method == "toggle":
            cmd.append("--instr-atstart=no")
        cmd += as_server(self.workdir, path.command)
        port = None
        if not stdio:
            port = free_port()  # (an ephemeral port: always 5 digits long)
            cmd += ["--port", str(port), "--node-id", NODE_ID]
        proc = self.entropy.popen(seed, cmd, stdin=subprocess.PIPE if stdio else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE if stdio else subprocess.DEVNULL,
                                  stderr=log, env=fixed_env(path.env), cwd=self.workdir)
        log.close()
        return proc, out, port

    def instrument(self, proc, on):
        if self.method != "toggle":
            return
        flag = "on" if on else "off"
        done = subprocess.run([tool("callgrind_control"), "-i", flag, str(proc.pid)], capture_output=True,
                              text=True, timeout=60, env={**os.environ, "TMPDIR": FIXED_ENV["TMPDIR"]})
        if done.returncode != 0:
            raise GateError(f"callgrind_control -i {flag} failed: {done.stdout}{done.stderr}")


def callgrind_total(out):
    """The run's Ir: `totals:` (with instrumentation toggled, `summary:` stays 0)."""
    found = {}
    with open(out) as f:
        for text in f:
            if text.startswith(("summary:", "totals:")):
                key, value = text.split()[:2]
                found[key] = int(value)
    if not found:
        raise GateError(f"no totals in {out}")
    return found.get("totals:", found.get("summary:"))


def wait_exit(proc, what, timeout=TIMEOUT):
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise GateError(f"{what}: the server did not exit")
    if code != 0:
        raise GateError(f"{what}: the server exited with status {code}")


def wait_idle(pid, timeout=TIMEOUT):
    """Returns once every thread of the server sleeps (state S in /proc): the work a request
    set off is done, and the server waits for the next. Sending the next request sooner
    races the server: had it not yet gone back to wait for input, it reads the request
    without a trip through epoll, else it takes one, and the count moves with the timing."""
    deadline = time.monotonic() + timeout
    tasks = f"/proc/{pid}/task"
    while True:
        busy = False
        for tid in os.listdir(tasks):
            try:
                with open(f"{tasks}/{tid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue  # a thread that just ended
            if state not in ("S", "I"):
                busy = True
                break
        if not busy:
            return
        if time.monotonic() > deadline:
            raise GateError("the server did not go idle")
        time.sleep(0.0001)


# --- stdio --------------------------------------------------------------------------------

class Lines:
    """Reads whole lines from a pipe, with a deadline per line."""

    def __init__(self, fd):
        self.fd = fd
        self.buf = b""

    def next(self, timeout=TIMEOUT):
        import select
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise GateError("no answer in time")
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise GateError("the server closed stdout")
            self.buf += chunk
        text, self.buf = self.buf.split(b"\n", 1)
        return json.loads(text)


def stdio_run(cg, path, n, seed):
    """Ir of one server run: initialize, then `n` sequential calls (only those between
    the instrumentation toggles with --method toggle; warm-up calls before)."""
    proc, out, _ = cg.start(path, True, seed)
    lines = Lines(proc.stdout.fileno())
    try:
        def send(*messages):
            # One write (a pipe write of up to 4 KiB is atomic): what one read of the
            # server's gets is then the same in every run.
            data = b"".join(line(m) for m in messages)
            if os.write(proc.stdin.fileno(), data) != len(data):
                raise GateError("a short write to the server's stdin")
        send(initialize(LEGACY))
        answer = lines.next()
        if "result" not in answer:
            raise GateError(f"initialize failed: {str(answer)[:300]}")
        # The notification and a ping in one write, then the ping's answer awaited: had
        # the first call followed the notification in a write of its own, the server would
        # have read the two together or apart as timing had it, and its allocator's state
        # (so what every later request costs) with them.
        send(INITIALIZED, PING)
        if lines.next().get("id") != "ping":
            raise GateError("no answer to the ping after initialize")
        warm = path.warm if cg.method == "toggle" else 0
        for rid in range(1, warm + n + 1):
            if rid == warm + 1:
                cg.instrument(proc, True)
            send(call(rid, path.tool, path.arguments))
            check_result(lines.next(), rid, path.expect)
            wait_idle(proc.pid)
        cg.instrument(proc, False)
        proc.stdin.close()
        # Nothing more may come: stdout closes when the server is done.
        rest = proc.stdout.read()
        if rest.strip():
            raise GateError(f"unexpected output after the last answer: {rest[:300]!r}")
        wait_exit(proc, path.name)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return callgrind_total(out)


# --- HTTP ---------------------------------------------------------------------------------

H = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Conn:
    """One HTTP/1.1 keep-alive connection. Each request goes out in one write: http.client
    writes the head and the body in two, and whether the server then wakes once or twice
    for a request is up to timing (it moved the count by ~1 % from run to run)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def close(self):
        self.sock.close()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise GateError("the server closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        text, self.buf = self.buf.split(b"\r\n", 1)
        return text

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def post(self, message, headers):
        """(status, {lower-case header: value}, body) of one POST /mcp."""
        body = json.dumps(message, separators=(",", ":")).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.sock.sendall(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: {len(body)}\r\n\r\n"
                          .encode() + body)
        status = int(self._line().split()[1])
        got = {}
        while text := self._line():
            name, _, value = text.decode().partition(":")
            got[name.strip().lower()] = value.strip()
        if "content-length" in got:
            data = self._take(int(got["content-length"]))
        elif got.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while size := int(self._line().split(b";")[0], 16):
                data += self._take(size)
                self._take(2)
            while self._line():  # trailers
                pass
        else:
            data = b""
        return status, got, data


def connect(port, proc, timeout=TIMEOUT):
    """One connection to the server once it listens (the same one serves every request:
    a probe connection of its own would be work the server does too)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise GateError(f"the server exited with status {proc.returncode} before listening")
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return Conn(sock)
        except OSError:
            if time.monotonic() > deadline:
                raise GateError("the server did not listen in time")
            time.sleep(0.05)


def json_body(body):
    """The body is JSON, or one SSE event whose data line is."""
    text = body.decode()
    if not text.lstrip().startswith("{"):
        text = next((t[5:] for t in text.splitlines() if t.startswith("data:")), "{}")
    return json.loads(text)


def open_session(conn):
    status, got, body = conn.post(initialize(LEGACY), H)
    sid = got.get("mcp-session-id")
    if status != 200 or not sid:
        raise GateError(f"initialize failed: {status} {body[:300]!r}")
    headers = dict(H, **{"Mcp-Session-Id": sid, "MCP-Protocol-Version": LEGACY})
    status, _, body = conn.post(INITIALIZED, headers)
    if status not in (200, 202, 204):
        raise GateError(f"notifications/initialized failed: {status} {body[:300]!r}")
    return headers


def http_run(cg, path, n, seed):
    proc, out, port = cg.start(path, False, seed)
    try:
        conn = connect(port, proc)
        if path.mode == "legacy":
            headers = open_session(conn)
            modern = False
        else:
            headers = dict(H, **{"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call",
                                 "Mcp-Name": path.tool})
            modern = True
        warm = path.warm if cg.method == "toggle" else 0
        for rid in range(1, warm + n + 1):
            if rid == warm + 1:
                cg.instrument(proc, True)
            status, _, body = conn.post(call(rid, path.tool, path.arguments, modern), headers)
            if status != 200:
                raise GateError(f"request {rid}: HTTP {status} {body[:300]!r}")
            check_result(json_body(body), rid, path.expect)
            wait_idle(proc.pid)
        cg.instrument(proc, False)
        conn.close()
        proc.send_signal(signal.SIGTERM)
        wait_exit(proc, path.name)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return callgrind_total(out)


def per_request(cg, path, scale=1.0):
    """Instructions per request of one path: two runs, differenced (or one window), with
    each seed of fixed entropy; the mean over the seeds."""
    run = stdio_run if path.kind == "stdio" else http_run
    n1, n2 = (max(1, round(k * scale)) for k in path.n)
    figures = []
    seeds = path.seeds if cg.entropy.seeds < 0 else max(1, cg.entropy.seeds)
    for seed in range(1, seeds + 1):
        if cg.method == "toggle":
            figures.append(run(cg, path, n2, seed) / n2)
        else:
            figures.append((run(cg, path, n2, seed) - run(cg, path, n1, seed)) / (n2 - n1))
    return statistics.fmean(figures), figures


# --- Resident memory ----------------------------------------------------------------------

def rss_kb(pid, kind="RssAnon"):
    with open(f"/proc/{pid}/status") as f:
        for text in f:
            if text.startswith(f"{kind}:"):
                return int(text.split()[1])
    raise GateError(f"no {kind}")


def rss_once(path, workdir, entropy, sessions):
    """One native server: RssAnon idle after one legacy initialize, and after `sessions` more."""
    port = free_port()
    log = open(workdir / "rss.log", "wb")
    proc = entropy.popen(1, [*as_server(workdir, path.command), "--port", str(port), "--node-id", NODE_ID],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, env=fixed_env(path.env),
                         cwd=workdir)
    log.close()
    try:
        conn = connect(port, proc, timeout=30)
        open_session(conn)
        time.sleep(0.5)  # (measured: RSS does not move from 0.25 s to 3 s after)
        idle = after = rss_kb(proc.pid)
        code = rss_kb(proc.pid, "RssFile")
        if sessions:
            for _ in range(sessions):
                open_session(conn)
            time.sleep(0.5)
            after = rss_kb(proc.pid)
        conn.close()
        proc.send_signal(signal.SIGTERM)
        wait_exit(proc, "rss", timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return {"idle": idle, "sessions": after, "per_session": (after - idle) * 1024 / max(1, sessions),
            "file_idle": code}


def rss_run(path, workdir, entropy, scale):
    """The median of n[1] servers' figures (each server's RssAnon sits still while idle, but
    differs from one server to the next: see paths())."""
    sessions, runs = path.n
    each = [rss_once(path, workdir, entropy, sessions) for _ in range(max(1, round(runs * scale)))]
    return {key: statistics.median(r[key] for r in each) for key in each[0]}, each


# --- Measuring ----------------------------------------------------------------------------

def measure(selected, cg, workdir, scale, rss_scale, progress):
    """{name: figure} of the selected paths (one set of memory runs serves three rss rows)."""
    figures, rss = {}, {}
    for path in selected:
        t0 = time.monotonic()
        if path.kind == "rss":
            key = (tuple(sorted(path.env.items())), path.n)
            if key not in rss:
                rss[key] = rss_run(path, workdir, cg.entropy, rss_scale)
            median, each = rss[key]
            figures[path.name] = float(median[path.mode])
            detail = f" (runs: {', '.join(fmt(r[path.mode]) for r in each)})" if len(each) > 1 else ""
        else:
            figures[path.name], seeds = per_request(cg, path, scale)
            detail = f" (seeds: {', '.join(fmt(x) for x in seeds)})" if len(seeds) > 1 else ""
        progress(f"{path.name}: {fmt(figures[path.name])} {path.unit}{detail} ({time.monotonic() - t0:.1f} s)")
    return figures


def fmt(x):
    return f"{x:,.1f}" if abs(x) < 100 else f"{x:,.0f}"


# --- The baseline file --------------------------------------------------------------------

def load_baseline(file):
    with open(file, "rb") as f:
        data = tomllib.load(f)
    return data.get("path", {})


def update_baseline(file, figures, selected, measured_with):
    """Rewrites the figure (and its `# measured with:` line) of each measured path; a path
    the file lacks gets a section, its tolerance to be chosen by whoever reviews the edit."""
    text = Path(file).read_text() if Path(file).exists() else ""
    for path in selected:
        if path.name not in figures:
            continue
        value = figures[path.name]
        figure = f"{value:.1f}" if path.unit == "Ir/request" else f"{value:.0f}"
        head = re.compile(rf"^\[path\.{re.escape(path.name)}\]\s*$", re.M)
        m = head.search(text)
        if not m:
            text += (f"\n[path.{path.name}]\n# {path.what}\n# measured with: {measured_with}\n"
                     f"unit = \"{path.unit}\"\nfigure = {figure}\ntolerance = 0.05  # TODO: from the spread\n")
            continue
        nxt = re.compile(r"^\[", re.M).search(text, m.end())
        end = nxt.start() if nxt else len(text)
        section = text[m.end():end]
        section = re.sub(r"^figure\s*=.*$", f"figure = {figure}", section, count=1, flags=re.M)
        section = re.sub(r"^# measured with:.*$", f"# measured with: {measured_with}", section, count=1,
                         flags=re.M)
        text = text[:m.end()] + section + text[end:]
    Path(file).write_text(text)


def measured_with(tenet):
    """The binary's commit (`tenet --version`) and the toolchain that built it."""
    try:
        version = subprocess.run([tenet, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        version = "?"
    rustc = "?"
    try:
        comment = subprocess.run(["readelf", "-p", ".comment", tenet], capture_output=True, text=True,
                                 timeout=30).stdout
        m = re.search(r"rustc version ([^\n]*)", comment)
        rustc = "rustc " + m.group(1).strip() if m else "?"
    except OSError:
        pass
    if rustc == "?":
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip() + \
            " (rustc on PATH)"
    valgrind = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{version}; {rustc}; {valgrind}; {time.strftime('%Y-%m-%d')}"


# --- The verdict --------------------------------------------------------------------------

def compare(selected, figures, baseline, out=sys.stdout):
    """Prints the table; returns the number of paths over budget (or without a baseline)."""
    rows = [("path", "unit", "baseline", "measured", "change", "tolerance", "verdict")]
    failed, cheaper = 0, []
    for path in selected:
        if path.name not in figures:
            continue
        got = figures[path.name]
        entry = baseline.get(path.name)
        if entry is None:
            rows.append((path.name, path.unit, "-", fmt(got), "-", "-", "FAIL: no baseline"))
            failed += 1
            continue
        base, tol = float(entry["figure"]), float(entry["tolerance"])
        change = got / base - 1
        if change > tol:
            verdict = "FAIL: costlier than baseline + tolerance"
            failed += 1
        elif change < -tol:
            verdict = "ok, cheaper: lower the baseline"
            cheaper.append(path.name)
        else:
            verdict = "ok"
        rows.append((path.name, path.unit, fmt(base), fmt(got), f"{change * 100:+.2f}%", f"±{tol * 100:g}%",
                     verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        print("  ".join(c.rjust(w) if 2 <= j <= 5 else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths))),
              file=out)
        if i == 0:
            print("  ".join("-" * w for w in widths), file=out)
    if cheaper:
        print(f"\n{', '.join(cheaper)} got cheaper by more than the tolerance: lower the baseline "
              "(scripts/perf-gate --update, then review and commit the edit).", file=out)
    return failed


def spread_report(selected, runs, out=sys.stdout):
    """Median, min, max and (max - min) / median of each path over repeated runs."""
    print(f"\n{'path':<22} {'runs':>4} {'median':>12} {'min':>12} {'max':>12} {'spread':>8}", file=out)
    for path in selected:
        xs = [r[path.name] for r in runs if path.name in r]
        if not xs:
            continue
        med = statistics.median(xs)
        spread = (max(xs) - min(xs)) / med if med else 0.0
        print(f"{path.name:<22} {len(xs):>4} {fmt(med):>12} {fmt(min(xs)):>12} {fmt(max(xs)):>12} "
              f"{spread * 100:>7.3f}%", file=out)
        print("    " + " ".join(fmt(x) for x in xs), file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tenet", required=True)
    ap.add_argument("--example", default="", help="the self-test's server (example_call)")
    ap.add_argument("--example-env", action="append", default=[], metavar="NAME=VALUE",
                    help="a variable added to the self-test server's environment (repeatable)")
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--only", default="", help="comma-separated path names")
    ap.add_argument("--update", action="store_true", help="rewrite the measured figures in --baseline")
    ap.add_argument("--repeat", type=int, default=0, help="measure K times and report the spread (no verdict)")
    ap.add_argument("--method", choices=["diff", "toggle"], default="toggle")
    ap.add_argument("--rss-scale", type=float, default=1.0, help="multiply the servers each rss figure is the median of")
    ap.add_argument("--seeds", type=int, default=-1,
                    help="fixed-entropy seeds of every path (default: each path's own; 0: the system's entropy)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every path's N1 and N2")
    ap.add_argument("--workdir", default="")
    ap.add_argument("--http-workers", default="1", help="TOKIO_WORKER_THREADS of the HTTP server ('auto': unset)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="perf-gate-"))
    workdir.mkdir(parents=True, exist_ok=True)
    example_env = dict(kv.split("=", 1) for kv in args.example_env if "=" in kv)
    if len(example_env) != len(args.example_env):
        print("perf-gate: --example-env takes NAME=VALUE", file=sys.stderr)
        return 2
    every = paths(args.tenet, args.example, workdir, args.http_workers, example_env)
    if args.only:
        names = args.only.split(",")
        unknown = set(names) - {p.name for p in every}
        if unknown:
            print(f"perf-gate: unknown path(s): {', '.join(sorted(unknown))}; "
                  f"known: {', '.join(p.name for p in every)}", file=sys.stderr)
            return 2
        selected = [p for p in every if p.name in names]
    else:
        selected = [p for p in every if p.name != "example_call"]

    def progress(text):
        if not args.quiet:
            print(f"  {text}", file=sys.stderr, flush=True)

    t0 = time.monotonic()
    try:
        cg = Callgrind(workdir, args.method, Entropy(workdir, args.seeds))
        if args.repeat:
            runs = []
            for k in range(args.repeat):
                progress(f"run {k + 1} of {args.repeat}")
                runs.append(measure(selected, cg, workdir, args.scale, args.rss_scale, progress))
            spread_report(selected, runs)
            return 0
        figures = measure(selected, cg, workdir, args.scale, args.rss_scale, progress)
    except GateError as e:
        print(f"perf-gate: {e} (logs and callgrind files in {workdir})", file=sys.stderr)
        return 2
    took = time.monotonic() - t0
    if args.update:
        update_baseline(args.baseline, figures, selected, measured_with(args.example or args.tenet))
        print(f"perf-gate: wrote {len(figures)} figure(s) to {args.baseline} ({took:.0f} s); "
              "review the diff before committing it")
        return 0
    print()
    failed = compare(selected, figures, load_baseline(args.baseline))
    print(f"\nperf-gate: {len(figures)} path(s) in {took:.0f} s; "
          + (f"{failed} over budget" if failed else "every path within its tolerance"))
    return 1 if failed else 0


if __name__ == "__main__":
    # Exit 1 is the verdict "over budget" and nothing else (the self-test relies on it):
    # anything that went wrong on the way, a crash included, is exit 2.
    try:
        sys.exit(main())
    except Exception:  # noqa: BLE001 (reported whole, then exit 2)
        import traceback
        traceback.print_exc()
        sys.exit(2)
