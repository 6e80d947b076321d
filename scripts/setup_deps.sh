#!/usr/bin/env bash
# Installs the Debian 12 packages the harness builds against (only those missing).
set -euo pipefail
pkgs=(cmake g++ make libeigen3-dev libhdf5-dev librapidcheck-dev libgtest-dev libgmock-dev
      libbenchmark-dev libcli11-dev nlohmann-json3-dev libssl-dev hipcc libamdhip64-dev python3-numpy python3-h5py
      python3-pybind11 pybind11-dev python3-pytest python3-torch clang-19 clang-format-19)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
