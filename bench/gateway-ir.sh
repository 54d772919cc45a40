#!/usr/bin/env bash
# Instructions per proxied call, counted by valgrind (callgrind `Ir`): a measure this
# noisy, shared machine cannot blur. Timings here drift by a third from one hour to the
# next; instruction counts repeat to well under 1 %. What it counts is work, not time:
# cache misses and the kernel's share are not in it, so it complements gateway-run.sh
# and never stands in for its throughput.
#
#   bench/gateway-ir.sh                       # direct and tenet, 2025-11-25 client
#   PROTOCOL=2026-07-28 bench/gateway-ir.sh
#   TENET_BIN=/path/to/other/tenet bench/gateway-ir.sh tenet   # one row
#   TEXT=$(head -c 4096 /dev/zero | tr '\0' x) bench/gateway-ir.sh   # a larger result
#   bench/gateway-ir.sh direct tenet legacy   # and the gateway speaking 2025-11-25 upstream
#
# Each row runs `mcp-bench pipelined` twice under callgrind, with N1 and N2 calls
# [20000, 60000]; (Ir(N2) - Ir(N1)) / (N2 - N1) is the cost of one call, start-up
# left out. `direct`: `tenet serve --demo` itself. `tenet`: the gateway
# (`--prefixless --no-local-tools`) in front of it; only the gateway is counted. The
# gateway speaks 2026-07-28 to an upstream that does (as `tenet serve` does), whatever
# its client speaks; `legacy` is the gateway with `protocol = "legacy"` on the
# upstream, which then speaks 2025-11-25 (a 2025-11-25 client's own era: nothing to
# translate).
# The callgrind files stay in $OUT_DIR [bench/target/ir] for callgrind_annotate.
# Needs valgrind (apt-get install valgrind) and a release build of tenet.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
TENET_BIN=${TENET_BIN:-$("$ROOT/scripts/build-release" --path)}
PROTOCOL=${PROTOCOL:-2025-11-25}
N1=${N1:-20000}
N2=${N2:-60000}
OUT_DIR=${OUT_DIR:-$BENCH_DIR/target/ir}
DRIVER=$BENCH_DIR/target/release/mcp-bench
ROWS=("$@")
[[ ${#ROWS[@]} -gt 0 ]] || ROWS=(direct tenet)

command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
[[ -x $DRIVER ]] || (cd "$BENCH_DIR" && cargo build --release --quiet -p mcp-bench)
mkdir -p "$OUT_DIR"
upstream=$OUT_DIR/upstream.sh
printf '#!/bin/sh\nexec %q serve --log-level error --demo\n' "$TENET_BIN" > "$upstream"
chmod +x "$upstream"
legacy=$OUT_DIR/legacy.toml
# Its path as a TOML string.
quoted=${upstream//\\/\\\\}
printf '[[upstream]]\nname = "up"\ncommand = ["%s"]\nprotocol = "legacy"\n' "${quoted//\"/\\\"}" > "$legacy"

server_of() {
    case $1 in
        direct) echo "$TENET_BIN serve --log-level error --demo" ;;
        tenet) echo "$TENET_BIN serve --log-level error --prefixless --no-local-tools --upstream up=$upstream" ;;
        legacy) echo "$TENET_BIN serve --log-level error --prefixless --no-local-tools --config $legacy" ;;
        *) echo "unknown row $1 (direct, tenet, legacy)" >&2; exit 2 ;;
    esac
}

# ir ROW N: the Ir total of the server over a run of N calls.
ir() {
    local out=$OUT_DIR/$1-$PROTOCOL-$2.callgrind
    # shellcheck disable=SC2046 # the server's command line is split on purpose
    "$DRIVER" --label "$1" --protocol "$PROTOCOL" ${TEXT:+--text "$TEXT"} --timeout 600 --idle 120 pipelined "$2" -- \
        valgrind --tool=callgrind --callgrind-out-file="$out" $(server_of "$1") > "$out.json" 2>&1
    grep -q '"ok":true' "$out.json" || { echo "the $1 run of $2 calls failed: $out.json" >&2; exit 1; }
    awk '/^(summary|totals):/ {print $2; exit}' "$out"
}

echo "| row | Ir per call ($PROTOCOL client) |"
echo "|---|---|"
for row in "${ROWS[@]}"; do
    a=$(ir "$row" "$N1")
    b=$(ir "$row" "$N2")
    echo "| \`$row\` | $(( (b - a) / (N2 - N1) )) |"
done
