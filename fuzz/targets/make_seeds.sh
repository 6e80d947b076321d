#!/usr/bin/env bash
# Regenerates the golden seed corpus (corpus/golden/): small golden files written by
# `mqa-harness golden generate --cases`, and candidates of two of them (every checkable output,
# a verify PASS) written by golden_reader_fuzzer's MQA_FUZZ_MAKE_CANDIDATE mode.
# Usage: fuzz/targets/make_seeds.sh HARNESS GOLDEN_READER_FUZZER
#   e.g. fuzz/targets/make_seeds.sh build/mqa-harness build-libfuzzer/fuzz/targets/golden_reader_fuzzer
set -euo pipefail
H=${1:?usage: make_seeds.sh HARNESS GOLDEN_READER_FUZZER}
F=${2:?usage: make_seeds.sh HARNESS GOLDEN_READER_FUZZER}
out=$(cd "$(dirname "$0")" && pwd)/corpus/golden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gen() {  # gen NAME DESCRIPTOR... [-- GENERATE-OPTIONS]
  local name=$1; shift
  : > "$tmp/$name.txt"
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do echo "$1" >> "$tmp/$name.txt"; shift; done
  [ "${1:-}" = "--" ] && shift
  "$H" golden generate --cases "$tmp/$name.txt" -o "$out/$name.h5" --force --no-progress "$@" > /dev/null
}
# one case of every op (the fixed golden the fuzzer verifies candidates against)
gen golden_ops \
  "op=paged_logits layout=standard B=16 D=32 Qb=32 H=8 lens=1d:[17,5] topk=8 seed=0x1" \
  "op=ragged_logits B=16 D=32 Qb=32 H=8 lens=1d:[9,4] M=5 topk=4 seed=0x2" \
  "op=quant_cache layout=standard B=16 D=32 Qb=16 lens=1d:[20] pad_slots=2 seed=0x3" \
  "op=gather layout=preshuffle16 B=16 D=32 Qb=32 lens=1d:[17,1] seed=0x4"
# 2-D lens, padded rows and table, clean logits, stored tolerance bounds
gen golden_paged_2d \
  "op=paged_logits layout=preshuffle16 B=16 D=32 Qb=32 H=8 next_n=2 lens=2d:[10,11|3,4] clean=1 out_pad=5 tpad=1 topk=8 seed=0x5" \
  -- --bounds fp32,fp8_mma
# a sparse pool (ids past 65,536, only the used pages stored)
gen golden_sparse_pool "op=paged_logits layout=standard B=16 D=32 Qb=32 H=8 lens=1d:[20] pages=200000 stride=1024 topk=8 seed=0x6"
# fnuz codes, adversarial values, the deepgemm_sm90 profile
gen golden_adversarial \
  "op=paged_logits B=16 D=32 Qb=32 H=8 next_n=1 lens=1d:[7] enc=e4m3fnuz dist=adversarial profile=deepgemm_sm90 topk=4 seed=0x7"
for g in ops paged_2d; do
  MQA_FUZZ_MAKE_CANDIDATE="$out/golden_$g.h5:$out/candidate_$g.h5" "$F" 2> /dev/null
done
"$H" golden verify "$out/golden_ops.h5" "$out/candidate_ops.h5" > /dev/null
ls -l "$out"
