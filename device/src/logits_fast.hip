// The NVIDIA fast path of the exact MQA logits (a clearly fenced per-vendor path: on AMD this
// file compiles to "not available"): the lean kernel (`lean2`, the fallback) and the launchers of
// both fast kernels; the default kernel (`tw3`) is in fast_token_warps.hpp, the shared limb
// arithmetic in fast_limbs.hpp, the choice of kernel in logits_host.hip (choose_kernel).
// Bit-identical to the generic kernel by construction:
//
// An fp8 code is an integer X times the format's smallest subnormal u (2^-9 e4m3fn, 2^-10
// fnuz), |X| < 2^18. Split |X| = L0 + L1*2^7 + L2*2^14 with L0, L1 < 128 and L2 < 16, each limb
// carrying X's sign: three int8 limbs. Then q.k = u^2 * sum_{i,j} 2^(7(i+j)) sum_d Lq_i Lk_j,
// and every inner sum is an exact int32 tensor-core product (|sum| < 3 * 127^2 * 128 < 2^31).
// Combining the five shift groups in int64 gives the exact dot product; __ll2float_rn rounds
// it once and the scaling by u^2 is exact. NaN codes contribute 0 limbs and a flag instead.
//
// Lean kernel: block = (row, chunk of kChunk columns), W = heads/16 warps. Warp w holds the 16
// heads w + W*m (m = 0..15) as the 16 rows of its mma A operand (registers, all of D), so that
// the steps H/2 .. W of the head tree stay inside the warp (rows m, m+8 in one thread; then
// lanes xor 16, 8, 4) and only the steps W/2 .. 1 cross warps, through shared memory.
#include <string>

#include "device_common.hpp"
#include "epilogue.hpp"
#include "logits_launch.hpp"
#include "fast_limbs.hpp"
#include "fast_token_warps.hpp"

namespace mqa::device::detail {

#if MQA_PLATFORM_NVIDIA

namespace {

using namespace fast;

template <int KS>
struct FastShared {
  static constexpr int D = 32 * KS;
  static constexpr int kRow = D + 16;  // padded limb row: conflict-free B fragment loads
  uint8_t raw[2][kTN * D];             // fp8 codes of the tile (double buffered)
  float raw_scale[2][kTN];
  int8_t limbs[3][kTN * kRow];         // B operands: limb planes, token-major
  uint32_t lut[256];
  int32_t pages[kMaxChunkPages];  // block-table entries of [lo, hi) (PagedTokens)
  float part[kMaxWarps][kTN];          // per-warp head-tree partials
  alignas(8) uint8_t piece_nan[kTN * 8];  // NaN flag of each 16-code piece of each token
};

// Any of the N NaN flags of one token's pieces (N = 2, 4 or 8 bytes, aligned to N).
template <int N>
__device__ inline bool any_piece_nan(const uint8_t* p) {
  if constexpr (N == 8) {
    const uint2 v = *reinterpret_cast<const uint2*>(p);
    return (v.x | v.y) != 0;
  } else if constexpr (N == 4) {
    return *reinterpret_cast<const uint32_t*>(p) != 0;
  } else {
    return *reinterpret_cast<const uint16_t*>(p) != 0;
  }
}

// Start copying tile [tile, tile + n) of row r into buffer `buf` (zeros past n), without
// divisions: thread tid always copies byte piece tid % kChunks16 (its offset `piece` computed
// once), of tokens tid / kChunks16 + k * step; the thread of piece 0 also copies the token's scale
// from the same page address. Where tokens.direct_ok(), a fixed trip count and zero-filling
// copies instead of branches, so the unrolled iterations' address arithmetic overlaps.
template <int KS, int kThreads, class Tokens>
__device__ void issue_tile(FastShared<KS>& sh, int buf, const Tokens& tokens, int32_t r, int64_t tile, int n,
                                const typename Tokens::BlockCursor& bc, int64_t piece) {
  constexpr int D = 32 * KS, kChunks16 = D / 16, step = kThreads / kChunks16;
  const int tid = int(threadIdx.x), c = tid % kChunks16;
  if constexpr (step <= kTN && kTN % step == 0) {
    if (tokens.direct_ok()) {
      const int x0 = tid / kChunks16;  // < step: every x below is < kTN
#pragma unroll
      for (int k = 0; k < kTN / step; ++k) {
        const int x = x0 + k * step;
        const bool live = x < n;
        const TokenAddress at = tokens.token_at_cached(tile + (live ? x : 0), sh.pages, bc);
        cp_async16_zfill(&sh.raw[buf][x * D + c * 16], tokens.value_at(at, piece), live);
        if (c == 0) cp_async4_zfill(&sh.raw_scale[buf][x], tokens.scale_at(at, bc), live);
      }
      cp_async_commit();
      return;
    }
  }
#pragma unroll
  for (int x = tid / kChunks16; x < kTN; x += step) {
    uint8_t* dst = &sh.raw[buf][x * D + c * 16];
    if (x >= n) {
      *reinterpret_cast<uint4*>(dst) = make_uint4(0u, 0u, 0u, 0u);
      if (c == 0) sh.raw_scale[buf][x] = 0.0f;
      continue;
    }
    const TokenAddress at = tokens.token_at(r, tile + x, sh.pages, bc);
    const uint8_t* src = tokens.value_at(at, piece);
    const uint8_t* scale_src = tokens.scale_at(at, bc);
    if (tokens.vector_ok) {
      cp_async16(dst, src);
    } else {
      for (int i = 0; i < 16; ++i) dst[i] = src[i];
    }
    if (c == 0) cp_async4(&sh.raw_scale[buf][x], scale_src);
  }
  cp_async_commit();
}

// Block-level minimum for __launch_bounds__: with kW >= 2 warps a block is held to 128 registers
// a thread (16 / kW blocks of 32 * kW threads fill the register file): more would drop the 4
// blocks per SM that shared memory allows for heads = 64.
constexpr int lean_min_blocks(int w) { return w > 1 ? 16 / w : 4; }

// The lean kernel: the fallback of the token-warp kernel (fast_token_warps.hpp) for heads 128,
// pages of fewer than 16 tokens and unaligned copies. KS = head_dim / 32 mma k-steps; NT =
// n-tiles (8 tokens each) a warp works on at once; kW = heads / 16 warps. What makes it lean
// (measured against the first kernel, device/PERFORMANCE.md; the earlier kernels are in git history):
//  - division-free copies (PagedTokens::token_at), branch-free unrolled where direct_ok;
//  - NaN decided per row (a NaN code in q makes every logit of the row NaN: that head's a_h is
//    NaN for every token) and per token (a NaN code in k makes every a_h NaN), applied to the
//    final logit instead of testing every (head, token) element; the decode writes a NaN flag
//    per 16-code piece, OR-ed per token in the final stage;
//  - fixed trip counts (kW at compile time), so the copy, decode and reduction loops unroll (ncu:
//    the kernel is latency-bound, so independent iterations must overlap).
template <int KS, int NT, int kW, class Tokens>
__global__ void __launch_bounds__(32 * kW, lean_min_blocks(kW))
    logits_fast_kernel(LogitsDeviceArgs a, Tokens tokens) {
  constexpr int D = 32 * KS;
  constexpr int kRow = FastShared<KS>::kRow;
  constexpr int kChunks16 = D / 16;  // 16-byte pieces of a token's vector
  __shared__ __align__(16) FastShared<KS> sh;

  const int32_t r = int32_t(blockIdx.x);
  const int64_t c0 = int64_t(blockIdx.y) * kChunk;
  const int64_t c1 = c0 + kChunk < a.cols ? c0 + kChunk : a.cols;
  const RowSpan span = a.spans[r];
  float* out = a.out + int64_t(r) * a.out_stride;
  const int tid = int(threadIdx.x);
  constexpr int nthreads = 32 * kW;
  if (a.clean)
    for (int64_t c = c0 + tid; c < c1; c += nthreads)
      if (c < span.begin || c >= span.end) out[c] = neg_inf();
  const int64_t lo = c0 > span.begin ? c0 : span.begin;
  const int64_t hi = c1 < span.end ? c1 : span.end;
  if (lo >= hi) return;

  for (int64_t i = tid; i < tokens.pages_needed(lo, hi); i += nthreads) sh.pages[i] = tokens.page_entry(r, lo, i);
  __syncthreads();
  const auto cursor = tokens.block_cursor(lo);
  const int64_t piece = tokens.piece_offset(int32_t(tid % kChunks16) * 16);
  issue_tile<KS, nthreads>(sh, 0, tokens, r, lo, hi - lo < kTN ? int(hi - lo) : kTN, cursor, piece);
  for (int i = tid; i < 256; i += nthreads) sh.lut[i] = limb_entry(uint8_t(i), a.encoding);
  __syncthreads();

  const int H = a.heads;
  constexpr int W = kW;
  const int warp = tid / 32, lane = tid % 32, g = lane / 4, tig = lane % 4;
  const int head_lo = warp + W * g, head_hi = warp + W * (g + 8);  // mma rows g and g+8
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
  // A head is NaN when any of its D codes is: OR over the 4 lanes that hold its pieces.
  nan_lo |= __shfl_xor_sync(0xFFFFFFFFu, nan_lo, 1);
  nan_lo |= __shfl_xor_sync(0xFFFFFFFFu, nan_lo, 2);
  nan_hi |= __shfl_xor_sync(0xFFFFFFFFu, nan_hi, 1);
  nan_hi |= __shfl_xor_sync(0xFFFFFFFFu, nan_hi, 2);
  const float w_lo = a.weights[int64_t(r) * H + head_lo], w_hi = a.weights[int64_t(r) * H + head_hi];
  const float unit = fp8_decode(1, a.encoding);
  const float unit2 = mul_rn(unit, unit);  // 2^-18 or 2^-20, exact
  const float qnan = f32_from_bits(kCanonicalNanBits);
  const bool row_nan = __syncthreads_or(int((nan_lo | nan_hi) != 0)) != 0;

  int it = 0;
  for (int64_t tile = lo; tile < hi; tile += kTN, ++it) {
    const int n = hi - tile < kTN ? int(hi - tile) : kTN;
    const int buf = it & 1;
    cp_async_wait_all();
    __syncthreads();  // this tile's bytes are in; the previous tile's readers are done
    if (tile + kTN < hi) {
      const int n_next = hi - tile - kTN < kTN ? int(hi - tile - kTN) : kTN;
      issue_tile<KS, nthreads>(sh, buf ^ 1, tokens, r, tile + kTN, n_next, cursor, piece);
    }
    // Decode codes -> limb planes; a token's NaN flag is the OR over its kChunks16 lanes.
#pragma unroll 16
    for (int base = 0; base < kTN * kChunks16; base += nthreads) {
      const int idx = base + tid;
      const bool active = idx < kTN * kChunks16;
      const int x = idx / kChunks16, c = idx % kChunks16;
      uint32_t nan = 0;
      if (active) {
        const uint4 v = *reinterpret_cast<const uint4*>(&sh.raw[buf][x * D + c * 16]);
        const uint32_t raw[4] = {v.x, v.y, v.z, v.w};
        uint32_t limbs[3][4];
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
          *reinterpret_cast<uint4*>(&sh.limbs[l][x * kRow + c * 16]) =
              make_uint4(limbs[l][0], limbs[l][1], limbs[l][2], limbs[l][3]);
      }
      if (active) sh.piece_nan[idx] = uint8_t(nan != 0);  // OR-ed per token in the final stage
    }
    __syncthreads();

    for (int nt0 = 0; nt0 * 8 < n; nt0 += NT) {
      // NT independent n-tiles per step: their MMA chains and epilogues interleave (ILP).
      // One accumulator per shift group 7*(i+j); the nine limb-pair products are issued so that
      // consecutive ones feed different accumulators.
      int32_t acc[NT][5][4];
#pragma unroll
      for (int u = 0; u < NT; ++u)
#pragma unroll
        for (int i = 0; i < 5; ++i) acc[u][i][0] = acc[u][i][1] = acc[u][i][2] = acc[u][i][3] = 0;
#pragma unroll
      for (int kk = 0; kk < KS; ++kk) {
        uint32_t B[NT][3][2];
#pragma unroll
        for (int u = 0; u < NT; ++u)
#pragma unroll
          for (int l = 0; l < 3; ++l)
#pragma unroll
            for (int h = 0; h < 2; ++h)  // B operand column = token (nt0 + u)*8 + g
              B[u][l][h] = *reinterpret_cast<const uint32_t*>(
                  &sh.limbs[l][((nt0 + u) * 8 + g) * kRow + kk * 32 + h * 16 + tig * 4]);
        mma_limb_step<NT, KS>(acc, A, kk, B);
      }
#pragma unroll
      for (int u = 0; u < NT; ++u) {
        const int nt = nt0 + u;
        // C element e: mma row g (e < 2) or g+8, token nt*8 + 2*tig + (e & 1).
        float t[4];
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int64_t sum = exact_limb_sum(acc[u], e);
          t[e] = head_term_finite(mul_rn(__ll2float_rn(sum), unit2), e < 2 ? w_lo : w_hi);
        }
        // Tree steps H/2 (rows m and m+8: same thread), H/4, H/8, H/16 (lanes xor 16, 8, 4).
        float t0 = add_rn(t[0], t[2]), t1 = add_rn(t[1], t[3]);
#pragma unroll
        for (int m = 16; m >= 4; m /= 2) {
          t0 = add_rn(t0, __shfl_xor_sync(0xFFFFFFFFu, t0, m));
          t1 = add_rn(t1, __shfl_xor_sync(0xFFFFFFFFu, t1, m));
        }
        if (g == 0) {
          sh.part[warp][nt * 8 + 2 * tig] = t0;
          sh.part[warp][nt * 8 + 2 * tig + 1] = t1;
        }
      }
    }
    __syncthreads();
    // Tree steps W/2 .. 1 across warps, then the token scale.
    for (int x = tid; x < n; x += nthreads) {
      float v[kMaxWarps];
#pragma unroll
      for (int i = 0; i < kMaxWarps; ++i) v[i] = i < W ? sh.part[i][x] : 0.0f;
#pragma unroll
      for (int step = kMaxWarps / 2; step >= 1; step /= 2)
        if (step < W)
#pragma unroll
          for (int i = 0; i < step; ++i) v[i] = add_rn(v[i], v[i + step]);
      const float logit = final_logit(v[0], sh.raw_scale[buf][x]);
      const bool tok_nan = any_piece_nan<kChunks16>(&sh.piece_nan[x * kChunks16]);
      out[tile + x] = row_nan || tok_nan ? qnan : logit;
    }
  }
}

template <int kH, class Tokens>
void launch_token_warps_dim(const LogitsDeviceArgs& a, const Tokens& t, dim3 grid, hipStream_t stream) {
  const dim3 block(unsigned(32 * kTwWarps));
  switch (a.head_dim) {
    case 32: hipLaunchKernelGGL((logits_token_warp_kernel<1, kH, Tokens>), grid, block, 0, stream, a, t); break;
    case 64: hipLaunchKernelGGL((logits_token_warp_kernel<2, kH, Tokens>), grid, block, 0, stream, a, t); break;
    default: hipLaunchKernelGGL((logits_token_warp_kernel<4, kH, Tokens>), grid, block, 0, stream, a, t); break;
  }
}

template <class Tokens>
void launch_token_warps(const LogitsDeviceArgs& a, const Tokens& t, dim3 grid, hipStream_t stream) {
  switch (a.heads) {
    case 16: return launch_token_warps_dim<16>(a, t, grid, stream);
    case 32: return launch_token_warps_dim<32>(a, t, grid, stream);
    default: return launch_token_warps_dim<64>(a, t, grid, stream);
  }
}

template <int kW, class Tokens>
void launch_lean(const LogitsDeviceArgs& a, const Tokens& t, dim3 grid, hipStream_t stream) {
  // Two n-tiles per warp step: measured 1% faster than one on the H100 (device_bench).
  const dim3 block(unsigned(32 * kW));
  switch (a.head_dim) {
    case 32: hipLaunchKernelGGL((logits_fast_kernel<1, 2, kW, Tokens>), grid, block, 0, stream, a, t); break;
    case 64: hipLaunchKernelGGL((logits_fast_kernel<2, 2, kW, Tokens>), grid, block, 0, stream, a, t); break;
    default: hipLaunchKernelGGL((logits_fast_kernel<4, 2, kW, Tokens>), grid, block, 0, stream, a, t); break;
  }
}

template <class Tokens>
void launch_fast(const LogitsDeviceArgs& a, const Tokens& t, LogitsKernel kernel, hipStream_t stream) {
  if (a.rows == 0 || a.cols == 0) return;
  const dim3 grid(unsigned(a.rows), unsigned((a.cols + kChunk - 1) / kChunk));
  if (kernel == LogitsKernel::token_warps) return launch_token_warps(a, t, grid, stream);
  switch (a.heads) {
    case 16: return launch_lean<1>(a, t, grid, stream);
    case 32: return launch_lean<2>(a, t, grid, stream);
    case 64: return launch_lean<4>(a, t, grid, stream);
    default: return launch_lean<8>(a, t, grid, stream);
  }
}

}  // namespace

void launch_paged_logits_fast(const LogitsDeviceArgs& a, const PagedTokens& t, LogitsKernel kernel, hipStream_t stream) {
  launch_fast(a, t, kernel, stream);
}
void launch_ragged_logits_fast(const LogitsDeviceArgs& a, const RaggedTokens& t, LogitsKernel kernel, hipStream_t stream) {
  launch_fast(a, t, kernel, stream);
}

#else  // no fast path on this platform

void launch_paged_logits_fast(const LogitsDeviceArgs&, const PagedTokens&, LogitsKernel, hipStream_t) {
  throw DeviceError("no fast logits path on this platform");
}
void launch_ragged_logits_fast(const LogitsDeviceArgs&, const RaggedTokens&, LogitsKernel, hipStream_t) {
  throw DeviceError("no fast logits path on this platform");
}

#endif

}  // namespace mqa::device::detail

namespace mqa::device {
bool fast_path_compiled() { return MQA_PLATFORM_NVIDIA != 0; }
bool fast_path_fits(int32_t heads, int32_t head_dim) {
  return fast_path_compiled() && (heads == 16 || heads == 32 || heads == 64 || heads == 128) &&
         (head_dim == 32 || head_dim == 64 || head_dim == 128);
}
}  // namespace mqa::device
