"""Markdown report of bench/ws-run.sh's JSON lines (stdlib only).

    report.py RAW.jsonl     -> Markdown on stdout

Throughput: per N, the median req/s of stdio and of WebSocket over the valid rounds,
their ratio (ws / stdio of the medians) and the ratio in each round (both measured
in that round, back to back). Idle sockets: KB of VmRSS added per idle WebSocket and
per idle legacy Streamable HTTP session, per round and median.
"""

import json
import statistics
import sys
from collections import defaultdict

WS_TARGET = 0.70  # WebSocket req/s at least 70% of stdio's
IDLE_TARGET_KB = 16.0  # per idle socket

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by = defaultdict(list)  # (label, scenario, n) -> records
for r in rows:
    by[(r.get("label"), r.get("scenario"), r.get("n"))].append(r)
rounds = sorted({r["round"] for r in rows})


def valid(rs):
    return [r for r in rs if r.get("valid") is True or (r.get("ok") is True and "valid" not in r)]


def med(xs):
    return statistics.median(xs) if xs else None


def num(v, d=0):
    return "—" if v is None else f"{v:,.{d}f}".replace(",", " ")


def cell(rs, key, d=0):
    good = valid(rs)
    v = med([r[key] for r in good if r.get(key) is not None])
    bad = len(rs) - len(good)
    return num(v, d) + (f" ({bad}/{len(rs)} failed)" if bad else ""), v


counts = sorted({r["n"] for r in rows if r.get("scenario") == "pipelined"})
print("## Pipelined `tools/call` on one connection: WebSocket vs stdio")
print()
print("| N | stdio req/s ↑ | ws req/s ↑ | ws / stdio (medians) | ws / stdio per round | stdio peak RSS, MB | ws peak RSS, MB | lost (all rounds) stdio / ws | target ≥ 0.70 |")
print("|---:|---:|---:|---:|---|---:|---:|---:|---|")
for n in counts:
    s, w = by[("stdio", "pipelined", n)], by[("ws", "ws-pipelined", n)]
    s_txt, s_v = cell(s, "req_per_s")
    w_txt, w_v = cell(w, "req_per_s")
    ratio = w_v / s_v if s_v and w_v else None
    per_round = []
    for rd in rounds:
        a = [r for r in valid(s) if r["round"] == rd]
        b = [r for r in valid(w) if r["round"] == rd]
        if a and b and a[0]["req_per_s"]:
            per_round.append(b[0]["req_per_s"] / a[0]["req_per_s"])
    lost = f"{sum(r.get('lost', 0) or 0 for r in s)} / {sum(r.get('lost', 0) or 0 for r in w)}"
    verdict = "—" if ratio is None else ("met" if ratio >= WS_TARGET else "**not met**")
    print(
        f"| {num(n)} | {s_txt} | {w_txt} | {'—' if ratio is None else f'{ratio:.2f}×'} | "
        f"{', '.join(f'{x:.2f}' for x in per_round) or '—'} | {cell(s, 'rss_peak_mb', 1)[0]} | "
        f"{cell(w, 'rss_peak_mb', 1)[0]} | {lost} | {verdict} |"
    )
print()
print("Every run checks that each of the N ids came back exactly once, that no response is an error,")
print("and parses ~100 sampled responses in full (the echoed text). Peak RSS is the server's `ru_maxrss`.")
print()
print("### CPU per request (less sensitive to other load on the machine than req/s)")
print()
print("| N | stdio server µs / req ↓ | ws server µs / req ↓ | ws / stdio | stdio driver CPU, ms | ws driver CPU, ms | ws elapsed, ms |")
print("|---:|---:|---:|---:|---:|---:|---:|")
for n in counts:
    s, w = by[("stdio", "pipelined", n)], by[("ws", "ws-pipelined", n)]
    s_txt, s_v = cell(s, "server_cpu_us_per_req", 2)
    w_txt, w_v = cell(w, "server_cpu_us_per_req", 2)
    ratio = f"{w_v / s_v:.2f}×" if s_v and w_v else "—"
    print(f"| {num(n)} | {s_txt} | {w_txt} | {ratio} | {cell(s, 'driver_cpu_ms', 0)[0]} | {cell(w, 'driver_cpu_ms', 0)[0]} | {cell(w, 'elapsed_ms', 0)[0]} |")
print()
print("Server CPU is the sum over its threads of `/proc/PID/task/*/schedstat` from the first write to the")
print("last response; driver CPU is the driver's `getrusage` over the same span (when it stays well below the")
print("elapsed time, the client is not what limits the rate).")
print()

print("## RSS per idle connection")
print()
print("| round | ws sockets | ws VmRSS before → after, KB | ws KB / socket ↓ | ws seconds to open | legacy sessions | legacy VmRSS before → after, KB | legacy KB / session ↓ |")
print("|---:|---:|---|---:|---:|---:|---|---:|")
ws_kb, legacy_kb = [], []
for rd in rounds:
    w = [r for r in rows if r.get("scenario") == "ws-idle" and r["round"] == rd]
    h = [r for r in rows if r.get("scenario") == "http-idle" and r["round"] == rd]
    wc = ["—"] * 4
    if w:
        r = w[0]
        if r.get("ok"):
            ws_kb.append(r["kb_per_socket"])
            wc = [str(r["sockets"]), f"{num(r['rss_before_kb'])} → {num(r['rss_after_kb'])}", f"{r['kb_per_socket']:.1f}", f"{r['open_secs']:.2f}"]
        else:
            wc = ["failed: " + str(r.get("failure")), "", "", ""]
    hc = ["—"] * 3
    if h:
        r = h[0]
        if r.get("ok"):
            kb = r["bytes_per_session"] / 1024
            legacy_kb.append(kb)
            hc = [str(r["sessions"]), f"{num(r['rss_before_kb'])} → {num(r['rss_after_kb'])}", f"{kb:.1f}"]
        else:
            hc = ["failed", "", ""]
    print(f"| {rd} | " + " | ".join(wc + hc) + " |")
mw, ml = med(ws_kb), med(legacy_kb)
print(f"| **median** | | | **{num(mw, 1)}** | | | | **{num(ml, 1)}** |")
print()
if mw is not None:
    print(f"Target ≤ {IDLE_TARGET_KB:.0f} KB per idle WebSocket: {'met' if mw <= IDLE_TARGET_KB else '**not met**'} ({mw:.1f} KB).")
    print()
print("A WebSocket here is an upgrade (subprotocol `mcp`), `initialize`, `notifications/initialized` and a")
print("`ping` request answered, kept open; 16 warm-up sockets are opened (and kept) before the first reading,")
print("the second is taken after 1 s idle, then every 50th socket answers another `ping` (the sessions are")
print("alive). A legacy session is `initialize` + `notifications/initialized` over HTTP POST")
print("(`bench/http/sessions.py`: 20 warm-up sessions, 1 s idle), its connection reused, so only the session")
print("stays. VmRSS moves in pages and with the allocator's arenas: read it as ± a few KB.")
print()

samples = [r.get("sample_response") for r in rows if r.get("scenario") == "ws-pipelined" and r.get("sample_response")]
bad = [r for r in rows if r.get("failure")]
print("## Samples and failures")
print()
if samples:
    print("One WebSocket response, as received (text frame payload):")
    print()
    print("```")
    print(samples[0])
    print("```")
    print()
if bad:
    for r in bad:
        print(f"- round {r['round']} {r.get('label')} {r.get('scenario')} {r.get('n')}: {r.get('failure')}")
else:
    print("No run failed.")
