#!/usr/bin/env bash
# What production features cost (issue 6): stateless `tools/call` throughput and
# latency of one tenet binary with everything off, against the same binary with
# authorization, rate limiting and metrics on, interleaved round by round.
#
#   bench/overhead-run.sh                  # builds tenet (release), 5 rounds of 10 s
#   ROUNDS=3 BUILD_TENET=0 bench/overhead-run.sh
#
# Variants:
#   off   `serve --demo --transport http` with metrics off: no auth, no rate limit
#   keys  + an API key (`--api-keys`), a per-client token bucket (`--rate-limit`, set
#         high enough that nothing is refused: the bucket is still checked per
#         request) and metrics on
#   jwt   + ES256 JWT access tokens checked against a JWKS (bench/http/issuer.py on
#         loopback), the same rate limit and metrics on
# Then, when valgrind is installed, user-space instructions per request for each
# variant (callgrind, `wrk -c8` for 4 s): a count that does not move with the load.
# Knobs [defaults]: ROUNDS [5]  DURATION [10]  BUILD_TENET [1]  INSTRUCTIONS [1]
#   TENET_BIN [what scripts/build-release builds]  OUT [bench/results]
# Server pinned to CPU 0, wrk to CPU 1, everything on 127.0.0.1.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
BUILD_TENET=${BUILD_TENET:-1}
INSTRUCTIONS=${INSTRUCTIONS:-1}
TENET_BIN=${TENET_BIN:-$("$ROOT/scripts/build-release" --path)}
OUT=${OUT:-$BENCH_DIR/results}
HTTP=$BENCH_DIR/http
VENV=$BENCH_DIR/target/py/venv
LUA=$HTTP/call.lua
VARIANTS=(off keys jwt)
ISSUER_PORT=3069
API_KEY=bench-$RANDOM$RANDOM$RANDOM
RATE=(--rate-limit 100000000 --rate-burst 1000000)

# shellcheck source=http/lib.sh
source "$HTTP/lib.sh"

ensure_wrk
if ! "$VENV/bin/python" -c 'import jwt, cryptography' 2>/dev/null; then
    log "installing pyjwt[crypto] into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q 'pyjwt[crypto]'
fi
if [[ $BUILD_TENET == 1 ]]; then
    log "building tenet (release)"
    "$ROOT/scripts/build-release" >/dev/null
fi
work=$(mktemp -d)
cp -p "$TENET_BIN" "$work/tenet" # a private copy: a concurrent build cannot swap it mid-run
echo "bench $API_KEY" >"$work/keys"

declare -A PORT=([off]=3066 [keys]=3067 [jwt]=3068)
cmd() {
    local base="$work/tenet serve --demo --transport http --port $3"
    case $1 in
    off) echo "$base --no-metrics" ;;
    keys) echo "$base ${RATE[*]} --api-keys-file $work/keys" ;;
    jwt) echo "$base ${RATE[*]} --auth-issuer http://127.0.0.1:$ISSUER_PORT --auth-jwks-url http://127.0.0.1:$ISSUER_PORT/jwks" ;;
    esac
}

# The issuer, with one token for the jwt variant's canonical URI.
"$VENV/bin/python" "$HTTP/issuer.py" "$ISSUER_PORT" "http://127.0.0.1:${PORT[jwt]}/mcp" "bench" >"$work/issuer.out" 2>&1 &
ISSUER_PID=$!
trap 'stop; kill $ISSUER_PID 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [[ -s $work/issuer.out ]] && break; sleep 0.1; done
JWT=$(head -1 "$work/issuer.out")
[[ $JWT == ey* ]] || { echo "the issuer did not start: $(cat "$work/issuer.out")" >&2; exit 1; }
token_for() { case $1 in off) echo "" ;; keys) echo "$API_KEY" ;; jwt) echo "$JWT" ;; esac; }

mkdir -p "$OUT"
stamp=$(date +%Y-%m-%d-%H%M%S)
raw="$OUT/overhead-$stamp.jsonl"
logs="$BENCH_DIR/target/overhead-logs"
mkdir -p "$logs"
: >"$raw"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "rounds: $ROUNDS x ${DURATION}s; variants: ${VARIANTS[*]}; raw: $raw"
for ((round = 1; round <= ROUNDS; round++)); do
    order=("${VARIANTS[@]}")
    ((round % 2 == 0)) && order=(jwt keys off)
    log "round $round: ${order[*]} (load $(cut -d' ' -f1 /proc/loadavg))"
    for v in "${order[@]}"; do
        start "$v" stateless "$logs/$v-r$round.log" || exit 1
        export WRK_TOKEN
        WRK_TOKEN=$(token_for "$v")
        WRK_CHECK=1 run_wrk "$v" check 64 2 stateless 2026-07-28 # every body checked: auth must let it through
        run_wrk "$v" stateless-c64 64 "$DURATION" stateless 2026-07-28
        run_wrk "$v" stateless-c1 1 "$DURATION" stateless 2026-07-28
        stop
    done
done

# Instructions per request (callgrind), one server at a time on CPU 0.
instr="$work/instructions.txt"
: >"$instr"
if [[ $INSTRUCTIONS == 1 ]] && command -v valgrind >/dev/null; then
    for v in "${VARIANTS[@]}"; do
        log "instructions per request: $v (callgrind)"
        out="$work/$v.callgrind"
        # shellcheck disable=SC2046
        taskset -c 0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
            $(cmd "$v" stateless "${PORT[$v]}") >"$logs/$v-callgrind.log" 2>&1 &
        SERVER_PID=$!
        for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/${PORT[$v]}") 2>/dev/null && break; sleep 0.1; done
        export WRK_TOKEN
        WRK_TOKEN=$(token_for "$v")
        load() { timeout 60 taskset -c 1 wrk -t1 -c8 -d"$1s" --timeout 10s -s "$LUA" "http://127.0.0.1:${PORT[$v]}/mcp" -- stateless 2026-07-28 -; }
        load 2 >/dev/null
        callgrind_control -i on "$SERVER_PID" >/dev/null 2>&1
        line=$(load 4 | grep '^{"requests"' || true)
        requests=$(sed -n 's/^{"requests":\([0-9]*\),.*/\1/p' <<<"$line")
        grep -q '"non2xx":0,' <<<"$line" || requests=0 # refused requests would not measure the variant
        callgrind_control -i off "$SERVER_PID" >/dev/null 2>&1
        stop
        total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done {gsub(",", "", $1); print $1; done = 1}')
        echo "$v ${requests:-0} ${total:-0}" >>"$instr"
    done
fi

md="$OUT/overhead-$stamp.md"
{
    echo "# Production-feature overhead, $(date '+%Y-%m-%d %H:%M %Z')"
    echo
    echo "- Machine: $(nproc) CPUs, Linux $(uname -r); load average at start: $load_at_start"
    echo "- Tenet: commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none), binary built $(date -r "$TENET_BIN" '+%Y-%m-%d %H:%M')"
    echo "- $ROUNDS interleaved rounds (order reversed every other round), ${DURATION} s per run, medians; server on CPU 0, \`wrk -t2 -c64\` (\`-t1 -c1\`) on CPU 1, stateless \`tools/call echo\` (2026-07-28)"
    echo "- Variants: \`off\` = \`$(cmd off 0 "${PORT[off]}" | sed "s|$work/||g")\`; \`keys\` = \`$(cmd keys 0 "${PORT[keys]}" | sed "s|$work/||g")\`; \`jwt\` = \`$(cmd jwt 0 "${PORT[jwt]}" | sed "s|$work/||g")\`"
    echo "- Raw: \`$(basename "$raw")\`"
    echo
    python3 - "$raw" "$instr" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
instr = {}
for line in open(sys.argv[2]):
    v, n, total = line.split()
    if int(n) > 0:
        instr[v] = int(total) / int(n)
def med(v, t, k):
    xs = [r[k] for r in rows if r["peer"] == v and r["test"] == t and r.get("requests", 0) > 0]
    return statistics.median(xs) if xs else None
bad = sum(r.get("bad", 0) + r.get("non2xx", 0) for r in rows)
print("| variant | req/s, c64 | vs off | p50 / p99 µs, c64 | req/s, c1 | vs off | p50 µs, c1 |")
print("|---|---:|---:|---:|---:|---:|---:|")
base64, base1 = med("off", "stateless-c64", "rps"), med("off", "stateless-c1", "rps")
for v in ("off", "keys", "jwt"):
    r64, r1 = med(v, "stateless-c64", "rps"), med(v, "stateless-c1", "rps")
    if r64 is None or r1 is None:
        print(f"| {v} | failed | | | | | |")
        continue
    cost64 = f"{(r64 / base64 - 1) * 100:+.1f}%" if base64 else ""
    cost1 = f"{(r1 / base1 - 1) * 100:+.1f}%" if base1 else ""
    print(f"| {v} | {r64:,.0f} | {cost64} | {med(v, 'stateless-c64', 'p50_us'):.0f} / {med(v, 'stateless-c64', 'p99_us'):.0f}"
          f" | {r1:,.0f} | {cost1} | {med(v, 'stateless-c1', 'p50_us'):.0f} |")
print()
if instr:
    print("| variant | instructions per request (callgrind, user space) | vs off |")
    print("|---|---:|---:|")
    for v in ("off", "keys", "jwt"):
        if v in instr:
            rel = f"{(instr[v] / instr['off'] - 1) * 100:+.1f}%" if "off" in instr else ""
            print(f"| {v} | {instr[v]:,.0f} | {rel} |")
    print()
print(f"Non-2xx or unchecked-body responses across all runs: {bad}.")
PY
} >"$md"
cat "$md"
