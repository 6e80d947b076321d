"""The layouts handed to the peers, proven with the peers' own code where it runs on a CPU:
aiter's preshuffle layout is checked against aiter's own writer (its op test's reference,
found in ../shared/peers or $MQA_AITER_ROOT; skipped when absent, as on CI's clean clone), and
the deepgemm/aiter argument sets against the case's tensors."""
import glob
import os
import pathlib
import sys

import numpy as np
import pytest

import mqa_harness as mh

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python" / "examples" / "peers"))
torch = pytest.importorskip("torch")


def aiter_root():
    env = os.environ.get("MQA_AITER_ROOT")
    found = [env] if env else sorted(glob.glob(str(ROOT.parent / "shared" / "peers" / "aiter-*-importable")))
    found += [str(ROOT / ".peers" / "aiter")]
    for p in found:
        if p and os.path.isfile(os.path.join(p, "op_tests", "test_indexer_k_quant_and_cache.py")):
            return p
    pytest.skip("aiter's op tests not found (set MQA_AITER_ROOT to aiter's checkout)")


def as_standard(c):
    """The same case in the standard layout (the descriptor with layout=standard)."""
    return mh.case(c.descriptor.replace("layout=preshuffle16", "layout=standard"))


PRESHUFFLE = dict(ops="paged_logits", layouts="preshuffle16", max_batch=3, max_len=300, high_page_ids=False)


def test_preshuffle16_pages_are_the_bytes_aiters_own_writer_produces():
    from aiter_adapter import preshuffle_pages_by_aiter
    root, checked = aiter_root(), 0
    for c in mh.cases(seed=11, n=12, **PRESHUFFLE):
        s = as_standard(c)
        t = c.tensors
        B, D, S = t.page_size, t.head_dim, t.page_stride
        mine, std = c.tensors.compact_cache(), s.tensors.compact_cache()
        assert mine.shape == std.shape and t.layout == "preshuffle16" and s.tensors.layout == "standard"
        tokens = torch.from_numpy(np.ascontiguousarray(std[:, :B * D]).reshape(-1, B, D))
        theirs = preshuffle_pages_by_aiter(tokens, D, root).numpy()
        assert np.array_equal(mine[:, :B * D], theirs), c.descriptor
        assert np.array_equal(mine[:, B * D:S], std[:, B * D:S])  # scales and padding: not shuffled
        x = c.inputs("torch", layout="aiter")
        assert x["Preshuffle"] is True and x["KVBlockSize"] == B
        checked += len(mine)
    assert checked > 0


def test_deepgemm_arguments_are_the_case_tensors():
    c = next(mh.cases(seed=3, n=1, ops="paged_logits", next_n=2, lens_2d="off", max_batch=3, max_len=300,
                      high_page_ids=False))
    x, d = c.inputs(), c.inputs(layout="deepgemm")
    lens = x["context_lens"]
    assert d["context_lens_2d"].shape == (len(lens), 2) and d["context_lens_2d"].dtype == np.int32
    assert np.array_equal(d["context_lens_2d"][:, 1], lens) and np.array_equal(d["context_lens_2d"][:, 0],
                                                                                np.maximum(lens - 1, 0))
    assert d["kv_pages"].shape[1:] == (c.tensors.page_size, 1, c.tensors.natural_page_bytes // c.tensors.page_size)
    r = next(mh.cases(seed=3, n=1, ops="ragged_logits"))
    y = r.inputs("torch", layout="deepgemm")
    assert y["kv"][0] is y["k"] and y["cu_seqlen_ks"] is y["ks"]
    with pytest.raises(ValueError, match="invalid layout = 'aiter' for ragged_logits"):
        r.inputs("torch", layout="aiter")
    with pytest.raises(ValueError, match="invalid layout = 'flashinfer'"):
        r.inputs(layout="flashinfer")
    with pytest.raises(ValueError, match="invalid device = 'cuda' with framework = 'numpy'"):
        r.inputs(device="cuda")
