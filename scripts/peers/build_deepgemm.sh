#!/usr/bin/env bash
# Unpacks DeepGEMM from .peers/ into DIR/dg and builds its extension in place (the GPU machine's
# recipe, ../shared/peers/README.md: gcc 13, not the image's static-libstdc++ g++). Output to
# LOG; the exit status is the build's. Used by run_peers.sh and run_python_peers.sh.
#   build_deepgemm.sh DIR LOG
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$1 log=$2
tar xf "$root"/.peers/deepgemm-*.tar.xz -C "$dir" || exit 1
cd "$dir/dg" && CC=/usr/bin/gcc CXX=/usr/bin/g++-13 LDSHARED="/usr/bin/g++-13 -shared" \
  LDCXXSHARED="/usr/bin/g++-13 -shared" MAX_JOBS=16 python3 setup.py build_ext --inplace > "$log" 2>&1
