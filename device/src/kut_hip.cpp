// "builtin-hip": this project's device kernels behind the kernel-under-test ABI. Without a GPU
// every call answers MQA_UNSUPPORTED with device_status()'s reason ("no GPU: ...").
#include "kut_support.hpp"
#include "mqa/device_ops.hpp"
#include "mqa/kut_registry.hpp"
#include "mqa/validate.hpp"

namespace mqa {

namespace {

// "" when the device can run the case, else why not.
std::string hip_refusal(const mqa_case_shape& s) {
  const device::DeviceStatus st = device::device_status();
  if (!st.available) return st.reason;
  switch (s.op) {
    case MQA_OP_QUANT_CACHE: return device::unsupported_quant(kut::quant_variant(s.quant_variant));
    case MQA_OP_GATHER: return {};
    default: return device::unsupported_logits(kut::profile(s.profile), s.heads, s.head_dim);
  }
}

mqa_status hip_supports(void*, const mqa_case_shape* s, char* msg, size_t len) {
  const std::string bad = kut::shape_enum_error(*s);
  if (!bad.empty()) {
    kut::write_message(msg, len, bad);
    return MQA_INVALID;
  }
  const std::string why = hip_refusal(*s);
  if (!why.empty()) return kut::unsupported(msg, len, why);
  kut::write_message(msg, len, "");
  return MQA_OK;
}

// Refuses before touching anything when the device cannot run the case.
mqa_status refuse_if(const mqa_case_shape& s, char* msg, size_t len) {
  const std::string why = hip_refusal(s);
  return why.empty() ? MQA_OK : kut::unsupported(msg, len, why);
}

mqa_status hip_quant_cache(void*, const mqa_quant_cache_args* a, char* msg, size_t len) {
  return kut::guarded(msg, len, [&] {
    mqa_case_shape s = kut::cache_shape(MQA_OP_QUANT_CACHE, a->cache);
    s.quant_variant = a->quant_variant;
    s.ue8m0 = a->ue8m0;
    if (const mqa_status st = refuse_if(s, msg, len); st != MQA_OK) return st;
    device::quantize_and_cache(kut::quant_cache_problem(*a));
    return MQA_OK;
  });
}

mqa_status hip_gather(void*, const mqa_gather_args* a, char* msg, size_t len) {
  return kut::guarded(msg, len, [&] {
    if (const mqa_status st = refuse_if(kut::cache_shape(MQA_OP_GATHER, a->cache), msg, len); st != MQA_OK) return st;
    device::gather_k_cache(kut::gather_problem(*a), a->values_out, a->scales_out);
    return MQA_OK;
  });
}

mqa_status hip_paged(void*, const mqa_paged_logits_args* a, char* msg, size_t len) {
  return kut::guarded(msg, len, [&] {
    if (const mqa_status st = refuse_if(kut::paged_shape(*a), msg, len); st != MQA_OK) return st;
    device::paged_mqa_logits(kut::paged_problem(*a), a->logits, a->logits_row_stride);
    return MQA_OK;
  });
}

mqa_status hip_ragged(void*, const mqa_ragged_logits_args* a, char* msg, size_t len) {
  return kut::guarded(msg, len, [&] {
    if (const mqa_status st = refuse_if(kut::ragged_shape(*a), msg, len); st != MQA_OK) return st;
    device::ragged_mqa_logits(kut::ragged_problem(*a), a->logits, a->logits_row_stride);
    return MQA_OK;
  });
}

}  // namespace

const mqa_kut* builtin_hip_kut() {
  static const mqa_kut k{MQA_KUT_ABI_VERSION, "builtin-hip", nullptr, hip_supports, hip_quant_cache,
                         hip_gather,          hip_paged,     hip_ragged};
  return &k;
}

}  // namespace mqa
