#!/usr/bin/env bash
# Hostile `mqa-harness fuzz` options: each exits 2 at once with a message naming the option
# (they used to run a campaign of 1000, never end, or read '0/2x' as 0/2).
# Usage: cli_options_test.sh HARNESS
set -u
H=$1
fails=0
# Each must answer at once: "under a second" on this machine; the bound is loose (MQA_OPTION_SECONDS,
# default 5) so that a sanitizer build passes too, and far below the hangs it guards against.
limit=${MQA_OPTION_SECONDS:-5}
expect() {  # expect OPTION-NAME ARGS...: exit 2 and a message naming OPTION-NAME, within $limit s
  local name=$1; shift
  local t0=$(date +%s%N)
  out=$(timeout 20 "$H" fuzz --kernel builtin-ref "$@" 2>&1); rc=$?
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  if [ $rc -ne 2 ] || ! grep -q "invalid $name" <<<"$out"; then
    echo "FAIL: $* -> exit $rc: $out"; fails=$((fails + 1))
  elif [ $ms -gt $((limit * 1000)) ]; then
    echo "FAIL: $* -> took $ms ms (more than $limit s): $(tail -1 <<<"$out")"; fails=$((fails + 1))
  else
    echo "ok ($ms ms): $* -> $(tail -1 <<<"$out")"
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
# Hostile descriptors through --replay (issue 13 item 6): refused naming the field, at once.
base="op=paged_logits layout=standard B=16 D=32 Qb=32 H=8 next_n=1 lens=1d:[17,5] topk=8 seed=0x1"
expect lens --replay "op=paged_logits"                                  # no sequence (segfaulted)
expect stride --replay "$base stride=4611686018427387904 pages=4"       # 2^62: a 0-byte pool (segfaulted)
expect max_blocks --replay "$base max_blocks=2147483647 tpad=1"         # int32 overflow of the row stride
expect table --replay "$base max_blocks=2147483647 tpad=1 table=[1,2|3,4]"  # the same in the explicit-table check
expect pages --replay "$base pages=1e12"
expect pages --replay "$base pages=1000000000000"                       # (blamed a table entry nobody wrote)
expect pages --replay "$base pages=9223372036854775807"
expect lens --replay "${base/lens=1d:\[17,5\]/lens=1d:[2147483647]}"   # 2^31 tokens (hung)
expect M --replay "op=ragged_logits B=16 D=32 Qb=32 H=8 lens=1d:[17,5] M=10000000 topk=8"  # (hung: O(M^2))
expect pad_slots --replay "$base pad_slots=100000000"                   # (hung: O(n^2) insertion)
expect pad_slots --replay "$base pad_slots=1e8"
expect topk --replay "${base/topk=8/topk=2147483647}"                   # 16 GiB of top-k (bad_alloc)
expect max_ctx --replay "$base max_ctx=2147483647"
expect out_pad --replay "$base out_pad=2147483647"
expect H --replay "${base/H=8/H=2147483647}"                            # q and weights: 2^31 heads
# Files that are not regular files: each named for what it is, at once (a FIFO or /dev/zero used
# to hang `golden generate --cases` and `fuzz merge`; golden readers called all of them "no such file").
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/dir" && mkfifo "$T/fifo" && ln -s "$T/loop" "$T/loop"
names() {  # names WHAT TEXT CMD...: exit 2 within $limit s, the output holds TEXT
  local what=$1 text=$2; shift 2
  local t0=$(date +%s%N)
  out=$(timeout 20 "$@" 2>&1); rc=$?
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  if [ $rc -ne 2 ] || ! grep -qF -- "$text" <<<"$out" || [ $ms -gt $((limit * 1000)) ]; then
    echo "FAIL: $what -> exit $rc in $ms ms: $out"; fails=$((fails + 1))
  else
    echo "ok ($ms ms): $what -> $(tail -1 <<<"$out")"
  fi
}
for f in "dir:is a directory" "fifo:is a FIFO" "loop:is a symbolic link loop"; do
  p="$T/${f%%:*}" text=${f#*:}
  names "golden inspect ${f%%:*}" "$text" "$H" golden inspect "$p"
  names "golden generate --cases ${f%%:*}" "$text" "$H" golden generate --cases "$p" -o "$T/o.h5"
  names "fuzz merge ${f%%:*}" "$text" "$H" fuzz merge "$p"
done
names "golden verify /dev/zero" "is a character device" "$H" golden verify /dev/zero /dev/zero
names "fuzz merge /dev/zero" "is a character device" "$H" fuzz merge /dev/zero
"$H" fuzz --kernel builtin-ref --cases 3 --quiet > /dev/null 2>&1 || { echo "FAIL: a plain campaign"; fails=$((fails + 1)); }
[ $fails -eq 0 ] && echo "all option checks passed" || { echo "$fails option check(s) failed"; exit 1; }
