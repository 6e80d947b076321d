# Sourced by the GPU-machine jobs of scripts/peers: the repository root, the output folder (its
# log is a copy of everything the job prints) and the work folder, and stamp (elapsed seconds).
# peer_job NAME LOG WORK sets root, out ($OUT, else out/NAME under the root), w (WORK) and start.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
peer_job() {
  out=${OUT:-$root/out/$1}
  mkdir -p "$out" "$3"
  exec > >(tee "$out/$2") 2>&1
  w=$3
  start=$(date +%s)
}
stamp() { echo "== [$(($(date +%s) - start)) s] $*"; }
