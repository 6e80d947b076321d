// Hopper (sm_90a) variant of the NVIDIA fast logits path for heads 64 and 128: the same exact
// int8-limb arithmetic as logits_fast.hip (see there), but each warpgroup issues asynchronous
// wgmma m64n32k32 instructions (64 heads x 32 tokens x 32 bytes of D each) instead of
// 16x8x32 mma.sync, reading the k limbs straight from shared memory. A fenced per-vendor path:
// compiled with -gencode arch=compute_90a (CMake defines MQA_WGMMA=1 then); elsewhere it is
// absent and the mma.sync kernel runs.
//
// Shared-memory B operand: the limb planes in the canonical no-swizzle K-major layout, i.e.
// core matrices of 8 tokens x 16 bytes (128 contiguous bytes), K-adjacent core matrices 128
// bytes apart (descriptor LBO), N-adjacent ones D/16 * 128 bytes apart (SBO).
#include <cstdlib>
#include <string>

#include "device_common.hpp"
#include "epilogue.hpp"
#include "fast_limbs.hpp"
#include "logits_launch.hpp"

#ifndef MQA_WGMMA
#define MQA_WGMMA 0
#endif

namespace mqa::device::detail {

#if MQA_PLATFORM_NVIDIA && MQA_WGMMA

namespace {

using namespace fast;

constexpr int kHalf = 32;  // tokens per wgmma (N)

template <int KS>
struct WgShared {
  static constexpr int D = 32 * KS;
  uint8_t raw[2][kTN * D];  // fp8 codes of the tile (double buffered, cp.async)
  float raw_scale[2][kTN];
  alignas(128) int8_t limbs[3][kTN * D];  // core-matrix layout, see the top of the file
  uint32_t lut[256];
  int32_t pages[kMaxChunkPages];  // block-table entries of [lo, hi) (PagedTokens)
  float part[kMaxWarps][kTN];
  uint32_t tok_nan[kTN];
};

template <int D>
__device__ inline int core_offset(int x, int c) {  // token x, 16-byte piece c
  return ((x >> 3) * (D / 16) + c) * 128 + (x & 7) * 16;
}

__device__ inline uint64_t smem_desc(const void* p, uint32_t lbo, uint32_t sbo) {
  return uint64_t((smem_addr(p) >> 4) & 0x3FFFu) | (uint64_t((lbo >> 4) & 0x3FFFu) << 16) |
         (uint64_t((sbo >> 4) & 0x3FFFu) << 32);  // base offset 0, layout type 0 (no swizzle)
}

__device__ inline void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ inline void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ inline void wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }

// d += A (64x32 s8, registers) * B (32x32 s8, shared memory descriptor)
__device__ inline void wgmma_s8(int32_t d[16], const uint32_t a[4], uint64_t desc) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %21, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n32k32.s32.s8.s8 "
      "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}, {%16,%17,%18,%19}, %20, p;\n}\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]),
        "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "r"(1));
#else
  (void)d, (void)a, (void)desc;
  __trap();
#endif
}

template <int KS, class Tokens>
__device__ void issue_tile_wg(WgShared<KS>& sh, int buf, const Tokens& tokens, int32_t r, int64_t tile, int n, int64_t lo) {
  constexpr int D = 32 * KS, kChunks16 = D / 16;
  const int tid = int(threadIdx.x), nthreads = int(blockDim.x);
  for (int idx = tid; idx < kTN * kChunks16; idx += nthreads) {
    const int x = idx / kChunks16, c = idx % kChunks16;
    uint8_t* dst = &sh.raw[buf][x * D + c * 16];
    if (x >= n) {
      *reinterpret_cast<uint4*>(dst) = make_uint4(0u, 0u, 0u, 0u);
    } else if (tokens.vector_ok) {
      cp_async16(dst, tokens.values_cached(r, tile + x, c * 16, sh.pages, lo));
    } else {
      const uint8_t* p = tokens.values_cached(r, tile + x, c * 16, sh.pages, lo);
      for (int i = 0; i < 16; ++i) dst[i] = p[i];
    }
  }
  for (int x = tid; x < kTN; x += nthreads) {
    if (x < n) cp_async4(&sh.raw_scale[buf][x], tokens.scale_cached(r, tile + x, sh.pages, lo));
    else sh.raw_scale[buf][x] = 0.0f;
  }
  cp_async_commit();
}

template <int KS, class Tokens>
__global__ void __launch_bounds__(32 * kMaxWarps, 1) logits_wgmma_kernel(LogitsDeviceArgs a, Tokens tokens) {
  constexpr int D = 32 * KS, kChunks16 = D / 16;
  __shared__ __align__(128) WgShared<KS> sh;

  const int32_t r = int32_t(blockIdx.x);
  const int64_t c0 = int64_t(blockIdx.y) * kChunk;
  const int64_t c1 = c0 + kChunk < a.cols ? c0 + kChunk : a.cols;
  const RowSpan span = a.spans[r];
  float* out = a.out + int64_t(r) * a.out_stride;
  const int tid = int(threadIdx.x), nthreads = int(blockDim.x);
  if (a.clean)
    for (int64_t c = c0 + tid; c < c1; c += nthreads)
      if (c < span.begin || c >= span.end) out[c] = neg_inf();
  const int64_t lo = c0 > span.begin ? c0 : span.begin;
  const int64_t hi = c1 < span.end ? c1 : span.end;
  if (lo >= hi) return;

  for (int64_t i = tid; i < tokens.pages_needed(lo, hi); i += nthreads) sh.pages[i] = tokens.page_entry(r, lo, i);
  __syncthreads();
  issue_tile_wg<KS>(sh, 0, tokens, r, lo, hi - lo < kTN ? int(hi - lo) : kTN, lo);
  for (int i = tid; i < 256; i += nthreads) sh.lut[i] = limb_entry(uint8_t(i), a.encoding);
  for (int x = tid; x < kTN; x += nthreads) sh.tok_nan[x] = 0;
  __syncthreads();

  const int H = a.heads, W = H / 16;
  const int warp = tid / 32, lane = tid % 32, g = lane / 4, tig = lane % 4;
  const int head_lo = warp + W * g, head_hi = warp + W * (g + 8);  // rows g and g+8 of this warp
  uint32_t A[3][KS][4];
  uint32_t nan_lo = 0, nan_hi = 0;
  const uint8_t* q = a.q + int64_t(r) * H * D;
#pragma unroll
  for (int kk = 0; kk < KS; ++kk)
#pragma unroll
    for (int half = 0; half < 2; ++half)
#pragma unroll
      for (int row = 0; row < 2; ++row) {
        const uint8_t* qp = q + (row == 0 ? head_lo : head_hi) * D + kk * 32 + half * 16 + tig * 4;
        uint32_t e[4], w[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) e[i] = sh.lut[qp[i]];
        transpose_limbs(e, w);
        (row == 0 ? nan_lo : nan_hi) |= w[3];
#pragma unroll
        for (int l = 0; l < 3; ++l) A[l][kk][half * 2 + row] = w[l];
      }
  nan_lo |= __shfl_xor_sync(0xFFFFFFFFu, nan_lo, 1);
  nan_lo |= __shfl_xor_sync(0xFFFFFFFFu, nan_lo, 2);
  nan_hi |= __shfl_xor_sync(0xFFFFFFFFu, nan_hi, 1);
  nan_hi |= __shfl_xor_sync(0xFFFFFFFFu, nan_hi, 2);
  const float w_lo = a.weights[int64_t(r) * H + head_lo], w_hi = a.weights[int64_t(r) * H + head_hi];
  const float unit = fp8_decode(1, a.encoding);
  const float unit2 = mul_rn(unit, unit);
  const float qnan = f32_from_bits(kCanonicalNanBits);
  constexpr uint32_t lbo = 128, sbo = (D / 16) * 128;  // K-adjacent, N-adjacent core matrices

  int it = 0;
  for (int64_t tile = lo; tile < hi; tile += kTN, ++it) {
    const int n = hi - tile < kTN ? int(hi - tile) : kTN;
    const int buf = it & 1;
    cp_async_wait_all();
    __syncthreads();  // this tile's bytes are in; the previous tile's readers are done
    if (tile + kTN < hi) issue_tile_wg<KS>(sh, buf ^ 1, tokens, r, tile + kTN, hi - tile - kTN < kTN ? int(hi - tile - kTN) : kTN, lo);
    // Decode into the core-matrix layout; consecutive lanes take consecutive tokens (no bank conflicts).
    for (int idx = tid; idx < kTN * kChunks16; idx += nthreads) {
      const int x = idx % kTN, c = idx / kTN;
      const uint4 v = *reinterpret_cast<const uint4*>(&sh.raw[buf][x * D + c * 16]);
      const uint32_t raw[4] = {v.x, v.y, v.z, v.w};
      uint32_t limbs[3][4], nan = 0;
#pragma unroll
      for (int wd = 0; wd < 4; ++wd) {
        uint32_t e[4], w[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) e[i] = sh.lut[(raw[wd] >> (8 * i)) & 0xFFu];
        transpose_limbs(e, w);
        nan |= w[3];
#pragma unroll
        for (int l = 0; l < 3; ++l) limbs[l][wd] = w[l];
      }
#pragma unroll
      for (int l = 0; l < 3; ++l)
        *reinterpret_cast<uint4*>(&sh.limbs[l][core_offset<D>(x, c)]) =
            make_uint4(limbs[l][0], limbs[l][1], limbs[l][2], limbs[l][3]);
      if (nan != 0) atomicOr(&sh.tok_nan[x], 1u);
    }
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");  // st.shared -> wgmma reads
    __syncthreads();

    for (int h0 = 0; h0 < kTN && h0 < n; h0 += kHalf) {
      int32_t acc[5][16];
#pragma unroll
      for (int i = 0; i < 5; ++i)
#pragma unroll
        for (int j = 0; j < 16; ++j) acc[i][j] = 0;
      wgmma_fence();
#pragma unroll
      for (int kk = 0; kk < KS; ++kk) {
        const int off = (h0 / 8) * (D / 16) * 128 + kk * 2 * 128;  // token row-group h0/8, K piece 2*kk
        const uint64_t b0 = smem_desc(&sh.limbs[0][off], lbo, sbo), b1 = smem_desc(&sh.limbs[1][off], lbo, sbo),
                       b2 = smem_desc(&sh.limbs[2][off], lbo, sbo);
        wgmma_s8(acc[0], A[0][kk], b0);
        wgmma_s8(acc[1], A[0][kk], b1);
        wgmma_s8(acc[2], A[0][kk], b2);
        wgmma_s8(acc[3], A[1][kk], b2);
        wgmma_s8(acc[4], A[2][kk], b2);
        wgmma_s8(acc[1], A[1][kk], b0);
        wgmma_s8(acc[2], A[1][kk], b1);
        wgmma_s8(acc[3], A[2][kk], b1);
        wgmma_s8(acc[2], A[2][kk], b0);
      }
      wgmma_commit();
      wgmma_wait();
#pragma unroll
      for (int j = 0; j < kHalf / 8; ++j) {
        const int x0 = h0 + 8 * j + 2 * tig;  // tokens x0, x0 + 1
        const uint32_t knan0 = sh.tok_nan[x0], knan1 = sh.tok_nan[x0 + 1];
        float t[4];
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          // Exact sum = U + 2^14 * T, both in int32 (bounds: logits_fast.hip).
          const int32_t T = acc[2][4 * j + e] + 128 * (acc[3][4 * j + e] + 128 * acc[4][4 * j + e]);
          const int32_t U = acc[0][4 * j + e] + 128 * acc[1][4 * j + e];
          const int64_t sum = int64_t(T) * 16384 + U;
          const bool is_nan = ((e & 1) ? knan1 : knan0) != 0 || (e < 2 ? nan_lo : nan_hi) != 0;
          const float ah = is_nan ? qnan : mul_rn(__ll2float_rn(sum), unit2);
          t[e] = head_term(ah, e < 2 ? w_lo : w_hi);
        }
        float t0 = add_rn(t[0], t[2]), t1 = add_rn(t[1], t[3]);
#pragma unroll
        for (int m = 16; m >= 4; m /= 2) {
          t0 = add_rn(t0, __shfl_xor_sync(0xFFFFFFFFu, t0, m));
          t1 = add_rn(t1, __shfl_xor_sync(0xFFFFFFFFu, t1, m));
        }
        if (g == 0) {
          sh.part[warp][x0] = t0;
          sh.part[warp][x0 + 1] = t1;
        }
      }
    }
    __syncthreads();
    for (int x = tid; x < kTN; x += nthreads) {
      if (x < n) {
        float v[kMaxWarps];
#pragma unroll
        for (int i = 0; i < kMaxWarps; ++i) v[i] = i < W ? sh.part[i][x] : 0.0f;
#pragma unroll
        for (int step = kMaxWarps / 2; step >= 1; step /= 2)
          if (step < W)
#pragma unroll
            for (int i = 0; i < step; ++i) v[i] = add_rn(v[i], v[i + step]);
        out[tile + x] = final_logit(v[0], sh.raw_scale[buf][x]);
      }
      sh.tok_nan[x] = 0;  // read again only after the next tile's decode (two barriers later)
    }
  }
}


template <class Tokens>
void launch_wg(const LogitsDeviceArgs& a, const Tokens& t, hipStream_t stream) {
  const dim3 grid(unsigned(a.rows), unsigned((a.cols + kChunk - 1) / kChunk));
  const dim3 block(unsigned(32 * (a.heads / 16)));
  switch (a.head_dim) {
    case 32: hipLaunchKernelGGL((logits_wgmma_kernel<1, Tokens>), grid, block, 0, stream, a, t); break;
    case 64: hipLaunchKernelGGL((logits_wgmma_kernel<2, Tokens>), grid, block, 0, stream, a, t); break;
    default: hipLaunchKernelGGL((logits_wgmma_kernel<4, Tokens>), grid, block, 0, stream, a, t); break;
  }
}

}  // namespace

// Opt-in (environment MQA_FAST_KERNEL=wgmma): bit-exact in every sweep, but 10% slower than the
// mma.sync kernel as it stands (device/README.md, performance log). Kept, verified by
// scripts/device_check.sh, as the base for the next performance issue.
bool wgmma_fits(int32_t heads, int32_t head_dim) {
  static const bool on = [] {
    const char* e = std::getenv("MQA_FAST_KERNEL");
    return e != nullptr && std::string(e) == "wgmma";
  }();
  return on && (heads == 64 || heads == 128) && (head_dim == 32 || head_dim == 64 || head_dim == 128);
}
void launch_paged_logits_wgmma(const LogitsDeviceArgs& a, const PagedTokens& t, hipStream_t s) { launch_wg(a, t, s); }
void launch_ragged_logits_wgmma(const LogitsDeviceArgs& a, const RaggedTokens& t, hipStream_t s) { launch_wg(a, t, s); }

#else  // not built for sm_90a, or not NVIDIA

bool wgmma_fits(int32_t, int32_t) { return false; }
void launch_paged_logits_wgmma(const LogitsDeviceArgs&, const PagedTokens&, hipStream_t) {
  throw DeviceError("the wgmma logits kernel is not built");
}
void launch_ragged_logits_wgmma(const LogitsDeviceArgs&, const RaggedTokens&, hipStream_t) {
  throw DeviceError("the wgmma logits kernel is not built");
}

#endif

}  // namespace mqa::device::detail
