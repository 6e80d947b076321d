"""The exceptions of mqa_harness: a failed check, and a kernel that does not take a case."""


class Mismatch(AssertionError):
    """A kernel's output differs from the reference. The message is the comparator's text report
    followed by the one-line command that replays the case; .report holds the Report."""

    def __init__(self, message, report=None, case=None):
        super().__init__(message)
        self.report, self.case = report, case


class Unsupported(Exception):
    """Raised by a kernel function for a case it does not take (shape, layout, encoding...).
    mqa_harness.fuzz counts such cases apart; they never count as run."""

    def __init__(self, reason="unsupported"):
        super().__init__(reason)
        self.reason = reason
