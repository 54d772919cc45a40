# Sourced by the interop scripts: `tenet serve --transport http` on a port it picks.
#
# tenet_http_start LOG BIN ARGS...: starts `BIN serve --transport http --host 127.0.0.1
# --port 0 --log-level info ARGS...` in the background, its output in LOG, and sets
# SERVER_PID; then waits (10 s at most) for the line it logs once bound, `serving MCP over
# HTTP at http://127.0.0.1:PORT/...`, and sets PORT. Returns 1 with PORT empty when the
# server exits first or logs no such line; the caller reports it (and stops a server still
# running).
#
# The server binds the port itself, so no other process can take it between a pick and the
# bind, and a probe of PORT reaches this server. LOG exists (empty) before the server
# starts, so reading it never races its creation. The line is logged at info (debug and
# trace have it too, warn and above do not): TENET_LOG would override --log-level and
# TENET_LOG_FORMAT=json would change the line's shape, so neither reaches the server.
tenet_http_start() {
  local log=$1 bin=$2 deadline
  shift 2
  : >"$log"
  env -u TENET_LOG -u TENET_LOG_FORMAT NO_COLOR=1 \
    "$bin" serve --transport http --host 127.0.0.1 --port 0 --log-level info "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  PORT=
  deadline=$((SECONDS + 10))
  while [ "$SECONDS" -lt "$deadline" ]; do
    PORT=$(sed -n 's#.*serving MCP over HTTP at http://127\.0\.0\.1:\([0-9][0-9]*\)/.*#\1#p' "$log" | head -1)
    [ -n "$PORT" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
