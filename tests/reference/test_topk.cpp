// Top-k canonical order (value desc, index asc, NaN first, -0 == +0) and the tie-aware set
// comparison.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "mqa/philox.hpp"
#include "mqa/topk.hpp"
#include "mqa/validate.hpp"

using namespace mqa;

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

LogitsRegions one_row(int64_t cols, int64_t begin, int64_t end) {
  LogitsRegions g;
  g.rows = 1;
  g.cols = cols;
  g.row_stride = cols;
  g.row = {RowRegion{begin, end, end}};
  return g;
}

std::vector<int32_t> topk_of(const std::vector<float>& row, int32_t k, int64_t begin = 0, int64_t end = -1) {
  return topk_indices(row.data(), one_row(int64_t(row.size()), begin, end < 0 ? int64_t(row.size()) : end), k);
}

}  // namespace

TEST(Topk, LargerFirstThenSmallerIndexOnTies) {
  EXPECT_EQ(topk_of({1, 3, 3, 2, 3}, 2), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(topk_of({1, 3, 3, 2, 3}, 4), (std::vector<int32_t>{1, 2, 4, 3}));
  EXPECT_EQ(topk_of({-5, -1, -3}, 3), (std::vector<int32_t>{1, 2, 0}));
}

TEST(Topk, NegativeZeroEqualsPositiveZero) {
  EXPECT_EQ(topk_of({-0.0f, 0.0f, -1.0f}, 1), (std::vector<int32_t>{0}));
  EXPECT_EQ(topk_of({0.0f, -0.0f, -1.0f}, 2), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(topk_order_key(-0.0f), topk_order_key(0.0f));
}

TEST(Topk, NaNRanksAboveInfinityAndNaNsTieByIndex) {
  EXPECT_EQ(topk_of({1.0f, kNaN, kInf, -kNaN, -kInf}, 5), (std::vector<int32_t>{1, 3, 2, 0, 4}));
  EXPECT_GT(topk_order_key(kNaN), topk_order_key(kInf));
  EXPECT_EQ(topk_order_key(kNaN), topk_order_key(-kNaN));
}

TEST(Topk, PadsWithMinusOneAndUsesTheValidRegionOnly) {
  // Columns outside [2, 4) are larger but undefined: never selected.
  EXPECT_EQ(topk_of({9, 9, 1, 2, 9}, 4, 2, 4), (std::vector<int32_t>{3, 2, -1, -1}));
  EXPECT_EQ(topk_of({9, 9}, 3, 1, 1), (std::vector<int32_t>{-1, -1, -1}));
}

TEST(Topk, MatchesAFullSortOnRowsWithManyTies) {
  const CounterRng rng{31};
  const int64_t rows = 6, cols = 5000;
  LogitsRegions g;
  g.rows = rows;
  g.cols = cols;
  g.row_stride = cols + 7;
  std::vector<float> logits(size_t(rows * g.row_stride), 1e30f);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t L = r == 0 ? 0 : int64_t(rng.below(2, uint64_t(r), uint32_t(cols))) + 1;
    g.row.push_back({0, L, L});
    for (int64_t c = 0; c < L; ++c) {  // 41 distinct values (with +-0 and NaN): ties everywhere
      const uint32_t u = rng.below(1, uint64_t(r * cols + c), 43);
      logits[size_t(r * g.row_stride + c)] = u == 41 ? kNaN : u == 42 ? -0.0f : float(int(u) - 20) * 0.25f;
    }
  }
  for (int32_t k : {1, 7, kDefaultTopk, 6000}) {
    const std::vector<int32_t> got = topk_indices(logits.data(), g, k);
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<int32_t> idx(size_t(g.row[size_t(r)].valid_end));
      for (size_t i = 0; i < idx.size(); ++i) idx[i] = int32_t(i);
      const float* row = logits.data() + r * g.row_stride;
      std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) {
        const bool na = std::isnan(row[a]), nb = std::isnan(row[b]);
        if (na || nb) return na && !nb;  // NaN first, NaNs keep index order
        return row[a] > row[b];           // -0 == +0 keeps index order
      });
      idx.resize(size_t(k), -1);
      ASSERT_EQ(std::vector<int32_t>(got.begin() + r * k, got.begin() + (r + 1) * k), idx) << "row " << r << " k " << k;
    }
  }
}

TEST(Topk, RejectsKBelowOne) {
  try {
    topk_of({1, 2}, 0);
    FAIL() << "k = 0 accepted";
  } catch (const InvalidInput& e) {
    EXPECT_STREQ(e.what(), "invalid k = 0: must be >= 1");
  }
}

namespace {
// Row: values 5 (t0), 4 (t1), 3 (t2, t3, t4), 1 (t5); k = 3: reference {0, 1, 2}, boundary 3.
const std::vector<float> kTieRow = {5, 4, 3, 3, 3, 1};
TopkCheck check(const std::vector<int32_t>& actual, int32_t k = 3) {
  const LogitsRegions g = one_row(6, 0, 6);
  const std::vector<int32_t> expected = topk_indices(kTieRow.data(), g, k);
  return compare_topk(kTieRow.data(), g, expected, actual, k);
}
}  // namespace

TEST(CompareTopk, AcceptsTheReferenceAnyOrderAndBoundarySwaps) {
  EXPECT_EQ(topk_of(kTieRow, 3), (std::vector<int32_t>{0, 1, 2}));
  EXPECT_TRUE(check({0, 1, 2}).ok);
  EXPECT_TRUE(check({2, 0, 1}).ok);
  EXPECT_TRUE(check({0, 1, 4}).ok) << check({0, 1, 4}).message;
  EXPECT_TRUE(check({3, 1, 0}).ok);
}

TEST(CompareTopk, RejectsNonTiedSwapsDuplicatesRangeAndPadding) {
  TopkCheck c = check({0, 1, 5});
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.row, 0);
  EXPECT_EQ(c.position, 2);
  EXPECT_EQ(c.token, 5);
  EXPECT_NE(c.message.find("does not equal the boundary value 3"), std::string::npos) << c.message;
  c = check({0, 2, 3});  // token 1 (value 4 > boundary 3) dropped for a tied one
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.token, 1);
  EXPECT_NE(c.message.find("ranks above the boundary"), std::string::npos) << c.message;
  c = check({0, 1, 1});
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.message.find("duplicate token"), std::string::npos) << c.message;
  c = check({0, 1, 6});
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.message.find("outside the row's valid columns [0, 6)"), std::string::npos) << c.message;
  c = check({0, 1, 2, 3, 4, 5, 3}, 7);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.position, 6);
  EXPECT_NE(c.message.find("expected -1 padding"), std::string::npos) << c.message;
}

TEST(CompareTopk, ZerosOfBothSignsAreTiesAtTheBoundary) {
  const std::vector<float> row = {2, 0.0f, -0.0f, -1};
  const LogitsRegions g = one_row(4, 0, 4);
  const std::vector<int32_t> expected = topk_indices(row.data(), g, 2);
  EXPECT_EQ(expected, (std::vector<int32_t>{0, 1}));
  EXPECT_TRUE(compare_topk(row.data(), g, expected, std::vector<int32_t>{0, 2}, 2).ok);
  EXPECT_FALSE(compare_topk(row.data(), g, expected, std::vector<int32_t>{0, 3}, 2).ok);
}

TEST(CompareTopk, ReportsTheFirstOffendingRow) {
  LogitsRegions g;
  g.rows = 3;
  g.cols = 4;
  g.row_stride = 4;
  g.row = {{0, 4, 4}, {0, 4, 4}, {0, 4, 4}};
  const std::vector<float> logits = {1, 2, 3, 4, 4, 3, 2, 1, 1, 1, 2, 2};
  const std::vector<int32_t> expected = topk_indices(logits.data(), g, 2);
  EXPECT_EQ(expected, (std::vector<int32_t>{3, 2, 0, 1, 2, 3}));
  const TopkCheck c = compare_topk(logits.data(), g, expected, std::vector<int32_t>{2, 3, 0, 2, 3, 2}, 2);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.row, 1);
  EXPECT_EQ(c.position, 1);
  EXPECT_EQ(c.token, 2);
}

// A golden's top-k is input too: huge, negative or padding-breaking indices are refused with the
// field named (they used to be read through: 0x7FFFFFF0 crashed, -1 read out of bounds).
TEST(CompareTopk, ExpectedIndicesOutsideTheRowAreRejectedNotRead) {
  const LogitsRegions g = one_row(6, 0, 6);
  const std::vector<int32_t> good = topk_indices(kTieRow.data(), g, 3);
  for (int32_t bad : {0x7FFFFFF0, -(1 << 30), int32_t(0x80000001u), -1, 6}) {
    std::vector<int32_t> expected = good;
    expected[1] = bad;
    try {
      compare_topk(kTieRow.data(), g, expected, good, 3);
      ADD_FAILURE() << "accepted expected index " << bad;
    } catch (const InvalidInput& e) {
      EXPECT_EQ(e.field(), "expected top-k[0][1]") << bad;
    }
  }
  // Padding positions of a short row must hold -1.
  const LogitsRegions two = one_row(6, 0, 2);
  std::vector<int32_t> e2 = topk_indices(kTieRow.data(), two, 3);
  ASSERT_EQ(e2[2], -1);
  e2[2] = 1;
  EXPECT_THROW(compare_topk(kTieRow.data(), two, e2, topk_indices(kTieRow.data(), two, 3), 3), InvalidInput);
}
