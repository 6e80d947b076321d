// Example kernel-under-test plugin: a shared library that exports mqa_kut_get (kut.h). This one
// wraps the host reference, so `golden verify` / the fuzzer can exercise the dlopen route; an
// aiter, CK or DeepGEMM author replaces the five function pointers with calls into their kernel
// (copying the host buffers to the device and back) and declares in `supports` what it covers.
#include "mqa/kut.h"
#include "mqa/kut_registry.hpp"

extern "C" __attribute__((visibility("default"))) const mqa_kut* mqa_kut_get(void) {
  static mqa_kut plugin = [] {
    mqa_kut k = *mqa::builtin_reference_kut();  // same operations, own name
    k.name = "plugin-reference";
    return k;
  }();
  return &plugin;
}
