// "builtin-ref": the host reference behind the kernel-under-test ABI. It supports every case the
// reference implements (all quant variants, both profiles); bad input comes back MQA_INVALID.
#include <algorithm>
#include <cstring>

#include "kut_support.hpp"
#include "mqa/kut_registry.hpp"
#include "mqa/validate.hpp"

namespace mqa {

namespace {

KCache copy_in(const PagedCacheLayout& l, const uint8_t* bytes) {
  KCache c;
  c.layout = l;
  if (bytes == nullptr) reject("cache_bytes", std::string("null"), "no cache given");
  c.bytes.assign(bytes, bytes + l.total_bytes());
  return c;
}

mqa_status ref_supports(void*, const mqa_case_shape* s, char* msg, size_t len) {
  const std::string bad = kut::shape_enum_error(*s);
  if (!bad.empty()) {
    kut::write_message(msg, len, bad);
    return MQA_INVALID;
  }
  if (s->profile == MQA_PROFILE_DEEPGEMM_SM90 && s->heads % 8 != 0 &&
      (s->op == MQA_OP_PAGED_LOGITS || s->op == MQA_OP_RAGGED_LOGITS))
    return kut::unsupported(msg, len, "profile deepgemm_sm90 needs heads to be a multiple of 8");
  kut::write_message(msg, len, "");
  return MQA_OK;
}

mqa_status ref_quant_cache(void*, const mqa_quant_cache_args* a, char* msg, size_t len) {
  return kut::guarded(msg, len, [&] {
    KCache c = copy_in(kut::cache_layout(a->cache), a->cache_bytes);
    const QuantParams p{kut::quant_variant(a->quant_variant), kut::encoding(a->cache.encoding), a->ue8m0 != 0};
    const int64_t T = a->num_tokens;
    if (T < 0) reject("num_tokens", T, "must be >= 0");
    quantize_and_cache(std::span<const float>(a->k, size_t(T * a->cache.head_dim)),
                       std::span<const int64_t>(a->slots, size_t(T)), p, c);
    std::memcpy(a->cache_bytes, c.bytes.data(), c.bytes.size());
    return MQA_OK;
  });
}

mqa_status ref_gather(void*, const mqa_gather_args* a, char* msg, size_t len) {
  return kut::guarded(msg, len, [&] {
    const KCache c = copy_in(kut::cache_layout(a->cache), a->cache_bytes);
    const BlockTableView t{a->block_table, a->batch, a->max_blocks, a->table_row_stride};
    const Gathered g = gather_k_cache(c, t, std::span<const int32_t>(a->lens, size_t(std::max(a->batch, 0))));
    std::copy(g.values.begin(), g.values.end(), a->values_out);
    std::copy(g.scales.begin(), g.scales.end(), a->scales_out);
    return MQA_OK;
  });
}

mqa_status ref_paged(void*, const mqa_paged_logits_args* a, char* msg, size_t len) {
  return kut::guarded(msg, len, [&] {
    paged_mqa_logits(kut::paged_problem(*a), a->logits, a->logits_row_stride);
    return MQA_OK;
  });
}

mqa_status ref_ragged(void*, const mqa_ragged_logits_args* a, char* msg, size_t len) {
  return kut::guarded(msg, len, [&] {
    ragged_mqa_logits(kut::ragged_problem(*a), a->logits, a->logits_row_stride);
    return MQA_OK;
  });
}

}  // namespace

const mqa_kut* builtin_reference_kut() {
  static const mqa_kut k{MQA_KUT_ABI_VERSION, "builtin-ref", nullptr, ref_supports, ref_quant_cache,
                         ref_gather,          ref_paged,     ref_ragged};
  return &k;
}

}  // namespace mqa
