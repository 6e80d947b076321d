#!/usr/bin/env python3
"""Runs a real peer kernel on every case of a golden file and writes a candidate file for
`mqa-harness golden verify` (the harness draws the cases and judges the outputs; this script
only hands the golden's inputs to the peer in the peer's own layout and collects its logits).

    peer_kernels.py --kernel deepgemm|aiter GOLDEN.h5 CANDIDATE.h5 [--bug NAME] [--report R.json]

Kernels (both called, never copied; see ../shared/peers/README.md for building them):
  deepgemm  DeepGEMM SM90: paged_logits through fp8_fp4_paged_mqa_logits, ragged_logits through
            fp8_fp4_mqa_logits. Shapes: page 64, H 32/64, D 128 (ragged: D 32/64/128),
            e4m3fn, standard layout. 1-D lens are handed over as the equivalent 2-D lens
            (L_r = max(0, ctx - next_n + j + 1)); table entries the case never needs (-1,
            stale ids) are replaced by 0, because DeepGEMM requires every entry to be a page.
  aiter     aiter's Triton paged kernel (_deepgemm_fp8_paged_mqa_logits, the non-gluon path it
            takes outside gfx942/gfx950), launched directly: its wrapper passes an AMD-only
            launch option (waves_per_eu) that Triton on NVIDIA rejects. Shapes: H >= 16 power
            of two, D 64/128, any page size, 1-D lens, e4m3fn, standard layout.
A case outside a kernel's shapes is skipped and listed in the report (never judged).

Planted bugs (--bug), each the visible effect of a real kernel bug, made by changing what the
kernel is given or (relu) by a patched copy of the kernel source prepared by run_peers.sh:
  wrong_page      entry 0 of every block-table row points at another stored page
  len_minus_one   every context length one short (the last valid logit is never computed)
  no_relu         the kernel source without its relu (PEER_SRC points at the patched copy)
  scale_next_slot every token's k scale is that of the next slot of its page
  weights_row_b   row b*next_n+j uses the weights of row b
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "golden", "python"))
import mqa_golden as mg  # noqa: E402

BIG_POOLS = False
BUGS = ("none", "wrong_page", "len_minus_one", "no_relu", "scale_next_slot", "weights_row_b")


class Skip(Exception):
    """The case is outside the kernel's shapes."""


def lens_2d(case, lens):
    """The 2-D lens [batch, next_n] equivalent to the case's lens (1-D lens: L_r rule of numerics.md)."""
    a = case.attrs
    if a["lens_2d"]:
        return lens.reshape(a["batch"], a["next_n"]).astype(np.int32)
    j = np.arange(a["next_n"])[None, :]
    return np.maximum(0, lens[:, None] - a["next_n"] + j + 1).astype(np.int32)


def gpu_pool(case, bug):
    """The whole pool on the GPU at its physical page ids (a pool past 2^32 bytes is a real
    allocation there), every other byte = cache_fill."""
    a = case.attrs
    pool = torch.full((a["num_pages"], a["page_stride"]), int(a["cache_fill"]), dtype=torch.uint8, device="cuda")
    stored = torch.from_numpy(case["cache"]).cuda()
    if bug == "scale_next_slot":  # the scale of slot (t+1) % B for every token t of a page
        B, D = a["page_size"], a["head_dim"]
        sc = stored[:, B * D:B * D + 4 * B].reshape(-1, B, 4)
        stored = stored.clone()
        stored[:, B * D:B * D + 4 * B] = torch.roll(sc, -1, dims=1).reshape(-1, 4 * B)
    pool[torch.from_numpy(case["page_ids"]).cuda()] = stored
    return pool


def table_for(case, bug, needed_cols):
    a = case.attrs
    t = case["block_table"].astype(np.int32).copy()
    ids = case["page_ids"]
    if bug == "wrong_page" and len(ids) > 1:
        for b in range(t.shape[0]):
            if needed_cols[b] > 0:
                k = int(np.searchsorted(ids, t[b, 0]))
                t[b, 0] = ids[(k + 1) % len(ids)]
    return t


def weights_for(case, bug):
    w = case["weights"].astype(np.float32).copy()
    a = case.attrs
    if bug == "weights_row_b" and a["op"] == "paged_logits":
        n = a["next_n"]
        for b in range(a["batch"]):
            w[b * n:(b + 1) * n] = case["weights"][b]
    return w


def check_common(case):
    a = case.attrs
    if a["encoding"] != "e4m3fn":
        raise Skip("encoding %s" % a["encoding"])


def deepgemm_case(case, bug):
    a = case.attrs
    check_common(case)
    D, H = a["head_dim"], a["heads"]
    if H not in (32, 64):
        raise Skip("heads %d" % H)
    q = torch.from_numpy(case["q"]).cuda().view(torch.float8_e4m3fn)
    w = torch.from_numpy(np.ascontiguousarray(weights_for(case, bug))).cuda().contiguous()
    if a["op"] == "ragged_logits":
        if D not in (32, 64, 128):
            raise Skip("head_dim %d" % D)
        r = case.ragged_inputs()
        k = torch.from_numpy(r["k"]).cuda().view(torch.float8_e4m3fn)
        ks = torch.from_numpy(r["kscale"]).cuda()
        if bug == "scale_next_slot":
            ks = torch.roll(ks, -1)
        ke = r["ke"] - (1 if bug == "len_minus_one" else 0)
        out = deepgemm_ragged(q, k, ks, w, torch.from_numpy(r["ks"]).cuda().int(),
                              torch.from_numpy(np.maximum(ke, r["ks"]).astype(np.int32)).cuda(), bool(a["clean_logits"]))
        return out.float().cpu().numpy()
    if a["clean_logits"]:  # DeepGEMM 54e2261 cleans only with 1-D lens, and SM90 takes only 2-D lens
        raise Skip("clean_logits with 2-D lens")
    if a["page_size"] != 64 or D != 128 or a["next_n"] not in (1, 2) or a["layout"] != "standard":
        raise Skip("page %d D %d next_n %d layout %s" % (a["page_size"], D, a["next_n"], a["layout"]))
    lens = lens_2d(case, case["context_lens"])
    if bug == "len_minus_one":
        lens = np.maximum(lens - 1, 0)
    P, S, per_token = a["num_pages"], a["page_stride"], D + 4
    pool = gpu_pool(case, bug)
    kv = torch.as_strided(pool, (P, 64, 1, per_token), (S, per_token, per_token, 1))
    need = (lens.max(axis=1) + 63) // 64
    t = table_for(case, bug, need)
    for b in range(t.shape[0]):  # entries the case never reads must still be pages for DeepGEMM
        t[b, need[b]:] = 0
    t = np.where((t >= 0) & (t < P), t, 0).astype(np.int32)
    lens_t = torch.from_numpy(np.ascontiguousarray(lens)).cuda()
    out = deepgemm_paged(q, kv, w, lens_t, torch.from_numpy(t).cuda(), deepgemm_schedule(lens_t),
                         int(a["logits_cols"]), bool(a["clean_logits"]))
    return out.float().cpu().numpy()  # [rows, max_context_len]: verify takes it unpadded


# The peers' entry points on device tensors, shared by the cases above and time_peers.py.
def deepgemm_schedule(lens_t):
    """DeepGEMM's split of the paged work over the SMs (once per batch of lengths, as a decode step does)."""
    import deep_gemm
    return deep_gemm.get_paged_mqa_logits_metadata(lens_t, 64, deep_gemm.get_num_sms())


def deepgemm_paged(q, kv, w, lens_t, table_t, sched, cols, clean):
    """q [B, next_n, H, D] fp8, kv [pages, 64, 1, D + 4] uint8, w [B * next_n, H] fp32, 2-D lens
    [B, next_n] int32, table [B, max pages] int32 -> logits [B * next_n, cols]."""
    import deep_gemm
    return deep_gemm.fp8_fp4_paged_mqa_logits((q, None), kv, w, lens_t, table_t, sched, cols, clean_logits=clean)


def deepgemm_ragged(q, k, ks, w, row_ks, row_ke, clean):
    """q [M, H, D] fp8, k [N, D] fp8, ks [N] fp32, w [M, H], row i reads k rows [row_ks[i], row_ke[i])."""
    import deep_gemm
    return deep_gemm.fp8_fp4_mqa_logits((q, None), (k, ks), w, row_ks, row_ke, clean_logits=clean)


_AITER = None


def aiter_kernel():
    global _AITER
    if _AITER is None:
        from aiter.ops.triton._triton_kernels.attention import pa_mqa_logits as k
        _AITER = k._deepgemm_fp8_paged_mqa_logits
    return _AITER


def aiter_case(case, bug):
    a = case.attrs
    check_common(case)
    if a["op"] != "paged_logits":
        raise Skip("op %s" % a["op"])
    B, D, H, n = a["page_size"], a["head_dim"], a["heads"], a["next_n"]
    if a["lens_2d"] or a["layout"] != "standard" or D not in (64, 128) or H < 16 or B & (B - 1):
        raise Skip("lens_2d %d layout %s D %d H %d page %d" % (a["lens_2d"], a["layout"], D, H, B))
    if a["clean_logits"]:
        raise Skip("clean_logits (aiter's kernel never writes -inf outside the context)")
    if a["num_pages"] * a["page_stride"] >= 1 << 31 and not BIG_POOLS:
        # Its offsets are int32 products (physical_block_idx * stride_k_block): run apart with --big-pools
        raise Skip("pool of %d bytes >= 2^31 (run with --big-pools)" % (a["num_pages"] * a["page_stride"]))
    lens = case["context_lens"].astype(np.int32) - (1 if bug == "len_minus_one" else 0)
    lens = np.maximum(lens, 0)
    P, S = a["num_pages"], a["page_stride"]
    pool = gpu_pool(case, bug)
    values = torch.as_strided(pool, (P, B, D), (S, D, 1)).view(torch.float8_e4m3fn)
    scales = torch.as_strided(pool[:, B * D:], (P, B * 4), (S, 1)).view(torch.float32) if S % 4 == 0 else None
    if scales is None:
        raise Skip("page stride %d not a multiple of 4" % S)
    need = (lens + B - 1) // B
    t = table_for(case, bug, need)
    q = torch.from_numpy(case["q"]).cuda().view(torch.float8_e4m3fn)
    w = torch.from_numpy(weights_for(case, bug)).cuda()
    cols = int(a["logits_cols"])
    rows = a["batch"] * n
    out = torch.full((rows, cols), float("nan"), dtype=torch.float32, device="cuda")
    aiter_launch(a["batch"], n, q, values, scales, torch.from_numpy(lens).cuda(), torch.from_numpy(t).cuda(), w, out)
    return out.cpu().numpy()


def aiter_launch(batch, next_n, q, values, scales, lens_t, table_t, w, out):
    """aiter's Triton kernel on device tensors: q [rows, H, D] fp8, values [pages, B, D] fp8, scales
    [pages, B] fp32 (strided views of one pool), 1-D lens [batch], table [batch, max pages], w [rows,
    H], out [rows, cols] (written where the context is)."""
    H, D, B = q.shape[-2], q.shape[-1], values.shape[1]
    chunk_k = 256 if B <= 256 and 256 % B == 0 else B
    split_kv = 4  # a constexpr: one value keeps Triton to one compile per shape
    grid = (batch * next_n * split_kv, 1, 1)
    aiter_kernel()[grid](
        batch, next_n, H, q, q.stride(0), q.stride(1), q.stride(2),
        values, values.stride(0), values.stride(1), scales, scales.stride(0), 1,
        lens_t, table_t, w, w.stride(0), out, out.stride(0), out.shape[1], table_t.shape[1],
        ChunkQ=H, ChunkK=chunk_k, SplitKV=split_kv, HiddenDim=D, KVBlockSize=B)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("golden")
    ap.add_argument("candidate")
    ap.add_argument("--kernel", choices=("deepgemm", "aiter"), required=True)
    ap.add_argument("--bug", choices=BUGS, default="none")
    ap.add_argument("--report", help="JSON with per-case status and seconds")
    ap.add_argument("--big-pools", action="store_true", help="aiter: also pools of 2^31 bytes or more")
    ap.add_argument("--trace", help="append each case's name here before it runs (a crash names its case)")
    o = ap.parse_args()
    global BIG_POOLS
    BIG_POOLS = o.big_pools
    run = deepgemm_case if o.kernel == "deepgemm" else aiter_case
    cases = mg.load(o.golden)
    outputs, report = {}, {"kernel": o.kernel, "bug": o.bug, "cases": {}}
    t0 = time.time()
    for i, (name, case) in enumerate(cases.items()):
        if o.trace:
            with open(o.trace, "a") as f:
                f.write("%s %s\n" % (name, case.attrs["descriptor"]))
        try:
            start = time.time()
            logits = run(case, o.bug)
            torch.cuda.synchronize()
            outputs[name] = {"logits": np.ascontiguousarray(logits, dtype=np.float32)}
            report["cases"][name] = {"status": "ran", "seconds": time.time() - start}
        except Skip as e:
            report["cases"][name] = {"status": "skipped", "why": str(e)}
        except RuntimeError as e:  # a host-side refusal (DeepGEMM's DG_HOST_ASSERT): reported apart, never judged
            if "CUDA error" in str(e) or "illegal" in str(e):
                raise
            report["cases"][name] = {"status": "refused", "why": str(e).splitlines()[0][:200]}
        if (i + 1) % 25 == 0:
            print("  %s/%s: %d/%d cases, %.1f s" % (o.kernel, o.bug, i + 1, len(cases), time.time() - t0), flush=True)
    if not outputs:
        print("no case ran (every case is outside the kernel's shapes)", file=sys.stderr)
        sys.exit(1)
    mg.write_candidate(o.candidate, outputs, generator="scripts/peers/peer_kernels.py --kernel %s --bug %s" % (o.kernel, o.bug))
    if o.report:
        with open(o.report, "w") as f:
            json.dump(report, f, indent=1)
    ran = sum(1 for c in report["cases"].values() if c["status"] == "ran")
    print("%s (bug %s): ran %d of %d cases in %.1f s" % (o.kernel, o.bug, ran, len(cases), time.time() - t0))


if __name__ == "__main__":
    main()
