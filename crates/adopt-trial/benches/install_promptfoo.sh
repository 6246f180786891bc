#!/usr/bin/env bash
# Installs promptfoo from the npm registry for the harness-overhead benchmark's baseline, with
# no downloads outside the registry. Prints the path of the promptfoo binary.
#
# Why not a plain `npm install promptfoo`:
#  - promptfoo >= 0.121 needs Node >= 22; Debian and our machines have Node 20: pin 0.120.0.
#  - its better-sqlite3 dependency downloads a prebuilt binary from GitHub or node headers from
#    nodejs.org at install time; both are unreachable. We skip install scripts and compile it
#    against the local Node headers (/usr/include/node, `nodedir`).
#  - 0.120.0 looks for its database migrations in <package>/drizzle but ships them in
#    <package>/dist/drizzle: a symlink fixes that.
set -euo pipefail
VERSION=0.120.0
DIR="${ADOPT_PROMPTFOO_DIR:-$HOME/.cache/adopt-trial-promptfoo}"
BIN="$DIR/node_modules/.bin/promptfoo"
PKG="$DIR/node_modules/promptfoo"

if [ ! -x "$BIN" ] || ! PROMPTFOO_DISABLE_TELEMETRY=1 "$BIN" --version >/dev/null 2>&1; then
    command -v npm >/dev/null || { echo "install_promptfoo: npm is not installed" >&2; exit 2; }
    mkdir -p "$DIR"
    (cd "$DIR" && npm install --no-audit --no-fund --loglevel=error --ignore-scripts "promptfoo@$VERSION" >&2)
    SQLITE="$(dirname "$(cd "$DIR" && node -e "console.log(require.resolve('better-sqlite3/package.json', {paths: ['$PKG']}))")")"
    NODEDIR="$(npm config get nodedir 2>/dev/null || true)"
    [ -n "$NODEDIR" ] && [ "$NODEDIR" != "undefined" ] || NODEDIR=/usr
    GYP="$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
    [ -f "$GYP" ] || GYP=/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
    (cd "$SQLITE" && node "$GYP" rebuild --release --nodedir="$NODEDIR" -j "${BUILD_JOBS:-1}" >&2)
    [ -e "$PKG/drizzle" ] || ln -s dist/drizzle "$PKG/drizzle"
    PROMPTFOO_DISABLE_TELEMETRY=1 "$BIN" --version >/dev/null
fi
echo "$BIN"
