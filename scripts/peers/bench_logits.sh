#!/usr/bin/env bash
# Issue 12's speed figures in one GPU-machine call: the copy bandwidth, the int8 tensor-core
# rates (tensor_peak), our exact kernels (device_bench: paged both layouts, ragged), DeepGEMM
# (built here from .peers) and aiter's Triton kernel at the same shapes (time_peers.py), joined
# by summarize_bench.py into $OUT/bench_summary.md (% of copy, ratio to DeepGEMM, the floor).
# Prepared here by `BUILD=build-cuda WITH_PEERS=1 scripts/pack_device.sh`; then
#   run(command="scripts/peers/bench_logits.sh", carry=[".peers"])
# env: PREBUILT (.peers/device.tar.xz), REPS (40). Exit status non-zero when a step fails.
set -uo pipefail
source "$(dirname "$0")/common.sh"
peer_job bench bench.log /tmp/mqa-bench
mkdir -p $w/bin
reps=${REPS:-40}
prebuilt=${PREBUILT:-$root/.peers/device.tar.xz}
[[ -f "$prebuilt" ]] || { echo "bench_logits.sh: no $prebuilt (scripts/pack_device.sh here)" >&2; exit 2; }
tar xf "$prebuilt" -C $w/bin
for f in device_bench tensor_peak; do
  [[ -x $w/bin/$f ]] || { echo "bench_logits.sh: $f is not in $prebuilt" >&2; exit 2; }
done
export LD_LIBRARY_PATH=$w/bin/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader
stamp "building DeepGEMM (background)"
( "$root/scripts/peers/build_deepgemm.sh" $w "$out/dg_build.log"; echo $? > $w/dg_build.rc ) &
dg_build=$!
status=0
stamp "tensor_peak"
$w/bin/tensor_peak --json "$out/peak.json" || status=1
stamp "device_bench (ours)"
$w/bin/device_bench --reps "$reps" --fast-only --json "$out/ours.json" || status=1
wait $dg_build
[[ "$(cat $w/dg_build.rc)" == 0 ]] || { echo "DeepGEMM build failed"; tail -20 "$out/dg_build.log"; exit 1; }
cp -r "$root/.peers/aiter" $w/aiter && chmod -R u+w $w/aiter
export PYTHONPATH=$w/dg:$w/aiter DG_JIT_CACHE_DIR=/tmp/dgcache PYTHONUNBUFFERED=1
stamp "peers (DeepGEMM, aiter)"
python3 "$root/scripts/peers/time_peers.py" --json "$out/peers.json" --reps "$reps" || status=1
stamp "summary"
python3 "$root/scripts/peers/summarize_bench.py" "$out/ours.json" "$out/peers.json" "$out/peak.json" \
  > "$out/bench_summary.md" || status=1
cat "$out/bench_summary.md"
stamp "done (exit $status)"
exit $status
