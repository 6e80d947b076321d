// The tolerance models against kernels emulated here, independently of tolerance.cpp: an fp8
// tensor-core dot (alignment to the largest addend, truncation to 13 fraction bits, k = 32 per
// step) with fp32 epilogues in DeepGEMM's and aiter's orders must always pass fp8_mma; the
// same kernels with a planted bug (relu dropped, wrong k scale, wrong weight row) must fail.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "mqa/compare.hpp"
#include "mqa/fp8.hpp"
#include "mqa/logits.hpp"
#include "mqa/tolerance.hpp"
#include "mqa/validate.hpp"
#include "test_logits_util.hpp"

using namespace mqa;
using mqa::test::RaggedCase;

namespace {

// Truncates x toward zero to a multiple of 2^e (exact in double for the magnitudes used here).
double cut_to(double x, int e) { return std::trunc(std::ldexp(x, -e)) * std::ldexp(1.0, e); }

// One Hopper-style fp8 MMA chain over D: 32 products + the accumulator per step, each addend
// cut at 2^(E-13) where 2^E <= max|addend| < 2^(E+1), the sum cut to 14 significant bits.
float mma_dot(const uint8_t* q, const uint8_t* k, int D, Fp8Encoding enc, int fraction_bits) {
  double c = 0;
  for (int d0 = 0; d0 < D; d0 += 32) {
    double m = std::fabs(c);
    for (int d = d0; d < d0 + 32; ++d) m = std::max(m, std::fabs(double(fp8_decode(q[d], enc)) * fp8_decode(k[d], enc)));
    if (m == 0) continue;
    const int E = std::ilogb(m);
    double s = cut_to(c, E - fraction_bits);
    for (int d = d0; d < d0 + 32; ++d) s += cut_to(double(fp8_decode(q[d], enc)) * fp8_decode(k[d], enc), E - fraction_bits);
    c = s == 0 ? 0 : cut_to(s, std::ilogb(s) - fraction_bits);
  }
  return float(c);
}

enum class Bug { none, no_relu, scale_of_next_token, weights_of_row0 };
enum class Order { deepgemm, aiter };

// Randn-like fp8 codes (q ~ N(0, 2), k ~ N(0, 3)), positive scales, weights ~ N(0, 1/8); causal rows.
struct Problem : RaggedCase {
  explicit Problem(uint32_t seed) {
    M = 4, heads = 64, head_dim = 128, N = 48, row_stride = N;
    std::mt19937 g(seed);
    std::normal_distribution<float> n(0.0f, 1.0f);
    for (int i = 0; i < M * heads * head_dim; ++i) q.push_back(fp8_encode(n(g) * 2.0f, Fp8Encoding::e4m3fn));
    for (int i = 0; i < N * head_dim; ++i) k.push_back(fp8_encode(n(g) * 3.0f, Fp8Encoding::e4m3fn));
    for (int i = 0; i < N; ++i) kscale.push_back(std::ldexp(1.0f + std::fabs(n(g)), -6 + int(g() % 4)));
    for (int i = 0; i < M * heads; ++i) w.push_back(n(g) * 0.125f);
    for (int i = 0; i < M; ++i) { ks.push_back(0); ke.push_back(N - M + i + 1); }
  }
  // The emulated kernel's logits (fp32 epilogue, contraction as nvcc / Triton may do it).
  std::vector<float> kernel(Order order, Bug bug, int fraction_bits = 13) const {
    std::vector<float> out(size_t(M * N), 0.0f);
    for (int r = 0; r < M; ++r)
      for (int s = ks[r]; s < ke[r]; ++s) {
        const float sc = kscale[size_t(bug == Bug::scale_of_next_token ? (s + 1) % N : s)];
        const int H = heads, D = head_dim;
        const float* wr = w.data() + (bug == Bug::weights_of_row0 ? 0 : r) * H;
        float sum = 0;
        for (int h = 0; h < H; ++h) {
          const float a = mma_dot(q.data() + (r * H + h) * D, k.data() + s * D, D, Fp8Encoding::e4m3fn, fraction_bits);
          const float x = bug == Bug::no_relu ? a : std::fmax(a, 0.0f);
          if (order == Order::deepgemm) sum = std::fma(x, wr[h], sum);
          else sum += std::fmax(a * sc, bug == Bug::no_relu ? -INFINITY : 0.0f) * wr[h];
        }
        out[size_t(r * N + s)] = order == Order::deepgemm ? sum * sc : sum;
      }
    return out;
  }
};

CompareReport judge(const Problem& pr, const std::vector<float>& actual, const std::string& mode_text) {
  const RaggedLogitsProblem p = pr.problem();
  std::vector<float> expected(size_t(pr.M * pr.N), 0.0f);
  ragged_mqa_logits(p, expected.data(), pr.N);
  const LogitsRegions g = ragged_logits_regions(p, pr.N);
  const CompareMode mode = CompareMode::parse(mode_text);
  const std::vector<double> bound = ragged_logits_bounds(p, g, mode.tolerance(), expected);
  CompareOptions op;
  op.bound = bound;
  return compare_logits(expected, actual, g, mode, {}, op);
}

}  // namespace

TEST(ToleranceFp8Mma, EmulatedTensorCoreKernelsPassInBothEpilogueOrders) {
  double worst = 0;
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    const Problem pr(seed);
    for (Order o : {Order::deepgemm, Order::aiter}) {
      const CompareReport r = judge(pr, pr.kernel(o, Bug::none), "tolerance:fp8_mma");
      EXPECT_TRUE(r.pass) << "seed " << seed << "\n" << r.to_text();
      ASSERT_TRUE(r.worst_ratio.has_value());
      worst = std::max(worst, r.worst_ratio->ratio);
    }
  }
  EXPECT_GT(worst, 0.0);  // the emulation does differ from the exact reference
  std::printf("worst observed/bound of the emulated fp8 MMA kernels: %.4f\n", worst);
}

TEST(ToleranceFp8Mma, PlantedBugsFail) {
  for (Bug bug : {Bug::no_relu, Bug::scale_of_next_token, Bug::weights_of_row0}) {
    bool caught = false;
    for (uint32_t seed = 1; seed <= 3 && !caught; ++seed) {
      const Problem pr(seed);
      caught = !judge(pr, pr.kernel(Order::aiter, bug), "tolerance:fp8_mma").pass;
    }
    EXPECT_TRUE(caught) << int(bug);
  }
  // A much coarser accumulator (6 fraction bits) is outside the model too.
  const Problem pr(7);
  EXPECT_FALSE(judge(pr, pr.kernel(Order::deepgemm, Bug::none, 6), "tolerance:fp8_mma").pass);
}

TEST(ToleranceBf16Out, RoundingTheLogitsToBf16NeedsTheOption) {
  // The exact logits rounded to bf16: outside the fp32 model, inside it with bf16_out, and
  // inside fp8_mma,bf16_out for the emulated tensor-core kernel rounded to bf16.
  const Problem pr(11);
  const RaggedLogitsProblem p = pr.problem();
  std::vector<float> logits(size_t(pr.M * pr.N), 0.0f);
  ragged_mqa_logits(p, logits.data(), pr.N);
  for (float& x : logits) x = bf16_decode(bf16_encode(x));
  EXPECT_FALSE(judge(pr, logits, "tolerance").pass);
  const CompareReport r = judge(pr, logits, "tolerance,bf16_out");
  EXPECT_TRUE(r.pass) << r.to_text();
  std::vector<float> mma = pr.kernel(Order::aiter, Bug::none);
  for (float& x : mma) x = bf16_decode(bf16_encode(x));
  EXPECT_TRUE(judge(pr, mma, "tolerance:fp8_mma,bf16_out").pass);
}

TEST(ToleranceFp32, SubnormalScalesLeaveRoomForUnderflow) {
  // Subnormal k scales (odd_scales draws 2^-149): the logits are subnormal, where one rounding
  // loses up to 2^-150 absolute whatever its relative size. An fp32 kernel summing the heads
  // sequentially, and the logits one ulp (2^-149) off, are within tolerance:fp32; a wrong scale is not.
  Problem pr(5);
  for (size_t i = 0; i < pr.kscale.size(); ++i) pr.kscale[i] = std::ldexp(float(1 + i % 7), -149);
  const RaggedLogitsProblem p = pr.problem();
  std::vector<float> expected(size_t(pr.M * pr.N), 0.0f), sequential = expected;
  ragged_mqa_logits(p, expected.data(), pr.N);
  std::vector<float> ulp_up = expected;
  int moved = 0;
  for (float& x : ulp_up)
    if (std::isfinite(x) && x != 0) { x = std::nextafter(x, INFINITY); ++moved; }
  ASSERT_GT(moved, 0);
  for (int r = 0; r < pr.M; ++r)
    for (int s = pr.ks[size_t(r)]; s < pr.ke[size_t(r)]; ++s) {
      float sum = 0;
      for (int h = 0; h < pr.heads; ++h) {
        double a = 0;
        for (int d = 0; d < pr.head_dim; ++d)
          a += double(fp8_decode(pr.q[size_t((r * pr.heads + h) * pr.head_dim + d)], Fp8Encoding::e4m3fn)) *
               fp8_decode(pr.k[size_t(s * pr.head_dim + d)], Fp8Encoding::e4m3fn);
        sum += std::fmax(float(a), 0.0f) * pr.w[size_t(r * pr.heads + h)];
      }
      sequential[size_t(r * pr.N + s)] = sum * pr.kscale[size_t(s)];
    }
  EXPECT_TRUE(judge(pr, ulp_up, "tolerance").pass) << judge(pr, ulp_up, "tolerance").to_text();
  EXPECT_TRUE(judge(pr, sequential, "tolerance").pass) << judge(pr, sequential, "tolerance").to_text();
  std::vector<float> doubled = expected;
  for (float& x : doubled) x *= 4.0f;
  EXPECT_FALSE(judge(pr, doubled, "tolerance").pass);
}

TEST(ToleranceModel, NamesRoundTrip) {
  EXPECT_EQ(tolerance_model_from_string("fp8_mma"), ToleranceModel::fp8_mma);
  EXPECT_EQ(std::string(to_string(ToleranceModel::fp32_accum)), "fp32");
  EXPECT_THROW(tolerance_model_from_string("tf32"), InvalidInput);
}
