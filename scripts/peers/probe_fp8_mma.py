#!/usr/bin/env python3
"""Measures how the peers' fp8 tensor-core dot accumulates, the facts behind the fp8_mma
tolerance model (docs/numerics.md): crafted q.k dot products whose exact value needs more bits
than a 14-bit accumulator keeps, read back through the real kernels (one head weighted 1, the
others 0, k scale 1, so the logit is the dot product itself).

    probe_fp8_mma.py [--json OUT]

Each probe prints the exact dot, what DeepGEMM (fp8_fp4_mqa_logits) and aiter's Triton kernel
return, and what the fp8_mma model allows (|error| <= its bound).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

D, H = 128, 32


def probes():
    """(name, [(d, q, k), ...]) with fp8-exact q, k values; every other element 0."""
    out = []
    for e in range(2, 12):  # 256 + 2^-e in one 32-wide step
        out.append(("256 + 2^-%d (same step)" % e, [(0, 16.0, 16.0), (1, 2.0 ** -(e // 2), 2.0 ** -(e - e // 2))]))
    out.append(("256 + 31 x 2^-6 (same step)", [(0, 16.0, 16.0)] + [(d, 0.125, 0.125) for d in range(1, 32)]))
    out.append(("256 + 31 x 2^-6 (next step)", [(0, 16.0, 16.0)] + [(d, 0.125, 0.125) for d in range(32, 63)]))
    for e in (4, 5, 6, 8):
        out.append(("256 then + 2^-%d in step 2" % e, [(0, 16.0, 16.0), (32, 2.0 ** -(e // 2), 2.0 ** -(e - e // 2))]))
    out.append(("256 - 2^-6 (same step)", [(0, 16.0, 16.0), (1, -0.125, 0.125)]))
    out.append(("2^-6 + 256 (small first)", [(0, 0.125, 0.125), (1, 16.0, 16.0)]))
    out.append(("4 x 240 + 2^-9 (4 steps)", [(0, 15.0, 16.0), (32, 15.0, 16.0), (64, 15.0, 16.0), (96, 15.0, 16.0),
                                             (127, 2.0 ** -4, 2.0 ** -5)]))
    return out


def tensors(terms):
    q = torch.zeros(1, H, D, dtype=torch.float32)
    k = torch.zeros(1, D, dtype=torch.float32)
    for d, qv, kv in terms:
        q[0, 0, d], k[0, d] = qv, kv
    return q.to(torch.float8_e4m3fn), k.to(torch.float8_e4m3fn)


def exact(terms):
    return sum(float(q) * float(k) for _, q, k in terms)


def deepgemm_dot(q8, k8):
    import deep_gemm
    w = torch.zeros(1, H, dtype=torch.float32, device="cuda")
    w[0, 0] = 1.0
    ks = torch.ones(1, dtype=torch.float32, device="cuda")
    z = torch.zeros(1, dtype=torch.int32, device="cuda")
    out = deep_gemm.fp8_fp4_mqa_logits((q8.cuda(), None), (k8.cuda(), ks), w, z, z + 1, clean_logits=False)
    return float(out[0, 0].item())


def aiter_dot(q8, k8):
    from peer_kernels import aiter_kernel
    B = 16
    pool = torch.zeros(1, B * (D + 4), dtype=torch.uint8, device="cuda")
    pool[0, :D] = k8.view(torch.uint8).cuda()[0]
    pool[0, B * D:B * D + 4 * B] = torch.ones(B, dtype=torch.float32, device="cuda").view(torch.uint8)
    values = pool[:, :B * D].view(1, B, D).view(torch.float8_e4m3fn)
    scales = pool[:, B * D:].view(torch.float32)
    q = q8.view(1, 1, H, D).cuda()
    w = torch.zeros(1, H, dtype=torch.float32, device="cuda")
    w[0, 0] = 1.0
    out = torch.full((1, 16), float("nan"), dtype=torch.float32, device="cuda")
    lens = torch.ones(1, dtype=torch.int32, device="cuda")
    table = torch.zeros(1, 1, dtype=torch.int32, device="cuda")
    aiter_kernel()[(1, 1, 1)](1, 1, H, q, q.stride(0), q.stride(1), q.stride(2), values, values.stride(0),
                              values.stride(1), scales, scales.stride(0), 1, lens, table, w, w.stride(0), out,
                              out.stride(0), 16, 1, ChunkQ=H, ChunkK=16, SplitKV=1, HiddenDim=D, KVBlockSize=B)
    return float(out[0, 0].item())


def fp8_mma_bound(terms):
    """The model's bound on |dot error| (tolerance.cpp, written again here in Python)."""
    qk = np.zeros(D)
    for d, q, k in terms:
        qk[d] = q * k
    c, err = 0.0, 0.0
    for d0 in range(0, D, 32):
        p = qk[d0:d0 + 32]
        c_abs = abs(c) + err
        m = max(c_abs, float(np.abs(p).max()))
        if m == 0:
            continue
        u = 2.0 ** (math.floor(math.log2(m)) + 1 - 13)
        align = (u if c_abs > 0 else 0.0) + float(np.sum(np.fmod(np.abs(p), u)))
        c += float(p.sum())
        err += align + 2.0 ** -13 * (abs(c) + err + align)
    return err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    o = ap.parse_args()
    rows = []
    print("%-30s %14s %14s %14s %10s %s" % ("probe", "exact", "DeepGEMM", "aiter", "bound", "within"))
    for name, terms in probes():
        q8, k8 = tensors(terms)
        x = exact(terms)
        dg, ai = deepgemm_dot(q8, k8), aiter_dot(q8, k8)
        b = fp8_mma_bound(terms)
        ok = abs(dg - x) <= b and abs(ai - x) <= b
        rows.append({"probe": name, "exact": x, "deepgemm": dg, "aiter": ai, "bound": b, "within": ok})
        print("%-30s %14.9f %14.9f %14.9f %10.3g %s" % (name, x, dg, ai, b, "yes" if ok else "NO"))
    if o.json:
        with open(o.json, "w") as f:
            json.dump(rows, f, indent=1)
    sys.exit(0 if all(r["within"] for r in rows) else 1)


if __name__ == "__main__":
    main()
