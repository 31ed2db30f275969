#!/usr/bin/env bash
# Every test: the Rust suite (unit, property and integration tests over
# real sockets, the Redis adapter's against a real redis-server), then the
# real-client suites through e2e/run.sh: the browser suite (the socket.io
# 0.6 and 0.9 clients and socket.io-client 4 in headless Chromium) and the
# client suite (npm's and PyPI's Engine.IO and Socket.IO clients against the
# conformance example), then the cluster suite (tornadio beside node
# socket.io servers on Redis, and behind HAProxy). Needs /usr/bin/chromium,
# Node.js with npm, python3 with venv, redis-server and haproxy
# (apt-get install chromium nodejs npm python3-venv redis-server haproxy);
# e2e/run.sh installs the npm and Python packages.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
bash e2e/run.sh
bash e2e/cluster/run.sh
