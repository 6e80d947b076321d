# A kernel engineer's test: copy it, replace my_kernel with yours (it takes a mqa_harness.Case,
# reads case.inputs("torch"), returns the logits). Run: pytest -p mqa_harness.pytest_plugin --mqa-cases 500
import pytest

import mqa_harness as mh
from mqa_harness.kernels import torch_fp32_kernel as my_kernel  # yours here


@pytest.mark.mqa(ops="paged_logits", max_batch=4, max_len=1000, high_page_ids=False)
def test_paged_logits(mqa_case):
    mh.check(mqa_case, my_kernel(mqa_case), mode="tolerance")  # a tensor-core kernel: "tolerance:fp8_mma"
