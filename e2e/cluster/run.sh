#!/usr/bin/env bash
# Runs the cluster suite: tornadio processes with the Redis adapter beside
# node socket.io servers (e2e/cluster/tests/*.test.js) on a real
# redis-server, and behind a real HAProxy. Builds the binaries it starts,
# installs the npm packages pinned by package-lock.json.
#
#   bash e2e/cluster/run.sh                          # everything
#   bash e2e/cluster/run.sh tests/interop.test.js    # one file
#
# Needs redis-server and haproxy: apt-get install -y redis-server haproxy.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$(dirname "$here")")"

for program in redis-server haproxy; do
  if ! command -v "$program" >/dev/null 2>&1; then
    echo "e2e/cluster: $program not found; install it with: apt-get install -y redis-server haproxy" >&2
    exit 1
  fi
done

(cd "$repo" && cargo build -p tornadio-redis --example cluster_node && cargo build --example chatroom --example conformance)

cd "$here"
if [ ! -d node_modules/@socket.io/redis-adapter ] || [ ! -d node_modules/@socket.io/redis-emitter ]; then
  npm ci --no-audit --no-fund
fi

if [ "$#" -eq 0 ]; then
  set -- tests/
fi
exec node --test --test-concurrency=1 "$@"
