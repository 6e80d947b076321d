#!/usr/bin/env bash
# Builds the mqa_harness extension on the GPU machine, which has Python 3.12 with pybind11 but
# no HDF5 (the extension needs none): compiles the sources pack.sh listed, with the carried
# Eigen and nlohmann_json headers, into $1 (default .peers/py), and prints the PYTHONPATH.
#   run(command="scripts/peers/build_python.sh", carry=[".peers"])
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/.peers/py}
cxx=${CXX:-$(command -v g++-13 || command -v g++)}
py=${PYTHON:-python3}
mkdir -p "$out/obj" "$out/include"
tar xJf "$root/.peers/include.tar.xz" -C "$out/include"
ext=$("$py" -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
flags="-O3 -DNDEBUG -std=c++20 -fPIC -fvisibility=hidden -ffp-contract=off -fno-fast-math -I$root/reference/include
  -I$root/cases/include -I$root/fuzz/include -I$out/include/eigen3 -I$out/include $("$py" -m pybind11 --includes)"
export cxx flags out root
sed 's/#.*//' "$root/.peers/python_sources.txt" | grep . |
  xargs -P "$(nproc)" -I{} sh -c 'o="$out/obj/$(echo {} | tr / _).o"; $cxx $flags -c "$root/{}" -o "$o"'
$cxx -shared -o "$out/_mqa_harness$ext" "$out"/obj/*.o -lpthread
echo "PYTHONPATH=$root/python:$out"
