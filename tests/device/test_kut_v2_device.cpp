// Kernel-under-test ABI version 2 on a GPU (each test skips without one, saying why): every new
// device op against its host reference, and version-2 plugins through the campaign's device
// route (a correct one passes, the mutant with a planted one-ulp error fails bitwise and
// passes ulp:1). The campaigns run in-process: this process already holds a GPU context, which
// forked children could not use.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "fuzz_internal.hpp"  // run_on_device, kGuardFloats
#include "kut_v2_test_util.hpp"
#include "mqa/device_oracle.hpp"
#include "mqa/fuzz.hpp"

using namespace mqa;

namespace {

const char* const kCases[] = {
    kut_v2_test::kSmallPaged,
    "op=paged_logits layout=standard B=64 D=128 Qb=128 H=64 lens=1d:[300,1,0,256] seed=0x5",
    // sparse pool: page ids >= 65,536 and byte offsets past 2^32
    "op=paged_logits layout=standard B=64 D=128 Qb=128 H=32 lens=1d:[130,64] pages=600000 stride=8448 seed=0x9",
    "op=ragged_logits D=128 Qb=128 H=64 lens=1d:[70,33] M=9 ranges=random clean=1 seed=0x11",
};

fuzz::CampaignResult campaign(const std::string& kernel, const std::string& compare, std::string* log_text) {
  fuzz::CampaignOptions o;
  o.kernel = kernel;
  o.cases = 60;
  o.seed = 21;
  o.isolate = 0;
  o.gen.ops = {CaseOp::paged_logits, CaseOp::ragged_logits};
  o.gen.max_tokens = 1500;
  o.run.compare = compare;
  o.shrink = false;
  o.repro_dir = "";
  std::ostringstream log;
  fuzz::CampaignResult r = fuzz::run_campaign(o, log);
  *log_text = log.str();
  return r;
}

}  // namespace

// builtin-hip-v2's paged op IS paged_mqa_logits_on_device (the oracle); judged here against the
// host reference's expected logits (materialised with them, so the route uploads them).
TEST(KutV2Device, TheOracleOnDevicePointersEqualsTheHostReference) {
  MQA_REQUIRE_GPU("ABI version 2");
  const KernelUnderTest k = KernelUnderTest::load("builtin-hip-v2");
  for (const char* line : kCases) {
    const CaseTensors t = materialize(parse_case(line), true);
    fuzz::DevicePhases ph;
    const fuzz::Outcome o = fuzz::run_on_device(k, t, {}, &ph);
    EXPECT_EQ(fuzz::Verdict::pass, o.verdict) << line << "\n" << o.detail;
    EXPECT_EQ(1, ph.cases);
  }
}

TEST(KutV2Device, TheDeviceComparatorCountsAsTheHostComparator) {
  MQA_REQUIRE_GPU("ABI version 2");
  const CaseTensors t = materialize(parse_case(kut_v2_test::kSmallPaged), true);
  const int64_t n = t.rows * t.logits_row_stride + fuzz::kGuardFloats;
  std::vector<float> expected(size_t(n), f32_from_bits(kLogitSentinelBits));
  std::memcpy(expected.data(), t.logits.data(), t.logits.size() * 4);
  struct Edit {
    int64_t index;
    uint32_t bits;
  };
  const int64_t S = t.logits_row_stride;
  auto bits_at = [&](int64_t i) { return f32_bits(expected[size_t(i)]); };
  // valid +1 ulp, -0 for +0 is not needed (rare): a valid value replaced by a NaN, the sentinel
  // left in a valid element, an undefined element that clean wants -inf, padding, the guard.
  const std::vector<std::vector<Edit>> edits = {
      {},
      {{0, bits_at(0) + 1}},
      {{1, 0x7FC00001u}, {2, kLogitSentinelBits}},
      {{S - 1, 0x3F800000u}, {n - 1, 0u}},
      {{5 * S + 20, 0x00000000u}, {3 * S, bits_at(3 * S) + 3}},
  };
  const device::Stream s;
  device::DeviceBytes de(size_t(n) * 4), da(size_t(n) * 4);
  device::copy_to_device(de.get(), expected.data(), de.size());
  for (const char* mode_text : {"bitwise", "ulp:1", "ulp:3", "bitwise,future", "bitwise,zero_sign_equal"}) {
    for (const auto& list : edits) {
      std::vector<float> actual = expected;
      for (const Edit& e : list) actual[size_t(e.index)] = f32_from_bits(e.bits);
      device::copy_to_device(da.get(), actual.data(), da.size());
      for (const WriteScope w : {WriteScope::defined, WriteScope::columns}) {
        CompareMode m = CompareMode::parse(mode_text);
        m.sentinel = kLogitSentinelBits;
        m.writes = w;
        m.clean = t.desc.clean_logits;
        const CompareReport host = t.compare_logits_with(expected, actual, m);
        const device::DeviceCompareCounts dev =
            device::compare_logits_on_device(de.as<float>(), da.as<float>(), n, t.regions, m, s.handle());
        EXPECT_EQ(host.compared, dev.compared) << m.to_string() << ", " << list.size() << " edits";
        EXPECT_EQ(host.mismatched, dev.mismatched) << m.to_string() << ", " << list.size() << " edits";
        EXPECT_EQ(host.first.empty() ? -1 : host.first[0].index, dev.first_index) << m.to_string();
      }
    }
  }
}

TEST(KutV2Device, ScatteredPagesEqualTheHostPool) {
  MQA_REQUIRE_GPU("ABI version 2");
  const CaseTensors t = materialize(parse_case(kCases[2]), false);
  ASSERT_TRUE(t.sparse_pool);
  const PoolBuffer host = t.make_pool(true);
  const device::Stream s;
  device::DeviceBytes pool(size_t(host.size())), compact(t.cache.bytes.size()), ids(t.page_ids.size() * 8);
  device::copy_to_device(compact.get(), t.cache.bytes.data(), compact.size());
  device::copy_to_device(ids.get(), t.page_ids.data(), ids.size());
  device::fill_bytes(pool.get(), 0, pool.size(), s.handle());
  device::scatter_pages(pool.as<uint8_t>(), compact.as<uint8_t>(), ids.as<int64_t>(), int64_t(t.page_ids.size()),
                        t.pool.page_stride, s.handle());
  s.synchronize("scatter");
  // Compare the pages the case uses and one untouched page (zero on both sides).
  std::vector<uint8_t> page(size_t(t.pool.page_stride));
  for (size_t c = 0; c < t.page_ids.size(); ++c) {
    device::copy_to_host(page.data(), pool.as<uint8_t>() + t.page_ids[c] * t.pool.page_stride, page.size());
    ASSERT_EQ(0, std::memcmp(page.data(), t.pool_page(host, c), page.size())) << "page " << t.page_ids[c];
  }
  device::copy_to_host(page.data(), pool.get(), page.size());
  EXPECT_EQ(0, std::memcmp(page.data(), host.data(), page.size()));
}

TEST(KutV2Device, AVersionTwoPluginPassesTheCampaignOnTheGpu) {
  MQA_REQUIRE_GPU("ABI version 2");
  std::string log;
  const fuzz::CampaignResult r = campaign(kut_v2_test::plugin(MQA_PLUGIN_HIP_V2_PATH), "bitwise", &log);
  EXPECT_EQ(0, r.exit_code()) << log;
  EXPECT_GT(r.ran(), 30) << log;
  EXPECT_NE(std::string::npos, log.find("logits judged on the GPU")) << log;
}

TEST(KutV2Device, ThePlantedOneUlpErrorFailsBitwiseAndPassesUlp1) {
  MQA_REQUIRE_GPU("ABI version 2");
  std::string log;
  const fuzz::CampaignResult bad = campaign(kut_v2_test::plugin(MQA_PLUGIN_V2_MUTANT_PATH), "bitwise", &log);
  ASSERT_EQ(1, bad.failed) << log;
  const std::string& detail = bad.failures[0].outcome.detail;
  EXPECT_NE(std::string::npos, detail.find("judged on the GPU: 1 of")) << detail;
  EXPECT_EQ(std::string::npos, detail.find("HARNESS ERROR")) << detail;
  EXPECT_NE(std::string::npos, detail.find("ulp")) << detail;
  const fuzz::CampaignResult ulp1 = campaign(kut_v2_test::plugin(MQA_PLUGIN_V2_MUTANT_PATH), "ulp:1", &log);
  EXPECT_EQ(0, ulp1.exit_code()) << log;
  EXPECT_GT(ulp1.ran(), 30) << log;
}

TEST(KutV2Device, AToleranceModeFallsBackToTheHostAndSaysSo) {
  MQA_REQUIRE_GPU("ABI version 2");
  std::string log;
  const fuzz::CampaignResult r = campaign(kut_v2_test::plugin(MQA_PLUGIN_HIP_V2_PATH), "tolerance:fp8_mma", &log);
  EXPECT_EQ(0, r.exit_code()) << log;
  EXPECT_NE(std::string::npos, log.find("judged ON THE HOST")) << log;
  EXPECT_GT(r.ran(), 30) << log;
}
