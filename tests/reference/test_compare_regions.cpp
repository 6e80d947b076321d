// Region awareness: which columns are compared, the clean -inf check, and the sentinel
// "written only where allowed" check, on hand-built buffers.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>

#include "mqa/validate.hpp"
#include "test_compare_util.hpp"

using namespace mqa;
using namespace mqa::test_compare;

namespace {

const float kNegInf = -INFINITY;

// 2 rows x 8 columns, row stride 10. Row 0: valid [0, 3), future [3, 5). Row 1 (ragged-like):
// valid [2, 6), no future.
LogitsRegions two_rows() {
  LogitsRegions g{2, 8, 10, {}};
  g.row = {RowRegion{0, 3, 5}, RowRegion{2, 6, 6}};
  return g;
}

// Expected: distinct values everywhere. Actual: a copy with the sentinel in padding columns.
struct Buffers {
  std::vector<float> expected, actual;
};
Buffers make_buffers(const LogitsRegions& g) {
  Buffers b;
  b.expected.assign(size_t(g.rows * g.row_stride), bits(kSentinel));
  for (int64_t r = 0; r < g.rows; ++r)
    for (int64_t c = 0; c < g.cols; ++c) b.expected[size_t(r * g.row_stride + c)] = float(10 * r + c + 1);
  b.actual = b.expected;
  return b;
}

// A clean output: -inf everywhere in [0, cols) outside the valid columns.
void make_clean(const LogitsRegions& g, std::vector<float>& v) {
  for (int64_t r = 0; r < g.rows; ++r)
    for (int64_t c = 0; c < g.cols; ++c)
      if (c < g.row[size_t(r)].valid_begin || c >= g.row[size_t(r)].valid_end) v[size_t(r * g.row_stride + c)] = kNegInf;
}

}  // namespace

TEST(CompareRegions, OnlyValidColumnsAreComparedByDefault) {
  const LogitsRegions g = two_rows();
  Buffers b = make_buffers(g);
  for (int64_t i : {3, 4, 5, 7, 10, 11, 16, 17}) b.actual[size_t(i)] = -99.0f;  // future / undefined
  const CompareReport r = compare_logits(b.expected, b.actual, g, CompareMode::parse("bitwise"));
  EXPECT_TRUE(r.pass) << r.to_text();
  EXPECT_EQ(r.checked[size_t(Column::valid)], 3 + 4);
  EXPECT_EQ(r.compared, 7);
}

TEST(CompareRegions, RegionEdgesAreExact) {
  const LogitsRegions g = two_rows();
  // The last valid column of each row, and the first one of the ragged row, are compared.
  for (int64_t i : {2, 12, 15}) {
    Buffers b = make_buffers(g);
    b.actual[size_t(i)] = -99.0f;
    const CompareReport r = compare_logits(b.expected, b.actual, g, CompareMode::parse("bitwise"));
    ASSERT_EQ(r.mismatched, 1) << "index " << i;
    EXPECT_EQ(r.first[0].index, i);
    EXPECT_EQ(r.first[0].row, i / 10);
    EXPECT_EQ(r.first[0].col, i % 10);
    EXPECT_EQ(r.first[0].column, Column::valid);
  }
  // Just outside: valid_end of row 0 (future), valid_begin-1 and valid_end of row 1.
  for (int64_t i : {3, 11, 16}) {
    Buffers b = make_buffers(g);
    b.actual[size_t(i)] = -99.0f;
    EXPECT_TRUE(compare_logits(b.expected, b.actual, g, CompareMode::parse("bitwise")).pass) << "index " << i;
  }
}

TEST(CompareRegions, FutureColumnsComparedOnRequest) {
  const LogitsRegions g = two_rows();
  Buffers b = make_buffers(g);
  b.actual[4] = -99.0f;  // row 0, col 4: future
  EXPECT_TRUE(compare_logits(b.expected, b.actual, g, CompareMode::parse("bitwise")).pass);
  const CompareReport r = compare_logits(b.expected, b.actual, g, CompareMode::parse("bitwise,future"));
  ASSERT_EQ(r.mismatched, 1);
  EXPECT_EQ(r.first[0].column, Column::future);
  EXPECT_EQ(r.mismatched_in[size_t(Column::future)], 1);
  EXPECT_EQ(r.checked[size_t(Column::future)], 2);
}

TEST(CompareRegions, CleanModeDemandsMinusInfinityBitsOutsideTheValidColumns) {
  const LogitsRegions g = two_rows();
  Buffers b = make_buffers(g);
  make_clean(g, b.actual);
  const CompareReport ok = compare_logits(b.expected, b.actual, g, CompareMode::parse("bitwise,clean"));
  EXPECT_TRUE(ok.pass) << ok.to_text();
  EXPECT_EQ(ok.checked[size_t(Column::undefined)] + ok.checked[size_t(Column::future)], 16 - 7);
  // Not -inf: a zero, +inf, a NaN, and -FLT_MAX; in the ragged row before valid_begin too.
  const std::vector<std::pair<int64_t, float>> plants{{3, 0.0f}, {7, INFINITY}, {10, NAN}, {17, -FLT_MAX}};
  for (const auto& [i, v] : plants) {
    std::vector<float> a = b.actual;
    a[size_t(i)] = v;
    const CompareReport r = compare_logits(b.expected, a, g, CompareMode::parse("bitwise,clean"));
    ASSERT_EQ(r.mismatched, 1) << "index " << i;
    EXPECT_EQ(r.first[0].check, Check::clean);
    EXPECT_EQ(r.first[0].index, i);
    EXPECT_EQ(r.first[0].expected_bits, 0xFF800000u);
  }
  // With `future`, future columns are compared against expected instead of clean-checked.
  std::vector<float> a = b.actual;
  a[3] = b.expected[3];
  a[4] = b.expected[4];
  EXPECT_TRUE(compare_logits(b.expected, a, g, CompareMode::parse("bitwise,future,clean")).pass);
  EXPECT_FALSE(compare_logits(b.expected, a, g, CompareMode::parse("bitwise,clean")).pass);
}

TEST(CompareRegions, SentinelCatchesAStrayWriteInAPaddingColumn) {
  const LogitsRegions g = two_rows();
  Buffers b = make_buffers(g);  // padding columns 8, 9 of each row hold the sentinel
  const CompareMode mode = CompareMode::parse(with_sentinel("bitwise"));
  EXPECT_TRUE(compare_logits(b.expected, b.actual, g, mode).pass);
  for (int64_t i : {8, 9, 18, 19}) {
    std::vector<float> a = b.actual;
    a[size_t(i)] = 0.0f;
    const CompareReport r = compare_logits(b.expected, a, g, mode);
    ASSERT_EQ(r.mismatched, 1) << "index " << i;
    EXPECT_EQ(r.first[0].check, Check::sentinel);
    EXPECT_EQ(r.first[0].column, Column::padding);
    EXPECT_EQ(r.first[0].row, i / 10);
    EXPECT_EQ(r.first[0].col, i % 10);
    EXPECT_EQ(r.first[0].expected_bits, kSentinel);
    // The standalone check finds the same float without an expected buffer.
    const CompareReport u = check_untouched(a, g, kSentinel);
    ASSERT_EQ(u.mismatched, 1);
    EXPECT_EQ(u.first[0].index, i);
  }
  EXPECT_EQ(check_untouched(b.actual, g, kSentinel).checked[size_t(Column::padding)], 4);
}

TEST(CompareRegions, SentinelScopeDefinedAlsoGuardsUndefinedColumns) {
  const LogitsRegions g = two_rows();
  Buffers b = make_buffers(g);
  for (int64_t r = 0; r < 2; ++r)  // a reference-like writer: only the valid columns
    for (int64_t c = 0; c < 8; ++c)
      if (c < g.row[size_t(r)].valid_begin || c >= g.row[size_t(r)].valid_end) b.actual[size_t(r * 10 + c)] = bits(kSentinel);
  EXPECT_TRUE(compare_logits(b.expected, b.actual, g, CompareMode::parse(with_sentinel("bitwise", ",writes:defined"))).pass);
  std::vector<float> a = b.actual;
  a[11] = 1.0f;  // row 1, col 1: before valid_begin
  EXPECT_TRUE(compare_logits(b.expected, a, g, CompareMode::parse(with_sentinel("bitwise"))).pass);
  const CompareReport r = compare_logits(b.expected, a, g, CompareMode::parse(with_sentinel("bitwise", ",writes:defined")));
  ASSERT_EQ(r.mismatched, 1);
  EXPECT_EQ(r.first[0].index, 11);
  EXPECT_EQ(r.first[0].column, Column::undefined);
  // A future write is a stray write unless `future` says the kernel writes future logits.
  a = b.actual;
  a[4] = b.expected[4];
  EXPECT_FALSE(check_untouched(a, g, kSentinel, WriteScope::defined).pass);
  EXPECT_TRUE(check_untouched(a, g, kSentinel, WriteScope::defined, /*future=*/true).pass);
}

TEST(CompareRegions, SentinelCoversFloatsPastTheLastRow) {
  const LogitsRegions g = two_rows();
  Buffers b = make_buffers(g);
  b.actual.resize(b.actual.size() + 5, bits(kSentinel));  // guard margin after the output
  b.actual[22] = 3.0f;
  const CompareReport r = check_untouched(b.actual, g, kSentinel);
  ASSERT_EQ(r.mismatched, 1);
  EXPECT_EQ(r.first[0].column, Column::beyond);
  EXPECT_EQ(r.first[0].index, 22);
  EXPECT_EQ(r.checked[size_t(Column::beyond)], 5);
}

TEST(CompareRegions, InconsistentRegionsAndSizesAreRejected) {
  const LogitsRegions good = two_rows();
  const Buffers b = make_buffers(good);
  const CompareMode m;
  auto field_of = [&](const LogitsRegions& g, std::span<const float> e, std::span<const float> a) {
    try {
      compare_logits(e, a, g, m);
    } catch (const InvalidInput& x) {
      return x.field();
    }
    return std::string("accepted");
  };
  LogitsRegions g = good;
  g.row.pop_back();
  EXPECT_EQ(field_of(g, b.expected, b.actual), "regions.row.size");
  g = good;
  g.row[1].future_end = 9;
  EXPECT_EQ(field_of(g, b.expected, b.actual), "regions.row[1].future_end");
  g = good;
  g.row[0].valid_begin = 4;
  EXPECT_EQ(field_of(g, b.expected, b.actual), "regions.row[0].valid_begin");
  g = good;
  g.row_stride = 7;
  EXPECT_EQ(field_of(g, b.expected, b.actual), "regions.row_stride");
  EXPECT_EQ(field_of(good, std::span(b.expected).first(17), b.actual), "expected.size");
  EXPECT_EQ(field_of(good, b.expected, std::span(b.actual).first(17)), "actual.size");
  EXPECT_EQ(field_of(good, std::span(b.expected).first(18), std::span(b.actual).first(18)), "accepted");
  LogitsCoordinates co;
  co.kind = LogitsCoordinates::Kind::paged;
  co.batch = 3;
  co.next_n = 1;
  EXPECT_THROW(compare_logits(b.expected, b.actual, good, m, co), InvalidInput);
}

// A valid element that still holds the sentinel was never written: the report says so, with the
// sentinel's bits, instead of calling the sentinel (a NaN) a NaN mismatch.
TEST(CompareRegions, AValidElementLeftAtTheSentinelIsUnwritten) {
  LogitsRegions g{1, 4, 4, {RowRegion{0, 3, 3}}};
  std::vector<float> expected(4, 1.0f), actual(4, 1.0f);
  actual[1] = f32_from_bits(kSentinel);
  actual[3] = f32_from_bits(kSentinel);  // column 3 is undefined: the sentinel belongs there
  const CompareReport r = compare_logits(expected, actual, g, CompareMode::parse(with_sentinel("bitwise", ",writes:defined")));
  EXPECT_FALSE(r.pass);
  ASSERT_EQ(r.first.size(), 1u);
  EXPECT_EQ(r.first[0].check, Check::unwritten);
  EXPECT_EQ(r.first[0].col, 1);
  EXPECT_EQ(r.mismatched_by[size_t(Check::unwritten)], 1);
  EXPECT_EQ(r.mismatched_by[size_t(Check::nan)], 0);
  EXPECT_NE(r.to_text().find("unwritten (sentinel " + sentinel_hex() + ")"), std::string::npos) << r.to_text();
}
