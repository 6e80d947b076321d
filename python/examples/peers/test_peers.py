"""The real peer kernels judged through the pytest plugin (run on a GPU machine with DeepGEMM
built and aiter's Triton files importable; see scripts/peers/run_python_peers.sh):

    pytest -p mqa_harness.pytest_plugin --mqa-cases 100 python/examples/peers/test_peers.py

Each test is the whole of what a kernel engineer writes: the adapter call and mh.check."""
import pytest

import mqa_harness as mh
from aiter_adapter import AITER_PAGED, aiter_logits
from deepgemm_adapter import DEEPGEMM_PAGED, DEEPGEMM_RAGGED, deepgemm_logits, exact_dot, mode_for

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="the peer kernels need a CUDA GPU")


@pytest.mark.mqa(**DEEPGEMM_PAGED)
def test_deepgemm_paged(mqa_case):
    pytest.importorskip("deep_gemm")
    mh.check(mqa_case, deepgemm_logits(mqa_case), mode=mode_for(mqa_case), kernel="deepgemm")


@pytest.mark.mqa(**DEEPGEMM_RAGGED)
def test_deepgemm_ragged(mqa_case):
    pytest.importorskip("deep_gemm")
    mh.check(mqa_case, deepgemm_logits(mqa_case), mode=mode_for(mqa_case), kernel="deepgemm")


@pytest.mark.mqa(profiles="deepgemm_sm90", **DEEPGEMM_PAGED)
def test_deepgemm_paged_bitwise(mqa_case):
    """DeepGEMM's own arithmetic, bit for bit: its epilogue (profile deepgemm_sm90) on values
    whose dot the tensor cores compute exactly."""
    pytest.importorskip("deep_gemm")
    c = exact_dot(mqa_case)
    mh.check(c, deepgemm_logits(c), mode="bitwise", kernel="deepgemm")


@pytest.mark.mqa(profiles="deepgemm_sm90", **DEEPGEMM_RAGGED)
def test_deepgemm_ragged_bitwise(mqa_case):
    pytest.importorskip("deep_gemm")
    c = exact_dot(mqa_case)
    mh.check(c, deepgemm_logits(c), mode="bitwise", kernel="deepgemm")


@pytest.mark.mqa(page_sizes=1, **AITER_PAGED)
def test_aiter_page1(mqa_case):
    pytest.importorskip("aiter")
    mh.check(mqa_case, aiter_logits(mqa_case), mode="tolerance:fp8_mma", kernel="aiter-triton")


@pytest.mark.mqa(page_sizes=64, **AITER_PAGED)
def test_aiter_page64(mqa_case):
    pytest.importorskip("aiter")
    mh.check(mqa_case, aiter_logits(mqa_case), mode="tolerance:fp8_mma", kernel="aiter-triton")
