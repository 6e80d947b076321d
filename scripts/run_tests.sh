#!/usr/bin/env bash
# Fresh machine -> dependencies, format of the changed lines, build, the whole CTest suite, then the sanitizer job.
# CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup_deps.sh
# The lines this branch changes against main follow .clang-format (a second; nothing on main itself).
./scripts/check_format.sh
./scripts/build.sh
ctest --test-dir "${MQA_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)"
# The sanitizer job: the same suite built with clang under ASan + UBSan, and the libFuzzer
# targets for a few seconds each (its own build folder; MQA_SANITIZERS=0 skips it).
[ "${MQA_SANITIZERS:-1}" = 0 ] || ./scripts/run_sanitizers.sh
