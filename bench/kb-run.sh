#!/usr/bin/env bash
# Knowledge-server benchmark (issue 4): start to first answer vs the bare server,
# search_stdlib p50/p99 (built-in corpus and 10 000 generated documents), index build
# time and peak RSS, re-index latency after a file edit. Writes bench/results/kb-<date>.md.
#
#   bench/kb-run.sh                 # builds kb-bench and tenet (release), then runs (~2–4 min)
#   BUILD_TENET=0 bench/kb-run.sh   # reuse the binary scripts/build-release built
#
# Knobs [defaults]: RUNS [30] cold starts per server, REPS [5] edits per root,
#   INDEX_RUNS [3] processes building the 10 000-document index,
#   BUILD_TENET [1], TENET_BIN [what scripts/build-release builds], OUT [bench/results]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
RUNS=${RUNS:-30}
REPS=${REPS:-5}
INDEX_RUNS=${INDEX_RUNS:-3}
BUILD_TENET=${BUILD_TENET:-1}
TENET_BIN=${TENET_BIN:-$("$ROOT/scripts/build-release" --path)}
OUT=${OUT:-$BENCH_DIR/results}

# shellcheck source=http/lib.sh
source "$BENCH_DIR/http/lib.sh"

build_driver_and_tenet kb-bench
# Run a private copy, so a concurrent `cargo build` cannot swap the binary mid-run.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -p "$TENET_BIN" "$work/tenet"

mkdir -p "$OUT"
date=$(date -u +%Y-%m-%d-%H%M%S)
report="$OUT/kb-$date.md"
log "running (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
# Bounded as a whole too: every step inside has its own time limit.
timeout --kill-after=10 1500 "$BENCH_DIR/target/release/kb-bench" all --bin "$work/tenet" \
    --runs "$RUNS" --reps "$REPS" --index-runs "$INDEX_RUNS" --date "$date" --out "$report"
{
    echo
    printf 'Machine: %s CPUs, %s; tenet binary `%s`, built %s; commit %s%s.\n' "$(nproc)" "$(uname -sr)" \
        "$TENET_BIN" "$(date -u -r "$TENET_BIN" +%FT%TZ)" "$(git -C "$ROOT" rev-parse --short HEAD)" \
        "$(git -C "$ROOT" diff --quiet -- crates || echo ' (+ uncommitted changes under crates/)')"
} >> "$report"
cat "$report"
log "wrote $report"
