// Device kernels vs the host reference, bitwise, with sentinel-filled outputs and caches.
// Without a GPU (CI) every test skips with device_status()'s reason.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "mqa/compare.hpp"
#include "mqa/device_ops.hpp"
#include "mqa/sentinels.h"
#include "mqa/validate.hpp"
#include "sweep_cases.hpp"

using namespace mqa;
using namespace mqa::sweep;

namespace {

constexpr uint32_t kSentinel = kLogitSentinelBits;

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

CompareMode strict(bool clean) {
  CompareMode m;
  m.clean = clean;
  m.sentinel = kSentinel;
  m.writes = WriteScope::defined;
  return m;
}

// Reference and device outputs of a paged case: equal bits everywhere (whole buffers), and the
// comparator's region/sentinel verdict.
void expect_paged_equal(const Case& c) {
  const PagedInputs in = make_paged(c);
  const PagedLogitsProblem p = in.problem(c);
  const LogitsRegions g = paged_logits_regions(p, in.out_row_stride);
  std::vector<float> want(size_t(g.rows * g.row_stride), f32_from_bits(kSentinel));
  paged_mqa_logits(p, want.data(), in.out_row_stride);
  for (device::LogitsPath path : paths(c.heads, c.head_dim)) {
    std::vector<float> got(want.size(), f32_from_bits(kSentinel));
    device::paged_mqa_logits(p, got.data(), in.out_row_stride, path);
    const CompareReport r = compare_logits(want, got, g, strict(c.clean), paged_coordinates(p));
    EXPECT_TRUE(r.pass) << device::to_string(path) << " " << c.describe() << "\n" << r.to_text();
    EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 4)) << device::to_string(path) << " " << c.describe();
  }
}

void expect_ragged_equal(const Case& c) {
  const RaggedInputs in = make_ragged(c);
  const RaggedLogitsProblem p = in.problem(c);
  const LogitsRegions g = ragged_logits_regions(p, in.out_row_stride);
  std::vector<float> want(size_t(g.rows * g.row_stride), f32_from_bits(kSentinel));
  ragged_mqa_logits(p, want.data(), in.out_row_stride);
  for (device::LogitsPath path : paths(c.heads, c.head_dim)) {
    std::vector<float> got(want.size(), f32_from_bits(kSentinel));
    device::ragged_mqa_logits(p, got.data(), in.out_row_stride, path);
    const CompareReport r = compare_logits(want, got, g, strict(c.clean), ragged_coordinates(p));
    EXPECT_TRUE(r.pass) << device::to_string(path) << " " << c.describe() << "\n" << r.to_text();
    EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 4)) << device::to_string(path) << " " << c.describe();
  }
}

}  // namespace

TEST_F(Device, QuantizeAndCacheMatchesTheReferenceByteForByte) {
  for (const Case& c : random_cases(64, 11)) {
    if (c.op != Op::quant) continue;
    QuantInputs in = make_quant(c);
    std::vector<uint8_t> got = in.cache.bytes;
    quantize_and_cache(in.k, in.slots, in.params, in.cache);
    device::quantize_and_cache(in.cache.layout, got.data(), in.k, in.slots, in.params);
    const ByteCompareReport r = compare_bytes(in.cache.bytes, got, in.cache.layout);
    EXPECT_TRUE(r.pass) << c.describe() << "\n" << r.to_text();
  }
}

TEST_F(Device, GatherMatchesTheReference) {
  for (const Case& c : random_cases(64, 12)) {
    if (c.op != Op::gather) continue;
    const PagedInputs in = make_paged(c);
    const std::vector<int32_t> lens = in.gather_lens(c);
    const BlockTableView t{in.table.data(), c.batch, in.max_blocks, in.table_row_stride};
    const Gathered want = gather_k_cache(in.cache, t, lens);
    std::vector<uint8_t> v(want.values.size(), 0xA5), s(want.scales.size(), 0xA5);
    device::gather_k_cache(in.cache.layout, in.cache.bytes.data(), t, lens, v.data(), s.data());
    EXPECT_EQ(want.values, v) << c.describe();
    EXPECT_EQ(want.scales, s) << c.describe();
  }
}

TEST_F(Device, PagedLogitsMatchTheReferenceOnRandomCases) {
  for (const Case& c : random_cases(120, 13))
    if (c.op == Op::paged) expect_paged_equal(c);
}

TEST_F(Device, RaggedLogitsMatchTheReferenceOnRandomCases) {
  for (const Case& c : random_cases(80, 14))
    if (c.op == Op::ragged) expect_ragged_equal(c);
}

TEST_F(Device, PagedLogitsEdgeShapes) {
  Case c;
  c.seed = 5;
  for (int32_t B : {1, 16, 64})
    for (int32_t L : {0, 1, 15, 16, 17, 255, 256, 257, 509})
      for (int32_t pad : {0, 4}) {  // pad 4: 16-byte loads are misaligned, the byte path runs
        c.layout = B == 1 ? PageLayoutKind::standard : PageLayoutKind::preshuffle16;
        c.page_size = B, c.max_len = L, c.stride_pad = pad, c.batch = 3, c.next_n = 2, c.heads = 16, c.head_dim = 64;
        c.quant_block = 64, c.clean = L % 2 == 1, c.adversarial = true;
        expect_paged_equal(c);
      }
}

TEST_F(Device, PagedLogitsWithPageIdsPast65536) {
  Case c;
  c.seed = 6, c.page_size = 16, c.head_dim = 32, c.quant_block = 32, c.heads = 32, c.batch = 4, c.max_len = 700;
  c.high_page_ids = true;
  expect_paged_equal(c);
}

TEST_F(Device, NaNLogitsAreTheCanonicalNaN) {
  Case c;
  c.seed = 7, c.page_size = 16, c.head_dim = 128, c.quant_block = 128, c.heads = 64, c.batch = 2, c.max_len = 40;
  PagedInputs in = make_paged(c);
  in.q[5] = 0x7F;  // a NaN code in head 0 of row 0: every logit of row 0 is NaN
  const PagedLogitsProblem p = in.problem(c);
  for (device::LogitsPath path : paths(c.heads, c.head_dim)) {
    std::vector<float> got(size_t(2 * in.out_row_stride), 0.0f);
    device::paged_mqa_logits(p, got.data(), in.out_row_stride, path);
    for (int64_t s = 0; s < in.lens[0]; ++s) EXPECT_EQ(kCanonicalNanBits, f32_bits(got[size_t(s)])) << s;
  }
}

TEST_F(Device, SameInputsGiveTheSameBitsTwentyTimes) {
  Case c;
  c.seed = 8, c.batch = 5, c.max_len = 1000, c.adversarial = true, c.next_n = 2;
  const PagedInputs in = make_paged(c);
  const PagedLogitsProblem p = in.problem(c);
  std::vector<float> first(size_t(10 * in.out_row_stride), 0.0f);
  device::paged_mqa_logits(p, first.data(), in.out_row_stride);
  for (int run = 0; run < 20; ++run) {
    std::vector<float> again(first.size(), 0.0f);
    device::paged_mqa_logits(p, again.data(), in.out_row_stride);
    ASSERT_EQ(0, std::memcmp(first.data(), again.data(), first.size() * 4)) << "run " << run;
  }
}

TEST_F(Device, BadInputIsRejectedLikeTheReference) {
  Case c;
  c.seed = 9, c.batch = 2, c.max_len = 100;
  PagedInputs in = make_paged(c);
  in.table[0] = -1;  // needed by sequence 0
  const PagedLogitsProblem p = in.problem(c);
  std::vector<float> out(size_t(2 * in.out_row_stride));
  EXPECT_THROW(device::paged_mqa_logits(p, out.data(), in.out_row_stride), InvalidInput);
}

TEST_F(Device, AForcedFastPathOutsideItsShapesIsRefused) {
  Case c;
  c.seed = 10, c.heads = 8, c.batch = 1, c.max_len = 10;
  const PagedInputs in = make_paged(c);
  std::vector<float> out(size_t(in.out_row_stride));
  EXPECT_THROW(device::paged_mqa_logits(in.problem(c), out.data(), in.out_row_stride, device::LogitsPath::fast),
               device::DeviceError);
}
