#!/usr/bin/env bash
# Every test: the Rust suite (unit, property and integration tests over
# real sockets, the Redis adapter's against a real redis-server), then the
# browser suite (the real socket.io 0.6 client in headless Chromium), then
# the cluster suite (tornadio beside node socket.io servers on Redis, and
# behind HAProxy). Needs /usr/bin/chromium, redis-server and haproxy
# (apt-get install chromium redis-server haproxy).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
bash e2e/run.sh
bash e2e/cluster/run.sh
