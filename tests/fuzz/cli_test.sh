#!/bin/bash
# End-to-end tests of `mqa-harness fuzz`: exit codes, sharding, a caught mutant with its repro
# file and replay command (which must fail again), bad input (exit 2), the exec: kernel, and
# targeted campaigns: constraints, --list-cases, honest results (--min-run), --json / --junit,
# `fuzz merge` of shards, shrink limits.
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
contains "summary table" "$T/pass.txt" "coverage (cases that ran)"
contains "verdict line" "$T/pass.txt" "RESULT: PASS"

"$H" fuzz --cases 100 --seed 5 --shard 1/2 > "$T/shard.txt" 2>&1
check "shard 1/2" 0 $?
contains "shard runs half the cases" "$T/shard.txt" "cases 50:"

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
# The same 1-ulp head-sum reordering is legitimate fp32 arithmetic: it passes the tolerance
# models, and the PASS says its margin; a wrong page does not pass them.
"$H" fuzz --kernel "$M/libmqa_mutant_headsum_sequential.so" --cases 40 --seed 5 --ops paged_logits --compare tolerance:fp8_mma > "$T/tol.txt" 2>&1
check "a reordered head sum passes tolerance:fp8_mma" 0 $?
contains "margin on PASS" "$T/tol.txt" "margin: worst observed/bound of the passing cases"
"$H" fuzz --kernel "$M/libmqa_mutant_page_off_by_one.so" --cases 40 --seed 5 --ops paged_logits --compare tolerance:fp8_mma --no-shrink > "$T/tol_bad.txt" 2>&1
check "a wrong page fails tolerance:fp8_mma" 1 $?
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
# A plugin that leaves a grandchild holding the result pipe: the case still ends when its child
# does (the parent polls; the child's process group is killed), and nothing is left running.
# Only this campaign's processes are counted (they inherit MQA_CLI_TEST_MARK): other tests running
# at the same time start mqa-harness processes of their own. Zombies are dead.
mark="grandchild-$$-$RANDOM"
live_harnesses() {
  local n=0 p
  for p in $(ps -eo pid=,stat=,comm= | awk '$3 == "mqa-harness" && $2 !~ /^Z/ {print $1}'); do
    tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "MQA_CLI_TEST_MARK=$mark" && n=$((n + 1))
  done
  echo $n
}
before=$(live_harnesses)
t0=$(date +%s)
MQA_CLI_TEST_MARK=$mark timeout 60 "$H" fuzz --kernel "$M/libmqa_mutant_fork_grandchild.so" --ops ragged_logits --cases 3 --case-timeout 30 \
  --no-shrink --repro-dir "" > "$T/grandchild.txt" 2>&1
check "a kernel that forks a lingering grandchild still passes" 0 $?
secs=$(( $(date +%s) - t0 ))
[ $secs -lt 20 ] && echo "ok: its cases did not wait for the grandchild (${secs}s)" \
  || { echo "FAIL: the campaign waited for the grandchild (${secs}s)"; fails=$((fails + 1)); }
sleep 0.5
after=$(live_harnesses)
[ "$after" -le "$before" ] && echo "ok: no grandchild left running" \
  || { echo "FAIL: $((after - before)) process(es) left running"; fails=$((fails + 1)); }
# A missing --repro-dir is created (parents too); one that cannot be is named.
rm -rf "$T/new_repro"
"$H" fuzz --kernel "$M/libmqa_mutant_page_off_by_one.so" --ops paged_logits --cases 30 --no-shrink \
  --repro-dir "$T/new_repro/sub" > "$T/repro_new.txt" 2>&1
check "a failing campaign with a new --repro-dir" 1 $?
ls "$T"/new_repro/sub/mqa-fuzz-repro-*.h5 > /dev/null 2>&1 && echo "ok: the missing --repro-dir was created" \
  || { echo "FAIL: no repro file in the new --repro-dir"; cat "$T/repro_new.txt"; fails=$((fails + 1)); }
touch "$T/a_file"
"$H" fuzz --kernel "$M/libmqa_mutant_page_off_by_one.so" --ops paged_logits --cases 30 --no-shrink \
  --repro-dir "$T/a_file/sub" > "$T/repro_bad.txt" 2>&1
contains "an impossible --repro-dir is named" "$T/repro_bad.txt" "--repro-dir '$T/a_file/sub' could not be created"
# A plugin whose static constructor crashes: a clear error naming it, not the harness's crash.
"$H" fuzz --kernel "$M/libmqa_mutant_crash_on_load.so" --cases 3 --repro-dir "" > "$T/crash_load.txt" 2>&1
check "a plugin that crashes while loading is refused" 2 $?
contains "the load crash is named" "$T/crash_load.txt" "crashed in its static initialisation"

"$H" fuzz --shard 3/2 > /dev/null 2>&1; check "bad shard" 2 $?
"$H" fuzz --replay 'B=x' > "$T/bad.txt" 2>&1; check "bad descriptor" 2 $?
contains "message names the field" "$T/bad.txt" "invalid B = 'x'"
"$H" fuzz --kernel /nonexistent.so --cases 1 > /dev/null 2>&1; check "missing plugin" 2 $?
"$H" fuzz --time abc > /dev/null 2>&1; check "bad time" 2 $?
"$H" fuzz --ops fuzzing > /dev/null 2>&1; check "bad op" 2 $?
"$H" fuzz --compare nonsense --cases 1 > /dev/null 2>&1; check "bad compare mode" 2 $?

# ---- exec kernels (fuzz/README.md "exec protocol") -------------------------------------------
# The stand-in finds golden/python next to itself: no MQA_GOLDEN_PYTHON needed.
unset MQA_GOLDEN_PYTHON
STANDIN="/usr/bin/python3 $SRC/tests/fuzz/exec_standin.py"
EXEC="exec:$STANDIN {in} {out}"
LOGITS="--ops paged_logits,ragged_logits --profile exact --max-tokens 300"
PY=/usr/bin/python3
"$H" fuzz --kernel "$EXEC" $LOGITS --cases 10 --seed 9 > "$T/exec.txt" 2>&1
check "exec stand-in kernel passes" 0 $?
MQA_STANDIN_BUG=1 "$H" fuzz --kernel "$EXEC" --ops paged_logits --profile exact --cases 10 --seed 9 \
  --max-tokens 300 --shrink-time 20 --repro-dir "" > "$T/exec_bug.txt" 2>&1
check "exec stand-in with a planted bug is caught" 1 $?
contains "exec failure names the dataset" "$T/exec_bug.txt" "logits"
# The input file holds no expected output: a program that copies what it finds cannot pass.
MQA_STANDIN_BUG=copy "$H" fuzz --kernel "$EXEC" $LOGITS --cases 3 --seed 9 --no-shrink --repro-dir "" \
  > "$T/exec_copy.txt" 2>&1
check "an exec program that copies the expected outputs fails" 1 $?
# A candidate holding only a copy of an input (the cache) is missing its output: a failure naming it.
MQA_STANDIN_BUG=cache_only "$H" fuzz --kernel "$EXEC" --ops paged_logits --profile exact --max-tokens 200 \
  --cases 2 --seed 9 --no-shrink --repro-dir "" > "$T/exec_cache_only.txt" 2>&1
check "an exec candidate without its logits fails" 1 $?
contains "the missing output is named" "$T/exec_cache_only.txt" "logits': missing"
# What the program gets: an input file, the case's inputs, the logits buffer all sentinel.
"$H" fuzz --replay "$("$H" fuzz --ops paged_logits --profile exact --max-tokens 100 --cases 1 --seed 9 --list-cases 2>/dev/null)" \
  --kernel "exec:cp {in} $T/input.h5; : {out}; exit 77" --min-run 0 > "$T/exec_keep.txt" 2>&1
check "an exec command may keep its input file" 0 $?
$PY - "$T/input.h5" "$SRC/golden/python" <<'PYEOF'
import sys
import numpy as np
sys.path.insert(0, sys.argv[2])
import mqa_golden as mg
(c,) = mg.load(sys.argv[1], kind="input").values()
ok = c.attrs["op"] == "paged_logits" and not any(k in c for k in ("topk", "gathered_values", "gathered_scales"))
ok &= c["logits"].shape == (c.attrs["rows"], c.attrs["logits_row_stride"])
ok &= bool(np.all(c["logits"].view(np.uint32) == np.uint32(c.attrs["logits_sentinel"])))
ok &= all(k in c for k in ("q", "weights", "cache", "page_ids", "block_table", "context_lens", "logits_regions"))
sys.exit(0 if ok else 1)
PYEOF
check "the input file holds the inputs and a sentinel-filled logits buffer, no expected output" 0 $?
"$H" golden verify "$T/input.h5" "$T/input.h5" > "$T/verify_input.txt" 2>&1
check "an input file is no golden file for verify" 2 $?
contains "verify names the kind" "$T/verify_input.txt" "kind = input; expected a golden file"
# Writes past L_r: caught under the default --writes defined, accepted with --writes columns.
MQA_STANDIN_BUG=garbage "$H" fuzz --kernel "$EXEC" $LOGITS --cases 10 --seed 9 --no-shrink --repro-dir "" \
  > "$T/exec_garbage.txt" 2>&1
check "exec writes past L_r fail under --writes defined" 1 $?
contains "the sentinel check names it" "$T/exec_garbage.txt" "sentinel"
MQA_STANDIN_BUG=garbage "$H" fuzz --kernel "$EXEC" $LOGITS --cases 10 --seed 9 --writes columns > "$T/exec_cols.txt" 2>&1
check "exec writes past L_r pass with --writes columns" 0 $?
# One ulp off: not bit-exact, but within the tolerance models, and the PASS says its margin.
MQA_STANDIN_BUG=ulp "$H" fuzz --kernel "$EXEC" $LOGITS --cases 10 --seed 9 --compare tolerance > "$T/exec_ulp.txt" 2>&1
check "exec: one ulp off passes tolerance" 0 $?
contains "exec: margin on PASS" "$T/exec_ulp.txt" "margin: worst observed/bound of the passing cases"
MQA_STANDIN_BUG=ulp "$H" fuzz --kernel "$EXEC" $LOGITS --cases 10 --seed 9 --no-shrink > /dev/null 2>&1
check "exec: one ulp off fails bitwise" 1 $?
MQA_STANDIN_BUG=unpadded "$H" fuzz --kernel "$EXEC" $LOGITS --cases 10 --seed 9 > "$T/exec_unpadded.txt" 2>&1
check "exec unpadded [rows, max_context_len] logits are accepted" 0 $?
# The real pool reaches the program: a 32-bit page offset fails on a pool past 2^32 bytes.
MQA_STANDIN_BUG=offset32 "$H" fuzz --kernel "$EXEC" --ops paged_logits --profile exact --cases 40 --seed 2 \
  --no-shrink --repro-dir "" > "$T/exec_off32.txt" 2>&1
check "exec 32-bit page offsets are caught" 1 $?
# Hangs: isolated by default; the command's whole process group (grandchildren too) is killed at
# --case-timeout, in a campaign and in --replay; nothing is left running.
one=$("$H" fuzz --ops paged_logits --profile exact --max-tokens 100 --cases 1 --seed 9 --list-cases 2>/dev/null)
TAG="mqa-cli-test-$$-$RANDOM"
no_leftovers() {  # no_leftovers NAME
  sleep 0.3
  left=$(pgrep -f "$TAG")
  if [ -z "$left" ]; then echo "ok: $1 leaves no process behind"; else
    echo "FAIL: $1 left processes behind:"; ps -o pid,pgid,args -p $left; kill -9 $left; fails=$((fails + 1)); fi
}
for mode in hang hang_child; do
  t0=$(date +%s)
  MQA_STANDIN_BUG=$mode timeout 20 "$H" fuzz --kernel "exec:$STANDIN {in} {out} $TAG" $LOGITS --cases 2 --seed 9 \
    --case-timeout 2 --no-shrink --repro-dir "" > "$T/exec_$mode.txt" 2>&1
  check "exec $mode: TIMEOUT" 1 $?
  contains "exec $mode: timeout verdict" "$T/exec_$mode.txt" "TIMEOUT on case"
  contains "exec $mode: the group was killed" "$T/exec_$mode.txt" "its process group was killed"
  secs=$(( $(date +%s) - t0 ))
  [ $secs -lt 10 ] && echo "ok: exec $mode came back in ${secs}s" || { echo "FAIL: exec $mode took ${secs}s"; fails=$((fails + 1)); }
  no_leftovers "exec $mode"
  t0=$(date +%s)
  MQA_STANDIN_BUG=$mode timeout 20 "$H" fuzz --replay "$one" --kernel "exec:$STANDIN {in} {out} $TAG" \
    --case-timeout 2 --repro-dir "" > "$T/exec_replay_$mode.txt" 2>&1
  check "exec $mode --replay: TIMEOUT" 1 $?
  contains "exec $mode --replay: timeout verdict" "$T/exec_replay_$mode.txt" "TIMEOUT: command"
  secs=$(( $(date +%s) - t0 ))
  [ $secs -lt 10 ] && echo "ok: exec $mode --replay honours --case-timeout (${secs}s)" \
    || { echo "FAIL: exec $mode --replay took ${secs}s"; fails=$((fails + 1)); }
  no_leftovers "exec $mode --replay"
done
# A harness stopped by SIGTERM (or Ctrl-C) takes the running command's group with it.
MQA_STANDIN_BUG=hang_child "$H" fuzz --kernel "exec:$STANDIN {in} {out} $TAG" $LOGITS --cases 1 --case-timeout 15 \
  --repro-dir "" > "$T/exec_term.txt" 2>&1 &
hp=$!
sleep 3
t0=$(date +%s)
kill -TERM $hp
wait $hp
check "a harness stopped by SIGTERM ends by it" 143 $?
secs=$(( $(date +%s) - t0 ))
[ $secs -lt 5 ] && echo "ok: SIGTERM ended the harness at once (${secs}s)" || { echo "FAIL: SIGTERM took ${secs}s"; fails=$((fails + 1)); }
no_leftovers "a harness stopped by SIGTERM"
# exec-worker: one process for the campaign, one line per case.
WORKER="exec-worker:$STANDIN --worker $TAG"
"$H" fuzz --kernel "$WORKER" $LOGITS --cases 10 --seed 9 > "$T/worker.txt" 2>&1
check "exec-worker stand-in passes" 0 $?
MQA_STANDIN_BUG=1 "$H" fuzz --kernel "$WORKER" --ops paged_logits --profile exact --cases 10 --seed 9 \
  --max-tokens 300 --no-shrink --repro-dir "" > "$T/worker_bug.txt" 2>&1
check "exec-worker with a planted bug is caught" 1 $?
"$H" fuzz --kernel "$WORKER" --ops quant_cache --cases 3 --min-run 0 > "$T/worker_unsup.txt" 2>&1
check "exec-worker: unsupported cases" 0 $?
contains "exec-worker: the reason is kept" "$T/worker_unsup.txt" "the stand-in computes exact-profile logits only"
t0=$(date +%s)
MQA_STANDIN_HANG_ONCE="$T/hung_once" timeout 20 "$H" fuzz --kernel "$WORKER" $LOGITS --cases 4 --seed 9 --case-timeout 2 \
  --no-shrink --max-failures 9 --repro-dir "" > "$T/worker_hang.txt" 2>&1
check "exec-worker hang: TIMEOUT" 1 $?
contains "exec-worker hang: the next cases run on a new worker" "$T/worker_hang.txt" "ran 4 (passed 3, FAILED 1)"
secs=$(( $(date +%s) - t0 ))
[ $secs -lt 15 ] && echo "ok: exec-worker hang came back in ${secs}s" || { echo "FAIL: exec-worker hang took ${secs}s"; fails=$((fails + 1)); }
no_leftovers "exec-worker hang"
# bad exec specs name the option and the value
"$H" fuzz --kernel "exec:$STANDIN {in}" --cases 1 > "$T/exec_bad.txt" 2>&1; check "exec without {out}" 2 $?
contains "exec without {out}: message" "$T/exec_bad.txt" "invalid --kernel = 'exec:$STANDIN {in}': an exec command needs both {in} and {out}"
"$H" fuzz --kernel "exec-worker:$STANDIN {in} {out}" --cases 1 > "$T/worker_bad.txt" 2>&1; check "exec-worker with {in}" 2 $?
contains "exec-worker with {in}: message" "$T/worker_bad.txt" "an exec-worker command takes no {in} / {out}"

# ---- targeted campaigns ------------------------------------------------------------------------
PY=/usr/bin/python3
"$H" fuzz --help > "$T/help.txt" 2>&1
check "fuzz --help" 0 $?
for mode in "bitwise | ulp:N | tolerance:fp32 | tolerance:fp8_mma" ",zero_sign_equal ,bf16_out ,calc_diff:X" \
    "'Tolerance models'" "--page-sizes" "--lens-2d" "--min-run" "--list-cases" "--junit"; do
  contains "help documents $mode" "$T/help.txt" "$mode"
done
"$H" fuzz merge --help > /dev/null 2>&1; check "fuzz merge --help" 0 $?

# --list-cases: the campaign's own cases (same options, seed, shard), for golden generate
"$H" fuzz --cases 30 --seed 8 --shard 1/3 --ops paged_logits,gather --max-tokens 200 --list-cases > "$T/list.txt" 2> "$T/list_err.txt"
check "list-cases" 0 $?
[ "$(wc -l < "$T/list.txt")" = 10 ] && echo "ok: list-cases lists the shard's 10 cases" || { echo "FAIL: list-cases count"; cat "$T/list.txt"; fails=$((fails + 1)); }
"$H" fuzz --cases 30 --seed 8 --shard 1/3 --ops paged_logits,gather --max-tokens 200 --json "$T/listed_run.json" --quiet > /dev/null 2>&1
check "the listed campaign runs" 0 $?
$PY - "$T/list.txt" "$T/listed_run.json" <<'PYEOF'
import json, sys
listed = open(sys.argv[1]).read().split("\n")[:-1]
ran = [c["descriptor"] for c in json.load(open(sys.argv[2]))["cases"]]
sys.exit(0 if listed == ran else 1)
PYEOF
check "list-cases prints exactly the cases the campaign runs" 0 $?
"$H" fuzz --kernel "$M/libmqa_shaped_mixed.so" --cases 40 --seed 3 --max-tokens 200 --list-cases > "$T/list_mixed.txt" 2>/dev/null
check "list-cases of a kernel with a narrow support set" 0 $?
"$H" fuzz --kernel "$M/libmqa_shaped_mixed.so" --cases 40 --seed 3 --max-tokens 200 --json "$T/mixed_run.json" --quiet > /dev/null 2>&1
$PY - "$T/list_mixed.txt" "$T/mixed_run.json" <<'PYEOF'
import json, sys
listed = open(sys.argv[1]).read().split("\n")[:-1]
cases = json.load(open(sys.argv[2]))["cases"]
ran = [c["descriptor"] for c in cases if c["verdict"] != "unsupported"]
sys.exit(0 if listed == ran and len(listed) >= 36 else 1)
PYEOF
check "list-cases lists what that kernel runs (narrowed, redrawn)" 0 $?
"$H" fuzz --kernel "$M/libmqa_shaped_none.so" --cases 5 --list-cases > "$T/list_none.txt" 2> "$T/list_none_err.txt"
check "list-cases of a kernel that supports nothing" 1 $?
[ ! -s "$T/list_none.txt" ] && echo "ok: nothing listed" || { echo "FAIL: listed unsupported cases"; fails=$((fails + 1)); }
contains "list-cases says why" "$T/list_none_err.txt" "5x this test kernel supports no case"
"$H" golden generate --cases "$T/list.txt" -o "$T/listed.h5" > /dev/null 2>&1
check "golden generate takes the listed cases" 0 $?
"$H" fuzz --cases 200 --profile deepgemm_sm90 --list-cases > "$T/dg.txt" 2>/dev/null
[ "$(grep -c 'profile=deepgemm_sm90' "$T/dg.txt")" = 200 ] && echo "ok: --profile deepgemm_sm90 draws only that profile" \
  || { echo "FAIL: --profile deepgemm_sm90 drew $(grep -c 'profile=deepgemm_sm90' "$T/dg.txt") of 200"; fails=$((fails + 1)); }
! grep -qE 'op=(quant_cache|gather)' "$T/dg.txt" && echo "ok: a forced profile draws only the logits ops" \
  || { echo "FAIL: a forced profile drew quant_cache/gather"; fails=$((fails + 1)); }
"$H" fuzz --cases 100 --page-sizes 64,16 --heads 32,64 --head-dims 128 --next-n 2 --encodings e4m3fn --lens-2d on \
  --batch 2 --max-len 300 --list-cases > "$T/dgc.txt" 2>/dev/null
$PY - "$T/dgc.txt" <<'PYEOF'
import re, sys
lines = open(sys.argv[1]).read().split("\n")[:-1]
def field(l, k): return re.search(r"(?:^| )" + k + r"=(\S+)", l).group(1)
ok = len(lines) == 100
for l in lines:
    lens = [int(x) for x in re.split(r"[,|]", field(l, "lens")[4:-1]) if x]
    ok &= field(l, "op") == "paged_logits" and field(l, "B") in ("64", "16") and field(l, "H") in ("32", "64")
    ok &= field(l, "D") == "128" and field(l, "next_n") == "2" and field(l, "enc") == "e4m3fn"
    ok &= field(l, "lens").startswith("2d:") and len(lens) <= 2 * 2 and max(lens) <= 300
sys.exit(0 if ok else 1)
PYEOF
check "constraint options restrict every listed case" 0 $?
"$H" fuzz --profile deepgemm_sm90 --ops quant_cache,paged_logits --cases 3 > "$T/contra.txt" 2>&1
check "a forced profile with an op that takes none" 2 $?
contains "contradiction names the options" "$T/contra.txt" "invalid --ops = quant_cache: quant_cache takes no profile, and --profile deepgemm_sm90"
"$H" fuzz --layouts preshuffle16 --page-sizes 1 --cases 3 > "$T/contra2.txt" 2>&1
check "a layout no page size fits" 2 $?
contains "names --layouts and --page-sizes" "$T/contra2.txt" "invalid --layouts = preshuffle16: needs a page size that is a multiple of 16, and --page-sizes 1"
"$H" fuzz --page-sizes 64,x --cases 3 > "$T/bad_list.txt" 2>&1; check "bad --page-sizes item" 2 $?
contains "bad item named" "$T/bad_list.txt" "invalid --page-sizes = 'x'"
"$H" fuzz --heads 3 --cases 3 > "$T/bad_heads.txt" 2>&1; check "bad --heads value" 2 $?
contains "bad value named" "$T/bad_heads.txt" "invalid --heads = 3: H must be a power of two"
"$H" fuzz --lens-2d maybe --cases 3 > /dev/null 2>&1; check "bad --lens-2d" 2 $?
"$H" fuzz --encodings e5m2 --cases 3 > /dev/null 2>&1; check "bad --encodings" 2 $?
"$H" fuzz --time 5s --list-cases > /dev/null 2>&1; check "--list-cases needs --cases" 2 $?

# honest results: a kernel that runs nothing never passes
"$H" fuzz --kernel "$M/libmqa_shaped_none.so" --cases 20 --json "$T/none.json" --junit "$T/none.xml" > "$T/none.txt" 2>&1
check "a kernel that supports nothing: exit 1" 1 $?
contains "says why nothing ran" "$T/none.txt" "0 of 20 cases ran: 20 unsupported (reasons: 20x this test kernel supports no case)"
! grep -q "RESULT: PASS" "$T/none.txt" && echo "ok: no RESULT: PASS when nothing ran" || { echo "FAIL: PASS printed"; fails=$((fails + 1)); }
$PY -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; sys.exit(0 if (s["result"], s["ran"], s["unsupported"]) == ("inconclusive", 0, 20) else 1)' "$T/none.json"
check "the JSON says inconclusive" 0 $?
$PY -c 'import sys, xml.dom.minidom as m; d=m.parse(sys.argv[1]); sys.exit(0 if len(d.getElementsByTagName("skipped")) == 20 and len(d.getElementsByTagName("failure")) == 1 else 1)' "$T/none.xml"
check "JUnit: 20 skipped and a failing 'enough cases ran'" 0 $?
"$H" fuzz --kernel "$M/libmqa_shaped_none.so" --cases 20 --min-run 0 > /dev/null 2>&1
check "--min-run 0 accepts a campaign that ran nothing" 0 $?
"$H" fuzz --cases 10 --min-run 11 > "$T/few.txt" 2>&1
check "fewer cases than --min-run" 1 $?
contains "min-run named" "$T/few.txt" "10 of 10 cases ran; --min-run asks for 11"
"$H" fuzz --kernel builtin-hip --cases 20 > "$T/hip.txt" 2>&1; rc=$?
if grep -q "no GPU" "$T/hip.txt"; then
  check "builtin-hip without a GPU is not a pass" 1 $rc
  contains "builtin-hip says why" "$T/hip.txt" "0 of 20 cases ran: 20 unsupported (reasons: 20x no GPU"
else
  check "builtin-hip on a GPU" 0 $rc
fi

# --json / --junit of a failing campaign, shrink limits
"$H" fuzz --kernel "$M/libmqa_mutant_crash_on_long_rows.so" --ops paged_logits --cases 200 --seed 5 --repro-dir "" \
  --shrink-steps 2 --json "$T/crash.json" --junit "$T/crash.xml" > "$T/crash2.txt" 2>&1
check "a shrink cut short still fails" 1 $?
contains "the shrink says it was cut short" "$T/crash2.txt" "shrink stopped at the 2-step limit after 2 steps; the case may not be minimal: continue with"
$PY - "$T/crash.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
f = j["failures"][0]
ok = j["summary"]["result"] == "fail" and f["verdict"] == "CRASH" and f["shrink_limit_hit"] and f["shrink_stop"] == "step_limit"
ok &= f["shrink_steps"] == 2 and "--shrink-steps 2000" in f["shrink_continue"] and f["replay"].startswith("mqa-harness fuzz --replay")
ok &= len(j["coverage"]) > 0 and j["summary"]["ran"] == 1
sys.exit(0 if ok else 1)
PYEOF
check "the JSON holds the failure and its shrink limit" 0 $?
$PY -c 'import sys, xml.dom.minidom as m; d=m.parse(sys.argv[1]); f=d.getElementsByTagName("failure"); sys.exit(0 if len(f) == 1 and f[0].getAttribute("type") == "CRASH" else 1)' "$T/crash.xml"
check "JUnit of a crash is well-formed XML with one failure" 0 $?
cont=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["failures"][0]["shrink_continue"])' "$T/crash.json" | sed "s|^mqa-harness|\"$H\"|")
eval "$cont --shrink-time 100000 --repro-dir ''" > "$T/cont.txt" 2>&1  # only the steps bound it
check "continuing the shrink fails again" 1 $?
contains "continuing the shrink reaches the smallest crashing case" "$T/cont.txt" "lens=1d:[100] "

# fuzz merge: 3 shards = the unsharded campaign
"$H" fuzz --kernel "$M/libmqa_shaped_mixed.so" --cases 60 --seed 4 --max-tokens 200 --json "$T/all.json" --quiet > /dev/null 2>&1
check "unsharded campaign" 0 $?
for i in 0 1 2; do
  "$H" fuzz --kernel "$M/libmqa_shaped_mixed.so" --cases 60 --seed 4 --max-tokens 200 --shard $i/3 --json "$T/s$i.json" --quiet > /dev/null 2>&1
  check "shard $i/3" 0 $?
done
"$H" fuzz merge "$T/s2.json" "$T/s0.json" "$T/s1.json" --json "$T/merged.json" --junit "$T/merged.xml" > "$T/merge.txt" 2>&1
check "merge of 3 shards" 0 $?
contains "merge summary" "$T/merge.txt" "shards 0,1,2 of 3 merged"
$PY - "$T/all.json" "$T/merged.json" <<'PYEOF'
import json, sys
a, m = (json.load(open(p)) for p in sys.argv[1:3])
keys = ["cases", "ran", "passed", "failed", "unsupported", "skipped_before_draw", "result"]
ok = all(a["summary"][k] == m["summary"][k] for k in keys) and a["summary"]["skipped_before_draw"] > 0
ok &= a["coverage"] == m["coverage"] and [c["descriptor"] for c in a["cases"]] == [c["descriptor"] for c in m["cases"]]
sys.exit(0 if ok else 1)
PYEOF
check "merged shards equal the unsharded campaign in counts and coverage" 0 $?
$PY -c 'import sys, xml.dom.minidom as m; sys.exit(0 if len(m.parse(sys.argv[1]).getElementsByTagName("testcase")) == 60 else 1)' "$T/merged.xml"
check "merged JUnit has a testcase per case" 0 $?
"$H" fuzz merge "$T/s0.json" "$T/s2.json" > "$T/merge_missing.txt" 2>&1
check "merge with a missing shard" 1 $?
contains "names the missing shard" "$T/merge_missing.txt" "missing shards 1/3"
"$H" fuzz merge "$T/s0.json" "$T/s0.json" > "$T/merge_dup.txt" 2>&1
check "merge of one shard twice" 2 $?
contains "names the duplicate" "$T/merge_dup.txt" "invalid shard = 0/3: is in both"
"$H" fuzz --kernel "$M/libmqa_shaped_mixed.so" --cases 60 --seed 5 --max-tokens 200 --shard 1/3 --json "$T/other.json" --quiet > /dev/null 2>&1
"$H" fuzz merge "$T/s0.json" "$T/other.json" > "$T/merge_seed.txt" 2>&1
check "merge of shards of two campaigns" 2 $?
contains "names the seed" "$T/merge_seed.txt" "invalid seed = '5' in $T/other.json: differs from '4'"
"$H" fuzz merge "$T/list.txt" > /dev/null 2>&1; check "merge of a file that is no result" 2 $?
"$H" fuzz merge "$T/nonexistent.json" > /dev/null 2>&1; check "merge of a missing file" 2 $?

[ $fails -eq 0 ] && echo "all fuzz CLI checks passed" || echo "$fails fuzz CLI check(s) failed"
exit $fails
