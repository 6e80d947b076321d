// The logits sentinel (mqa/sentinels.h) must come back bit for bit from every path a buffer takes
// between the harness and a kernel: float -> double -> float conversions (numpy's astype, torch's
// .double(), Python floats), copies through float registers, negation and absolute value. Only a
// quiet NaN does; the old signalling one (0x7FBADBAD) came back as 0x7FFADBAD. The Python side of
// the same round trips: tests/python/test_sentinel_roundtrip.py.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "mqa/logits.hpp"
#include "mqa/sentinels.h"

using namespace mqa;

namespace {

// Through a double and back, at run time (volatile: no constant folding).
uint32_t via_double(uint32_t bits) {
  volatile float f = f32_from_bits(bits);
  volatile double d = f;
  volatile float back = float(d);
  return f32_bits(back);
}

// Through float registers as a kernel's copy loop may take it: load, negate twice, store.
uint32_t via_negation(uint32_t bits) {
  volatile float f = f32_from_bits(bits);
  volatile float g = -f;
  volatile float h = -g;
  return f32_bits(h);
}

TEST(Sentinels, LogitsSentinelIsAQuietNanWithAPayloadNoArithmeticProduces) {
  const uint32_t b = kLogitSentinelBits;
  EXPECT_TRUE(std::isnan(f32_from_bits(b)));
  EXPECT_EQ(b & 0x7FC00000u, 0x7FC00000u) << "not a quiet NaN";
  EXPECT_NE(b & 0x003FFFFFu, 0u) << "no payload below the quiet bit";
  // The NaNs hardware and the reference produce: the sentinel must be none of them.
  for (uint32_t produced : {kCanonicalNanBits, 0xFFC00000u, 0x7FFFFFFFu, 0xFFFFFFFFu})
    EXPECT_NE(b, produced);
  EXPECT_EQ(uint32_t(MQA_LOGITS_SENTINEL_BITS), b);  // the C spelling kut.h exposes is the same value
}

TEST(Sentinels, LogitsSentinelSurvivesConversionsAndCopies) {
  EXPECT_EQ(via_double(kLogitSentinelBits), kLogitSentinelBits);
  EXPECT_EQ(via_negation(kLogitSentinelBits), kLogitSentinelBits);
  volatile float f = f32_from_bits(kLogitSentinelBits);
  EXPECT_EQ(f32_bits(std::fabs(f)), kLogitSentinelBits);  // positive sign: |x| keeps it
  float copy;
  const float src = f;
  std::memcpy(&copy, &src, sizeof copy);
  EXPECT_EQ(f32_bits(copy), kLogitSentinelBits);
}

// The check has teeth on this machine: a signalling NaN (the old sentinel) is quietened by the
// very conversion above, so a wrong choice of sentinel fails the round-trip test.
TEST(Sentinels, ASignallingNanDoesNotSurviveTheRoundTrip) {
  constexpr uint32_t kSignalling = 0x7FBADBADu;
  EXPECT_EQ(via_double(kSignalling), 0x7FFADBADu);
}

}  // namespace
