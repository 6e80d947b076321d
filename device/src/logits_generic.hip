// The generic exact MQA-logits kernel: portable HIP (no warp intrinsics, any wavefront size),
// any heads (power of two <= 128) and head_dim (<= 128). Dot products accumulate decoded fp8
// products in fp64, which is exact in any order (numerics.md: every product is a multiple of
// 2^-18 (2^-20 fnuz) below 2^18, so every partial sum of <= 2^10 of them fits 53 bits); the
// single rounding to fp32 is __double2float_rn. The epilogue is epilogue.hpp's.
//
// Block = (row, chunk of kChunk columns). Inside: tiles of kTile tokens; thread p computes the
// (token, head) pairs p, p+128, ...; the head tree runs in shared memory, step by step.
#include "device_common.hpp"
#include "epilogue.hpp"
#include "logits_launch.hpp"

namespace mqa::device::detail {

namespace {

constexpr int kThreads = 128;
constexpr int kTile = 32;          // tokens per shared-memory tile
constexpr int64_t kChunk = 256;    // columns per block
constexpr int kMaxHeads = 128;
constexpr int kMaxDim = 128;

template <class Tokens>
__global__ void __launch_bounds__(kThreads) logits_generic_kernel(LogitsDeviceArgs a, Tokens tokens) {
  __shared__ double lut[256];                      // fp8 code -> exact double (NaN codes -> NaN)
  __shared__ uint8_t q_s[kMaxHeads * kMaxDim];     // the row's q codes
  __shared__ float w_s[kMaxHeads];
  __shared__ uint8_t k_s[kTile * kMaxDim];         // the tile's k codes
  __shared__ float ks_s[kTile];
  __shared__ float t_s[kTile * kMaxHeads];         // epilogue terms, then the tree in place

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

  const int32_t H = a.heads, D = a.head_dim;
  for (int i = tid; i < 256; i += kThreads) lut[i] = double(fp8_decode(uint8_t(i), a.encoding));
  const uint8_t* q = a.q + int64_t(r) * H * D;
  for (int i = tid; i < H * D; i += kThreads) q_s[i] = q[i];
  for (int h = tid; h < H; h += kThreads) w_s[h] = a.weights[int64_t(r) * H + h];

  for (int64_t tile = lo; tile < hi; tile += kTile) {
    const int n = hi - tile < kTile ? int(hi - tile) : kTile;
    __syncthreads();  // the previous tile's readers are done (and the row staging is visible)
    for (int i = tid; i < n * D; i += kThreads) k_s[i] = *tokens.values(r, tile + i / D, i % D);
    for (int x = tid; x < n; x += kThreads) ks_s[x] = load_scale_bytes(tokens.scale(r, tile + x));
    __syncthreads();
    for (int p = tid; p < n * H; p += kThreads) {
      const int x = p / H, h = p % H;
      const uint8_t* qh = q_s + h * D;
      const uint8_t* kx = k_s + x * D;
      double acc = 0.0;  // +0: an exact zero sum gives +0
      for (int d = 0; d < D; ++d) acc = __dadd_rn(acc, __dmul_rn(lut[qh[d]], lut[kx[d]]));
      t_s[x * kMaxHeads + h] = head_term(__double2float_rn(acc), w_s[h]);
    }
    for (int step = H / 2; step >= 1; step /= 2) {
      __syncthreads();
      for (int p = tid; p < n * step; p += kThreads) {
        const int x = p / step, i = p % step;
        t_s[x * kMaxHeads + i] = add_rn(t_s[x * kMaxHeads + i], t_s[x * kMaxHeads + i + step]);
      }
    }
    __syncthreads();
    for (int x = tid; x < n; x += kThreads) out[tile + x] = final_logit(t_s[x * kMaxHeads], ks_s[x]);
  }
}

template <class Tokens>
void launch_generic(const LogitsDeviceArgs& a, const Tokens& t, hipStream_t stream) {
  if (a.rows == 0 || a.cols == 0) return;
  const dim3 grid(unsigned(a.rows), unsigned((a.cols + kChunk - 1) / kChunk));
  hipLaunchKernelGGL(logits_generic_kernel<Tokens>, grid, dim3(kThreads), 0, stream, a, t);
}

}  // namespace

void launch_paged_logits_generic(const LogitsDeviceArgs& a, const PagedTokens& t, hipStream_t stream) {
  launch_generic(a, t, stream);
}
void launch_ragged_logits_generic(const LogitsDeviceArgs& a, const RaggedTokens& t, hipStream_t stream) {
  launch_generic(a, t, stream);
}

}  // namespace mqa::device::detail
