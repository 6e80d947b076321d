// The device generator (mqa/device_case_gen.hpp, through the campaign's own staging
// fuzz::generate_case_inputs) against its host reference materialize(): every input byte of
// cases over every value key (tests/cases/value_key_cases.hpp), a sparse pool past 2^32 bytes
// included. Then the version-2 route on generated inputs: a paged campaign passes with the
// example plugin, its log saying where the inputs were built. Each test skips without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <unordered_set>

#include "../cases/value_key_cases.hpp"
#include "fuzz_internal.hpp"
#include "kut_v2_test_util.hpp"
#include "mqa/device_oracle.hpp"
#include "mqa/fuzz.hpp"

using namespace mqa;

namespace {

// The first differing byte of two buffers, as "byte i: device 0x.. host 0x.." ("" when equal).
std::string first_difference(const uint8_t* dev, const uint8_t* host, size_t n) {
  const auto m = std::mismatch(dev, dev + n, host);
  if (m.first == dev + n) return {};
  char b[96];
  std::snprintf(b, sizeof b, "byte %zu: device 0x%02x host 0x%02x", size_t(m.first - dev), *m.first, *m.second);
  return b;
}

TEST(CaseGenDevice, EveryInputByteEqualsMaterialize) {
  MQA_REQUIRE_GPU("the device generator");
  const device::Stream stream;
  bool past_4g = false;
  for (const std::string& line : test::value_key_cases()) {
    SCOPED_TRACE(line);
    const CaseTensors h = materialize(parse_case(line), false);
    const CaseTensors l = materialize_layout(parse_case(line));
    ASSERT_EQ("", fuzz::device_inputs_refusal(l.desc));
    const int64_t stride = l.pool.page_stride;
    const device::DeviceBytes pool(size_t(l.pool.total_bytes())), q(h.q.size()), w(h.weights.size() * 4);
    fuzz::generate_case_inputs(l, stream.handle(), pool.as<uint8_t>(), q.as<uint8_t>(), w.as<float>());
    std::vector<uint8_t> qd(h.q.size()), wd(h.weights.size() * 4);
    device::copy_to_host(qd.data(), q.get(), qd.size());
    device::copy_to_host(wd.data(), w.get(), wd.size());
    EXPECT_EQ("", first_difference(qd.data(), h.q.data(), qd.size())) << "q";
    EXPECT_EQ("", first_difference(wd.data(), reinterpret_cast<const uint8_t*>(h.weights.data()), wd.size()))
        << "weights";
    // the pool as make_pool(true) lays it out: page c of the compact cache at page_ids[c]
    std::vector<uint8_t> page(static_cast<size_t>(stride));
    for (size_t c = 0; c < h.page_ids.size(); ++c) {
      device::copy_to_host(page.data(), pool.as<uint8_t>() + h.page_ids[c] * stride, page.size());
      const std::string diff = first_difference(page.data(), h.cache.bytes.data() + c * size_t(stride), page.size());
      ASSERT_EQ("", diff) << "page " << h.page_ids[c] << " (compact " << c << ")";
      past_4g |= h.page_ids[c] * stride >= (int64_t(1) << 32);
    }
    if (h.sparse_pool) {  // untouched pages read zero: the first and last ids the case does not use
      const std::unordered_set<int64_t> used(h.page_ids.begin(), h.page_ids.end());
      int64_t lo = 0, hi = h.pool.num_pages - 1;
      while (used.count(lo)) ++lo;
      while (used.count(hi)) --hi;
      for (const int64_t id : {lo, hi}) {
        device::copy_to_host(page.data(), pool.as<uint8_t>() + id * stride, page.size());
        EXPECT_TRUE(std::all_of(page.begin(), page.end(), [](uint8_t b) { return b == 0; })) << "unused page " << id;
      }
    }
  }
  EXPECT_TRUE(past_4g) << "no case put a page past 2^32 bytes";
}

// The route on generated inputs: every paged case of a campaign with the example plugin passes
// (its oracle and kernel read the generated pool), and the log announces the generator.
TEST(CaseGenDevice, TheCampaignRunsOnGeneratedInputs) {
  MQA_REQUIRE_GPU("the device generator");
  fuzz::CampaignOptions o;
  o.kernel = "builtin-hip-v2";
  o.cases = 60;
  o.seed = 33;
  o.isolate = 0;
  o.gen.ops = {CaseOp::paged_logits};
  o.gen.max_tokens = 1500;
  o.shrink = false;
  o.repro_dir = "";
  std::ostringstream log;
  const fuzz::CampaignResult r = fuzz::run_campaign(o, log);
  EXPECT_EQ(0, r.failed) << log.str();
  EXPECT_GT(r.passed, 10) << log.str();
  EXPECT_NE(std::string::npos, log.str().find("Inputs generated ON THE GPU")) << log.str();
}

// A host-route case and a generated one of the same descriptor: the same verdict and phases.
TEST(CaseGenDevice, RunOnDeviceCountsTheGeneratorPhase) {
  MQA_REQUIRE_GPU("the device generator");
  const KernelUnderTest k = KernelUnderTest::load("builtin-hip-v2");
  const char* line = "op=paged_logits B=64 D=128 Qb=128 H=32 lens=1d:[130,64] pages=600000 stride=8448 seed=0x9";
  fuzz::DevicePhases host, gen;
  EXPECT_EQ(fuzz::Verdict::pass, fuzz::run_on_device(k, materialize(parse_case(line), false), {}, &host).verdict);
  EXPECT_EQ(fuzz::Verdict::pass, fuzz::run_on_device(k, materialize_layout(parse_case(line)), {}, &gen).verdict);
  EXPECT_EQ(0.0, host.generate);
  EXPECT_GT(gen.generate, 0.0);
}

}  // namespace
