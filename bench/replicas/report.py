#!/usr/bin/env python3
"""Markdown summary of bench/replicas-run.sh's JSON lines: medians across rounds.

Usage: python bench/replicas/report.py RAW.jsonl LOAD_AT_START LOAD_AT_END
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
    out = [f"# Replicas benchmark ({raw.rsplit('/', 1)[-1]})", ""]
    out.append(
        f"One `tenet serve --demo` on CPU 0, state in memory or on Redis (`--store-url`; redis-server and wrk "
        f"on CPU 1). Load average at start {load_start}, at end {load_end}. Medians across "
        f"{len({x['round'] for x in lines if x['round']})} rounds."
    )
    out.append("")
    bad = sum(int(x.get("bad", 0)) + int(x.get("non2xx", 0)) for x in lines if str(x["test"]).startswith("check"))
    out.append("| request | state | req/s (64 conns) | p50 (1 conn) | p99 (1 conn) | of in-memory req/s |")
    out.append("|---|---|---|---|---|---|")
    for kind in ("stateless", "legacy"):
        base = None
        for peer in ("memory", "redis"):
            rows = [x for x in lines if x["peer"] == peer]
            rps = median([x["rps"] for x in rows if x["test"] == f"{kind}-c64" and x.get("requests")])
            p50 = median([x["p50_us"] for x in rows if x["test"] == f"{kind}-c1" and x.get("requests")])
            p99 = median([x["p99_us"] for x in rows if x["test"] == f"{kind}-c1" and x.get("requests")])
            base = base or rps
            out.append(f"| {kind} `tools/call` | {peer} | {rps:,.0f} | {p50:.0f} µs | {p99:.0f} µs | {rps / base:.0%} |")
    out.append("")
    out.append(f"Checked runs: {bad} bad or non-2xx responses.")
    out.append("")
    out.append("## Redis commands per request")
    out.append("")
    out.append("| requests | over the run | commands | per request |")
    out.append("|---|---|---|---|")
    for x in (x for x in lines if str(x["test"]).startswith("commands-")):
        kind = x["test"].removeprefix("commands-")
        commands = {k: v for k, v in x["commands"].items()}
        total = sum(commands.values())
        shown = ", ".join(f"{k} {v}" for k, v in sorted(commands.items())) or "none"
        per = f"{total / x['requests']:.2f}" if x["requests"] else "—"
        out.append(f"| {kind} | {x['requests']} requests | {shown} | {per} |")
    resumed = [x for x in lines if x["test"] == "resume-finished"]
    cut = [x for x in lines if x["test"] == "resume-cut"]
    if resumed or cut:
        out.append("")
        out.append("## A replica's death to a resumed stream")
        out.append("")
        out.append("| stream | rounds | first event after the kill | stream's end after the kill |")
        out.append("|---|---|---|---|")
        for label, rows in (("finished on the dead replica", resumed), ("cut off by the death", cut)):
            if rows:
                first = median([x["first_ms"] for x in rows])
                end = median([x["end_ms"] for x in rows])
                out.append(f"| {label} | {len(rows)} | {first:.1f} ms (median) | {end:,.1f} ms (median) |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
