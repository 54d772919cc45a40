"""Markdown tables for bench/gateway-run.sh (stdlib only).

    report.py RAW.jsonl PEER...

Per setup: each peer's latency (median over rounds of the p50 and p99 of one call at
a time), what it adds to the direct call, its throughput and that as a share of
direct, and Tenet's throughput over the peer's. A run that failed or answered wrong
is counted and left out of the medians.
"""

import json
import statistics
import sys
from collections import defaultdict

SETUPS = {
    "stdio": ("client —stdio→ gateway —stdio→ upstream (the client speaks 2025-11-25, the gateway 2026-07-28 to the upstream)", "latency", "pipelined"),
    "stdio-2026": ("the same, the client speaking 2026-07-28 too (direct: the client's 2026-07-28 requests to the upstream itself)", "latency", "pipelined"),
    "front": ("client —HTTP→ gateway —stdio→ upstream (direct: the upstream serving HTTP itself)", "c1", "c64"),
    "http": ("client —HTTP→ gateway —HTTP→ upstream", "c1", "c64"),
    "ws": ("client —HTTP→ gateway —WebSocket→ upstream (direct: the upstream serving HTTP itself)", "c1", "c64"),
}


def good(r):
    """Whether a run counts: it finished, and every answer was right."""
    if r.get("failed"):
        return False
    if "n" in r:  # mcp-bench
        return bool(r.get("valid", r.get("ok"))) and not r.get("errors") and not r.get("lost")
    return r.get("requests", 0) > 0 and not r.get("non2xx") and not r.get("bad") and not r.get("timeout_err")


def rate(r):
    return r.get("req_per_s", r.get("rps"))


def main():
    raw, peers = sys.argv[1], sys.argv[2:]
    runs = defaultdict(list)
    bad = defaultdict(int)
    for line in open(raw):
        r = json.loads(line)
        key = (r["setup"], r["peer"], r["test"])
        if good(r):
            runs[key].append(r)
        else:
            bad[key] += 1

    def med(setup, peer, test, field):
        values = [r[field] if field != "rate" else rate(r) for r in runs[(setup, peer, test)]]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    def fmt(v, unit=""):
        return "—" if v is None else (f"{v:,.0f}{unit}" if v >= 100 else f"{v:.1f}{unit}")

    for setup, (title, lat, thr) in SETUPS.items():
        here = [p for p in peers if any(k[0] == setup and k[1] == p for k in list(runs) + list(bad))]
        if not here:
            continue
        cpu = setup.startswith("stdio")  # the driver reads the CPU time of the process it spawned
        print(f"## `{setup}`: {title}\n")
        print("| peer | p50 µs ↓ | p99 µs ↓ | added p50 µs ↓ | added p99 µs ↓ | req/s ↑ | of direct ↑ | tenet / peer ↑ |"
              + (" CPU µs/req ↓ |" if cpu else "") + " failed runs |")
        print("|---|---|---|---|---|---|---|---|" + ("---|" if cpu else "") + "---|")
        d50, d99, drate = med(setup, "direct", lat, "p50_us"), med(setup, "direct", lat, "p99_us"), med(setup, "direct", thr, "rate")
        t_rate = med(setup, "tenet", thr, "rate")
        for p in here:
            p50, p99, r = med(setup, p, lat, "p50_us"), med(setup, p, lat, "p99_us"), med(setup, p, thr, "rate")
            add50 = None if p == "direct" or None in (p50, d50) else p50 - d50
            add99 = None if p == "direct" or None in (p99, d99) else p99 - d99
            share = None if p == "direct" or None in (r, drate) else f"{100 * r / drate:.0f}%"
            vs = None if p in ("direct", "tenet") or None in (r, t_rate) else f"{t_rate / r:.1f}×"
            failed = sum(bad[(setup, p, t)] for t in (lat, thr, "check"))
            used = f" {fmt(med(setup, p, thr, 'server_cpu_us_per_req'))} |" if cpu else ""
            print(f"| `{p}` | {fmt(p50)} | {fmt(p99)} | {fmt(add50)} | {fmt(add99)} | {fmt(r)} | {share or '—'} | {vs or '—'} |"
                  f"{used} {failed} |")
        print()
        floor = med(setup, "relay", thr, "rate")
        if None not in (floor, t_rate, drate):
            print(f"`relay` is the floor, not a gateway: bytes passed to the upstream and back, nothing parsed. "
                  f"It reaches {100 * floor / drate:.0f}% of direct; Tenet reaches {100 * t_rate / floor:.0f}% of it."
                  + (" Through it the upstream speaks the client's 2025-11-25; through Tenet, 2026-07-28."
                     if setup == "stdio" else "") + "\n")


if __name__ == "__main__":
    main()
