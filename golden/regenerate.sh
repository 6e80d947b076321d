#!/bin/sh
# Regenerate the golden corpus on purpose: golden/regenerate.sh BUILD_DIR
# Lists every dataset whose bytes changed; review the list, then commit golden/data/.
set -eu
build=${1:?usage: golden/regenerate.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
tool="$build/golden/mqa-golden"
[ -x "$tool" ] || { echo "no $tool: build the target mqa-golden first" >&2; exit 2; }
for suite in smoke edge deployed; do
  echo "== $suite"
  "$tool" golden generate --suite "$suite" --out "$here/data/$suite.h5" --force --no-progress
done
du -b "$here"/data/*.h5
