// `mqa-harness selfcheck`, the reference's self-check over the built-in edge suite: every layer
// of the reference is run against an independent statement of its contract (codecs against
// their definition, layouts against the naive formula, write-then-gather, layout conversion,
// fast logits against the naive oracle). Prints progress and a summary table; the main job's
// first step. A command, so it lives in cli/, above the reference it checks.
#pragma once
#include <iosfwd>

namespace mqa {

struct SelfcheckOptions {
  bool quick = false;    // a smaller edge matrix (used by the unit test of the self-check itself)
  bool progress = true;  // a live progress line (cases, rate, ETA) rewritten with '\r'; off for logs
};

// Returns the number of failed cases (0: all passed).
int run_selfcheck(std::ostream& out, const SelfcheckOptions& opt = {});

}  // namespace mqa
