"""Shared fixtures of the mqa_harness pytest suite: the mqa-harness binary (CTest passes
MQA_HARNESS_BIN; by hand it is looked for in build-py/ and build/) and small case sets."""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def harness_bin():
    for p in (os.environ.get("MQA_HARNESS_BIN"), ROOT / "build-py" / "mqa-harness", ROOT / "build" / "mqa-harness"):
        if p and pathlib.Path(p).is_file():
            return str(p)
    pytest.skip("mqa-harness binary not found (set MQA_HARNESS_BIN)")


# Small paged cases: the CI's torch kernel runs ~50 of them in seconds.
SMALL_PAGED = dict(ops="paged_logits", max_batch=4, max_len=600, max_heads=16, high_page_ids=False)
