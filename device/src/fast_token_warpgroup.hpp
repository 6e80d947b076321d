// The token-warpgroup logits kernel (`twg`; NVIDIA sm_90a only; included by logits_wgmma.hip).
// The same exact int8-limb arithmetic, the same per-warp token decode, head tree and epilogue as
// the token-warp kernel (`tw3`, fast_token_warps.hpp), with the nine limb products issued as
// Hopper wgmma m64nNk32 instead of mma.sync m16n8k32: the four warps of a block are one
// warpgroup, each warp's 16 tokens are 16 of the 64 rows of the A operand (registers, decoded
// exactly as tw3 decodes them), and q's limbs are B (shared memory, written once per block).
// Why: tensor_peak measured mma.sync s8 at 1289 TOPS on the H200 and wgmma s8 at 1944-1961 TOPS
// (device/PERFORMANCE.md); nine limb products at B 64, L 32768 need 240 us of mma.sync alone, so
// no mma.sync kernel of this arithmetic can reach 185 us, while wgmma needs 158 us.
//
// B layout: per (limb, head half), the canonical no-swizzle K-major layout, i.e. core matrices of
// 8 heads x 16 bytes (128 contiguous bytes), K-adjacent core matrices 128 bytes apart (LBO),
// 8-head groups 2*KS*128 bytes apart (SBO). Its bytes follow tw3's k permutation (A word b of
// k-step kk of thread tig = q bytes tig*8*KS + 8*kk + 4*b .. + 3), so the A fragments are the
// contiguous 16-byte loads of tw3. Heads: N = min(H, 32) per wgmma, H / N halves; the n-tiles of
// a half are the tree pairs of tw3 (pair p = n-tiles bitrev(2p) and bitrev(2p) + H/16), so the
// head tree, its order and its bits are tw3's.
#pragma once
#include "fast_token_warps.hpp"

#if MQA_PLATFORM_NVIDIA
namespace mqa::device::detail::fast {

template <int KS, int kH>
struct TokenWarpgroupShared {
  static constexpr int D = 32 * KS;
  static constexpr int kRawRow = D + 16;
  static constexpr int kN = kH < 32 ? kH : 32;  // heads per wgmma
  static constexpr int kHalves = kH / kN;
  alignas(128) uint8_t qb[3][kHalves][kN * D];  // B operands, core-matrix layout (top of the file)
  uint8_t raw[kTwWarps][2][kTwTokens * kRawRow];
  float raw_scale[kTwWarps][2][kTwTokens];
  uint32_t lut[256];
  float w[kH];
  int32_t pages[kMaxChunkPages];
};

__device__ inline uint64_t wg_smem_desc(const void* p, uint32_t lbo, uint32_t sbo) {
  return uint64_t((smem_addr(p) >> 4) & 0x3FFFu) | (uint64_t((lbo >> 4) & 0x3FFFu) << 16) |
         (uint64_t((sbo >> 4) & 0x3FFFu) << 32);  // base offset 0, layout type 0 (no swizzle)
}
__device__ inline void wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ inline void wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ inline void wg_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
// Pins registers at this point of the program: the compiler may not move their definitions past a
// wgmma fence, nor their uses before its wait (else ptxas serialises the wgmmas with injected
// waits, warning C7517 / C7519).
template <int N>
__device__ inline void wg_pin(uint32_t (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+r"(r[i])::"memory");
}
template <int N>
__device__ inline void wg_pin(int32_t (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+r"(r[i])::"memory");
}

// d += A (64 x 32 s8, registers) * B (32 x N s8, shared memory), N = 16 or 32.
template <int N>
__device__ inline void wgmma_s8(int32_t (&d)[N / 2], const uint32_t (&a)[4], uint64_t desc) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  if constexpr (N == 32) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %21, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n32k32.s32.s8.s8 "
        "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}, {%16,%17,%18,%19}, %20, p;\n}\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]), "+r"(d[8]),
          "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "r"(1));
  } else {
    static_assert(N == 16);
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %13, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n16k32.s32.s8.s8 "
        "{%0,%1,%2,%3,%4,%5,%6,%7}, {%8,%9,%10,%11}, %12, p;\n}\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "r"(1));
  }
#else
  (void)d, (void)a, (void)desc;
  __trap();  // built only for sm_90a (logits_wgmma.hip); never launched elsewhere
#endif
}

// The n-tile held in slot s of head half h (the tree pairs of tw3, in its order).
template <int kH>
MQA_HD constexpr int twg_tile_of(int h, int s) {
  constexpr int kNTiles = kH / 8, kBits = tw_log2(kNTiles), kN = kH < 32 ? kH : 32;
  const int p = h * (kN / 16) + s / 2;  // pairs per half: N / 16
  return tw_bitrev(2 * p, kBits) + (s % 2) * (kNTiles / 2);
}

// Writes q's limbs of slot (h, n, c) (head half h, B row n, 16-byte K piece c) and returns its
// NaN flags. x: the 4 q words (4 codes each) at d = tig * 8KS + 4c, tig = 0..3.
template <int KS, int kH>
__device__ inline uint32_t twg_build_q_piece(TokenWarpgroupShared<KS, kH>& sh, int h, int n, int c,
                                             const uint32_t (&x)[4]) {
  uint32_t limb[3][4], nan = 0;
#pragma unroll
  for (int tig = 0; tig < 4; ++tig) {
    uint32_t e[4], wv[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) e[i] = sh.lut[(x[tig] >> (8 * i)) & 0xFFu];
    transpose_limbs(e, wv);
    nan |= wv[3];
#pragma unroll
    for (int l = 0; l < 3; ++l) limb[l][tig] = wv[l];
  }
  const int off = ((n >> 3) * (2 * KS) + c) * 128 + (n & 7) * 16;
#pragma unroll
  for (int l = 0; l < 3; ++l)
    *reinterpret_cast<uint4*>(&sh.qb[l][h][off]) = make_uint4(limb[l][0], limb[l][1], limb[l][2], limb[l][3]);
  return nan;
}

template <int KS, int kH, class Tokens>
__global__ void __launch_bounds__(32 * kTwWarps, 2) logits_token_warpgroup_kernel(LogitsDeviceArgs a, Tokens tokens) {
  using Shared = TokenWarpgroupShared<KS, kH>;
  constexpr int D = 32 * KS, kN = Shared::kN, kHalves = Shared::kHalves, kRawRow = Shared::kRawRow;
  constexpr int kThreads = 32 * kTwWarps, kNTiles = kH / 8, kPairs = kNTiles / 2, kLevels = tw_log2(kPairs) + 1;
  constexpr int kSlots = kN / 8;  // n-tiles per wgmma
  __shared__ __align__(128) Shared sh;

  const int32_t r = int32_t(blockIdx.x);
  const int64_t c0 = int64_t(blockIdx.y) * kChunk;
  const int64_t c1 = c0 + kChunk < a.cols ? c0 + kChunk : a.cols;
  const RowSpan span = a.spans[r];
  float* out = a.out + int64_t(r) * a.out_stride;
  const int tid = int(threadIdx.x);
  if (a.clean)
    for (int64_t c = c0 + tid; c < c1; c += kThreads)
      if (c < span.begin || c >= span.end) out[c] = neg_inf();
  const int64_t lo = c0 > span.begin ? c0 : span.begin;
  const int64_t hi = c1 < span.end ? c1 : span.end;
  if (lo >= hi) return;  // block-uniform: the whole warpgroup leaves

  for (int64_t i = tid; i < tokens.pages_needed(lo, hi); i += kThreads) sh.pages[i] = tokens.page_entry(r, lo, i);
  for (int i = tid; i < 256; i += kThreads) sh.lut[i] = limb_entry(uint8_t(i), a.encoding);
  for (int i = tid; i < kH; i += kThreads) sh.w[i] = a.weights[int64_t(r) * kH + i];
  __syncthreads();
  const auto cursor = tokens.block_cursor(lo);
  const int warp = tid / 32, lane = tid % 32, g = lane / 4, tig = lane % 4;
  const int64_t piece = tokens.piece_offset(int32_t(lane % (2 * KS)) * 16);
  {
    const int64_t first = lo + kTwTokens * warp;
    const int n = first < hi ? (hi - first < kTwTokens ? int(hi - first) : kTwTokens) : 0;
    tw_issue<KS>(sh, warp, lane, 0, tokens, first, n, lo, cursor, piece);
  }

  // q's limbs into B: slot (h, n, c) for every head half, B row and K piece.
  const uint8_t* q = a.q + int64_t(r) * kH * D;
  const bool q_aligned = (reinterpret_cast<uintptr_t>(q) & 3u) == 0;
  uint32_t q_nan = 0;
  for (int idx = tid; idx < kHalves * kN * 2 * KS; idx += kThreads) {
    const int c = idx % (2 * KS), n = (idx / (2 * KS)) % kN, h = idx / (2 * KS * kN);
    const uint8_t* qrow = q + (twg_tile_of<kH>(h, n / 8) * 8 + n % 8) * D + 4 * c;
    uint32_t x[4];
#pragma unroll
    for (int t = 0; t < 4; ++t) {
      const uint8_t* p = qrow + t * 8 * KS;
      x[t] = q_aligned ? *reinterpret_cast<const uint32_t*>(p)
                       : uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
    }
    q_nan |= twg_build_q_piece<KS, kH>(sh, h, n, c, x);
  }
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");  // st.shared -> wgmma's reads
  const bool row_nan = __syncthreads_or(int(q_nan != 0)) != 0;
  const float unit = fp8_decode(1, a.encoding);
  const float unit2 = mul_rn(unit, unit);
  const float qnan = f32_from_bits(kCanonicalNanBits);
  constexpr uint32_t kLbo = 128, kSbo = 2 * KS * 128;

  int it = 0;
  for (int64_t tile = lo; tile < hi; tile += kTwStep, ++it) {
    const int buf = it & 1;
    const int64_t first = tile + kTwTokens * warp;
    const int n = first < hi ? (hi - first < kTwTokens ? int(hi - first) : kTwTokens) : 0;
    cp_async_wait_all();
    __syncwarp();
    if (tile + kTwStep < hi) {
      const int64_t f2 = first + kTwStep;
      const int n2 = f2 < hi ? (hi - f2 < kTwTokens ? int(hi - f2) : kTwTokens) : 0;
      tw_issue<KS>(sh, warp, lane, buf ^ 1, tokens, f2, n2, lo, cursor, piece);
    }
    // Every warp takes part in the warpgroup's wgmma, also one past hi (its rows are zeros).

    uint32_t A[3][KS][4];
    uint32_t tok_nan_bits = 0;
#pragma unroll
    for (int row = 0; row < 2; ++row) {
      const uint8_t* rp = &sh.raw[warp][buf][(g + 8 * row) * kRawRow + tig * 8 * KS];
      uint32_t words[2 * KS];
      if constexpr (KS >= 2) {
#pragma unroll
        for (int v = 0; v < KS / 2; ++v) {
          const uint4 x = *reinterpret_cast<const uint4*>(rp + 16 * v);
          words[4 * v] = x.x, words[4 * v + 1] = x.y, words[4 * v + 2] = x.z, words[4 * v + 3] = x.w;
        }
      } else {
        const uint2 x = *reinterpret_cast<const uint2*>(rp);
        words[0] = x.x, words[1] = x.y;
      }
      uint32_t nan = 0;
#pragma unroll
      for (int wi = 0; wi < 2 * KS; ++wi) {
        uint32_t e[4], wv[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) e[i] = sh.lut[(words[wi] >> (8 * i)) & 0xFFu];
        transpose_limbs(e, wv);
        nan |= wv[3];
#pragma unroll
        for (int l = 0; l < 3; ++l) A[l][wi / 2][(wi % 2) * 2 + row] = wv[l];
      }
      tok_nan_bits |= uint32_t(nan != 0) << row;
    }
    tok_nan_bits |= __shfl_xor_sync(0xFFFFFFFFu, tok_nan_bits, 1);
    tok_nan_bits |= __shfl_xor_sync(0xFFFFFFFFu, tok_nan_bits, 2);

    float part[kLevels][4];
#pragma unroll
    for (int h = 0; h < kHalves; ++h) {
      int32_t acc[5][kN / 2];
#pragma unroll
      for (int i = 0; i < 5; ++i)
#pragma unroll
        for (int j = 0; j < kN / 2; ++j) acc[i][j] = 0;
#pragma unroll
      for (int l = 0; l < 3; ++l)
#pragma unroll
        for (int kk = 0; kk < KS; ++kk) wg_pin(A[l][kk]);
#pragma unroll
      for (int i = 0; i < 5; ++i) wg_pin(acc[i]);
      wg_fence();
#pragma unroll
      for (int kk = 0; kk < KS; ++kk) {
        const int off = 2 * kk * 128;  // row group 0, K piece 2kk
        const uint64_t b0 = wg_smem_desc(&sh.qb[0][h][off], kLbo, kSbo);
        const uint64_t b1 = wg_smem_desc(&sh.qb[1][h][off], kLbo, kSbo);
        const uint64_t b2 = wg_smem_desc(&sh.qb[2][h][off], kLbo, kSbo);
        // Shift group 7*(a+b) of A_a x B_b, as mma_limb_step.
        wgmma_s8<kN>(acc[0], A[0][kk], b0);
        wgmma_s8<kN>(acc[1], A[0][kk], b1);
        wgmma_s8<kN>(acc[2], A[0][kk], b2);
        wgmma_s8<kN>(acc[3], A[1][kk], b2);
        wgmma_s8<kN>(acc[4], A[2][kk], b2);
        wgmma_s8<kN>(acc[1], A[1][kk], b0);
        wgmma_s8<kN>(acc[2], A[1][kk], b1);
        wgmma_s8<kN>(acc[3], A[2][kk], b1);
        wgmma_s8<kN>(acc[2], A[2][kk], b0);
      }
      wg_commit();
      wg_wait_all();
#pragma unroll
      for (int i = 0; i < 5; ++i) wg_pin(acc[i]);
#pragma unroll
      for (int pp = 0; pp < kSlots / 2; ++pp) {
        const int p = h * (kSlots / 2) + pp;  // tw3's pair index
        float t[2][4];
#pragma unroll
        for (int u = 0; u < 2; ++u) {
          const int s = 2 * pp + u, nt = twg_tile_of<kH>(h, s);
          const float2 wh = *reinterpret_cast<const float2*>(&sh.w[nt * 8 + 2 * tig]);
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int j = 4 * s + e;  // C element: token g (e < 2) or g + 8, column 2*tig + (e & 1) of slot s
            const int64_t sum = exact_limb_sum(acc[0][j], acc[1][j], acc[2][j], acc[3][j], acc[4][j]);
            t[u][e] = head_term_finite(mul_rn(__ll2float_rn(sum), unit2), (e & 1) ? wh.y : wh.x);
          }
        }
        float v[4];
#pragma unroll
        for (int e = 0; e < 4; ++e) v[e] = add_rn(t[0][e], t[1][e]);  // step H/2
        int level = 0;
#pragma unroll
        for (int b = 0; b < kLevels - 1; ++b) {
          if (((p >> b) & 1) == 0) break;
#pragma unroll
          for (int e = 0; e < 4; ++e) v[e] = add_rn(part[b][e], v[e]);  // steps H/4 .. 8
          level = b + 1;
        }
#pragma unroll
        for (int b = 0; b < kLevels; ++b)
          if (b == level)
#pragma unroll
            for (int e = 0; e < 4; ++e) part[b][e] = v[e];
      }
    }
    float S[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) S[e] = part[kLevels - 1][e];
#pragma unroll
    for (int m = 2; m >= 1; m /= 2)  // steps 4, 2
#pragma unroll
      for (int e = 0; e < 4; ++e) S[e] = add_rn(S[e], __shfl_xor_sync(0xFFFFFFFFu, S[e], m));
    const float s_lo = add_rn(S[0], S[1]), s_hi = add_rn(S[2], S[3]);  // step 1
    if (tig < 2) {
      const int x = g + 8 * tig;
      if (x < n) {
        const float logit = final_logit(tig ? s_hi : s_lo, sh.raw_scale[warp][buf][x]);
        out[first + x] = row_nan || ((tok_nan_bits >> tig) & 1u) != 0 ? qnan : logit;
      }
    }
  }
}

}  // namespace mqa::device::detail::fast
#endif
