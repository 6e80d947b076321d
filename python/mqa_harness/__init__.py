"""mqa_harness: the mqa-harness case generator, reference and comparator from Python.

    import mqa_harness as mh
    for case in mh.cases(seed=1, n=50, ops="paged_logits", heads=[32, 64]):
        x = case.inputs("torch")             # q, kv_cache, weights, context_lens, block_table, ...
        mh.check(case, my_kernel(**x), mode="tolerance")   # raises mh.Mismatch with the report
    mh.fuzz(lambda case: my_kernel(**case.inputs("torch")), n=500, mode="tolerance:fp8_mma")

Cases are drawn by the same C++ generator as `mqa-harness fuzz` (case i is the CLI's case i for
the same seed and options) and judged by the same comparator (docs/numerics.md).
"""
from ._native import core as _core
from .case import Case, case, cases, gen_options
from .check import Report, bounds, check, compare, reference, to_numpy
from .campaign import FuzzResult, fuzz, shrink
from .errors import Mismatch, Unsupported
from .inputs import inputs, output
from . import golden

LOGIT_SENTINEL_BITS = _core.LOGIT_SENTINEL_BITS

__all__ = ["Case", "case", "cases", "gen_options", "Report", "bounds", "check", "compare", "reference", "to_numpy", "FuzzResult",
           "fuzz", "shrink", "Mismatch", "Unsupported", "inputs", "output", "golden", "LOGIT_SENTINEL_BITS"]
