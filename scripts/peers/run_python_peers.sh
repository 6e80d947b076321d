#!/usr/bin/env bash
# The Python front door against the real kernels, on the GPU machine, in one call: builds the
# mqa_harness extension (build_python.sh) and DeepGEMM from .peers/ (pack.sh made it), then
#   1. pytest through the plugin: python/examples/peers/test_peers.py (DeepGEMM paged and
#      ragged, aiter's Triton kernel at page 1 and page 64), MQA_CASES cases per test;
#   2. the same suite sharded by pytest-xdist (-n 4): the same verdicts;
#   3. python/bench/bench_peers.py: DeepGEMM at B=64 L=8K/32K, cases/s and where the time goes.
# $OUT gets run.log, pytest.log, junit.xml, xdist.log, bench.log.
#   run(command="scripts/peers/run_python_peers.sh", carry=[".peers"])
set -uo pipefail
source "$(dirname "$0")/common.sh"
peer_job python_peers run.log /tmp/mqa-pypeers
n=${MQA_CASES:-100}
stamp "building DeepGEMM (background) and the extension"
( "$root/scripts/peers/build_deepgemm.sh" $w "$out/dg_build.log"; echo $? > $w/dg_build.rc ) &
dg_build=$!
CXX=/usr/bin/g++-13 "$root/scripts/peers/build_python.sh" $w/py > $w/py_build.log 2>&1 || { cat $w/py_build.log; exit 1; }
cp -r "$root/.peers/aiter" $w/aiter && chmod -R u+w $w/aiter
export PYTHONPATH=$root/python:$w/py:$w/dg:$w/aiter:$root/python/examples/peers DG_JIT_CACHE_DIR=/tmp/dgcache
export PYTHONUNBUFFERED=1 MQA_AITER_ROOT=$w/aiter
python3 -c "import mqa_harness as mh; print('mqa_harness from', mh.__file__)" || exit 1
wait $dg_build
[[ "$(cat $w/dg_build.rc)" == 0 ]] || { echo "DeepGEMM build failed"; tail -20 "$out/dg_build.log"; exit 1; }
cd "$root"
stamp "pytest through the plugin: $n cases per test"
t0=$(date +%s)
timeout 300 python3 -m pytest -p mqa_harness.pytest_plugin --mqa-cases $n -q -rs -p no:cacheprovider \
  --junitxml "$out/junit.xml" python/examples/peers/test_peers.py tests/python/test_peer_layouts.py > "$out/pytest.log" 2>&1
echo "pytest exit $? in $(( $(date +%s) - t0 )) s"; tail -5 "$out/pytest.log"
python3 - "$out/junit.xml" <<'PY'
import sys, collections, xml.etree.ElementTree as ET
c = collections.defaultdict(collections.Counter)
for tc in ET.parse(sys.argv[1]).iter("testcase"):
    name = tc.get("name").split("[")[0]
    st = "failed" if tc.find("failure") is not None or tc.find("error") is not None else \
         "skipped" if tc.find("skipped") is not None else "passed"
    c[name][st] += 1
    c[name]["time"] += float(tc.get("time"))
print("| test | passed | failed | skipped | s per case |")
for k, v in c.items():
    n = v["passed"] + v["failed"] + v["skipped"]
    print("| %s | %d | %d | %d | %.3f |" % (k, v["passed"], v["failed"], v["skipped"], v["time"] / max(n, 1)))
PY
grep -m3 -A25 "^_\{5,\} test_" "$out/pytest.log" | head -60   # the first failure report, if any
stamp "the same under pytest-xdist (-n 4)"
timeout 200 python3 -m pytest -p mqa_harness.pytest_plugin --mqa-cases $n -q -n 4 -p no:cacheprovider \
  python/examples/peers/test_peers.py > "$out/xdist.log" 2>&1
echo "xdist exit $?"; tail -3 "$out/xdist.log"
if (( ${AITER_ADV:-0} > 0 )); then  # more adversarial cases for aiter through golden files (as run_peers.sh)
  stamp "aiter, $AITER_ADV more adversarial cases (golden route)"
  tar xf "$root/.peers/harness.tar.xz" -C $w
  H="env LD_LIBRARY_PATH=$w/harness/lib $w/harness/bin/mqa-harness"  # its libraries for it alone (torch needs its own)
  $H fuzz --list-cases --cases $AITER_ADV --seed 303 --ops paged_logits --page-sizes 1,16,64 --heads 16,32,64 \
    --head-dims 64,128 --next-n 1,2 --layouts standard --encodings e4m3fn --lens-2d off --profile exact |
    sed -e 's/dist=[a-z_]*/dist=adversarial/' -e 's/clean=1/clean=0/' > $w/ai_adv3.txt
  $H golden generate --cases $w/ai_adv3.txt -o $w/ai_adv3.h5 --force --no-progress --bounds fp32,fp8_mma > /dev/null
  timeout 200 python3 scripts/peers/peer_kernels.py --kernel aiter $w/ai_adv3.h5 $w/ai_adv3.cand.h5 \
    --report $w/ai_adv3.report.json | tail -1
  $H golden verify $w/ai_adv3.h5 $w/ai_adv3.cand.h5 --subset --mode tolerance:fp8_mma --json > $out/ai_adv3.json
  echo "ai_adv3 tolerance:fp8_mma: exit $?"
  python3 scripts/peers/summarize.py verdicts "ai_adv3 tolerance_fp8_mma" $out/ai_adv3.json
fi
stamp "DeepGEMM at deployed shapes"
timeout 240 python3 python/bench/bench_peers.py --lens 8192,32768 --cases ${BENCH_CASES:-3} 2>&1 | tee "$out/bench.log"
stamp "done"
