// Special values of a case: the K source's dtype and planted amax values, NaN fp8 codes, odd
// weights and odd k scales. Each is placed only where docs/numerics.md defines the result (the
// materialiser rejects the other combinations, naming the key), and each is a pure function of
// (seed, stream, index) like every other value of a case.
#include <iterator>

#include "case_values.hpp"

namespace mqa::casegen {

namespace {

uint8_t nan_code(Fp8Encoding enc, bool negative) {
  if (enc == Fp8Encoding::e4m3fnuz) return 0x80;  // fnuz has one NaN
  return negative ? 0xFF : 0x7F;
}

// Weights that break careless epilogues: non-finite, signed zeros, a subnormal, overflow.
constexpr uint32_t kOddWeightBits[] = {
    0x7F800000u,  // +inf
    0xFF800000u,  // -inf
    0x7FC00001u,  // NaN with a payload
    0x80000000u,  // -0
    0x00000000u,  // +0
    0x00000123u,  // subnormal
    0x7E61B9C2u,  // 7.5e37: products with |a| > 4.5 overflow
    0xFE61B9C2u,  // -7.5e37
};

// k scales: the finite ones are defined wherever a row reads the token (numerics.md: negative
// and zero scales are accepted); the last four only where no row reads it, or for gather.
constexpr uint32_t kOddScaleBits[] = {
    0x00000000u,  // 0
    0x80000000u,  // -0
    0xBE800000u,  // -0.25
    0x00000001u,  // smallest subnormal
    0x00800000u,  // smallest normal
    0x7149F2CAu,  // 1e30: logits overflow to inf
    0x7FC00001u,  // quiet NaN with a payload
    0x7F800001u,  // signalling NaN (an fp32 copy through arithmetic quietens it)
    0x7F800000u,  // +inf
    0xFF800000u,  // -inf
};
constexpr uint32_t kFiniteOddScales = 6;

}  // namespace

float source_round(float x, KSource ks) {
  switch (ks) {
    case KSource::bf16: return bf16_decode(bf16_encode(x));
    case KSource::fp16: return fp16_decode(fp16_encode(x));
    case KSource::fp32: return x;
  }
  return x;
}

float source_step(float x, KSource ks, int steps) {
  switch (ks) {
    case KSource::bf16: return bf16_decode(uint16_t(bf16_encode(x) + steps));
    case KSource::fp16: return fp16_decode(uint16_t(fp16_encode(x) + steps));
    case KSource::fp32: return f32_from_bits(uint32_t(int64_t(f32_bits(x)) + steps));
  }
  return x;
}

AmaxEdge planted_edge(const CaseDescriptor& d, uint64_t key) {
  if (d.amax != AmaxEdge::mix) return d.amax;
  return AmaxEdge(1 + CounterRng{d.seed}.below(kStreamAmax, key * 4, 3));
}

float planted_amax(const CaseDescriptor& d, uint64_t key) {
  const CounterRng rng{d.seed};
  const int e = int(rng.below(kStreamAmax, key * 4 + 1, 15)) - 10;
  // 448 * 2^e and 240 * 2^e (e in [-10, 4]) are exact in bf16 and fp16 too, and never a power
  // of two, so one step of the bit pattern is one ulp either way
  const float edge = scale_divisor(d.quant, d.encoding) * pow2(e);
  switch (planted_edge(d, key)) {
    case AmaxEdge::below: return source_step(edge, d.ksrc, -1);
    case AmaxEdge::above: return source_step(edge, d.ksrc, 1);
    default: return edge;
  }
}

void plant_amax(const CaseDescriptor& d, uint64_t key, float* block, int64_t n) {
  if (n <= 0) return;
  const CounterRng rng{d.seed};
  const float amax = planted_amax(d, key);
  // quartering is exact in every source dtype: the values it touches stay above 2^-6 (the
  // smallest amax is 240 * 2^-10), far from the fp16 subnormals
  for (int64_t i = 0; i < n; ++i)
    while ((block[i] < 0 ? -block[i] : block[i]) >= amax * 0.5f) block[i] *= 0.25f;
  const int64_t pos = rng.below(kStreamAmax, key * 4 + 2, uint32_t(n));
  block[pos] = (rng.u32(kStreamAmax, key * 4 + 3) >> 31) ? -amax : amax;
}

void plant_nan_q(const CaseDescriptor& d, int64_t rows, std::vector<uint8_t>& q) {
  if (!d.nan_codes) return;
  const CounterRng rng{d.seed};
  const int64_t HD = int64_t(d.heads) * d.head_dim;
  for (int64_t r = 0; r < rows; ++r) {  // one row in 8: a NaN in every logit of the row (exact profile)
    if (rng.below(kStreamNanCodes, uint64_t(r) * 4, 8) != 0) continue;
    const int64_t at = rng.below(kStreamNanCodes, uint64_t(r) * 4 + 1, uint32_t(HD));
    q[size_t(r * HD + at)] = nan_code(d.encoding, rng.below(kStreamNanCodes, uint64_t(r) * 4 + 2, 2) != 0);
  }
}

void plant_odd_weights(const CaseDescriptor& d, int64_t rows, std::vector<float>& w) {
  if (!d.odd_weights) return;
  const CounterRng rng{d.seed};
  const int64_t H = d.heads;
  for (int64_t r = 0; r < rows; ++r) {  // one row in 3 gets one odd weight
    if (rng.below(kStreamOddWeights, uint64_t(r) * 4, 3) != 0) continue;
    const int64_t h = rng.below(kStreamOddWeights, uint64_t(r) * 4 + 1, uint32_t(H));
    w[size_t(r * H + h)] = f32_from_bits(kOddWeightBits[rng.below(kStreamOddWeights, uint64_t(r) * 4 + 2, 8)]);
  }
}

void plant_cache_specials(const CaseDescriptor& d, std::span<const int64_t> slots, const std::vector<char>& unread,
                          KCacheRef cache) {
  const CounterRng rng{d.seed};
  const PagedCacheLayout& l = cache.layout;
  const bool any_scale = d.op == CaseOp::gather;  // gather copies bytes: every scale is defined
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i] < 0) continue;
    const int64_t page = l.slot_page(slots[i]);
    const int32_t t = l.slot_in_page(slots[i]);
    const uint64_t key = uint64_t(i) * 4;
    if (d.nan_codes && rng.below(kStreamNanCodes, (uint64_t(1) << 40) + key, 16) == 0) {  // one token in 16
      const int32_t at = int32_t(rng.below(kStreamNanCodes, (uint64_t(1) << 40) + key + 1, uint32_t(d.head_dim)));
      cache.set_value_code(page, t, at, nan_code(d.encoding, rng.below(kStreamNanCodes, (uint64_t(1) << 40) + key + 2, 2)));
    }
    if (d.odd_scales && rng.below(kStreamOddScales, key, 8) == 0) {  // one token in 8: all its scales
      const uint32_t n = any_scale || unread[i] ? uint32_t(std::size(kOddScaleBits)) : kFiniteOddScales;
      for (int32_t q = 0; q < l.page.scales_per_token(); ++q)
        cache.set_scale(page, t, q, f32_from_bits(kOddScaleBits[rng.below(kStreamOddScales, key + 1 + uint64_t(q) * 4, n)]));
    }
  }
}

}  // namespace mqa::casegen
