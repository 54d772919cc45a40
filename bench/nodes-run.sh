#!/usr/bin/env bash
# Node network benchmark, three measurements in one run:
#
# 1. What a hop adds to a `tools/call`: a client of node A calls `b__echo`, a tool of
#    its peer B (one hop), or `m__c__echo`, a tool of C that A reaches through M, which
#    re-exports it (two hops); against calling B's (or C's) `echo` directly. wrk with
#    bench/http/call.lua in the 2026-07-28 era, 1 connection (p50/p99) and 64
#    (throughput); rounds interleaved, the order reversed every other round, medians.
#    Placement: the relaying nodes (A, M) on CPU 0; the tool's node and the load on CPU 1;
#    for a direct row the tool's node is moved to CPU 0 (taskset), as in the other
#    benchmarks.
# 2. What heartbeats cost at idle: node A with IDLE_PEERS peers (heartbeat 1 s, and the
#    default 15 s) against a node with none, over IDLE seconds: A's CPU time (every
#    thread's, from /proc/PID/task/*/schedstat, in ns) and the TCP bytes its connections
#    send and receive (the kernel's counters, bench/nodes/tcp_bytes.py), per peer per
#    minute; and the CPU time each peer spends answering.
# 3. How soon a client hears that a peer died: bench/nodes/death.py (the Python SDK client
#    on A, a legacy session): the peer killed (DEATHS rounds) or hung with SIGSTOP (HANGS
#    rounds); from then to `tools/list_changed` at the client (heartbeat 1 s, 3 misses).
#
#   bench/nodes-run.sh                          # builds, ROUNDS=3
#   ROUNDS=5 DURATION=10 IDLE=60 bench/nodes-run.sh
#
# Knobs [defaults]: ROUNDS [3]  DURATION [10] s per wrk run  IDLE [30] s per idle window
#   IDLE_PEERS [4]  DEATHS [5]  HANGS [3]  BUILD_TENET [1]  OUT [bench/results]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
IDLE=${IDLE:-30}
IDLE_PEERS=${IDLE_PEERS:-4}
DEATHS=${DEATHS:-5}
HANGS=${HANGS:-3}
BUILD_TENET=${BUILD_TENET:-1}
OUT=${OUT:-$BENCH_DIR/results}
TENET_BIN=${TENET_BIN:-$("$ROOT/scripts/build-release" --path)}
LUA=$BENCH_DIR/http/call.lua
VENV=$ROOT/target/interop/py

# shellcheck source=http/lib.sh
source "$BENCH_DIR/http/lib.sh"
ensure_wrk
if [[ $BUILD_TENET == 1 ]]; then
    log "building tenet (release)"
    "$ROOT/scripts/build-release" >/dev/null
fi
if ! "$VENV/bin/python" -c 'import mcp' 2>/dev/null; then
    log "installing the Python SDK into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check 'mcp==2.3.0'
fi

logs=$BENCH_DIR/target/nodes-logs
mkdir -p "$logs" "$OUT"
export XDG_STATE_HOME=$logs/state
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

declare -A PID
# node NAME CPU PORT ARGS...: `tenet serve --transport http` as node NAME, pinned to CPU,
# until it listens.
node() {
    local name=$1 cpu=$2 port=$3
    shift 3
    taskset -c "$cpu" "$TENET_BIN" serve --transport http --host 127.0.0.1 --port "$port" --node-id "$name" \
        --log-level warn "$@" >"$logs/$name.log" 2>&1 &
    PID[$name]=$!
    PIDS+=($!)
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.05
    done
    log "node $name did not listen on $port: $(tail -3 "$logs/$name.log")"
    exit 1
}
# listed URL TOOL: waits (30 s at most) until the node at URL lists TOOL.
listed() {
    for _ in $(seq 300); do
        "$TENET_BIN" tools "$1" 2>/dev/null | grep -q "^$2 " && return 0
        sleep 0.1
    done
    log "$1 never listed $2"
    exit 1
}
url() { echo "http://127.0.0.1:$1/mcp"; }

stamp=$(date +%Y-%m-%d-%H%M%S)
raw="$OUT/nodes-$stamp.jsonl"
: >"$raw"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- 1. hops
log "1. what a hop adds"
node b 1 3211 --demo
node c 1 3212 --demo
node a 0 3210 --no-local-tools --peer "$(url 3211)"
node m 0 3213 --no-local-tools --reexport --peer "$(url 3212)"
node a2 0 3214 --no-local-tools --peer "$(url 3213)"
listed "$(url 3210)" b__echo
listed "$(url 3214)" m__c__echo
# row: name, port, tool, the tool node to move to CPU 0 for a direct row (or "-")
rows=("direct-b 3211 echo b" "one-hop 3210 b__echo -" "direct-c 3212 echo c" "two-hops 3214 m__c__echo -")
wrk_row() { # wrk_row ROW TEST CONNS SECS CHECK
    local name port tool direct t=2 line
    read -r name port tool direct <<<"$1"
    (($3 < 2)) && t=1
    line=$(WRK_TOOL=$tool WRK_CHECK=$5 timeout $(($4 + 30)) taskset -c 1 wrk -t"$t" -c"$3" -d"$4s" --timeout 5s \
        -s "$LUA" "http://127.0.0.1:$port/mcp" -- stateless 2026-07-28 | grep '^{"requests"' || true)
    [[ -n $line ]] || line='{"requests":0,"failed":true}'
    echo "{\"part\":\"hops\",\"round\":$round,\"row\":\"$name\",\"test\":\"$2\",${line#\{}" >>"$raw"
    printf '   %-9s %-5s %s\n' "$name" "$2" \
        "$(grep -o '"rps":[0-9.]*\|"p50_us":[0-9]*\|"p99_us":[0-9]*\|"non2xx":[0-9]*\|"bad":[0-9]*' <<<"$line" | tr '\n' ' ')" >&2
}
for ((round = 1; round <= ROUNDS; round++)); do
    round_order "$round" "${rows[@]}"
    for row in "${order[@]}"; do
        read -r _ _ _ direct <<<"$row"
        [[ $direct == - ]] || taskset -a -p -c 0 "${PID[$direct]}" >/dev/null
        wrk_row "$row" check 64 2 1
        wrk_row "$row" c1 1 "$DURATION" 0
        wrk_row "$row" c64 64 "$DURATION" 0
        [[ $direct == - ]] || taskset -a -p -c 1 "${PID[$direct]}" >/dev/null
    done
done
cleanup
PIDS=()

# ---------------------------------------------------------------- 2. idle heartbeats
log "2. heartbeats at idle ($IDLE_PEERS peers, $IDLE s windows)"
cpu_ns() { # every thread's CPU time, ns
    local sum=0 t
    for t in /proc/"$1"/task/*/schedstat; do sum=$((sum + $(cut -d' ' -f1 "$t"))); done
    echo "$sum"
}
for hb in 1 15; do
    peers=()
    for ((i = 0; i < IDLE_PEERS; i++)); do
        node "p$i" 1 $((3220 + i)) --demo
        peers+=(--peer "$(url $((3220 + i)))")
    done
    node watcher 0 3230 --demo --heartbeat "$hb" "${peers[@]}"
    node alone 0 3231 --demo --heartbeat "$hb"
    listed "$(url 3230)" "p$((IDLE_PEERS - 1))__echo"
    sleep 3
    declare -A cpu0
    for n in watcher alone $(seq -f 'p%g' 0 $((IDLE_PEERS - 1))); do
        cpu0[$n]=$(cpu_ns "${PID[$n]}")
        python3 "$BENCH_DIR/nodes/tcp_bytes.py" "${PID[$n]}" >"$logs/tcp-$n.json"
    done
    sleep "$IDLE"
    for n in watcher alone $(seq -f 'p%g' 0 $((IDLE_PEERS - 1))); do
        tcp=$(python3 "$BENCH_DIR/nodes/tcp_bytes.py" "${PID[$n]}" "$logs/tcp-$n.json")
        echo "{\"part\":\"idle\",\"heartbeat_s\":$hb,\"peers\":$IDLE_PEERS,\"window_s\":$IDLE,\"node\":\"$n\",\"cpu_ns\":$(($(cpu_ns "${PID[$n]}") - cpu0[$n])),\"tcp\":$tcp}" >>"$raw"
    done
    log "   heartbeat ${hb}s: $(grep "\"heartbeat_s\":$hb," "$raw" | head -1)"
    cleanup
    PIDS=()
done

# ---------------------------------------------------------------- 3. death to list_changed
log "3. from a peer's death to list_changed at A's client"
node a 0 3240 --demo --heartbeat 1 --peer "$(url 3241)"
peer=(taskset -c 1 "$TENET_BIN" serve --demo --transport http --host 127.0.0.1 --port 3241 --node-id d --log-level warn)
"$VENV/bin/python" "$BENCH_DIR/nodes/death.py" "$(url 3240)" d__echo "$DEATHS" kill -- "${peer[@]}" |
    sed 's/^{/{"part":"death",/' | tee -a "$raw" >&2
"$VENV/bin/python" "$BENCH_DIR/nodes/death.py" "$(url 3240)" d__echo "$HANGS" hang -- "${peer[@]}" |
    sed 's/^{/{"part":"death",/' | tee -a "$raw" >&2
cleanup

md=${raw%.jsonl}.md
python3 "$BENCH_DIR/nodes/report.py" "$raw" "$load_at_start" "$(cut -d' ' -f1-3 /proc/loadavg)" >"$md"
log "results: $md"
cat "$md"
