"""check(): the C++ comparator's verdicts on numpy and torch logits, padded or not, in each mode;
Mismatch carries the report and the replay line; bad arguments are ValueErrors naming them."""
import numpy as np
import pytest

import mqa_harness as mh
from conftest import SMALL_PAGED


@pytest.fixture(scope="module")
def paged():
    """A small paged case with several valid logits that are finite and non-zero."""
    for c in mh.cases(seed=21, n=50, **SMALL_PAGED):
        logits, regions = mh.reference(c)
        r = int(np.argmax(regions[:, 1] - regions[:, 0]))
        row = logits[r, regions[r, 0]:regions[r, 1]]
        if row.size >= 4 and np.all(np.isfinite(row)) and np.all(row != 0) and not c.tensors.clean_logits:
            return c, r, int(regions[r, 0])
    pytest.fail("no suitable case")


def test_reference_passes_every_mode(paged):
    c, _, _ = paged
    logits, _ = mh.reference(c)
    for mode in ("bitwise", "ulp:0", "tolerance", "tolerance:fp8_mma", "tolerance,bf16_out"):
        rep = mh.check(c, logits, mode=mode)
        assert rep.passed and rep.mismatched == 0 and rep.json["pass"] is True


def test_unpadded_and_torch_logits_are_accepted():
    torch = pytest.importorskip("torch")
    c = next(x for x in mh.cases(seed=21, n=100, **SMALL_PAGED)
             if x.tensors.row_stride > x.tensors.cols and np.any(mh.reference(x)[1][:, 1] > 1))
    logits, _ = mh.reference(c)
    unpadded = np.ascontiguousarray(logits[:, :c.tensors.cols])
    assert mh.check(c, unpadded).passed
    assert mh.check(c, torch.from_numpy(unpadded)).passed
    assert mh.check(c, torch.from_numpy(logits.copy())).passed

    class OnlyDLPack:  # an array library mh knows nothing about
        def __init__(self, t):
            self.t = t

        def __dlpack__(self, stream=None):
            return self.t.__dlpack__()

        def __dlpack_device__(self):
            return self.t.__dlpack_device__()
    assert mh.check(c, OnlyDLPack(torch.from_numpy(unpadded))).passed
    bad = unpadded.copy()
    bad.view(np.uint32)[:, :] += 1
    with pytest.raises(mh.Mismatch):
        mh.check(c, OnlyDLPack(torch.from_numpy(bad)))


def test_one_ulp_fails_bitwise_with_report_and_replay(paged):
    c, r, col = paged
    logits, _ = mh.reference(c)
    bad = logits.copy()
    bad.view(np.uint32)[r, col] += 1  # one ulp
    with pytest.raises(mh.Mismatch) as e:
        mh.check(c, bad, kernel="./libmine.so")
    msg = str(e.value)
    assert isinstance(e.value, AssertionError) and not e.value.report.passed
    assert msg.startswith("FAIL") and "failed 1 of" in msg
    assert "replay: mqa-harness fuzz --replay '%s' --kernel ./libmine.so" % c.descriptor in msg
    assert mh.check(c, bad, mode="ulp:1").passed
    assert mh.check(c, bad, mode="tolerance").passed  # one ulp is inside the fp32 bound


def test_tolerance_fails_far_outside_the_bound(paged):
    c, r, col = paged
    logits, _ = mh.reference(c)
    bad = logits.copy()
    bad[r, col] *= np.float32(1.01)
    with pytest.raises(mh.Mismatch, match="--compare tolerance"):
        mh.check(c, bad, mode="tolerance")


def test_tolerance_allows_exactly_the_models_bound():
    c = next(x for x in mh.cases(seed=8, n=50, **SMALL_PAGED) if np.any(mh.bounds(x, "tolerance") > 0))
    logits, _ = mh.reference(c)
    b32, b8 = mh.bounds(c, "tolerance"), mh.bounds(c, "tolerance:fp8_mma")
    assert b32.shape == logits.shape and np.all(b8 >= 0)
    # an element where the bound is many ulps wide and the fp8_mma bound is over twice the fp32 one
    wide = np.isfinite(logits) & (b32 > np.abs(logits) * 2.0 ** -16) & (b8 > 2 * b32)
    r, col = np.argwhere(wide)[0]
    for scale, ok32, ok8 in ((0.5, True, True), (1.5, False, True), (2.0 * b8[r, col] / b32[r, col], False, False)):
        bad = logits.copy()
        bad[r, col] = np.float32(np.float64(logits[r, col]) + scale * b32[r, col])
        assert mh.compare(c, bad, "tolerance").passed is ok32, scale
        assert mh.compare(c, bad, "tolerance:fp8_mma").passed is ok8, scale
    with pytest.raises(ValueError, match="invalid mode = 'bitwise'"):
        mh.bounds(c, "bitwise")


def test_nan_where_a_number_is_expected_fails(paged):
    c, r, col = paged
    logits, _ = mh.reference(c)
    bad = logits.copy()
    bad[r, col] = np.nan
    with pytest.raises(mh.Mismatch, match="nan 1"):
        mh.check(c, bad, mode="tolerance")


def test_writes_defined_checks_the_sentinel(paged):
    c, r, _ = paged
    logits, regions = mh.reference(c)
    out = c.output()
    assert out.shape == logits.shape and np.all(out.view(np.uint32) == mh.LOGIT_SENTINEL_BITS)
    for i, (lo, hi, _) in enumerate(regions):
        out[i, lo:hi] = logits[i, lo:hi]
    assert mh.check(c, out, writes="defined").passed
    if c.tensors.row_stride > c.tensors.cols:  # a write into the row padding
        stray = out.copy()
        stray[r, -1] = 0
        with pytest.raises(mh.Mismatch, match="sentinel"):
            mh.check(c, stray, writes="columns")
    stray = out.copy()
    stray[r, regions[r, 1]:] = 0  # past the valid region: allowed by 'columns', not by 'defined'
    if regions[r, 1] < c.tensors.cols:
        assert mh.check(c, stray, writes="columns").passed
        with pytest.raises(mh.Mismatch, match="sentinel"):
            mh.check(c, stray, writes="defined")


def test_clean_logits_must_be_minus_inf():
    for c in mh.cases(seed=2, n=200, **SMALL_PAGED):
        t = c.tensors
        logits, regions = mh.reference(c)
        if t.clean_logits and np.any(regions[:, 1] < t.cols):
            break
    else:
        pytest.fail("no clean case with undefined columns")
    assert mh.check(c, logits).passed
    r = int(np.argmax(regions[:, 1] < t.cols))
    bad = logits.copy()
    bad[r, regions[r, 1]] = 0
    with pytest.raises(mh.Mismatch, match="clean 1"):
        mh.check(c, bad)


def test_ragged_case_is_checked():
    c = next(x for x in mh.cases(seed=4, n=20, ops="ragged_logits") if x.tensors.rows > 0)
    logits, _ = mh.reference(c)
    assert mh.check(c, logits, mode="tolerance:fp8_mma").passed


@pytest.mark.parametrize("kwargs,message", [
    (dict(mode="exactish"), "compare_mode"),
    (dict(writes="everywhere"), "invalid writes = 'everywhere'"),
])
def test_bad_arguments_name_themselves(paged, kwargs, message):
    c, _, _ = paged
    with pytest.raises(ValueError, match=message):
        mh.check(c, mh.reference(c)[0], **kwargs)


def test_bad_logits_name_shape_and_dtype(paged):
    c, _, _ = paged
    logits, _ = mh.reference(c)
    with pytest.raises(ValueError, match=r"invalid logits shape = \[%d, 3\]" % c.tensors.rows):
        mh.check(c, logits[:, :3])
    with pytest.raises(ValueError, match="invalid logits dtype = float64"):
        mh.check(c, np.zeros(logits.shape, np.float64))
    with pytest.raises(ValueError, match="invalid op = gather"):
        mh.check(next(mh.cases(seed=1, n=1, ops="gather")), logits)
