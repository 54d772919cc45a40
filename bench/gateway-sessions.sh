#!/usr/bin/env bash
# What a session per caller costs at the gateway (issue 60): `tenet serve` as a gateway
# over HTTP with 64 API keys, in front of one stdio upstream (`tenet serve --demo`,
# pinned to the legacy protocol, which keeps sessions), with the upstream's table set to
# `session = "per-caller"` (a process per caller) and to `session = "shared"` (one
# process for everyone), in one run, interleaved round by round, medians reported:
#
#   throughput  wrk, 64 connections, each request from the next of the 64 keys in turn
#               (2026-07-28 requests: no downstream session ties a request to a key)
#   p50         the same, one connection: what a call costs on its own
#   memory      per caller, RssAnon (what a process allocated; its binary's pages are
#               shared): of the gateway, and of the upstream's processes, after every key
#               made one call, less before any did, over 64
#   first       a new caller's first call, one at a time (per-caller: its process
#               starts then), median of 8 callers
#
#   bench/gateway-sessions.sh                 # builds, 3 rounds of 10 s
#   ROUNDS=5 DURATION=10 bench/gateway-sessions.sh
#
# Placement: the gateway and its upstream processes on CPU 0, the load on CPU 1.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CALLERS=64
FRESH=8
OUT=${OUT:-$BENCH_DIR/results}
LUA=$BENCH_DIR/http/call.lua
TENET_BIN=${TENET_BIN:-$("$ROOT/scripts/build-release")}
command -v wrk >/dev/null || { echo "needs wrk (Debian: apt-get install wrk)" >&2; exit 1; }
command -v curl >/dev/null || { echo "needs curl" >&2; exit 1; }

WORK=$(mktemp -d)
GW_PID=
cleanup() {
  if [ -n "$GW_PID" ]; then kill "$GW_PID" 2>/dev/null || true; wait "$GW_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

secret() { printf '0123456789abcdef-c%s' "$1"; }
keys=() tokens=()
for i in $(seq 1 $((CALLERS + FRESH * ROUNDS * 2))); do
  keys+=("c$i $(secret "$i")")
  ((i <= CALLERS)) && tokens+=("$(secret "$i")")
done
API_KEYS=$(IFS=';'; echo "${keys[*]}")
WRK_TOKENS=$(IFS=','; echo "${tokens[*]}")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT/mcp
fresh_next=$((CALLERS + 1))

anon() { awk '/^RssAnon/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# rss_of PID: "GATEWAY UPSTREAMS", the RssAnon kB of PID and of every process under it.
rss_of() {
  local total=0 pid
  for pid in $(ps -e -o pid=,ppid= | awk -v root="$1" '
      { kids[$2] = kids[$2] " " $1 }
      END { q[0] = root; n = 1; for (i = 0; i < n; i++) { print q[i]; m = split(kids[q[i]], c, " "); for (j = 1; j <= m; j++) q[n++] = c[j] } }'); do
    [ "$pid" = "$1" ] || total=$((total + $(anon "$pid")))
  done
  echo "$(anon "$1") $total"
}

call() {  # call TOKEN: one stateless tools/call of up__echo; prints the seconds it took
  curl -s -o "$WORK/out" -w '%{time_total}' "$URL" -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: up__echo' \
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"up__echo","arguments":{"text":"hello world"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
  grep -q '"text":"hello world"' "$WORK/out" || { echo "a call failed: $(head -c 300 "$WORK/out")" >&2; exit 1; }
}

start() {  # start MODE: the gateway, its upstream's table set to session = MODE
  cat >"$WORK/gateway.toml" <<EOF
[[upstream]]
name = "up"
command = ["$TENET_BIN", "serve", "--demo", "--log-level", "error"]
protocol = "legacy"
open = true
session = "$1"
max_sessions = $((CALLERS + FRESH))
EOF
  TENET_API_KEYS=$API_KEYS taskset -c 0 "$TENET_BIN" serve --transport http --port "$PORT" --log-level warn \
    --no-local-tools --config "$WORK/gateway.toml" >"$WORK/gateway.log" 2>&1 &
  GW_PID=$!
  for _ in $(seq 1 200); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/ready" && return 0
    sleep 0.05
  done
  echo "the gateway did not get ready: $(tail -5 "$WORK/gateway.log")" >&2
  exit 1
}

stop() {
  kill "$GW_PID" 2>/dev/null || true
  wait "$GW_PID" 2>/dev/null || true
  GW_PID=
}

wrk_run() {  # wrk_run CONNECTIONS: one JSON line
  WRK_TOKENS=$WRK_TOKENS WRK_TOOL=up__echo WRK_CHECK=1 timeout $((DURATION + 20)) taskset -c 1 \
    wrk -t1 -c"$1" -d"${DURATION}s" --timeout 5s -s "$LUA" "$URL" -- stateless 2026-07-28 | grep '^{"requests"'
}

mkdir -p "$OUT"
stamp=$(date -u +%Y-%m-%d-%H%M%S)
raw=$OUT/gateway-sessions-$stamp.jsonl
: >"$raw"
for round in $(seq 1 "$ROUNDS"); do
  modes=(per-caller shared)
  ((round % 2 == 0)) && modes=(shared per-caller)
  for mode in "${modes[@]}"; do
    start "$mode"
    before=$(rss_of "$GW_PID")
    for token in "${tokens[@]}"; do call "$token" >/dev/null; done
    sleep 0.5
    after=$(rss_of "$GW_PID")
    firsts=()
    for _ in $(seq 1 "$FRESH"); do
      firsts+=("$(call "$(secret "$fresh_next")")")
      fresh_next=$((fresh_next + 1))
    done
    first=$(printf '%s\n' "${firsts[@]}" | sort -n | sed -n "$((FRESH / 2))p")
    many=$(wrk_run 64)
    one=$(wrk_run 1)
    stop
    read -r gw_before up_before <<<"$before"
    read -r gw_after up_after <<<"$after"
    printf '{"round":%d,"mode":"%s","gateway_kb_per_caller":%.1f,"upstream_kb_per_caller":%.1f,"first_call_ms":%.2f,"many":%s,"one":%s}\n' \
      "$round" "$mode" "$(echo "($gw_after - $gw_before) / $CALLERS" | bc -l)" \
      "$(echo "($up_after - $up_before) / $CALLERS" | bc -l)" "$(echo "$first * 1000" | bc -l)" "$many" "$one" >>"$raw"
    python3 - "$raw" >&2 <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
many, one = r["many"], r["one"]
print(f"round {r['round']} {r['mode']:10} {many['rps']:9.0f} req/s (64 callers)  p50 {one['p50_us']} us  "
      f"{r['gateway_kb_per_caller']:.1f} + {r['upstream_kb_per_caller']:.0f} kB/caller  first call {r['first_call_ms']:.1f} ms  bad {many['bad'] + one['bad']}")
PY
  done
done
# The summary, printed and kept beside the raw lines (bench/results keeps the .md).
python3 - "$raw" <<'PY' | tee "${raw%.jsonl}.md"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(mode, f):
    return statistics.median(f(r) for r in rows if r["mode"] == mode)
print(f"| per caller session vs shared ({len(rows) // 2} rounds, medians) | per-caller | shared |")
print("|---|---|---|")
for label, f, fmt in [
    ("throughput, 64 callers (req/s)", lambda r: r["many"]["rps"], "{:.0f}"),
    ("p50, one call at a time (µs)", lambda r: r["one"]["p50_us"], "{:.0f}"),
    ("memory per idle caller: the gateway's (kB, RssAnon)", lambda r: r["gateway_kb_per_caller"], "{:.1f}"),
    ("memory per idle caller: the upstream's processes (kB, RssAnon)", lambda r: r["upstream_kb_per_caller"], "{:.0f}"),
    ("a new caller's first call (ms)", lambda r: r["first_call_ms"], "{:.1f}"),
]:
    print(f"| {label} | {fmt.format(med('per-caller', f))} | {fmt.format(med('shared', f))} |")
bad = sum(r["many"]["bad"] + r["one"]["bad"] + r["many"]["non2xx"] + r["one"]["non2xx"] for r in rows)
print(f"\nbad or non-2xx answers: {bad}; raw: {sys.argv[1]}")
PY
