#!/usr/bin/env bash
# Prepares .peers/ (ignored) for the GPU machine, which has neither HDF5 nor the peers: the
# harness binary with the shared libraries it needs beyond glibc, DeepGEMM's source tarball and
# aiter's importable Triton files from ../shared/peers. Then, with the device tool:
#   run(command="scripts/peers/run_peers.sh", carry=[".peers"])
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
peers=${PEERS:-$root/../shared/peers}
harness=${HARNESS:-$root/build/mqa-harness}
dst=$root/.peers
[[ -x "$harness" ]] || { echo "pack.sh: no harness at $harness (build first: scripts/build.sh)" >&2; exit 2; }
[[ -d "$peers" ]] || { echo "pack.sh: no peers folder at $peers" >&2; exit 2; }
rm -rf "$dst" && mkdir -p "$dst/harness/bin" "$dst/harness/lib"
cp "$harness" "$dst/harness/bin/"
ldd "$harness" | awk '/=> \// {print $3}' | grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
  while read -r lib; do cp -L "$lib" "$dst/harness/lib/"; done
tar cJf "$dst/harness.tar.xz" -C "$dst" harness && rm -rf "$dst/harness"
cp "$peers"/deepgemm-*.tar.xz "$dst/"
cp -r "$peers"/aiter-*-importable "$dst/aiter" && chmod -R u+w "$dst/aiter"
du -sh "$dst"
# The Python extension is built there by scripts/peers/build_python.sh from the sources of its
# CMake targets (read from this build's compile database) and the header-only Eigen and
# nlohmann_json that the GPU machine lacks.
/usr/bin/python3 - "$root" > "$dst/python_sources.txt" <<'PY'
import json, sys
root = sys.argv[1]
for e in json.load(open(root + "/build/compile_commands.json")):
    out = e.get("output") or e["command"].split(" -o ")[1].split()[0]
    if any(t in out for t in ("/mqa_reference.dir/", "/mqa_cases.dir/", "/_mqa_harness.dir/")):
        print(e["file"].replace(root + "/", ""))
PY
tar cJf "$dst/include.tar.xz" -C /usr/include eigen3/Eigen eigen3/signature_of_eigen3_matrix_library nlohmann
du -sh "$dst"
