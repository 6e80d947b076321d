// A plugin that claims a future ABI version: the registry must refuse to load it.
#include "mqa/kut.h"

extern "C" __attribute__((visibility("default"))) const mqa_kut* mqa_kut_get(void) {
  static const mqa_kut k{MQA_KUT_V2_ABI_VERSION + 1, "future-abi", nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  return &k;
}
