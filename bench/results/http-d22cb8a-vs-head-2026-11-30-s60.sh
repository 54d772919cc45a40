#!/usr/bin/env bash
# Same-run stateless tools/call throughput of two tenet binaries, interleaved (the order
# reversed every other round), a fresh server per run pinned to CPU 0, wrk on CPU 1:
#
#   OLD=/path/to/tenet-d22cb8a NEW=/path/to/tenet ROUNDS=20 D=6 bench/results/http-d22cb8a-vs-head-2026-11-30-s60.sh
#
# One JSON line per run on stdout's file $OUT (the server's CPU ticks over the timed run,
# then wrk's report through bench/http/call.lua), a summary line per run on stdout.
set -u
LUA=$(cd "$(dirname "$0")/../http" && pwd)/call.lua
ROUNDS=${ROUNDS:-20}; D=${D:-6}; OUT=${OUT:-tput.jsonl}
declare -A BIN=([d22]=${OLD:?OLD=path of the old binary} [head]=${NEW:?NEW=path of the new binary})
: >"$OUT"
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then order=(d22 head); else order=(head d22); fi
  for p in "${order[@]}"; do
    taskset -c 0 "${BIN[$p]}" serve --demo --transport http --port 3099 >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:3099/health && break; sleep 0.1; done
    taskset -c 1 wrk -t2 -c64 -d2s --timeout 5s -s "$LUA" http://127.0.0.1:3099/mcp -- stateless 2026-07-28 - >/dev/null 2>&1
    read -r u0 s0 < <(awk '{print $14, $15}' /proc/$pid/stat)
    line=$(taskset -c 1 wrk -t2 -c64 -d"${D}s" --timeout 5s -s "$LUA" http://127.0.0.1:3099/mcp -- stateless 2026-07-28 - | grep '^{"requests"')
    read -r u1 s1 < <(awk '{print $14, $15}' /proc/$pid/stat)
    kill "$pid"; wait "$pid" 2>/dev/null
    echo "{\"round\":$r,\"peer\":\"$p\",\"cpu_ticks\":$((u1 + s1 - u0 - s0)),${line#\{}" >>"$OUT"
    echo "$r $p $(grep -o '"rps":[0-9.]*\|"non2xx":[0-9]*\|"bad":[0-9]*' <<<"$line" | tr '\n' ' ') ticks=$((u1 + s1 - u0 - s0))"
  done
done
