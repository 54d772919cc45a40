"""What admitting every request at one door costs, and that what a caller holds costs
other callers nothing per request: instructions per request (callgrind, as the gate
counts them) of two tenet binaries measured in one run, HTTP stateless and legacy-session
tools/call, with no auth, with one API key and rate limits, and with 5 001 keys and rate
limits; resident memory per idle legacy session of both; and, for the second binary,
the same request with 5 000 other callers holding state first (sessions, or rate-limit
buckets), for O(1) per request.

    python3 bench/perf/callers.py OLD_TENET NEW_TENET [--only-o1]

Needs what scripts/perf-gate needs (valgrind, python3). Takes ~10 minutes here."""
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
import gate

old, new = sys.argv[1], sys.argv[2]
only_o1 = "--only-o1" in sys.argv
work = Path(tempfile.mkdtemp(prefix="door."))
OTHERS = 5000
keys = work / "keys"
SECRET = "s3cret-key-for-the-door-bench"
keys.write_text(f"alice {SECRET} stdlib:read\n" + "".join(f"k{i} secret-of-caller-{i:06d} stdlib:read\n" for i in range(OTHERS)))
one_key = work / "one-key"
one_key.write_text(f"alice {SECRET} stdlib:read\n")
plain_H = dict(gate.H)
auth_H = dict(gate.H, Authorization=f"Bearer {SECRET}")
echo = {"text": gate.ECHO_TEXT}
env = {"TOKIO_WORKER_THREADS": "1"}
limits = ["--rate-limit", "100000", "--rate-burst", "100000", "--rate-limit-for", "tools/call:echo=100000/100000"]
PREPOP = {"n": 0, "mode": None}

real_connect = gate.connect
def connect(port, proc, timeout=gate.TIMEOUT):
    conn = real_connect(port, proc, timeout)
    for i in range(PREPOP["n"]):
        h = dict(gate.H, Authorization=f"Bearer secret-of-caller-{i:06d}")
        if PREPOP["mode"] == "legacy":
            status, got, body = conn.post(gate.initialize(gate.LEGACY), h)
            if status != 200:
                raise gate.GateError(f"prepopulate {i}: {status} {body[:200]!r}")
        else:
            h.update({"MCP-Protocol-Version": gate.MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "echo"})
            status, got, body = conn.post(gate.call(i + 1, "echo", echo, True), h)
            if status != 200:
                raise gate.GateError(f"prepopulate {i}: {status} {body[:200]!r}")
    return conn
gate.connect = connect

def path(binary, mode, auth, seeds=3):
    base = [binary, "serve", "--demo", "--transport", "http"]
    extra = ["--api-keys-file", str(keys if auth == "many" else one_key)] + limits if auth else []
    return gate.Path_(f"{mode}", mode, "Ir/request", "http", base + extra, "echo", echo,
                      gate.expect_text(gate.ECHO_TEXT), mode=mode, env=env, n=(100, 500), seeds=seeds)

cg = gate.Callgrind(work, "toggle", gate.Entropy(work, -1))
results = {}
def run(label, name, p, headers):
    gate.H = headers
    fig, seeds = gate.per_request(cg, p)
    gate.H = plain_H
    results[(name, label)] = fig
    print(f"{label:4} {name:26} {fig:10.1f}  seeds {[round(s) for s in seeds]}", flush=True)

if not only_o1:
    for label, binary in (("old", old), ("new", new)):
        for mode in ("stateless", "legacy"):
            run(label, mode, path(binary, mode, False), plain_H)
            run(label, f"{mode}+key+limits", path(binary, mode, "one"), auth_H)
            run(label, f"{mode}+5001keys+limits", path(binary, mode, "many"), auth_H)
    for label, binary in (("old", old), ("new", new)):
        # 1 001 sessions from one address: past the default share of a build that has one.
        shares = "--max-sessions-per-caller" in subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
        extra = ["--max-sessions-per-caller", "2000"] if shares else []
        p = gate.Path_("rss", "rss", "B", "rss", [binary, "serve", "--transport", "http"] + extra, mode="per_session",
                       env={"MIMALLOC_PURGE_DELAY": "0"}, n=(1000, 5))
        runs = [gate.rss_once(p, work, cg.entropy, 1000) for _ in range(7)]
        per = sorted(x["per_session"] for x in runs)
        print(f"{label:4} rss per idle legacy session (RssAnon): median {statistics.median(per):.0f} B, runs {[round(x) for x in per]}", flush=True)
    print("--- old -> new")
    for name in ("stateless", "stateless+key+limits", "stateless+5001keys+limits", "legacy", "legacy+key+limits", "legacy+5001keys+limits"):
        o, n = results[(name, "old")], results[(name, "new")]
        print(f"{name:26} {o:9.0f} -> {n:9.0f}  {100*(n/o-1):+.2f} %", flush=True)

print(f"--- O(1): the head, keys + rate limits, with {OTHERS} other callers holding state first")
for mode in ("stateless", "legacy"):
    PREPOP.update(n=0, mode=mode)
    run("new", f"{mode} alone", path(new, mode, "many", seeds=2), auth_H)
    PREPOP.update(n=OTHERS, mode=mode)
    run("new", f"{mode} +{OTHERS} callers", path(new, mode, "many", seeds=2), auth_H)
    PREPOP.update(n=0)
    a, b = results[(f"{mode} alone", "new")], results[(f"{mode} +{OTHERS} callers", "new")]
    print(f"{mode}: {a:.0f} -> {b:.0f} ({100*(b/a-1):+.2f} %)", flush=True)
