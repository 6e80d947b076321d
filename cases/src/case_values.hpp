// Value distributions of a case (private to the case library). Every value is a pure function
// of (seed, stream, element index) through CounterRng, so any shard or device regenerates it.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "mqa/case.hpp"
#include "mqa/philox.hpp"

namespace mqa::casegen {

// RNG streams: one per tensor or purpose. Never reuse a number for another purpose.
enum Stream : uint64_t {
  kStreamTable = 1,
  kStreamStale = 2,
  kStreamPadSlots = 3,
  kStreamKSource = 4,
  kStreamKToken = 5,
  kStreamQ = 6,
  kStreamQRow = 7,
  kStreamWeights = 8,
  kStreamRanges = 9,
  kStreamFriendlyCode = 10,
  kStreamFriendlyScale = 11,
  kStreamAmax = 12,
  kStreamNanCodes = 13,
  kStreamOddScales = 14,
  kStreamOddWeights = 15,
};

// 2^e as a float for -126 <= e <= 127, built from bits (no libm).
inline float pow2(int e) { return f32_from_bits(uint32_t(e + 127) << 23); }

// About N(0, 1): Irwin-Hall sum of four 24-bit uniforms, centred and scaled, in double then
// rounded once to float. Only IEEE + - * are used: identical on every platform.
float randn_like(const CounterRng& rng, uint64_t stream, uint64_t index);

// K source [T, D] as fp32 values representable in d.ksrc (randn / adversarial values, then the
// planted amax of d.amax).
void fill_k_source(const CaseDescriptor& d, int64_t T, std::vector<float>& k);

// ---- special values (case_specials.cpp) ---------------------------------------------------
// x rounded (RN) to the source dtype; exact for fp32.
float source_round(float x, KSource ks);
// The neighbour of a positive source value `x` `steps` ulps (of the source dtype) away.
float source_step(float x, KSource ks, int steps);
// Where the amax of block `key` of d's K source is planted (d.amax != free): at / below / above.
AmaxEdge planted_edge(const CaseDescriptor& d, uint64_t key);
// The amax planted in block `key`: scale_divisor(quant, enc) * 2^e (e in [-10, 4]), stepped
// one source ulp as planted_edge says. Every other value of the block ends below half of it.
float planted_amax(const CaseDescriptor& d, uint64_t key);
void plant_amax(const CaseDescriptor& d, uint64_t key, float* block, int64_t n);
// NaN codes in q (d.nan_codes): one code of some rows.
void plant_nan_q(const CaseDescriptor& d, int64_t rows, std::vector<uint8_t>& q);
// Odd weights (d.odd_weights): one head of some rows.
void plant_odd_weights(const CaseDescriptor& d, int64_t rows, std::vector<float>& w);
// NaN codes and odd scales of the written tokens of `cache` (compact slots; every slot once).
// `unread[i]` says that no row reads compact slot slots[i]: only there (and in every slot of a
// gather case) may a scale be NaN or infinite.
void plant_cache_specials(const CaseDescriptor& d, std::span<const int64_t> slots, const std::vector<char>& unread,
                          KCacheRef cache);

// Friendly cache content of token i: codes of integers in [-4, 4], scales 2^-4 .. 2^0.
void friendly_token(const CaseDescriptor& d, int64_t token, uint8_t* codes, float* scales);

// q codes [rows, H, D] and weights [rows, H].
void fill_q(const CaseDescriptor& d, int64_t rows, std::vector<uint8_t>& q);
void fill_weights(const CaseDescriptor& d, int64_t rows, std::vector<float>& w);

}  // namespace mqa::casegen
