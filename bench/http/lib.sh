# Shell functions shared by the benchmark scripts (sourced, not run).
# For start/stop/run_wrk the caller defines: cmd <name> <mode> <port> (a server's
# command line), the PORT associative array, LUA (the wrk script), raw (the JSON-lines
# output) and round; for build_driver_and_tenet: BENCH_DIR, ROOT, BUILD_TENET, TENET_BIN.

log() { printf '==> %s\n' "$*" >&2; }

SERVER_PID=""
start() { # start <name> <mode> <logfile>: the server pinned to CPU 0, until it listens
    local port=${PORT[$1]} c
    c=$(cmd "$1" "$2" "$port")
    # shellcheck disable=SC2086
    taskset -c 0 $c >"$3" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 150); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0 # listening
        kill -0 "$SERVER_PID" 2>/dev/null || { log "$1 ($2) exited at start: $(tail -3 "$3")"; return 1; }
        sleep 0.1
    done
    log "$1 ($2) did not listen on $port"; stop; return 1
}
stop() {
    [[ -n $SERVER_PID ]] || return 0
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# run_wrk <name> <test> <conns> <secs> <mode> <version> [session]: wrk pinned to CPU 1,
# one JSON line to $raw (WRK_CHECK and WRK_TOKEN pass through to call.lua).
run_wrk() {
    local peer=$1 test=$2 c=$3 d=$4 mode=$5 ver=$6 sid=${7:--} line
    local t=2; ((c < 2)) && t=1
    line=$(timeout $((d + 20)) taskset -c 1 wrk -t"$t" -c"$c" -d"${d}s" --timeout 5s -s "$LUA" \
        "http://127.0.0.1:${PORT[$peer]}/mcp" -- "$mode" "$ver" "$sid" | grep '^{"requests"' || true)
    [[ -n $line ]] || line='{"requests":0,"failed":true}'
    echo "{\"round\":$round,\"peer\":\"$peer\",\"test\":\"$test\",${line#\{}" >>"$raw"
    printf '   %-8s %-14s %s\n' "$peer" "$test" "$(grep -o '"rps":[0-9.]*\|"p50_us":[0-9]*\|"p99_us":[0-9]*\|"non2xx":[0-9]*\|"bad":[0-9]*' <<<"$line" | tr '\n' ' ')" >&2
}

# ensure_wrk: installs wrk from Debian when it is missing.
ensure_wrk() {
    command -v wrk >/dev/null && return 0
    log "installing wrk (Debian package)"
    apt-get install -y wrk >/dev/null || { echo "wrk is required (apt-get install -y wrk)" >&2; exit 1; }
}

# round_order <round> <item>...: sets `order` to the items, reversed on even rounds, so
# that slow drift of the machine does not favour whichever runs first.
round_order() {
    local round=$1 i
    shift
    order=("$@")
    if ((round % 2 == 0)); then
        order=()
        for ((i = $#; i >= 1; i--)); do order+=("${!i}"); done
    fi
}

# build_driver_and_tenet [package]: the driver (bench package, default mcp-bench), and
# tenet as shipped unless BUILD_TENET=0.
build_driver_and_tenet() {
    local driver=${1:-mcp-bench}
    log "building $driver (release)"
    (cd "$BENCH_DIR" && cargo build --release --quiet -p "$driver")
    if [[ $BUILD_TENET == 1 ]]; then
        log "building tenet (release)"
        "$ROOT/scripts/build-release" >/dev/null
    fi
    [[ -x $TENET_BIN ]] || { echo "$TENET_BIN does not exist" >&2; exit 1; }
}

# report_head TITLE: the opening lines of a results file: its title and date, the
# machine, the commit and the load average recorded in $load_at_start.
report_head() {
    echo "# $1, $(date '+%Y-%m-%d %H:%M %Z')"
    echo
    echo "- Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), Linux $(uname -r)"
    echo "- Tenet: commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none), \`tenet serve --demo --transport http\` (release build)"
    echo "- Load average at start: $load_at_start"
}
