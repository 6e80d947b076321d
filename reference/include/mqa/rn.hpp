// Explicitly rounded fp32 arithmetic. The canonical contract forbids contraction into FMA; on
// the host the project builds with -ffp-contract=off, on the device these map to the _rn
// intrinsics, which the compiler never fuses.
#pragma once
#include "mqa/hd.hpp"

namespace mqa {

#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
__device__ inline float rn_add(float a, float b) { return __fadd_rn(a, b); }
__device__ inline float rn_mul(float a, float b) { return __fmul_rn(a, b); }
__device__ inline float rn_div(float a, float b) { return __fdiv_rn(a, b); }
__device__ inline float rn_fma(float a, float b, float c) { return __fmaf_rn(a, b, c); }
#else
inline float rn_add(float a, float b) { return a + b; }
inline float rn_mul(float a, float b) { return a * b; }
inline float rn_div(float a, float b) { return a / b; }
float rn_fma(float a, float b, float c);  // std::fma, out of line so nothing else can fuse
#endif

}  // namespace mqa
