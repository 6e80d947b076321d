#!/usr/bin/env bash
# Configures and builds into ${MQA_BUILD_DIR:-build} (warnings are errors, as in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${MQA_BUILD_DIR:-build}
export PATH="$PATH:/usr/local/cuda/bin"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMQA_WERROR=ON "$@"
cmake --build "$build" -j "$(nproc)"
