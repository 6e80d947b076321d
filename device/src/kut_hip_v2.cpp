// "builtin-hip-v2": this project's logits kernels behind kernel-under-test ABI version 2 (device
// pointers and a stream). What a GPU kernel's author writes, and the template of
// examples/plugin_hip_v2.cpp: check the scalars, refuse what the device cannot do, copy the few
// small inputs the launch needs on the host (lengths, block table, ks / ke) and launch on the
// caller's stream. quant_cache and gather are not offered in version 2 (NULL: unsupported).
//
// Order of the answers, so that they are the same with or without a GPU: bad scalars or null
// pointers are MQA_INVALID naming the field; then what the device cannot run (no GPU, a
// profile or shape it lacks) is MQA_UNSUPPORTED with the reason; only then is memory touched.
#include <vector>

#include "kut_support.hpp"
#include "mqa/device_oracle.hpp"
#include "mqa/kut_registry.hpp"
#include "mqa/validate.hpp"

namespace mqa {

namespace {

void require_pointer(const void* p, const char* field) {
  if (p == nullptr) reject(field, std::string("null"), "a version-2 call needs a device pointer here");
}

template <class T>
std::vector<T> from_device(const T* p, int64_t n) {
  std::vector<T> h(size_t(n > 0 ? n : 0));
  device::copy_to_host(h.data(), p, h.size() * sizeof(T));
  return h;
}

mqa_status hip_v2_supports(void*, const mqa_case_shape* s, char* msg, size_t len) {
  if (s != nullptr && (s->op == MQA_OP_QUANT_CACHE || s->op == MQA_OP_GATHER) && kut::shape_enum_error(*s).empty())
    return kut::unsupported(msg, len, "builtin-hip-v2 offers only the logits ops (quant_cache, gather: builtin-hip)");
  const mqa_kut* v1 = builtin_hip_kut();
  return v1->supports(v1->self, s, msg, len);
}

// The reason the device cannot run the shape ("" when it can), asked like supports().
std::string refusal(const mqa_case_shape& s) {
  char why[512];
  const mqa_status st = hip_v2_supports(nullptr, &s, why, sizeof why);
  return st == MQA_OK ? std::string() : std::string(why);
}

mqa_status hip_v2_paged(void*, void* stream, const mqa_paged_logits_args* a, char* msg, size_t len) {
  return kut::guarded(msg, len, [&] {
    require_pointer(a, "args");
    PagedLogitsProblem p = kut::paged_problem(*a);  // enums, cache descriptor, head_dim
    if (a->batch < 0) reject("batch", a->batch, "must be >= 0");
    if (a->next_n < 1) reject("next_n", a->next_n, "must be >= 1");
    if (a->logits_row_stride < a->max_context_len)
      reject("logits_row_stride", a->logits_row_stride, "smaller than max_context_len = " + std::to_string(a->max_context_len));
    if (a->batch > 0) {
      require_pointer(a->context_lens, "context_lens");
      require_pointer(a->q, "q");
      require_pointer(a->weights, "weights");
      require_pointer(a->logits, "logits");
    }
    if (const std::string why = refusal(kut::paged_shape(*a)); !why.empty()) return kut::unsupported(msg, len, why);
    // The host copies the launch needs: lengths and (when rows read tokens) the block table.
    const std::vector<int32_t> lens = from_device(a->context_lens, int64_t(a->batch) * (a->lens_2d ? a->next_n : 1));
    const int64_t table_len = a->batch == 0 || a->block_table == nullptr
                                  ? 0
                                  : (int64_t(a->batch) - 1) * a->table_row_stride + a->max_blocks;
    const std::vector<int32_t> table = from_device(a->block_table, table_len);
    PagedLogitsProblem host = p;
    host.context_lens = lens.data();
    if (a->block_table != nullptr) host.table.data = table.data();
    const LogitsRegions g = paged_logits_regions(host, a->logits_row_stride, false);
    device::paged_mqa_logits_on_device(p, g, a->logits, a->logits_row_stride, stream);
    return MQA_OK;
  });
}

mqa_status hip_v2_ragged(void*, void* stream, const mqa_ragged_logits_args* a, char* msg, size_t len) {
  return kut::guarded(msg, len, [&] {
    require_pointer(a, "args");
    RaggedLogitsProblem p = kut::ragged_problem(*a);
    if (a->M < 0) reject("M", a->M, "must be >= 0");
    if (a->N < 0) reject("N", a->N, "must be >= 0");
    if (a->logits_row_stride < a->N)
      reject("logits_row_stride", a->logits_row_stride, "smaller than N = " + std::to_string(a->N));
    if (a->M > 0) {
      require_pointer(a->ks, "ks");
      require_pointer(a->ke, "ke");
      require_pointer(a->q, "q");
      require_pointer(a->weights, "weights");
      require_pointer(a->logits, "logits");
    }
    if (const std::string why = refusal(kut::ragged_shape(*a)); !why.empty()) return kut::unsupported(msg, len, why);
    const std::vector<int32_t> ks = from_device(a->ks, a->M), ke = from_device(a->ke, a->M);
    RaggedLogitsProblem host = p;
    host.ks = ks.data();
    host.ke = ke.data();
    const LogitsRegions g = ragged_logits_regions(host, a->logits_row_stride, false);
    device::ragged_mqa_logits_on_device(p, g, a->logits, a->logits_row_stride, stream);
    return MQA_OK;
  });
}

}  // namespace

const mqa_kut_v2* builtin_hip_v2_kut() {
  static const mqa_kut_v2 k{MQA_KUT_V2_ABI_VERSION, "builtin-hip-v2", nullptr, hip_v2_supports, nullptr, nullptr,
                            hip_v2_paged,           hip_v2_ragged};
  return &k;
}

}  // namespace mqa
