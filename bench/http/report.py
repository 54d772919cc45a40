"""Turn the JSON lines written by bench/http-run.sh into a Markdown report and a chart.

    report.py RAW.jsonl OUT.png   (Markdown on stdout; the PNG only if matplotlib imports,
                                   otherwise an ASCII bar chart goes into the Markdown)

Environment: REPORT_ORDER="a b c" orders the peer columns (peers not named follow in
the order they appear); REPORT_RATIOS="a/b c/d" picks the ratio columns (default:
tenet / every other peer).
"""

import json
import os
import statistics
import sys
from collections import defaultdict

ORDER = ["tenet", "rmcp", "rmcp-latest", "python", "ts", "ceiling"]
raw, png = sys.argv[1], sys.argv[2]
rows = [json.loads(line) for line in open(raw) if line.strip()]
ORDER = os.environ.get("REPORT_ORDER", "").split() or ORDER
seen = list(dict.fromkeys(r["peer"] for r in rows))
peers = [p for p in ORDER if p in seen] + [p for p in seen if p not in ORDER]
by = defaultdict(list)
for r in rows:
    by[(r["peer"], r["test"])].append(r)


def valid(p, t):
    return [r for r in by[(p, t)] if r.get("requests", 0) > 0 or t == "sessions"]


def med(p, t, key):
    v = [r[key] for r in valid(p, t) if key in r]
    return statistics.median(v) if v else None


def total(p, t, key):
    return sum(r.get(key, 0) for r in by[(p, t)])


def fmt(v, kind):
    if v is None:
        return "—"
    if kind == "rps":
        return f"{v:,.0f}"
    if kind == "ms":
        return f"{v / 1000:.2f}" if v < 100_000 else f"{v / 1000:,.0f}"
    if kind == "kb":
        return f"{v / 1024:.1f}"
    return str(v)


# (label, test, key, kind, higher_is_better)
METRICS = [
    ("stateless tools/call, 64 conns, req/s ↑", "stateless-c64", "rps", "rps", True),
    ("stateless p50 at 64 conns, ms ↓", "stateless-c64", "p50_us", "ms", False),
    ("stateless p99 at 64 conns, ms ↓", "stateless-c64", "p99_us", "ms", False),
    ("stateless, 1 conn, req/s ↑", "stateless-c1", "rps", "rps", True),
    ("stateless p50 at 1 conn, ms ↓", "stateless-c1", "p50_us", "ms", False),
    ("stateless p99 at 1 conn, ms ↓", "stateless-c1", "p99_us", "ms", False),
    ("legacy session tools/call, 64 conns, req/s ↑", "legacy-c64", "rps", "rps", True),
    ("legacy p50 at 64 conns, ms ↓", "legacy-c64", "p50_us", "ms", False),
    ("legacy p99 at 64 conns, ms ↓", "legacy-c64", "p99_us", "ms", False),
    ("RSS per idle legacy session, KB ↓", "sessions", "bytes_per_session", "kb", False),
]
pairs = [tuple(r.split("/", 1)) for r in os.environ.get("REPORT_RATIOS", "").split() if "/" in r]
if not pairs and "tenet" in peers:
    pairs = [("tenet", p) for p in peers if p != "tenet"]

head = ["test"] + [f"`{p}`" for p in peers] + [f"{a}/{b}" for a, b in pairs]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for label, test, key, kind, _ in METRICS:
    vals = {p: med(p, test, key) for p in peers}
    if all(v is None for v in vals.values()):
        continue
    cells = [label]
    for p in peers:
        n = len(valid(p, test))
        nall = len(by[(p, test)])
        c = fmt(vals[p], kind)
        if nall and n < nall:
            c += f" ({nall - n}/{nall} failed)"
        cells.append(c)
    for pa, pb in pairs:
        a, b = vals.get(pa), vals.get(pb)
        cells.append(f"{a / b:.2f}×" if a is not None and b else "—")
    print("| " + " | ".join(cells) + " |")

print()
print("How to read: ↑ higher is better, ↓ lower is better; ratios are left / right (on ↑ rows above 1")
print("favours the left, on ↓ rows below 1 does). Absolute numbers drift on this machine; compare within the table.")
print()

# Correctness: non-2xx and socket errors in the timed runs, bodies checked in the check runs.
print("## Correctness")
print()
print("| peer | test | requests (all rounds) | non-2xx | socket errors (connect/read/write/timeout) | bodies checked | bad bodies |")
print("|---|---|---|---|---|---|---|")
for p in peers:
    for t in ["check-stateless", "stateless-c64", "stateless-c1", "check-legacy", "legacy-c64"]:
        rs = by[(p, t)]
        if not rs:
            continue
        errs = "/".join(str(total(p, t, k)) for k in ["connect_err", "read_err", "write_err", "timeout_err"])
        chk = total(p, t, "checked") if t.startswith("check") else "—"
        bad = total(p, t, "bad") if t.startswith("check") else "—"
        print(f"| {p} | {t} | {total(p, t, 'requests'):,} | {total(p, t, 'non2xx')} | {errs} | {chk} | {bad} |")
        samples = [r.get("bad_sample") for r in rs if r.get("bad_sample")]
        if samples:
            print(f"| | first bad body | `{samples[0][:150]}` | | | | |")
print()
print("`check-*` runs (2 s, 64 conns, also the warm-up) parse every response: status 200 and")
print("`\"text\":\"hello world\"` in the body. Timed runs count non-2xx statuses only (wrk's own count).")
print()

sess = [(p, r) for p in peers for r in by[(p, "sessions")]]
if sess:
    print("## Idle legacy sessions")
    print()
    print("| peer | round | sessions | RSS before, KB | RSS after, KB | bytes / session | seconds to open |")
    print("|---|---|---|---|---|---|---|")
    for p, r in sess:
        print(f"| {p} | {r['round']} | {r['sessions']} | {r['rss_before_kb']:,} | {r['rss_after_kb']:,} | {r['bytes_per_session']:,.0f} | {r['open_secs']} |")
    print()

# Chart.
series = [("stateless req/s, 64 conns", "stateless-c64", "rps"), ("legacy req/s, 64 conns", "legacy-c64", "rps")]
lat = [("p50", "stateless-c64", "p50_us"), ("p99", "stateless-c64", "p99_us")]
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    w = 0.38
    for i, (name, t, k) in enumerate(series):
        xs = [j + (i - 0.5) * w for j in range(len(peers))]
        ax1.bar(xs, [med(p, t, k) or 0 for p in peers], w, label=name)
    ax1.set_xticks(range(len(peers)), peers)
    ax1.set_yscale("log")
    ax1.set_ylabel("req/s (log)")
    ax1.set_title("throughput, server on 1 core")
    ax1.legend(fontsize=8)
    for i, (name, t, k) in enumerate(lat):
        xs = [j + (i - 0.5) * w for j in range(len(peers))]
        ax2.bar(xs, [(med(p, t, k) or 0) / 1000 for p in peers], w, label=f"stateless {name}")
    ax2.set_xticks(range(len(peers)), peers)
    ax2.set_yscale("log")
    ax2.set_ylabel("ms (log)")
    ax2.set_title("latency at 64 connections")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"![throughput and latency per peer]({png.rsplit('/', 1)[-1]})")
    print()
except ImportError:
    pass

# ASCII chart always (readable in a terminal and in the Markdown without the PNG).
print("```")
width = max([8] + [len(p) for p in peers])
for name, t, k in series + [("stateless p99, ms", "stateless-c64", "p99_us")]:
    vals = {p: med(p, t, k) for p in peers}
    vals = {p: v for p, v in vals.items() if v}
    if not vals:
        continue
    top = max(vals.values())
    print(name)
    for p, v in vals.items():
        shown = v / 1000 if k.endswith("_us") else v
        print(f"  {p:{width}} {'█' * max(1, round(40 * v / top)):40} {shown:,.1f}")
print("```")
