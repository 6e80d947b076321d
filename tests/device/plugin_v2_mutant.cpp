// A version-2 plugin with a planted bug the on-device comparator must catch: after the real
// paged-logits kernel, the last defined logit of the last row is moved by one ulp (in device
// memory). bitwise and ulp:0 must fail on it, ulp:1 must pass it (the bound is honoured both
// ways). Ragged logits are the real kernel's, unchanged.
#include "mqa/device_oracle.hpp"
#include "mqa/kut.h"
#include "mqa/kut_registry.hpp"

namespace {

mqa_status mutant_paged(void* self, void* stream, const mqa_paged_logits_args* a, char* msg, size_t len) {
  const mqa_status st = mqa::builtin_hip_v2_kut()->paged_logits(self, stream, a, msg, len);
  if (st != MQA_OK || a->batch == 0) return st;
  // The last row reads L tokens, L = the last entry of context_lens (1-D and 2-D alike).
  const int64_t n_lens = int64_t(a->batch) * (a->lens_2d ? a->next_n : 1);
  int32_t L = 0;
  mqa::device::synchronize_stream(stream, "mutant: the real kernel");
  mqa::device::copy_to_host(&L, a->context_lens + n_lens - 1, sizeof L);
  if (L <= 0) return st;
  float* at = a->logits + (int64_t(a->batch) * a->next_n - 1) * a->logits_row_stride + (L - 1);
  uint32_t bits = 0;
  mqa::device::copy_to_host(&bits, at, 4);
  if ((bits & 0x7FFFFFFFu) >= 0x7F7FFFFFu) return st;  // NaN, inf, the largest float: left alone
  ++bits;
  mqa::device::copy_to_device(at, &bits, 4);
  return st;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const mqa_kut* mqa_kut_get(void) {
  static const mqa_kut_v2 plugin = [] {
    mqa_kut_v2 k = *mqa::builtin_hip_v2_kut();
    k.name = "mutant-v2-last-logit-ulp";
    k.paged_logits = mutant_paged;
    return k;
  }();
  return reinterpret_cast<const mqa_kut*>(&plugin);
}
