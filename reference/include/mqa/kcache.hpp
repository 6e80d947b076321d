// Host reference of the K-cache ops: quantise-and-cache (all variants), gather, and layout
// conversion. The ops take a non-owning view of a pool (KCacheRef to write, KCacheView to
// read), as the paged logits do (PagedLogitsProblem: layout + pointer): a view may sit on a
// vector, a sparse mapping past 2^32 bytes (cases' PoolBuffer) or a kernel's buffer, never
// copied. The owning KCache (layout + bytes) hands out .ref() / .view(), in the spirit of
// cuCollections' owning container + its light "ref".
#pragma once
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "mqa/layout.hpp"
#include "mqa/quant.hpp"

namespace mqa {

const char* to_string(QuantVariant v);
QuantVariant quant_variant_from_string(const std::string& s);
const char* to_string(Fp8Encoding e);
Fp8Encoding fp8_encoding_from_string(const std::string& s);

struct QuantParams {
  QuantVariant variant = QuantVariant::exact;
  Fp8Encoding encoding = Fp8Encoding::e4m3fn;
  bool ue8m0 = false;
};

// Quantise one token of D values with Qb-sized blocks: D codes (logical order) + D/Qb scales.
void quantize_token(const float* k, int32_t head_dim, int32_t quant_block, const QuantParams& p,
                    uint8_t* codes, float* scales);

// A pool to read: its layout, its first byte and how many bytes lie there (size; the ops
// require size == layout.total_bytes(), validate_cache's "cache.bytes"). Every offset is the
// layout's int64.
struct KCacheView {
  PagedCacheLayout layout{};
  const uint8_t* bytes = nullptr;
  int64_t size = 0;

  uint8_t value_code(int64_t page, int32_t t, int32_t d) const { return bytes[layout.value_byte(page, t, d)]; }
  float scale(int64_t page, int32_t t, int32_t q) const;
};

// A pool to write (and read): the same three fields over mutable bytes.
struct KCacheRef {
  PagedCacheLayout layout{};
  uint8_t* bytes = nullptr;
  int64_t size = 0;

  KCacheView view() const { return KCacheView{layout, bytes, size}; }
  operator KCacheView() const { return view(); }  // a writable pool reads as well (T* -> const T*)
  uint8_t value_code(int64_t page, int32_t t, int32_t d) const { return view().value_code(page, t, d); }
  float scale(int64_t page, int32_t t, int32_t q) const { return view().scale(page, t, q); }
  void set_value_code(int64_t page, int32_t t, int32_t d, uint8_t c) const { bytes[layout.value_byte(page, t, d)] = c; }
  void set_scale(int64_t page, int32_t t, int32_t q, float s) const;
};

// Small values passed by value to host code and, like PagedView, copyable into a kernel's arguments.
static_assert(std::is_trivially_copyable_v<KCacheView> && std::is_trivially_copyable_v<KCacheRef>);

// The owning pool, for callers that want one (the cases' compact cache, tests).
struct KCache {
  PagedCacheLayout layout;
  std::vector<uint8_t> bytes;

  KCache() = default;
  // Validates the layout; fills every byte with `fill` (use a sentinel to detect stray writes).
  KCache(PagedCacheLayout l, uint8_t fill);

  KCacheRef ref() { return KCacheRef{layout, bytes.data(), int64_t(bytes.size())}; }
  KCacheView view() const { return KCacheView{layout, bytes.data(), int64_t(bytes.size())}; }
  uint8_t value_code(int64_t page, int32_t t, int32_t d) const { return view().value_code(page, t, d); }
  float scale(int64_t page, int32_t t, int32_t q) const { return view().scale(page, t, q); }
  void set_value_code(int64_t page, int32_t t, int32_t d, uint8_t c) { ref().set_value_code(page, t, d, c); }
  void set_scale(int64_t page, int32_t t, int32_t q, float s) { ref().set_scale(page, t, q, s); }
};

// For each token i with slot[i] >= 0: quantise k[i, :] (fp32 values; bf16/fp16 sources decode
// exactly into fp32) and store codes and scales at slot[i] = page*B + t. Slots < 0 are skipped;
// no other byte changes. Rejects: k.size != T*D, slot beyond the pool, NaN/Inf in k, a view
// whose size is not the layout's total_bytes().
void quantize_and_cache(std::span<const float> k, std::span<const int64_t> slots, const QuantParams& p,
                        KCacheRef cache);

// Gather tokens [0, L_b) of every sequence into standard row-major [sum L, D] value bytes and
// [sum L, 4*D/Qb] scale bytes (the fp32 scales as bytes). Validates lengths and table first.
struct Gathered {
  std::vector<uint8_t> values;
  std::vector<uint8_t> scales;
  int64_t rows = 0;
};
Gathered gather_k_cache(KCacheView cache, const BlockTableView& table, std::span<const int32_t> lens);

// The problems of the cache ops as one value each (what kut.h's mqa_quant_cache_args and
// mqa_gather_args carry; device/include/mqa/kut_problem.hpp converts): the spans and the
// pool are views of the caller's memory.
struct QuantCacheProblem {
  KCacheRef cache;                 // the pool written in place
  std::span<const float> k;        // [T, D]
  std::span<const int64_t> slots;  // [T]
  QuantParams params;              // params.encoding is the cache's
};
struct GatherProblem {
  KCacheView cache;
  Fp8Encoding encoding = Fp8Encoding::e4m3fn;  // of the cache (gather copies bytes; kernels may ask)
  BlockTableView table{};
  std::span<const int32_t> lens;  // [table.batch]
};

// Same cache content in another page layout (same page ids, stride, padding bytes copied).
KCache convert_layout(const KCache& src, PageLayoutKind to);

}  // namespace mqa
