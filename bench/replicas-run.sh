#!/usr/bin/env bash
# Replicas benchmark: what sharing state on Redis costs one replica, in one run.
#
# One `tenet serve --demo --transport http` on CPU 0, with its state in memory or with
# `--store-url` (a real redis-server, on CPU 1 with the load): a stateless 2026-07-28
# `tools/call echo` (bench/http/call.lua) and a legacy-session one (2025-11-25, one
# session), at 64 connections (throughput) and 1 (p50/p99); rounds interleaved, the order
# reversed every other round, medians. And the Redis commands each kind of request costs,
# from `INFO commandstats` before and after a counted run (the store's once-a-second
# health check, a TIME, which also keeps the replica dated by Redis's clock, counted apart). Then the time from a replica's death to a stream
# resumed on another (bench/replicas/resume.py): a finished call's stream, RESUME_ROUNDS - 1
# times, and one call cut off by the death.
#
#   bench/replicas-run.sh                  # builds, ROUNDS=3
#   ROUNDS=5 DURATION=10 BUILD_TENET=0 bench/replicas-run.sh
#
# Knobs [defaults]: ROUNDS [3]  DURATION [10] s per wrk run  BUILD_TENET [1]  OUT [bench/results]
#                   RESUME_ROUNDS [6]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
RESUME_ROUNDS=${RESUME_ROUNDS:-6}
BUILD_TENET=${BUILD_TENET:-1}
OUT=${OUT:-$BENCH_DIR/results}
TENET_BIN=${TENET_BIN:-$("$ROOT/scripts/build-release" --path)}
LUA=$BENCH_DIR/http/call.lua
HTTP=$BENCH_DIR/http

# shellcheck source=http/lib.sh
source "$BENCH_DIR/http/lib.sh"
ensure_wrk
command -v redis-server >/dev/null || { echo "redis-server is required (apt-get install redis-server)" >&2; exit 1; }
if [[ $BUILD_TENET == 1 ]]; then
    log "building tenet (release)"
    "$ROOT/scripts/build-release" >/dev/null
fi
logs=$BENCH_DIR/target/replicas-logs
mkdir -p "$logs" "$OUT"
export XDG_STATE_HOME=$logs/state
REDIS_PORT=3399
taskset -c 1 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$logs/redis.log" 2>&1 &
REDIS_PID=$!
trap 'stop; kill "$REDIS_PID" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done

declare -A PORT=([memory]=3300 [redis]=3301)
cmd() { # cmd <peer> <mode> <port>
    local store=()
    [[ $1 == redis ]] && store=(--store-url "redis://127.0.0.1:$REDIS_PORT/0" --state-secret "benchmark-replicas-secret")
    echo "$TENET_BIN serve --demo --transport http --host 127.0.0.1 --port $3 --log-level warn ${store[*]}"
}

stamp=$(date +%Y-%m-%d-%H%M%S)
raw="$OUT/replicas-$stamp.jsonl"
: >"$raw"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
for ((round = 1; round <= ROUNDS; round++)); do
    log "round $round/$ROUNDS"
    round_order "$round" memory redis
    for p in "${order[@]}"; do
        start "$p" both "$logs/$p-r$round.log" || exit 1
        WRK_CHECK=1 run_wrk "$p" check 64 2 stateless 2026-07-28
        run_wrk "$p" stateless-c64 64 "$DURATION" stateless 2026-07-28
        run_wrk "$p" stateless-c1 1 "$DURATION" stateless 2026-07-28
        sid=$(timeout 20 python3 "$HTTP/sessions.py" open "${PORT[$p]}")
        WRK_CHECK=1 run_wrk "$p" check-legacy 64 2 legacy 2025-11-25 "$sid"
        run_wrk "$p" legacy-c64 64 "$DURATION" legacy 2025-11-25 "$sid"
        run_wrk "$p" legacy-c1 1 "$DURATION" legacy 2025-11-25 "$sid"
        stop
    done
done

log "Redis commands per request"
start redis both "$logs/commands.log"
sid=$(timeout 20 python3 "$HTTP/sessions.py" open "${PORT[redis]}")
for kind in stateless legacy idle; do
    python3 "$BENCH_DIR/replicas/commands.py" snapshot "$REDIS_PORT" >"$logs/before.json"
    case $kind in
        stateless) line=$(taskset -c 1 wrk -t1 -c4 -d3s -s "$LUA" "http://127.0.0.1:${PORT[redis]}/mcp" -- stateless 2026-07-28 | grep '^{"requests"') ;;
        legacy) line=$(taskset -c 1 wrk -t1 -c4 -d3s -s "$LUA" "http://127.0.0.1:${PORT[redis]}/mcp" -- legacy 2025-11-25 "$sid" | grep '^{"requests"') ;;
        idle) sleep 3; line='{"requests":0}' ;;
    esac
    commands=$(python3 "$BENCH_DIR/replicas/commands.py" diff "$REDIS_PORT" "$logs/before.json")
    echo "{\"round\":0,\"peer\":\"redis\",\"test\":\"commands-$kind\",\"commands\":$commands,${line#\{}" >>"$raw"
    log "   $kind: $commands over $(grep -o '"requests":[0-9]*' <<<"$line")"
done
stop

log "a replica's death to a resumed stream"
python3 "$BENCH_DIR/replicas/resume.py" "$TENET_BIN" "redis://127.0.0.1:$REDIS_PORT/0" "$RESUME_ROUNDS" \
    "${PORT[redis]}" $((PORT[redis] + 1)) | tee -a "$raw" >&2

md=${raw%.jsonl}.md
python3 "$BENCH_DIR/replicas/report.py" "$raw" "$load_at_start" "$(cut -d' ' -f1-3 /proc/loadavg)" >"$md"
log "results: $md"
cat "$md"
