#!/usr/bin/env bash
# Stdio benchmark: Tenet against rmcp (3.9.0, and the newest 3.x: 3.11.0) and a
# std-only ceiling, measured side by side in one run, interleaved round by round,
# medians reported.
#
#   bench/run.sh                      # everything (builds, then ~3 rounds)
#   ROUNDS=5 bench/run.sh             # more rounds
#   SERVERS="rmcp ceiling" bench/run.sh
#   BUILD_TENET=0 bench/run.sh        # reuse the binary scripts/build-release built
#
# Environment knobs (defaults in brackets):
#   ROUNDS [3]  TIMEOUT [60] seconds per run
#   SERVERS [tenet rmcp rmcp-pipes rmcp-latest-pipes ceiling] (also rmcp-latest: stdio())
#   SCENARIOS  [pipelined:20000 pipelined:100000 pipelined-ping:100000 eof:20000 eof:100000 latency:2000 coldstart:30 idle:5]
#   BUILD_TENET [1]  TENET_BIN [what scripts/build-release builds]  OUT [bench/results]
#   TENETS  more Tenet binaries as extra servers, "label=/path/to/tenet ..." (each run as
#           `<path> serve --demo`; name the labels in SERVERS), e.g. two builds side by side:
#           SERVERS="tenet-before tenet-after rmcp" TENETS="tenet-before=/a/tenet tenet-after=/b/tenet"
#   RATIOS  ratio columns, "a/b ..." [tenet/rmcp tenet/rmcp-pipes tenet/rmcp-latest-pipes
#           tenet/ceiling, of those measured]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
ROUNDS=${ROUNDS:-3}
TIMEOUT=${TIMEOUT:-60}
SERVERS=${SERVERS:-"tenet rmcp rmcp-pipes rmcp-latest-pipes ceiling"}
SCENARIOS=${SCENARIOS:-"pipelined:20000 pipelined:100000 pipelined-ping:100000 eof:20000 eof:100000 latency:2000 coldstart:30 idle:5"}
BUILD_TENET=${BUILD_TENET:-1}
TENET_BIN=${TENET_BIN:-$("$ROOT/scripts/build-release" --path)}
OUT=${OUT:-$BENCH_DIR/results}
TENETS=${TENETS:-}
RATIOS=${RATIOS:-}
BIN=$BENCH_DIR/target/release

# shellcheck source=http/lib.sh
source "$BENCH_DIR/http/lib.sh"

log "building the driver, the rmcp peers and the ceiling (release)"
(cd "$BENCH_DIR" && cargo build --release --quiet)
# rmcp-echo's source against the newest rmcp 3.x, in a workspace of its own.
(cd "$BENCH_DIR/rmcp-latest" && cargo build --release --quiet --bin rmcp-echo-latest)
LATEST=$BENCH_DIR/rmcp-latest/target/release

tenet_note=""
if [[ " $SERVERS " == *" tenet "* ]]; then
    if [[ $BUILD_TENET == 1 ]]; then
        log "building tenet (release)"
        if ! "$ROOT/scripts/build-release" >/dev/null; then
            tenet_note="scripts/build-release failed"
        fi
    fi
    # Probe: it must answer initialize over stdio within 10 s.
    if [[ -z $tenet_note && ! -x $TENET_BIN ]]; then
        tenet_note="$TENET_BIN does not exist"
    elif [[ -z $tenet_note ]] &&
        ! "$BIN/mcp-bench" --timeout 10 --exit-timeout 5 coldstart 1 -- "$TENET_BIN" serve --demo 2>/dev/null |
        grep -q '"ok":true'; then
        tenet_note="$TENET_BIN serve --demo did not answer initialize"
    fi
    if [[ -n $tenet_note ]]; then
        log "skipping tenet: $tenet_note"
        SERVERS=$(tr ' ' '\n' <<<"$SERVERS" | grep -vx tenet | tr '\n' ' ')
    fi
fi

declare -A CMD=(
    [tenet]="$TENET_BIN serve --demo"
    [rmcp]="$BIN/rmcp-echo"
    [rmcp-pipes]="$BIN/rmcp-echo pipes"
    [rmcp-latest]="$LATEST/rmcp-echo-latest"
    [rmcp-latest-pipes]="$LATEST/rmcp-echo-latest pipes"
    [ceiling]="$BIN/ceiling-stdio"
)
for t in $TENETS; do
    label=${t%%=*} bin=${t#*=}
    if [[ ! -x $bin ]] ||
        ! "$BIN/mcp-bench" --timeout 10 --exit-timeout 5 coldstart 1 -- "$bin" serve --demo 2>/dev/null |
        grep -q '"ok":true'; then
        echo "$label: $bin serve --demo does not answer initialize" >&2
        exit 1
    fi
    CMD[$label]="$bin serve --demo"
done
read -r -a servers <<<"$SERVERS"
for s in "${servers[@]}"; do
    [[ -n ${CMD[$s]:-} ]] || { echo "unknown server: $s" >&2; exit 2; }
done

# Server on core 0, driver on core 1 (the driver pins both itself and, before
# exec, the server: no taskset wrapper to skew RSS or cold start).
pin=()
if (($(nproc) >= 2)); then
    pin=(--server-cpu 0 --driver-cpu 1)
    pinning="server on CPU 0, driver on CPU 1"
else
    pinning="not pinned (fewer than 2 CPUs)"
fi

mkdir -p "$OUT"
stamp=$(date +%Y-%m-%d-%H%M%S)
raw="$OUT/stdio-$stamp.jsonl"
md="$OUT/stdio-$stamp.md"
: >"$raw"

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "rounds: $ROUNDS; servers: ${servers[*]}; $pinning; raw results: $raw"
for ((round = 1; round <= ROUNDS; round++)); do
    round_order "$round" "${servers[@]}"
    for sc in $SCENARIOS; do
        scenario=${sc%%:*} count=${sc##*:} method=()
        # pipelined-ping:N is the pipelined scenario with `ping` requests.
        if [[ $scenario == pipelined-ping ]]; then scenario=pipelined method=(--method ping); fi
        for s in "${order[@]}"; do
            read -r -a cmd <<<"${CMD[$s]}"
            printf 'round %d  ' "$round" >&2
            "$BIN/mcp-bench" "${pin[@]}" --label "$s" --timeout "$TIMEOUT" "${method[@]}" \
                "$scenario" "$count" -- "${cmd[@]}" >>"$raw" ||
                log "driver failed for $s $scenario $count"
        done
    done
done

ratios=()
[[ " ${servers[*]} " == *" tenet "* && " ${servers[*]} " == *" rmcp "* ]] && ratios+=(--ratio tenet/rmcp)
[[ " ${servers[*]} " == *" tenet "* && " ${servers[*]} " == *" rmcp-pipes "* ]] && ratios+=(--ratio tenet/rmcp-pipes)
[[ " ${servers[*]} " == *" tenet "* && " ${servers[*]} " == *" rmcp-latest-pipes "* ]] && ratios+=(--ratio tenet/rmcp-latest-pipes)
[[ " ${servers[*]} " == *" tenet "* && " ${servers[*]} " == *" ceiling "* ]] && ratios+=(--ratio tenet/ceiling)
if [[ -n $RATIOS ]]; then
    ratios=()
    for r in $RATIOS; do ratios+=(--ratio "$r"); done
fi
labels=$(tr ' ' ',' <<<"${servers[*]}")

{
    echo "# Stdio benchmark, $(date '+%Y-%m-%d %H:%M %Z')"
    echo
    echo "- Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), Linux $(uname -r)"
    echo "- Tenet: commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'none yet')$([[ -x $TENET_BIN ]] && date -r "$TENET_BIN" '+, binary built %Y-%m-%d %H:%M')${tenet_note:+ — not measured: $tenet_note}"
    for t in $TENETS; do
        echo "- \`${t%%=*}\`: \`${t#*=}\`$(date -r "${t#*=}" '+, binary built %Y-%m-%d %H:%M')"
    done
    echo "- Load average at start: $load_at_start (other work on the machine shows up in the tails)"
    echo "- Rounds: $ROUNDS, interleaved (order reversed every other round); each cell is the median of the valid rounds"
    echo "- Pinning: $pinning; per-run timeout ${TIMEOUT} s"
    echo "- Servers:"
    for s in "${servers[@]}"; do echo "  - \`$s\`: \`${CMD[$s]/#$ROOT\//}\`"; done
    echo "- Raw results: \`$(basename "$raw")\` (one JSON line per run)"
    echo
    "$BIN/mcp-bench" report --labels "$labels" "${ratios[@]}" "$raw"
    echo
    echo "How to read: ↑ higher is better, ↓ lower is better. Ratios are left / right"
    echo "(for ↑ rows above 1 is better for the left, for ↓ rows below 1 is). Absolute"
    echo "numbers drift between runs on this machine; compare within one table."
    echo "\`rmcp\` serves rmcp's documented \`transport::stdio()\`; \`rmcp-pipes\` its"
    echo "non-blocking \`stdio_pipes()\`. \`ceiling\` is a std-only read-parse-write loop."
} >"$md"

cat "$md"
log "wrote $md"
