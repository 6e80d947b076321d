// The value of every element of a case's inputs, each a pure function of (seed, stream, index):
// the K source of a token, the friendly codes and scales of a token, a q code, a weight, and the
// special values planted over them. MQA_HD, after ThunderKittens' pairing of each device op with
// its host reference: the host's materialize() (cases/src/case_values.cpp, case_specials.cpp)
// and the device generator (device/src/case_gen_device.hip) call these same functions, so a case
// built on the GPU holds the host's bits (tests/device/test_case_gen_device.cpp compares every
// input byte). Arithmetic: fp32 only through rn.hpp's separately rounded operations (the host
// builds with -ffp-contract=off, nvcc with -fmad=false, and rn_* maps to the _rn intrinsics on
// the device), one double multiply in randn_like (the same IEEE operation on both sides).
#pragma once
#include <cstdint>

#include "mqa/fp8.hpp"
#include "mqa/philox.hpp"
#include "mqa/quant.hpp"
#include "mqa/rn.hpp"

namespace mqa {

// exact_dot: the friendly codes (integers in [-4, 4], so every q.k sum is exact on any tensor
// core) with arbitrary fp32 weights and k scales: the inputs that tell epilogue orders apart.
enum class ValueDist : uint8_t { friendly = 0, randn = 1, adversarial = 2, exact_dot = 3 };
// The dtype of the K source that quantise-and-cache reads. kut.h passes fp32 values (bf16 and
// fp16 decode exactly), so the dtype decides which values can occur: only an fp32 source puts
// an amax one fp32 ulp from FMAX*2^e, where log2f-based and exact power-of-two roundings differ.
enum class KSource : uint8_t { bf16 = 0, fp16 = 1, fp32 = 2 };
// Where the amax of every quant block of the K source is planted: free (wherever the values
// fall), exactly at FMAX*2^e, one ulp (of the source dtype) below or above it, or mix (each block
// one of the three, drawn). FMAX is the divisor of the case's quant variant (448 for vllm and
// sglang, the encoding's FMAX for exact and aiter: quant.hpp), so that sc lands at 2^e.
enum class AmaxEdge : uint8_t { free = 0, at = 1, below = 2, above = 3, mix = 4 };

namespace casegen {

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

// The descriptor keys the values depend on: a trivially copyable value a kernel can take
// (CaseDescriptor holds vectors). value_keys(d) (case_values.hpp) fills it on the host.
struct ValueKeys {
  uint64_t seed = 0;
  int32_t head_dim = 0, quant_block = 0, heads = 0;
  Fp8Encoding encoding = Fp8Encoding::e4m3fn;
  QuantVariant quant = QuantVariant::exact;
  bool ue8m0 = false;  // the write's scale rounding (the quantiser reads it, no element function)
  ValueDist dist = ValueDist::randn;
  KSource ksrc = KSource::bf16;
  AmaxEdge amax = AmaxEdge::free;
  bool nan_codes = false, odd_weights = false, odd_scales = false;
};

// 2^e as a float for -126 <= e <= 127, built from bits (no libm).
MQA_HD inline float pow2(int e) { return f32_from_bits(uint32_t(e + 127) << 23); }

// About N(0, 1): Irwin-Hall sum of four 24-bit uniforms, centred and scaled, in double then
// rounded once to float. One IEEE double multiply of an exact integer: identical everywhere.
MQA_HD inline float randn_like(const CounterRng& rng, uint64_t stream, uint64_t index) {
  const Philox4x32 b = rng.block(stream, index);
  const int64_t sum = int64_t(b.v[0] >> 8) + (b.v[1] >> 8) + (b.v[2] >> 8) + (b.v[3] >> 8);
  // mean 2^25, variance 4/12 * 2^48: scale by sqrt(3) / 2^24
  return float(double(sum - (int64_t(1) << 25)) * (1.7320508075688772 / 16777216.0));
}

// x rounded (RN) to the source dtype; exact for fp32.
MQA_HD inline float source_round(float x, KSource ks) {
  switch (ks) {
    case KSource::bf16: return bf16_decode(bf16_encode(x));
    case KSource::fp16: return fp16_decode(fp16_encode(x));
    case KSource::fp32: return x;
  }
  return x;
}

// The neighbour of a positive source value `x` `steps` ulps (of the source dtype) away.
MQA_HD inline float source_step(float x, KSource ks, int steps) {
  switch (ks) {
    case KSource::bf16: return bf16_decode(uint16_t(bf16_encode(x) + steps));
    case KSource::fp16: return fp16_decode(uint16_t(fp16_encode(x) + steps));
    case KSource::fp32: return f32_from_bits(uint32_t(int64_t(f32_bits(x)) + steps));
  }
  return x;
}

MQA_HD inline float abs_of(float x) { return x < 0 ? -x : x; }

// Where the amax of block `key` of the K source is planted (amax != free): at / below / above.
MQA_HD inline AmaxEdge planted_edge(const ValueKeys& v, uint64_t key) {
  if (v.amax != AmaxEdge::mix) return v.amax;
  return AmaxEdge(1 + CounterRng{v.seed}.below(kStreamAmax, key * 4, 3));
}

// The amax planted in block `key`: scale_divisor(quant, enc) * 2^e (e in [-10, 4]), stepped
// one source ulp as planted_edge says. Every other value of the block ends below half of it.
MQA_HD inline float planted_amax(const ValueKeys& v, uint64_t key) {
  const CounterRng rng{v.seed};
  const int e = int(rng.below(kStreamAmax, key * 4 + 1, 15)) - 10;
  // 448 * 2^e and 240 * 2^e (e in [-10, 4]) are exact in bf16 and fp16 too, and never a power
  // of two, so one step of the bit pattern is one ulp either way
  const float edge = rn_mul(scale_divisor(v.quant, v.encoding), pow2(e));
  switch (planted_edge(v, key)) {
    case AmaxEdge::below: return source_step(edge, v.ksrc, -1);
    case AmaxEdge::above: return source_step(edge, v.ksrc, 1);
    default: return edge;
  }
}

MQA_HD inline void plant_amax(const ValueKeys& v, uint64_t key, float* block, int64_t n) {
  if (n <= 0) return;
  const CounterRng rng{v.seed};
  const float amax = planted_amax(v, key);
  // quartering is exact in every source dtype: the values it touches stay above 2^-6 (the
  // smallest amax is 240 * 2^-10), far from the fp16 subnormals
  const float half = rn_mul(amax, 0.5f);
  for (int64_t i = 0; i < n; ++i)
    while (abs_of(block[i]) >= half) block[i] = rn_mul(block[i], 0.25f);
  const int64_t pos = rng.below(kStreamAmax, key * 4 + 2, uint32_t(n));
  block[pos] = (rng.u32(kStreamAmax, key * 4 + 3) >> 31) ? -amax : amax;
}

// One adversarial pattern over quant block `key` (Qb values): an amax at FMAX*2^e, one ulp off
// it, all below the 1e-4 clamp, cancelling pairs, or one huge value over subnormal codes.
MQA_HD inline void adversarial_block(const ValueKeys& v, uint64_t key, float* blk) {
  const CounterRng rng{v.seed};
  const int64_t Qb = v.quant_block;
  const KSource ks = v.ksrc;
  const uint32_t kind = rng.below(kStreamKToken, key * 4 + 1, 6);
  const int64_t pos = rng.below(kStreamKToken, key * 4 + 2, uint32_t(Qb));
  const int e = int(rng.below(kStreamKToken, key * 4 + 3, 15)) - 10;
  const float edge = source_round(rn_mul(fp8_traits(v.encoding).max_value, pow2(e)), ks);  // amax / FMAX = 2^e
  const float sign = (rng.u32(kStreamKToken, key * 4 + 1) >> 31) ? -1.0f : 1.0f;
  const float half = rn_mul(edge, 0.5f);
  for (int64_t i = 0; i < Qb; ++i)  // keep the rest strictly below the planted amax
    if (abs_of(blk[i]) >= half) blk[i] = source_round(rn_mul(blk[i], 0.25f), ks);
  switch (kind) {
    case 0: blk[pos] = rn_mul(sign, edge); break;                       // sc exactly a power of two
    case 1: blk[pos] = rn_mul(sign, source_step(edge, ks, 1)); break;   // 1 ulp above
    case 2: blk[pos] = rn_mul(sign, source_step(edge, ks, -1)); break;  // 1 ulp below
    case 3:                                                             // all below the 1e-4 amax clamp
      for (int64_t i = 0; i < Qb; ++i) blk[i] = source_round(rn_mul(blk[i], pow2(-17)), ks);
      break;
    case 4:  // cancellation: pairs (x, -x)
      for (int64_t i = 0; i + 1 < Qb; i += 2) blk[i + 1] = -blk[i];
      break;
    default:  // one huge value: the others quantise to subnormal codes or zero
      for (int64_t i = 0; i < Qb; ++i) blk[i] = source_round(rn_mul(blk[i], pow2(-12)), ks);
      blk[pos] = rn_mul(sign, edge);
      break;
  }
}

// The K source of token t: D values representable in ksrc (randn scaled per token, then the
// adversarial pattern and the planted amax of each quant block), into row[0, D).
MQA_HD inline void k_source_token(const ValueKeys& v, int64_t t, float* row) {
  const CounterRng rng{v.seed};
  const int64_t D = v.head_dim, Qb = v.quant_block;
  // per-token magnitude 2^-3 .. 2^3: scales vary across tokens
  const float mag = pow2(int(rng.below(kStreamKToken, uint64_t(t) * 4, 7)) - 3);
  for (int64_t i = 0; i < D; ++i)
    row[i] = source_round(rn_mul(randn_like(rng, kStreamKSource, uint64_t(t * D + i)), mag), v.ksrc);
  for (int64_t q0 = 0; q0 < D; q0 += Qb) {
    const uint64_t key = uint64_t(t * D + q0);
    if (v.dist == ValueDist::adversarial) adversarial_block(v, key, row + q0);
    if (v.amax != AmaxEdge::free) plant_amax(v, key, row + q0, Qb);
  }
}

// Friendly cache content of token i: codes of integers in [-4, 4], scales 2^-4 .. 2^0 (exact_dot:
// any fp32 in [2^-8, 2^2)).
MQA_HD inline void friendly_token(const ValueKeys& v, int64_t token, uint8_t* codes, float* scales) {
  const CounterRng rng{v.seed};
  const int64_t D = v.head_dim;
  for (int64_t i = 0; i < D; ++i) {
    const int c = int(rng.below(kStreamFriendlyCode, uint64_t(token * D + i), 9)) - 4;
    codes[i] = fp8_encode(float(c), v.encoding);
  }
  for (int64_t q = 0; q < D / v.quant_block; ++q) {
    const uint64_t key = uint64_t(token * D + q);
    if (v.dist == ValueDist::exact_dot)  // all 23 fraction bits random
      scales[q] = rn_mul(pow2(int(rng.below(kStreamFriendlyScale, key, 10)) - 8),
                         f32_from_bits(0x3F800000u | (rng.u32(kStreamKToken, key) >> 9)));
    else scales[q] = pow2(int(rng.below(kStreamFriendlyScale, key, 5)) - 4);
  }
}

MQA_HD inline uint8_t nan_code(Fp8Encoding enc, bool negative) {
  if (enc == Fp8Encoding::e4m3fnuz) return 0x80;  // fnuz has one NaN
  return negative ? 0xFF : 0x7F;
}

// The q code of element i ([rows, H, D] flattened) before the planted NaNs.
MQA_HD inline uint8_t q_code_drawn(const ValueKeys& v, uint64_t i) {
  const CounterRng rng{v.seed};
  switch (v.dist) {
    case ValueDist::friendly:
    case ValueDist::exact_dot: return fp8_encode(float(int(rng.below(kStreamQ, i, 9)) - 4), v.encoding);
    case ValueDist::randn: return fp8_encode(randn_like(rng, kStreamQ, i), v.encoding);
    case ValueDist::adversarial: {
      const uint32_t r = rng.u32(kStreamQ, i);
      const uint8_t sign = (r >> 31) ? 0x80 : 0x00;
      switch (r & 7) {
        case 0:
        case 1: return uint8_t(sign | fp8_traits(v.encoding).max_code);  // +-FMAX
        case 2: return uint8_t(sign | (1 + ((r >> 3) % 7)));             // subnormal
        case 3: return 0;
        default: {  // a code that is not NaN, chosen uniformly from the other 254/255
          const uint32_t c8 = r >> 8;
          const uint8_t c = uint8_t(c8);
          return fp8_is_nan(c, v.encoding) ? uint8_t(uint8_t(c8 >> 8) & 0x3F) : c;  // NaN: a small positive code
        }
      }
    }
  }
  return 0;
}

// The q code of element i: drawn; adversarial: in some (row, head) pairs every odd d repeats
// d - 1 (they cancel against k pairs); nan_codes: one code of one row in 8 is a NaN.
MQA_HD inline uint8_t q_code(const ValueKeys& v, int64_t i) {
  const CounterRng rng{v.seed};
  const int64_t D = v.head_dim, HD = int64_t(v.heads) * D;
  int64_t src = i;
  if (v.dist == ValueDist::adversarial && ((i % D) & 1) && rng.below(kStreamQRow, uint64_t(i / D), 4) == 0) src = i - 1;
  uint8_t c = q_code_drawn(v, uint64_t(src));
  if (v.nan_codes) {
    const uint64_t r = uint64_t(i / HD);
    if (rng.below(kStreamNanCodes, r * 4, 8) == 0 &&
        i % HD == int64_t(rng.below(kStreamNanCodes, r * 4 + 1, uint32_t(HD))))
      c = nan_code(v.encoding, rng.below(kStreamNanCodes, r * 4 + 2, 2) != 0);
  }
  return c;
}

// Weights that break careless epilogues: non-finite, signed zeros, a subnormal, overflow.
MQA_HD inline uint32_t odd_weight_bits(uint32_t k) {
  switch (k) {
    case 0: return 0x7F800000u;   // +inf
    case 1: return 0xFF800000u;   // -inf
    case 2: return 0x7FC00001u;   // NaN with a payload
    case 3: return 0x80000000u;   // -0
    case 4: return 0x00000000u;   // +0
    case 5: return 0x00000123u;   // subnormal
    case 6: return 0x7E61B9C2u;   // 7.5e37: products with |a| > 4.5 overflow
    default: return 0xFE61B9C2u;  // -7.5e37
  }
}
inline constexpr uint32_t kOddWeightKinds = 8;

// k scales: the finite ones are defined wherever a row reads the token (numerics.md: negative
// and zero scales are accepted); the last four only where no row reads it, or for gather.
MQA_HD inline uint32_t odd_scale_bits(uint32_t k) {
  switch (k) {
    case 0: return 0x00000000u;   // 0
    case 1: return 0x80000000u;   // -0
    case 2: return 0xBE800000u;   // -0.25
    case 3: return 0x00000001u;   // smallest subnormal
    case 4: return 0x00800000u;   // smallest normal
    case 5: return 0x7149F2CAu;   // 1e30: logits overflow to inf
    case 6: return 0x7FC00001u;   // quiet NaN with a payload
    case 7: return 0x7F800001u;   // signalling NaN (an fp32 copy through arithmetic quietens it)
    case 8: return 0x7F800000u;   // +inf
    default: return 0xFF800000u;  // -inf
  }
}
inline constexpr uint32_t kOddScaleKinds = 10, kFiniteOddScales = 6;

// The weight of element i ([rows, H] flattened, n = rows * H of them) before the odd weights.
MQA_HD inline float weight_drawn(const ValueKeys& v, uint64_t i) {
  const CounterRng rng{v.seed};
  switch (v.dist) {
    case ValueDist::friendly: return rn_mul(float(int(rng.below(kStreamWeights, i, 7)) - 3), 0.25f);
    case ValueDist::randn: return rn_mul(randn_like(rng, kStreamWeights, i), 0.125f);
    case ValueDist::exact_dot:  // full-precision fp32, both signs, a few binades
      return rn_mul(randn_like(rng, kStreamWeights, i), pow2(int(rng.below(kStreamQRow, i, 6)) - 5));
    case ValueDist::adversarial: {
      const uint32_t r = rng.u32(kStreamWeights, i);
      const float mag = rn_mul(pow2(int((r >> 8) % 41) - 20), rn_add(1.0f, rn_mul(float((r >> 16) & 7), 0.125f)));
      if ((r & 0x70) == 0) return (r & 0x80) ? -0.0f : 0.0f;
      return (r & 1) ? -mag : mag;
    }
  }
  return 0.0f;
}

// The weight of element i of n = rows * H: drawn; adversarial: some pairs (i even, i + 1)
// cancel in the head sum; odd_weights: one head of one row in 3 is an odd weight.
MQA_HD inline float weight(const ValueKeys& v, int64_t n, int64_t i) {
  const CounterRng rng{v.seed};
  if (v.odd_weights) {
    const uint64_t r = uint64_t(i / v.heads);
    if (rng.below(kStreamOddWeights, r * 4, 3) == 0 &&
        i % v.heads == int64_t(rng.below(kStreamOddWeights, r * 4 + 1, uint32_t(v.heads))))
      return f32_from_bits(odd_weight_bits(rng.below(kStreamOddWeights, r * 4 + 2, kOddWeightKinds)));
  }
  if (v.dist == ValueDist::adversarial && (i & 1) && rng.below(kStreamWeights, uint64_t(n + i - 1), 3) == 0)
    return -weight_drawn(v, uint64_t(i - 1));
  return weight_drawn(v, uint64_t(i));
}

// The special values planted over the cache after the write, for the token at index i of the
// slot mapping: a NaN code at one d (nan_codes, one token in 16), odd scales (odd_scales, one
// token in 8: all its scales). `any_scale`: a non-finite scale is allowed there (gather, or a
// token no row reads).
struct TokenSpecials {
  int32_t nan_at = -1;  // d of the NaN code, -1: none
  uint8_t nan = 0;
  bool odd_scales = false;
};
MQA_HD inline TokenSpecials token_specials(const ValueKeys& v, int64_t i) {
  const CounterRng rng{v.seed};
  const uint64_t key = uint64_t(i) * 4, nan_key = (uint64_t(1) << 40) + key;
  TokenSpecials s;
  if (v.nan_codes && rng.below(kStreamNanCodes, nan_key, 16) == 0) {
    s.nan_at = int32_t(rng.below(kStreamNanCodes, nan_key + 1, uint32_t(v.head_dim)));
    s.nan = nan_code(v.encoding, rng.below(kStreamNanCodes, nan_key + 2, 2) != 0);
  }
  s.odd_scales = v.odd_scales && rng.below(kStreamOddScales, key, 8) == 0;
  return s;
}
// Scale q of such a token (token_specials(v, i).odd_scales).
MQA_HD inline float token_odd_scale(const ValueKeys& v, int64_t i, int32_t q, bool any_scale) {
  const uint64_t key = uint64_t(i) * 4;
  const uint32_t n = any_scale ? kOddScaleKinds : kFiniteOddScales;
  return f32_from_bits(odd_scale_bits(CounterRng{v.seed}.below(kStreamOddScales, key + 1 + uint64_t(q) * 4, n)));
}

}  // namespace casegen
}  // namespace mqa
