// The comparator on a real paged problem: a preshuffle16 cache written by quantize_and_cache,
// page ids past 65,536, expected logits from the reference. Planted changes (one ulp, two
// tokens swapped, a stray write) must come back at the right logical AND physical coordinates.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "mqa/compare.hpp"
#include "mqa/kcache.hpp"
#include "mqa/philox.hpp"
#include "test_compare_util.hpp"

using namespace mqa;
using mqa::test_compare::kSentinel;
using mqa::test_compare::with_sentinel;

namespace {

constexpr int32_t kB = 16, kD = 32, kHeads = 8, kBatch = 2, kNextN = 2, kMaxBlocks = 4, kMaxCtx = 40;
constexpr int64_t kStride = 48;     // padded output rows: columns 40..47 are padding
constexpr int64_t kBig = 65536;     // page ids at and past 2^16: the upstream truncation bug

struct PagedSetup {
  KCache cache;
  std::vector<uint8_t> q;
  std::vector<float> w;
  std::vector<int32_t> ctx{37, 20};  // 1-D lens: rows of b read L = ctx - next_n + j + 1
  // b0 needs 3 pages, b1 needs 2; the rest is junk the comparator must never show.
  std::vector<int32_t> table{int32_t(kBig + 7), int32_t(kBig + 0), int32_t(kBig + 4), -1,
                             int32_t(kBig + 2), int32_t(kBig + 5), -1, 3};
  bool clean = false;

  PagedSetup() : cache(PagedCacheLayout{{PageLayoutKind::preshuffle16, kB, kD, kD}, kB * (kD + 4), kBig + 8}, 0xA5) {
    const CounterRng rng{2026};
    std::vector<int64_t> slots;
    for (int32_t b = 0; b < kBatch; ++b)
      for (int32_t s = 0; s < ctx[size_t(b)]; ++s) slots.push_back(int64_t(table[size_t(b * kMaxBlocks + s / kB)]) * kB + s % kB);
    std::vector<float> k(slots.size() * kD);
    for (size_t i = 0; i < k.size(); ++i) k[i] = (rng.unit(1, i) - 0.5f) * 8.0f;
    quantize_and_cache(k, slots, QuantParams{}, cache.ref());
    q.resize(size_t(kBatch * kNextN * kHeads * kD));
    for (size_t i = 0; i < q.size(); ++i) q[i] = fp8_encode((rng.unit(2, i) - 0.5f) * 4.0f, Fp8Encoding::e4m3fn);
    w.resize(size_t(kBatch * kNextN * kHeads));
    for (size_t i = 0; i < w.size(); ++i) w[i] = rng.unit(3, i) - 0.5f;
  }

  PagedLogitsProblem problem() const {
    PagedLogitsProblem p;
    p.cache = cache.layout;
    p.cache_bytes = cache.bytes.data();
    p.q = q.data();
    p.batch = kBatch;
    p.next_n = kNextN;
    p.heads = kHeads;
    p.weights = w.data();
    p.context_lens = ctx.data();
    p.table = BlockTableView{table.data(), kBatch, kMaxBlocks, kMaxBlocks};
    p.max_context_len = kMaxCtx;
    p.clean_logits = clean;
    return p;
  }

  std::vector<float> logits() const {
    std::vector<float> out(size_t(kBatch * kNextN * kStride), f32_from_bits(kSentinel));
    paged_mqa_logits(problem(), out.data(), kStride);
    return out;
  }
};

const PagedSetup& setup() {
  static const PagedSetup s;
  return s;
}

}  // namespace

TEST(ComparePaged, ReferenceAgainstItselfPassesEveryCheck) {
  const PagedSetup& s = setup();
  const std::vector<float> e = s.logits(), a = s.logits();
  const LogitsRegions g = paged_logits_regions(s.problem(), kStride);
  const CompareReport r = compare_logits(e, a, g, CompareMode::parse(with_sentinel("bitwise", ",writes:defined")),
                                         paged_coordinates(s.problem()));
  EXPECT_TRUE(r.pass) << r.to_text();
  EXPECT_EQ(r.checked[size_t(Column::valid)], 36 + 37 + 19 + 20);
  EXPECT_EQ(r.checked[size_t(Column::padding)], 4 * 8);
  EXPECT_EQ(r.ulp_histogram[0], 36 + 37 + 19 + 20);
}

TEST(ComparePaged, OneUlpChangeIsReportedAtLogicalAndPhysicalCoordinates) {
  const PagedSetup& s = setup();
  const std::vector<float> e = s.logits();
  std::vector<float> a = e;
  const int32_t b = 1, j = 0, tok = 17;  // row 2 (L = 19), on the second page of sequence 1
  const int64_t row = b * kNextN + j, i = row * kStride + tok;
  a[size_t(i)] = f32_from_bits(f32_bits(a[size_t(i)]) + 1);
  const PagedLogitsProblem p = s.problem();
  const CompareReport r = compare_logits(e, a, paged_logits_regions(p, kStride), CompareMode::parse("bitwise"),
                                         paged_coordinates(p));
  ASSERT_FALSE(r.pass);
  ASSERT_EQ(r.mismatched, 1);
  const ElementDiff& d = r.first.at(0);
  EXPECT_EQ(d.row, row);
  EXPECT_EQ(d.col, tok);
  EXPECT_EQ(d.b, b);
  EXPECT_EQ(d.j, j);
  EXPECT_EQ(d.ulp, 1u);
  const PagedView view{s.cache.layout, p.table};
  EXPECT_EQ(d.page, kBig + 5);  // table[1][17 / 16], not truncated to 16 bits
  EXPECT_EQ(d.page, view.token(b, tok).page);
  EXPECT_EQ(d.slot, 1);
  EXPECT_EQ(d.value_byte, view.value_byte(b, tok, 0));
  EXPECT_EQ(d.scale_byte, view.scale_byte(b, tok, 0));
  EXPECT_GT(d.value_byte, int64_t(kBig) * s.cache.layout.page_stride);
  ASSERT_EQ(r.pages.size(), 1u);
  EXPECT_EQ(r.pages[0].page, kBig + 5);
  EXPECT_EQ(r.rows.at(0).row, row);
  // The same answer passes as ulp:1 and fails as ulp:0.
  EXPECT_TRUE(compare_logits(e, a, paged_logits_regions(p, kStride), CompareMode::parse("ulp:1")).pass);
  const std::string t = r.to_text();
  EXPECT_NE(t.find("(b=1 j=0 token 17; page 65541 slot 1, value byte " + std::to_string(d.value_byte) + ", scale byte " +
                   std::to_string(d.scale_byte) + ")"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("page 65541: failures 1, first slot 1"), std::string::npos) << t;
  const nlohmann::json js = r.to_json();
  EXPECT_EQ(js["first"][0]["page"], kBig + 5);
  EXPECT_EQ(js["first"][0]["value_byte"], d.value_byte);
}

TEST(ComparePaged, SwappedTokensAreBothReportedOnTheirPages) {
  const PagedSetup& s = setup();
  const std::vector<float> e = s.logits();
  std::vector<float> a = e;
  const int64_t row = 0, t1 = 5, t2 = 20;  // b0: page kBig+7 slot 5 and page kBig+0 slot 4
  ASSERT_NE(f32_bits(e[size_t(t1)]), f32_bits(e[size_t(t2)]));
  std::swap(a[size_t(row * kStride + t1)], a[size_t(row * kStride + t2)]);
  const PagedLogitsProblem p = s.problem();
  const CompareReport r = compare_logits(e, a, paged_logits_regions(p, kStride), CompareMode::parse("bitwise"),
                                         paged_coordinates(p));
  ASSERT_EQ(r.mismatched, 2) << r.to_text();
  const PagedView view{s.cache.layout, p.table};
  const ElementDiff &x = r.first.at(0), &y = r.first.at(1);
  EXPECT_EQ(x.col, t1);
  EXPECT_EQ(y.col, t2);
  EXPECT_EQ(x.b, 0);
  EXPECT_EQ(x.j, 0);
  EXPECT_EQ(x.page, kBig + 7);
  EXPECT_EQ(x.slot, 5);
  EXPECT_EQ(y.page, kBig + 0);
  EXPECT_EQ(y.slot, 4);
  EXPECT_EQ(x.value_byte, view.value_byte(0, t1, 0));
  EXPECT_EQ(y.value_byte, view.value_byte(0, t2, 0));
  EXPECT_EQ(x.scale_byte, view.scale_byte(0, t1, 0));
  EXPECT_EQ(y.scale_byte, view.scale_byte(0, t2, 0));
  EXPECT_EQ(x.actual_bits, y.expected_bits);
  EXPECT_EQ(y.actual_bits, x.expected_bits);
  EXPECT_EQ(r.pages_failing, 2);
  EXPECT_EQ(r.rows_failing, 1);
}

TEST(ComparePaged, CleanOutputAndAStrayPaddingWrite) {
  PagedSetup s;
  s.clean = true;
  const std::vector<float> e = s.logits();
  std::vector<float> a = e;
  const PagedLogitsProblem p = s.problem();
  const LogitsRegions g = paged_logits_regions(p, kStride);
  const CompareMode mode = CompareMode::parse(with_sentinel("bitwise,clean", ",writes:defined"));
  const CompareReport ok = compare_logits(e, a, g, mode, paged_coordinates(p));
  EXPECT_TRUE(ok.pass) << ok.to_text();
  a[size_t(2 * kStride + 19)] = 0.0f;  // row 2 (b=1, j=0) L = 19: its future column, not -inf
  a[size_t(3 * kStride + 41)] = 0.0f;  // row 3, padding column 41
  const CompareReport r = compare_logits(e, a, g, mode, paged_coordinates(p));
  ASSERT_EQ(r.mismatched, 2) << r.to_text();
  EXPECT_EQ(r.first[0].check, Check::clean);
  EXPECT_EQ(r.first[0].column, Column::future);
  EXPECT_EQ(r.first[0].page, kBig + 5);  // token 19 of b1 lives on table[1][1], slot 3
  EXPECT_EQ(r.first[0].slot, 3);
  EXPECT_EQ(r.first[1].check, Check::sentinel);
  EXPECT_EQ(r.first[1].column, Column::padding);
  EXPECT_EQ(r.first[1].row, 3);
  EXPECT_EQ(r.first[1].col, 41);
  EXPECT_EQ(r.first[1].page, -1);  // padding has no token
}
