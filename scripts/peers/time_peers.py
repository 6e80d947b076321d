#!/usr/bin/env python3
"""Times the peer kernels at device_bench's shapes, on the GPU machine, and writes JSON records
that summarize_bench.py joins with device_bench's (scripts/peers/bench_logits.sh runs all three).

    time_peers.py --json OUT.json [--reps 40] [--kernels deepgemm,aiter]

Shapes (the same as device_bench): paged decode B 64, next_n 1, H 64, D 128, page 64, every
context = L in {8192, 32768}; ragged prefill M 4096 rows over N 8192 k rows, row i reading
[0, N - M + i + 1). Random finite e4m3fn codes, positive fp32 k scales, weights in [-0.5, 0.5).
Each launch is timed alone with CUDA events after 3 warm-ups (the first JIT-compiles), median of
--reps, over 3 input sets rotated (each pool is larger than L2). DeepGEMM's schedule metadata is
computed once per input set, outside the timed launch, as a decode step computes it once for all
layers. Also the device-to-device copy bandwidth (1 GiB, read + write), as device_bench measures it.
The kernels are called through peer_kernels.py (deepgemm_paged, deepgemm_ragged, aiter_launch).
"""
import argparse
import json
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_kernels as pk  # noqa: E402

B, H, D, PAGE = 64, 64, 128, 64
M, N = 4096, 8192
SETS = 3


def median_us(reps, launch):
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    t = []
    for i in range(3 + reps):
        a.record()
        launch(i % SETS)
        b.record()
        b.synchronize()
        if i >= 3:
            t.append(a.elapsed_time(b) * 1e3)
    return statistics.median(t)


def copy_gbs(reps):
    n = 1 << 30
    src = torch.ones(n, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    us = median_us(reps, lambda _: dst.copy_(src))
    return 2.0 * n / (us * 1e-6) / 1e9


def codes(*shape):
    """Random finite e4m3fn codes (never 0x7F / 0xFF, the NaN codes)."""
    return (torch.randint(0, 256, shape, dtype=torch.uint8, device="cuda") & 0xF7).view(torch.float8_e4m3fn)


def paged_sets(L):
    pages = B * L // PAGE
    sets = []
    for _ in range(SETS):
        pool = torch.randint(0, 256, (pages, PAGE * (D + 4)), dtype=torch.uint8, device="cuda") & 0xF7
        scales = (torch.rand(pages, PAGE, device="cuda") + 1e-3).view(torch.uint8).reshape(pages, 4 * PAGE)
        pool[:, PAGE * D:] = scales
        table = torch.randperm(pages, device="cuda", dtype=torch.int64).to(torch.int32).reshape(B, L // PAGE)
        sets.append(dict(pool=pool, table=table, q=codes(B, 1, H, D), w=torch.rand(B, H, device="cuda") - 0.5))
    return sets


def bench_deepgemm_paged(L, reps):
    sets = paged_sets(L)
    lens = torch.full((B, 1), L, dtype=torch.int32, device="cuda")  # SM90 takes 2-D lens
    sched = pk.deepgemm_schedule(lens)
    for s in sets:
        s["kv"] = s["pool"].view(-1, PAGE, 1, D + 4)
    return median_us(reps, lambda i: pk.deepgemm_paged(sets[i]["q"], sets[i]["kv"], sets[i]["w"], lens,
                                                        sets[i]["table"], sched, L, False))


def bench_aiter_paged(L, reps):
    sets = paged_sets(L)
    lens = torch.full((B,), L, dtype=torch.int32, device="cuda")
    out = torch.empty(B, L, dtype=torch.float32, device="cuda")
    for s in sets:
        S = PAGE * (D + 4)
        s["values"] = torch.as_strided(s["pool"], (s["pool"].shape[0], PAGE, D), (S, D, 1)).view(torch.float8_e4m3fn)
        s["scales"] = torch.as_strided(s["pool"][:, PAGE * D:], (s["pool"].shape[0], PAGE * 4), (S, 1)).view(torch.float32)
        s["q3"] = s["q"].reshape(B, H, D)
    return median_us(reps, lambda i: pk.aiter_launch(B, 1, sets[i]["q3"], sets[i]["values"], sets[i]["scales"], lens,
                                                      sets[i]["table"], sets[i]["w"], out))


def bench_deepgemm_ragged(reps):
    sets = [dict(q=codes(M, H, D), k=codes(N, D), ks=torch.rand(N, device="cuda") + 1e-3,
                 w=torch.rand(M, H, device="cuda") - 0.5) for _ in range(SETS)]
    row_ks = torch.zeros(M, dtype=torch.int32, device="cuda")
    row_ke = torch.arange(N - M + 1, N + 1, dtype=torch.int32, device="cuda")
    return median_us(reps, lambda i: pk.deepgemm_ragged(sets[i]["q"], sets[i]["k"], sets[i]["ks"], sets[i]["w"],
                                                         row_ks, row_ke, False))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", required=True)
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--kernels", default="deepgemm,aiter")
    a = ap.parse_args()
    if a.reps < 30:
        ap.error("--reps %d: must be >= 30 (the median of at least 30 launches)" % a.reps)
    kernels = a.kernels.split(",")
    for k in kernels:
        if k not in ("deepgemm", "aiter"):
            ap.error("--kernels: unknown kernel %r (deepgemm, aiter)" % k)
    torch.manual_seed(0)
    res = dict(device=torch.cuda.get_device_name(), copy_gbs=copy_gbs(a.reps), records=[], errors=[])
    print("copy %.1f GB/s" % res["copy_gbs"], flush=True)
    jobs = []
    for L in (8192, 32768):
        if "deepgemm" in kernels:
            jobs.append(("deepgemm", "paged", dict(L=L, M=B), lambda L=L: bench_deepgemm_paged(L, a.reps)))
        if "aiter" in kernels:
            jobs.append(("aiter", "paged", dict(L=L, M=B), lambda L=L: bench_aiter_paged(L, a.reps)))
    if "deepgemm" in kernels:
        jobs.append(("deepgemm", "ragged", dict(M=M, N=N), lambda: bench_deepgemm_ragged(a.reps)))
    for kernel, op, shape, run in jobs:
        try:
            us = run()
        except Exception as e:  # a peer that fails is reported, never timed as zero
            res["errors"].append(dict(kernel=kernel, op=op, **shape, error="%s: %s" % (type(e).__name__, e)))
            print("%s %s %s: ERROR %s" % (kernel, op, shape, e), flush=True)
            continue
        res["records"].append(dict(kernel=kernel, op=op, layout="standard" if op == "paged" else "-", **shape, us=us))
        print("%s %s %s: %.1f us" % (kernel, op, shape, us), flush=True)
        torch.cuda.empty_cache()
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    return 1 if res["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
