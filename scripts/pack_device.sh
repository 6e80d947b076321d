#!/usr/bin/env bash
# Packs the device binaries built here (nvcc, sm_90) for the GPU machine, which cannot configure
# the project (no HDF5): .peers/device.tar.xz with device_sweep, device_bench, test_device,
# mqa-harness and lib/ (the shared libraries they need beyond glibc). Then, with the device tool:
#   run(command="PREBUILT=.peers/device.tar.xz scripts/device_check.sh --quick", carry=[".peers"])
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lib" "$root/.peers"
for b in device/device_sweep device/device_bench tests/device/test_device mqa-harness; do
  [[ -x "$build/$b" ]] || { echo "pack_device.sh: $build/$b not built (cmake --build $build)" >&2; exit 2; }
  cp "$build/$b" "$stage/"
  ldd "$build/$b" | awk '/=> \// {print $3}' | grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
    while read -r lib; do cp -L "$lib" "$stage/lib/"; done
done
tar cJf "$root/.peers/device.tar.xz" -C "$stage" .
du -h "$root/.peers/device.tar.xz"
