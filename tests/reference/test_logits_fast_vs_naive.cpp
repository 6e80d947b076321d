// The fast exact reference (fp64 GEMM + fp32 epilogue) against the naive oracle (int64 fixed
// point, scalar loops), bitwise over the whole output buffer, sentinels included.
#include <gtest/gtest.h>

#include "test_logits_util.hpp"

using namespace mqa;
using namespace mqa::test;

namespace {

// A shape drawn from the counter RNG: the superset ops.md asks the harness to accept.
PagedShape random_shape(uint64_t seed, int i) {
  const CounterRng rng{seed};
  auto pick = [&](uint64_t k, uint32_t n) { return rng.below(sShape, uint64_t(i) * 64 + k, n); };
  PagedShape s;
  s.kind = pick(0, 2) ? PageLayoutKind::preshuffle16 : PageLayoutKind::standard;
  const int32_t sizes[] = {16, 32, 64};
  s.page_size = s.kind == PageLayoutKind::standard && pick(1, 4) == 0 ? 1 : sizes[pick(2, 3)];
  s.batch = 1 + int32_t(pick(3, 4));
  s.next_n = 1 + int32_t(pick(4, 4));
  const int32_t heads[] = {8, 16, 32, 64, 128};
  s.heads = heads[pick(5, 5)];
  const int32_t dims[] = {32, 64, 128};
  s.head_dim = dims[pick(6, 3)];
  s.encoding = pick(7, 2) ? Fp8Encoding::e4m3fnuz : Fp8Encoding::e4m3fn;
  s.lens_2d = pick(8, 2);
  s.clean = pick(9, 2);
  s.profile = pick(10, 3) == 0 ? Profile::deepgemm_sm90 : Profile::exact;
  // Keep the naive oracle's work (rows * tokens * H * D) small.
  s.max_len = int32_t(std::max<int64_t>(3, 3000000 / (int64_t(s.batch) * s.next_n * s.heads * s.head_dim)));
  s.max_len = std::min(s.max_len, 300);
  return s;
}

// Returns the number of logits compared inside valid regions (all of them written).
int64_t expect_fast_equals_naive(const PagedCase& c) {
  const PagedLogitsProblem p = c.problem();
  std::vector<float> fast = c.sentinel_output(), naive = c.sentinel_output();
  paged_mqa_logits(p, fast.data(), c.row_stride);
  paged_mqa_logits_naive(p, naive.data(), c.row_stride);
  const int64_t at = first_bit_difference(fast, naive);
  EXPECT_EQ(at, -1) << c.shape.str() << ": row " << at / c.row_stride << " col " << at % c.row_stride << " fast "
                    << fast[size_t(at)] << " naive " << naive[size_t(at)];
  const LogitsRegions g = paged_logits_regions(p, c.row_stride);
  int64_t valid = 0;
  for (int64_t r = 0; r < g.rows; ++r)
    for (int64_t s = 0; s < g.row[size_t(r)].valid_end; ++s, ++valid)
      if (f32_bits(fast[size_t(r * c.row_stride + s)]) == kSentinelBits) {
        ADD_FAILURE() << c.shape.str() << ": valid logit (" << r << ", " << s << ") not written";
        return valid;
      }
  return valid;
}

}  // namespace

TEST(PagedLogitsFastVsNaive, RandomShapesBitwise) {
  const int kCases = 150;
  int64_t compared = 0;
  for (int i = 0; i < kCases && !HasFailure(); ++i) {
    const PagedShape s = random_shape(2026, i);
    set_logits_threads(1 + i % 3);  // the output must not depend on the worker count
    compared += expect_fast_equals_naive(make_paged_case(s, 1000 + uint64_t(i)));
  }
  set_logits_threads(0);
  EXPECT_GT(compared, 50000) << "the random cases must exercise many logits";
  RecordProperty("logits_compared", std::to_string(compared));
}

TEST(PagedLogitsFastVsNaive, PreshuffleBatchesOf16AndLongSequences) {
  for (int32_t batch : {16, 32})
    for (PageLayoutKind kind : {PageLayoutKind::standard, PageLayoutKind::preshuffle16}) {
      PagedShape s;
      s.kind = kind;
      s.page_size = 64;
      s.batch = batch;
      s.next_n = 2;
      s.heads = 16;
      s.head_dim = 64;
      s.max_len = 300;  // several 128-token tiles and pages per sequence
      EXPECT_GT(expect_fast_equals_naive(make_paged_case(s, 77 + uint64_t(batch))), 1000);
    }
}

TEST(RaggedLogitsFastVsNaive, RandomShapesBitwise) {
  int i = 0;
  for (int32_t heads : {8, 32, 128})
    for (int32_t D : {32, 128})
      for (Fp8Encoding e : {Fp8Encoding::e4m3fn, Fp8Encoding::e4m3fnuz}) {
        RaggedCase c = make_ragged_case(1 + (i * 7) % 23, 1 + (i * 53) % 300, heads, D, e, 500 + uint64_t(i));
        c.clean = i % 2;
        c.profile = i % 3 == 0 ? Profile::deepgemm_sm90 : Profile::exact;
        set_logits_threads(1 + i % 2);
        std::vector<float> fast = c.sentinel_output(), naive = c.sentinel_output();
        ragged_mqa_logits(c.problem(), fast.data(), c.row_stride);
        ragged_mqa_logits_naive(c.problem(), naive.data(), c.row_stride);
        const int64_t at = first_bit_difference(fast, naive);
        ASSERT_EQ(at, -1) << "case " << i << " H=" << heads << " D=" << D << " row " << at / c.row_stride << " col "
                          << at % c.row_stride;
        ++i;
      }
  set_logits_threads(0);
}
