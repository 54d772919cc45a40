#!/usr/bin/env bash
# Gateway benchmark: what a gateway adds to a `tools/call`, Tenet against FastMCP's
# proxy (PyPI fastmcp), mcp-proxy (PyPI) and supergateway (npm), each against calling
# the same upstream directly, all in one run, interleaved round by round (order
# reversed every other round), medians reported.
#
#   bench/gateway-run.sh                  # installs the peers, builds, 3 rounds
#   ROUNDS=5 DURATION=10 bench/gateway-run.sh
#
# The upstream is always `tenet serve --demo` (one cheap `echo` tool), so the gateway's
# own cost shows. Five setups, each with the peers that can run it:
#   stdio       client --stdio--> gateway --stdio--> upstream   direct tenet fastmcp relay
#   stdio-2026  the same, the client sending 2026-07-28 requests   direct tenet relay
#   front  client --HTTP---> gateway --stdio--> upstream   direct* tenet mcp-proxy supergateway fastmcp
#   http   client --HTTP---> gateway --HTTP---> upstream   direct tenet fastmcp relay
#   ws     client --HTTP---> gateway --WebSocket--> upstream  direct tenet
#          (the same upstream, reached at ws://…/mcp: one connection, calls multiplexed)
# `relay` is not a gateway but the floor under any HTTP one: `bench/http/ceiling-http <port> <upstream>`,
# hyper passing each request's bytes to the upstream and the answer back, nothing parsed.
# Over stdio it is `bench/ceiling-stdio relay <upstream>`: bytes copied both ways between
# two pipes, nothing read (the upstream then speaks the client's own era).
# (*) a stdio server has no HTTP endpoint to call directly: `front`'s direct row is the
# upstream serving HTTP itself, i.e. what the client would get without a bridge.
# Over stdio the load is bench's own driver (`mcp-bench latency` one call at a time,
# `mcp-bench pipelined`), in a 2025-11-25 session (`stdio`) or with 2026-07-28 requests
# (`stdio-2026`; Tenet's gateway reaches the upstream in 2026-07-28 in both); over HTTP
# it is wrk with bench/http/call.lua on one legacy
# session (every peer speaks it), 1 connection (latency) and 64 (throughput).
#
# Placement: the gateway on CPU 0; the upstream and the load on CPU 1. Direct rows: the
# upstream on CPU 0 and the load on CPU 1, as in the other benchmarks.
#
# Knobs [defaults]: ROUNDS [3]  DURATION [10] s per wrk run  LATENCY [2000] calls
#   PIPELINED [300000] calls (Tenet, direct and the relay: a run of a second or more, so that what the
#   gateway does while it starts does not count; the Python and Node peers get PEER_PIPELINED
#   [2000] so that a run ends within the watchdog)  SETUPS [stdio stdio-2026 front http ws]
#   PEERS [direct tenet fastmcp mcp-proxy supergateway relay]  BUILD_TENET [1]  OUT [bench/results]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
LATENCY=${LATENCY:-2000}
PIPELINED=${PIPELINED:-300000}
PEER_PIPELINED=${PEER_PIPELINED:-2000}
SETUPS=${SETUPS:-"stdio stdio-2026 front http ws"}
PEERS=${PEERS:-"direct tenet fastmcp mcp-proxy supergateway relay"}
BUILD_TENET=${BUILD_TENET:-1}
OUT=${OUT:-$BENCH_DIR/results}
TENET_BIN=${TENET_BIN:-$("$ROOT/scripts/build-release" --path)}
BIN=$BENCH_DIR/target/release
HTTP=$BENCH_DIR/http
GW=$BENCH_DIR/target/gw
LUA=$HTTP/call.lua
FASTMCP_VERSION=4.1.2
MCP_PROXY_VERSION=0.12.0
SUPERGATEWAY_VERSION=4.0.0

# shellcheck source=http/lib.sh
source "$HTTP/lib.sh"

# ---------------------------------------------------------------- install / build
ensure_wrk
build_driver_and_tenet
if [[ $BUILD_TENET != 1 ]] && (($(stat -c %Y "$TENET_BIN") < $(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 0))); then
    log "warning: BUILD_TENET=0 and $TENET_BIN was built before HEAD's commit: the run may measure an older build"
fi
mkdir -p "$GW"
wants() { [[ " $PEERS " == *" $1 "* ]]; }
if wants relay; then
    log "building ceiling-http and ceiling-stdio (release), whose relay modes are the floors"
    (cd "$BENCH_DIR" && cargo build --release --quiet -p ceiling-http -p ceiling-stdio)
fi
if wants fastmcp && ! "$GW/venv/bin/python" -c 'import fastmcp' 2>/dev/null; then
    log "installing fastmcp==$FASTMCP_VERSION into $GW/venv"
    python3 -m venv "$GW/venv"
    "$GW/venv/bin/pip" install -q "fastmcp==$FASTMCP_VERSION"
fi
# mcp-proxy 0.12.0 imports a name the Python SDK 2.x dropped: it gets its own venv,
# with the newest SDK it works with.
if wants mcp-proxy && ! "$GW/venv-proxy/bin/mcp-proxy" --version >/dev/null 2>&1; then
    log "installing mcp-proxy==$MCP_PROXY_VERSION (with mcp<2) into $GW/venv-proxy"
    python3 -m venv "$GW/venv-proxy"
    "$GW/venv-proxy/bin/pip" install -q "mcp-proxy==$MCP_PROXY_VERSION" 'mcp<2'
fi
if wants supergateway && [[ ! -x $GW/node_modules/.bin/supergateway ]]; then
    log "installing supergateway@$SUPERGATEWAY_VERSION into $GW"
    (cd "$GW" && { [[ -f package.json ]] || npm init -y >/dev/null; } &&
        npm install --silent "supergateway@$SUPERGATEWAY_VERSION" >/dev/null)
fi
versions=""
wants fastmcp && versions+="fastmcp $("$GW/venv/bin/python" -c 'import fastmcp; print(fastmcp.__version__)'); "
wants mcp-proxy && versions+="mcp-proxy $("$GW/venv-proxy/bin/pip" show mcp-proxy 2>/dev/null | sed -n 's/^Version: //p') (Python SDK $("$GW/venv-proxy/bin/pip" show mcp 2>/dev/null | sed -n 's/^Version: //p')); "
wants supergateway && versions+="supergateway $(sed -n 's/^ *"version": "\(.*\)",/\1/p' "$GW/node_modules/supergateway/package.json"), node $(node --version)"

# ---------------------------------------------------------------- peers
# The upstream as a gateway runs it: one word, since supergateway takes a command as a
# single string.
UP=("$GW/upstream.sh")
printf '#!/bin/sh\nexec taskset -c 1 %q serve --demo\n' "$TENET_BIN" >"$GW/upstream.sh"
chmod +x "$GW/upstream.sh"
declare -A PORT=([direct]=3090 [tenet]=3091 [fastmcp]=3092 [mcp-proxy]=3093 [supergateway]=3094 [relay]=3095)
UP_PORT=3099                                  # the HTTP upstream of the `http` and `ws` setups

# applies <setup> <peer>: whether the peer can run the setup.
applies() {
    case $1:$2 in
    stdio:mcp-proxy | stdio:supergateway | http:mcp-proxy | http:supergateway) return 1 ;;
    http:relay | stdio:relay | stdio-2026:relay) return 0 ;;
    *:relay) return 1 ;;
    stdio-2026:direct | stdio-2026:tenet | ws:direct | ws:tenet) return 0 ;;
    stdio-2026:* | ws:*) return 1 ;;
    *) return 0 ;;
    esac
}

# stdio_cmd <peer>: the command the driver spawns (and pins to CPU 0) in the stdio setup.
stdio_cmd() {
    case $1 in
    direct) echo "$TENET_BIN serve --demo" ;;
    tenet) echo "$TENET_BIN serve --log-level error --prefixless --no-local-tools --upstream up=${UP[*]}" ;;
    fastmcp) echo "$GW/venv/bin/python $BENCH_DIR/gateway/fastmcp_proxy.py stdio 0 ${UP[*]}" ;;
    relay) echo "$BIN/ceiling-stdio relay ${UP[*]}" ;;
    esac
}

# cmd <peer> <setup> <port>: an HTTP server's command line, for lib.sh's start().
cmd() {
    local upstream
    case $2 in
    http) upstream="http://127.0.0.1:$UP_PORT/mcp" ;;
    ws) upstream="ws://127.0.0.1:$UP_PORT/mcp" ;;
    *) upstream="${UP[*]}" ;;
    esac
    case $1 in
    direct) echo "$TENET_BIN serve --demo --transport http --port $3" ;;
    tenet) echo "$TENET_BIN serve --log-level error --transport http --port $3 --prefixless --no-local-tools --upstream up=$upstream" ;;
    fastmcp) echo "$GW/venv/bin/python $BENCH_DIR/gateway/fastmcp_proxy.py http $3 $upstream" ;;
    mcp-proxy) echo "$GW/venv-proxy/bin/mcp-proxy --host 127.0.0.1 --port $3 --log-level WARNING -- $upstream" ;;
    supergateway) echo "$GW/node_modules/.bin/supergateway --stdio $upstream --outputTransport streamableHttp --stateful --port $3 --logLevel none" ;;
    relay) echo "$BIN/ceiling-http $3 http://127.0.0.1:$UP_PORT" ;;
    esac
}

UP_PID=""
start_upstream() { # the `http` and `ws` setups' upstream: on CPU 1, or on CPU 0 for the direct row
    local cpu=$1
    taskset -c "$cpu" "$TENET_BIN" serve --demo --transport http --port "$UP_PORT" >"$logs/upstream.log" 2>&1 &
    UP_PID=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$UP_PORT") 2>/dev/null && return 0
        sleep 0.05
    done
    log "the HTTP upstream did not listen"; return 1
}
stop_upstream() {
    [[ -n $UP_PID ]] || return 0
    kill "$UP_PID" 2>/dev/null || true
    wait "$UP_PID" 2>/dev/null || true
    UP_PID=""
}
cleanup() { stop; stop_upstream; }
trap cleanup EXIT

# stdio_run <setup> <peer>: latency and pipelined over stdio, one JSON line each to $raw.
stdio_run() {
    local s=$1 p=$2 n=$PIPELINED server_cpu=0 protocol=2025-11-25 c scenario count line
    [[ $p == tenet || $p == direct || $p == relay ]] || n=$PEER_PIPELINED
    [[ $s == stdio-2026 ]] && protocol=2026-07-28
    c=$(stdio_cmd "$p")
    for scenario in "latency $LATENCY" "pipelined $n"; do
        read -r scenario count <<<"$scenario"
        # shellcheck disable=SC2086
        line=$("$BIN/mcp-bench" --label "$p" --protocol "$protocol" --server-cpu "$server_cpu" --driver-cpu 1 \
            --timeout 120 --idle 20 "$scenario" "$count" -- $c 2>/dev/null || true)
        [[ -n $line ]] || line='{"failed":true}'
        echo "{\"round\":$round,\"setup\":\"$s\",\"peer\":\"$p\",\"test\":\"$scenario\",${line#\{}" >>"$raw"
        printf '   %-13s %-10s %-10s %s\n' "$p" "$s" "$scenario" \
            "$(grep -o '"req_per_s":[0-9.]*\|"p50_us":[0-9.]*\|"p99_us":[0-9.]*\|"errors":[0-9]*\|"lost":[0-9]*\|"failure":"[^"]*"' <<<"$line" | tr '\n' ' ')" >&2
    done
}

# http_run <setup> <peer>: start the peer, one legacy session, wrk at 1 and 64 connections.
http_run() {
    local s=$1 p=$2 sid ver own=0
    # `http` and `ws` run their own upstream, which answers the direct row itself.
    [[ $s == http || $s == ws ]] && own=1
    if ((own)); then
        if [[ $p == direct ]]; then start_upstream 0; else start_upstream 1; fi || { stop_upstream; return 0; }
    fi
    if ((own)) && [[ $p == direct ]]; then
        PORT[direct-up]=$UP_PORT
        peer_port=$UP_PORT
    else
        peer_port=${PORT[$p]}
        start "$p" "$s" "$logs/$p-$s-r$round.log" || { stop_upstream; return 0; }
        # Tenet listens before its upstream is up: wait for /ready (at most 10 s).
        if [[ $p == tenet ]]; then
            for _ in $(seq 100); do
                curl -sf -o /dev/null "http://127.0.0.1:$peer_port/ready" && break
                sleep 0.1
            done
        fi
    fi
    if read -r sid ver < <(timeout 30 python3 "$HTTP/sessions.py" open "$peer_port" --version) && [[ -n ${ver:-} ]]; then
        ((round == 1)) && log "$p ($s): session $sid, protocol $ver"
        wrk_line "$s" "$p" check 64 2 "$sid" "$ver" 1 # warm-up, every body checked
        wrk_line "$s" "$p" c1 1 "$DURATION" "$sid" "$ver" 0
        wrk_line "$s" "$p" c64 64 "$DURATION" "$sid" "$ver" 0
    else
        log "$p ($s): could not open a session"
        echo "{\"round\":$round,\"setup\":\"$s\",\"peer\":\"$p\",\"test\":\"c1\",\"failed\":true}" >>"$raw"
    fi
    stop
    stop_upstream
}
# wrk_line <setup> <peer> <test> <conns> <secs> <sid> <version> <check>
wrk_line() {
    local t=2 line
    (($4 < 2)) && t=1
    line=$(WRK_CHECK=$8 timeout $(($5 + 30)) taskset -c 1 wrk -t"$t" -c"$4" -d"$5s" --timeout 5s -s "$LUA" \
        "http://127.0.0.1:$peer_port/mcp" -- legacy "$7" "$6" | grep '^{"requests"' || true)
    [[ -n $line ]] || line='{"requests":0,"failed":true}'
    echo "{\"round\":$round,\"setup\":\"$1\",\"peer\":\"$2\",\"test\":\"$3\",${line#\{}" >>"$raw"
    printf '   %-13s %-5s %-5s %s\n' "$2" "$1" "$3" \
        "$(grep -o '"rps":[0-9.]*\|"p50_us":[0-9]*\|"p99_us":[0-9]*\|"non2xx":[0-9]*\|"bad":[0-9]*' <<<"$line" | tr '\n' ' ')" >&2
}

# ---------------------------------------------------------------- run
mkdir -p "$OUT"
stamp=$(date +%Y-%m-%d-%H%M%S)
raw="$OUT/gateway-$stamp.jsonl"
logs="$BENCH_DIR/target/gateway-logs"
mkdir -p "$logs"
: >"$raw"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
read -r -a peers <<<"$PEERS"
log "rounds: $ROUNDS; setups: $SETUPS; peers: ${peers[*]}; raw: $raw"
for ((round = 1; round <= ROUNDS; round++)); do
    round_order "$round" "${peers[@]}"
    log "round $round: ${order[*]}"
    for s in $SETUPS; do
        for p in "${order[@]}"; do
            applies "$s" "$p" || continue
            if [[ $s == stdio* ]]; then stdio_run "$s" "$p"; else http_run "$s" "$p"; fi
        done
    done
done

# ---------------------------------------------------------------- report
md="$OUT/gateway-$stamp.md"
{
    echo "# Gateway benchmark, $(date '+%Y-%m-%d %H:%M %Z')"
    echo
    echo "- Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), Linux $(uname -r)"
    echo "- Tenet: commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)$(date -r "$TENET_BIN" '+, binary built %Y-%m-%d %H:%M')"
    echo "- Peers: ${versions:-none but Tenet}"
    echo "- Load average at start: $load_at_start"
    echo "- Rounds: $ROUNDS, interleaved (order reversed every other round); cells are medians over rounds"
    echo "- Upstream: \`tenet serve --demo\` (echo). Gateway on CPU 0; upstream and load on CPU 1. Direct rows: upstream on CPU 0, load on CPU 1"
    echo "- stdio: \`mcp-bench latency $LATENCY\` (one call at a time, 100 warm-up) and \`pipelined $PIPELINED\` ($PEER_PIPELINED for the Python and Node peers)"
    echo "- HTTP: \`wrk -t1 -c1\` and \`wrk -t2 -c64\`, ${DURATION} s each, \`bench/http/call.lua\` on one legacy session, after a 2 s run that checks every body"
    echo "- Raw: \`$(basename "$raw")\`"
    echo "- Commands (\`upstream.sh\` = \`exec taskset -c 1 tenet serve --demo\`):"
    for p in "${peers[@]}"; do
        [[ $p == direct ]] && continue
        for s in $SETUPS; do
            applies "$s" "$p" || continue
            if [[ $s == stdio* ]]; then c=$(stdio_cmd "$p"); else c=$(cmd "$p" "$s" "${PORT[$p]}"); fi
            echo "  - \`$p\`, $s: \`$c\`"
        done
    done | sed "s|$ROOT/||g; s|$TENET_BIN|tenet|g"
    echo
    python3 "$BENCH_DIR/gateway/report.py" "$raw" "${peers[@]}"
} >"$md"
cat "$md"
log "wrote $md"
