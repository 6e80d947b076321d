"""DeepGEMM through mqa_harness: the adapter a DeepGEMM user writes (a worked example; the
kernel is called, never copied). Needs deep_gemm importable and an SM90/SM100 GPU.

    logits = deepgemm_logits(case)          # paged: fp8_fp4_paged_mqa_logits, ragged: fp8_fp4_mqa_logits
    mh.check(case, logits, mode=mode_for(case))  # bitwise: profile deepgemm_sm90 on exact_dot values

The shapes DeepGEMM 54e2261's SM90 kernels take are the constraints of DEEPGEMM_PAGED and
DEEPGEMM_RAGGED; a case outside them raises mh.Unsupported (the plugin reports it skipped)."""
import torch

import mqa_harness as mh

DEEPGEMM_PAGED = dict(ops="paged_logits", page_sizes=64, heads="32,64", head_dims=128, next_n="1,2",
                      encodings="e4m3fn", layouts="standard")
DEEPGEMM_RAGGED = dict(ops="ragged_logits", heads="32,64", head_dims="32,64,128", encodings="e4m3fn")


def _sm90_limits(case, x):
    if x["encoding"] != "e4m3fn":
        raise mh.Unsupported("encoding %s" % x["encoding"])
    if case.op == "ragged_logits" and (x["q"].shape[0] == 0 or x["k"].shape[0] == 0):
        raise mh.Unsupported("empty input (M = %d, N = %d): DeepGEMM refuses it" % (x["q"].shape[0], x["k"].shape[0]))
    if case.op == "paged_logits":
        if x["clean_logits"]:  # 54e2261 cleans only with 1-D lens; SM90 takes only 2-D lens
            raise mh.Unsupported("clean_logits with 2-D lens")
        if x["block_table"].shape[1] == 0:
            raise mh.Unsupported("block table of width 0: DeepGEMM refuses it")
        if x["page_stride"] % 16:
            raise mh.Unsupported("page stride %d not a multiple of 16 (TMA)" % x["page_stride"])


def deepgemm_logits(case, x=None):
    """The DeepGEMM logits of a case, float32 [rows, max_context_len] (check() takes them
    unpadded); x: the case's inputs(layout="deepgemm") on the GPU when already made."""
    import deep_gemm
    x = x or case.inputs("torch", device="cuda", layout="deepgemm")
    _sm90_limits(case, x)
    if case.op == "ragged_logits":
        return deep_gemm.fp8_fp4_mqa_logits((x["q"], None), x["kv"], x["weights"], x["cu_seqlen_ks"],
                                            x["cu_seqlen_ke"], clean_logits=x["clean_logits"])
    lens = x["context_lens_2d"]
    # DeepGEMM loads every block-table entry of a row's pages, even past its context: entries
    # the case never reads (-1, stale ids) must be real pages for it, so they become page 0.
    table = x["block_table"].clone()
    need = (lens.max(dim=1).values + 63) // 64
    cols = torch.arange(table.shape[1], device=table.device)[None, :]
    table[(cols >= need[:, None]) | (table < 0) | (table >= x["kv_pages"].shape[0])] = 0
    sched = deep_gemm.get_paged_mqa_logits_metadata(lens, 64, deep_gemm.get_num_sms())
    return deep_gemm.fp8_fp4_paged_mqa_logits((x["q"], None), x["kv_pages"], x["weights"], lens, table, sched,
                                              x["max_context_len"], clean_logits=x["clean_logits"])


def mode_for(case):
    """Bitwise where the reference is DeepGEMM's own arithmetic: profile deepgemm_sm90 (its
    epilogue) on dist=exact_dot values (integer codes: the tensor-core dot is exact, so only the
    epilogue can differ); every other case under the fp8 MMA model, whose bound covers the
    dot's truncating accumulation and any epilogue order (docs/numerics.md)."""
    f = case.fields
    return "bitwise" if f["profile"] == "deepgemm_sm90" and f["dist"] == "exact_dot" else "tolerance:fp8_mma"


def exact_dot(case):
    """The same case drawn with dist=exact_dot (integer codes, arbitrary fp32 weights and scales)."""
    import re
    return mh.case(re.sub(r"dist=\w+", "dist=exact_dot", case.descriptor))
