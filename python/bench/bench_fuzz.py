#!/usr/bin/env python3
"""Throughput of mqa_harness.fuzz (cases/s): draw + materialize + a numpy kernel + the C++
comparator per case, on small paged cases. Not a timed test; run it by hand:
    PYTHONPATH=python:build-py/python taskset -c 0 /usr/bin/python3 python/bench/bench_fuzz.py [--cases N] [--max-len L]
(taskset: one core, the target is >= 300 cases/s there)."""
import argparse
import io
import time

import mqa_harness as mh
from mqa_harness.kernels import numpy_exact_kernel

SMALL = dict(ops="paged_logits", profiles="exact", max_batch=2, max_len=128, max_heads=8, head_dims=[32, 64],
             high_page_ids=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mode", default="bitwise")
    ap.add_argument("--max-len", type=int, default=SMALL["max_len"])
    ap.add_argument("--max-heads", type=int, default=SMALL["max_heads"])
    a = ap.parse_args()
    SMALL.update(max_len=a.max_len, max_heads=a.max_heads)
    mh.fuzz(numpy_exact_kernel, n=50, seed=a.seed + 1, mode=a.mode, progress=False, **SMALL)  # warm-up
    t0 = time.perf_counter()
    r = mh.fuzz(numpy_exact_kernel, n=a.cases, seed=a.seed, mode=a.mode, out=io.StringIO(), **SMALL)
    dt = time.perf_counter() - t0
    print(r.summary())
    print("bench_fuzz: %d cases in %.2fs = %.0f cases/s (mode %s, numpy exact kernel, constraints %s)"
          % (r.cases, dt, r.cases / dt, a.mode, mh.gen_options(**SMALL).describe()))


if __name__ == "__main__":
    main()
