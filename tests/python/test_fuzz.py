"""fuzz() on real kernels: a plain fp32 torch kernel passes mode='tolerance' on small paged
cases and fails, shrunk, with a planted bug; a numpy kernel written from the contract passes
bitwise (and a one-rounding change to it fails bitwise); Unsupported and min_run."""
import io

import numpy as np
import pytest

import mqa_harness as mh
from conftest import SMALL_PAGED
from mqa_harness.kernels import numpy_exact_kernel, torch_fp32_kernel

pytest.importorskip("torch")


def quiet(**kw):
    return dict(progress=True, out=io.StringIO(), **kw)


def test_torch_fp32_kernel_passes_tolerance_on_50_paged_cases():
    out = io.StringIO()
    r = mh.fuzz(torch_fp32_kernel, n=50, seed=1, mode="tolerance", out=out, **SMALL_PAGED)
    assert r.cases == r.passed == 50 and r.unsupported_count == 0
    assert r.worst_ratio is not None and r.worst_ratio < 1
    assert "50 cases, 50 passed, 0 unsupported, worst observed/bound" in out.getvalue()


@pytest.mark.parametrize("bug", ["page", "relu"])
def test_torch_kernel_with_a_planted_bug_fails_shrunk(bug):
    with pytest.raises(mh.Mismatch) as e:
        mh.fuzz(lambda c: torch_fp32_kernel(c, bug=bug), n=50, seed=1, mode="tolerance", kernel="mykernel.so",
                **quiet(**SMALL_PAGED))
    msg = str(e.value)
    small = e.value.case
    assert "FAIL  paged_logits logits  mode=tolerance" in msg
    assert "replay: mqa-harness fuzz --replay '%s' --kernel mykernel.so --compare tolerance" % small.descriptor in msg
    assert "original case: op=paged_logits" in msg and "steps (minimal)" in msg
    # shrunk to a local minimum of the C++ shrinker: every simpler neighbour passes
    for line in mh._core.shrink_candidates(small.descriptor):
        assert mh.compare(line, torch_fp32_kernel(mh.case(line), bug=bug), "tolerance").passed
    assert mh._core.case_size(small.descriptor) < 200


def test_shrink_takes_the_first_failing_candidate():
    # a "kernel" that fails exactly when H > 1: the shrink must reach H=1 through candidates in order
    def kernel(c):
        logits = mh.reference(c)[0].copy()
        if c.tensors.heads > 1 and c.tensors.rows and np.isfinite(logits[0, 0]):
            logits[0, 0] += 1
        return logits
    c = next(x for x in mh.cases(seed=1, n=100, **SMALL_PAGED) if x.tensors.heads > 1 and not mh.compare(x, kernel(x)).passed)
    small, rep, steps, stop = mh.shrink(kernel, c)
    assert stop == "minimal" and not rep.passed and small.tensors.heads == 2
    _, _, steps2, stop2 = mh.shrink(kernel, c, max_steps=3)
    assert steps2 == 3 and stop2 == "step_limit"


def test_numpy_exact_kernel_passes_bitwise():
    r = mh.fuzz(numpy_exact_kernel, n=200, seed=3, mode="bitwise", **quiet(profiles="exact"))
    assert r.passed == 200 and r.worst_ratio is None


def test_numpy_kernel_with_another_epilogue_order_fails_bitwise(monkeypatch):
    # the head sum in sequential order instead of the contract's pairwise tree: same arithmetic
    # up to rounding, so tolerance passes and bitwise does not
    import mqa_harness.kernels as k
    real_out = k._out

    def sequential(case):
        x = k._prepare(case, "auto")
        table = k.fp8_table(x["encoding"])
        out = real_out(x)
        for r, q, kk, kscale, c0 in k._rows(x, case.op):
            a = (table[q] @ table[kk].T).astype(np.float32)
            a = np.where(np.isnan(a) | (a > 0), a, np.float32(0))
            t = a * x["weights"][r][:, None]
            acc = t[0]
            for h in range(1, t.shape[0]):
                acc = acc + t[h]
            out[r, c0:c0 + kk.shape[0]] = acc * kscale
        return out
    opts = quiet(profiles="exact", ops="paged_logits", heads=[8, 16])
    with pytest.raises(mh.Mismatch, match="mode=bitwise"):
        mh.fuzz(sequential, n=100, seed=3, mode="bitwise", **opts)
    assert mh.fuzz(sequential, n=30, seed=3, mode="tolerance", **opts).passed == 30


def test_unsupported_is_counted_apart_and_nothing_run_is_no_pass():
    def paged_only(c):
        if c.op != "paged_logits":
            raise mh.Unsupported("ragged not done")
        return numpy_exact_kernel(c)
    out = io.StringIO()
    r = mh.fuzz(paged_only, n=40, seed=5, profiles="exact", out=out)
    assert r.cases + r.unsupported_count == 40 and r.unsupported == {"ragged not done": r.unsupported_count}
    assert r.unsupported_count > 0 and "unsupported %dx: ragged not done" % r.unsupported_count in out.getvalue()
    with pytest.raises(RuntimeError, match="0 cases ran .40 unsupported., fewer than min_run = 1"):
        mh.fuzz(lambda c: (_ for _ in ()).throw(mh.Unsupported("no")), n=40, seed=5, **quiet())
    with pytest.raises(RuntimeError, match="fewer than min_run = 1000"):
        mh.fuzz(paged_only, n=10, seed=5, min_run=1000, **quiet(profiles="exact"))


def test_a_crashing_kernel_names_its_case():
    def crashes(c):
        raise IndexError("out of bounds")
    with pytest.raises(IndexError) as e:
        mh.fuzz(crashes, n=3, seed=2, kernel="k.so", **quiet())
    note = "\n".join(e.value.__notes__)
    c = next(mh.cases(seed=2, n=1, ops=["paged_logits", "ragged_logits"]))
    assert "case 0 of seed 2: %s" % c.descriptor in note and c.replay_command("k.so") in note


def test_fuzz_rejects_ops_it_cannot_judge():
    with pytest.raises(ValueError, match="invalid ops = gather"):
        mh.fuzz(numpy_exact_kernel, n=1, ops="gather")
