#!/usr/bin/env bash
# HTTP benchmark: Tenet's Streamable HTTP server against rmcp 3.9.0 (and 3.11.0, the
# newest 3.x: peer rmcp-latest), the Python
# SDK 2.3.0, the TypeScript SDK 1.32.2 and a raw hyper ceiling, all in one run,
# interleaved round by round (order reversed every other round), medians reported.
#
#   bench/http-run.sh                     # everything: installs, builds, 3 rounds
#   ROUNDS=5 DURATION=10 bench/http-run.sh
#   PEERS="tenet rmcp ceiling" BUILD_TENET=0 bench/http-run.sh
#
# Knobs [defaults]: ROUNDS [3]  DURATION [10] seconds per timed wrk run
#   PEERS [tenet rmcp rmcp-latest python ts ceiling]  SESSIONS [970]  BUILD_TENET [1]
#   TENET_BIN [what scripts/build-release builds]  OUT [bench/results]
#   TENETS  more Tenet binaries as extra peers, "label=/path/to/tenet ..." (each served as
#           `<path> serve --demo --transport http`, ports from 3070; name the labels in PEERS),
#           e.g. PEERS="tenet-before tenet-after rmcp" TENETS="tenet-before=/a/tenet tenet-after=/b/tenet"
#   RATIOS  ratio columns of the report, "a/b ..." [tenet/<every other peer>]
# Server pinned to CPU 0 (taskset), wrk to CPU 1; everything on 127.0.0.1.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
PEERS=${PEERS:-"tenet rmcp rmcp-latest python ts ceiling"}
# 970: Tenet holds one caller to 1 000 sessions; the memory run opens 20 more to warm up,
# and the legacy runs one more.
SESSIONS=${SESSIONS:-970}
BUILD_TENET=${BUILD_TENET:-1}
TENET_BIN=${TENET_BIN:-$("$ROOT/scripts/build-release" --path)}
OUT=${OUT:-$BENCH_DIR/results}
TENETS=${TENETS:-}
export REPORT_RATIOS=${RATIOS:-}
BIN=$BENCH_DIR/target/release
HTTP=$BENCH_DIR/http
VENV=$BENCH_DIR/target/py/venv
TSDIR=$BENCH_DIR/target/ts
LUA=$HTTP/call.lua

# shellcheck source=http/lib.sh
source "$HTTP/lib.sh"

# ---------------------------------------------------------------- install / build
ensure_wrk
log "building the rmcp peers and the hyper ceiling (release)"
(cd "$BENCH_DIR" && cargo build --release --quiet -p rmcp-http -p ceiling-http)
# rmcp-http's source against the newest rmcp 3.x, in a workspace of its own.
(cd "$BENCH_DIR/rmcp-latest" && cargo build --release --quiet --bin rmcp-http-latest)
if [[ " $PEERS " == *" python "* ]] && ! "$VENV/bin/python" -c 'import mcp, uvicorn' 2>/dev/null; then
    log "installing mcp==2.3.0 uvicorn matplotlib into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q mcp==2.3.0 uvicorn matplotlib
fi
if [[ " $PEERS " == *" ts "* ]] && [[ ! -d $TSDIR/node_modules/@modelcontextprotocol/sdk ]]; then
    log "installing @modelcontextprotocol/sdk@1.32.2 express into $TSDIR"
    mkdir -p "$TSDIR"
    (cd "$TSDIR" && { [[ -f package.json ]] || npm init -y >/dev/null; } &&
        npm install --silent @modelcontextprotocol/sdk@1.32.2 express >/dev/null)
fi
[[ -d $TSDIR ]] && cp "$HTTP/ts/server.mjs" "$TSDIR/server.mjs" # ESM resolves node_modules next to the file
tenet_note=""
if [[ " $PEERS " == *" tenet "* && $BUILD_TENET == 1 ]]; then
    log "building tenet (release)"
    "$ROOT/scripts/build-release" >/dev/null || tenet_note="scripts/build-release failed"
fi
[[ " $PEERS " == *" tenet "* && -z $tenet_note && ! -x $TENET_BIN ]] && tenet_note="$TENET_BIN does not exist"
if [[ -n $tenet_note ]]; then
    log "skipping tenet: $tenet_note"
    PEERS=$(tr ' ' '\n' <<<"$PEERS" | grep -vx tenet | tr '\n' ' ')
fi

# ---------------------------------------------------------------- peers
# cmd <peer> <mode> <port>: the server command line (mode: stateless|session)
cmd() {
    case $1 in
    tenet) echo "$TENET_BIN serve --demo --transport http --port $3" ;;
    rmcp) echo "$BIN/rmcp-http $3 $2" ;;
    rmcp-latest) echo "$BENCH_DIR/rmcp-latest/target/release/rmcp-http-latest $3 $2" ;;
    python) echo "$VENV/bin/python $HTTP/python/server.py $3 $2" ;;
    ts) echo "node $TSDIR/server.mjs $3 $2" ;;
    ceiling) echo "$BIN/ceiling-http $3" ;;
    *) [[ -n ${TBIN[$1]:-} ]] && echo "${TBIN[$1]} serve --demo --transport http --port $3" ;;
    esac
}
declare -A PORT=([tenet]=3060 [rmcp]=3061 [python]=3062 [ts]=3063 [ceiling]=3064 [rmcp-latest]=3065)
# Protocol version for the stateless test: 2026-07-28 with Mcp-Method/Mcp-Name
# headers and _meta, except the TS SDK 1.32.2 which only knows <= 2025-11-25 and
# is driven in its own stateless mode (no session) with 2025-11-25.
declare -A SVER=([tenet]=2026-07-28 [rmcp]=2026-07-28 [rmcp-latest]=2026-07-28 [python]=2026-07-28 [ts]=2025-11-25
    [ceiling]=2026-07-28)
has_sessions() { [[ $1 != ceiling ]]; }
declare -A TBIN=()
tport=3070
for t in $TENETS; do
    label=${t%%=*}
    TBIN[$label]=${t#*=}
    [[ -x ${TBIN[$label]} ]] || { echo "$label: ${TBIN[$label]} is not an executable" >&2; exit 2; }
    PORT[$label]=$tport SVER[$label]=2026-07-28
    tport=$((tport + 1))
done

read -r -a peers <<<"$PEERS"
for p in "${peers[@]}"; do [[ -n ${PORT[$p]:-} ]] || { echo "unknown peer: $p" >&2; exit 2; }; done

trap stop EXIT

H=(-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
sample() { # sample <peer> <mode> <version> [session]: one response by hand, into $samples
    local body hdrs=("${H[@]}" -H "MCP-Protocol-Version: $3")
    if [[ $2 == stateless ]]; then
        hdrs+=(-H 'Mcp-Method: tools/call' -H 'Mcp-Name: echo')
        body='{"jsonrpc":"2.0","id":"sample-1","method":"tools/call","params":{"name":"echo","arguments":{"text":"hello world"},"_meta":{"io.modelcontextprotocol/protocolVersion":"'$3'","io.modelcontextprotocol/clientCapabilities":{}}}}'
    else
        hdrs+=(-H "Mcp-Session-Id: $4")
        body='{"jsonrpc":"2.0","id":"sample-1","method":"tools/call","params":{"name":"echo","arguments":{"text":"hello world"}}}'
    fi
    { echo "### $1, $2 ($3)"; echo '```'
      curl -s -i --max-time 5 "${hdrs[@]}" "http://127.0.0.1:${PORT[$1]}/mcp" -d "$body" | tr -d '\r' | grep -iv '^date:'
      echo; echo '```'; } >>"$samples"
}

# ---------------------------------------------------------------- run
mkdir -p "$OUT"
stamp=$(date +%Y-%m-%d-%H%M%S)
raw="$OUT/http-$stamp.jsonl"
samples="$OUT/http-$stamp.samples.md"
logs="$BENCH_DIR/target/http-logs"
mkdir -p "$logs"
: >"$raw"; : >"$samples"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "rounds: $ROUNDS x ${DURATION}s; peers: ${peers[*]}; server on CPU 0, wrk on CPU 1; raw: $raw"

for ((round = 1; round <= ROUNDS; round++)); do
    round_order "$round" "${peers[@]}"
    log "round $round: ${order[*]}"
    for p in "${order[@]}"; do
        # Stateless era.
        start "$p" stateless "$logs/$p-stateless-r$round.log" || continue
        ((round == 1)) && sample "$p" stateless "${SVER[$p]}"
        WRK_CHECK=1 run_wrk "$p" check-stateless 64 2 stateless "${SVER[$p]}" # warm-up + every body checked
        run_wrk "$p" stateless-c64 64 "$DURATION" stateless "${SVER[$p]}"
        run_wrk "$p" stateless-c1 1 "$DURATION" stateless "${SVER[$p]}"
        stop
        has_sessions "$p" || continue
        # Legacy sessions: idle-session RSS on a fresh server, then load on one session.
        start "$p" session "$logs/$p-session-r$round.log" || continue
        if line=$(timeout 120 python3 "$HTTP/sessions.py" rss "${PORT[$p]}" "$SERVER_PID" "$SESSIONS"); then
            echo "{\"round\":$round,\"peer\":\"$p\",\"test\":\"sessions\",${line#\{}" >>"$raw"
            printf '   %-8s %-14s %s\n' "$p" sessions "$line" >&2
        else
            log "$p: opening $SESSIONS sessions failed"
        fi
        if sid=$(timeout 20 python3 "$HTTP/sessions.py" open "${PORT[$p]}"); then
            ((round == 1)) && sample "$p" legacy 2025-11-25 "$sid"
            WRK_CHECK=1 run_wrk "$p" check-legacy 64 2 legacy 2025-11-25 "$sid"
            run_wrk "$p" legacy-c64 64 "$DURATION" legacy 2025-11-25 "$sid"
        else
            log "$p: could not open a session"
        fi
        stop
    done
done

# ---------------------------------------------------------------- report
md="$OUT/http-$stamp.md"
png="$OUT/http-$stamp.png"
report_py=python3
"$VENV/bin/python" -c 'import matplotlib' 2>/dev/null && report_py="$VENV/bin/python"
{
    echo "# HTTP benchmark, $(date '+%Y-%m-%d %H:%M %Z')"
    echo
    echo "- Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), Linux $(uname -r)"
    echo "- Tenet: commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)$([[ -x $TENET_BIN ]] && date -r "$TENET_BIN" '+, binary built %Y-%m-%d %H:%M')${tenet_note:+ — not measured: $tenet_note}"
    for t in $TENETS; do
        echo "- \`${t%%=*}\`: \`${t#*=}\`$(date -r "${t#*=}" '+, binary built %Y-%m-%d %H:%M')"
    done
    echo "- Load average at start: $load_at_start"
    echo "- Rounds: $ROUNDS, interleaved (order reversed every other round), ${DURATION} s per timed run; cells are medians over rounds"
    echo "- Server pinned to CPU 0 (\`taskset -c 0\`), load \`taskset -c 1 wrk -t2 -c64 (-t1 -c1) -d${DURATION}s --timeout 5s -s bench/http/call.lua\` (unique id per request); 127.0.0.1 only"
    echo "- Raw: \`$(basename "$raw")\`; one response per peer and mode, by hand: \`$(basename "$samples")\`"
    echo "- Peers:"
    for p in "${peers[@]}"; do
        echo "  - \`$p\`: \`$(cmd "$p" stateless "${PORT[$p]}" | sed "s|$ROOT/||g")\`$(case $p in rmcp | rmcp-latest | python | ts) echo " (legacy sessions: last argument \`session\`)" ;; tenet | tenet-*) echo " (both eras, same process command)" ;; esac)"
    done
    echo
    REPORT_ORDER="${peers[*]}" "$report_py" "$HTTP/report.py" "$raw" "$png"
} >"$md"
cat "$md"
log "wrote $md"
