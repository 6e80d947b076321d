// Host reference of the K-cache ops: quantise-and-cache (all variants), gather, and layout
// conversion. The owning KCache pairs a PagedCacheLayout (the small addressing value) with
// its bytes, in the spirit of cuCollections' owning object + light "ref".
#pragma once
#include <span>
#include <string>
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

struct KCache {
  PagedCacheLayout layout;
  std::vector<uint8_t> bytes;

  KCache() = default;
  // Validates the layout; fills every byte with `fill` (use a sentinel to detect stray writes).
  KCache(PagedCacheLayout l, uint8_t fill);

  uint8_t value_code(int64_t page, int32_t t, int32_t d) const { return bytes[layout.value_byte(page, t, d)]; }
  float scale(int64_t page, int32_t t, int32_t q) const;
  void set_value_code(int64_t page, int32_t t, int32_t d, uint8_t c) { bytes[layout.value_byte(page, t, d)] = c; }
  void set_scale(int64_t page, int32_t t, int32_t q, float s);
};

// For each token i with slot[i] >= 0: quantise k[i, :] (fp32 values; bf16/fp16 sources decode
// exactly into fp32) and store codes and scales at slot[i] = page*B + t. Slots < 0 are skipped;
// no other byte changes. Rejects: k.size != T*D, slot beyond the pool, NaN/Inf in k.
void quantize_and_cache(std::span<const float> k, std::span<const int64_t> slots, const QuantParams& p,
                        KCache& cache);

// Gather tokens [0, L_b) of every sequence into standard row-major [sum L, D] value bytes and
// [sum L, 4*D/Qb] scale bytes (the fp32 scales as bytes). Validates lengths and table first.
struct Gathered {
  std::vector<uint8_t> values;
  std::vector<uint8_t> scales;
  int64_t rows = 0;
};
Gathered gather_k_cache(const KCache& cache, const BlockTableView& table, std::span<const int32_t> lens);

// Same cache content in another page layout (same page ids, stride, padding bytes copied).
KCache convert_layout(const KCache& src, PageLayoutKind to);

}  // namespace mqa
