// Device-pointer interface of the MQA-logits kernels (internal to device/: the host wrappers in
// logits_host.hip and the benchmark use it). Both ops run one kernel over a "token source":
// the paged cache through the addressing library (PagedView), or a contiguous gathered k.
#pragma once
#include <cstdint>

#include "mqa/device_ops.hpp"
#include "mqa/hip_runtime_compat.hpp"
#include "mqa/layout.hpp"

namespace mqa::device::detail {

// Columns [begin, end) of one output row are defined (logits.hpp RowRegion's valid part).
struct RowSpan {
  int64_t begin, end;
};

struct LogitsDeviceArgs {
  const uint8_t* q;       // [rows, heads, head_dim] fp8 codes
  const float* weights;   // [rows, heads]
  float* out;             // [rows, out_stride]
  int64_t out_stride;
  const RowSpan* spans;   // [rows]
  int32_t rows, heads, head_dim;
  int64_t cols;           // max_context_len (paged) or N (ragged)
  int32_t clean;          // write -inf to [0, cols) outside the span
  Fp8Encoding encoding;
};

// Token s of row r = b*next_n + j lives in sequence b of the paged cache.
struct PagedTokens {
  PagedView view;         // view.table.data is a device pointer
  const uint8_t* cache;   // device bytes of the pool
  int32_t next_n;
  int32_t vector_ok;      // 16-byte loads are aligned (page stride and base)

  MQA_HD const uint8_t* values(int32_t row, int64_t s, int32_t d) const {
    return cache + view.value_byte(row / next_n, s, d);
  }
  MQA_HD const uint8_t* scale(int32_t row, int64_t s) const { return cache + view.scale_byte(row / next_n, s, 0); }

  // Block-level page cache: a block reading tokens [lo, hi) first copies their block-table
  // entries to shared memory (one load each), so the per-chunk addresses below need no
  // dependent global load. Pages smaller than kMinCachedPage tokens read the table directly.
  static constexpr int32_t kMinCachedPage = 16;
  MQA_HD bool caches_pages() const { return view.cache.page.page_size >= kMinCachedPage; }
  MQA_HD int64_t pages_needed(int64_t lo, int64_t hi) const {
    const int32_t B = view.cache.page.page_size;
    return caches_pages() ? (hi - 1) / B - lo / B + 1 : 0;
  }
  MQA_HD int32_t page_entry(int32_t row, int64_t lo, int64_t i) const {
    return view.table.at(row / next_n, lo / view.cache.page.page_size + i);
  }
  MQA_HD const uint8_t* values_cached(int32_t row, int64_t s, int32_t d, const int32_t* pages, int64_t lo) const {
    if (!caches_pages()) return values(row, s, d);
    const int32_t B = view.cache.page.page_size;
    return cache + view.cache.value_byte(pages[s / B - lo / B], int32_t(s % B), d);
  }
  MQA_HD const uint8_t* scale_cached(int32_t row, int64_t s, const int32_t* pages, int64_t lo) const {
    if (!caches_pages()) return scale(row, s);
    const int32_t B = view.cache.page.page_size;
    return cache + view.cache.scale_byte(pages[s / B - lo / B], int32_t(s % B), 0);
  }

  // Division-free addressing for the fast kernels' copy loop (the 64-bit divisions above cost
  // ~80 instructions per 16-byte copy). Token s of a block that starts at token lo is entry
  // (s - first) / B of the block's cached table entries, first = lo rounded down to its page; the
  // quotient is a multiply-high by recip = floor((2^32 - 1) / B), which gives q or q - 1 whenever
  // s - first < 2^31 (here < kChunk + B), then one correction step.
  // scale_offset is affine in the slot (scales are never shuffled): scale0 + slot * scale_step,
  // both computed once here, so the copy loop has no division by scales_per_token either.
  struct BlockCursor {
    int64_t first;
    uint32_t recip;
    int64_t scale0, scale_step;
  };
  MQA_HD BlockCursor block_cursor(int64_t lo) const {
    const PageLayout& p = view.cache.page;
    const int32_t B = p.page_size;
    return BlockCursor{lo - lo % B, 0xFFFFFFFFu / uint32_t(B), p.scale_offset(0, 0), p.scale_offset(1, 0) - p.scale_offset(0, 0)};
  }
  MQA_HD TokenAddress token_at(int32_t row, int64_t s, const int32_t* pages, const BlockCursor& bc) const {
    if (!caches_pages()) return view.token(row / next_n, s);
    return token_at_cached(s, pages, bc);
  }
  // The copy loop's branch-free path: pages cached and 16-byte copies aligned.
  MQA_HD bool direct_ok() const { return caches_pages() && vector_ok != 0; }
  MQA_HD TokenAddress token_at_cached(int64_t s, const int32_t* pages, const BlockCursor& bc) const {
    const uint32_t B = uint32_t(view.cache.page.page_size), rel = uint32_t(s - bc.first);
    uint32_t q = uint32_t((uint64_t(rel) * bc.recip) >> 32), slot = rel - q * B;
    if (slot >= B) ++q, slot -= B;
    return TokenAddress{pages[q], int32_t(slot)};
  }
  // Both page layouts are separable: value_offset(t, d) = value_offset(t, 0) + value_offset(0, d)
  // (a slot part plus a byte part), so a thread that copies byte piece d of many tokens computes
  // piece_offset(d) = value_offset(0, d) once.
  MQA_HD int64_t piece_offset(int32_t d) const { return view.cache.page.value_offset(0, d); }
  MQA_HD const uint8_t* value_at(const TokenAddress& a, int64_t piece) const {
    return cache + view.cache.value_byte(a.page, a.slot, 0) + piece;
  }
  MQA_HD const uint8_t* scale_at(const TokenAddress& a, const BlockCursor& bc) const {
    return cache + view.cache.value_byte(a.page, 0, 0) + bc.scale0 + a.slot * bc.scale_step;
  }
};

// Token s is row s of a contiguous [N, head_dim] k with scales kscale[N].
struct RaggedTokens {
  const uint8_t* k;
  const float* kscale;
  int32_t head_dim;
  int32_t vector_ok;

  MQA_HD const uint8_t* values(int32_t, int64_t s, int32_t d) const { return k + s * head_dim + d; }
  MQA_HD const uint8_t* scale(int32_t, int64_t s) const { return reinterpret_cast<const uint8_t*>(kscale + s); }
  // No pages: the block-level page cache of PagedTokens is empty here.
  MQA_HD int64_t pages_needed(int64_t, int64_t) const { return 0; }
  MQA_HD int32_t page_entry(int32_t, int64_t, int64_t) const { return 0; }
  MQA_HD const uint8_t* values_cached(int32_t r, int64_t s, int32_t d, const int32_t*, int64_t) const {
    return values(r, s, d);
  }
  MQA_HD const uint8_t* scale_cached(int32_t r, int64_t s, const int32_t*, int64_t) const { return scale(r, s); }
  // The fast kernels' addressing (see PagedTokens): here the "page" of a token is the token itself.
  struct BlockCursor {};
  MQA_HD BlockCursor block_cursor(int64_t) const { return {}; }
  MQA_HD TokenAddress token_at(int32_t, int64_t s, const int32_t*, const BlockCursor&) const { return {s, 0}; }
  MQA_HD bool direct_ok() const { return vector_ok != 0; }
  MQA_HD TokenAddress token_at_cached(int64_t s, const int32_t*, const BlockCursor&) const { return {s, 0}; }
  MQA_HD int64_t piece_offset(int32_t d) const { return d; }
  MQA_HD const uint8_t* value_at(const TokenAddress& a, int64_t piece) const { return k + a.page * head_dim + piece; }
  MQA_HD const uint8_t* scale_at(const TokenAddress& a, const BlockCursor&) const {
    return reinterpret_cast<const uint8_t*>(kscale + a.page);
  }
};

// The kernels of the MQA logits: the portable generic kernel (fp64 sums, any platform) and, on
// NVIDIA, the exact int8-limb tensor-core kernels: token_warps (`tw3`, the default where it fits:
// heads <= 64 and direct copies) and lean (`lean2`, its fallback: heads 128, pages of fewer than
// 16 tokens, unaligned copies). The earlier kernels (mma1, lean1, tw1, tw2, wgmma) are in git
// history and in device/PERFORMANCE.md.
enum class LogitsKernel : uint8_t { generic, token_warps, lean };
const char* to_string(LogitsKernel k);  // "generic", "tw3", "lean2"

// The one place a kernel is chosen: the requested path (automatic -> fast where it fits, else
// generic; fast where it does not fit -> DeviceError), the shape, whether the token source allows
// direct copies, and the environment's MQA_FAST_KERNEL ("tw3" (default) or "lean2", to force the
// fallback where tw3 would run; any other value is a DeviceError naming it).
LogitsKernel choose_kernel(LogitsPath requested, int32_t heads, int32_t head_dim, bool direct_ok);

// Enqueue on `stream`; check_launch afterwards is the caller's business (the benchmark times
// back-to-back launches). The kernel comes from choose_kernel.
void launch_paged_logits(const LogitsDeviceArgs& a, const PagedTokens& t, LogitsKernel kernel, hipStream_t stream);
void launch_ragged_logits(const LogitsDeviceArgs& a, const RaggedTokens& t, LogitsKernel kernel, hipStream_t stream);

// The executors behind launch_*_logits (no choice made here).
void launch_paged_logits_generic(const LogitsDeviceArgs& a, const PagedTokens& t, hipStream_t stream);
void launch_ragged_logits_generic(const LogitsDeviceArgs& a, const RaggedTokens& t, hipStream_t stream);
void launch_paged_logits_fast(const LogitsDeviceArgs& a, const PagedTokens& t, LogitsKernel kernel, hipStream_t stream);
void launch_ragged_logits_fast(const LogitsDeviceArgs& a, const RaggedTokens& t, LogitsKernel kernel, hipStream_t stream);

}  // namespace mqa::device::detail
