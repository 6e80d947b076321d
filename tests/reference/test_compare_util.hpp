// Small builders shared by the comparator tests.
#pragma once
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "mqa/compare.hpp"
#include "mqa/sentinels.h"

namespace mqa::test_compare {

inline float bits(uint32_t b) { return f32_from_bits(b); }

inline constexpr uint32_t kSentinel = kLogitSentinelBits;

// "0x7FC0...": the sentinel as the comparator's mode strings and reports spell it.
inline std::string sentinel_hex() {
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08X", kSentinel);
  return hex;
}

// "<head>,sentinel:<sentinel_hex()><tail>": the mode strings of the sentinel tests.
inline std::string with_sentinel(const std::string& head, const std::string& tail = "") {
  return head + ",sentinel:" + sentinel_hex() + tail;
}

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
