#!/usr/bin/env bash
# What one call costs the process on CPU 0, in user and system time, over HTTP: the
# upstream alone (`direct`), the byte relay in front of it (`relay`), or Tenet's gateway
# in front of it (`tenet`). The upstream (`tenet serve --demo`) and wrk share CPU 1, as
# in bench/gateway-run.sh. CPU time is read from /proc/<pid>/stat before and after one
# wrk run, so it says whether CPU 0 or CPU 1 is what limits a row.
#
#   bench/gateway-cpu.sh direct relay tenet      # each once, in that order
#   ROUNDS=3 C=64 D=6 bench/gateway-cpu.sh tenet relay
#
# Needs a release build of tenet (scripts/build-release) and, for `relay`,
# bench/target/release/ceiling-http (`cargo build --release -p ceiling-http` in bench/).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
TENET_BIN=${TENET_BIN:-$("$ROOT/scripts/build-release" --path)}
ROUNDS=${ROUNDS:-1}
C=${C:-64}
D=${D:-6}
PORT=3091
UP_PORT=3099
# shellcheck source=http/lib.sh
source "$BENCH_DIR/http/lib.sh"
ensure_wrk

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=(); }
trap cleanup EXIT

listening() { # listening <port>: waits until the port accepts (5 s at most)
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    log "nothing listens on $1"; return 1
}

ticks() { awk '{print $14 + 0, $15 + 0}' "/proc/$1/stat"; } # utime stime, in clock ticks

measure() { # measure <who>
    local who=$1 front up=""
    if [[ $who == direct ]]; then
        taskset -c 0 "$TENET_BIN" serve --demo --transport http --port "$PORT" --log-level error &
        front=$!; pids+=("$front")
    else
        taskset -c 1 "$TENET_BIN" serve --demo --transport http --port "$UP_PORT" --log-level error &
        up=$!; pids+=("$up")
        listening "$UP_PORT"
        if [[ $who == relay ]]; then
            taskset -c 0 "$BENCH_DIR/target/release/ceiling-http" "$PORT" "http://127.0.0.1:$UP_PORT" &
        else
            taskset -c 0 "$TENET_BIN" serve --log-level error --transport http --port "$PORT" --prefixless \
                --no-local-tools --upstream "up=http://127.0.0.1:$UP_PORT/mcp" &
        fi
        front=$!; pids+=("$front")
    fi
    listening "$PORT"
    [[ $who == tenet ]] && until curl -sf -o /dev/null "http://127.0.0.1:$PORT/ready"; do sleep 0.1; done
    local sid
    sid=$(timeout 30 python3 "$BENCH_DIR/http/sessions.py" open "$PORT")
    local before up_before="0 0" after up_after="0 0" out requests
    before=$(ticks "$front"); [[ -n $up ]] && up_before=$(ticks "$up")
    out=$(taskset -c 1 wrk -t1 -c"$C" -d"${D}s" -s "$BENCH_DIR/http/call.lua" "http://127.0.0.1:$PORT/mcp" \
        -- legacy 2025-06-18 "$sid" 2>&1 | tail -1)
    after=$(ticks "$front"); [[ -n $up ]] && up_after=$(ticks "$up")
    requests=$(grep -o '"requests":[0-9]*' <<<"$out" | cut -d: -f2)
    python3 - "$who" "$requests" "$D" "$(getconf CLK_TCK)" "$before" "$after" "$up_before" "$up_after" <<'EOF'
import sys
who, n, d, tck = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
(u0, s0), (u1, s1), (uu0, us0), (uu1, us1) = (map(int, a.split()) for a in sys.argv[5:9])
per = lambda t: round((t) * 1e6 / tck / n, 1)
print(f"{who:7s} {n / d:9.0f} req/s   CPU 0: user {per(u1 - u0):5.1f} µs/call, system {per(s1 - s0):5.1f}"
      f"   upstream (CPU 1): user {per(uu1 - uu0):5.1f}, system {per(us1 - us0):5.1f}")
EOF
    cleanup
}

for _ in $(seq "$ROUNDS"); do
    for who in "$@"; do measure "$who"; done
done
