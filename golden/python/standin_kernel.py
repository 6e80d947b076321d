"""A pure-numpy stand-in for an MQA-logits kernel (what a torch user would call on a GPU).

It is an independent implementation of the canonical `exact` contract (spec numerics.md) written
from the spec, not from the C++ reference, reading the pool through the block table like a real
kernel does. Because every step maps onto one IEEE operation numpy performs with round-to-nearest
(fp64 dot products are exact for fp8 inputs, then a single rounding to fp32), its logits are
BIT-IDENTICAL to the reference: `verify` runs in the golden's own `bitwise` mode.
Only profile `exact` is implemented (deepgemm_sm90's fp32 FMA chain has no exact numpy form).
"""

import numpy as np

from mqa_golden import decode_fp8


def _value_offsets(layout, B, D, t, d):
    """Byte offset inside a page of value (slot t, byte d) (spec layouts.md)."""
    if layout == "standard":
        return t * D + d
    return (t // 16) * 16 * D + (d // 16) * 256 + (t % 16) * 16 + (d % 16)


def _epilogue(a64, w, kscale):
    """a64 [rows, H, S] exact dot products; w [rows, H]; kscale [S] -> logits [rows, S] fp32."""
    with np.errstate(over="ignore", invalid="ignore"):
        a = a64.astype(np.float32)                           # RN(exact sum)
        a = np.where(np.isnan(a) | (a > 0), a, np.float32(0))  # relu; NaN stays NaN; -0 -> +0
        t = a * w[:, :, None].astype(np.float32)             # RN(relu(a) * w)
        step = t.shape[1] // 2
        while step >= 1:                                     # pairwise tree over heads
            t = t[:, :step] + t[:, step:2 * step]
            step //= 2
        return t[:, 0] * kscale[None, :].astype(np.float32)  # RN(S * kscale)


def paged_mqa_logits(q, pool, weights, context_lens, block_table, max_context_len, row_stride,
                     layout, page_size, head_dim, encoding, clean_logits=False, fill=np.nan):
    """fp8_paged_mqa_logits on numpy arrays: q [batch, next_n, H, D] codes, pool [num_pages,
    page_stride] bytes. Returns [batch*next_n, row_stride] float32; columns >= L_r hold `fill`
    (-inf over [L_r, max_context_len) with clean_logits)."""
    batch, next_n, H, D = q.shape
    B = page_size
    out = np.full((batch * next_n, row_stride), fill, dtype=np.float32)
    flat = pool.reshape(-1)
    stride = pool.shape[1]
    qf = decode_fp8(q, encoding).astype(np.float64)
    d = np.arange(D)
    for b in range(batch):
        if context_lens.ndim == 1:
            lens = [int(context_lens[b]) - next_n + j + 1 for j in range(next_n)]
        else:
            lens = [int(x) for x in context_lens[b]]
        S = max(0, max(lens))
        s = np.arange(S)
        page = block_table[b, s // B].astype(np.int64) if S else np.zeros(0, np.int64)
        t = s % B
        vbytes = page[:, None] * stride + _value_offsets(layout, B, D, t[:, None], d[None, :])
        k = decode_fp8(flat[vbytes], encoding).astype(np.float64)               # [S, D]
        sbytes = page * stride + B * D + 4 * t
        kscale = flat[sbytes[:, None] + np.arange(4)].copy().view("<f4")[:, 0]  # [S]
        a64 = np.einsum("jhd,sd->jhs", qf[b], k) if S else np.zeros((next_n, H, 0))
        logits = _epilogue(a64, weights[b * next_n:(b + 1) * next_n], kscale)
        for j in range(next_n):
            r, L = b * next_n + j, max(0, lens[j])
            out[r, :L] = logits[j, :L]
            if clean_logits:
                out[r, L:max_context_len] = -np.inf
    return out


def ragged_mqa_logits(q, k, kscale, weights, ks, ke, row_stride, encoding, clean_logits=False, fill=np.nan):
    """fp8_mqa_logits: q [M, H, D] codes, k [N, D] codes, kscale [N]; row i scores [ks_i, ke_i)."""
    M = q.shape[0]
    N = k.shape[0]
    out = np.full((M, row_stride), fill, dtype=np.float32)
    kf = decode_fp8(k, encoding).astype(np.float64)
    a64 = np.einsum("mhd,nd->mhn", decode_fp8(q, encoding).astype(np.float64), kf)
    logits = _epilogue(a64, weights, kscale)
    for i in range(M):
        lo, hi = int(ks[i]), int(ke[i])
        if clean_logits:
            out[i, :N] = -np.inf
        out[i, lo:hi] = logits[i, lo:hi]
    return out


def order_key(x):
    """Canonical top-k order key (ops.md 5): NaN above everything, -0 == +0."""
    b = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    nan = (b & 0x7FFFFFFF) > 0x7F800000
    b = np.where((b & 0x7FFFFFFF) == 0, 0, b)
    key = np.where(b & 0x80000000, (~b) & 0xFFFFFFFF, b | 0x80000000)
    return np.where(nan, 0xFFFFFFFF, key)


def topk(logits, regions, k):
    """Per row the indices of the k best columns of [valid_begin, valid_end), canonical order, -1 padded."""
    out = np.full((logits.shape[0], k), -1, dtype=np.int32)
    for r, (lo, hi, _) in enumerate(regions):
        cols = np.arange(lo, hi)
        key = order_key(logits[r, lo:hi])
        order = np.lexsort((cols, 0xFFFFFFFF - key))[:k]
        out[r, :len(order)] = cols[order]
    return out
