#!/bin/bash
# End-to-end tests of `mqa-harness fuzz`: exit codes, sharding, a caught mutant with its repro
# file and replay command (which must fail again), bad input (exit 2), and the exec: kernel.
# Usage: cli_test.sh HARNESS MUTANT_DIR SOURCE_DIR
set -u
H=$1 M=$2 SRC=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
check() {  # check NAME EXPECTED_RC ACTUAL_RC
  if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, expected $2"; fails=$((fails + 1)); else echo "ok: $1 (exit $3)"; fi
}
contains() {  # contains NAME FILE TEXT
  if grep -qF -- "$3" "$2"; then echo "ok: $1"; else echo "FAIL: $1: '$3' not in output"; cat "$2"; fails=$((fails + 1)); fi
}

"$H" fuzz --cases 150 --seed 5 --progress-interval 0.2 > "$T/pass.txt" 2>&1
check "reference campaign passes" 0 $?
contains "progress line" "$T/pass.txt" "cases/s"
contains "summary table" "$T/pass.txt" "coverage class"
contains "verdict line" "$T/pass.txt" "RESULT: PASS"

"$H" fuzz --cases 100 --seed 5 --shard 1/2 > "$T/shard.txt" 2>&1
check "shard 1/2" 0 $?
contains "shard runs half the cases" "$T/shard.txt" "cases 50 "

"$H" fuzz --kernel "$M/libmqa_mutant_headsum_sequential.so" --cases 100 --seed 5 --repro-dir "$T" > "$T/mut.txt" 2>&1
check "mutant is caught" 1 $?
contains "comparator report" "$T/mut.txt" "ulp histogram"
contains "repro file" "$T/mut.txt" "repro file (golden schema v1): $T/"
replay=$(grep '^replay: mqa-harness fuzz --replay' "$T/mut.txt" | head -1 | sed "s|^replay: mqa-harness|\"$H\"|")
[ -n "$replay" ] || { echo "FAIL: no replay command"; fails=$((fails + 1)); }
eval "$replay" > "$T/replay.txt" 2>&1
check "replay fails again" 1 $?
eval "${replay/libmqa_mutant_headsum_sequential.so/libmqa_mutant_control.so}" > /dev/null 2>&1
check "the same case passes on the control" 0 $?
repro=$(ls "$T"/mqa-fuzz-repro-*.h5 | head -1)
"$H" golden inspect "$repro" > "$T/inspect.txt" 2>&1
check "repro file is a valid golden file" 0 $?

"$H" fuzz --kernel "$M/libmqa_mutant_crash_on_long_rows.so" --ops paged_logits --cases 200 --seed 5 \
  --repro-dir "" > "$T/crash.txt" 2>&1
check "a crashing kernel is a failure, not the end of the campaign" 1 $?
contains "crash verdict" "$T/crash.txt" "CRASH on case"
contains "signal named" "$T/crash.txt" "signal 11"
contains "crash shrunk to the smallest crashing case" "$T/crash.txt" "lens=1d:[100] "
"$H" fuzz --kernel "$M/libmqa_mutant_hang_on_ragged.so" --ops ragged_logits --cases 5 --case-timeout 1 --no-shrink \
  --repro-dir "" > "$T/hang.txt" 2>&1
check "a hanging kernel times out" 1 $?
contains "timeout verdict" "$T/hang.txt" "TIMEOUT on case"

"$H" fuzz --shard 3/2 > /dev/null 2>&1; check "bad shard" 2 $?
"$H" fuzz --replay 'B=x' > "$T/bad.txt" 2>&1; check "bad descriptor" 2 $?
contains "message names the field" "$T/bad.txt" "invalid B = 'x'"
"$H" fuzz --kernel /nonexistent.so --cases 1 > /dev/null 2>&1; check "missing plugin" 2 $?
"$H" fuzz --time abc > /dev/null 2>&1; check "bad time" 2 $?
"$H" fuzz --ops fuzzing > /dev/null 2>&1; check "bad op" 2 $?
"$H" fuzz --compare nonsense --cases 1 > /dev/null 2>&1; check "bad compare mode" 2 $?

EXEC="exec:/usr/bin/python3 $SRC/tests/fuzz/exec_standin.py {in} {out}"
export MQA_GOLDEN_PYTHON="$SRC/golden/python"
"$H" fuzz --kernel "$EXEC" --ops paged_logits,ragged_logits --profile exact --cases 10 --seed 9 --max-tokens 300 \
  > "$T/exec.txt" 2>&1
check "exec stand-in kernel passes" 0 $?
MQA_STANDIN_BUG=1 "$H" fuzz --kernel "$EXEC" --ops paged_logits --profile exact --cases 10 --seed 9 \
  --max-tokens 300 --shrink-time 20 --repro-dir "" > "$T/exec_bug.txt" 2>&1
check "exec stand-in with a planted bug is caught" 1 $?
contains "exec failure names the dataset" "$T/exec_bug.txt" "logits"

[ $fails -eq 0 ] && echo "all fuzz CLI checks passed" || echo "$fails fuzz CLI check(s) failed"
exit $fails
