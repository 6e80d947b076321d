// The element rules of each comparison mode on hand-made values, and the mode strings.
#include <gtest/gtest.h>

#include <cfloat>
#include <limits>

#include "mqa/validate.hpp"
#include "test_compare_util.hpp"

using namespace mqa;
using namespace mqa::test_compare;

namespace {
constexpr uint32_t kPosZero = 0x00000000u, kNegZero = 0x80000000u;
constexpr uint32_t kDenormMin = 0x00000001u, kNegDenormMin = 0x80000001u;
constexpr uint32_t kPosInf = 0x7F800000u, kNegInf = 0xFF800000u;
constexpr uint32_t kQuietNan = 0x7FC00000u, kNegNanPayload = 0xFFC00123u, kSignalingNan = 0x7F800001u;
constexpr uint32_t kOne = 0x3F800000u, kFltMax = 0x7F7FFFFFu;
}  // namespace

TEST(CompareBitwise, EqualBitsPassAndOneFlippedBitFailsAtItsIndex) {
  std::vector<float> e{1.0f, -2.5f, 3.0e-30f, 7.0f}, a = e;
  EXPECT_TRUE(compare_lists(e, a, "bitwise").pass);
  a[2] = bits(f32_bits(a[2]) ^ 1u);
  const CompareReport r = compare_lists(e, a, "bitwise");
  EXPECT_FALSE(r.pass);
  ASSERT_EQ(r.mismatched, 1);
  ASSERT_EQ(r.first.size(), 1u);
  EXPECT_EQ(r.first[0].col, 2);
  EXPECT_EQ(r.first[0].check, Check::value);
  EXPECT_EQ(r.first[0].ulp, 1u);
  EXPECT_EQ(r.first[0].expected_bits, f32_bits(e[2]));
  EXPECT_EQ(r.first[0].actual_bits, f32_bits(a[2]));
}

TEST(CompareBitwise, SignedZerosDifferUnlessTheModeAllowsIt) {
  for (const char* mode : {"bitwise", "ulp:4"}) {
    CompareOptions op;
    const std::vector<double> bound{1.0};
    op.bound = bound;
    const CompareReport r = compare_lists({bits(kPosZero)}, {bits(kNegZero)}, mode, op);
    EXPECT_FALSE(r.pass) << mode;
    EXPECT_EQ(r.mismatched_by[size_t(Check::zero_sign)], 1) << mode;
    const CompareReport ok = compare_lists({bits(kNegZero)}, {bits(kPosZero)}, std::string(mode) + ",zero_sign_equal", op);
    EXPECT_TRUE(ok.pass) << mode;
  }
  // Tolerance modes always treat +0 == -0 (a kernel summing in another order may give either).
  for (const char* mode : {"tolerance", "tolerance:fp32", "tolerance:fp8_mma"}) {
    CompareOptions op;
    const std::vector<double> bound{0.0};
    op.bound = bound;
    EXPECT_TRUE(compare_lists({bits(kPosZero)}, {bits(kNegZero)}, mode, op).pass) << mode;
    EXPECT_TRUE(CompareMode::parse(mode).zero_sign_equal) << mode;
  }
  // zero_sign_equal only concerns zeros: a denormal is still not a zero.
  EXPECT_FALSE(compare_one(bits(kPosZero), bits(kDenormMin), "bitwise,zero_sign_equal").pass);
  EXPECT_FALSE(compare_one(bits(kNegZero), bits(kNegDenormMin), "bitwise,zero_sign_equal").pass);
}

TEST(CompareBitwise, NanMustBeNanAtTheSamePositionsPayloadsAreIgnored) {
  // Different payloads, signs and quiet/signalling NaNs all count as "NaN".
  EXPECT_TRUE(compare_lists({bits(kQuietNan), bits(kNegNanPayload)}, {bits(kSignalingNan), bits(kQuietNan)}, "bitwise").pass);
  const CompareReport r = compare_lists({bits(kQuietNan), 1.0f, 2.0f}, {1.0f, bits(kQuietNan), 2.0f}, "ulp:1000");
  EXPECT_FALSE(r.pass);
  EXPECT_EQ(r.mismatched_by[size_t(Check::nan)], 2);
  EXPECT_EQ(r.expected_special.nan, 1);
  EXPECT_EQ(r.actual_special.nan, 1);
  EXPECT_EQ(r.first[0].col, 0);
  EXPECT_EQ(r.first[1].col, 1);
  // NaN vs an infinity is a NaN-position failure too.
  EXPECT_EQ(compare_one(bits(kPosInf), bits(kQuietNan), "bitwise").mismatched_by[size_t(Check::nan)], 1);
}

TEST(CompareBitwise, InfinitiesMatchExactlyInEveryMode) {
  EXPECT_TRUE(compare_one(bits(kNegInf), bits(kNegInf), "bitwise").pass);
  EXPECT_FALSE(compare_one(bits(kNegInf), bits(kPosInf), "ulp:4294967295").pass);
  // -inf and -FLT_MAX are 1 ulp apart on the integer line, but an infinity is never "close".
  EXPECT_EQ(ulp_distance(kNegInf, kFltMax | 0x80000000u), 1u);
  EXPECT_FALSE(compare_one(bits(kNegInf), -FLT_MAX, "ulp:4").pass);
  EXPECT_FALSE(compare_one(-FLT_MAX, bits(kNegInf), "ulp:4").pass);
  CompareOptions op;
  const std::vector<double> huge{std::numeric_limits<double>::max()};
  op.bound = huge;
  EXPECT_FALSE(compare_lists({bits(kNegInf)}, {-FLT_MAX}, "tolerance", op).pass);
  const CompareReport r = compare_lists({bits(kNegInf), bits(kPosInf)}, {bits(kNegInf), bits(kPosInf)}, "bitwise");
  EXPECT_EQ(r.expected_special.neg_inf, 1);
  EXPECT_EQ(r.actual_special.pos_inf, 1);
}

TEST(CompareUlp, DistanceOverTheOrderedIntegerLine) {
  EXPECT_EQ(ulp_distance(kPosZero, kNegZero), 0u);
  EXPECT_EQ(ulp_distance(kDenormMin, kNegDenormMin), 2u);  // across zero
  EXPECT_EQ(ulp_distance(kPosZero, kNegDenormMin), 1u);
  EXPECT_EQ(ulp_distance(kNegZero, kDenormMin), 1u);
  EXPECT_EQ(ulp_distance(kOne, f32_bits(std::nextafter(1.0f, 2.0f))), 1u);
  EXPECT_EQ(ulp_distance(kOne, 0x40000000u), 1u << 23);  // one binade
  EXPECT_EQ(ulp_distance(f32_bits(-1.0f), kOne), 2u * kOne);
  EXPECT_EQ(ulp_distance(kFltMax, kFltMax - 1), 1u);  // large magnitude
  EXPECT_EQ(ulp_distance(f32_bits(0x1p100f), f32_bits(std::nextafter(0x1p100f, 0.0f))), 1u);
  EXPECT_EQ(ulp_distance(kNegInf, kPosInf), 2ull * 0x7F800000u);  // the largest distance, < 2^32
  EXPECT_EQ(ulp_distance(kQuietNan, kOne), 0u);
}

TEST(CompareUlp, ModeAllowsExactlyNUlps) {
  const float x = 0x1p100f, up1 = std::nextafter(x, INFINITY), up2 = std::nextafter(up1, INFINITY);
  EXPECT_TRUE(compare_one(x, up1, "ulp:1").pass);
  EXPECT_FALSE(compare_one(x, up2, "ulp:1").pass);
  EXPECT_TRUE(compare_one(x, up2, "ulp:2").pass);
  EXPECT_FALSE(compare_one(x, up1, "ulp:0").pass);
  // Across zero: +denorm_min vs -denorm_min is 2 ulps.
  EXPECT_FALSE(compare_one(bits(kDenormMin), bits(kNegDenormMin), "ulp:1").pass);
  EXPECT_TRUE(compare_one(bits(kDenormMin), bits(kNegDenormMin), "ulp:2").pass);
  const CompareReport r = compare_lists({1.0f, 1.0f, 1.0f, 1.0f}, {1.0f, std::nextafter(1.0f, 2.0f), 1.0000005f, 1.5f}, "ulp:1");
  EXPECT_EQ(r.mismatched, 2);
  EXPECT_EQ(r.ulp_histogram[0], 1);  // 0 ulp
  EXPECT_EQ(r.ulp_histogram[1], 1);  // 1 ulp
  EXPECT_EQ(r.ulp_histogram[3], 1);  // 1.0000005f is 4 ulps from 1: bucket 4-7
  EXPECT_EQ(r.ulp_histogram[23], 1); // 1.5 is 2^22 ulps: bucket [2^22, 2^23)
  ASSERT_TRUE(r.worst_ulp);
  EXPECT_EQ(r.worst_ulp->col, 3);
}

TEST(CompareTolerance, BoundFromAbsTermsIsNTimesUnitRoundoffTimesSum) {
  const std::vector<double> b = tolerance_bounds(std::vector<double>{1.0, 8.0}, 4);
  EXPECT_EQ(b[0], 0x1p-22);
  EXPECT_EQ(b[1], 0x1p-19);
  EXPECT_THROW(tolerance_bounds(std::vector<double>{1.0}, 0), InvalidInput);
  EXPECT_THROW(tolerance_bounds(std::vector<double>{-1.0}, 4), InvalidInput);

  // |x - exact| <= 4 * 2^-24 * 1 = 2^-22: 1 + 2^-22 passes, 1 + 2^-22 + 2^-23 fails.
  const std::vector<double> terms{1.0, 1.0};
  CompareOptions op;
  op.abs_terms = terms;
  op.reduction_length = 4;
  const CompareReport r = compare_lists({1.0f, 1.0f}, {1.0f + 0x1p-22f, 1.0f + 0x1p-22f + 0x1p-23f}, "tolerance", op);
  EXPECT_FALSE(r.pass);
  ASSERT_EQ(r.mismatched, 1);
  EXPECT_EQ(r.first[0].col, 1);
  EXPECT_EQ(r.first[0].bound, 0x1p-22);
  EXPECT_DOUBLE_EQ(r.first[0].ratio, 1.5);
  ASSERT_TRUE(r.worst_ratio);
  EXPECT_DOUBLE_EQ(r.worst_ratio->ratio, 1.5);
}

TEST(CompareTolerance, NeverPassesOnAFractionOfElements) {
  std::vector<float> e(1000, 1.0f), a = e;
  a[999] = 1.25f;
  const std::vector<double> bound(1000, 1e-6);
  CompareOptions op;
  op.bound = bound;
  const CompareReport r = compare_lists(e, a, "tolerance", op);
  EXPECT_FALSE(r.pass);
  EXPECT_EQ(r.mismatched, 1);
  // No bound at all is a usage error, not a pass.
  EXPECT_THROW(compare_lists(e, a, "tolerance"), InvalidInput);
}

TEST(CompareCalcDiff, GlobalFigureAndOptionalLimit) {
  EXPECT_EQ(calc_diff(std::vector<float>{1, 2, 3}, std::vector<float>{1, 2, 3}), 0.0);
  EXPECT_DOUBLE_EQ(calc_diff(std::vector<float>{1, 0}, std::vector<float>{0, 1}), 1.0);
  EXPECT_DOUBLE_EQ(calc_diff(std::vector<float>{1, 1}, std::vector<float>{-1, -1}), 2.0);
  EXPECT_EQ(calc_diff(std::vector<float>{0, 0}, std::vector<float>{0, 0}), 0.0);
  // The report's figure is the same formula over the compared elements, equal ones included.
  const std::vector<float> e{1.0f, 2.0f, 3.0f, -4.0f}, a{1.0f, 2.5f, 3.0f, -4.0f};
  EXPECT_EQ(compare_lists(e, e, "bitwise").calc_diff, 0.0);
  EXPECT_DOUBLE_EQ(compare_lists(e, a, "ulp:9999999").calc_diff, calc_diff(e, a));
  EXPECT_GT(calc_diff(e, a), 0.0);
  // Within every per-element bound but globally dissimilar: the calc_diff limit fails it.
  const std::vector<double> bound(2, 10.0);
  CompareOptions op;
  op.bound = bound;
  const CompareReport loose = compare_lists({1.0f, 2.0f}, {1.5f, 1.0f}, "tolerance", op);
  EXPECT_TRUE(loose.pass);
  const CompareReport strict = compare_lists({1.0f, 2.0f}, {1.5f, 1.0f}, "tolerance,calc_diff:5e-6", op);
  EXPECT_FALSE(strict.pass);
  EXPECT_EQ(strict.mismatched, 0);
  EXPECT_DOUBLE_EQ(strict.calc_diff, calc_diff(std::vector<float>{1, 2}, std::vector<float>{1.5f, 1.0f}));
}

TEST(CompareMode, StringsRoundTripAndBadOnesAreRejected) {
  for (const char* s : {"bitwise", "ulp:4", "tolerance", "bitwise,zero_sign_equal,future,clean",
                        "bitwise,clean,sentinel:0x7FA01234,writes:defined", "tolerance,calc_diff:5.0000000000000004e-06",
                        "ulp:4294967295,future,sentinel:0x00000000", "tolerance:fp8_mma", "tolerance:fp8_mma,bf16_out",
                        "tolerance,future,calc_diff:0.5,bf16_out"}) {
    const CompareMode m = CompareMode::parse(s);
    EXPECT_EQ(m.to_string(), s);
    EXPECT_EQ(CompareMode::parse(m.to_string()), m);
  }
  const CompareMode m = CompareMode::parse("ulp:3,sentinel:0xffc0dead,clean,writes:defined");
  EXPECT_EQ(m.kind, CompareKind::ulp);
  EXPECT_EQ(m.max_ulp, 3u);
  EXPECT_EQ(*m.sentinel, 0xFFC0DEADu);
  EXPECT_EQ(m.to_string(), "ulp:3,clean,sentinel:0xFFC0DEAD,writes:defined");
  EXPECT_EQ(CompareMode::parse("tolerance:fp32").to_string(), "tolerance");
  EXPECT_EQ(CompareMode::parse("tolerance:fp8_mma,zero_sign_equal").to_string(), "tolerance:fp8_mma");
  EXPECT_EQ(CompareMode::parse("tolerance:fp8_mma").model, ToleranceModel::fp8_mma);
  for (const char* bad : {"", "exact", "ulp", "ulp:", "ulp:-1", "ulp:4294967296", "ulp:1x", "bitwise,", "bitwise,clean,clean",
                          "bitwise,sentinel:123", "bitwise,writes:defined", "tolerance,calc_diff:-1", "bitwise,frobnicate",
                          "tolerance:", "tolerance:fp16", "bitwise,bf16_out", "tolerance,bf16_out,bf16_out"}) {
    try {
      CompareMode::parse(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const InvalidInput& e) {
      EXPECT_EQ(e.field(), "compare_mode") << bad;
    }
  }
}
