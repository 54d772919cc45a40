#!/usr/bin/env bash
# What exporting traces costs: the same stateless `tools/call` (wrk, 64 connections and
# 1) against one `tenet serve --demo --transport http` with traces off, sampled at 1 %
# (parentbased_traceidratio 0.01: requests carry no traceparent, so 1 % of them start
# a recorded trace) and at 100 % (always_on), exporting over OTLP/HTTP to a stand-in
# collector on loopback (bench/traces/collector.py). The three interleaved round by
# round (order reversed every other round), medians reported.
#
#   bench/traces-run.sh                       # builds tenet (release), 3 rounds of 10 s
#   ROUNDS=5 DURATION=10 BUILD_TENET=0 bench/traces-run.sh
#
# Knobs [defaults]: ROUNDS [3]  DURATION [10]  BUILD_TENET [1]
#   TENET_BIN [what scripts/build-release builds]  OUT [bench/results]
# Server pinned to CPU 0 (taskset); wrk and the collector to CPU 1; all on 127.0.0.1.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
BUILD_TENET=${BUILD_TENET:-1}
TENET_BIN=${TENET_BIN:-$("$ROOT/scripts/build-release" --path)}
OUT=${OUT:-$BENCH_DIR/results}
LUA=$BENCH_DIR/http/call.lua
COLLECTOR_PORT=4318

# shellcheck source=http/lib.sh
source "$BENCH_DIR/http/lib.sh"
ensure_wrk
if [[ $BUILD_TENET == 1 ]]; then
    log "building tenet (release)"
    "$ROOT/scripts/build-release" >/dev/null
fi
[[ -x $TENET_BIN ]] || { echo "$TENET_BIN does not exist" >&2; exit 1; }

cmd() {
    local otel=""
    case $2 in
    off) otel="" ;;
    one) otel="OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.01" ;;
    all) otel="OTEL_TRACES_SAMPLER=always_on" ;;
    esac
    [[ $2 == off ]] || otel="$otel OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$COLLECTOR_PORT"
    echo "env $otel $TENET_BIN serve --demo --transport http --port $3"
}
declare -A PORT=([tenet]=3061)
COLLECTOR_PID=""
cleanup() { stop; [[ -z $COLLECTOR_PID ]] || kill "$COLLECTOR_PID" 2>/dev/null || true; }
trap cleanup EXIT

taskset -c 1 python3 "$BENCH_DIR/traces/collector.py" "$COLLECTOR_PORT" &
COLLECTOR_PID=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$COLLECTOR_PORT") 2>/dev/null && break; sleep 0.1; done

mkdir -p "$OUT"
stamp=$(date +%Y-%m-%d-%H%M%S)
raw="$OUT/traces-$stamp.jsonl"
: >"$raw"
logs="$BENCH_DIR/target/traces-logs"
mkdir -p "$logs"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "rounds: $ROUNDS x ${DURATION}s; server on CPU 0, wrk and the collector on CPU 1; raw: $raw"
for ((round = 1; round <= ROUNDS; round++)); do
    round_order "$round" off one all
    log "round $round: ${order[*]}"
    for mode in "${order[@]}"; do
        start tenet "$mode" "$logs/tenet-$mode-r$round.log" || exit 1
        WRK_CHECK=1 run_wrk tenet "check-$mode" 64 2 stateless 2026-07-28
        run_wrk tenet "$mode-c64" 64 "$DURATION" stateless 2026-07-28
        run_wrk tenet "$mode-c1" 1 "$DURATION" stateless 2026-07-28
        stop
    done
done
collected=$(curl -s "http://127.0.0.1:$COLLECTOR_PORT/")

md="$OUT/traces-$stamp.md"
{
    report_head "Traces benchmark"
    echo "- Rounds: $ROUNDS, ${DURATION} s per timed run, the three settings interleaved (order reversed every other round), a fresh server for each; cells are medians over rounds"
    echo "- Off: no OTEL_* variables. 1 %: \`OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.01\`. 100 %: \`OTEL_TRACES_SAMPLER=always_on\`. Both export to \`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$COLLECTOR_PORT\` (OTLP/HTTP protobuf, the SDK's default batching)"
    echo "- Load: \`taskset -c 1 wrk\` with \`bench/http/call.lua\` in stateless mode (\`POST /mcp\`, 2026-07-28, \`echo\`), no traceparent; the collector received $collected"
    echo "- Raw: \`$(basename "$raw")\`"
    echo
    PYTHONPATH="$BENCH_DIR/http" python3 - "$raw" <<'PY'
import sys
from runs import Runs
runs = Runs(sys.argv[1])
med, bad = runs.med, runs.bad()
print("| conns | off req/s | 1 % req/s | cost at 1 % | 100 % req/s | cost at 100 % | p50 / p99 µs (off, 1 %, 100 %) |")
print("|---|---|---|---|---|---|---|")
for c in ("c64", "c1"):
    off, one, full = (med(f"{m}-{c}", "rps") for m in ("off", "one", "all"))
    cost = lambda x: (1 - x / off) * 100 if off else 0
    lat = ", ".join(f"{med(f'{m}-{c}', 'p50_us'):.0f} / {med(f'{m}-{c}', 'p99_us'):.0f}" for m in ("off", "one", "all"))
    print(f"| {c[1:]} | {off:,.0f} | {one:,.0f} | **{cost(one):.1f} %** | {full:,.0f} | **{cost(full):.1f} %** | {lat} |")
print()
print(f"Responses that were not 200 or did not echo the text, over every run: {bad}.")
PY
} >"$md"
cat "$md"
log "wrote $md"
