// The deepgemm_sm90 profile on a hand-worked example, and the decisions numerics.md leaves open:
// NaN codes, NaN/Inf/zero weights, signed zeros.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "test_logits_util.hpp"

using namespace mqa;
using namespace mqa::test;

namespace {

// One query row, one k token, H = 16 heads, D = 4, k = [1, 1, 1, 1] so that a_h = sum of q[h].
// All codes are integers in [-4, 4] (exactness-friendly: DeepGEMM's a_h equals the exact one).
struct HandExample {
  static constexpr int32_t H = 16, D = 4;
  std::vector<uint8_t> q, k;
  std::vector<float> w, kscale{3.0f};
  std::vector<int32_t> ks{0}, ke{1};
  HandExample() {
    // a_h per head, written as four integer q values each (k is all ones).
    const int qv[H][D] = {{4, -1, 0, 0}, {0, 0, 0, 0}, {4, 0, 0, 0}, {1, 1, 0, 0},  // h0..3:  3 0 4 2
                          {0, 0, 0, 0},  {0, 0, 0, 0}, {1, 0, 0, 0}, {0, 0, 0, 0},  // h4..7:  0 0 1 0
                          {1, 1, 1, 0},  {-4, 2, 0, 0}, {1, 0, 0, 0}, {-4, 0, 0, 0},  // h8..11: 3 -2 1 -4
                          {0, 0, 0, 0},  {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}};
    for (const auto& row : qv)
      for (int v : row) q.push_back(fp8_encode(float(v), Fp8Encoding::e4m3fn));
    k.assign(D, fp8_encode(1.0f, Fp8Encoding::e4m3fn));
    w.assign(H, 1.0f);
    w[0] = 1.0f + std::ldexp(1.0f, -23);
    w[8] = -1.0f;
    w[2] = 0.5f;
    w[10] = 0.25f;
    w[6] = std::ldexp(1.0f, -30);
  }
  RaggedLogitsProblem problem(Profile profile) const {
    RaggedLogitsProblem p;
    p.q = q.data();
    p.M = 1;
    p.heads = H;
    p.head_dim = D;
    p.k = k.data();
    p.kscale = kscale.data();
    p.N = 1;
    p.weights = w.data();
    p.ks = ks.data();
    p.ke = ke.data();
    p.profile = profile;
    return p;
  }
};

uint32_t logit_bits(const RaggedLogitsProblem& p, bool naive) {
  float out = 0;
  (naive ? ragged_mqa_logits_naive : ragged_mqa_logits)(p, &out, 1);
  return f32_bits(out);
}

}  // namespace

// deepgemm_sm90, head h = 8c + 2u + p; H = 16 gives groups c = 0, 1, and group 1 is the one
// rounded alone (P = RN(relu(a_{8+j}) * w_{8+j}), then P = fma(relu(a_j), w_j, P)):
//   P[0] = fma(relu(a0)=3, w0=1+2^-23, RN(3 * -1) = -3) = 3*2^-23 exactly (fma: no rounding of 3*w0)
//   P[1] = fma(0, 1, RN(0 * 1)) = 0             (a9 = -2 -> 0)
//   P[2] = fma(4, 0.5, RN(1 * 0.25)) = 2.25     P[3] = fma(2, 1, RN(0 * 1)) = 2  (a11 = -4 -> 0)
//   P[4] = P[5] = 0; P[6] = fma(1, 2^-30, RN(0 * 1)) = 2^-30; P[7] = 0
//   V0 = RN(RN(3*2^-23 + 0) * 3) = 9*2^-23;  V1 = RN(RN(2.25 + 2) * 3) = 12.75
//   V2 = 0;  V3 = RN(2^-30 * 3) = 3*2^-30
//   RN(V0 + V1) = RN(12.75 + 1.125 ulp) = 12.75 + 1 ulp   (ulp(12.75) = 2^-20)
//   logit = RN((12.75 + 2^-20) + RN(0 + 3*2^-30)) = 12.75 + 2^-20   -> bits 0x414C0001
// The order matters: group 0 rounded alone would give P[0] = fma(3, -1, RN(3 * (1+2^-23))) =
// 2^-21 and the logit 0x414C0002 (TheFirstFmaTakesGroupZero checks that).
// exact profile, same inputs:
//   t0 = RN(3 * (1+2^-23)) = RN(3 + 1.5 ulp) = 3 + 2 ulp = 3 + 2^-21 (tie to even), t8 = -3
//   step 8: t0 = 2^-21, t2 = 2.25, t3 = 2, t6 = 2^-30, others 0
//   step 4: t0 = 2^-21, t2 = RN(2.25 + 2^-30) = 2.25, t3 = 2
//   step 2: t0 = 2.25 + 2^-21 (exact), t1 = 2
//   step 1: t0 = 4.25 + 2^-21 (exact: ulp(4.25) = 2^-21)
//   logit = RN(3 * (4.25 + 2^-21)) = RN(12.75 + 1.5 ulp) = 12.75 + 2 ulp (tie to even) -> 0x414C0002
TEST(DeepgemmProfile, HandWorkedExampleWithFmaAndPerQuadScaling) {
  const HandExample ex;
  EXPECT_EQ(logit_bits(ex.problem(Profile::deepgemm_sm90), false), 0x414C0001u);
  EXPECT_EQ(logit_bits(ex.problem(Profile::deepgemm_sm90), true), 0x414C0001u);
  EXPECT_EQ(logit_bits(ex.problem(Profile::exact), false), 0x414C0002u);
  EXPECT_EQ(logit_bits(ex.problem(Profile::exact), true), 0x414C0002u);
  EXPECT_EQ(f32_from_bits(0x414C0001u), 12.75f + std::ldexp(1.0f, -20));
}

// With heads 0 and 8 swapped, group 1 holds (3, 1+2^-23) and group 0 (3, -1): the first fma then
// rounds 3*(1+2^-23) alone, so the logit is 0x414C0002. A profile that rounded group 0 alone
// (the order numerics.md gave before DeepGEMM was measured) would give 0x414C0001 on both.
TEST(DeepgemmProfile, TheFirstFmaTakesGroupZero) {
  HandExample ex;
  for (int32_t d = 0; d < 4; ++d) std::swap(ex.q[size_t(d)], ex.q[size_t(8 * 4 + d)]);
  std::swap(ex.w[0], ex.w[8]);
  EXPECT_EQ(logit_bits(ex.problem(Profile::deepgemm_sm90), false), 0x414C0002u);
  EXPECT_EQ(logit_bits(ex.problem(Profile::deepgemm_sm90), true), 0x414C0002u);
  EXPECT_EQ(logit_bits(ex.problem(Profile::exact), false), 0x414C0002u);
}

TEST(DeepgemmProfile, SameOnPagedAndRaggedFromOneCache) {
  // The hand example stored in a one-page cache: the paged op must give the same bits.
  const HandExample ex;
  KCache cache(PagedCacheLayout{{PageLayoutKind::standard, 1, 4, 4}, 20, 1}, 0);
  for (int32_t d = 0; d < 4; ++d) cache.set_value_code(0, 0, d, ex.k[size_t(d)]);
  cache.set_scale(0, 0, 0, 3.0f);
  const int32_t table[1] = {0}, lens[1] = {1};
  PagedLogitsProblem p;
  p.cache = cache.layout;
  p.cache_bytes = cache.bytes.data();
  p.q = ex.q.data();
  p.batch = 1;
  p.heads = 16;
  p.weights = ex.w.data();
  p.context_lens = lens;
  p.table = {table, 1, 1, 1};
  p.max_context_len = 1;
  for (auto [profile, bits] : {std::pair{Profile::deepgemm_sm90, 0x414C0001u}, std::pair{Profile::exact, 0x414C0002u}}) {
    p.profile = profile;
    float out = 0;
    paged_mqa_logits(p, &out, 1);
    EXPECT_EQ(f32_bits(out), bits);
  }
}

TEST(DeepgemmProfile, RandomExactnessFriendlyInputsFastEqualsNaive) {
  // Integer codes in [-4, 4] (the inputs on which DeepGEMM's tensor cores are exact).
  for (int i = 0; i < 6; ++i) {
    RaggedCase c = make_ragged_case(5, 70, 8 << (i % 4), 128, Fp8Encoding::e4m3fn, 900 + uint64_t(i));
    const CounterRng rng{uint64_t(i)};
    for (size_t j = 0; j < c.q.size(); ++j) c.q[j] = fp8_encode(float(int(rng.below(sQ, j, 9)) - 4), c.encoding);
    for (size_t j = 0; j < c.k.size(); ++j) c.k[j] = fp8_encode(float(int(rng.below(sK, j, 9)) - 4), c.encoding);
    c.profile = Profile::deepgemm_sm90;
    std::vector<float> fast = c.sentinel_output(), naive = c.sentinel_output();
    ragged_mqa_logits(c.problem(), fast.data(), c.row_stride);
    ragged_mqa_logits_naive(c.problem(), naive.data(), c.row_stride);
    ASSERT_EQ(first_bit_difference(fast, naive), -1) << "case " << i;
  }
}

namespace {
const uint32_t kNaNBits = kCanonicalNanBits;
}

TEST(LogitsNaNPolicy, NaNCodeInQOrKGivesCanonicalNaNInExactAndZeroHeadInDeepgemm) {
  for (Fp8Encoding e : {Fp8Encoding::e4m3fn, Fp8Encoding::e4m3fnuz})
    for (bool naive : {false, true}) {
      HandExample ex;
      const uint8_t nan_code = e == Fp8Encoding::e4m3fn ? 0xFF : 0x80;  // e4m3fn: also -NaN
      for (uint8_t& c : ex.q) c = fp8_encode(fp8_decode(c, Fp8Encoding::e4m3fn), e);
      for (uint8_t& c : ex.k) c = fp8_encode(1.0f, e);
      // Head 4 (a4 = 0, weight 1) gets a NaN code: exact -> NaN logit; deepgemm: fmaxf -> 0.
      ex.q[4 * 4 + 2] = nan_code;
      RaggedLogitsProblem p = ex.problem(Profile::exact);
      p.encoding = e;
      EXPECT_EQ(logit_bits(p, naive), kNaNBits);
      p.profile = Profile::deepgemm_sm90;
      EXPECT_EQ(logit_bits(p, naive), 0x414C0001u);
      // A NaN code in k makes every head NaN: exact NaN, deepgemm all heads 0 -> +0.
      ex.q[4 * 4 + 2] = fp8_encode(0.0f, e);
      ex.k[3] = nan_code;
      p = ex.problem(Profile::exact);
      p.encoding = e;
      EXPECT_EQ(logit_bits(p, naive), kNaNBits);
      p.profile = Profile::deepgemm_sm90;
      EXPECT_EQ(logit_bits(p, naive), 0u);
    }
}

TEST(LogitsNaNPolicy, WeightsNaNInfAndSignedZeros) {
  const float inf = std::numeric_limits<float>::infinity();
  for (bool naive : {false, true}) {
    HandExample ex;
    ex.w[5] = std::numeric_limits<float>::quiet_NaN();  // IEEE: NaN * 0 = NaN
    EXPECT_EQ(logit_bits(ex.problem(Profile::exact), naive), kNaNBits);
    ex.w[5] = inf;  // relu(a5) = +0, 0 * inf = NaN
    EXPECT_EQ(logit_bits(ex.problem(Profile::exact), naive), kNaNBits);
    ex.w[5] = 1.0f;
    ex.w[2] = inf;  // a2 = 4 > 0: +inf propagates
    EXPECT_EQ(logit_bits(ex.problem(Profile::exact), naive), f32_bits(inf));
    ex.w[0] = -inf;  // a0 = 3: -inf + inf = NaN
    EXPECT_EQ(logit_bits(ex.problem(Profile::exact), naive), kNaNBits);
    // All weights -0: every t_h = RN(relu(a) * -0) = -0 (relu(-x) is +0), the tree keeps -0,
    // -0 * kscale(3) = -0.
    HandExample z;
    z.w.assign(16, -0.0f);
    EXPECT_EQ(logit_bits(z.problem(Profile::exact), naive), 0x80000000u);
    // One +0 weight among -0 weights: -0 + +0 = +0 in the tree.
    z.w[7] = 0.0f;
    EXPECT_EQ(logit_bits(z.problem(Profile::exact), naive), 0u);
    // Weights of 0 drop a head (finite a): only heads 2 and 3 remain: 4*0.5 + 2*1 = 4, times 3.
    HandExample w0;
    for (int h : {0, 6, 8, 10}) w0.w[size_t(h)] = 0.0f;
    EXPECT_EQ(logit_bits(w0.problem(Profile::exact), naive), f32_bits(12.0f));
  }
}
