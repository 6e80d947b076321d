// "builtin-ref": the host reference behind the kernel-under-test ABI. It supports every case the
// reference implements (all quant variants, both profiles); bad input comes back MQA_INVALID.
#include <algorithm>
#include <cstring>

#include "kut_support.hpp"
#include "mqa/kut_registry.hpp"
#include "mqa/validate.hpp"

namespace mqa {

namespace {

// The caller's pool is used in place through a view (no copy: a sparse pool past 2^32 bytes
// costs only the pages the call touches).
void require_pool(const void* bytes) {
  if (bytes == nullptr) reject("cache_bytes", std::string("null"), "no cache given");
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
    const QuantCacheProblem p = kut::quant_cache_problem(*a);
    require_pool(a->cache_bytes);
    quantize_and_cache(p.k, p.slots, p.params, p.cache);
    return MQA_OK;
  });
}

mqa_status ref_gather(void*, const mqa_gather_args* a, char* msg, size_t len) {
  return kut::guarded(msg, len, [&] {
    const GatherProblem p = kut::gather_problem(*a);
    require_pool(a->cache_bytes);
    const Gathered g = gather_k_cache(p.cache, p.table, p.lens);
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
