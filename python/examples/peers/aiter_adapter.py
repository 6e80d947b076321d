"""aiter's Triton paged-MQA-logits kernel through mqa_harness (a worked example; the kernel is
called, never copied). aiter's wrapper deepgemm_fp8_paged_mqa_logits passes waves_per_eu, an
AMD-only launch option that Triton on NVIDIA rejects, so on NVIDIA this launches the wrapper's
Triton kernel itself with the wrapper's arguments; on ROCm call the wrapper with **args.

    logits = aiter_logits(case)                       # page 1 and page 64 (any power of two)
    mh.check(case, logits, mode="tolerance:fp8_mma")  # tensor-core dot: the fp8 MMA model

The preshuffle layout (case layout preshuffle16) is aiter's input format for its gluon kernel
(AMD only): case.inputs(layout="aiter") hands it over with Preshuffle=True, and
preshuffle_pages_by_aiter() rebuilds the same bytes with aiter's own test writer."""
import torch

import mqa_harness as mh

AITER_PAGED = dict(ops="paged_logits", heads="16,32,64", head_dims="64,128", encodings="e4m3fn",
                   layouts="standard", lens_2d="off")
SPLIT_KV = 4  # a constexpr of the kernel: one value keeps Triton to one compile per shape


def _kernel():
    from aiter.ops.triton._triton_kernels.attention import pa_mqa_logits as k
    return k._deepgemm_fp8_paged_mqa_logits


def aiter_logits(case, split_kv=SPLIT_KV):
    """The aiter logits of a case, float32 [rows, row_stride] (the sentinel where it wrote nothing)."""
    x = case.inputs("torch", device="cuda", layout="aiter")
    B, D, H = x["page_size"], x["q"].shape[-1], x["q"].shape[2]
    if x["encoding"] != "e4m3fn" or x["context_lens"].dim() != 1 or x["Preshuffle"]:
        raise mh.Unsupported("encoding %s, 2-D lens or preshuffle (gluon, AMD only)" % x["encoding"])
    if x["clean_logits"]:
        raise mh.Unsupported("clean_logits (the kernel never writes -inf outside the context)")
    if B & (B - 1) or D not in (64, 128) or H < 16:
        raise mh.Unsupported("page %d, D %d, H %d" % (B, D, H))
    if x["page_stride"] * x["kv_pages"].shape[0] >= 1 << 31:  # its offsets are int32 products (a known limit)
        raise mh.Unsupported("pool of >= 2^31 bytes (int32 offsets)")
    pages = x["kv_cache"].view(torch.uint8).as_strided(
        (x["kv_pages"].shape[0], x["page_stride"]), (x["page_stride"], 1))
    values = torch.as_strided(pages, (pages.shape[0], B, D), (x["page_stride"], D, 1)).view(x["q"].dtype)
    if x["page_stride"] % 4:
        raise mh.Unsupported("page stride %d not a multiple of 4 (fp32 scales)" % x["page_stride"])
    scales = torch.as_strided(pages[:, B * D:], (pages.shape[0], B * 4), (x["page_stride"], 1)).view(torch.float32)
    out, q, w, table = x["out"], x["q"], x["weights"], x["block_table"]
    batch, n = q.shape[0], q.shape[1]
    chunk_k = 256 if B <= 256 and 256 % B == 0 else B
    _kernel()[(batch * n * split_kv, 1, 1)](
        batch, n, H, q, q.stride(0), q.stride(1), q.stride(2),
        values, values.stride(0), values.stride(1), scales, scales.stride(0), 1,
        x["context_lens"], table, w, w.stride(0), out, out.stride(0), x["max_model_len"], table.shape[1],
        ChunkQ=H, ChunkK=chunk_k, SplitKV=split_kv, HiddenDim=D, KVBlockSize=B)
    return out


def aiter_preshuffle_writer(aiter_root):
    """aiter's own preshuffle writer, _write_block_preshuffle of its op test
    op_tests/test_indexer_k_quant_and_cache.py (the test's reference for its cache kernel). The
    test script runs its whole benchmark when imported, so only that function and the TILE it
    reads are taken from its syntax tree and executed."""
    import ast
    import os
    path = os.path.join(aiter_root, "op_tests", "test_indexer_k_quant_and_cache.py")
    tree = ast.parse(open(path).read(), path)
    keep = [n for n in tree.body if (isinstance(n, ast.FunctionDef) and n.name == "_write_block_preshuffle") or
            (isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "TILE" for t in n.targets))]
    if len(keep) != 2:
        raise RuntimeError("%s: _write_block_preshuffle or TILE not found (aiter changed?)" % path)
    scope = {}
    exec(compile(ast.Module(body=keep, type_ignores=[]), path, "exec"), scope)
    return scope["_write_block_preshuffle"]


def preshuffle_pages_by_aiter(token_codes, head_dim, aiter_root):
    """[pages, B*D] bytes: each page's fp8 codes [B, D] in token order written into a page with
    aiter's own preshuffle writer, token by token."""
    writer = aiter_preshuffle_writer(aiter_root)
    P, B, D = token_codes.shape
    out = torch.zeros((P, B * D), dtype=torch.uint8)
    for p in range(P):
        for t in range(B):
            writer(out[p], token_codes[p, t], t, head_dim)
    return out
