// The K cache of kcache.hpp: quant variants and encodings by name, block scales, quantise-and-cache
// into a paged pool, gather and layout conversion (every address from layout.hpp).
#include "mqa/kcache.hpp"

#include <cmath>
#include <cstring>

#include "mqa/validate.hpp"

namespace mqa {

const char* to_string(QuantVariant v) {
  switch (v) {
    case QuantVariant::exact: return "exact";
    case QuantVariant::vllm: return "vllm";
    case QuantVariant::aiter: return "aiter";
    case QuantVariant::sglang: return "sglang";
  }
  return "?";
}

QuantVariant quant_variant_from_string(const std::string& s) {
  for (QuantVariant v : {QuantVariant::exact, QuantVariant::vllm, QuantVariant::aiter, QuantVariant::sglang})
    if (s == to_string(v)) return v;
  reject("quant_variant", "'" + s + "'", "expected exact, vllm, aiter or sglang");
}

const char* to_string(Fp8Encoding e) { return e == Fp8Encoding::e4m3fn ? "e4m3fn" : "e4m3fnuz"; }

Fp8Encoding fp8_encoding_from_string(const std::string& s) {
  if (s == "e4m3fn") return Fp8Encoding::e4m3fn;
  if (s == "e4m3fnuz") return Fp8Encoding::e4m3fnuz;
  reject("encoding", "'" + s + "'", "expected e4m3fn or e4m3fnuz");
}

namespace {

// Upstream power-of-two rounding: exp2f(ceilf(log2f(sc))). log2f is not exact just above a
// power of two, which is the divergence the harness exists to show.
float ue8m0_round_up_libm(float sc) { return std::exp2f(std::ceil(std::log2f(sc))); }

float block_scale(float amax, const QuantParams& p) {
  const float a = amax > kMinAmax ? amax : kMinAmax;
  switch (p.variant) {
    case QuantVariant::exact: return exact_block_scale(amax, p.encoding, p.ue8m0);
    case QuantVariant::vllm:  // vLLM's CUDA kernel divides by the literal 448
    case QuantVariant::aiter: {
      const float sc = a / scale_divisor(p.variant, p.encoding);
      return p.ue8m0 ? ue8m0_round_up_libm(sc) : sc;
    }
    case QuantVariant::sglang: {  // Triton act_quant multiplies by the fp32 constant 1/448
      const float sc = a * (1.0f / scale_divisor(p.variant, p.encoding));
      return p.ue8m0 ? ue8m0_round_up_libm(sc) : sc;
    }
  }
  return 0.0f;
}

uint8_t quantize_value(float k, float sc, const QuantParams& p) {
  switch (p.variant) {
    case QuantVariant::exact: return exact_quantize_value(k, sc, p.encoding);  // shared with the device
    case QuantVariant::vllm: return fp8_encode(k / sc, p.encoding, Overflow::saturate);
    case QuantVariant::aiter: return fp8_encode(k * (1.0f / sc), p.encoding, Overflow::saturate);
    case QuantVariant::sglang: {
      const float fmax = fp8_traits(p.encoding).max_value;
      const float v = std::fmin(std::fmax(k / sc, -fmax), fmax);  // clamp, then a plain cast
      return fp8_encode(v, p.encoding, Overflow::to_nan);
    }
  }
  return 0;
}

}  // namespace

void quantize_token(const float* k, int32_t head_dim, int32_t quant_block, const QuantParams& p,
                    uint8_t* codes, float* scales) {
  for (int32_t q = 0; q * quant_block < head_dim; ++q) {
    const float* blk = k + int64_t(q) * quant_block;
    const float sc = block_scale(block_amax(blk, quant_block), p);
    scales[q] = sc;
    for (int32_t i = 0; i < quant_block; ++i) codes[q * quant_block + i] = quantize_value(blk[i], sc, p);
  }
}

KCache::KCache(PagedCacheLayout l, uint8_t fill) : layout(l) {
  validate_cache(l);
  bytes.assign(size_t(l.total_bytes()), fill);
}

float KCacheView::scale(int64_t page, int32_t t, int32_t q) const {
  float s;
  std::memcpy(&s, bytes + layout.scale_byte(page, t, q), 4);
  return s;
}

void KCacheRef::set_scale(int64_t page, int32_t t, int32_t q, float s) const {
  std::memcpy(bytes + layout.scale_byte(page, t, q), &s, 4);
}

void quantize_and_cache(std::span<const float> k, std::span<const int64_t> slots, const QuantParams& p,
                        KCacheRef cache) {
  const PageLayout& pl = cache.layout.page;
  validate_cache(cache.layout, cache.size);
  const int64_t T = int64_t(slots.size()), D = pl.head_dim;
  if (int64_t(k.size()) != T * D)
    reject("k.size", k.size(), "expected slots.size * head_dim = " + std::to_string(T * D));
  const int64_t pool_slots = cache.layout.num_pages * pl.page_size;
  for (int64_t i = 0; i < T; ++i) {
    if (slots[i] >= pool_slots)
      reject("slot_mapping[" + std::to_string(i) + "]", slots[i],
             "beyond the pool of " + std::to_string(pool_slots) + " slots (" +
                 std::to_string(cache.layout.num_pages) + " pages of " + std::to_string(pl.page_size) + ")");
    if (slots[i] < 0) continue;
    for (int64_t d = 0; d < D; ++d)
      if (!std::isfinite(k[i * D + d]))
        reject("k[" + std::to_string(i) + "][" + std::to_string(d) + "]", std::to_string(k[i * D + d]),
               "not finite: the scale would be NaN");
  }
  std::vector<uint8_t> codes(static_cast<size_t>(D));
  std::vector<float> scales(size_t(pl.scales_per_token()));
  for (int64_t i = 0; i < T; ++i) {
    if (slots[i] < 0) continue;  // padding token
    quantize_token(k.data() + i * D, pl.head_dim, pl.quant_block, p, codes.data(), scales.data());
    const int64_t page = cache.layout.slot_page(slots[i]);
    const int32_t t = cache.layout.slot_in_page(slots[i]);
    for (int32_t d = 0; d < pl.head_dim; ++d) cache.set_value_code(page, t, d, codes[size_t(d)]);
    for (int32_t q = 0; q < pl.scales_per_token(); ++q) cache.set_scale(page, t, q, scales[size_t(q)]);
  }
}

Gathered gather_k_cache(KCacheView cache, const BlockTableView& table, std::span<const int32_t> lens) {
  const PageLayout& pl = cache.layout.page;
  validate_cache(cache.layout, cache.size);
  validate_table_for_lengths(table, lens, pl.page_size, cache.layout.num_pages, "lens");
  Gathered g;
  for (int32_t L : lens) g.rows += L;
  const int64_t scale_row = 4 * int64_t(pl.scales_per_token());
  g.values.resize(size_t(g.rows * pl.head_dim));
  g.scales.resize(size_t(g.rows * scale_row));
  const PagedView view{cache.layout, table};
  int64_t row = 0;
  for (int32_t b = 0; b < table.batch; ++b) {
    for (int64_t s = 0; s < lens[b]; ++s, ++row) {
      for (int32_t d = 0; d < pl.head_dim; ++d)
        g.values[size_t(row * pl.head_dim + d)] = cache.bytes[view.value_byte(b, s, d)];
      std::memcpy(g.scales.data() + row * scale_row, cache.bytes + view.scale_byte(b, s, 0), size_t(scale_row));
    }
  }
  return g;
}

KCache convert_layout(const KCache& src, PageLayoutKind to) {
  PagedCacheLayout l = src.layout;
  l.page.kind = to;
  KCache dst(l, 0);
  dst.bytes = src.bytes;  // scales and padding are layout-independent; values are permuted below
  for (int64_t p = 0; p < l.num_pages; ++p)
    for (int32_t t = 0; t < l.page.page_size; ++t)
      for (int32_t d = 0; d < l.page.head_dim; ++d) dst.set_value_code(p, t, d, src.value_code(p, t, d));
  return dst;
}

}  // namespace mqa
