"""The logits sentinel (mh.LOGIT_SENTINEL_BITS, read from the extension; defined once in
reference/include/mqa/sentinels.h) must come back bit for bit from the round trips a kernel's
output buffer takes in numpy and torch: copies, conversions to float64 and back, Python floats,
lists, DLPack, views. A signalling NaN does not (the old 0x7FBADBAD became 0x7FFADBAD); the last
test shows that the same paths do quieten one, so the checks can fail."""
import numpy as np
import pytest
import torch

import mqa_harness as mh

BITS = mh.LOGIT_SENTINEL_BITS
SIGNALLING = 0x7FBADBAD


def buffer(bits=BITS, n=7):
    return np.full(n, bits, dtype=np.uint32).view(np.float32)


def numpy_trips(a):
    yield "copy", a.copy()
    yield "astype(float64).astype(float32)", a.astype(np.float64).astype(np.float32)
    yield "python floats", np.array([float(x) for x in a], dtype=np.float32)
    yield "tolist", np.array(a.tolist(), dtype=np.float32)
    yield "np.float32 scalar", np.array([np.float32(a[0])] * len(a), dtype=np.float32)
    yield "where", np.where(np.ones(a.shape, bool), a, np.float32(0))
    yield "concatenate", np.concatenate([a[:3], a[3:]])
    yield "tobytes/frombuffer", np.frombuffer(a.tobytes(), dtype=np.float32)


def torch_trips(a):
    t = torch.from_numpy(a.copy())
    yield "from_numpy", t
    yield "tensor(ndarray)", torch.tensor(a)
    yield "clone", t.clone()
    yield "double().float()", t.double().float()
    yield "to(float64).to(float32)", t.to(torch.float64).to(torch.float32)
    yield "tensor(list of python floats)", torch.tensor(a.tolist(), dtype=torch.float32)
    yield "copy_", torch.empty_like(t).copy_(t)
    yield "cat", torch.cat([t[:3], t[3:]])
    yield "reshape/contiguous", t.reshape(1, -1).t().contiguous().reshape(-1)
    yield "dlpack", torch.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(t))
    yield "neg().neg()", t.neg().neg()


def bits_of(x):
    if isinstance(x, torch.Tensor):
        x = x.numpy()
    return np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)


def test_the_sentinel_is_a_quiet_nan_with_a_payload():
    assert np.isnan(buffer()).all()
    assert BITS & 0x7FC00000 == 0x7FC00000 and BITS & 0x003FFFFF
    assert BITS not in (0x7FC00000, 0xFFC00000, 0x7FFFFFFF, 0xFFFFFFFF)


@pytest.mark.parametrize("trip", [name for name, _ in numpy_trips(buffer())])
def test_numpy_round_trip(trip):
    out = dict(numpy_trips(buffer()))[trip]
    assert (bits_of(out) == BITS).all(), f"{trip}: {bits_of(out)[0]:#010x}"


@pytest.mark.parametrize("trip", [name for name, _ in torch_trips(buffer())])
def test_torch_round_trip(trip):
    out = dict(torch_trips(buffer()))[trip]
    assert (bits_of(out) == BITS).all(), f"{trip}: {bits_of(out)[0]:#010x}"


def test_case_output_buffers_hold_the_sentinel_after_a_torch_round_trip():
    case = next(iter(mh.cases(seed=3, n=1, ops="paged_logits", max_batch=2, max_len=64, max_heads=8,
                              high_page_ids=False)))
    out = case.output("torch")
    back = out.double().float().numpy()
    assert (bits_of(back) == BITS).all()


def test_a_signalling_nan_is_quietened_by_the_same_paths():
    lost = [name for name, out in list(numpy_trips(buffer(SIGNALLING))) + list(torch_trips(buffer(SIGNALLING)))
            if not (bits_of(out) == SIGNALLING).all()]
    assert "astype(float64).astype(float32)" in lost and "double().float()" in lost, lost
