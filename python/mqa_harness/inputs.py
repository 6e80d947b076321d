"""A case's tensors as the upstream kernels take them (DeepGEMM fp8_paged_mqa_logits /
fp8_mqa_logits, aiter's Triton kernels), in numpy or torch, on the CPU."""
import numpy as np

from ._native import core


def _torch_fp8(torch, codes, encoding):
    """uint8 codes as a float8 view when this torch has the dtype, else the uint8 tensor."""
    dt = getattr(torch, "float8_" + encoding, None)
    t = torch.from_numpy(codes)
    return (t.view(dt), True) if dt is not None else (t, False)


def inputs(case, framework="numpy", compact=False, max_pool_bytes=1 << 28):
    """The inputs of a logits case as a dict.

    paged_logits: q [batch, next_n, H, D] fp8 codes; kv_cache [num_pages, B, 1, D+4] uint8, the
    pool in the case's layout and page ids (with layout preshuffle16 the value bytes are aiter's
    preshuffled order; with a padded page stride the 4-D view does not exist and kv_cache is
    [num_pages, page_stride]); weights [batch*next_n, H] float32; context_lens int32 [batch] or
    [batch, next_n]; block_table int32 [batch, max_blocks + tpad] (physical ids); max_context_len,
    max_blocks, page_size, layout, page_stride, compact.
    ragged_logits: q [M, H, D]; k [N, D] codes; kscale [N] float32; weights [M, H]; ks, ke [M] int32.
    Both: encoding ('e4m3fn' | 'e4m3fnuz'), clean_logits, rows, row_stride (logits buffer), profile.

    The pool is never compacted silently: a pool above max_pool_bytes (sparse cases with page ids
    past 65,536 are gigabytes) raises ValueError naming its size, unless compact=True: then kv_cache
    holds only the used pages, block_table is renumbered to them and 'compact' is True (the logits
    are the same); compact='auto' asks for that only when the pool is over the limit.

    framework='torch': torch tensors (CPU). fp8 arrays are torch.float8_e4m3fn / float8_e4m3fnuz
    views of the codes where torch has these dtypes (>= 2.1); older torch (1.13 has none) gets
    uint8 tensors of the codes, with 'fp8_dtype': False and the 'encoding' name to decode them.
    """
    if framework not in ("numpy", "torch"):
        raise ValueError("invalid framework = %r: expected numpy or torch" % (framework,))
    t = case.tensors
    if not t.logits_op:
        raise ValueError("invalid op = %s: inputs() gives the inputs of paged_logits and ragged_logits" % t.op)
    d = {"encoding": t.encoding, "clean_logits": bool(t.clean_logits), "rows": t.rows, "row_stride": t.row_stride,
         "profile": t.profile, "q": t.q(), "weights": t.weights()}
    fp8 = ["q"]
    if t.op == "paged_logits":
        pool_bytes = t.num_pages * t.page_stride
        if compact == "auto":
            compact = pool_bytes > max_pool_bytes
        if compact:
            kv, table = t.compact_cache(), t.block_table_compact()
        elif pool_bytes > max_pool_bytes:
            raise ValueError("pool of %d bytes (%d pages x page_stride %d) exceeds max_pool_bytes = %d: pass "
                             "compact=True for only the used pages (block table renumbered)"
                             % (pool_bytes, t.num_pages, t.page_stride, max_pool_bytes))
        else:
            kv, table = t.pool(), t.block_table()
        if t.page_stride == t.natural_page_bytes:
            kv = kv.reshape(kv.shape[0], t.page_size, 1, t.natural_page_bytes // t.page_size)
        d.update(kv_cache=kv, block_table=table, context_lens=t.context_lens(), max_context_len=t.max_context_len,
                 max_blocks=t.max_blocks, page_size=t.page_size, layout=t.layout, page_stride=t.page_stride,
                 compact=bool(compact), next_n=t.next_n)
    else:
        d.update(k=t.k(), kscale=t.kscale(), ks=t.ks(), ke=t.ke())
        fp8.append("k")
    d["fp8_dtype"] = False
    if framework == "torch":
        import torch
        for key, v in list(d.items()):
            if isinstance(v, np.ndarray):
                if key in fp8:
                    d[key], d["fp8_dtype"] = _torch_fp8(torch, v, t.encoding)
                else:
                    d[key] = torch.from_numpy(v)
    return d


def output(case, framework="numpy"):
    """A logits buffer [rows, row_stride] float32 filled with the sentinel NaN 0x7FBADBAD, for a
    kernel that writes into a caller's buffer: check(..., writes='defined'|'columns') then also
    proves it wrote nothing else."""
    t = case.tensors
    out = np.full((t.rows, t.row_stride), core.LOGIT_SENTINEL_BITS, dtype=np.uint32).view(np.float32)
    if framework == "torch":
        import torch
        return torch.from_numpy(out)
    return out
