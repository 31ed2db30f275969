#!/usr/bin/env bash
# Every test: the Rust suite (unit, property and integration tests over
# real sockets), then the browser suite (the real socket.io 0.6 client in
# headless Chromium). Needs /usr/bin/chromium (apt-get install chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
bash e2e/run.sh
