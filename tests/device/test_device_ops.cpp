// Device kernels vs the host reference, bitwise, with sentinel-filled outputs and caches.
// Without a GPU (CI) every test skips with device_status()'s reason.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "mqa/compare.hpp"
#include "mqa/device_ops.hpp"
#include "mqa/validate.hpp"
#include "device_case.hpp"
#include "mqa/case_tiers.hpp"

using namespace mqa;

namespace {

class Device : public ::testing::Test {
 protected:
  void SetUp() override {
    const device::DeviceStatus st = device::device_status();
    if (!st.available) GTEST_SKIP() << st.reason;
  }
};

std::vector<device::LogitsPath> paths(int32_t heads, int32_t head_dim) {
  std::vector<device::LogitsPath> p{device::LogitsPath::generic};
  if (device::fast_path_fits(heads, head_dim)) p.push_back(device::LogitsPath::fast);
  return p;
}

// The one kernel choice (logits_host.hip: choose_kernel); needs the device build, not a GPU.
TEST(KernelChoice, DefaultFallbackAndGeneric) {
  if (!device::fast_path_compiled()) GTEST_SKIP() << "this build has no fast path";
  EXPECT_EQ(device::chosen_logits_kernel(device::LogitsPath::automatic, 64, 128, true), "tw3");
  EXPECT_EQ(device::chosen_logits_kernel(device::LogitsPath::automatic, 16, 32, true), "tw3");
  EXPECT_EQ(device::chosen_logits_kernel(device::LogitsPath::automatic, 128, 128, true), "lean2");
  EXPECT_EQ(device::chosen_logits_kernel(device::LogitsPath::fast, 64, 128, false), "lean2");
  EXPECT_EQ(device::chosen_logits_kernel(device::LogitsPath::automatic, 8, 128, true), "generic");
  EXPECT_EQ(device::chosen_logits_kernel(device::LogitsPath::generic, 64, 128, true), "generic");
  EXPECT_THROW(device::chosen_logits_kernel(device::LogitsPath::fast, 8, 128, true), device::DeviceError);
}

// An unknown MQA_FAST_KERNEL is an error naming it, never a silent default (read once per
// process: each case runs in a fresh child).
TEST(KernelChoiceDeathTest, EnvironmentNamesAreChecked) {
  if (!device::fast_path_compiled()) GTEST_SKIP() << "this build has no fast path";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("MQA_FAST_KERNEL", "mma1", 1);
        try {
          device::chosen_logits_kernel(device::LogitsPath::automatic, 64, 128, true);
        } catch (const device::DeviceError& e) {
          std::fprintf(stderr, "%s\n", e.what());
          std::exit(3);
        }
        std::exit(0);
      },
      ::testing::ExitedWithCode(3), "invalid MQA_FAST_KERNEL = 'mma1'");
  EXPECT_EXIT(
      {
        setenv("MQA_FAST_KERNEL", "lean2", 1);
        std::exit(device::chosen_logits_kernel(device::LogitsPath::automatic, 64, 128, true) == "lean2" ? 4 : 5);
      },
      ::testing::ExitedWithCode(4), "");
}

// Every path that covers the case runs it and passes (device_case.hpp: sentinels, the
// comparator and raw uint32 equality of the whole buffer).
void expect_device_equal(const CaseDescriptor& d) {
  const CaseTensors t = materialize(d, true);
  const bool logits = d.op == CaseOp::paged_logits || d.op == CaseOp::ragged_logits;
  for (device::LogitsPath path : logits ? paths(d.heads, d.head_dim) : std::vector{device::LogitsPath::automatic}) {
    const device::CaseRun r = device::run_case(t, path);
    EXPECT_TRUE(r.unsupported.empty()) << r.unsupported << ": " << to_string(d);
    EXPECT_TRUE(r.pass()) << device::to_string(path) << " " << to_string(d) << "\n" << r.detail;
    EXPECT_GT(r.compared, 0) << to_string(d);
  }
}

// Random cases of one op, drawn as the campaign draws them (the device's variants only).
void expect_random_equal(CaseOp op, uint64_t seed, int n) {
  GenOptions g;
  g.ops = {op};
  g.profiles = {Profile::exact};
  for (int i = 0; i < n; ++i) {
    CaseDescriptor d = random_case(seed, uint64_t(i), g);
    d.quant = QuantVariant::exact;
    expect_device_equal(d);
  }
}

}  // namespace

TEST_F(Device, QuantizeAndCacheMatchesTheReferenceByteForByte) { expect_random_equal(CaseOp::quant_cache, 11, 16); }

TEST_F(Device, GatherMatchesTheReference) { expect_random_equal(CaseOp::gather, 12, 16); }

TEST_F(Device, PagedLogitsMatchTheReferenceOnRandomCases) { expect_random_equal(CaseOp::paged_logits, 13, 30); }

TEST_F(Device, RaggedLogitsMatchTheReferenceOnRandomCases) { expect_random_equal(CaseOp::ragged_logits, 14, 20); }

TEST_F(Device, DeployedTierCasesMatchTheReference) {  // batch > 64, pools past 2^32 bytes for every op
  GenOptions g = tier_options(Tier::deployed);
  g.profiles = {Profile::exact};
  g.max_tokens = 1 << 16;  // the deployed shapes, at a test's budget
  g.wide_logits_percent = 0;
  for (int i = 0; i < 12; ++i) {
    CaseDescriptor d = random_case(15, uint64_t(i), g);
    d.quant = QuantVariant::exact;
    expect_device_equal(d);
  }
}

TEST_F(Device, PagedLogitsEdgeShapes) {
  for (int32_t B : {1, 16, 64})
    for (int32_t L : {0, 1, 15, 16, 17, 255, 256, 257, 509})
      for (int32_t pad : {0, 4}) {  // pad 4: 16-byte loads are misaligned, the byte path runs
        const int64_t stride = int64_t(B) * (64 + 4) + pad;
        expect_device_equal(parse_case(std::string("op=paged_logits layout=") + (B == 1 ? "standard" : "preshuffle16") +
                                        " B=" + std::to_string(B) + " D=64 Qb=64 H=16 next_n=2 lens=1d:[" +
                                        std::to_string(L) + "," + std::to_string(L / 2) + "," + std::to_string(L) +
                                        "] stride=" + std::to_string(stride) + " clean=" + std::to_string(L % 2) +
                                        " dist=adversarial seed=0x5"));
      }
}

TEST_F(Device, PagedLogitsWithPageIdsPast65536AndOffsetsPast4GiB) {
  expect_device_equal(parse_case("op=paged_logits B=16 D=32 Qb=32 H=32 lens=1d:[700,3,90,451] pages=70000 seed=0x6"));
  expect_device_equal(parse_case("op=paged_logits B=64 D=128 Qb=128 H=64 lens=1d:[200,77] pages=66000 stride=65536 seed=0x6"));
}

TEST_F(Device, NaNLogitsAreTheCanonicalNaN) {
  CaseTensors t = materialize(parse_case("op=paged_logits B=16 D=128 Qb=128 H=64 lens=1d:[40,9] seed=0x7"), true);
  t.q[5] = 0x7F;  // a NaN code in head 0 of row 0: every logit of row 0 is NaN
  for (device::LogitsPath path : paths(64, 128)) {
    const std::vector<float> got = device::device_logits(t, path);
    for (int64_t s = 0; s < t.lens[0]; ++s) EXPECT_EQ(kCanonicalNanBits, f32_bits(got[size_t(s)])) << s;
  }
}

TEST_F(Device, SameInputsGiveTheSameBitsTwentyTimes) {
  const CaseTensors t =
      materialize(parse_case("op=paged_logits B=64 D=128 Qb=128 H=64 next_n=2 lens=1d:[1000,3,517,64,999] "
                              "dist=adversarial seed=0x8"), true);
  const std::vector<float> first = device::device_logits(t);
  for (int run = 0; run < 20; ++run) {
    const std::vector<float> again = device::device_logits(t);
    ASSERT_EQ(0, std::memcmp(first.data(), again.data(), first.size() * 4)) << "run " << run;
  }
}

TEST_F(Device, BadInputIsRejectedLikeTheReference) {
  CaseTensors t = materialize(parse_case("op=paged_logits B=64 D=128 Qb=128 H=64 lens=1d:[100,60] seed=0x9"), true);
  t.block_table[0] = -1;  // needed by sequence 0
  EXPECT_THROW(device::device_logits(t), InvalidInput);
}

TEST_F(Device, AForcedFastPathOutsideItsShapesIsRefused) {
  const CaseTensors t = materialize(parse_case("op=paged_logits B=64 D=128 Qb=128 H=8 lens=1d:[10] seed=0xa"), true);
  EXPECT_THROW(device::device_logits(t, device::LogitsPath::fast), device::DeviceError);
  EXPECT_FALSE(device::run_case(t, device::LogitsPath::fast).unsupported.empty());
}
