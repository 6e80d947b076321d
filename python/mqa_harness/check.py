"""reference() and check(): the C++ reference logits of a case and the C++ comparator's verdict
on a kernel's logits (the same comparison `mqa-harness fuzz` makes, compare_logits_out)."""
import json as _json

import numpy as np

from ._native import core
from .case import Case
from .errors import Mismatch


class Report:
    """The comparator's report: .passed, .text, .json (dict), .margin (one line), .worst_ratio
    (tolerance: worst observed/bound), .mode."""

    def __init__(self, d):
        self.passed, self.text, self.margin, self.mode = d["passed"], d["text"], d["margin"], d["mode"]
        self.worst_ratio, self.mismatched, self.compared = d["worst_ratio"], d["mismatched"], d["compared"]
        self._json = d["json"]

    @property
    def json(self):
        return _json.loads(self._json)

    def __bool__(self):
        return self.passed

    def __repr__(self):
        return "Report(passed=%s, %s)" % (self.passed, self.margin)


def _case(c):
    return c if isinstance(c, Case) else Case(c)


def reference(case):
    """(logits float32 [rows, row_stride], regions int64 [rows, 3] = valid_begin, valid_end,
    future_end) of the reference, bit for bit what the C++ materialize() computes. Columns the
    reference does not write hold the sentinel NaN (LOGIT_SENTINEL_BITS)."""
    t = _case(case).tensors
    return t.logits(), t.regions()


def bounds(case, mode="tolerance"):
    """The tolerance model's absolute bound per logit, float64 [rows, row_stride] (0 outside the
    compared columns): what check(case, ..., mode) allows |actual - expected| to reach."""
    return _case(case).tensors.bounds(mode)


def to_numpy(x):
    """numpy view of a numpy array, a CPU torch tensor (CUDA: .cpu() first), or a DLPack object."""
    if isinstance(x, np.ndarray):
        return x
    mod = type(x).__module__
    if mod.startswith("torch"):
        if x.device.type != "cpu":
            x = x.cpu()
        return x.detach().numpy()
    if hasattr(x, "__dlpack__"):
        return np.from_dlpack(x)
    return np.asarray(x)


def _buffer(t, logits, writes):
    """The logits as [rows * row_stride] float32: padded rows as given, unpadded [rows, cols]
    rows placed in a sentinel-filled buffer (the kernel never saw the padding columns)."""
    a = to_numpy(logits)
    if a.dtype != np.float32:
        raise ValueError("invalid logits dtype = %s: expected float32" % a.dtype)
    shape = tuple(a.shape)
    if shape == (t.rows, t.row_stride):
        return np.ascontiguousarray(a).reshape(-1)
    if shape == (t.rows, t.cols):
        out = np.full((t.rows, t.row_stride), core.LOGIT_SENTINEL_BITS, dtype=np.uint32).view(np.float32)
        out[:, :t.cols] = a
        return out.reshape(-1)
    raise ValueError("invalid logits shape = %s: expected [rows, row_stride] = [%d, %d] or [rows, max_context_len] = "
                     "[%d, %d]" % (list(shape), t.rows, t.row_stride, t.rows, t.cols))


def compare(case, logits, mode="bitwise", writes=None, max_listed=10):
    """The Report of the comparison, pass or fail (check() raises on failure)."""
    c = _case(case)
    t = c.tensors
    if not t.logits_op:
        raise ValueError("invalid op = %s: check() judges logits (paged_logits, ragged_logits)" % t.op)
    if writes not in (None, "defined", "columns"):
        raise ValueError("invalid writes = %r: expected None, 'defined' or 'columns'" % (writes,))
    return Report(t.compare(_buffer(t, logits, writes), mode, writes or "", max_listed))


def check(case, logits, mode="bitwise", writes=None, kernel="<your kernel>", max_listed=10):
    """Compares a kernel's logits with the reference, as `mqa-harness fuzz --compare MODE` does.

    logits: numpy or torch (CPU) float32, [rows, row_stride] or unpadded [rows, max_context_len].
    mode: 'bitwise' | 'ulp:N' | 'tolerance' (= tolerance:fp32) | 'tolerance:fp8_mma' [,options]
    (docs/numerics.md, 'Tolerance models'); clean_logits comes from the case.
    writes: None compares the defined regions only (a kernel that allocated its own output);
    'defined' / 'columns': the logits are the case.output() buffer the kernel wrote into, and
    every float it may not write must still hold the sentinel.
    Returns the Report on a pass; raises Mismatch (an AssertionError) with the report's text and
    the replay command on a failure."""
    c = _case(case)
    rep = compare(c, logits, mode, writes, max_listed)
    if not rep.passed:
        raise Mismatch(failure_message(c, rep, mode, kernel), rep, c)
    return rep


def failure_message(c, rep, mode, kernel="<your kernel>"):
    line = c.replay_command(kernel) + ("" if mode == "bitwise" else " --compare " + mode)
    return "%s\ncase: %s\nreplay: %s" % (rep.text.rstrip("\n"), c.descriptor, line)
