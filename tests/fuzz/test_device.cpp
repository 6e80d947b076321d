// Device == reference, every op, over random descriptors (RapidCheck), through the same path the
// campaign uses (kut ABI, sentinel-filled outputs, bitwise comparison, writes only where
// defined). Skipped when builtin-hip has no GPU to run on.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "mqa/case_gen.hpp"
#include "mqa/fuzz.hpp"

using namespace mqa;

namespace {

const fuzz::Kernel& device() {
  static const std::unique_ptr<fuzz::Kernel> k = fuzz::make_kernel("builtin-hip");
  return *k;
}

// Empty when a GPU answers; else builtin-hip's reason.
std::string no_gpu_reason() {
  const CaseTensors t = materialize(parse_case("op=gather B=16 D=32 lens=1d:[3]"));
  const fuzz::Outcome o = fuzz::run_case(device(), t, {}, false, 0);
  return o.verdict == fuzz::Verdict::unsupported ? o.detail : "";
}

}  // namespace

TEST(DeviceProperty, EveryOpMatchesTheReferenceBitForBit) {
  const std::string why = no_gpu_reason();
  if (!why.empty()) GTEST_SKIP() << "builtin-hip: " << why;
  const bool ok = rc::check("device == reference", [] {
    GenOptions o;
    o.max_tokens = 1500;
    const CaseDescriptor d = *gen_case(o);
    const fuzz::Outcome r = fuzz::run_case(device(), materialize(d), {}, false, 0);
    RC_CLASSIFY(r.verdict == fuzz::Verdict::unsupported, "unsupported by builtin-hip");
    RC_ASSERT(!fuzz::is_failure(r.verdict));
  });
  EXPECT_TRUE(ok);
}
