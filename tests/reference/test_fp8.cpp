// fp8 / bf16 / fp16 codecs: all codes, and fp32 values at and next to every rounding midpoint.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "mqa/fp8.hpp"

using namespace mqa;

namespace {

// Independent decode written from the format definition with ldexp, not with bit assembly.
double decode_by_definition(uint8_t c, Fp8Encoding e) {
  const int bias = e == Fp8Encoding::e4m3fn ? 7 : 8;
  const int s = c >> 7, ex = (c >> 3) & 15, m = c & 7;
  const double mag = ex == 0 ? std::ldexp(m / 8.0, 1 - bias) : std::ldexp(1.0 + m / 8.0, ex - bias);
  return s ? -mag : mag;
}

std::vector<float> finite_values(Fp8Encoding e) {  // every finite fp8 value, ascending
  std::vector<float> v;
  for (int c = 0; c < 256; ++c)
    if (!fp8_is_nan(uint8_t(c), e)) v.push_back(fp8_decode(uint8_t(c), e));
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());  // +0 and -0 compare equal
  return v;
}

const Fp8Encoding kEncodings[] = {Fp8Encoding::e4m3fn, Fp8Encoding::e4m3fnuz};

}  // namespace

TEST(Fp8, DecodeAllCodesMatchesDefinition) {
  for (Fp8Encoding e : kEncodings)
    for (int c = 0; c < 256; ++c) {
      const float got = fp8_decode(uint8_t(c), e);
      if (fp8_is_nan(uint8_t(c), e)) {
        EXPECT_TRUE(std::isnan(got)) << c;
        continue;
      }
      EXPECT_EQ(double(got), decode_by_definition(uint8_t(c), e)) << "code " << c;
    }
}

TEST(Fp8, TraitsAndSpecialCodes) {
  EXPECT_EQ(fp8_decode(0x7E, Fp8Encoding::e4m3fn), 448.0f);
  EXPECT_EQ(fp8_decode(0x7F, Fp8Encoding::e4m3fnuz), 240.0f);
  EXPECT_TRUE(fp8_is_nan(0x7F, Fp8Encoding::e4m3fn));
  EXPECT_TRUE(fp8_is_nan(0xFF, Fp8Encoding::e4m3fn));
  EXPECT_TRUE(fp8_is_nan(0x80, Fp8Encoding::e4m3fnuz));
  EXPECT_FALSE(fp8_is_nan(0xFF, Fp8Encoding::e4m3fnuz));
  EXPECT_EQ(f32_bits(fp8_decode(0x80, Fp8Encoding::e4m3fn)), 0x80000000u);  // -0
  EXPECT_EQ(fp8_decode(0x01, Fp8Encoding::e4m3fn), std::ldexp(1.0f, -9));
  EXPECT_EQ(fp8_decode(0x01, Fp8Encoding::e4m3fnuz), std::ldexp(1.0f, -10));
}

TEST(Fp8, AllCodesRoundTrip) {
  for (Fp8Encoding e : kEncodings)
    for (int c = 0; c < 256; ++c) {
      const uint8_t code = uint8_t(c);
      const uint8_t back = fp8_encode(fp8_decode(code, e), e);
      if (fp8_is_nan(code, e)) {
        EXPECT_TRUE(fp8_is_nan(back, e)) << c;
      } else {
        EXPECT_EQ(back, code) << "encoding " << int(e) << " code " << c;
      }
    }
}

// For every pair of neighbouring finite values: the midpoint ties to the even code, and the
// fp32 neighbours of the midpoint go to the nearer side.
TEST(Fp8, MidpointsTieToEvenAndNeighboursRoundToNearer) {
  for (Fp8Encoding e : kEncodings) {
    const std::vector<float> v = finite_values(e);
    for (size_t i = 0; i + 1 < v.size(); ++i) {
      const float lo = v[i], hi = v[i + 1];
      const float mid = float((double(lo) + double(hi)) / 2);  // exact in fp32
      ASSERT_EQ(double(mid), (double(lo) + double(hi)) / 2);
      const uint8_t clo = fp8_encode(lo, e), chi = fp8_encode(hi, e);
      const uint8_t even = (clo & 1) == 0 ? clo : chi;
      // zero has no parity issue: the code of 0 is even
      // Compared as values: a negative input that rounds to zero gives -0 (0x80) in e4m3fn,
      // which equals the +0 neighbour; the sign of zero is tested in ZerosAndUnderflow.
      auto rt = [e](float x) { return fp8_decode(fp8_encode(x, e), e); };
      EXPECT_EQ(rt(mid), fp8_decode(even, e)) << "mid " << mid;
      EXPECT_EQ(rt(std::nextafter(mid, lo)), lo) << "below mid " << mid;
      EXPECT_EQ(rt(std::nextafter(mid, hi)), hi) << "above mid " << mid;
    }
  }
}

TEST(Fp8, OverflowSaturatesOrBecomesNaN) {
  // e4m3fn: next grid value above 448 would be 480; midpoint 464 ties to 448 (even mantissa).
  const Fp8Encoding fn = Fp8Encoding::e4m3fn, fnuz = Fp8Encoding::e4m3fnuz;
  EXPECT_EQ(fp8_encode(464.0f, fn, Overflow::to_nan), 0x7E);
  EXPECT_EQ(fp8_encode(std::nextafter(464.0f, 1e9f), fn, Overflow::to_nan), 0x7F);
  EXPECT_EQ(fp8_encode(-480.0f, fn, Overflow::to_nan), 0xFF);
  EXPECT_EQ(fp8_encode(1e30f, fn, Overflow::saturate), 0x7E);
  EXPECT_EQ(fp8_encode(-INFINITY, fn, Overflow::saturate), 0xFE);
  EXPECT_EQ(fp8_encode(INFINITY, fn, Overflow::to_nan), 0x7F);
  // e4m3fnuz: 240 is odd (m=7), so the 248 midpoint ties upward, out of range.
  EXPECT_EQ(fp8_encode(std::nextafter(248.0f, 0.0f), fnuz, Overflow::to_nan), 0x7F);
  EXPECT_EQ(fp8_encode(248.0f, fnuz, Overflow::to_nan), 0x80);
  EXPECT_EQ(fp8_encode(248.0f, fnuz, Overflow::saturate), 0x7F);
  EXPECT_EQ(fp8_encode(-1e9f, fnuz, Overflow::saturate), 0xFF);
  EXPECT_EQ(fp8_encode(NAN, fnuz), 0x80);
  EXPECT_EQ(fp8_encode(NAN, fn), 0x7F);
  EXPECT_EQ(fp8_encode(-NAN, fn), 0xFF);
}

TEST(Fp8, ZerosAndUnderflow) {
  const Fp8Encoding fn = Fp8Encoding::e4m3fn, fnuz = Fp8Encoding::e4m3fnuz;
  EXPECT_EQ(fp8_encode(-0.0f, fn), 0x80);
  EXPECT_EQ(fp8_encode(-0.0f, fnuz), 0x00);                 // fnuz has one zero
  EXPECT_EQ(fp8_encode(-std::ldexp(1.0f, -11), fnuz), 0x00);  // rounds to zero: not 0x80 (NaN)
  EXPECT_EQ(fp8_encode(std::ldexp(1.0f, -10), fn), 0x00);   // half the smallest subnormal: tie to 0
  EXPECT_EQ(fp8_encode(std::nextafter(std::ldexp(1.0f, -10), 1.0f), fn), 0x01);
  EXPECT_EQ(fp8_encode(1e-40f, fn), 0x00);                  // fp32 subnormal input
  EXPECT_EQ(fp8_encode(-1e-40f, fn), 0x80);
}

TEST(Bf16, AllCodesRoundTripAndMidpoints) {
  for (uint32_t c = 0; c < 65536; ++c) {
    const float f = bf16_decode(uint16_t(c));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(bf16_decode(bf16_encode(f))));
      continue;
    }
    ASSERT_EQ(bf16_encode(f), c);
    if ((c & 0x7F80u) == 0x7F80u || (c & 0x7FFFu) == 0x7F7Fu) continue;  // inf/nan, or next is inf
    const uint32_t mid = (c << 16) | 0x8000u;  // midpoint to the next code away from zero
    const uint16_t even = (c & 1u) ? uint16_t(c + 1) : uint16_t(c);
    EXPECT_EQ(bf16_encode(f32_from_bits(mid)), even);
    EXPECT_EQ(bf16_encode(f32_from_bits(mid - 1)), uint16_t(c));
    EXPECT_EQ(bf16_encode(f32_from_bits(mid + 1)), uint16_t(c + 1));
  }
}

TEST(Fp16, AllCodesRoundTripAndMidpoints) {
  for (uint32_t c = 0; c < 65536; ++c) {
    const float f = fp16_decode(uint16_t(c));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(fp16_decode(fp16_encode(f))));
      continue;
    }
    ASSERT_EQ(fp16_encode(f), c) << c;
    if ((c & 0x7FFFu) >= 0x7C00u) continue;  // inf
    const float next = fp16_decode(uint16_t(c + 1));  // neighbour away from zero (or inf)
    const double mid = (double(f) + double(next)) / 2;
    if (std::isinf(next)) {  // 65504 .. 65520 is the overflow boundary: the tie goes to inf
      const float edge = std::copysign(65520.0f, f);
      EXPECT_EQ(fp16_encode(edge), 0x7C00u | (c & 0x8000u));
      EXPECT_EQ(fp16_encode(std::nextafter(edge, 0.0f)), 0x7BFFu | (c & 0x8000u));
      continue;
    }
    const float midf = float(mid);
    ASSERT_EQ(double(midf), mid);
    const uint16_t even = (c & 1u) ? uint16_t(c + 1) : uint16_t(c);
    EXPECT_EQ(fp16_encode(midf), even) << c;
    EXPECT_EQ(fp16_encode(std::nextafter(midf, f)), uint16_t(c)) << c;
    EXPECT_EQ(fp16_encode(std::nextafter(midf, next)), uint16_t(c + 1)) << c;
  }
}

TEST(Codecs, UsableInConstantExpressions) {
  static_assert(fp8_encode(1.0f, Fp8Encoding::e4m3fn) == 0x38);
  static_assert(fp8_decode(0x38, Fp8Encoding::e4m3fn) == 1.0f);
  static_assert(fp8_encode(1.0f, Fp8Encoding::e4m3fnuz) == 0x40);
  static_assert(bf16_encode(1.0f) == 0x3F80);
  static_assert(fp16_encode(1.0f) == 0x3C00);
  SUCCEED();
}
