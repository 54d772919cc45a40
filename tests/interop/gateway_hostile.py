#!/usr/bin/env python3
"""Interop test: hostile upstreams behind one `tenet serve` gateway, over real processes.

    python tests/interop/gateway_hostile.py serve PORT
    python tests/interop/gateway_hostile.py check GATEWAY_URL GATEWAY_PID LOG SECRET...

`serve` runs two MCP servers of the legacy era over Streamable HTTP on one port (stdlib
only), told apart by path:

- `/mirror`: one tool, `leak`, whose call fails in the way its `mode` argument names,
  each answer carrying every request header it was sent (the gateway's configured
  credentials among them): HTTP 500 with them in the body, HTTP 401 with them in the
  body and in `WWW-Authenticate`, or a JSON-RPC error whose message and data hold them
  (passed on as the upstream wrote it, the credentials taken out).
- `/big`, `/big-chunked`, `/big-sse`: answer `tools/list` with a 300 MB listing, written
  as fast as the gateway reads it: with its length declared, chunked with none, and as
  one SSE event (one `data:` line).

`check` is the official Python SDK client (`mcp==2.3.0`, legacy) through the gateway:
each failure of `mirror__leak` is an error its caller can read, and none of the
answers, `/upstreams`, or the gateway's log (LOG) holds any SECRET; the gateway still
serves after `big`'s listing; and its peak resident memory (VmHWM of GATEWAY_PID)
stays under the stated bound, BOUND_MIB, while three 300 MB listings are offered to it.

One line is printed per check, then exactly `N passed, M failed`; the exit status is 0 only
when nothing failed.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BOUND_MIB = 96  # the gateway's peak RSS while three 300 MB listings are offered to it at once (each read to 4 MiB at most)
BIG = ("big", "bigc", "bigs")  # the gateway's names for /big, /big-chunked and /big-sse
BIG_BYTES = 300 * 1024 * 1024
CALL_TIMEOUT = 30.0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def headers_seen(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.headers.items())

    def do_GET(self) -> None:  # noqa: N802 - no standalone stream
        self.reply(405, b"")

    def do_DELETE(self) -> None:  # noqa: N802
        self.reply(200, b"")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        message = json.loads(self.rfile.read(length) or b"{}")
        method, id_ = message.get("method"), message.get("id")
        if id_ is None:
            return self.reply(202, b"")
        result: Any
        if method == "initialize":
            result = {
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": f"hostile{self.path}", "version": "1"},
            }
            body = json.dumps({"jsonrpc": "2.0", "id": id_, "result": result}).encode()
            return self.reply(200, body, {"Mcp-Session-Id": "hostile-session"})
        if method == "ping":
            return self.reply(200, json.dumps({"jsonrpc": "2.0", "id": id_, "result": {}}).encode())
        if self.path.startswith("/big") and method == "tools/list":
            return self.big(id_, self.path)
        if method == "tools/list":
            tool = {"name": "leak", "inputSchema": {"type": "object", "properties": {"mode": {"type": "string"}}}}
            return self.reply(200, json.dumps({"jsonrpc": "2.0", "id": id_, "result": {"tools": [tool]}}).encode())
        if method == "tools/call":
            mode = (message.get("params") or {}).get("arguments", {}).get("mode")
            seen = self.headers_seen()
            if mode == "500":
                return self.reply(500, f"internal error; you sent: {seen}".encode())
            if mode == "401":
                return self.reply(401, f"who are you? you sent: {seen}".encode(), {"WWW-Authenticate": f'Bearer error="{seen}"'})
            error = {"code": -32000, "message": f"refused; you sent: {seen}", "data": {"headers": dict(self.headers.items())}}
            return self.reply(200, json.dumps({"jsonrpc": "2.0", "id": id_, "error": error}).encode())
        self.reply(200, json.dumps({"jsonrpc": "2.0", "id": id_, "result": {}}).encode())

    def big(self, id_: Any, path: str) -> None:
        """A 300 MB `tools/list`, written until the reader stops: its length declared
        (`/big`), chunked (`/big-chunked`), or as one SSE event (`/big-sse`)."""
        head = json.dumps({"jsonrpc": "2.0", "id": id_, "result": {"tools": []}})[:-3].encode()
        tail = b"]}}"
        tool = b'{"name":"t","inputSchema":{"type":"object"},"description":"' + b"x" * 900 + b'"},'
        count = (BIG_BYTES - len(head) - len(tail)) // len(tool)
        sse = path == "/big-sse"
        if sse:
            head, tail = b"event: message\ndata: " + head, tail + b"\n\n"
        chunked = path != "/big"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if sse else "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(head) + count * len(tool) - 1 + len(tail)))
        self.end_headers()

        def write(data: bytes) -> None:
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)

        try:
            write(head)
            chunk = tool * 1024
            written = 0
            while written + 1024 < count:
                write(chunk)
                written += 1024
            write(tool * (count - written - 1) + tool[:-1] + tail)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway stopped reading: what is being tested


def serve(port: int) -> int:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()
    return 0


def peak_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def run(url: str, pid: int, log: str, secrets: list[str], report: list[int]) -> None:
    import anyio
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from gateway_client import expect, recorder

    record = recorder("gateway hostile upstreams", report)
    base = url.rsplit("/mcp", 1)[0]
    async with Client(streamable_http_client(url), mode="legacy", read_timeout_seconds=CALL_TIMEOUT) as c:
        for mode in ("500", "401", "rpc"):
            label = f"a {mode} that reflects the gateway's credentials"
            try:
                with anyio.fail_after(CALL_TIMEOUT):
                    try:
                        result = await c.call_tool("mirror__leak", {"mode": mode})
                        answer = json.dumps(result.model_dump(mode="json"))
                        expect(result.is_error, f"a failure, not a result: {answer[:300]}")
                    except Exception as exc:  # noqa: BLE001 - a JSON-RPC error is an answer too
                        answer = f"{type(exc).__name__}: {exc} {getattr(exc, 'error', '')}"
                leaked = [s for s in secrets if s in answer]
                expect(not leaked, f"the caller was shown {leaked}: {answer[:400]}")
                # A failure of the upstream's is the gateway's fixed message naming it; a
                # JSON-RPC error it returns on purpose passes through, credentials taken out.
                named = "mirror" in answer if mode != "rpc" else "[redacted]" in answer
                expect(named, f"neither the gateway's message nor a redacted error: {answer[:300]}")
                record(label, f"no credential in the answer: {answer[:120]!r}")
            except Exception as exc:  # noqa: BLE001
                record(label, exc)
        try:
            with anyio.fail_after(CALL_TIMEOUT):
                tools = await c.list_tools()
            names = [t.name for t in tools.tools]
            expect("mirror__leak" in names, f"the gateway's tools: {names[:10]}")
            expect(not any(n.startswith("big") for n in names), "a 300 MB listing was taken")
            record("after 300 MB listings were offered", f"the gateway serves: {len(names)} tools, none of the big ones")
        except Exception as exc:  # noqa: BLE001
            record("after a 300 MB listing was offered", exc)
    try:
        with urllib.request.urlopen(f"{base}/upstreams", timeout=5) as response:
            page = response.read().decode()
        leaked = [s for s in secrets if s in page]
        expect(not leaked, f"/upstreams shows {leaked}")
        status = {u["name"]: u for u in json.loads(page)["upstreams"]}
        for big in BIG:
            expect("over" in json.dumps(status.get(big, {})), f"/upstreams says nothing of {big}'s size: {status.get(big)}")
        record("/upstreams", "no credential; each big upstream's listing refused for its size")
    except Exception as exc:  # noqa: BLE001
        record("/upstreams", exc)
    try:
        text = open(log, encoding="utf-8", errors="replace").read()
        leaked = [s for s in secrets if s in text]
        expect(not leaked, f"the log holds {leaked}")
        for big in BIG:
            said = [line for line in text.splitlines() if f"upstream={big} " in line and "over" in line]
            expect(said, f"the log says nothing of {big}'s listing being too large")
        record("the gateway's log", "names each big listing refused for its size, holds no credential")
    except Exception as exc:  # noqa: BLE001
        record("the gateway's log", exc)
    try:
        peak = peak_mib(pid)
        expect(peak < BOUND_MIB, f"peak RSS {peak:.0f} MiB, the bound {BOUND_MIB} MiB")
        record("memory", f"peak RSS {peak:.0f} MiB with 300 MB listings offered (bound {BOUND_MIB} MiB)")
    except Exception as exc:  # noqa: BLE001
        record("memory", exc)


def main() -> int:
    if sys.argv[1:2] == ["serve"]:
        return serve(int(sys.argv[2]))
    url, pid, log, *secrets = sys.argv[2:]
    from gateway_client import run_checks

    return run_checks("gateway hostile upstreams", run, url, int(pid), log, secrets, seconds=120.0)


if __name__ == "__main__":
    sys.exit(main())
