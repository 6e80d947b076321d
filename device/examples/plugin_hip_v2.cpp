// Example kernel-under-test plugin speaking ABI version 2 (kut.h: device pointers and a
// stream): it re-exports this project's HIP logits kernels ("builtin-hip-v2") under its own
// name, so the dlopen route of version 2 is exercised end to end. A GPU kernel's author copies
// device/src/kut_hip_v2.cpp's shape: check the scalars, refuse what the kernel does not cover,
// launch on the given stream, and let the harness fill, compare and report on the device.
#include "mqa/kut.h"
#include "mqa/kut_registry.hpp"

extern "C" __attribute__((visibility("default"))) const mqa_kut* mqa_kut_get(void) {
  static const mqa_kut_v2 plugin = [] {
    mqa_kut_v2 k = *mqa::builtin_hip_v2_kut();  // same operations, own name
    k.name = "plugin-hip-v2";
    return k;
  }();
  // The ABI's one entry point returns the version-1 type; abi_version (2) tells the harness
  // which struct this is.
  return reinterpret_cast<const mqa_kut*>(&plugin);
}
