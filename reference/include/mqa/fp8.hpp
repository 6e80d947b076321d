// Exact codecs for the narrow floating-point formats the indexer uses: fp8 e4m3fn / e4m3fnuz,
// bf16 and fp16. Decoding is exact into fp32; encoding rounds to nearest, ties to even, done in
// integer arithmetic so that the result never depends on the FPU rounding mode, the compiler's
// contraction settings or the platform (host and device evaluate the same code).
#pragma once
#include "mqa/hd.hpp"

namespace mqa {

enum class Fp8Encoding : uint8_t { e4m3fn = 0, e4m3fnuz = 1 };
enum class Overflow : uint8_t { saturate = 0, to_nan = 1 };  // to_nan: PyTorch's .to(float8)

struct Fp8Traits {
  int bias;             // exponent bias
  uint8_t max_code;     // magnitude code of the largest finite value
  float max_value;      // FMAX
  uint8_t nan_code;     // canonical NaN for a positive-signed NaN input
  bool has_neg_zero;    // e4m3fn has 0x80 = -0; in e4m3fnuz 0x80 is the only NaN
};

MQA_HD constexpr Fp8Traits fp8_traits(Fp8Encoding e) {
  return e == Fp8Encoding::e4m3fn ? Fp8Traits{7, 0x7E, 448.0f, 0x7F, true}
                                  : Fp8Traits{8, 0x7F, 240.0f, 0x80, false};
}

MQA_HD constexpr bool fp8_is_nan(uint8_t code, Fp8Encoding e) {
  return e == Fp8Encoding::e4m3fn ? (code & 0x7F) == 0x7F : code == 0x80;
}

MQA_HD constexpr float fp8_decode(uint8_t code, Fp8Encoding e) {
  const Fp8Traits t = fp8_traits(e);
  if (fp8_is_nan(code, e)) return f32_from_bits(0x7FC00000u | (uint32_t(code & 0x80) << 24));
  const uint32_t sign = uint32_t(code & 0x80) << 24;
  const int exp = (code >> 3) & 0xF;
  const uint32_t man = code & 0x7;
  if (exp == 0) {
    if (man == 0) return f32_from_bits(sign);  // +0, or -0 (e4m3fn only; fnuz 0x80 is NaN)
    // subnormal: man * 2^(1 - bias - 3); normalise into an fp32 normal
    int shift = 0;
    uint32_t m = man;
    while ((m & 0x8) == 0) { m <<= 1; ++shift; }
    const int e32 = (1 - t.bias) - shift + 127;
    return f32_from_bits(sign | (uint32_t(e32) << 23) | ((m & 0x7) << 20));
  }
  const int e32 = exp - t.bias + 127;
  return f32_from_bits(sign | (uint32_t(e32) << 23) | (man << 20));
}

namespace detail {

// Round |x| (finite fp32 bits, sign cleared) onto the grid of a binary format with `mbits`
// stored mantissa bits and exponent bias `bias`, unbounded above, ties to even.
// Returns biased exponent and mantissa packed as (eb << mbits) | m; eb may exceed the format's
// range, which the caller turns into saturation, NaN or infinity.
MQA_HD constexpr uint32_t round_to_grid(uint32_t abs_bits, int mbits, int bias) {
  const int exp = int(abs_bits >> 23);
  if (exp == 0) return 0;  // fp32 subnormal: far below half of any grid step used here
  const uint32_t sig = (abs_bits & 0x7FFFFFu) | 0x800000u;  // value = sig * 2^(exp-150)
  const int e_unb = exp - 127;
  const int qe = (e_unb > 1 - bias ? e_unb : 1 - bias) - mbits;  // grid step 2^qe
  const int shift = qe - (exp - 150);                              // >= 23 - mbits
  if (shift >= 25) return 0;                                       // below half a step
  uint32_t n = sig >> shift;
  const uint32_t rem = sig & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (n & 1u))) ++n;
  // n counts steps of 2^qe; n >= 2^mbits means a normal number (possibly carried one binade up)
  if (n >= (1u << mbits)) {
    int eb = qe + mbits + bias;
    if (n == (2u << mbits)) { n >>= 1; ++eb; }
    return (uint32_t(eb) << mbits) | (n - (1u << mbits));
  }
  return n;  // subnormal (qe is the subnormal step here)
}

}  // namespace detail

MQA_HD constexpr uint8_t fp8_encode(float x, Fp8Encoding e, Overflow ov = Overflow::saturate) {
  const Fp8Traits t = fp8_traits(e);
  const uint32_t bits = f32_bits(x);
  const uint8_t sign = uint8_t((bits >> 24) & 0x80);
  const uint32_t abs_bits = bits & 0x7FFFFFFFu;
  if (abs_bits > 0x7F800000u) return t.has_neg_zero ? uint8_t(t.nan_code | sign) : t.nan_code;
  uint32_t mag;
  if (abs_bits == 0x7F800000u) {
    mag = 0x100;  // infinity: treated as overflow
  } else {
    mag = detail::round_to_grid(abs_bits, 3, t.bias);
  }
  if (mag > t.max_code) {
    if (ov == Overflow::to_nan) return t.has_neg_zero ? uint8_t(t.nan_code | sign) : t.nan_code;
    mag = t.max_code;
  }
  if (mag == 0 && !t.has_neg_zero) return 0;  // fnuz has one zero; 0x80 would be NaN
  return uint8_t(sign | mag);
}

// ---- bf16 ----
MQA_HD constexpr float bf16_decode(uint16_t b) { return f32_from_bits(uint32_t(b) << 16); }
MQA_HD constexpr uint16_t bf16_encode(float x) {
  const uint32_t bits = f32_bits(x);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((bits >> 16) | 0x40u);  // quiet NaN
  const uint32_t bias = 0x7FFFu + ((bits >> 16) & 1u);
  return uint16_t((bits + bias) >> 16);  // carries into the exponent give inf on overflow
}

// ---- fp16 (IEEE binary16) ----
MQA_HD constexpr float fp16_decode(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const int exp = (h >> 10) & 0x1F;
  uint32_t man = h & 0x3FFu;
  if (exp == 0x1F) return f32_from_bits(sign | 0x7F800000u | (man << 13) | (man ? 0x400000u : 0u));
  if (exp == 0) {
    if (man == 0) return f32_from_bits(sign);
    int shift = 0;
    while ((man & 0x400u) == 0) { man <<= 1; ++shift; }
    return f32_from_bits(sign | (uint32_t(-14 - shift + 127) << 23) | ((man & 0x3FFu) << 13));
  }
  return f32_from_bits(sign | (uint32_t(exp - 15 + 127) << 23) | (man << 13));
}
MQA_HD constexpr uint16_t fp16_encode(float x) {
  const uint32_t bits = f32_bits(x);
  const uint16_t sign = uint16_t((bits >> 16) & 0x8000u);
  const uint32_t abs_bits = bits & 0x7FFFFFFFu;
  if (abs_bits > 0x7F800000u) return uint16_t(sign | 0x7E00u | ((abs_bits >> 13) & 0x3FFu));
  if (abs_bits == 0x7F800000u) return uint16_t(sign | 0x7C00u);
  const uint32_t mag = detail::round_to_grid(abs_bits, 10, 15);
  if (mag >= 0x7C00u) return uint16_t(sign | 0x7C00u);  // overflow -> infinity (IEEE)
  return uint16_t(sign | mag);
}

}  // namespace mqa
