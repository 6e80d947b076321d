#!/usr/bin/env bash
# The GPU-machine check of the device implementation (issue 5), in one command:
#   1. configure + build (nvcc, sm_90) in $BUILD; if this machine cannot configure the whole
#      project (e.g. a test dependency is missing), fall back to binaries built elsewhere in
#      $PREBUILT (device_sweep, device_bench, test_device, test_kut) and say so;
#   2. the device tests (bit-exact device vs reference; they skip without a GPU);
#   3. the bit-exact sweep on case descriptors (cases/): random cases of the small tier over
#      every shape of the issue + the deployed suite (DeepSeek-V3.2 and GLM-5 decode and MTP up
#      to L = $DEPLOYED_L, prefill, aiter#4244's 2.2 GB logits), sentinels, table of mismatches;
#      then $DEPLOYED_CASES random cases of the deployed tier (batch <= 256, L <= 160K, pools
#      past 2^32 bytes for every op); then the fallback kernel forced (MQA_FAST_KERNEL=lean2)
#      through a logits sweep;
#   4. compute-sanitizer memcheck on a smaller sweep, racecheck on the logits kernels;
#   5. the device benchmark (paged logits vs measured copy bandwidth): the default kernel (tw3)
#      and its fallback (MQA_FAST_KERNEL=lean2);
#   6. the fuzz campaign against the HIP kernels (mqa-harness fuzz --kernel builtin-hip); the
#      harness is built here with the rest, else taken from $PREBUILT (with $PREBUILT/lib on
#      LD_LIBRARY_PATH for its HDF5 libraries, if this machine lacks them).
# Logs go to $OUT (default out/device). Exit status: non-zero when any step fails.
#
#   scripts/device_check.sh [--quick]     (--quick: fewer cases, no sanitizers)
#   PREBUILT=dir|tarball with device_sweep, device_bench, test_device, mqa-harness and lib/
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/out/device}
build=${BUILD:-$root/build-gpu}
prebuilt=${PREBUILT:-}
jobs=${JOBS:-$(nproc)}
cases=${CASES:-400}
deployed_l=${DEPLOYED_L:-131072}
deployed_cases=${DEPLOYED_CASES:-40}
# PREBUILT may also be a tarball of such a directory (e.g. .devperf/prebuilt.tar.xz, small enough
# to travel to the GPU machine): it is unpacked first.
if [[ -n "$prebuilt" && -f "$prebuilt" ]]; then
  mkdir -p /tmp/mqa-prebuilt && tar xf "$prebuilt" -C /tmp/mqa-prebuilt && prebuilt=/tmp/mqa-prebuilt
fi
quick=0
[[ "${1:-}" == "--quick" ]] && quick=1 && cases=${CASES:-80} && deployed_l=${DEPLOYED_L:-16384} &&
  deployed_cases=${DEPLOYED_CASES:-10}
mkdir -p "$out"
status=0
summary=()
note() { summary+=("$1"); echo "== $1"; }

# ---- 1. build ----
bin_sweep="" bin_bench="" bin_test="" bin_kut="" bin_harness=""
if cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMQA_CUDA=ON -DMQA_HIP=OFF -DMQA_BUILD_BENCH=OFF \
     >"$out/build.log" 2>&1 &&
   cmake --build "$build" -j "$jobs" --target device_sweep device_bench test_device test_kut >>"$out/build.log" 2>&1; then
  bin_sweep=$build/device/device_sweep bin_bench=$build/device/device_bench
  bin_test=$build/tests/device/test_device bin_kut=$build/tests/device/test_kut
  note "build: configured and built here ($build)"
  cmake --build "$build" -j "$jobs" --target mqa-harness >>"$out/build.log" 2>&1 && bin_harness=$build/mqa-harness
elif cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMQA_CUDA=ON -DMQA_HIP=OFF -DMQA_BUILD_BENCH=OFF \
       -DMQA_BUILD_TESTS=OFF >>"$out/build.log" 2>&1 &&
     cmake --build "$build" -j "$jobs" --target device_sweep device_bench >>"$out/build.log" 2>&1; then
  bin_sweep=$build/device/device_sweep bin_bench=$build/device/device_bench
  note "build: tools built here; the test dependencies are missing here (build.log: $(grep -m1 -iE "could not find|not found" "$out/build.log" | head -c 160))"
  if [[ -n "$prebuilt" && -x "$prebuilt/test_device" ]]; then
    bin_test=$prebuilt/test_device  # (test_kut is CPU-only and knows its plugin by build path: CI runs it)
    note "tests: using the prebuilt $bin_test"
  fi
else
  note "build: FAILED here (see build.log)"
  if [[ -n "$prebuilt" ]]; then
    bin_sweep=$prebuilt/device_sweep bin_bench=$prebuilt/device_bench bin_test=$prebuilt/test_device
    note "using prebuilt binaries from $prebuilt"
    [[ -d "$prebuilt/lib" ]] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$prebuilt/lib"
  else
    status=1
  fi
fi

run_step() {  # name, timeout seconds, command...
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  note "$name: exit $rc ($((SECONDS - t0)) s)"
  [[ $rc -ne 0 ]] && status=1
  return 0
}

if [[ -z "$bin_harness" && -n "$prebuilt" && -x "$prebuilt/mqa-harness" ]]; then
  bin_harness=$prebuilt/mqa-harness
  [[ -d "$prebuilt/lib" ]] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$prebuilt/lib"
  note "fuzz: using the prebuilt $bin_harness"
fi

# ---- 2. tests ----
[[ -n "$bin_test" ]] && run_step test_device 300 "$bin_test"
[[ -n "$bin_kut" ]] && run_step test_kut 120 "$bin_kut"

# ---- 3. sweep ----
[[ -n "$bin_sweep" ]] && run_step sweep 300 "$bin_sweep" --cases "$cases" --deployed-L "$deployed_l"
[[ -n "$bin_sweep" && $deployed_cases -gt 0 ]] && run_step sweep_deployed 500 "$bin_sweep" --tier deployed \
  --cases "$deployed_cases" --seed 7 --deployed-L 0
# The fallback kernel (lean2: heads 128, small pages, unaligned copies) forced everywhere.
[[ -n "$bin_sweep" ]] && MQA_FAST_KERNEL=lean2 run_step sweep_lean 300 "$bin_sweep" --cases "$((cases / 2))" \
  --logits-only --deployed-L 16384 --no-wide-logits
# (An unknown MQA_FAST_KERNEL is refused: test_device's KernelChoiceDeathTest, step 2.)

# ---- 4. sanitizers (one log) ----
if [[ $quick -eq 0 && -n "$bin_sweep" ]] && command -v compute-sanitizer >/dev/null; then
  run_step sanitizers 400 bash -c "compute-sanitizer --tool memcheck --error-exitcode 97 '$bin_sweep' \
      --cases ${MEM_CASES:-120} --deployed-L 0 && compute-sanitizer --tool racecheck --error-exitcode 97 \
      '$bin_sweep' --cases ${RACE_CASES:-24} --logits-only --deployed-L 0"
fi

# ---- 5. benchmark (the default kernel, then its fallback forced) ----
[[ -n "$bin_bench" ]] && run_step bench 300 bash -c "'$bin_bench' --reps 40 && echo && \
  echo 'fast kernel MQA_FAST_KERNEL=lean2:' && MQA_FAST_KERNEL=lean2 '$bin_bench' --reps 40 --fast-only | \
  sed -n '/^layout/,/^\$/p'"

# ---- 6. fuzz campaign against the HIP kernels (repro files, if any, land in $out) ----
[[ -n "$bin_harness" ]] && run_step fuzz 400 "$bin_harness" fuzz --kernel builtin-hip --cases "${FUZZ_CASES:-1500}" \
  --seed 3 --repro-dir "$out"
[[ -z "$bin_harness" ]] && note "fuzz: NOT RUN (no mqa-harness built here and none in \$PREBUILT)"

echo
echo "================ device check summary ================"
printf '%s\n' "${summary[@]}"
for f in test_device test_kut; do
  [[ -f "$out/$f.log" ]] && echo "$f: $(grep -E '^\[ +(PASSED|FAILED|SKIPPED) +\] [0-9]+ tests?' "$out/$f.log" | tr '\n' ' ')"
done
[[ -f "$out/sanitizers.log" ]] && grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/sanitizers.log"
for f in sweep sweep_deployed sweep_lean; do
  [[ -f "$out/$f.log" ]] && { echo; echo "$f:"; sed -n '/^op \/ path/,$p' "$out/$f.log"; }
done
[[ -f "$out/bench.log" ]] && { echo; cat "$out/bench.log"; }
[[ -f "$out/fuzz.log" ]] && { echo; sed -n '/^== fuzz summary/,$p' "$out/fuzz.log"; }
exit $status
