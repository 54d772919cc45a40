#!/usr/bin/env python3
"""Skills benchmark (issue 61): `skills/list` and `skills/get` latency of `tenet serve`
over stdio, on the built-in corpus and on a generated corpus (bench/kb-bench gen: 10 000
documents), and the memory the skills take.

    python3 bench/skills/run.py TENET [--symbols TENET_WITH_SYMBOLS] [--corpus DIR]... [--reps N]

For each corpus: a fresh `tenet serve` pinned to CPU 0 (this driver on CPU 1), the
2025-11-25 handshake, then REPS rounds of the whole listing (`skills/list`, every page)
and REPS x 50 `skills/get` of skills picked round-robin; each request sent once the
previous answer is in. Latencies are wall-clock round trips on 127.0.0.1 pipes.

Memory: the server's RssAnon (what it allocated) once idle, and, under valgrind's massif,
the peak heap's share held by what the skills built (allocations whose stack holds
`tenet_skills::` or `knowledge::skills::`), so the figure is the skills' own, not a
difference of two noisy processes. massif needs to see the allocations and name their
functions: --symbols names a build with the system allocator and symbols, built as

    CARGO_PROFILE_RELEASE_STRIP=none RUSTFLAGS="--cfg tenet_system_allocator" \
        CARGO_TARGET_DIR=target/heap cargo build --release -p tenet

(mimalloc, the shipped allocator, takes its memory from the kernel directly, where
massif does not look); else TENET is used.

Prints one JSON line per corpus and a Markdown table.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time


def percentile(values, p):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


class Server:
    def __init__(self, argv, env=None):
        self.proc = subprocess.Popen(
            ["taskset", "-c", "0", *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.next_id = 1

    def request(self, method, params):
        id_ = self.next_id
        self.next_id += 1
        line = json.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": params}) + "\n"
        started = time.perf_counter()
        self.proc.stdin.write(line.encode())
        self.proc.stdin.flush()
        while True:
            raw = self.proc.stdout.readline()
            if not raw:
                raise RuntimeError(f"the server closed its output during {method}")
            message = json.loads(raw)
            if message.get("id") == id_:
                elapsed = time.perf_counter() - started
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"], elapsed

    def notify(self, method):
        self.proc.stdin.write((json.dumps({"jsonrpc": "2.0", "method": method}) + "\n").encode())
        self.proc.stdin.flush()

    def initialize(self):
        self.request(
            "initialize",
            {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "skills-bench", "version": "1"}},
        )
        self.notify("notifications/initialized")

    def rss_anon_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
        return None

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def list_all(server):
    skills, cursor, took, pages = [], None, 0.0, 0
    while True:
        result, elapsed = server.request("skills/list", {"cursor": cursor} if cursor else {})
        skills.extend(result["skills"])
        took += elapsed
        pages += 1
        cursor = result.get("nextCursor")
        if not cursor:
            return skills, took, pages


def serve_argv(tenet, corpus):
    argv = [tenet, "serve", "--log-level", "error"]
    if corpus:
        argv += ["--no-builtin", "--root", corpus]
    return argv


def measure(tenet, corpus, reps):
    env = {**os.environ, "TENET_CONFIG": "/dev/null"}
    env.pop("TENET_ROOTS", None)
    server = Server(serve_argv(tenet, corpus), env)
    try:
        server.initialize()
        skills, _, pages = list_all(server)  # warm
        listings, first_pages = [], []
        for _ in range(reps):
            _, took, _ = list_all(server)
            listings.append(took * 1000)
            _, elapsed = server.request("skills/list", {})
            first_pages.append(elapsed * 1000)
        gets = []
        for i in range(reps * 50):
            uri = skills[i % len(skills)]["uri"]
            _, elapsed = server.request("skills/get", {"uri": uri})
            gets.append(elapsed * 1000)
        time.sleep(0.5)
        rss = server.rss_anon_kib()
    finally:
        server.close()
    return {
        "corpus": corpus or "built-in",
        "skills": len(skills),
        "pages": pages,
        "list_first_page_p50_ms": round(statistics.median(first_pages), 3),
        "list_all_pages_p50_ms": round(statistics.median(listings), 3),
        "get_p50_ms": round(statistics.median(gets), 3),
        "get_p99_ms": round(percentile(gets, 99), 3),
        "rss_anon_kib": rss,
    }


# Frames of what the skills build: the catalog (its entries, digests and index) and the
# sources the knowledge server makes of its standards.
SKILLS_FRAME = re.compile(r"tenet_skills::|knowledge::skills::")


def massif_share(tenet, corpus):
    """The peak heap snapshot's bytes, and those under a skills frame."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "massif.out")
        env = {**os.environ, "TENET_CONFIG": "/dev/null"}
        env.pop("TENET_ROOTS", None)
        argv = ["valgrind", "--tool=massif", "--depth=40", "--threshold=0.1", f"--massif-out-file={out}"]
        server = Server(argv + serve_argv(tenet, corpus), env)
        try:
            server.initialize()
            list_all(server)
            # The index is built in the background at start: wait for it, as a search does.
            server.request("tools/call", {"name": "search_stdlib", "arguments": {"query": "error handling"}})
            time.sleep(1)
        finally:
            server.close()
        return parse_massif(out)


def parse_massif(path):
    """(total heap bytes, bytes under skills frames) of the last detailed snapshot."""
    with open(path) as f:
        text = f.read()
    snapshots = text.split("snapshot=")
    detailed = [s for s in snapshots if "heap_tree=detailed" in s or "heap_tree=peak" in s]
    last = detailed[-1]
    total = int(re.search(r"mem_heap_B=(\d+)", last).group(1))
    lines = last.split("\n")
    skills = 0
    # Each tree line: indent, "nN: BYTES 0xADDR: function (file)". A node under a skills
    # frame counts once: at the shallowest skills frame of its branch.
    stack = []  # (depth, under_skills)
    for line in lines:
        match = re.match(r"^( *)n\d+: (\d+) (.*)$", line)
        if not match:
            continue
        depth, size, what = len(match.group(1)), int(match.group(2)), match.group(3)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        above = any(under for _, under in stack)
        here = bool(SKILLS_FRAME.search(what))
        if here and not above:
            skills += size
        stack.append((depth, above or here))
    return total, skills


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    tenet = args[0]
    corpora = [None]
    reps = 10
    symbols = None
    i = 1
    while i < len(args):
        if args[i] == "--corpus":
            corpora.append(args[i + 1])
            i += 2
        elif args[i] == "--symbols":
            symbols = args[i + 1]
            i += 2
        elif args[i] == "--reps":
            reps = int(args[i + 1])
            i += 2
        else:
            sys.exit(f"unknown argument {args[i]}")
    os.sched_setaffinity(0, {1})
    rows = []
    for corpus in corpora:
        row = measure(tenet, corpus, reps)
        total, skills = massif_share(symbols or tenet, corpus)
        row["heap_peak_bytes"] = total
        row["heap_skills_bytes"] = skills
        row["skills_share_of_heap"] = round(skills / total, 4) if total else None
        print(json.dumps(row), flush=True)
        rows.append(row)
    print()
    print("| corpus | skills | pages | skills/list, first page p50 | whole listing p50 | skills/get p50 / p99 | RssAnon | heap held by skills |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['corpus']} | {r['skills']} | {r['pages']} | {r['list_first_page_p50_ms']} ms | {r['list_all_pages_p50_ms']} ms "
            f"| {r['get_p50_ms']} / {r['get_p99_ms']} ms | {r['rss_anon_kib']} KiB "
            f"| {r['heap_skills_bytes'] / 1024:.0f} KiB of {r['heap_peak_bytes'] / 1024:.0f} KiB ({100 * (r['skills_share_of_heap'] or 0):.1f} %) |"
        )


if __name__ == "__main__":
    main()
