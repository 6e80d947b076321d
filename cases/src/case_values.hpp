// Value distributions of a case (private to the case library). Every value is a pure function
// of (seed, stream, element index) through CounterRng, so any shard or device regenerates it.
#pragma once
#include <cstdint>
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
};

// About N(0, 1): Irwin-Hall sum of four 24-bit uniforms, centred and scaled, in double then
// rounded once to float. Only IEEE + - * are used: identical on every platform.
float randn_like(const CounterRng& rng, uint64_t stream, uint64_t index);

// K source [T, D] as bf16-representable fp32 values, for the randn and adversarial dists.
void fill_k_source(const CaseDescriptor& d, int64_t T, std::vector<float>& k);

// Friendly cache content of token i: codes of integers in [-4, 4], scales 2^-4 .. 2^0.
void friendly_token(const CaseDescriptor& d, int64_t token, uint8_t* codes, float* scales);

// q codes [rows, H, D] and weights [rows, H].
void fill_q(const CaseDescriptor& d, int64_t rows, std::vector<uint8_t>& q);
void fill_weights(const CaseDescriptor& d, int64_t rows, std::vector<float>& w);

}  // namespace mqa::casegen
