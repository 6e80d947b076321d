#!/usr/bin/env bash
# Holds the C, C++ and HIP lines a change touches to .clang-format; lines the change does not
# touch are not judged (the tree was never machine-formatted as a whole).
#   scripts/check_format.sh [BASE]   BASE defaults to $MQA_FORMAT_BASE, else main
# The change is everything since the merge-base of BASE and HEAD, committed or not (what
# `git diff BASE...HEAD` shows, plus uncommitted edits of tracked files). Where BASE does not exist, or it is HEAD
# itself (a fresh clone of main), there is nothing to check, and it says so. Exit 1 on a line
# that clang-format-19 would write otherwise, with the diff that would fix it:
#   git diff -U0 "$(git merge-base main HEAD)" | clang-format-diff-19 -p1 -i   # apply it
set -euo pipefail
cd "$(dirname "$0")/.."
base="${1:-${MQA_FORMAT_BASE:-main}}"
exts='.*\.(c|cc|cpp|h|hpp|hip|cu|cuh)'
if ! command -v clang-format-diff-19 >/dev/null; then
  echo "check_format: clang-format-diff-19 not found (Debian package clang-format-19; scripts/setup_deps.sh installs it)" >&2
  exit 2
fi
if ! git rev-parse --verify -q "$base^{commit}" >/dev/null; then
  echo "check_format: no base '$base' in this clone: nothing checked"
  exit 0
fi
mb="$(git merge-base "$base" HEAD)"
if [ -z "$(git diff --name-only "$mb" -- '*.c' '*.cc' '*.cpp' '*.h' '*.hpp' '*.hip' '*.cu' '*.cuh')" ]; then
  echo "check_format: no C/C++/HIP change since $base ($(git rev-parse --short "$mb")): nothing checked"
  exit 0
fi
fix="$(git diff -U0 -M --no-color "$mb" | clang-format-diff-19 -p1 -iregex "$exts" -binary clang-format-19)" || true
if [ -n "$fix" ]; then
  printf '%s\n' "$fix"
  echo "check_format: lines changed since $base are not as .clang-format writes them (the diff above fixes them)" >&2
  exit 1
fi
echo "check_format: the lines changed since $base ($(git rev-parse --short "$mb")) follow .clang-format"
