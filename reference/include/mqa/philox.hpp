// Counter-based RNG: Philox4x32-10 (Salmon et al., SC'11). Every random number the harness
// generates is a pure function of (seed, stream, index), so a tensor element can be produced
// on the host or on the device, in any order, in any shard, and come out the same.
#pragma once
#include "mqa/hd.hpp"

namespace mqa {

struct Philox4x32 {
  uint32_t v[4];
};

MQA_HD constexpr Philox4x32 philox4x32_10(Philox4x32 ctr, uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t(M0) * ctr.v[0];
    const uint64_t p1 = uint64_t(M1) * ctr.v[2];
    const uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
    const uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
    ctr = Philox4x32{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
    k0 += W0;
    k1 += W1;
  }
  return ctr;
}

// The harness's keying: key = seed, counter = (index, stream). `stream` names a tensor (or a
// purpose: "table permutation", "lengths"), `index` the element. One call yields 4 words.
struct CounterRng {
  uint64_t seed;
  MQA_HD constexpr Philox4x32 block(uint64_t stream, uint64_t index) const {
    return philox4x32_10(Philox4x32{{uint32_t(index), uint32_t(index >> 32), uint32_t(stream),
                                     uint32_t(stream >> 32)}},
                         uint32_t(seed), uint32_t(seed >> 32));
  }
  // One 32-bit word per (stream, index): word i of block index/4.
  MQA_HD constexpr uint32_t u32(uint64_t stream, uint64_t index) const {
    return block(stream, index >> 2).v[index & 3];
  }
  MQA_HD constexpr uint64_t u64(uint64_t stream, uint64_t index) const {
    const Philox4x32 b = block(stream, index >> 1);
    return (index & 1) ? (uint64_t(b.v[3]) << 32 | b.v[2]) : (uint64_t(b.v[1]) << 32 | b.v[0]);
  }
  // Uniform integer in [0, n) without modulo bias worth caring about (64-bit multiply-shift).
  MQA_HD constexpr uint32_t below(uint64_t stream, uint64_t index, uint32_t n) const {
    return uint32_t((uint64_t(u32(stream, index)) * n) >> 32);
  }
  // Uniform float in [0, 1) with 24 random bits (exact, no rounding).
  MQA_HD constexpr float unit(uint64_t stream, uint64_t index) const {
    return float(u32(stream, index) >> 8) * (1.0f / 16777216.0f);
  }
};

}  // namespace mqa
