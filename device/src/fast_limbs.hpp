// NVIDIA-only pieces shared by the two fast logits kernels (the lean kernel in logits_fast.hip,
// the token-warp kernel in fast_token_warps.hpp): the fp8 -> int8-limb table, the limb
// transpose, the nine-MMA step of the exact dot and its exact sum, cp.async.
// Empty on other platforms.
#pragma once
#include <cstdint>

#include "epilogue.hpp"
#include "mqa/fp8.hpp"
#include "mqa/hip_runtime_compat.hpp"

#if MQA_PLATFORM_NVIDIA
namespace mqa::device::detail::fast {

constexpr int kTN = 64;          // tokens per shared-memory tile
constexpr int64_t kChunk = 1024;  // columns per block
// Block-table entries a block caches: kChunk tokens over pages of >= 16 tokens, plus the two ends.
constexpr int kMaxChunkPages = int(kChunk / 16) + 2;
constexpr int kMaxWarps = 8;     // heads <= 128

// Limb-table entry: bytes 0..2 = the signed limbs L0, L1, L2 of the code; byte 3 = 1 for NaN.
MQA_HD inline uint32_t limb_entry(uint8_t code, Fp8Encoding e) {
  if (fp8_is_nan(code, e)) return 0x01000000u;
  const int32_t X = int32_t(div_rn(fp8_decode(code, e), fp8_decode(1, e)));  // exact integer
  const int32_t m = X < 0 ? -X : X;
  const int32_t s = X < 0 ? -1 : 1;
  const uint32_t l0 = uint8_t(int8_t(s * (m & 127))), l1 = uint8_t(int8_t(s * ((m >> 7) & 127)));
  const uint32_t l2 = uint8_t(int8_t(s * (m >> 14)));
  return l0 | (l1 << 8) | (l2 << 16);
}

// Four limb-table entries (one per code) -> the limb words: word l holds limb l of codes 0..3
// (byte i = code i), word 3 their NaN flags. A 4x4 byte transpose in 8 byte permutes.
__device__ inline void transpose_limbs(const uint32_t e[4], uint32_t w[4]) {
  const uint32_t a = __byte_perm(e[0], e[1], 0x5140), b = __byte_perm(e[0], e[1], 0x7362);
  const uint32_t c = __byte_perm(e[2], e[3], 0x5140), d = __byte_perm(e[2], e[3], 0x7362);
  w[0] = __byte_perm(a, c, 0x5410);
  w[1] = __byte_perm(a, c, 0x7632);
  w[2] = __byte_perm(b, d, 0x5410);
  w[3] = __byte_perm(b, d, 0x7632);
}

__device__ inline void mma_s8(int32_t c[4], const uint32_t a[4], const uint32_t b[2]) {
  asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// One k-step kk of the exact dot for NT n-tiles: the nine limb-pair products A_a x B_b, each into
// the accumulator of its shift group 7*(a+b) (acc[u][a+b]). Five, then four, each round over all
// NT tiles, so consecutive MMAs feed different accumulators and the tiles' chains interleave.
template <int NT, int KS>
__device__ inline void mma_limb_step(int32_t (&acc)[NT][5][4], const uint32_t (&A)[3][KS][4], int kk,
                                     const uint32_t (&B)[NT][3][2]) {
#pragma unroll
  for (int u = 0; u < NT; ++u) {
    mma_s8(acc[u][0], A[0][kk], B[u][0]);
    mma_s8(acc[u][1], A[0][kk], B[u][1]);
    mma_s8(acc[u][2], A[0][kk], B[u][2]);
    mma_s8(acc[u][3], A[1][kk], B[u][2]);
    mma_s8(acc[u][4], A[2][kk], B[u][2]);
  }
#pragma unroll
  for (int u = 0; u < NT; ++u) {
    mma_s8(acc[u][1], A[1][kk], B[u][0]);
    mma_s8(acc[u][2], A[1][kk], B[u][1]);
    mma_s8(acc[u][3], A[2][kk], B[u][1]);
    mma_s8(acc[u][2], A[2][kk], B[u][0]);
  }
}

// The exact dot of C element e from its five shift-group sums: U + 2^14 * T (Horner). With
// |L0|, |L1| <= 127, |L2| <= 15 and 128 terms: |acc0| <= 2.1e6, |acc1| <= 4.2e6, |acc2| <= 2.6e6,
// |acc3| <= 4.9e5, |acc4| <= 2.9e4, so |T| <= 5.4e8 and |U| <= 5.4e8 stay inside int32; one
// 32x32+64 multiply-add joins them.
__device__ inline int64_t exact_limb_sum(int32_t g0, int32_t g1, int32_t g2, int32_t g3, int32_t g4) {
  const int32_t T = g2 + 128 * (g3 + 128 * g4);
  const int32_t U = g0 + 128 * g1;
  return int64_t(T) * 16384 + U;
}
__device__ inline int64_t exact_limb_sum(const int32_t (&acc)[5][4], int e) {
  return exact_limb_sum(acc[0][e], acc[1][e], acc[2][e], acc[3][e], acc[4][e]);
}

// Asynchronous global -> shared copies (sm_80+), so the next tile's loads overlap this tile's math.
__device__ inline uint32_t smem_addr(const void* p) { return uint32_t(__cvta_generic_to_shared(p)); }
__device__ inline void cp_async16(void* dst, const void* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_addr(dst)), "l"(src));
}
__device__ inline void cp_async4(void* dst, const void* src) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(smem_addr(dst)), "l"(src));
}
// Zero-filling forms: with live == false nothing is read and the destination gets zeros, so the
// copy of a partial tile needs no branch.
__device__ inline void cp_async16_zfill(void* dst, const void* src, bool live) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(live ? 16 : 0));
}
__device__ inline void cp_async4_zfill(void* dst, const void* src, bool live) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(live ? 4 : 0));
}
__device__ inline void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ inline void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }


}  // namespace mqa::device::detail::fast
#endif
