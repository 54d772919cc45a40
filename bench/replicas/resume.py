#!/usr/bin/env python3
"""Time from a replica's death to the resumed stream on another (stdlib only).

Usage: python bench/replicas/resume.py TENET_BIN STORE_URL ROUNDS PORT_A PORT_B

Two `tenet serve --demo` replicas sharing STORE_URL, both on CPU 0: B lives throughout,
A is started afresh each round. Each round opens a 2025-11-25 session on A, calls
`countdown` (progress notifications, then the answer) and reads the first progress
notification; then

- finished: waits for the call to finish on A, kills A (SIGKILL) and resumes on B with
  `Last-Event-ID`: the time from the kill to the first replayed event, and to the end;
- cut (last round only): kills A while the call still runs and resumes on B: B replays
  what A logged, follows the stream, and ends it once A's lease in the store lapses.

Prints one JSON line per measurement (`{"test": ..., "ms": ...}`), checking each resumed
stream: every event after the last one read, once, in order.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

H = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def start(binary: str, store: str, port: int) -> subprocess.Popen[bytes]:
    command = ["taskset", "-c", "0", binary, "serve", "--demo", "--transport", "http", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warn", "--store-url", store, "--state-secret", "bench-resume-secret"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"a replica did not listen on {port}")


def events(lines: list[str]) -> list[tuple[str, str]]:
    out, event_id, data = [], "", []
    for line in lines + [""]:
        if not line:
            if data:
                out.append((event_id, "\n".join(data)))
            event_id, data = "", []
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
    return out


def session(port: int) -> dict[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "resume-bench", "version": "1"}}}
    conn.request("POST", "/mcp", json.dumps(init), H)
    r = conn.getresponse()
    r.read()
    h = dict(H, **{"Mcp-Session-Id": r.getheader("mcp-session-id"), "MCP-Protocol-Version": "2025-11-25"})
    conn.request("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}), h)
    conn.getresponse().read()
    conn.close()
    return h


def first_progress(port: int, h: dict[str, str], steps: int, step_ms: int) -> tuple[str, int]:
    """Calls countdown on `port`; returns the id of its first progress event and the
    number of progress events still to come, leaving the connection dropped."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "countdown", "arguments": {"steps": steps, "step_ms": step_ms}, "_meta": {"progressToken": "b"}}}
    conn.request("POST", "/mcp", json.dumps(call), h)
    r = conn.getresponse()
    lines: list[str] = []
    while True:
        line = r.readline().decode().rstrip("\r\n")
        lines.append(line)
        if not line and any("notifications/progress" in d for _, d in events(lines)):
            break
    conn.sock.close()
    first = next(i for i, d in events(lines) if "notifications/progress" in d)
    return first, steps  # progress 0 was read: steps more follow, then the answer


def resume(port: int, h: dict[str, str], last: str, killed: float) -> tuple[float, float, list[tuple[str, str]]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/mcp", headers=dict(h, **{"Accept": "text/event-stream", "Last-Event-ID": last}))
    r = conn.getresponse()
    if r.status != 200:
        raise RuntimeError(f"resume: {r.status} {r.read()[:200]!r}")
    lines, first = [], None
    while True:
        raw = r.readline()
        if not raw:
            break
        first = first or time.monotonic()
        lines.append(raw.decode().rstrip("\r\n"))
    end = time.monotonic()
    conn.close()
    return ((first or end) - killed) * 1000, (end - killed) * 1000, events(lines)


def main() -> None:
    binary, store, rounds, port_a, port_b = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    b = start(binary, store, port_b)
    try:
        for n in range(1, rounds + 1):
            a = start(binary, store, port_a)
            h = session(port_a)
            cut = n == rounds
            steps, step_ms = (100, 100) if cut else (5, 5)
            last, more = first_progress(port_a, h, steps, step_ms)
            if not cut:
                time.sleep(0.3)  # the call finishes on A (5 × 5 ms)
            os.kill(a.pid, signal.SIGKILL)
            killed = time.monotonic()
            a.wait()
            first_ms, end_ms, got = resume(port_b, h, last, killed)
            ids = [i for i, _ in got]
            if len(set(ids)) != len(ids) or last in ids:
                raise RuntimeError(f"an event twice: {ids} after {last}")
            progress = [json.loads(d)["params"]["progress"] for _, d in got if "notifications/progress" in d]
            if cut:
                # What A logged before it died, in order; no answer (the call died with A).
                if progress != list(range(1, len(progress) + 1)) or any('"result"' in d for _, d in got):
                    raise RuntimeError(f"cut stream: {got}")
                print(json.dumps({"round": 0, "peer": "redis", "n": n, "test": "resume-cut", "first_ms": round(first_ms, 1),
                                  "end_ms": round(end_ms, 1), "events": len(got)}), flush=True)
            else:
                if progress != list(range(1, more + 1)) or '"result"' not in got[-1][1]:
                    raise RuntimeError(f"resumed stream: {got}")
                print(json.dumps({"round": 0, "peer": "redis", "n": n, "test": "resume-finished", "first_ms": round(first_ms, 1),
                                  "end_ms": round(end_ms, 1), "events": len(got)}), flush=True)
    finally:
        b.kill()
        b.wait()


if __name__ == "__main__":
    main()
