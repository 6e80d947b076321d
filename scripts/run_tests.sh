#!/usr/bin/env bash
# Fresh machine -> dependencies, build, the whole CTest suite. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup_deps.sh
./scripts/build.sh
ctest --test-dir "${MQA_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)"
