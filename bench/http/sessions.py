"""Legacy-session helper for the HTTP benchmark (stdlib only).

    sessions.py open PORT            -> prints one initialized session id
    sessions.py open PORT --version  -> the same, then the protocol version the server chose
    sessions.py rss PORT PID N       -> opens N idle sessions, prints a JSON line with
                                        the server's RSS before/after and bytes per session

A session is `initialize` (protocol 2025-11-25) + `notifications/initialized`
on one keep-alive connection; nothing else is held open (no GET stream), so the
sessions are idle. RSS is VmRSS from /proc/PID/status (the server's own process;
run it without a wrapper that would be counted instead).
"""

import http.client
import json
import sys
import time

INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "http-bench", "version": "0.1.0"}}}
H = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def open_session(conn):
    conn.request("POST", "/mcp", json.dumps(INIT), H)
    r = conn.getresponse()
    body = r.read()
    sid = r.getheader("mcp-session-id")
    if r.status != 200 or not sid or b"protocolVersion" not in body:
        raise RuntimeError(f"initialize failed: {r.status} {body[:200]!r}")
    # The body is JSON, or SSE whose first data line that is not empty is (rmcp 3.x opens
    # its stream with a priming event of empty data).
    text = body.decode()
    if not text.lstrip().startswith("{"):
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:") and line[5:].strip())
    version = json.loads(text)["result"]["protocolVersion"]
    h = dict(H, **{"Mcp-Session-Id": sid, "MCP-Protocol-Version": version})
    conn.request("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}), h)
    r = conn.getresponse()
    r.read()
    if r.status not in (200, 202, 204):
        raise RuntimeError(f"notifications/initialized failed: {r.status}")
    return sid, version


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    if cmd == "open":
        sid, version = open_session(conn)
        print(f"{sid} {version}" if "--version" in sys.argv[3:] else sid)
        return
    pid, n = int(sys.argv[3]), int(sys.argv[4])
    for _ in range(20):  # warm-up: one-time allocations are not per-session cost
        open_session(conn)
    time.sleep(0.5)
    before = rss_kb(pid)
    t0 = time.monotonic()
    for _ in range(n):
        open_session(conn)
    secs = time.monotonic() - t0
    time.sleep(1.0)
    after = rss_kb(pid)
    print(json.dumps({"sessions": n, "rss_before_kb": before, "rss_after_kb": after,
                      "bytes_per_session": (after - before) * 1024 / n, "open_secs": round(secs, 3)}))


if __name__ == "__main__":
    main()
