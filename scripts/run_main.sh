#!/usr/bin/env bash
# Fresh machine -> dependencies, build, and the main job on the CPU backend.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup_deps.sh
./scripts/build.sh -DMQA_BUILD_TESTS=OFF -DMQA_BUILD_BENCH=OFF
bin=${MQA_BUILD_DIR:-build}/mqa-harness
"$bin" selfcheck
