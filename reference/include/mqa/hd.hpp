// Host/device annotation shared by every header that the HIP kernels also include.
// Only this file knows whether a device compiler is active.
#pragma once

#if defined(__CUDACC__) || defined(__HIPCC__)
#define MQA_HD __host__ __device__
#define MQA_DEVICE_COMPILER 1
#else
#define MQA_HD
#define MQA_DEVICE_COMPILER 0
#endif

#include <cstdint>

namespace mqa {

// Bit casts that work in constexpr host code and in device code alike.
MQA_HD constexpr uint32_t f32_bits(float x) { return __builtin_bit_cast(uint32_t, x); }
MQA_HD constexpr float f32_from_bits(uint32_t b) { return __builtin_bit_cast(float, b); }
MQA_HD constexpr uint64_t f64_bits(double x) { return __builtin_bit_cast(uint64_t, x); }
MQA_HD constexpr double f64_from_bits(uint64_t b) { return __builtin_bit_cast(double, b); }

}  // namespace mqa
