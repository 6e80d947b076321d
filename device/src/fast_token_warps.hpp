// The token-warp mma.sync logits kernel (`tw3`, the default; NVIDIA only; included by logits_fast.hip).
// Same exact int8-limb arithmetic as the lean kernel (see logits_fast.hip), arranged the other
// way round: the mma M dimension is 16 TOKENS and N is 8 HEADS. Every warp of a block owns its
// own 16 tokens of each 64-token step and all heads of the row, so
//  - a warp decodes its tokens' fp8 codes straight from its raw bytes into A-fragment registers
//    (no limb planes in shared memory, no B-fragment loads of them, no barrier between decode and
//    MMA), and copies its own tokens (cp.async, warp-level waits): the warps of a block never
//    synchronise inside the token loop, so one warp's decode overlaps another's MMAs;
//  - q's limbs (B operands) are built once per block, in fragment order (one 16-byte and one
//    8-byte shared load per n-tile and k-step);
//  - the whole head tree stays inside a warp: steps H/2 .. 8 combine n-tiles held by the same
//    thread (n-tiles visited in bit-reversed order, a binary counter of partial sums), steps 4
//    and 2 are lane shuffles, step 1 adds the thread's two columns. No cross-warp reduction.
// The k order inside a 32-wide mma step is free (int32 sums are exact in any order), so thread
// tig's A words are the contiguous bytes [tig * 8 * KS, (tig + 1) * 8 * KS) of a token (two
// 16-byte loads for D = 128); q's B words follow the same permutation.
// Covers heads 16, 32, 64 where tokens.direct_ok() (pages cached, 16-byte aligned copies).
#pragma once
#include "fast_limbs.hpp"

#if MQA_PLATFORM_NVIDIA
namespace mqa::device::detail::fast {

constexpr int kTwWarps = 4;                     // warps per block
constexpr int kTwTokens = 16;                   // tokens per warp step (the mma M tile)
constexpr int kTwStep = kTwWarps * kTwTokens;   // tokens per block step

template <int KS, int kH>
struct TokenWarpShared {
  static constexpr int D = 32 * KS;
  static constexpr int kRawRow = D + 16;  // padded rows: conflict-free 16-byte A-word loads
  static constexpr int kNTiles = kH / 8;
  uint4 qf01[kNTiles][KS][32];  // q limbs 0, 1 in B-fragment order {l0 b0, l0 b1, l1 b0, l1 b1}
  uint2 qf2[kNTiles][KS][32];   // q limb 2 {b0, b1}
  uint8_t raw[kTwWarps][2][kTwTokens * kRawRow];  // each warp's tokens, double buffered
  float raw_scale[kTwWarps][2][kTwTokens];
  uint32_t lut[256];
  float w[kH];
  int32_t pages[kMaxChunkPages];
};

MQA_HD constexpr int tw_log2(int v) { return v <= 1 ? 0 : 1 + tw_log2(v / 2); }
MQA_HD constexpr int tw_bitrev(int v, int bits) {
  int r = 0;
  for (int i = 0; i < bits; ++i) r |= ((v >> i) & 1) << (bits - 1 - i);
  return r;
}

// Copy tokens [first, first + n) (n <= 16, zeros past n) into this warp's buffer `buf`. Shared:
// the kernel's shared memory (raw, raw_scale, pages, kRawRow; tw3's and twg's).
template <int KS, class Shared, class Tokens>
__device__ inline void tw_issue(Shared& sh, int warp, int lane, int buf, const Tokens& tokens, int64_t first, int n,
                                int64_t lo, const typename Tokens::BlockCursor& bc, int64_t piece) {
  constexpr int kChunks16 = 2 * KS, step = 32 / kChunks16, kRawRow = Shared::kRawRow;
  const int c = lane % kChunks16, x0 = lane / kChunks16;
#pragma unroll
  for (int k = 0; k < kTwTokens / step; ++k) {
    const int x = x0 + k * step;
    const bool live = x < n;
    const TokenAddress at = tokens.token_at_cached(live ? first + x : lo, sh.pages, bc);
    cp_async16_zfill(&sh.raw[warp][buf][x * kRawRow + c * 16], tokens.value_at(at, piece), live);
    if (c == 0) cp_async4_zfill(&sh.raw_scale[warp][buf][x], tokens.scale_at(at, bc), live);
  }
  cp_async_commit();
}

// q's limbs for one B-fragment slot idx = (nt * KS + kk) * 32 + lane, in B-fragment order; word b
// of (n-tile nt, k-step kk, lane) = codes of head nt*8 + lane/4 at bytes (lane%4) * 8KS +
// (2kk + b) * 4 .. + 3 (the permuted k order). tw_q_word_ptr: where word b's 4 codes are.
template <int KS>
__device__ inline const uint8_t* tw_q_word_ptr(const uint8_t* q, int idx, int b) {
  constexpr int D = 32 * KS;
  const int ln = idx % 32, kk = (idx / 32) % KS, nt = idx / (32 * KS);
  return q + (nt * 8 + ln / 4) * D + (ln % 4) * 8 * KS + (2 * kk + b) * 4;
}
// Builds slot idx from its two q words x[0], x[1] (4 codes each, code i in byte i); returns the NaN flags.
template <int KS, int kH>
__device__ inline uint32_t tw_build_q_slot_words(TokenWarpShared<KS, kH>& sh, int idx, const uint32_t x[2]) {
  const int ln = idx % 32, kk = (idx / 32) % KS, nt = idx / (32 * KS);
  uint32_t wv[2][4], nan = 0;
#pragma unroll
  for (int b = 0; b < 2; ++b) {
    uint32_t e[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) e[i] = sh.lut[(x[b] >> (8 * i)) & 0xFFu];
    transpose_limbs(e, wv[b]);
    nan |= wv[b][3];
  }
  sh.qf01[nt][kk][ln] = make_uint4(wv[0][0], wv[1][0], wv[0][1], wv[1][1]);
  sh.qf2[nt][kk][ln] = make_uint2(wv[0][2], wv[1][2]);
  return nan;
}
// q words from possibly unaligned bytes (a q row not 4-byte aligned).
template <int KS>
__device__ inline void tw_q_words_bytes(const uint8_t* q, int idx, uint32_t x[2]) {
#pragma unroll
  for (int b = 0; b < 2; ++b) {
    const uint8_t* qp = tw_q_word_ptr<KS>(q, idx, b);
    x[b] = uint32_t(qp[0]) | (uint32_t(qp[1]) << 8) | (uint32_t(qp[2]) << 16) | (uint32_t(qp[3]) << 24);
  }
}
template <int KS>
__device__ inline void tw_q_words_aligned(const uint8_t* q, int idx, uint32_t x[2]) {
#pragma unroll
  for (int b = 0; b < 2; ++b) x[b] = *reinterpret_cast<const uint32_t*>(tw_q_word_ptr<KS>(q, idx, b));
}

// The q-limb build is unrolled at compile time with 4-byte q loads issued before the block's
// first barrier, so their round trip overlaps the block-table, weight and limb-table set-up
// (tw3; tw1 and tw2, which loaded q later, are in git history and device/PERFORMANCE.md).
template <int KS, int kH, class Tokens>
__global__ void __launch_bounds__(32 * kTwWarps, 4) logits_token_warp_kernel(LogitsDeviceArgs a, Tokens tokens) {
  using Shared = TokenWarpShared<KS, kH>;
  constexpr int D = 32 * KS, kNTiles = Shared::kNTiles, kRawRow = Shared::kRawRow, kThreads = 32 * kTwWarps;
  constexpr int kPairs = kNTiles / 2, kLevels = tw_log2(kPairs) + 1, kBits = tw_log2(kNTiles);
  __shared__ __align__(16) Shared sh;

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
  if (lo >= hi) return;

  constexpr int kQSlots = Shared::kNTiles * KS * 32, kQIters = (kQSlots + kThreads - 1) / kThreads;
  const uint8_t* q = a.q + int64_t(r) * kH * D;
  const bool q_aligned = (reinterpret_cast<uintptr_t>(q) & 3u) == 0;
  uint32_t qx[kQIters][2];
  if (q_aligned)
#pragma unroll
    for (int j = 0; j < kQIters; ++j)
      if (kQSlots % kThreads == 0 || tid + j * kThreads < kQSlots) tw_q_words_aligned<KS>(q, tid + j * kThreads, qx[j]);
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

  uint32_t q_nan = 0;
  if (q_aligned) {
#pragma unroll
    for (int j = 0; j < kQIters; ++j)
      if (kQSlots % kThreads == 0 || tid + j * kThreads < kQSlots)
        q_nan |= tw_build_q_slot_words<KS, kH>(sh, tid + j * kThreads, qx[j]);
  } else {
    for (int idx = tid; idx < kQSlots; idx += kThreads) {
      uint32_t x[2];
      tw_q_words_bytes<KS>(q, idx, x);
      q_nan |= tw_build_q_slot_words<KS, kH>(sh, idx, x);
    }
  }
  // A NaN code in q makes every logit of the row NaN (that head's a_h is NaN for every token).
  const bool row_nan = __syncthreads_or(int(q_nan != 0)) != 0;
  const float unit = fp8_decode(1, a.encoding);
  const float unit2 = mul_rn(unit, unit);  // 2^-18 or 2^-20, exact
  const float qnan = f32_from_bits(kCanonicalNanBits);

  int it = 0;
  for (int64_t tile = lo; tile < hi; tile += kTwStep, ++it) {
    const int buf = it & 1;
    const int64_t first = tile + kTwTokens * warp;
    const int n = first < hi ? (hi - first < kTwTokens ? int(hi - first) : kTwTokens) : 0;
    cp_async_wait_all();
    __syncwarp();  // this step's bytes are in (all lanes); the previous step's reads are done
    if (tile + kTwStep < hi) {
      const int64_t f2 = first + kTwStep;
      const int n2 = f2 < hi ? (hi - f2 < kTwTokens ? int(hi - f2) : kTwTokens) : 0;
      tw_issue<KS>(sh, warp, lane, buf ^ 1, tokens, f2, n2, lo, cursor, piece);
    }
    if (n == 0) continue;  // warp-uniform

    // Decode: rows g and g+8 of the A tile (tokens), words 2kk + b of this lane's k range.
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
    // A token is NaN when any of its codes is: OR over the 4 lanes holding its k range.
    tok_nan_bits |= __shfl_xor_sync(0xFFFFFFFFu, tok_nan_bits, 1);
    tok_nan_bits |= __shfl_xor_sync(0xFFFFFFFFu, tok_nan_bits, 2);

    float part[kLevels][4];  // binary counter of head-tree partial sums
#pragma unroll
    for (int p = 0; p < kPairs; ++p) {
      // n-tiles in bit-reversed order: pair p holds nt and nt + kNTiles/2 (tree step H/2);
      // consecutive pairs then differ in the next bit (steps H/4, ...).
      const int nt_pair[2] = {tw_bitrev(2 * p, kBits), tw_bitrev(2 * p, kBits) + kNTiles / 2};
      int32_t acc[2][5][4];
#pragma unroll
      for (int u = 0; u < 2; ++u)
#pragma unroll
        for (int i = 0; i < 5; ++i) acc[u][i][0] = acc[u][i][1] = acc[u][i][2] = acc[u][i][3] = 0;
#pragma unroll
      for (int kk = 0; kk < KS; ++kk) {
        uint32_t B[2][3][2];
#pragma unroll
        for (int u = 0; u < 2; ++u) {
          const uint4 b01 = sh.qf01[nt_pair[u]][kk][lane];
          const uint2 b2 = sh.qf2[nt_pair[u]][kk][lane];
          B[u][0][0] = b01.x, B[u][0][1] = b01.y, B[u][1][0] = b01.z, B[u][1][1] = b01.w;
          B[u][2][0] = b2.x, B[u][2][1] = b2.y;
        }
        mma_limb_step<2, KS>(acc, A, kk, B);
      }
      float t[2][4];
#pragma unroll
      for (int u = 0; u < 2; ++u) {
        // C element e: token g (e < 2) or g + 8, head nt*8 + 2*tig + (e & 1).
        const float2 wh = *reinterpret_cast<const float2*>(&sh.w[nt_pair[u] * 8 + 2 * tig]);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int64_t sum = exact_limb_sum(acc[u], e);
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
    float S[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) S[e] = part[kLevels - 1][e];
#pragma unroll
    for (int m = 2; m >= 1; m /= 2)  // steps 4, 2: head columns 2*tig + c across lanes
#pragma unroll
      for (int e = 0; e < 4; ++e) S[e] = add_rn(S[e], __shfl_xor_sync(0xFFFFFFFFu, S[e], m));
    const float s_lo = add_rn(S[0], S[1]), s_hi = add_rn(S[2], S[3]);  // step 1
    if (tig < 2) {
      const int x = g + 8 * tig;  // lane tig 0 writes token g, tig 1 token g + 8
      if (x < n) {
        const float logit = final_logit(tig ? s_hi : s_lo, sh.raw_scale[warp][buf][x]);
        out[first + x] = row_nan || ((tok_nan_bits >> tig) & 1u) != 0 ? qnan : logit;
      }
    }
  }
}

}  // namespace mqa::device::detail::fast
#endif
