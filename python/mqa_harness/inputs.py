"""A case's tensors as the upstream kernels take them, in numpy or torch, on the CPU or a GPU.

layout=None gives the case's own tensors (below); layout='deepgemm' (also 'vllm' and 'sglang',
which hand DeepGEMM's layout to DeepGEMM's kernels) and layout='aiter' give the argument set of
those kernels (peer_layout() documents each)."""
import numpy as np

from ._native import core
from .check import to_numpy

PEER_LAYOUTS = ("deepgemm", "vllm", "sglang", "aiter")


def _torch_fp8(torch, t, encoding):
    """uint8 codes as a float8 view when this torch has the dtype, else the uint8 tensor."""
    dt = getattr(torch, "float8_" + encoding, None)
    return (t.view(dt), True) if dt is not None else (t, False)


def _pool(t, compact, max_pool_bytes, device):
    """(pool [pages, page_stride], block table, compact) as numpy, or the pool as a torch tensor
    on a GPU: there the whole pool is a real allocation (pages at their physical ids, every other
    byte 0), so a kernel sees the case's real byte offsets past 2^31 and 2^32."""
    pool_bytes = t.num_pages * t.page_stride
    if device != "cpu" and not compact:
        import torch
        pool = torch.zeros((t.num_pages, t.page_stride), dtype=torch.uint8, device=device)
        ids = torch.from_numpy(t.page_ids().astype(np.int64)).to(device)
        pool[ids] = torch.from_numpy(t.compact_cache()).to(device)
        return pool, t.block_table(), False
    if compact == "auto":
        compact = pool_bytes > max_pool_bytes
    if compact:
        return t.compact_cache(), t.block_table_compact(), True
    if pool_bytes > max_pool_bytes:
        raise ValueError("pool of %d bytes (%d pages x page_stride %d) exceeds max_pool_bytes = %d: pass "
                         "compact=True for only the used pages (block table renumbered), or device='cuda'"
                         % (pool_bytes, t.num_pages, t.page_stride, max_pool_bytes))
    return t.pool(), t.block_table(), False


def _page_view(kv, t):
    """[pages, B, 1, D+4]: the page as DeepGEMM and aiter view it (values then scales; with a
    padded page stride a strided view of the same bytes)."""
    per_token = t.natural_page_bytes // t.page_size
    shape, strides = (kv.shape[0], t.page_size, 1, per_token), (t.page_stride, per_token, per_token, 1)
    if isinstance(kv, np.ndarray):
        return np.lib.stride_tricks.as_strided(kv, shape, tuple(s * kv.itemsize for s in strides), writeable=False)
    import torch
    return torch.as_strided(kv, shape, strides)


def lens_2d(context_lens, next_n):
    """int32 [batch, next_n]: the per-row lengths of 1-D lens (row j of sequence b reads
    ctx_b - next_n + j + 1 tokens, at least 0: docs/numerics.md); 2-D lens unchanged."""
    lens = np.asarray(context_lens)
    if lens.ndim == 2:
        return lens.astype(np.int32)
    j = np.arange(next_n)[None, :]
    return np.maximum(0, lens.astype(np.int64)[:, None] - next_n + j + 1).astype(np.int32)


def inputs(case, framework="numpy", compact=False, max_pool_bytes=1 << 28, device="cpu", layout=None):
    """The inputs of a logits case as a dict.

    paged_logits: q [batch, next_n, H, D] fp8 codes; kv_cache [num_pages, B, 1, D+4] uint8, the
    pool in the case's layout and page ids (with layout preshuffle16 the value bytes are aiter's
    preshuffled order; with a padded page stride kv_cache is [num_pages, page_stride] and
    kv_pages the 4-D strided view); weights [batch*next_n, H] float32; context_lens int32 [batch]
    or [batch, next_n]; block_table int32 [batch, max_blocks + tpad] (physical ids);
    max_context_len, max_blocks, page_size, layout, page_stride, compact.
    ragged_logits: q [M, H, D]; k [N, D] codes; kscale [N] float32; weights [M, H]; ks, ke [M] int32.
    Both: encoding ('e4m3fn' | 'e4m3fnuz'), clean_logits, rows, row_stride (logits buffer), profile.

    device='cuda' (torch only): every tensor on that device; the pool is the whole pool there.
    On the CPU the pool is never compacted silently: a pool above max_pool_bytes (sparse cases
    with page ids past 65,536 are gigabytes) raises ValueError naming its size, unless
    compact=True: then kv_cache holds only the used pages, block_table is renumbered to them and
    'compact' is True (the logits are the same); compact='auto' compacts only when over the limit.

    framework='torch': fp8 arrays are torch.float8_e4m3fn / float8_e4m3fnuz views of the codes
    where torch has these dtypes (>= 2.1); older torch (1.13 has none) gets uint8 tensors of the
    codes, with 'fp8_dtype': False and the 'encoding' name to decode them.
    layout='deepgemm' | 'vllm' | 'sglang' | 'aiter': the peer's own arguments (peer_layout()).
    """
    if framework not in ("numpy", "torch"):
        raise ValueError("invalid framework = %r: expected numpy or torch" % (framework,))
    if device != "cpu" and framework != "torch":
        raise ValueError("invalid device = %r with framework = %r: GPU tensors are torch tensors" % (device, framework))
    if layout is not None and layout not in PEER_LAYOUTS:
        raise ValueError("invalid layout = %r: expected None or one of %s" % (layout, ", ".join(PEER_LAYOUTS)))
    t = case.tensors
    if not t.logits_op:
        raise ValueError("invalid op = %s: inputs() gives the inputs of paged_logits and ragged_logits" % t.op)
    d = {"encoding": t.encoding, "clean_logits": bool(t.clean_logits), "rows": t.rows, "row_stride": t.row_stride,
         "profile": t.profile, "q": t.q(), "weights": t.weights()}
    fp8 = ["q"]
    if t.op == "paged_logits":
        kv, table, compacted = _pool(t, compact, max_pool_bytes, device)
        d.update(kv_cache=kv, block_table=table, context_lens=t.context_lens(), max_context_len=t.max_context_len,
                 max_blocks=t.max_blocks, page_size=t.page_size, layout=t.layout, page_stride=t.page_stride,
                 compact=compacted, next_n=t.next_n)
    else:
        d.update(k=t.k(), kscale=t.kscale(), ks=t.ks(), ke=t.ke())
        fp8.append("k")
    d["fp8_dtype"] = False
    if framework == "torch":
        import torch
        for key, v in list(d.items()):
            if isinstance(v, np.ndarray):
                v = torch.from_numpy(v)
            if isinstance(v, torch.Tensor):
                v = v.to(device)
                if key in fp8:
                    v, d["fp8_dtype"] = _torch_fp8(torch, v, t.encoding)
                d[key] = v
    if t.op == "paged_logits":
        d["kv_pages"] = _page_view(d["kv_cache"], t)
        if t.page_stride == t.natural_page_bytes:
            d["kv_cache"] = d["kv_pages"]
    return peer_layout(d, layout, framework, device) if layout else d


def _like(x, a):
    """a (numpy) as x's kind: a torch tensor on x's device when x is one."""
    if isinstance(x, np.ndarray):
        return a
    import torch
    return torch.from_numpy(np.ascontiguousarray(a)).to(x.device)


def peer_layout(d, layout, framework="numpy", device="cpu"):
    """The arguments of the peer kernels, from inputs()'s dict (facts from their sources):

    'deepgemm' (vLLM and SGLang hand the same to DeepGEMM):
      paged fp8_fp4_paged_mqa_logits: q [batch, next_n, H, D] fp8; kv_cache [pages, B, 1, D+4]
      uint8 (values then fp32 scales per page); weights [rows, H] float32; context_lens int32
      as the case has them, context_lens_2d int32 [batch, next_n] (the SM90 kernel takes only
      these: the same rows, the 1-D rule written out); block_table int32; max_context_len.
      ragged fp8_fp4_mqa_logits: q [M, H, D] fp8; kv = (k [N, D] fp8, kscale [N] float32);
      weights [M, H]; cu_seqlen_ks, cu_seqlen_ke int32 [M].
    'aiter' (paged only: deepgemm_fp8_paged_mqa_logits and its Triton kernel): q fp8; kv_cache
      [pages, B, 1, D+4] as fp8 (its scales read back as float32); Preshuffle = the case's
      layout is preshuffle16 (aiter's MFMA 16x16 order of each page's value bytes);
      KVBlockSize = B; context_lens 1-D int32; block_table; weights; out float32 [rows,
      row_stride] filled with the sentinel NaN (the kernel writes into it; max_model_len is its
      row stride).
    Every key of inputs() stays in the dict; the peers' names are added."""
    p = dict(d)
    op_paged = "kv_cache" in d
    if layout in ("deepgemm", "vllm", "sglang"):
        if op_paged:
            p["context_lens_2d"] = _like(d["context_lens"], lens_2d(to_numpy(d["context_lens"]), d["next_n"]))
        else:
            p["kv"] = (d["k"], d["kscale"])
            p["cu_seqlen_ks"], p["cu_seqlen_ke"] = d["ks"], d["ke"]
        return p
    if not op_paged:
        raise ValueError("invalid layout = 'aiter' for ragged_logits: aiter's paged kernel takes paged_logits cases")
    kv = d["kv_pages"]
    if framework == "torch":
        import torch
        dt = getattr(torch, "float8_" + d["encoding"], None)
        if dt is not None:
            kv = kv.view(dt)  # same element size: a view of any strides
    p.update(kv_cache=kv, Preshuffle=d["layout"] == "preshuffle16", KVBlockSize=d["page_size"],
             out=output_buffer(d["rows"], d["row_stride"], framework, device), max_model_len=d["row_stride"])
    return p


def output_buffer(rows, row_stride, framework="numpy", device="cpu"):
    out = np.full((rows, row_stride), core.LOGIT_SENTINEL_BITS, dtype=np.uint32).view(np.float32)
    if framework == "torch":
        import torch
        return torch.from_numpy(out).to(device)
    return out


def output(case, framework="numpy", device="cpu"):
    """A logits buffer [rows, row_stride] float32 filled with the sentinel NaN LOGIT_SENTINEL_BITS, for a
    kernel that writes into a caller's buffer: check(..., writes='defined'|'columns') then also
    proves it wrote nothing else."""
    t = case.tensors
    return output_buffer(t.rows, t.row_stride, framework, device)
