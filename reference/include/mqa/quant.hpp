// K quantisation: per block of Qb values, amax -> fp32 scale -> fp8 codes (numerics.md).
// The `exact` variant's arithmetic is host/device so the HIP kernel runs the same code; the
// upstream variants (vllm, aiter, sglang) use libm's log2f/exp2f and exist on the host only.
#pragma once
#include "mqa/fp8.hpp"
#include "mqa/rn.hpp"

namespace mqa {

enum class QuantVariant : uint8_t { exact = 0, vllm = 1, aiter = 2, sglang = 3 };

inline constexpr float kMinAmax = 1e-4f;  // every variant clamps amax from below by 1e-4

// The FMAX a variant divides amax by: vLLM's kernel and SGLang's act_quant use the literal 448
// (also for e4m3fnuz), aiter and `exact` the encoding's FMAX. sc is 2^e where amax = this * 2^e.
MQA_HD constexpr float scale_divisor(QuantVariant v, Fp8Encoding enc) {
  return v == QuantVariant::vllm || v == QuantVariant::sglang ? 448.0f : fp8_traits(enc).max_value;
}

// Round a positive normal fp32 UP to a power of two, exactly: exponent + (mantissa != 0).
MQA_HD constexpr float ue8m0_round_up_exact(float sc) {
  const uint32_t b = f32_bits(sc);
  return (b & 0x7FFFFFu) ? f32_from_bits((b & 0xFF800000u) + 0x800000u) : sc;
}

// |x| max over a block; the caller has rejected NaN inputs.
MQA_HD inline float block_amax(const float* k, int32_t n) {
  float m = 0.0f;
  for (int32_t i = 0; i < n; ++i) {
    const float a = k[i] < 0.0f ? -k[i] : k[i];
    m = a > m ? a : m;
  }
  return m;
}

// The `exact` variant: sc = RN(max(amax, 1e-4) / FMAX), optionally rounded up to 2^e exactly.
MQA_HD inline float exact_block_scale(float amax, Fp8Encoding enc, bool ue8m0) {
  const float sc = rn_div(amax > kMinAmax ? amax : kMinAmax, fp8_traits(enc).max_value);
  return ue8m0 ? ue8m0_round_up_exact(sc) : sc;
}

// The `exact` variant: code = sat_fp8(RN(k / sc)), true division.
MQA_HD inline uint8_t exact_quantize_value(float k, float sc, Fp8Encoding enc) {
  return fp8_encode(rn_div(k, sc), enc, Overflow::saturate);
}

}  // namespace mqa
