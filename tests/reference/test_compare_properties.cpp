// Properties of the comparator over case descriptors (shape + seed; data from CounterRng):
// the ulp metric counts nextafter steps, and the bitwise verdict equals a naive recount.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cmath>

#include "mqa/compare.hpp"
#include "mqa/philox.hpp"

using namespace mqa;

namespace {

// A float drawn from every class the comparator treats differently.
float draw(const CounterRng& rng, uint64_t stream, uint64_t i) {
  switch (rng.below(stream, 2 * i, 8)) {
    case 0: return 0.0f;
    case 1: return -0.0f;
    case 2: return NAN;
    case 3: return f32_from_bits(0xFF800000u);
    case 4: return f32_from_bits(rng.below(stream, 2 * i + 1, 4));  // tiny denormals
    default: return f32_from_bits(rng.u32(stream, 2 * i + 1) & 0xBFFFFFFFu);  // finite, both signs
  }
}

}  // namespace

RC_GTEST_PROP(CompareProperties, UlpDistanceCountsNextafterSteps, (uint32_t seed, uint8_t steps)) {
  const CounterRng rng{seed};
  // Start anywhere finite, including just below zero so that the walk crosses it.
  const float x = rng.below(1, 0, 2) ? f32_from_bits(rng.u32(1, 1) & 0xBF7FFFFFu) : -float(rng.below(1, 2, 40)) * 0x1p-149f;
  float y = x;
  for (int k = 0; k < steps && std::isfinite(y); ++k) y = std::nextafter(y, INFINITY);
  RC_PRE(std::isfinite(y));
  RC_ASSERT(ulp_distance(f32_bits(x), f32_bits(y)) == steps);
  RC_ASSERT(ulp_distance(f32_bits(y), f32_bits(x)) == steps);
}

RC_GTEST_PROP(CompareProperties, BitwiseVerdictEqualsANaiveRecount,
              (uint32_t seed, uint8_t rows_in, uint8_t cols_in, uint8_t pad_in)) {
  const int64_t rows = rows_in % 6, cols = cols_in % 40, stride = cols + pad_in % 5;
  const CounterRng rng{seed};
  LogitsRegions g{rows, cols, stride, {}};
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t b = cols ? rng.below(10, uint64_t(r), uint32_t(cols + 1)) : 0;
    const int64_t e = b + (cols - b ? rng.below(11, uint64_t(r), uint32_t(cols - b + 1)) : 0);
    g.row.push_back(RowRegion{b, e, e});
  }
  std::vector<float> expected(size_t(rows * stride)), actual(expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    expected[i] = draw(rng, 20, i);
    // Mostly equal, sometimes a fresh draw: every class meets every other.
    actual[i] = rng.below(21, i, 3) ? expected[i] : draw(rng, 22, i);
  }
  int64_t fails = 0, compared = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = g.row[size_t(r)].valid_begin; c < g.row[size_t(r)].valid_end; ++c) {
      const uint32_t e = f32_bits(expected[size_t(r * stride + c)]), a = f32_bits(actual[size_t(r * stride + c)]);
      const bool en = std::isnan(f32_from_bits(e)), an = std::isnan(f32_from_bits(a));
      ++compared;
      fails += (en || an) ? en != an : e != a;
    }
  const CompareReport rep = compare_logits(expected, actual, g, CompareMode{});
  RC_ASSERT(rep.compared == compared);
  RC_ASSERT(rep.mismatched == fails);
  RC_ASSERT(rep.pass == (fails == 0));
  RC_ASSERT(int64_t(rep.first.size()) == std::min<int64_t>(fails, 10));
  for (size_t k = 1; k < rep.first.size(); ++k) RC_ASSERT(rep.first[k - 1].index < rep.first[k].index);
}
