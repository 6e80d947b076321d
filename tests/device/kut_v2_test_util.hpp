// Shared by the ABI version-2 tests: a small paged case and its kut arguments.
#pragma once
#include <cstdlib>
#include <string>

#include "mqa/case.hpp"
#include "mqa/device_ops.hpp"  // device_status
#include "mqa/kut_problem.hpp"  // the campaign's own case -> kut argument mapping
#include "mqa/kut_registry.hpp"

// Skips the calling test without a GPU, saying what needed one and why there is none.
#define MQA_REQUIRE_GPU(what)                                                   \
  do {                                                                          \
    const ::mqa::device::DeviceStatus st_ = ::mqa::device::device_status();     \
    if (!st_.available) GTEST_SKIP() << what << " needs a GPU: " << st_.reason; \
  } while (0)

namespace kut_v2_test {

// Partial last pages, 2-D lens, clean_logits and padded rows: the regions the comparator must get right.
inline constexpr const char* kSmallPaged =
    "op=paged_logits layout=preshuffle16 B=16 D=64 Qb=64 H=16 next_n=2 lens=2d:[33,40|0,17|5,64] out_pad=3 clean=1 "
    "seed=0x77";

// A test plugin: the path this build wrote, or the same file name in $MQA_TEST_PLUGIN_DIR (the
// GPU machine runs binaries built elsewhere: scripts/pack_device.sh, scripts/device_v2_check.sh).
inline std::string plugin(const char* built_path) {
  const char* dir = std::getenv("MQA_TEST_PLUGIN_DIR");
  if (dir == nullptr || *dir == '\0') return built_path;
  const std::string p = built_path;
  return std::string(dir) + "/" + p.substr(p.rfind('/') + 1);
}

// t's paged-logits arguments with the given pool and output (host or device pointers alike).
inline mqa_paged_logits_args host_args(const mqa::CaseTensors& t, uint8_t* pool, float* out) {
  return mqa::kut::paged_args(t.paged_problem(t.host_buffers(pool)), out, t.logits_row_stride);
}

}  // namespace kut_v2_test
