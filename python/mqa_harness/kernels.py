"""Two plain CPU kernels written from the contract, not from the C++: a numpy one that is
bit-exact with the `exact` profile (docs/numerics.md: exact dot via float64, then the fp32
epilogue in the contract's order) and a torch one in plain fp32 (judged by mode='tolerance').
They read the inputs exactly as an upstream kernel would (kv_cache bytes through the block
table, both page layouts), so they double as a worked example and as the harness's own check."""
import numpy as np

from .errors import Unsupported


def fp8_table(encoding):
    """float64[256]: the value of each e4m3fn / e4m3fnuz code (NaN codes NaN)."""
    if encoding not in ("e4m3fn", "e4m3fnuz"):
        raise ValueError("invalid encoding = %r: expected e4m3fn or e4m3fnuz" % (encoding,))
    bias = 7 if encoding == "e4m3fn" else 8
    c = np.arange(256)
    e, m = (c >> 3) & 15, (c & 7).astype(np.float64)
    mag = np.where(e == 0, m * 2.0 ** (-bias - 2), (8 + m) * 2.0 ** (e - bias - 3))
    v = np.where(c & 0x80, -mag, mag)
    if encoding == "e4m3fn":
        v[(c & 0x7F) == 0x7F] = np.nan
    else:
        v[0x80] = np.nan
    return v


def split_pages(pool, layout, B, D):
    """Pool bytes [P, >= B*(D+4)] -> fp8 codes [P, B, D] in token order and scales float32 [P, B]."""
    P = pool.shape[0]
    vals = pool[:, :B * D]
    if layout == "preshuffle16":  # byte (t, d) at (t/16)*16D + (d/16)*256 + (t%16)*16 + d%16
        vals = vals.reshape(P, B // 16, D // 16, 16, 16).transpose(0, 1, 3, 2, 4)
    codes = vals.reshape(P, B, D)
    scales = np.ascontiguousarray(pool[:, B * D:B * D + 4 * B]).view(np.float32).reshape(P, B)
    return codes, scales


def row_lengths(context_lens, next_n):
    """L[b, j]: tokens row b*next_n + j reads (1-D lens: ctx_b - next_n + j + 1, at least 0)."""
    lens = np.asarray(context_lens, dtype=np.int64)
    if lens.ndim == 2:
        return lens
    j = np.arange(next_n)
    return np.maximum(0, lens[:, None] - next_n + j[None, :] + 1)


def _gather(x, b, L):
    """codes [L, D] and scales [L] of sequence b's first L tokens, through the block table."""
    codes, scales = x["_pages"]
    B = x["page_size"]
    s = np.arange(L)
    pages = x["block_table"][b, s // B]
    return codes[pages, s % B], scales[pages, s % B]


def _prepare(case, compact):
    if case.op not in ("paged_logits", "ragged_logits"):
        raise Unsupported("op %s" % case.op)
    x = case.inputs("numpy", compact=compact)
    if case.op == "paged_logits":
        kv = x["kv_cache"].reshape(x["kv_cache"].shape[0], -1)
        x["_pages"] = split_pages(kv, x["layout"], x["page_size"], x["q"].shape[-1])
    return x


def _rows(x, op):
    """(row, q codes [H, D], k codes [L, D], scales [L], first column) for every non-empty row."""
    if op == "paged_logits":
        batch, next_n = x["q"].shape[:2]
        L = row_lengths(x["context_lens"], next_n)
        for b in range(batch):
            if L[b].max(initial=0) == 0:
                continue
            kc, ks = _gather(x, b, int(L[b].max()))
            for j in range(next_n):
                n = int(L[b, j])
                if n:
                    yield b * next_n + j, x["q"][b, j], kc[:n], ks[:n], 0
    else:
        for i in range(x["q"].shape[0]):
            lo, hi = int(x["ks"][i]), int(x["ke"][i])
            if hi > lo:
                yield i, x["q"][i], x["k"][lo:hi], x["kscale"][lo:hi], lo


def _out(x):
    fill = -np.inf if x["clean_logits"] else 0.0
    return np.full((x["rows"], x["row_stride"]), fill, dtype=np.float32)


def numpy_exact_kernel(case, compact="auto"):
    """Bit-exact with the `exact` profile: a_h = RN(exact sum) (float64 dot of fp8 values is exact),
    t_h = RN(relu(a_h) w_h) with relu(NaN) = NaN, the pairwise tree, RN(t_0 kscale)."""
    x = _prepare(case, compact)
    if x["profile"] != "exact":
        raise Unsupported("profile %s" % x["profile"])
    table = fp8_table(x["encoding"])
    out = _out(x)
    w_all = x["weights"]
    for r, q, k, kscale, c0 in _rows(x, case.op):
        a = (table[q] @ table[k].T).astype(np.float32)  # [H, L]; one rounding of an exact sum
        a = np.where(np.isnan(a) | (a > 0), a, np.float32(0))
        t = a * w_all[r][:, None]
        step = t.shape[0] // 2
        while step >= 1:
            t = t[:step] + t[step:2 * step]
            step //= 2
        out[r, c0:c0 + k.shape[0]] = t[0] * kscale
    return out


def torch_fp32_kernel(case, compact="auto", bug=None):
    """Plain fp32 torch: dequantise, gather through the block table, einsum, relu, weights, head
    sum, k scale. bug (for the harness's own tests): 'page' reads the next table entry, 'relu'
    drops the relu."""
    import torch
    x = _prepare(case, compact)
    table = torch.from_numpy(fp8_table(x["encoding"]).astype(np.float32))
    if bug == "page" and case.op == "paged_logits":
        bt = x["block_table"].copy()  # each sequence reads its pages rotated by one: page i -> i + 1
        need = -(-row_lengths(x["context_lens"], x["next_n"]).max(axis=1) // x["page_size"])
        for b, n in enumerate(need):
            bt[b, :n] = np.roll(bt[b, :n], -1)
        x["block_table"] = bt
    out = torch.from_numpy(_out(x))
    w_all = torch.from_numpy(x["weights"])
    for r, q, k, kscale, c0 in _rows(x, case.op):
        qf = table[torch.from_numpy(q.astype(np.int64))]
        kf = table[torch.from_numpy(k.astype(np.int64))]
        a = torch.einsum("hd,sd->hs", qf, kf)
        if bug != "relu":
            a = torch.relu(a)
        out[r, c0:c0 + k.shape[0]] = (a * w_all[r][:, None]).sum(0) * torch.from_numpy(np.ascontiguousarray(kscale))
    return out
