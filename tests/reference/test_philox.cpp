// Philox4x32-10 known answers (Random123's kat_vectors) and the harness keying.
#include <gtest/gtest.h>

#include "mqa/philox.hpp"

using namespace mqa;

TEST(Philox, KnownAnswerVectors) {
  struct Kat { Philox4x32 ctr; uint32_t k0, k1; Philox4x32 want; };
  const Kat kats[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
      {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}}, 0xffffffff, 0xffffffff,
       {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
      {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}, 0xa4093822, 0x299f31d0,
       {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
  };
  for (const Kat& k : kats) {
    const Philox4x32 got = philox4x32_10(k.ctr, k.k0, k.k1);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(got.v[i], k.want.v[i]) << i;
  }
}

TEST(Philox, CounterRngKeying) {
  constexpr CounterRng rng{0x0123456789abcdefull};
  // Word i of block j is u32(stream, 4j + i); the key is the seed, the counter (index, stream).
  const Philox4x32 b = philox4x32_10(Philox4x32{{5, 0, 7, 0}}, 0x89abcdefu, 0x01234567u);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(rng.u32(7, 20 + i), b.v[i]);
  EXPECT_NE(rng.u32(7, 0), rng.u32(8, 0));
  EXPECT_NE(rng.u32(7, 0), CounterRng{1}.u32(7, 0));
  static_assert(CounterRng{3}.u32(1, 2) == CounterRng{3}.u32(1, 2));
  for (uint64_t i = 0; i < 1000; ++i) {
    EXPECT_LT(rng.below(1, i, 17), 17u);
    const float u = rng.unit(2, i);
    EXPECT_GE(u, 0.0f);
    EXPECT_LT(u, 1.0f);
  }
}
