// RapidCheck generators over case descriptors. A generated descriptor shrinks with the
// project's own descriptor shrinker (mqa/case_random.hpp): toward fewer sequences, shorter
// lengths, fewer heads, smaller D/B/next_n and default settings, keeping only candidates that
// materialize() accepts, so a failing property reports the smallest case as one line.
#pragma once
#include <rapidcheck.h>

#include "mqa/case.hpp"
#include "mqa/case_random.hpp"
#include "mqa/validate.hpp"

namespace mqa {

// How RapidCheck prints a counterexample: the one-line descriptor.
inline void showValue(const CaseDescriptor& d, std::ostream& os) { os << to_string(d); }

// True iff materialize() accepts d (tensors only; no expected outputs).
inline bool case_is_valid(const CaseDescriptor& d) {
  try {
    (void)materialize(d, false);
    return true;
  } catch (const InvalidInput&) {
    return false;
  }
}

inline rc::Shrinkable<CaseDescriptor> shrinkable_case(CaseDescriptor d) {
  return rc::shrinkable::shrinkRecur(std::move(d), [](const CaseDescriptor& x) {
    std::vector<CaseDescriptor> cands = shrink_candidates(x);
    std::erase_if(cands, [](const CaseDescriptor& c) { return !case_is_valid(c); });
    return rc::seq::fromContainer(std::move(cands));
  });
}

// Descriptors drawn by random_case() from a RapidCheck-chosen seed; RapidCheck's size
// (0..100) scales lengths and counts, so early tests are small.
inline rc::Gen<CaseDescriptor> gen_case(GenOptions opt = {}) {
  return rc::Gen<CaseDescriptor>([opt](const rc::Random& random, int size) {
    rc::Random r = random;
    GenOptions o = opt;
    o.size = std::max(1, std::min(size, 100) * opt.size / 100);
    return shrinkable_case(random_case(r.next(), 0, o));
  });
}

// Only the given ops.
inline rc::Gen<CaseDescriptor> gen_case_of(std::vector<CaseOp> ops, GenOptions opt = {}) {
  opt.ops = std::move(ops);
  return gen_case(opt);
}

}  // namespace mqa
