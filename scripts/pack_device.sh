#!/usr/bin/env bash
# Packs the device binaries built here (nvcc, sm_90) for the GPU machine, which cannot configure
# the project (no HDF5): .peers/device.tar.xz with device_sweep, device_bench, test_device,
# mqa-harness and lib/ (the shared libraries they need beyond glibc); when built, also the kut ABI
# version-2 check (test_kut_v2, campaign_bench) and the test plugins in plugins/. Then, with the
# device tool:
#   run(command="PREBUILT=.peers/device.tar.xz scripts/device_check.sh --quick", carry=[".peers"])
#   run(command="PREBUILT=.peers/device.tar.xz scripts/device_v2_check.sh", carry=[".peers/device.tar.xz"])
# With WITH_PEERS=1 it also copies DeepGEMM's tarball and aiter's files from ../shared/peers into
# .peers/ for scripts/peers/bench_logits.sh (carry=[".peers"]).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lib" "$root/.peers"
mkdir -p "$stage/plugins"
optional=()
for b in tests/device/test_kut_v2 fuzz/campaign_bench device/tensor_peak; do if [[ -x "$build/$b" ]]; then optional+=("$b"); fi; done
for b in device/device_sweep device/device_bench tests/device/test_device mqa-harness "${optional[@]}"; do
  [[ -x "$build/$b" ]] || { echo "pack_device.sh: $build/$b not built (cmake --build $build)" >&2; exit 2; }
  cp "$build/$b" "$stage/"
  ldd "$build/$b" | awk '/=> \// {print $3}' | grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
    while read -r lib; do cp -L "$lib" "$stage/lib/"; done
done
for so in device/libmqa_kut_plugin_hip_v2.so device/libmqa_kut_plugin_reference.so \
          tests/device/libmqa_test_plugin_v2_mutant.so tests/device/libmqa_test_plugin_bad_abi.so; do
  if [[ -f "$build/$so" ]]; then cp "$build/$so" "$stage/plugins/"; fi
done
tar cJf "$root/.peers/device.tar.xz" -C "$stage" .
du -h "$root/.peers/device.tar.xz"
if [[ ${WITH_PEERS:-0} == 1 ]]; then
  peers=${PEERS:-$root/../shared/peers}
  cp "$peers"/deepgemm-*.tar.xz "$root/.peers/"
  rm -rf "$root/.peers/aiter" && cp -r "$peers"/aiter-*-importable "$root/.peers/aiter" && chmod -R u+w "$root/.peers/aiter"
  du -sh "$root/.peers"
fi
