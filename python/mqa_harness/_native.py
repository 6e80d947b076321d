"""Finds the C++ extension _mqa_harness: inside the package (pip install) or on sys.path (the
build tree: PYTHONPATH=<src>/python:<build>/python)."""
try:
    from . import _mqa_harness as core  # noqa: F401
except ImportError:
    try:
        import _mqa_harness as core  # noqa: F401
    except ImportError as e:
        raise ImportError(
            "mqa_harness: the C++ extension _mqa_harness was not found; build it "
            "(cmake --build <build> --target _mqa_harness) and put <build>/python on PYTHONPATH") from e
