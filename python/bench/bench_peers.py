#!/usr/bin/env python3
"""DeepGEMM through mqa_harness at deployed shapes (B=64 sequences, next_n 1, H 64, D 128, page
64, every context = L), cases/s and where the time goes: materialize (the C++ reference, on the
CPU), inputs (tensors to the GPU), the kernel, check (copy back + the C++ comparator). Run on
the GPU machine (scripts/peers/run_python_peers.sh); not a timed test.
    PYTHONPATH=python:<ext>:python/examples/peers python3 python/bench/bench_peers.py --lens 8192,32768 --cases 3"""
import argparse
import time

import mqa_harness as mh
from deepgemm_adapter import deepgemm_logits, mode_for


def deployed(L, seed, profile, batch=64):
    return mh.case("op=paged_logits layout=standard B=64 D=128 H=64 next_n=1 lens=1d:[%s] enc=e4m3fn profile=%s "
                   "seed=%d" % (",".join([str(L)] * batch), profile, seed))


def main():
    import torch
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lens", default="8192,32768")
    ap.add_argument("--cases", type=int, default=3)
    ap.add_argument("--profile", default="deepgemm_sm90")
    a = ap.parse_args()
    rows = []
    for L in (int(x) for x in a.lens.split(",")):
        stage = dict(materialize=0.0, inputs=0.0, kernel=0.0, check=0.0)
        deepgemm_logits(deployed(L, 999, a.profile))  # JIT warm-up of this shape
        for i in range(a.cases):
            t0 = time.perf_counter()
            c = deployed(L, i + 1, a.profile)
            c.tensors
            t1 = time.perf_counter()
            x = c.inputs("torch", device="cuda", layout="deepgemm")
            torch.cuda.synchronize()
            t2 = time.perf_counter()
            out = deepgemm_logits(c, x)
            torch.cuda.synchronize()
            t3 = time.perf_counter()
            rep = mh.check(c, out, mode=mode_for(c), kernel="deepgemm")
            t4 = time.perf_counter()
            stage["materialize"] += t1 - t0
            stage["inputs"] += t2 - t1
            stage["kernel"] += t3 - t2
            stage["check"] += t4 - t3
            print("L=%d case %d/%d: %s (%.2fs)" % (L, i + 1, a.cases, rep.margin, t4 - t0), flush=True)
        total = sum(stage.values())
        rows.append((L, a.cases, a.cases / total, {k: v / a.cases for k, v in stage.items()}))
    print("\n| L | cases | cases/s | materialize s | inputs s | kernel s | check s |")
    print("|---|---|---|---|---|---|---|")
    for L, n, rate, s in rows:
        print("| %d | %d | %.3f | %.3f | %.3f | %.4f | %.3f |" % (L, n, rate, s["materialize"], s["inputs"], s["kernel"],
                                                              s["check"]))


if __name__ == "__main__":
    main()
