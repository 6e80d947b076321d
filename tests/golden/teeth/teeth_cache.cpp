// The cache ops of a teeth Kernel: quantise-and-cache from the stored k source (every variant
// written out here from numerics.md, with the knobs of scale rounding and reciprocals), the
// gather, and the stored pool they address (sparse: only the stored pages exist).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "mqa/kcache.hpp"
#include "mqa/layout.hpp"
#include "teeth.hpp"

namespace mqa::teeth {

using golden::Array;
using golden::Case;

// ---- the stored pool ------------------------------------------------------------------------

StoredPool::StoredPool(const Case& c, std::optional<uint8_t> fill) : stride_(c.info.page_stride) {
  const Array& cache = c.at("cache");
  bytes_ = fill ? std::vector<uint8_t>(cache.bytes.size(), *fill) : cache.bytes;
  const auto ids = c.at("page_ids").view<int64_t>();
  std::vector<int64_t> order(ids.size());
  std::iota(order.begin(), order.end(), int64_t(0));
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return ids[size_t(a)] < ids[size_t(b)]; });
  for (int64_t r : order) {
    ids_.push_back(ids[size_t(r)]);
    rows_.push_back(r);
  }
}

int64_t StoredPool::row_of(int64_t byte) const {
  if (byte < 0) return -1;
  const int64_t page = byte / stride_;
  const auto it = std::lower_bound(ids_.begin(), ids_.end(), page);
  return it != ids_.end() && *it == page ? rows_[size_t(it - ids_.begin())] : -1;
}

uint8_t StoredPool::read(int64_t byte) const {
  const int64_t r = row_of(byte);
  return r < 0 ? 0 : bytes_[size_t(r * stride_ + byte % stride_)];
}

void StoredPool::write(int64_t byte, uint8_t v) {
  if (const int64_t r = row_of(byte); r >= 0) bytes_[size_t(r * stride_ + byte % stride_)] = v;
}

float StoredPool::read_f32(int64_t byte) const {
  uint8_t b[4];
  for (int i = 0; i < 4; ++i) b[i] = read(byte + i);
  float f;
  std::memcpy(&f, b, 4);
  return f;
}

void StoredPool::write_f32(int64_t byte, float v) {
  uint8_t b[4];
  std::memcpy(b, &v, 4);
  for (int i = 0; i < 4; ++i) write(byte + i, b[i]);
}

int64_t kernel_offset(int64_t true_offset, bool offsets_32bit) {
  return offsets_32bit ? int64_t(uint32_t(uint64_t(true_offset))) : true_offset;
}

namespace {

PagedCacheLayout layout_of(const Case& c) {
  const golden::CaseInfo& i = c.info;
  const PageLayoutKind kind = i.layout == "preshuffle16" ? PageLayoutKind::preshuffle16 : PageLayoutKind::standard;
  return PagedCacheLayout{PageLayout{kind, i.page_size, i.head_dim, i.quant_block}, i.page_stride, i.num_pages};
}

// K source values as fp32 (bf16 and fp16 decode exactly).
std::vector<float> k_source_values(const Case& c) {
  const Array& a = c.at("k_source");
  std::vector<float> k;
  if (a.dtype == golden::DType::f32) {
    const auto v = a.view<float>();
    k.assign(v.begin(), v.end());
  } else {
    const auto v = a.view<uint16_t>();
    const bool fp16 = a.encoding == "fp16" || a.encoding == "float16";
    if (!fp16 && a.encoding != "bf16") throw std::runtime_error(c.name + ": k_source encoding '" + a.encoding + "'");
    for (uint16_t b : v) k.push_back(fp16 ? fp16_decode(b) : bf16_decode(b));
  }
  return k;
}

float round_up_pow2(float sc, Ue8m0Rounding r) {
  switch (r) {
    case Ue8m0Rounding::bits: {
      const uint32_t b = f32_bits(sc);
      return (b & 0x7FFFFFu) ? f32_from_bits((b & 0xFF800000u) + 0x800000u) : sc;
    }
    case Ue8m0Rounding::libm: return std::exp2f(std::ceil(std::log2f(sc)));
    case Ue8m0Rounding::nearest: return std::exp2f(std::rint(std::log2f(sc)));
    case Ue8m0Rounding::variant: break;
  }
  throw std::logic_error("round_up_pow2: variant");
}

struct Quantiser {
  QuantVariant variant;
  Fp8Encoding enc;
  bool ue8m0;
  const Kernel& k;

  // vLLM's kernel and SGLang's act_quant use the literal 448 for both encodings.
  float scale_divisor() const {
    return variant == QuantVariant::vllm || variant == QuantVariant::sglang ? 448.0f : fp8_traits(enc).max_value;
  }
  float scale(float amax) const {
    const float a = amax > kMinAmax ? amax : kMinAmax;
    const bool recip = k.scale_by_reciprocal || variant == QuantVariant::sglang;
    const float sc = recip ? a * (1.0f / scale_divisor()) : a / scale_divisor();
    if (!ue8m0) return sc;
    Ue8m0Rounding r = k.ue8m0_rounding;
    if (r == Ue8m0Rounding::variant) r = variant == QuantVariant::exact ? Ue8m0Rounding::bits : Ue8m0Rounding::libm;
    return round_up_pow2(sc, r);
  }
  uint8_t code(float x, float sc) const {
    const bool recip = k.quantise_by_reciprocal || variant == QuantVariant::aiter;
    const float v = recip ? x * (1.0f / sc) : x / sc;
    if (variant != QuantVariant::sglang) return fp8_encode(v, enc, Overflow::saturate);
    const float fm = fp8_traits(enc).max_value;  // SGLang clamps, then casts (NaN on overflow)
    return fp8_encode(std::fmin(std::fmax(v, -fm), fm), enc, Overflow::to_nan);
  }
};

// Tokens [0, n_b) of sequence b that the gather reads (a paged case: its longest row).
std::vector<int32_t> gather_lengths(const Case& c) {
  const auto lens = c.at("context_lens").view<int32_t>();
  if (!(c.info.op == "paged_logits" && c.info.lens_2d)) return {lens.begin(), lens.end()};
  std::vector<int32_t> out;
  for (int32_t b = 0; b < c.info.batch; ++b)
    out.push_back(*std::max_element(lens.begin() + b * c.info.next_n, lens.begin() + (b + 1) * c.info.next_n));
  return out;
}

}  // namespace

std::map<std::string, Array> recompute_cache(const Case& c, const Kernel& k) {
  if (!c.info.cache_from_source) return {};
  const PagedCacheLayout L = layout_of(c);
  const int32_t D = c.info.head_dim, Qb = c.info.quant_block, B = c.info.page_size;
  const Array& stored = c.at("cache");
  StoredPool out(c, uint8_t(c.info.cache_fill));  // the stored pages before the write

  const Quantiser q{k.quant.value_or(quant_variant_from_string(c.info.quant_variant)),
                    fp8_encoding_from_string(c.info.encoding), k.ue8m0.value_or(c.info.ue8m0), k};
  const std::vector<float> src = k_source_values(c);
  const auto slots = c.at("slot_mapping").view<int64_t>();
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i] < 0) continue;
    const int64_t page = slots[i] / B;
    const int32_t t = int32_t(slots[i] % B);
    for (int32_t b0 = 0; b0 < D; b0 += Qb) {
      const float* blk = src.data() + i * size_t(D) + size_t(b0);
      float amax = 0.0f;
      for (int32_t j = 0; j < Qb; ++j) amax = std::max(amax, std::fabs(blk[j]));
      const float sc = q.scale(amax);
      out.write_f32(kernel_offset(L.scale_byte(page, t, b0 / Qb), k.cache_offsets_32bit), sc);
      for (int32_t j = 0; j < Qb; ++j)
        out.write(kernel_offset(L.value_byte(page, t, b0 + j), k.cache_offsets_32bit), q.code(blk[j], sc));
    }
  }
  return {{"cache", Array::of<uint8_t>(stored.shape, out.bytes(), stored.role, stored.encoding, stored.compare)}};
}

std::map<std::string, Array> recompute_gather(const Case& c, const Kernel& k) {
  const PagedCacheLayout L = layout_of(c);
  const StoredPool pool(c);
  const int32_t D = c.info.head_dim, B = c.info.page_size, scales = D / c.info.quant_block;
  const Array& table = c.at("block_table");
  const auto tab = table.view<int32_t>();
  const int64_t W = table.shape.at(1);
  std::vector<uint8_t> values, sc;
  const std::vector<int32_t> lens = gather_lengths(c);
  for (int32_t b = 0; b < c.info.batch; ++b)
    for (int64_t s = 0; s < lens[size_t(b)]; ++s) {
      const int64_t page = tab[size_t(b * W + s / B)];
      const int32_t t = int32_t(s % B);
      for (int32_t d = 0; d < D; ++d) values.push_back(pool.read(kernel_offset(L.value_byte(page, t, d), k.cache_offsets_32bit)));
      for (int32_t qb = 0; qb < scales; ++qb) {
        const int64_t base = kernel_offset(L.scale_byte(page, t, qb), k.cache_offsets_32bit);
        uint8_t b[4];
        for (int j = 0; j < 4; ++j) b[j] = pool.read(base + j);
        if (float f; k.scale_nan_to_num && (std::memcpy(&f, b, 4), !std::isfinite(f))) {
          f = nan_to_num(f);
          std::memcpy(b, &f, 4);
        }
        sc.insert(sc.end(), b, b + 4);
      }
    }
  std::map<std::string, Array> out;
  for (auto [name, bytes] : {std::pair{"gathered_values", &values}, std::pair{"gathered_scales", &sc}}) {
    const Array& a = c.at(name);
    out[name] = Array::of<uint8_t>(a.shape, *bytes, a.role, a.encoding, a.compare);
  }
  return out;
}

}  // namespace mqa::teeth
