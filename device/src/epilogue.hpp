// The `exact` epilogue of numerics.md, device side, shared by every logits kernel so that the
// generic and the fast path cannot drift apart. All fp32 arithmetic is explicitly rounded
// (rn.hpp maps to __fmul_rn / __fadd_rn): no FMA contraction.
#pragma once
#include "mqa/hd.hpp"
#include "mqa/logits.hpp"
#include "mqa/rn.hpp"

namespace mqa::device::detail {

// rn.hpp's rn_add / rn_mul behind host/device functions: clang (hipcc) checks a kernel's body in
// its host pass too, where rn.hpp offers only the host overloads.
MQA_HD inline float add_rn(float a, float b) { return rn_add(a, b); }
MQA_HD inline float mul_rn(float a, float b) { return rn_mul(a, b); }
MQA_HD inline float div_rn(float a, float b) { return rn_div(a, b); }

// relu(x) = x > 0 ? x : +0, and NaN stays NaN.
MQA_HD inline float relu_keep_nan(float x) { return x != x ? x : (x > 0.0f ? x : 0.0f); }

// t_h = RN(relu(a_h) * w_h)
MQA_HD inline float head_term(float a, float w) { return rn_mul(relu_keep_nan(a), w); }

// head_term for an a_h known not to be NaN (fast kernels: NaN inputs are decided per row and per
// token, after the tree): the same value without the NaN test.
MQA_HD inline float head_term_finite(float a, float w) { return rn_mul(a > 0.0f ? a : 0.0f, w); }

// logit = RN(S * kscale); every NaN becomes the reference's canonical one (logits.hpp).
MQA_HD inline float final_logit(float S, float kscale) {
  const float x = rn_mul(S, kscale);
  return x != x ? f32_from_bits(kCanonicalNanBits) : x;
}

MQA_HD inline float neg_inf() { return f32_from_bits(0xFF800000u); }

// A token's fp32 scale from 4 bytes that may be only byte-aligned (generic path, odd D).
MQA_HD inline float load_scale_bytes(const uint8_t* p) {
  return f32_from_bits(uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24));
}

}  // namespace mqa::device::detail
