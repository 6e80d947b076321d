"""mqa_harness.golden: a golden's cases read as Cases (their tensors proven equal to the file's)
and a candidate written from Python that `mqa-harness golden verify` judges."""
import pathlib
import subprocess

import numpy as np
import pytest

import mqa_harness as mh
from mqa_harness.kernels import numpy_exact_kernel

ROOT = pathlib.Path(__file__).resolve().parents[2]
SMOKE = ROOT / "golden" / "data" / "smoke.h5"


def candidate(tmp_path, bug=False):
    cases = mh.golden.read(str(SMOKE))
    out = {}
    for c in cases:
        try:
            out[c.name] = numpy_exact_kernel(c)
        except mh.Unsupported:
            continue
    assert len(out) >= 3, "too few exact-profile logits cases in smoke.h5 to test with"
    if bug:  # one valid logit of one case one ulp off
        c = next(c for c in cases if c.name in out and (c.tensors.regions()[:, 1] > c.tensors.regions()[:, 0]).any())
        regions = c.tensors.regions()
        row = int(np.argmax(regions[:, 1] > regions[:, 0]))
        out[c.name][row, regions[row, 0]:regions[row, 0] + 1].view(np.uint32)[0] ^= 1
    path = tmp_path / "cand.h5"
    mh.golden.write_candidate(str(path), out)
    return path


def test_golden_cases_are_cases_with_the_files_tensors():
    cases = mh.golden.read(str(SMOKE))
    assert cases and all(isinstance(c, mh.Case) for c in cases)
    c = cases[0]
    assert np.array_equal(c.expected_logits().view(np.uint32), c.tensors.logits().view(np.uint32))


def test_candidate_from_python_passes_verify_and_a_one_ulp_bug_fails(tmp_path, harness_bin):
    ok = subprocess.run([harness_bin, "golden", "verify", str(SMOKE), str(candidate(tmp_path)), "--subset"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run([harness_bin, "golden", "verify", str(SMOKE), str(candidate(tmp_path, bug=True)), "--subset"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "FAIL" in bad.stdout, bad.stdout + bad.stderr


def test_a_golden_whose_tensors_differ_from_its_descriptor_is_refused(tmp_path):
    h5py = pytest.importorskip("h5py")
    import shutil
    p = tmp_path / "g.h5"
    shutil.copy(SMOKE, p)
    with h5py.File(p, "r+") as f:  # a descriptor that regenerates other tensors (another seed)
        g = f["cases"][next(iter(f["cases"]))]
        g.attrs["descriptor"] = g.attrs["descriptor"].replace("seed=0x", "seed=0x1")
    mh.golden._mqa_golden()._stamp(str(p))  # a consistent file: only its content is wrong
    with pytest.raises(ValueError, match="differs from the tensors its descriptor regenerates"):
        mh.golden.read(str(p), unchecked=True)
