#!/usr/bin/env bash
# Fresh machine -> dependencies, build, and the main job on the CPU backend:
#   1. the reference's self-check on the built-in edge suite;
#   2. the golden check: every stored golden case regenerated from the reference, diffed dataset by dataset;
#   3. a fuzz campaign of the built-in reference kernel through the kernel-under-test ABI.
# Each step prints a summary table; the script fails if any step does.
# MQA_FUZZ_CASES (default 3000) and MQA_FUZZ_SEED (default 1) size the campaign.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup_deps.sh
./scripts/build.sh -DMQA_BUILD_TESTS=OFF -DMQA_BUILD_BENCH=OFF
bin=${MQA_BUILD_DIR:-build}/mqa-harness
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== 1/3 selfcheck"
"$bin" selfcheck

echo "== 2/3 golden check (golden/data regenerated from the reference and diffed)"
for suite in smoke edge deployed; do
  "$bin" golden generate --suite "$suite" --out "$tmp/$suite.h5" --no-progress > /dev/null
  "$bin" golden diff "golden/data/$suite.h5" "$tmp/$suite.h5" | tail -n 1
done

echo "== 3/3 fuzz campaign: builtin-ref"
"$bin" fuzz --kernel builtin-ref --cases "${MQA_FUZZ_CASES:-3000}" --seed "${MQA_FUZZ_SEED:-1}" --repro-dir "$tmp"
echo "main job: PASS"
