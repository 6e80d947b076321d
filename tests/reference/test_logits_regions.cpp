// Output regions (1-D and 2-D lengths, next_n > 1, ragged ks/ke), sentinel discipline, clean_logits
// and the validation of every input the logits ops take (message text checked).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "mqa/validate.hpp"
#include "test_logits_util.hpp"

using namespace mqa;
using namespace mqa::test;

namespace {

constexpr uint32_t kNegInfBits = 0xFF800000u;

PagedCase small_case(bool lens_2d, std::vector<int32_t> lens, int32_t next_n) {
  PagedShape s;
  s.batch = int32_t(lens.size()) / (lens_2d ? next_n : 1);
  s.next_n = next_n;
  s.lens_2d = lens_2d;
  s.max_len = 20;
  PagedCase c = make_paged_case(s, 3);
  c.lens = std::move(lens);
  make_table_valid(c, 1);
  c.max_context_len = 12;
  c.row_stride = 15;
  return c;
}

std::vector<RowRegion> regions_of(const PagedCase& c) {
  return paged_logits_regions(c.problem(), c.row_stride).row;
}

bool same(const std::vector<RowRegion>& a, const std::vector<RowRegion>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].valid_begin != b[i].valid_begin || a[i].valid_end != b[i].valid_end || a[i].future_end != b[i].future_end)
      return false;
  return true;
}

std::string text(const std::vector<RowRegion>& v) {
  std::ostringstream s;
  for (const RowRegion& r : v) s << "[" << r.valid_begin << "," << r.valid_end << "," << r.future_end << ")";
  return s.str();
}

}  // namespace

TEST(LogitsRegions, OneDimensionalLensWithNextN3) {
  // L_r = ctx_b - next_n + j + 1, clamped at 0; future up to ctx_b.
  const PagedCase c = small_case(false, {10, 2, 0}, 3);
  const std::vector<RowRegion> want = {{0, 8, 10}, {0, 9, 10}, {0, 10, 10},  // ctx 10
                                       {0, 0, 2},  {0, 1, 2},  {0, 2, 2},    // ctx 2 < next_n
                                       {0, 0, 0},  {0, 0, 0},  {0, 0, 0}};   // padding entry
  const std::vector<RowRegion> got = regions_of(c);
  EXPECT_TRUE(same(got, want)) << text(got);
}

TEST(LogitsRegions, TwoDimensionalLensWithNextN3) {
  // L_r = lens[b][j]; Llast_b = lens[b][next_n-1]; future [L_r, Llast_b) (empty when L_r >= Llast_b).
  const PagedCase c = small_case(true, {5, 7, 6, 0, 0, 3}, 3);
  const std::vector<RowRegion> want = {{0, 5, 6}, {0, 7, 7}, {0, 6, 6}, {0, 0, 3}, {0, 0, 3}, {0, 3, 3}};
  const std::vector<RowRegion> got = regions_of(c);
  EXPECT_TRUE(same(got, want)) << text(got);
}

TEST(LogitsRegions, OnlyTheValidRegionIsWrittenAndCleanWritesMinusInfUpToMaxContextLen) {
  for (bool lens_2d : {false, true})
    for (bool clean : {false, true})
      for (bool naive : {false, true}) {
        PagedShape s;
        s.batch = 4;
        s.next_n = 3;
        s.heads = 16;
        s.lens_2d = lens_2d;
        s.clean = clean;
        s.max_len = 50;
        s.col_pad = 5;
        const PagedCase c = make_paged_case(s, 11 + uint64_t(lens_2d));
        std::vector<float> out = c.sentinel_output();
        (naive ? paged_mqa_logits_naive : paged_mqa_logits)(c.problem(), out.data(), c.row_stride);
        const LogitsRegions g = paged_logits_regions(c.problem(), c.row_stride);
        int64_t future_cols = 0;
        for (int64_t r = 0; r < g.rows; ++r) {
          const RowRegion& rg = g.row[size_t(r)];
          future_cols += rg.future_end - rg.valid_end;
          for (int64_t col = 0; col < c.row_stride; ++col) {
            const uint32_t bits = f32_bits(out[size_t(r * c.row_stride + col)]);
            if (col < rg.valid_end)
              ASSERT_NE(bits, kSentinelBits) << "row " << r << " col " << col << " not written";
            else if (col < g.cols && clean)
              ASSERT_EQ(bits, kNegInfBits) << "row " << r << " col " << col << " (clean)";
            else
              ASSERT_EQ(bits, kSentinelBits) << "row " << r << " col " << col << " written outside [0, L_r)";
          }
        }
        EXPECT_GT(future_cols, 0) << "the case must have future columns";
      }
}

TEST(LogitsRegions, RaggedEdgesEmptyRangesAndKeEqualsN) {
  for (bool clean : {false, true}) {
    RaggedCase c = make_ragged_case(6, 20, 8, 32, Fp8Encoding::e4m3fn, 5);
    c.ks = {0, 7, 20, 0, 19, 3};
    c.ke = {20, 7, 20, 0, 20, 9};
    c.clean = clean;
    std::vector<float> out = c.sentinel_output(), naive = c.sentinel_output();
    ragged_mqa_logits(c.problem(), out.data(), c.row_stride);
    ragged_mqa_logits_naive(c.problem(), naive.data(), c.row_stride);
    ASSERT_EQ(first_bit_difference(out, naive), -1);
    for (int32_t i = 0; i < c.M; ++i)
      for (int64_t col = 0; col < c.row_stride; ++col) {
        const uint32_t bits = f32_bits(out[size_t(i * c.row_stride + col)]);
        if (col >= c.ks[size_t(i)] && col < c.ke[size_t(i)])
          ASSERT_NE(bits, kSentinelBits) << i << "," << col;
        else if (col < c.N && clean)
          ASSERT_EQ(bits, kNegInfBits) << i << "," << col;
        else
          ASSERT_EQ(bits, kSentinelBits) << i << "," << col;
      }
  }
  // N = 0: nothing to read, nothing written.
  RaggedCase e = make_ragged_case(3, 0, 8, 32, Fp8Encoding::e4m3fn, 6);
  e.clean = true;
  std::vector<float> out = e.sentinel_output();
  ragged_mqa_logits(e.problem(), out.data(), e.row_stride);
  for (float v : out) ASSERT_EQ(f32_bits(v), kSentinelBits);
}

namespace {

// Runs both paths on a problem that must be rejected: checks the message and that no output
// float changed.
template <class Problem, class Fast, class Naive>
void expect_rejected(const Problem& p, int64_t stride, size_t out_floats, Fast fast, Naive naive, const std::string& msg) {
  for (int path = 0; path < 2; ++path) {
    std::vector<float> out(out_floats, f32_from_bits(kSentinelBits));
    try {
      (path == 0 ? fast : naive)(p, out.data(), stride);
      ADD_FAILURE() << "accepted; expected: " << msg;
    } catch (const InvalidInput& e) {
      EXPECT_EQ(std::string(e.what()), msg);
    }
    for (float v : out) ASSERT_EQ(f32_bits(v), kSentinelBits) << "output written before validation";
  }
}

void expect_paged_rejected(const PagedCase& c, const PagedLogitsProblem& p, const std::string& msg, int64_t stride = -1) {
  expect_rejected(p, stride < 0 ? c.row_stride : stride, c.sentinel_output().size(), paged_mqa_logits,
                  paged_mqa_logits_naive, msg);
}

}  // namespace

TEST(LogitsValidation, PagedLengthsTableAndShape) {
  PagedShape s;
  s.batch = 2;
  s.next_n = 2;
  s.max_len = 30;
  PagedCase c = make_paged_case(s, 21);
  make_table_valid(c, 2);
  c.lens = {20, 25};
  c.max_context_len = 24;
  c.row_stride = 30;
  expect_paged_rejected(c, c.problem(),
                        "invalid context_lens[1] = 25: row 3 reads L_r = 25 tokens, more than max_context_len = 24");
  c.lens = {-1, 5};
  expect_paged_rejected(c, c.problem(), "invalid context_lens[0] = -1: negative length");
  c.lens = {20, 5};
  c.table[1] = -1;  // sequence 0 needs blocks 0 and 1 (B = 16)
  expect_paged_rejected(c, c.problem(),
                        "invalid block_table[0][1] = -1: needed by context_lens[0] = 20 but unset (negative)");
  c.table[1] = int32_t(c.cache.layout.num_pages);
  expect_paged_rejected(c, c.problem(),
                        "invalid block_table[0][1] = " + std::to_string(c.cache.layout.num_pages) +
                            ": needed by context_lens[0] = 20 but >= num_pages = " +
                            std::to_string(c.cache.layout.num_pages));
  c.table[1] = 0;
  PagedLogitsProblem p = c.problem();
  expect_paged_rejected(c, p, "invalid out_row_stride = 23: smaller than max_context_len = 24", 23);
  p.heads = 12;
  expect_paged_rejected(c, p, "invalid heads = 12: must be a power of two in [1, 1024] (the head sum is a pairwise tree)");
  p.heads = 4;
  p.profile = Profile::deepgemm_sm90;
  expect_paged_rejected(c, p, "invalid heads = 4: the deepgemm_sm90 profile needs a multiple of 8 (groups of 8 heads)");
  p = c.problem();
  p.next_n = 0;
  expect_paged_rejected(c, p, "invalid next_n = 0: must be >= 1");
  p = c.problem();
  p.cache.page.quant_block = 16;
  p.cache.page_stride = 4096;  // room for two scales per token: the layout itself is valid
  expect_paged_rejected(c, p,
                        "invalid quant_block = 16: the logits ops need one scale per token (quant_block == head_dim = 32)");
}

TEST(LogitsValidation, PagedTwoDimensionalLengths) {
  PagedShape s;
  s.batch = 2;
  s.next_n = 2;
  s.lens_2d = true;
  PagedCase c = make_paged_case(s, 22);
  make_table_valid(c, 1);
  c.lens = {3, 4, 5, -2};
  expect_paged_rejected(c, c.problem(), "invalid context_lens[1][1] = -2: negative length");
}

TEST(LogitsValidation, NaNOrInfScaleOfATokenThatIsRead) {
  PagedShape s;
  s.batch = 1;
  s.max_len = 30;
  PagedCase c = make_paged_case(s, 23);
  make_table_valid(c, 1);
  c.lens = {10};
  c.max_context_len = 16;
  c.row_stride = 16;
  const PagedView v{c.cache.layout, c.problem().table};
  const TokenAddress a = v.token(0, 9);
  float saved;
  std::memcpy(&saved, c.cache.bytes.data() + v.scale_byte(0, 9, 0), 4);
  c.cache.set_scale(a.page, a.slot, 0, std::numeric_limits<float>::quiet_NaN());
  expect_paged_rejected(c, c.problem(),
                        "invalid kscale(batch 0, token 9; page " + std::to_string(a.page) + ", slot " +
                            std::to_string(a.slot) + ") = nan: NaN/Inf scale of a token that the op reads");
  // The same NaN scale on a token past L_r is never read: accepted.
  c.cache.set_scale(a.page, a.slot, 0, saved);
  const TokenAddress unread = v.token(0, 12);
  c.cache.set_scale(unread.page, unread.slot, 0, std::numeric_limits<float>::infinity());
  std::vector<float> out = c.sentinel_output();
  EXPECT_NO_THROW(paged_mqa_logits(c.problem(), out.data(), c.row_stride));
}

TEST(LogitsValidation, RaggedRangesScalesAndShape) {
  RaggedCase c = make_ragged_case(3, 10, 8, 32, Fp8Encoding::e4m3fnuz, 24);
  c.ks = {0, 4, 2};
  c.ke = {10, 3, 2};
  auto rejected = [&](const RaggedLogitsProblem& p, const std::string& msg, int64_t stride = -1) {
    expect_rejected(p, stride < 0 ? c.row_stride : stride, c.sentinel_output().size(), ragged_mqa_logits,
                    ragged_mqa_logits_naive, msg);
  };
  rejected(c.problem(), "invalid ks[1] = 4: greater than ke[1] = 3");
  c.ke[1] = 11;
  rejected(c.problem(), "invalid ke[1] = 11: beyond N = 10");
  c.ks[1] = -1;
  c.ke[1] = 3;
  rejected(c.problem(), "invalid ks[1] = -1: negative");
  c.ks[1] = 0;
  c.kscale[2] = -std::numeric_limits<float>::infinity();
  rejected(c.problem(), "invalid kscale[2] = -inf: NaN/Inf scale of a token that the op reads");
  c.ke = {2, 2, 2};  // token 2 no longer read: its Inf scale is irrelevant
  std::vector<float> out = c.sentinel_output();
  EXPECT_NO_THROW(ragged_mqa_logits(c.problem(), out.data(), c.row_stride));
  rejected(c.problem(), "invalid out_row_stride = 9: smaller than N = 10", 9);
  RaggedLogitsProblem p = c.problem();
  p.head_dim = 2048;
  rejected(p, "invalid head_dim = 2048: must be in [1, 1024] (exact dot products are proven up to 2^10 terms)");
}
