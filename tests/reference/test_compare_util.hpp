// Small builders shared by the comparator tests.
#pragma once
#include <cmath>
#include <vector>

#include "mqa/compare.hpp"

namespace mqa::test_compare {

inline float bits(uint32_t b) { return f32_from_bits(b); }

// rows x cols, every column valid, row stride `stride` (defaults to cols).
inline LogitsRegions all_valid(int64_t rows, int64_t cols, int64_t stride = -1) {
  LogitsRegions g{rows, cols, stride < 0 ? cols : stride, {}};
  g.row.assign(size_t(rows), RowRegion{0, cols, cols});
  return g;
}

// One row of n floats, all valid: compare two scalars lists.
inline CompareReport compare_lists(const std::vector<float>& e, const std::vector<float>& a, const std::string& mode,
                                   const CompareOptions& op = {}) {
  return compare_logits(e, a, all_valid(1, int64_t(e.size())), CompareMode::parse(mode), {}, op);
}

inline CompareReport compare_one(float e, float a, const std::string& mode) { return compare_lists({e}, {a}, mode); }

}  // namespace mqa::test_compare
