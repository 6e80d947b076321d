#!/usr/bin/env bash
# Hostile `mqa-harness fuzz` options: each exits 2 at once with a message naming the option
# (they used to run a campaign of 1000, never end, or read '0/2x' as 0/2).
# Usage: cli_options_test.sh HARNESS
set -u
H=$1
fails=0
expect() {  # expect OPTION-NAME ARGS...: exit 2 and a message naming OPTION-NAME
  local name=$1; shift
  out=$(timeout 20 "$H" fuzz --kernel builtin-ref "$@" 2>&1); rc=$?
  if [ $rc -ne 2 ] || ! grep -q "invalid $name" <<<"$out"; then
    echo "FAIL: $* -> exit $rc: $out"; fails=$((fails + 1))
  else
    echo "ok: $* -> $(tail -1 <<<"$out")"
  fi
}
expect replay --replay ''
expect cases --cases -1
expect cases --cases 0
expect time --time nan
expect time --time inf
expect shard --shard 0/2x
expect shard --shard 2/2
expect shard --shard 0/0
expect max-failures --max-failures 0
"$H" fuzz --kernel builtin-ref --cases 3 --quiet > /dev/null 2>&1 || { echo "FAIL: a plain campaign"; fails=$((fails + 1)); }
[ $fails -eq 0 ] && echo "all option checks passed" || { echo "$fails option check(s) failed"; exit 1; }
