#!/usr/bin/env bash
# Runs the browser suite: builds the examples, makes sure the npm packages
# are installed, and runs every e2e/tests/*.test.js with node's test runner
# against Debian's Chromium (/usr/bin/chromium, or $CHROMIUM).
#
#   bash e2e/run.sh                  # everything
#   bash e2e/run.sh tests/chatroom.test.js
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "e2e: $chromium not found; install it with: apt-get update && apt-get install -y chromium" >&2
  exit 1
fi

(cd "$repo" && cargo build --examples)

cd "$here"
if [ ! -f node_modules/socket.io/support/socket.io-client/socket.io.js ] \
  || [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund
fi

mkdir -p "$repo/target/e2e"
if [ "$#" -eq 0 ]; then
  set -- tests/
fi
exec node --test --test-concurrency=1 "$@"
