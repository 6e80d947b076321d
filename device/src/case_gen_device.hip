// The device generator of a paged_logits case's inputs (mqa/device_case_gen.hpp): the element
// functions of mqa/case_elements.hpp and the exact quantiser of mqa/quant.hpp, which the host's
// materialize() runs too, one token (or one element) a thread; every address from layout.hpp on
// the kernel-visible pool, so page ids >= 65,536 and offsets past 2^32 are what the kernel gets.
#include <string>

#include "device_common.hpp"
#include "mqa/device_case_gen.hpp"
#include "mqa/sentinels.h"
#include "mqa/validate.hpp"

namespace mqa::device {

namespace {

using casegen::ValueKeys;
constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return unsigned(b < 1 ? 1 : b);
}
unsigned grid_stride_blocks(int64_t n) {  // a grid-stride loop covers the rest
  const int64_t b = (n + kThreads - 1) / kThreads;
  return unsigned(b < 1 ? 1 : b > 65535 ? 65535 : b);
}

__device__ bool finite(float x) { return (f32_bits(x) & 0x7F800000u) != 0x7F800000u; }

// The sentinel over each used page of a sparse pool (the compact cache's fill before the write).
__global__ void sentinel_pages_kernel(uint8_t* pool, const int64_t* ids, int64_t pages, int64_t stride) {
  for (int64_t c = blockIdx.x; c < pages; c += gridDim.x) {
    uint8_t* dst = pool + ids[c] * stride;
    if (stride % 4 == 0) {
      const uint32_t w = 0x01010101u * kCacheSentinel;
      for (int64_t i = threadIdx.x; i < stride / 4; i += blockDim.x) reinterpret_cast<uint32_t*>(dst)[i] = w;
    } else {
      for (int64_t i = threadIdx.x; i < stride; i += blockDim.x) dst[i] = kCacheSentinel;
    }
  }
}

// One thread per token of the slot mapping: its codes and scales as materialize() writes them
// (K source quantised by the exact variant, or friendly codes; then the planted NaN code and odd
// scales, which the host plants over the written cache: one writer per slot, so the order within
// a token is the host's order). counts[0]: non-finite K values, counts[1]: non-finite scales.
__global__ void token_kernel(ValueKeys v, PagedCacheLayout l, bool from_source, const int64_t* slots, int64_t tokens,
                             uint8_t* pool, unsigned long long* counts) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= tokens) return;
  const int64_t slot = slots[i];
  if (slot < 0) return;  // padding: never written
  const int32_t D = v.head_dim, Qb = v.quant_block, spt = D / Qb;
  uint8_t codes[kGenMaxHeadDim];
  float scales[kGenMaxHeadDim];
  if (from_source) {
    float row[kGenMaxHeadDim];
    casegen::k_source_token(v, i, row);
    for (int32_t d = 0; d < D; ++d)
      if (!finite(row[d])) {
        atomicAdd(&counts[0], 1ull);
        break;
      }
    for (int32_t q = 0; q < spt; ++q) {  // quantize_token's loop (kcache.cpp), exact variant
      const float* blk = row + q * Qb;
      scales[q] = exact_block_scale(block_amax(blk, Qb), v.encoding, v.ue8m0);
      for (int32_t j = 0; j < Qb; ++j) codes[q * Qb + j] = exact_quantize_value(blk[j], scales[q], v.encoding);
    }
  } else {
    casegen::friendly_token(v, i, codes, scales);
  }
  const casegen::TokenSpecials s = casegen::token_specials(v, i);
  if (s.nan_at >= 0) codes[s.nan_at] = s.nan;
  if (s.odd_scales)  // paged rows read every written token: only the finite odd scales
    for (int32_t q = 0; q < spt; ++q) scales[q] = casegen::token_odd_scale(v, i, q, false);
  const int64_t page = l.slot_page(slot);
  const int32_t t = l.slot_in_page(slot);
  for (int32_t d = 0; d < D; ++d) pool[l.value_byte(page, t, d)] = codes[d];
  for (int32_t q = 0; q < spt; ++q) {
    if (!finite(scales[q])) atomicAdd(&counts[1], 1ull);
    const uint32_t bits = f32_bits(scales[q]);
    uint8_t* sb = pool + l.scale_byte(page, t, q);  // byte stores: D*B need not keep 4-alignment
    for (int j = 0; j < 4; ++j) sb[j] = uint8_t(bits >> (8 * j));
  }
}

__global__ void q_kernel(ValueKeys v, int64_t n, uint8_t* q) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    q[i] = casegen::q_code(v, i);
}

__global__ void weights_kernel(ValueKeys v, int64_t n, float* w) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    w[i] = casegen::weight(v, n, i);
}

}  // namespace

GeneratedCounts generate_paged_inputs(const PagedInputsPlan& p, uint8_t* pool, uint8_t* q, float* weights,
                                      void* stream) {
  const ValueKeys& v = p.keys;
  if (v.head_dim < 1 || v.head_dim > kGenMaxHeadDim)
    reject("D", v.head_dim, "the device generator holds at most " + std::to_string(kGenMaxHeadDim) + " values a token");
  if (v.quant_block < 1 || v.head_dim % v.quant_block != 0)
    reject("Qb", v.quant_block, "must divide D = " + std::to_string(v.head_dim));
  if (p.from_source && v.quant != QuantVariant::exact)
    reject("quant", int(v.quant), "the device generator quantises with the exact variant only");
  validate_cache(p.pool);
  detail::require_device();
  const auto s = static_cast<hipStream_t>(stream);
  const int64_t total = p.pool.total_bytes();
  detail::check(hipMemsetAsync(pool, p.sparse ? 0 : kCacheSentinel, size_t(total), s), "hipMemsetAsync(pool)");
  if (p.sparse && p.used_pages > 0) {
    hipLaunchKernelGGL(sentinel_pages_kernel, dim3(grid_stride_blocks(p.used_pages * kThreads)), dim3(kThreads), 0, s,
                       pool, p.page_ids, p.used_pages, p.pool.page_stride);
    detail::check(hipGetLastError(), "launch of sentinel_pages_kernel");
  }
  DeviceBytes counts(2 * sizeof(unsigned long long));
  detail::check(hipMemsetAsync(counts.get(), 0, counts.size(), s), "hipMemsetAsync(counts)");
  if (p.tokens > 0) {
    hipLaunchKernelGGL(token_kernel, dim3(blocks_for(p.tokens)), dim3(kThreads), 0, s, v, p.pool, p.from_source,
                       p.slots, p.tokens, pool, counts.as<unsigned long long>());
    detail::check(hipGetLastError(), "launch of token_kernel");
  }
  if (p.q_codes > 0) {
    hipLaunchKernelGGL(q_kernel, dim3(grid_stride_blocks(p.q_codes)), dim3(kThreads), 0, s, v, p.q_codes, q);
    detail::check(hipGetLastError(), "launch of q_kernel");
  }
  if (p.weights > 0) {
    hipLaunchKernelGGL(weights_kernel, dim3(grid_stride_blocks(p.weights)), dim3(kThreads), 0, s, v, p.weights,
                       weights);
    detail::check(hipGetLastError(), "launch of weights_kernel");
  }
  unsigned long long host[2] = {0, 0};
  detail::check(hipMemcpyAsync(host, counts.get(), sizeof host, hipMemcpyDeviceToHost, s), "hipMemcpyAsync(counts)");
  synchronize_stream(stream, "generating the case's inputs");
  return GeneratedCounts{int64_t(host[0]), int64_t(host[1])};
}

}  // namespace mqa::device
