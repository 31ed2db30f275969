#!/usr/bin/env bash
# Runs the real-client suites: the browser suite (tests/: the examples in
# Debian's Chromium, /usr/bin/chromium or $CHROMIUM, through the socket.io
# 0.6 client, socket.io-client 0.9 and socket.io-client 4) and the client
# suite (clients/: the Engine.IO and Socket.IO clients from npm and
# python-socketio from PyPI against the conformance example). Builds the examples, installs the npm
# packages from package-lock.json and the Python ones into e2e/.venv from
# clients/requirements.txt when they are missing or out of date. Anything
# missing fails the run; nothing is skipped.
#
#   bash e2e/run.sh                             # both suites
#   bash e2e/run.sh tests/                      # the browser suite
#   bash e2e/run.sh clients/                    # the client suite
#   bash e2e/run.sh tests/chatroom.test.js      # one file
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"

if [ "$#" -eq 0 ]; then
  set -- tests/ clients/
fi
browser=false
clients=false
for arg in "$@"; do
  case "$arg" in
    tests/* | */tests/*) browser=true ;;
    clients/* | */clients/*) clients=true ;;
  esac
done

chromium="${CHROMIUM:-/usr/bin/chromium}"
if $browser && [ ! -x "$chromium" ]; then
  echo "e2e: $chromium not found; install it with: apt-get update && apt-get install -y chromium" >&2
  exit 1
fi

(cd "$repo" && cargo build --examples)

cd "$here"
if [ ! -f node_modules/socket.io/support/socket.io-client/socket.io.js ] \
  || [ ! -f node_modules/socket.io-client/dist/socket.io.min.js ] \
  || [ ! -f node_modules/socket.io-client-v09/dist/socket.io.js ] \
  || [ ! -d node_modules/playwright-core ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# python-socketio for clients/python.test.js ($PYTHON overrides the venv).
if $clients && [ -z "${PYTHON:-}" ] \
  && ! cmp -s clients/requirements.txt .venv/requirements.installed; then
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "e2e: python3 cannot make a venv; install it with: apt-get update && apt-get install -y python3-venv" >&2
    exit 1
  fi
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/pip install --quiet -r clients/requirements.txt
  cp clients/requirements.txt .venv/requirements.installed
fi

mkdir -p "$repo/target/e2e"
exec node --test --test-concurrency=1 "$@"
