"""Golden files from Python: read a golden's cases as mqa_harness Cases (tensors regenerated
from each case's descriptor and proven equal to the file's), write a candidate file for
`mqa-harness golden verify`. The HDF5 reading and writing is golden/python/mqa_golden.py's
(its integrity gate, link and size checks, atomic writes); this module only joins it to Case."""
import os
import sys

import numpy as np

from .case import Case


def _mqa_golden():
    try:
        import mqa_golden
    except ImportError:  # from the checkout: golden/python beside this package's folder
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        sys.path.append(os.path.join(here, "golden", "python"))
        import mqa_golden
    return mqa_golden


class GoldenCase(Case):
    """A case of a golden file: a Case (inputs(), check(), replay) plus .name and .stored (the
    file's own datasets: .stored["logits"], .stored.attrs)."""

    def __init__(self, name, stored):
        self.name, self.stored = name, stored
        descriptor = stored.attrs.get("descriptor")
        if not descriptor:
            raise ValueError("golden case %r: no descriptor attribute (written by another tool): read it with "
                             "mqa_golden.load instead" % name)
        super().__init__(descriptor)

    def expected_logits(self):
        return self.stored["logits"]


def read(path, unchecked=False, check_inputs=True):
    """The dense logits cases of a golden file as GoldenCase objects, in file order (cases by
    regions are left to mqa_golden.load). check_inputs: the
    tensors regenerated from each descriptor must equal the file's q, weights, block table and
    cache bytes and its logits, bit for bit (a file from an older or foreign generator raises
    ValueError naming the case and the dataset)."""
    mg = _mqa_golden()
    out = []
    for name, stored in mg.load(path, kind="golden", unchecked=unchecked).items():
        if stored.attrs.get("op") not in ("paged_logits", "ragged_logits"):
            continue
        # a case by regions (golden/SCHEMA.md) pads its rows past 2^32 bytes: an mh.Case would
        # materialise that dense buffer (13 GB past MQA_CASE_BYTES_LIMIT); mqa_golden reads it
        if stored.attrs.get("logits_storage", "dense") == "regions":
            continue
        c = GoldenCase(name, stored)
        if check_inputs:
            _same_tensors(path, c)
        out.append(c)
    return out


def _same_tensors(path, c):
    t = c.tensors
    pairs = [("q", t.q()), ("weights", t.weights()), ("logits", t.logits())]
    if c.op == "paged_logits":
        pairs += [("block_table", t.block_table()), ("cache", t.compact_cache())]
    for key, mine in pairs:
        if key not in c.stored:
            continue
        theirs = np.asarray(c.stored[key])
        a, b = np.ascontiguousarray(mine).view(np.uint8), np.ascontiguousarray(theirs).view(np.uint8)
        if a.size != b.size or not np.array_equal(a.reshape(-1), b.reshape(-1)):
            raise ValueError("%s: case %s: dataset %s differs from the tensors its descriptor regenerates (shape %s vs "
                             "%s): a file from another generator version" % (path, c.name, key, list(theirs.shape),
                                                                             list(np.shape(mine))))


def write_candidate(path, logits_by_case, generator="mqa_harness"):
    """Writes a candidate file: {case name: logits} (numpy or torch, [rows, row_stride] float32 or
    unpadded [rows, max_context_len]) for `mqa-harness golden verify GOLDEN CANDIDATE`."""
    from .check import to_numpy
    mg = _mqa_golden()
    outputs = {name: {"logits": np.ascontiguousarray(to_numpy(v), dtype=np.float32)} for name, v in logits_by_case.items()}
    mg.write_candidate(path, outputs, generator=generator)
