// Test kernels with a narrow support set: the control mutant (mutant_kut.cpp built with no bug,
// an independent scalar implementation of every op) behind a stricter supports(). They test
// the campaign's drawing, not its judging:
//   MQA_SHAPES_DEEPGEMM_SM90: the shapes of DeepGEMM SM90's fp8_paged_mqa_logits: paged_logits
//     only, page size 64, H 32 or 64, D 128, next_n <= 2, standard layout, e4m3fn, 2-D context
//     lens, the deepgemm_sm90 profile. Without constraint options the campaign must still run
//     >= 90% of its cases (tests/fuzz/test_targeted.cpp).
//   MQA_SHAPES_NONE: supports nothing; a campaign of it must never say PASS.
//   MQA_SHAPES_MIXED: a support set that is no product of per-field choices (paged_logits with
//     B 64 standard or B 16 preshuffle16, gather with D 128): narrowing cannot express it, so
//     redraws must.
//   MQA_SHAPES_PAGED_ONLY with MQA_MUTANT=page_off_by_one: a failing kernel that refuses the
//     other ops (failure counts that must not count unsupported cases as passing).
#ifndef MQA_MUTANT
#define MQA_MUTANT 0
#endif
#define mqa_kut_get mqa_kut_get_control  // the control's entry point, renamed: this file exports its own
#include "mutant_kut.cpp"
#undef mqa_kut_get

namespace {

// Why the shape is refused (nullptr: it is not).
const char* refusal(const mqa_case_shape& s) {
#if defined(MQA_SHAPES_DEEPGEMM_SM90)
  if (s.op != MQA_OP_PAGED_LOGITS) return "deepgemm_sm90 shapes: paged_logits only";
  if (s.page_size != 64) return "deepgemm_sm90 shapes: page size 64 only";
  if (s.heads != 32 && s.heads != 64) return "deepgemm_sm90 shapes: H 32 or 64 only";
  if (s.head_dim != 128) return "deepgemm_sm90 shapes: D 128 only";
  if (s.next_n > 2) return "deepgemm_sm90 shapes: next_n <= 2 only";
  if (s.layout != MQA_LAYOUT_STANDARD) return "deepgemm_sm90 shapes: standard layout only";
  if (s.encoding != MQA_FP8_E4M3FN) return "deepgemm_sm90 shapes: e4m3fn only";
  if (!s.lens_2d) return "deepgemm_sm90 shapes: 2-D context lens only";
  if (s.profile != MQA_PROFILE_DEEPGEMM_SM90) return "deepgemm_sm90 shapes: the deepgemm_sm90 profile only";
  return nullptr;
#elif defined(MQA_SHAPES_MIXED)
  if (s.op == MQA_OP_PAGED_LOGITS && s.page_size == 64 && s.layout == MQA_LAYOUT_STANDARD) return nullptr;
  if (s.op == MQA_OP_PAGED_LOGITS && s.page_size == 16 && s.layout == MQA_LAYOUT_PRESHUFFLE16) return nullptr;
  if (s.op == MQA_OP_GATHER && s.head_dim == 128) return nullptr;
  return "mixed shapes: paged B 64 standard, paged B 16 preshuffle16 or gather D 128 only";
#elif defined(MQA_SHAPES_PAGED_ONLY)
  return s.op == MQA_OP_PAGED_LOGITS ? nullptr : "paged_logits only";
#elif defined(MQA_SHAPES_NONE)
  (void)s;
  return "this test kernel supports no case";
#else
#error "compile with -DMQA_SHAPES_<set>"
#endif
}

mqa_status shaped_supports(void* self, const mqa_case_shape* s, char* msg, size_t len) {
  if (const char* why = refusal(*s)) {
    std::snprintf(msg, len, "%s", why);
    return MQA_UNSUPPORTED;
  }
  return supports(self, s, msg, len);
}

const mqa_kut kShaped{MQA_KUT_ABI_VERSION, "shaped control", nullptr, shaped_supports, quant_cache, gather, paged_logits,
                      ragged_logits};

}  // namespace

extern "C" __attribute__((visibility("default"))) const mqa_kut* mqa_kut_get(void) { return &kShaped; }
