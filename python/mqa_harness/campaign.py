"""fuzz(): an in-process campaign over a Python kernel function. Cases come from the C++
generator (case i = the CLI's case i), each verdict from the C++ comparator, and the first
failure is shrunk with the C++ shrinker (shrink_candidates, greedy, as shrink_bounded does)."""
import sys
import time

from ._native import core
from .case import Case, cases
from .check import compare, failure_message
from .errors import Mismatch, Unsupported

LOGITS_OPS = ("paged_logits", "ragged_logits")


class FuzzResult:
    """What a passing campaign ran: cases, passed, unsupported (reason -> count), worst margin."""

    def __init__(self):
        self.cases = self.passed = 0
        self.unsupported = {}
        self.worst_ratio = None  # tolerance modes: the largest observed/bound over the passes
        self.seconds = 0.0

    @property
    def unsupported_count(self):
        return sum(self.unsupported.values())

    def summary(self):
        worst = "bit-exact" if self.worst_ratio is None else "worst observed/bound %.3g" % self.worst_ratio
        line = "mqa_harness.fuzz: %d cases, %d passed, %d unsupported, %s, %.1fs" % (
            self.cases, self.passed, self.unsupported_count, worst, self.seconds)
        for reason, n in sorted(self.unsupported.items(), key=lambda kv: -kv[1])[:5]:
            line += "\n  unsupported %dx: %s" % (n, reason)
        return line


def _fails(kernel_fn, c, mode, writes):
    """(report or None) of one case; an Unsupported or a kernel exception is not a mismatch here
    (a shrink candidate the kernel refuses does not count as failing)."""
    try:
        out = kernel_fn(c)
    except Unsupported:
        return None
    rep = compare(c, out, mode, writes)
    return None if rep.passed else rep


def shrink(kernel_fn, c, mode="bitwise", writes=None, max_steps=400):
    """Greedy shrink of a failing case: the first candidate of shrink_candidates that still fails,
    repeated, until none does or max_steps candidates were tried. Returns (case, report, steps,
    stop) with stop 'minimal' or 'step_limit'."""
    rep = compare(c, kernel_fn(c), mode, writes)
    steps = 0
    while True:
        progress = False
        for line in core.shrink_candidates(c.descriptor):
            if steps >= max_steps:
                return c, rep, steps, "step_limit"
            steps += 1
            cand = Case(line)
            r = _fails(kernel_fn, cand, mode, writes)
            if r is not None:
                c, rep, progress = cand, r, True
                break
        if not progress:
            return c, rep, steps, "minimal"


def fuzz(kernel_fn, n=200, seed=1, mode="bitwise", writes=None, min_run=None, shrink_steps=400, kernel="<your kernel>",
         progress=True, progress_interval=5.0, out=None, **constraints):
    """Runs kernel_fn(case) -> logits (numpy or torch, [rows, row_stride] or [rows, max_context_len])
    on cases 0..n-1 of seed under the constraints (as cases(); ops default to the logits ops), each
    checked with check(mode, writes). A kernel raises mqa_harness.Unsupported(reason) for a case it
    does not take: counted apart. On the first failure the case is shrunk (shrink_steps candidates
    at most) and Mismatch is raised with the shrunk case's report and replay line. Fewer than
    min_run cases run (default: 1, i.e. never a pass on nothing) raises RuntimeError.
    Returns a FuzzResult; prints progress lines and a summary to `out` (stderr)."""
    out = out or sys.stderr
    constraints.setdefault("ops", list(LOGITS_OPS))
    ops = constraints["ops"]
    ops = ops.split(",") if isinstance(ops, str) else list(ops)
    for op in ops:
        if op not in LOGITS_OPS:
            raise ValueError("invalid ops = %s: mqa_harness.fuzz checks logits only (paged_logits, ragged_logits)" % op)
    min_run = 1 if min_run is None else min_run
    res = FuzzResult()
    t0 = last = time.monotonic()
    for c in cases(seed=seed, n=n, **constraints):
        try:
            logits = kernel_fn(c)
        except Unsupported as u:
            res.unsupported[u.reason] = res.unsupported.get(u.reason, 0) + 1
            continue
        except Exception as e:  # the kernel itself failed: say on which case
            e.add_note("mqa_harness.fuzz: case %d of seed %d: %s\nreplay: %s" % (c.index, seed, c.descriptor,
                                                                               c.replay_command(kernel)))
            raise
        res.cases += 1
        rep = compare(c, logits, mode, writes)
        if not rep.passed:
            small, srep, steps, stop = shrink(kernel_fn, c, mode, writes, shrink_steps)
            res.seconds = time.monotonic() - t0
            msg = failure_message(small, srep, mode, kernel)
            msg = "case %d of seed %d failed; shrunk in %d steps (%s) to:\n%s\noriginal case: %s" % (
                c.index, seed, steps, stop, msg, c.descriptor)
            raise Mismatch(msg, srep, small)
        res.passed += 1
        if rep.worst_ratio is not None:
            res.worst_ratio = max(res.worst_ratio or 0.0, rep.worst_ratio)
        now = time.monotonic()
        if progress and now - last >= progress_interval:
            last = now
            print("mqa_harness.fuzz: %d/%d cases, %d passed, %d unsupported, %.0f cases/s" % (
                c.index + 1, n, res.passed, res.unsupported_count, (c.index + 1) / (now - t0)), file=out)
    res.seconds = time.monotonic() - t0
    if progress:
        print(res.summary(), file=out)
    if res.cases < min_run:
        raise RuntimeError("mqa_harness.fuzz: %d cases ran (%d unsupported), fewer than min_run = %d: no verdict"
                           % (res.cases, res.unsupported_count, min_run))
    return res
