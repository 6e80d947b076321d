// Kernel-under-test ABI version 2 (device pointers), the parts that need no GPU: the registry
// negotiates the version (1 and 2 load, others are refused naming both), a version-1 plugin runs
// as before, the two routes refuse each other's calls, a version-2 kernel checks its arguments
// (MQA_INVALID naming the field) before it refuses for want of a GPU, and the campaign with a
// version-2 plugin on a machine without a GPU runs nothing and says why (never PASS).
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "kut_v2_test_util.hpp"
#include "mqa/device_oracle.hpp"
#include "mqa/fuzz.hpp"

using namespace mqa;

TEST(KutV2, TheRegistryNegotiatesTheAbiVersion) {
  const KernelUnderTest v1 = KernelUnderTest::load(kut_v2_test::plugin(MQA_PLUGIN_REFERENCE_PATH));
  EXPECT_EQ(1u, v1.abi_version());
  EXPECT_FALSE(v1.takes_device_pointers());
  const KernelUnderTest v2 = KernelUnderTest::load(kut_v2_test::plugin(MQA_PLUGIN_HIP_V2_PATH));
  EXPECT_EQ(2u, v2.abi_version());
  EXPECT_TRUE(v2.takes_device_pointers());
  EXPECT_EQ("plugin-hip-v2", v2.name());
  EXPECT_EQ(2u, KernelUnderTest::load("builtin-hip-v2").abi_version());
  EXPECT_EQ(1u, KernelUnderTest::load("builtin-hip").abi_version());
  try {
    (void)KernelUnderTest::load(kut_v2_test::plugin(MQA_PLUGIN_BAD_ABI_PATH));
    FAIL() << "a version-3 plugin loaded";
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    EXPECT_NE(std::string::npos, m.find("ABI version 3")) << m;
    EXPECT_NE(std::string::npos, m.find("versions 1 (host pointers) and 2 (device pointers)")) << m;
  }
}

TEST(KutV2, AVersionOnePluginStillComputesLikeTheReference) {
  const KernelUnderTest k = KernelUnderTest::load(kut_v2_test::plugin(MQA_PLUGIN_REFERENCE_PATH));
  const CaseTensors t = materialize(parse_case(kut_v2_test::kSmallPaged));
  std::vector<float> out(size_t(t.rows * t.logits_row_stride), f32_from_bits(kLogitSentinelBits));
  PoolBuffer pool = t.make_pool(true);
  mqa_paged_logits_args a = kut_v2_test::host_args(t, pool.data(), out.data());
  const KutResult r = k.paged_logits(a);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(0, std::memcmp(out.data(), t.logits.data(), out.size() * 4));
  // and the campaign passes it, through the host route as before
  fuzz::CampaignOptions o;
  o.kernel = kut_v2_test::plugin(MQA_PLUGIN_REFERENCE_PATH);
  o.replay = kut_v2_test::kSmallPaged;
  o.quiet = true;
  std::ostringstream log;
  EXPECT_EQ(0, fuzz::run_campaign(o, log).exit_code()) << log.str();
}

TEST(KutV2, EachRouteRefusesTheOthersCalls) {
  const KernelUnderTest v2 = KernelUnderTest::load("builtin-hip-v2");
  const KutResult host = v2.paged_logits(mqa_paged_logits_args{});
  EXPECT_EQ(MQA_ERROR, host.status);
  EXPECT_NE(std::string::npos, host.message.find("paged_logits_on_device")) << host.message;
  const KernelUnderTest v1 = KernelUnderTest::load("builtin-ref");
  const KutResult dev = v1.paged_logits_on_device(nullptr, mqa_paged_logits_args{});
  EXPECT_EQ(MQA_ERROR, dev.status);
  EXPECT_NE(std::string::npos, dev.message.find("needs a version-2 kernel")) << dev.message;
  // builtin-hip-v2 offers no quant_cache / gather: unsupported, with the reason
  EXPECT_EQ(MQA_UNSUPPORTED, v2.gather_on_device(nullptr, mqa_gather_args{}).status);
}

TEST(KutV2, BadArgumentsAreInvalidNamingTheFieldWithOrWithoutAGpu) {
  const KernelUnderTest k = KernelUnderTest::load(kut_v2_test::plugin(MQA_PLUGIN_HIP_V2_PATH));
  const CaseTensors t = materialize(parse_case(kut_v2_test::kSmallPaged), false);
  // Pointers the checks never dereference: a version-2 call's arguments are device memory.
  static uint8_t fake[16];
  mqa_paged_logits_args a = kut_v2_test::host_args(t, fake, reinterpret_cast<float*>(fake));
  auto expect_invalid = [&](const mqa_paged_logits_args& bad, const std::string& field) {
    const KutResult r = k.paged_logits_on_device(nullptr, bad);
    EXPECT_EQ(MQA_INVALID, r.status) << field << ": " << r.message;
    EXPECT_NE(std::string::npos, r.message.find(field)) << r.message;
  };
  mqa_paged_logits_args bad = a;
  bad.logits = nullptr;
  expect_invalid(bad, "logits");
  bad = a;
  bad.context_lens = nullptr;
  expect_invalid(bad, "context_lens");
  bad = a;
  bad.logits_row_stride = a.max_context_len - 1;
  expect_invalid(bad, "logits_row_stride");
  bad = a;
  bad.head_dim = a.head_dim * 2;
  expect_invalid(bad, "head_dim");
  bad = a;
  bad.cache.layout = 9;
  expect_invalid(bad, "layout");
  bad = a;
  bad.next_n = 0;
  expect_invalid(bad, "next_n");
  mqa_ragged_logits_args ra{};
  ra.M = -1, ra.heads = 64, ra.head_dim = 128, ra.logits_row_stride = 0;
  const KutResult rr = k.ragged_logits_on_device(nullptr, ra);
  EXPECT_EQ(MQA_INVALID, rr.status) << rr.message;
  EXPECT_NE(std::string::npos, rr.message.find("M = -1")) << rr.message;
}

TEST(KutV2, WithoutAGpuAVersionTwoPluginIsRefusedCleanly) {
  const device::DeviceStatus st = device::device_status();
  if (st.available) GTEST_SKIP() << "a GPU is present (" << st.name << "): the no-GPU refusal cannot be seen here";
  const KernelUnderTest k = KernelUnderTest::load(kut_v2_test::plugin(MQA_PLUGIN_HIP_V2_PATH));
  const CaseTensors t = materialize(parse_case(kut_v2_test::kSmallPaged), false);
  static uint8_t fake[16];
  const KutResult r = k.paged_logits_on_device(nullptr, kut_v2_test::host_args(t, fake, reinterpret_cast<float*>(fake)));
  EXPECT_EQ(MQA_UNSUPPORTED, r.status) << r.message;
  EXPECT_NE(std::string::npos, r.message.find("no GPU")) << r.message;
  // The campaign: nothing runs, the reason is named, the verdict is not PASS.
  fuzz::CampaignOptions o;
  o.kernel = kut_v2_test::plugin(MQA_PLUGIN_HIP_V2_PATH);
  o.cases = 20;
  o.seed = 5;
  o.quiet = true;
  std::ostringstream log;
  const fuzz::CampaignResult res = fuzz::run_campaign(o, log);
  EXPECT_EQ(0, res.ran());
  EXPECT_STREQ("inconclusive", res.result());
  EXPECT_NE(std::string::npos, res.shortfall.find("no GPU")) << res.shortfall;
  EXPECT_NE(std::string::npos, res.shortfall.find("ABI version 2 needs a GPU")) << res.shortfall;
}

TEST(KutV2, ToleranceModesSayTheyAreJudgedOnTheHost) {
  const std::unique_ptr<fuzz::Kernel> k = fuzz::make_kernel("builtin-hip-v2");
  fuzz::RunOptions ro;
  ro.compare = "tolerance:fp8_mma";
  EXPECT_NE(std::string::npos, k->route_note(ro).find("ON THE HOST")) << k->route_note(ro);
  const CaseDescriptor d = parse_case(kut_v2_test::kSmallPaged);
  EXPECT_TRUE(k->wants_expected(d, ro));  // the host comparator needs the host reference
  ro.compare = "ulp:2";
  EXPECT_EQ(std::string::npos, k->route_note(ro).find("ON THE HOST")) << k->route_note(ro);
  EXPECT_FALSE(k->wants_expected(d, ro));  // the device oracle computes them
  const CaseDescriptor dg = parse_case(std::string(kut_v2_test::kSmallPaged) + " profile=deepgemm_sm90");
  EXPECT_TRUE(k->wants_expected(dg, ro));  // the oracle covers only `exact`
  EXPECT_FALSE(fuzz::make_kernel("builtin-hip")->route_note(ro).size());  // version 1: nothing to say
}
