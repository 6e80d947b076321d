"""pytest plugin: `pytest -p mqa_harness.pytest_plugin` (or `pytest_plugins = ["mqa_harness.pytest_plugin"]`
in a conftest) parametrises every test that takes the `mqa_case` fixture over cases drawn by the
C++ generator. Options: --mqa-cases N, --mqa-seed S, --mqa-mode, and one per constraint
(--mqa-ops, --mqa-heads, ...); a test narrows its own draw with @pytest.mark.mqa(ops=..., ...).
Ids are short descriptors, in case order, so runs and shards (by test id) are deterministic.
A failing case's report gets a section with the descriptor and the replay command; a kernel
that raises mqa_harness.Unsupported skips the case with its reason."""
import pytest

from .case import CONSTRAINTS, cases
from .errors import Unsupported

_OPTS = [(name, "--mqa-" + name.replace("_", "-")) for name in CONSTRAINTS]


def pytest_addoption(parser):
    g = parser.getgroup("mqa", "mqa_harness cases")
    g.addoption("--mqa-cases", type=int, default=20, help="cases per test that takes mqa_case (default 20)")
    g.addoption("--mqa-seed", type=int, default=1, help="generator seed (case i is a pure function of seed, i, options)")
    g.addoption("--mqa-start", type=int, default=0, help="first case index")
    g.addoption("--mqa-mode", default="bitwise", help="comparison mode for the mqa_mode fixture (default bitwise)")
    for name, opt in _OPTS:
        g.addoption(opt, default=None, help="constraint %s, as mqa-harness fuzz (comma list)" % name)


def pytest_configure(config):
    config.addinivalue_line("markers", "mqa(**constraints): constraints of the cases drawn for mqa_case")


def _value(name, text):
    if text is None:
        return None
    if name in ("max_batch", "max_len", "max_tokens", "max_heads"):
        return int(text)
    if name == "high_page_ids":
        return text.lower() in ("1", "true", "on", "yes")
    return text


def pytest_generate_tests(metafunc):
    if "mqa_case" not in metafunc.fixturenames:
        return
    cfg = metafunc.config
    constraints = {name: _value(name, cfg.getoption(opt)) for name, opt in _OPTS}
    constraints = {k: v for k, v in constraints.items() if v is not None}
    for mark in metafunc.definition.iter_markers("mqa"):
        for k, v in mark.kwargs.items():
            constraints.setdefault(k, v)  # the command line wins over the test's own marker
    drawn = list(cases(seed=cfg.getoption("--mqa-seed"), n=cfg.getoption("--mqa-cases"),
                       start=cfg.getoption("--mqa-start"), **constraints))
    metafunc.parametrize("mqa_case", drawn, ids=[c.short for c in drawn])


@pytest.fixture
def mqa_mode(request):
    """The --mqa-mode option (comparison mode for mqa_harness.check)."""
    return request.config.getoption("--mqa-mode")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    c = getattr(item, "callspec", None) and item.callspec.params.get("mqa_case")
    if c is None or call.excinfo is None:
        return
    if call.excinfo.errisinstance(Unsupported):
        rep.outcome = "skipped"
        rep.longrepr = (str(item.fspath), item.location[1] or 0, "unsupported: %s" % call.excinfo.value.reason)
        return
    rep.sections.append(("mqa case", "case: %s\nreplay: %s" % (c.descriptor, c.replay)))
