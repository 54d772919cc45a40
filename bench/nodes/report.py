#!/usr/bin/env python3
"""Markdown summary of bench/nodes-run.sh's JSON lines: medians across rounds.

Usage: python bench/nodes/report.py RAW.jsonl LOAD_AT_START LOAD_AT_END
"""

from __future__ import annotations

import json
import statistics
import sys


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    raw, load_start, load_end = sys.argv[1:4]
    lines = [json.loads(line) for line in open(raw, encoding="utf-8") if line.strip()]
    out = [f"# Node network benchmark ({raw.rsplit('/', 1)[-1]})", ""]
    out.append(f"Load average at start {load_start}, at end {load_end}. Medians across rounds.")
    out.append("")

    hops = [x for x in lines if x.get("part") == "hops" and x.get("test") in ("c1", "c64")]
    bad = sum(int(x.get("bad", 0)) + int(x.get("non2xx", 0)) for x in lines if x.get("part") == "hops")
    out.append("## 1. What a hop adds to a `tools/call` (2026-07-28 over HTTP)")
    out.append("")
    out.append("| path | p50 (1 conn) | p99 (1 conn) | req/s (64 conns) |")
    out.append("|---|---|---|---|")
    stats: dict[str, tuple[float, float, float]] = {}
    for row in ("direct-b", "one-hop", "direct-c", "two-hops"):
        c1 = [x for x in hops if x["row"] == row and x["test"] == "c1" and x.get("requests")]
        c64 = [x for x in hops if x["row"] == row and x["test"] == "c64" and x.get("requests")]
        p50 = median([x["p50_us"] for x in c1])
        p99 = median([x["p99_us"] for x in c1])
        rps = median([x["rps"] for x in c64])
        stats[row] = (p50, p99, rps)
        out.append(f"| {row} | {p50:.0f} µs | {p99:.0f} µs | {rps:,.0f} |")
    out.append("")
    for hop, direct, n in (("one-hop", "direct-b", 1), ("two-hops", "direct-c", 2)):
        added50 = (stats[hop][0] - stats[direct][0]) / n
        added99 = (stats[hop][1] - stats[direct][1]) / n
        share = stats[hop][2] / stats[direct][2] if stats[direct][2] else float("nan")
        out.append(
            f"- {hop}: +{added50:.0f} µs p50 and +{added99:.0f} µs p99 per hop; throughput {share:.0%} of direct."
        )
    out.append(f"- Responses checked in the warm-up runs: {bad} bad.")
    out.append("")

    idle = [x for x in lines if x.get("part") == "idle"]
    out.append("## 2. Heartbeats at idle, per peer per minute")
    out.append("")
    out.append("| heartbeat | node A's CPU | TCP bytes sent + received (A's side) | a peer's CPU answering |")
    out.append("|---|---|---|---|")
    for hb in sorted({x["heartbeat_s"] for x in idle}):
        rows = [x for x in idle if x["heartbeat_s"] == hb]
        watcher = next(x for x in rows if x["node"] == "watcher")
        alone = next(x for x in rows if x["node"] == "alone")
        peers = [x for x in rows if x["node"].startswith("p")]
        n, scale = watcher["peers"], 60 / watcher["window_s"]
        cpu = (watcher["cpu_ns"] - alone["cpu_ns"]) / n * scale
        io = (watcher["tcp"]["sent"] + watcher["tcp"]["received"]) / n * scale
        closed = watcher["tcp"]["closed"]
        peer_cpu = median([x["cpu_ns"] for x in peers]) * scale
        note = f" ({closed} connections closed in the window: a floor)" if closed else ""
        out.append(f"| {hb} s | {cpu / 1e6:.2f} ms | {io / 1024:.1f} KiB{note} | {peer_cpu / 1e6:.2f} ms |")
    out.append("")
    out.append("Node A's CPU is over a node with no peers in the same window (its own idle cost removed); its bytes")
    out.append("are every byte its connections to the peers carried (heartbeats, and the idle listen streams).")
    out.append("")

    death = [x for x in lines if x.get("part") == "death"]
    out.append("## 3. From a peer's death to `tools/list_changed` at A's client (heartbeat 1 s, 3 misses)")
    out.append("")
    out.append("| how it died | rounds | list_changed (median, max) | gone from the list (median) |")
    out.append("|---|---|---|---|")
    for mode, what in (("kill", "killed (connections close)"), ("hang", "hung (SIGSTOP: silent)")):
        rows = [x for x in death if x["mode"] == mode]
        told = [x["list_changed_ms"] for x in rows if x["list_changed_ms"] is not None]
        gone = [x["gone_from_list_ms"] for x in rows]
        missing = len(rows) - len(told)
        note = f" ({missing} rounds told nothing)" if missing else ""
        out.append(
            f"| {what} | {len(rows)} | {median(told):.0f} ms, {max(told, default=float('nan')):.0f} ms{note} "
            f"| {median(gone):.0f} ms |"
        )
    print("\n".join(out))


if __name__ == "__main__":
    main()
