"""The pytest plugin, run in a child pytest (pytester): parametrisation over the drawn cases with
deterministic short ids, constraints from options and markers, a failing kernel's report with the
replay command, Unsupported as a skip."""
import pytest

import mqa_harness as mh

pytest_plugins = ["pytester"]

PASSING = """
import pytest, mqa_harness as mh

@pytest.mark.mqa(ops="paged_logits", high_page_ids=False)
def test_ref(mqa_case):
    mh.check(mqa_case, mh.reference(mqa_case)[0])
"""


def test_ids_follow_the_case_order(pytester):
    pytester.makepyfile(PASSING)
    r = pytester.runpytest("-p", "mqa_harness.pytest_plugin", "--mqa-cases", "6", "--mqa-seed", "3", "--co", "-q")
    ids = [line.split("[", 1)[1].rstrip("]") for line in r.outlines if "::test_ref[" in line]
    want = [c.short for c in mh.cases(seed=3, n=6, ops="paged_logits", high_page_ids=False)]
    assert ids == want
    r = pytester.runpytest("-p", "mqa_harness.pytest_plugin", "--mqa-cases", "6", "--mqa-seed", "3")
    r.assert_outcomes(passed=6)


def test_options_constrain_the_draw(pytester):
    pytester.makepyfile(PASSING)
    r = pytester.runpytest("-p", "mqa_harness.pytest_plugin", "--mqa-cases", "5", "--mqa-heads", "32",
                           "--mqa-page-sizes", "16", "--co", "-q")
    ids = [line for line in r.outlines if "::test_ref[" in line]
    assert len(ids) == 5 and all("-B16-" in i and "-H32-" in i for i in ids)


def test_failure_shows_report_and_replay(pytester):
    pytester.makepyfile("""
import numpy as np, pytest, mqa_harness as mh

def test_bad(mqa_case):
    logits, regions = mh.reference(mqa_case)
    if not np.any(regions[:, 1] > regions[:, 0]):
        pytest.skip("no valid logit")
    mh.check(mqa_case, np.full(logits.shape, 12345.0, np.float32), mode="tolerance")
""")
    r = pytester.runpytest("-p", "mqa_harness.pytest_plugin", "--mqa-cases", "4", "--mqa-ops", "ragged_logits")
    failed = len(r.parseoutcomes() and [l for l in r.outlines if l.startswith("FAILED")])
    assert failed >= 2 and r.parseoutcomes().get("failed") == failed
    assert r.parseoutcomes().get("skipped", 0) + failed == 4
    text = r.stdout.str()
    assert "Mismatch" in text and "FAIL  ragged_logits logits  mode=tolerance" in text
    assert text.count("replay: mqa-harness fuzz --replay 'op=ragged_logits") >= 2 * failed  # message + section
    assert "mqa case" in text


def test_unsupported_skips(pytester):
    pytester.makepyfile("""
import mqa_harness as mh

def test_refuses(mqa_case):
    raise mh.Unsupported("not my shape")
""")
    r = pytester.runpytest("-p", "mqa_harness.pytest_plugin", "--mqa-cases", "4", "-rs")
    r.assert_outcomes(skipped=4)
    assert "unsupported: not my shape" in r.stdout.str()
