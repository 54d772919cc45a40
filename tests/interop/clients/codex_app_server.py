"""Drives Codex's MCP layer headlessly, without a model: `codex app-server` (JSON-RPC over
stdio, the protocol Codex's IDE extensions speak) with two MCP servers configured in
CODEX_HOME/config.toml, `tenet-stdio` and `tenet-http` (scripts/interop-clients writes it).

    python3 codex_app_server.py CODEX_BIN

Checks, per server: `mcpServerStatus/list` connects to it (Codex runs initialize and
tools/list, resources/list, resources/templates/list) and reports serverInfo tenet, the
three tools, no toolsError; `mcpServer/resource/read stdlib://rust/testing`; and, on an
ephemeral thread (`thread/start`, no turn, so no model is asked),
`mcpServer/tool/call get_stdlib` (rust testing) and `mcpServer/startupStatus/updated` says
`ready`, never `failed`.

Fails on any error Codex reports: JSON-RPC errors, `error`/`configWarning`/`warning`
notifications, and every line Codex writes to stderr, except two that are about this
machine, not the MCP server, filtered by exact text below. The model provider in the
config points at a closed loopback port, so Codex reaches no network.

Prints one PASS/FAIL line per check, then `N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time

TIMEOUT = 60.0
SERVERS = ("tenet-stdio", "tenet-http")

# Codex's own environment, not the MCP server (exact messages, matched from the start):
# - no `bwrap` on PATH: Codex's shell sandbox, unused here (no command is run);
# - the Responses API websocket it prewarms for a new thread: the model provider is
#   pointed at a closed loopback port on purpose, so that connection must fail.
ENVIRONMENT_NOISE = (
    re.compile(r"^Codex could not find bubblewrap on PATH\. "),
    re.compile(r"^failed to connect to Responses WebSocket\b"),
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")

PASSED = 0
FAILED = 0


def out(line: str) -> None:
    print(line, flush=True)


def one_line(s: str, limit: int = 1500) -> str:
    return " | ".join(x.strip() for x in str(s).strip().splitlines() if x.strip())[:limit]


def is_noise(text: str) -> bool:
    return any(p.search(text) for p in ENVIRONMENT_NOISE)


class AppServer:
    def __init__(self, binary: str) -> None:
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [binary, "app-server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
            text=True,
            bufsize=1,
        )
        self.next_id = 0
        self.notifications: list[dict] = []
        self.buf = ""

    def send(self, msg: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: dict | None) -> dict:
        self.next_id += 1
        rid = self.next_id
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        end = time.monotonic() + TIMEOUT
        assert self.proc.stdout is not None
        while time.monotonic() < end:
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, end - time.monotonic()))
            if not ready:
                break
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{method}: codex app-server exited (stderr: {self.stderr()!r})")
            msg = json.loads(line)
            if msg.get("id") == rid and "method" not in msg:
                if "error" in msg:
                    raise RuntimeError(f"{method}: JSON-RPC error {json.dumps(msg['error'])}")
                return msg["result"]
            if "method" in msg and "id" not in msg:
                self.notifications.append(msg)
            elif "method" in msg:  # a request to us (approval, elicitation): refuse it
                self.send({"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32601, "message": "not supported"}})
                self.notifications.append(msg)
        raise TimeoutError(f"{method}: no answer within {TIMEOUT:.0f} s")

    def stderr(self) -> str:
        self.err.seek(0)
        return ANSI.sub("", self.err.read().decode("utf-8", "replace"))

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def reported_problems(app: AppServer, since: int, stderr_from: int) -> list[str]:
    """Errors and warnings Codex reported since the given positions."""
    problems = []
    for n in app.notifications[since:]:
        method = n.get("method", "")
        params = n.get("params") or {}
        if method == "mcpServer/startupStatus/updated" and params.get("status") in ("failed", "cancelled"):
            problems.append(f"{params.get('name')} startup {params.get('status')}: {params.get('error') or params.get('failureReason')}")
        elif method in ("error", "configWarning", "warning", "deprecationNotice") or "warning" in method.lower() or method.endswith("/error"):
            text = params.get("summary") or params.get("message") or json.dumps(params)
            if not is_noise(str(text)):
                problems.append(f"{method}: {text}")
        elif "id" in n:
            problems.append(f"unexpected request from codex: {method}")
    for line in app.stderr()[stderr_from:].splitlines():
        # tracing lines: `<time> LEVEL target: message`
        m = re.match(r"^\S+\s+(TRACE|DEBUG|INFO|WARN|ERROR)\s+([^:]+):\s*(.*)$", line.strip())
        text = m.group(3) if m else line.strip()
        if text and not is_noise(text):
            problems.append(f"stderr: {line.strip()}")
    return problems


def check(app: AppServer, name: str, fn) -> object:  # noqa: ANN001
    global PASSED, FAILED
    since, stderr_from = len(app.notifications), len(app.stderr())
    try:
        detail, value = fn()
        error = None
    except Exception as e:  # noqa: BLE001 - reported as a failure
        detail, value, error = "", None, e
    time.sleep(0.05)
    problems = reported_problems(app, since, stderr_from)
    if error is not None:
        FAILED += 1
        extra = f"; codex reported: {' || '.join(problems)}" if problems else ""
        out(f"FAIL [codex app-server] {name}: {one_line(f'{type(error).__name__}: {error}{extra}')}")
        return None
    if problems:
        FAILED += 1
        out(f"FAIL [codex app-server] {name}: {one_line('the call succeeded but codex reported: ' + ' || '.join(problems))}")
        return value
    PASSED += 1
    out(f"PASS [codex app-server] {name}" + (f": {detail}" if detail else ""))
    return value


def main() -> None:
    global PASSED, FAILED
    app = AppServer(sys.argv[1])
    try:
        check(
            app,
            "initialize",
            lambda: (
                "",
                (
                    app.request("initialize", {"clientInfo": {"name": "tenet-interop", "version": "1.0.0"}}),
                    app.send({"jsonrpc": "2.0", "method": "initialized"}),
                ),
            ),
        )

        def status():
            r = app.request("mcpServerStatus/list", {})
            by_name = {s["name"]: s for s in r["data"]}
            return "", by_name

        servers = check(app, "mcpServerStatus/list", status) or {}
        for name in SERVERS:

            def one(name=name):
                s = servers.get(name)
                assert s, f"{name} not listed (listed: {sorted(servers)})"
                assert not s.get("toolsError"), f"toolsError: {s['toolsError']}"
                info = s.get("serverInfo") or {}
                assert info.get("name") == "tenet", f"serverInfo {info}"
                tools = sorted(s.get("tools") or {})
                for t in ("get_stdlib", "search_stdlib", "list_stdlib"):
                    assert t in tools, f"tools {tools}"
                resources = [x.get("uri") for x in s.get("resources") or []]
                assert "stdlib://rust/testing" in resources, f"{len(resources)} resources, no stdlib://rust/testing"
                templates = [x.get("uriTemplate") for x in s.get("resourceTemplates") or []]
                assert "stdlib://{language}/{domain}" in templates, f"templates {templates}"
                return f"{info.get('name')} {info.get('version')}, tools {', '.join(tools)}, {len(resources)} resources", None

            if servers:
                check(app, f"{name}: connected, tools/resources/templates listed", one)
            else:
                FAILED += 1
                out(f"FAIL [codex app-server] {name}: connected, tools/resources/templates listed: not run: mcpServerStatus/list failed")

        for name in SERVERS:

            def read(name=name):
                r = app.request("mcpServer/resource/read", {"server": name, "uri": "stdlib://rust/testing"})
                c = (r.get("contents") or [{}])[0]
                assert c.get("text", "").startswith("# "), f"contents {json.dumps(r)[:200]}"
                return f"{c.get('mimeType')}, {len(c['text'])} chars", None

            check(app, f"{name}: mcpServer/resource/read stdlib://rust/testing", read)

        def thread():
            r = app.request("thread/start", {"ephemeral": True, "cwd": os.getcwd()})
            return "ephemeral, no turn", r["thread"]["id"]

        tid = check(app, "thread/start", thread)
        for name in SERVERS:

            def call(name=name):
                assert tid, "no thread"
                r = app.request(
                    "mcpServer/tool/call",
                    {"server": name, "threadId": tid, "tool": "get_stdlib", "arguments": {"language": "rust", "domain": "testing"}},
                )
                assert not r.get("isError"), f"isError: {json.dumps(r.get('content'))[:300]}"
                s = r.get("structuredContent") or {}
                assert s.get("found") is True, f"structuredContent.found {s.get('found')!r}"
                text = (r.get("content") or [{}])[0].get("text", "")
                assert text.startswith("# "), f"text {text[:100]!r}"
                return f"{s.get('title')!r}, {s.get('tokens')} tokens", None

            check(app, f"{name}: mcpServer/tool/call get_stdlib rust testing", call)

        def startup():
            states = {}
            for n in app.notifications:
                if n.get("method") == "mcpServer/startupStatus/updated":
                    p = n.get("params") or {}
                    states[p.get("name")] = p.get("status")
            for name in SERVERS:
                assert states.get(name) == "ready", f"startup status {states}"
            return ", ".join(f"{k} {v}" for k, v in sorted(states.items())), None

        check(app, "mcpServer/startupStatus/updated: both ready", startup)
    finally:
        app.close()
    # Everything, including what came after the last check (e.g. while shutting down).
    everything = reported_problems(app, 0, 0)
    if everything:
        FAILED += 1
        out(f"FAIL [codex app-server] codex reported no error and no warning in the whole session: {one_line(' || '.join(everything))}")
    else:
        PASSED += 1
        out("PASS [codex app-server] codex reported no error and no warning in the whole session")
    out(f"{PASSED} passed, {FAILED} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
