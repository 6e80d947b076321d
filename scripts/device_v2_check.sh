#!/usr/bin/env bash
# The GPU-machine check of kut ABI version 2 (issue 12 item 3: GPU kernels judged on the GPU),
# from binaries built elsewhere (the GPU machine has no HDF5 / rapidcheck to build the tests):
#   1. test_kut_v2: version negotiation and argument checks, then on the GPU the device oracle,
#      comparator, page scatter and input generator (CaseGenDevice: every input byte against
#      materialize()) against their host references, the example plugin passing and the one-ulp
#      mutant failing through the campaign (in-process);
#   2. the CLI campaign with the version-2 plugin in its default isolation (a forked child per
#      case: the CUDA context is made in the child), bitwise: PASS expected;
#   3. the same with the mutant plugin: FAIL expected (exit 1), its report "judged on the GPU";
#   4. a tolerance mode: the log must say the cases are judged ON THE HOST;
#   5. campaign_bench: cases/s at batch 64, L = $BENCH_L (paged, H 64, D 128, page 64) through
#      version 2 (inputs generated on the device) and version 1, and where the time goes;
#   6. the same version-2 route with the inputs materialised on the host (--host-inputs), for
#      the comparison ($BENCH_HOST cases; 0 skips it).
# Logs go to $OUT (default out/device-v2); the summary at the end. Exit status: non-zero when a
# step's outcome is not the expected one.
#
#   PREBUILT=.peers/device.tar.xz scripts/device_v2_check.sh     (tarball from scripts/pack_device.sh)
#   env: BENCH_L (32768), BENCH_V2 (40), BENCH_V1 (2), BENCH_HOST (2), FUZZ_CASES (100)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/out/device-v2}
prebuilt=${PREBUILT:-$root/.peers/device.tar.xz}
if [[ -f "$prebuilt" ]]; then
  mkdir -p /tmp/mqa-prebuilt-v2 && tar xf "$prebuilt" -C /tmp/mqa-prebuilt-v2 && prebuilt=/tmp/mqa-prebuilt-v2
fi
bin=$prebuilt
for f in test_kut_v2 campaign_bench mqa-harness plugins/libmqa_kut_plugin_hip_v2.so plugins/libmqa_test_plugin_v2_mutant.so; do
  [[ -e "$bin/$f" ]] || { echo "device_v2_check.sh: $bin/$f missing (build here and run scripts/pack_device.sh)" >&2; exit 2; }
done
export LD_LIBRARY_PATH="$bin/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export MQA_TEST_PLUGIN_DIR=$bin/plugins
plugin=$bin/plugins/libmqa_kut_plugin_hip_v2.so mutant=$bin/plugins/libmqa_test_plugin_v2_mutant.so
mkdir -p "$out"
status=0
summary=()
note() { summary+=("$1"); echo "== $1"; }
step() {  # name, expected exit code, timeout seconds, command...
  local name=$1 want=$2 limit=$3
  shift 3
  local t0=$SECONDS
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  local verdict=ok
  [[ $rc -ne $want ]] && verdict="UNEXPECTED (wanted exit $want)" && status=1
  note "$name: exit $rc, $verdict ($((SECONDS - t0)) s)"
}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >"$out/gpu.txt" 2>&1 && note "gpu: $(cat "$out/gpu.txt")"

fuzz=("$bin/mqa-harness" fuzz --ops paged_logits,ragged_logits --seed 3 --repro-dir "$out/repro")
step test_kut_v2 0 300 "$bin/test_kut_v2"
step fuzz_v2_plugin 0 300 "${fuzz[@]}" --kernel "$plugin" --cases "${FUZZ_CASES:-100}"
step fuzz_v2_mutant 1 300 "${fuzz[@]}" --kernel "$mutant" --cases "${FUZZ_CASES:-100}" --shrink-time 30
step fuzz_v2_tolerance 0 300 "${fuzz[@]}" --kernel builtin-hip-v2 --cases 40 --compare tolerance:fp8_mma
grep -q "judged ON THE HOST" "$out/fuzz_v2_tolerance.log" || { note "fuzz_v2_tolerance: the host fallback was NOT announced"; status=1; }
grep -q "judged on the GPU: 1 of" "$out/fuzz_v2_mutant.log" || { note "fuzz_v2_mutant: no on-device verdict in the report"; status=1; }
step bench 0 580 "$bin/campaign_bench" --len "${BENCH_L:-32768}" --cases-v2 "${BENCH_V2:-40}" --cases-v1 "${BENCH_V1:-2}" \
  --v2 "$plugin"
grep -q "v2 inputs: generated on the device" "$out/bench.log" || { note "bench: the inputs were NOT generated on the device"; status=1; }
if [[ "${BENCH_HOST:-2}" -gt 0 ]]; then
  step bench_host_inputs 0 300 "$bin/campaign_bench" --len "${BENCH_L:-32768}" --cases-v2 "${BENCH_HOST:-2}" --cases-v1 0 \
    --v2 "$plugin" --host-inputs
fi

echo
echo "================ ABI version 2 check summary ================"
printf '%s\n' "${summary[@]}"
grep -E '^\[ +(PASSED|FAILED|SKIPPED) +\]' "$out/test_kut_v2.log"
for f in fuzz_v2_plugin fuzz_v2_mutant fuzz_v2_tolerance; do
  echo; echo "$f:"; grep -E '^\[fuzz\] ABI|^RESULT|judged on the GPU|HARNESS ERROR' "$out/$f.log" | head -6
done
echo; sed -n '/^================ campaign_bench summary/,$p' "$out/bench.log"
if [[ -f "$out/bench_host_inputs.log" ]]; then
  echo; echo "host inputs:"; sed -n '/^================ campaign_bench summary/,$p' "$out/bench_host_inputs.log"
fi
exit $status
