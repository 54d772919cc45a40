#!/usr/bin/env bash
# User-space instructions per HTTP request, counted by callgrind: a number that
# stays put on a noisy machine (wall-clock req/s does not), for Tenet and its peers.
#
#   bench/http-instructions.sh                      # tenet rmcp ceiling, stateless and legacy
#   PEERS="tenet ceiling" MODES=stateless SECS=2 bench/http-instructions.sh
#
# Knobs [defaults]: PEERS [tenet rmcp ceiling]  MODES [stateless legacy]  SECS [4]
#   TENET_BIN [what scripts/build-release builds]
# Each server runs under valgrind on CPU 0 with instrumentation off; after a 2 s
# warm-up (wrk -c8 on CPU 1), instrumentation is switched on for SECS seconds of
# load and off again. Instructions counted / requests answered in that window is
# the figure; kernel time (syscalls) is not in it. Build with line tables
# (CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_RELEASE_STRIP=false)
# and read the .out files with callgrind_annotate to see where the work goes.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
PEERS=${PEERS:-"tenet rmcp ceiling"}
MODES=${MODES:-"stateless legacy"}
SECS=${SECS:-4}
TENET_BIN=${TENET_BIN:-$("$ROOT/scripts/build-release" --path)}
BIN=$BENCH_DIR/target/release
OUT=$BENCH_DIR/target/callgrind
LUA=$BENCH_DIR/http/call.lua
PORT=3070
mkdir -p "$OUT"
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install -y valgrind)" >&2; exit 1; }
(cd "$BENCH_DIR" && cargo build --release --quiet -p rmcp-http -p ceiling-http)

cmd() { # cmd <peer> <mode>
    case $1 in
    tenet) echo "$TENET_BIN serve --demo --transport http --port $PORT" ;;
    rmcp) echo "$BIN/rmcp-http $PORT $([[ $2 == legacy ]] && echo session || echo stateless)" ;;
    ceiling) echo "$BIN/ceiling-http $PORT" ;;
    *) echo "unknown peer: $1" >&2; exit 2 ;;
    esac
}

PID=""
cleanup() {
    if [[ -n $PID ]]; then
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    PID=""
}
trap cleanup EXIT

printf '%-8s %-10s %10s %14s %12s\n' peer mode requests instructions "per request"
for mode in $MODES; do
    for peer in $PEERS; do
        [[ $mode == legacy && $peer == ceiling ]] && continue
        out=$OUT/$peer-$mode.out
        # shellcheck disable=SC2046
        taskset -c 0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
            $(cmd "$peer" "$mode") >"$OUT/$peer-$mode.log" 2>&1 &
        PID=$!
        for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
        version=2026-07-28 session=-
        if [[ $mode == legacy ]]; then
            version=2025-11-25
            session=$(timeout 60 python3 "$BENCH_DIR/http/sessions.py" open "$PORT")
        fi
        load() { timeout $(($1 + 30)) taskset -c 1 wrk -t1 -c8 -d"$1s" --timeout 10s -s "$LUA" \
            "http://127.0.0.1:$PORT/mcp" -- "$mode" "$version" "$session"; }
        load 2 >/dev/null
        callgrind_control -i on "$PID" >/dev/null 2>&1
        requests=$(load "$SECS" | sed -n 's/^{"requests":\([0-9]*\),.*/\1/p')
        callgrind_control -i off "$PID" >/dev/null 2>&1
        cleanup
        total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done {gsub(",", "", $1); print $1; done = 1}')
        printf '%-8s %-10s %10s %14s %12s\n' "$peer" "$mode" "${requests:-0}" "${total:-0}" \
            "$(( ${requests:-0} > 0 ? ${total:-0} / requests : 0 ))"
    done
done
