#!/usr/bin/env bash
# Every test: the Rust suite (unit, property and integration tests over
# real sockets), then the real-client suites through e2e/run.sh: the browser
# suite (the socket.io 0.6 client and socket.io-client 4 in headless
# Chromium) and the client suite (npm's and PyPI's Engine.IO and Socket.IO
# clients against the conformance example). Needs /usr/bin/chromium, Node.js
# with npm, and python3 with venv (apt-get install chromium nodejs npm
# python3-venv); e2e/run.sh installs the npm and Python packages.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
bash e2e/run.sh
