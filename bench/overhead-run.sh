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
# Knobs [defaults]: ROUNDS [5]  DURATION [10]  BUILD_TENET [1]
#   TENET_BIN [<repo>/target/release/tenet]  OUT [bench/results]
# Server pinned to CPU 0, wrk to CPU 1, everything on 127.0.0.1.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
BUILD_TENET=${BUILD_TENET:-1}
TENET_BIN=${TENET_BIN:-$ROOT/target/release/tenet}
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
    (cd "$ROOT" && cargo build --release --quiet -p tenet)
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
    python3 - "$raw" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
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
print(f"Non-2xx or unchecked-body responses across all runs: {bad}.")
PY
} >"$md"
cat "$md"
