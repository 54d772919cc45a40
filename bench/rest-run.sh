#!/usr/bin/env bash
# REST benchmark: the same `echo` call through Tenet's REST facade (POST /tools/echo)
# and over MCP stateless HTTP (POST /mcp, 2026-07-28), against one `tenet serve --demo`
# process in the same run, interleaved round by round (order reversed every other round),
# medians reported; then the web page's first load in headless Chromium.
#
#   bench/rest-run.sh                     # builds tenet (release), 3 rounds of 10 s
#   ROUNDS=5 DURATION=10 BUILD_TENET=0 bench/rest-run.sh
#
# Knobs [defaults]: ROUNDS [3]  DURATION [10]  LOADS [10] page loads  BUILD_TENET [1]
#   TENET_BIN [what scripts/build-release builds]  OUT [bench/results]
# Server pinned to CPU 0 (taskset), wrk to CPU 1; everything on 127.0.0.1.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
LOADS=${LOADS:-10}
BUILD_TENET=${BUILD_TENET:-1}
TENET_BIN=${TENET_BIN:-$("$ROOT/scripts/build-release" --path)}
OUT=${OUT:-$BENCH_DIR/results}
LUA=$BENCH_DIR/http/call.lua
VENV=$ROOT/target/interop/web

# shellcheck source=http/lib.sh
source "$BENCH_DIR/http/lib.sh"
ensure_wrk
if [[ $BUILD_TENET == 1 ]]; then
    log "building tenet (release)"
    "$ROOT/scripts/build-release" >/dev/null
fi
[[ -x $TENET_BIN ]] || { echo "$TENET_BIN does not exist" >&2; exit 1; }
if ! "$VENV/bin/python" -c 'import selenium' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check 'selenium==4.51.0'
fi

cmd() { [[ $2 == page ]] && echo "$TENET_BIN serve --transport http --port $3" || echo "$TENET_BIN serve --demo --transport http --port $3"; }
declare -A PORT=([tenet]=3060)
trap stop EXIT

mkdir -p "$OUT"
stamp=$(date +%Y-%m-%d-%H%M%S)
raw="$OUT/rest-$stamp.jsonl"
: >"$raw"
logs="$BENCH_DIR/target/rest-logs"
mkdir -p "$logs"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "rounds: $ROUNDS x ${DURATION}s; server on CPU 0, wrk on CPU 1; raw: $raw"
for ((round = 1; round <= ROUNDS; round++)); do
    start tenet demo "$logs/tenet-r$round.log" || exit 1
    WRK_CHECK=1 run_wrk tenet check-mcp 64 2 stateless 2026-07-28
    WRK_CHECK=1 run_wrk tenet check-rest 64 2 rest -
    round_order "$round" mcp rest
    log "round $round: ${order[*]}"
    for mode in "${order[@]}"; do
        m=$([[ $mode == mcp ]] && echo stateless || echo rest)
        run_wrk tenet "$mode-c64" 64 "$DURATION" "$m" 2026-07-28
        run_wrk tenet "$mode-c1" 1 "$DURATION" "$m" 2026-07-28
    done
    stop
done

log "the page's first load, $LOADS times"
start tenet page "$logs/tenet-page.log" || exit 1
page=$(timeout 300 "$VENV/bin/python" "$BENCH_DIR/rest/first_load.py" "http://127.0.0.1:${PORT[tenet]}" "$LOADS")
stop

md="$OUT/rest-$stamp.md"
{
    report_head "REST facade and web page benchmark"
    echo "- Rounds: $ROUNDS, ${DURATION} s per timed run, the two modes interleaved (order reversed every other round); cells are medians over rounds"
    echo "- Server pinned to CPU 0, \`taskset -c 1 wrk -t2 -c64\` (\`-t1 -c1\`) \`-s bench/http/call.lua\`: MCP is \`POST /mcp\` with the 2026-07-28 headers and \`_meta\` and a unique id per request; REST is \`POST /tools/echo\` with \`{\"text\":\"hello world\"}\`; every response of a 2 s check run per mode verified"
    echo "- Raw: \`$(basename "$raw")\`"
    echo
    PYTHONPATH="$BENCH_DIR/http" python3 - "$raw" <<'PY'
import sys
from runs import Runs
runs = Runs(sys.argv[1])
med, bad = runs.med, runs.bad()
print("| conns | MCP stateless req/s | REST req/s | REST / MCP | MCP p50 / p99 µs | REST p50 / p99 µs |")
print("|---|---|---|---|---|---|")
for c in ("c64", "c1"):
    m, r = med(f"mcp-{c}", "rps"), med(f"rest-{c}", "rps")
    print(f"| {c[1:]} | {m:,.0f} | {r:,.0f} | **{(r / m * 100 if m else 0):.0f} %** | "
          f"{med(f'mcp-{c}', 'p50_us'):.0f} / {med(f'mcp-{c}', 'p99_us'):.0f} | {med(f'rest-{c}', 'p50_us'):.0f} / {med(f'rest-{c}', 'p99_us'):.0f} |")
print()
print(f"Responses that were not 200 or did not echo the text, over every run: {bad}.")
PY
    echo
    echo "## The web page's first load"
    echo
    echo "$page"
} >"$md"
cat "$md"
log "wrote $md"
