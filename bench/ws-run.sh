#!/usr/bin/env bash
# WebSocket benchmark: Tenet's MCP-over-WebSocket transport against Tenet's own stdio,
# measured side by side in one run, interleaved round by round, medians reported.
#
#   bench/ws-run.sh                     # builds, then 3 rounds (~1-2 min after the builds)
#   BUILD_TENET=0 TENET_BIN=/path/to/tenet bench/ws-run.sh
#
# Per round (order of stdio / ws reversed every other round):
#   1. for N in COUNTS: `pipelined N` over stdio (`tenet serve --demo`) and `ws-pipelined N`
#      over one WebSocket (`tenet serve --demo --transport http`, ws://127.0.0.1:PORT/mcp,
#      subprotocol mcp): one thread writes N pre-encoded `tools/call echo` messages while
#      another reads; every id counted once, ~100 responses parsed in full; req/s.
#   2. RSS per idle socket: a fresh server, 16 warm-up sockets, VmRSS, SOCKETS more sockets
#      (each upgrade + initialize + notifications/initialized + a ping answered), 1 s idle,
#      VmRSS again; (after - before) / SOCKETS. Then, for comparison, the same for SOCKETS
#      idle legacy Streamable HTTP sessions (bench/http/sessions.py, as bench/http-run.sh).
# The server is pinned to CPU 0, the driver to CPU 1; every run is bounded (TIMEOUT).
#
# Knobs [defaults]: ROUNDS [3]  COUNTS ["20000 100000"]  SOCKETS [1000]  PORT [3080]
#   TIMEOUT [60] seconds per run  LEGACY [1] (also the legacy-session RSS)
#   BUILD_TENET [1]  TENET_BIN [what scripts/build-release builds]  OUT [bench/results]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
ROUNDS=${ROUNDS:-3}
COUNTS=${COUNTS:-"20000 100000"}
SOCKETS=${SOCKETS:-1000}
PORT=${PORT:-3080}
TIMEOUT=${TIMEOUT:-60}
LEGACY=${LEGACY:-1}
BUILD_TENET=${BUILD_TENET:-1}
TENET_BIN=${TENET_BIN:-$("$ROOT/scripts/build-release" --path)}
OUT=${OUT:-$BENCH_DIR/results}
BIN=$BENCH_DIR/target/release

# shellcheck source=http/lib.sh
source "$BENCH_DIR/http/lib.sh"

build_driver_and_tenet
if (($(nproc) >= 2)); then
    pin=(--server-cpu 0 --driver-cpu 1) pinning="server on CPU 0, driver on CPU 1"
    tpin_server=(taskset -c 0) tpin_client=(taskset -c 1)
else
    pin=() pinning="not pinned (fewer than 2 CPUs)" tpin_server=() tpin_client=()
fi

STDIO=("$TENET_BIN" serve --demo)
WS=("$TENET_BIN" serve --demo --transport http --port "$PORT")

# Probes: both transports answer before anything is measured.
"$BIN/mcp-bench" --timeout 10 pipelined 100 -- "${STDIO[@]}" 2>/dev/null | grep -q '"ok":true' ||
    { echo "$TENET_BIN serve --demo: 100 stdio calls failed" >&2; exit 1; }
"$BIN/mcp-bench" --timeout 10 --port "$PORT" ws-pipelined 100 -- "${WS[@]}" 2>/dev/null | grep -q '"ok":true' ||
    { echo "${WS[*]}: 100 WebSocket calls failed (run it by hand: mcp-bench --stderr --port $PORT ws-pipelined 100 -- ...)" >&2; exit 1; }

mkdir -p "$OUT"
stamp=$(date +%Y-%m-%d-%H%M%S)
raw="$OUT/ws-$stamp.jsonl"
md="$OUT/ws-$stamp.md"
: >"$raw"
tag() { sed "s/^{/{\"round\":$1,/"; } # prefix each JSON line with its round

run() { # run <round> <label> <scenario> <count> <timeout> [driver options...]; the server is ${CMD[@]}
    local r=$1 label=$2 sc=$3 n=$4 t=$5
    shift 5
    printf 'round %d  ' "$r" >&2
    "$BIN/mcp-bench" "${pin[@]}" --label "$label" --timeout "$t" "$@" "$sc" "$n" -- "${CMD[@]}" | tag "$r" >>"$raw" ||
        log "driver failed for $label $sc $n"
}

legacy_idle() { # legacy_idle <round>: SOCKETS idle legacy sessions, VmRSS before/after
    local r=$1 pid line
    "${tpin_server[@]}" "${WS[@]}" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
    if line=$(timeout 120 "${tpin_client[@]}" python3 "$BENCH_DIR/http/sessions.py" rss "$PORT" "$pid" "$SOCKETS"); then
        echo "{\"round\":$r,\"label\":\"legacy-http\",\"scenario\":\"http-idle\",\"ok\":true,${line#\{}" >>"$raw"
        printf 'round %d  legacy-http idle   %s\n' "$r" "$line" >&2
    else
        echo "{\"round\":$r,\"label\":\"legacy-http\",\"scenario\":\"http-idle\",\"ok\":false}" >>"$raw"
        log "legacy sessions failed in round $r"
    fi
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "rounds: $ROUNDS; counts: $COUNTS; $SOCKETS idle sockets; $pinning; raw: $raw"
for ((round = 1; round <= ROUNDS; round++)); do
    order=(stdio ws)
    ((round % 2 == 0)) && order=(ws stdio)
    for n in $COUNTS; do
        for t in "${order[@]}"; do
            if [[ $t == stdio ]]; then
                CMD=("${STDIO[@]}")
                run "$round" stdio pipelined "$n" "$TIMEOUT"
            else
                CMD=("${WS[@]}")
                run "$round" ws ws-pipelined "$n" "$TIMEOUT" --port "$PORT"
            fi
        done
    done
    for t in "${order[@]}"; do
        if [[ $t == ws ]]; then
            CMD=("${WS[@]}")
            run "$round" ws ws-idle "$SOCKETS" 120 --port "$PORT" --idle 20
        elif [[ $LEGACY == 1 ]]; then
            legacy_idle "$round"
        fi
    done
done

{
    echo "# WebSocket benchmark, $(date '+%Y-%m-%d %H:%M %Z')"
    echo
    echo "- Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), Linux $(uname -r)"
    echo "- Tenet: \`$TENET_BIN\`$(date -r "$TENET_BIN" '+, built %Y-%m-%d %H:%M'); repository HEAD $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)${TENET_NOTE:+; $TENET_NOTE}"
    echo "- Load average at start: $load_at_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- Rounds: $ROUNDS, interleaved (stdio/ws order reversed every other round); cells are medians over rounds"
    echo "- Pinning: $pinning; per-run timeout ${TIMEOUT} s (idle sockets: 120 s)"
    echo "- stdio: \`tenet serve --demo\`; ws: \`tenet serve --demo --transport http --port $PORT\`, \`ws://127.0.0.1:$PORT/mcp\`, subprotocol \`mcp\`, one socket"
    echo "- Raw: \`$(basename "$raw")\` (one JSON line per run)"
    echo
    python3 "$BENCH_DIR/ws/report.py" "$raw"
} >"$md"
cat "$md"
log "wrote $md"
