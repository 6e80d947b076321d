// The kernel-under-test registry, CPU only: builtin-ref through the ABI equals the direct
// reference calls, refusals are clear, dlopen plugins load (and bad ones fail with a reason).
#include <gtest/gtest.h>

#include <cstring>

#include "mqa/device_ops.hpp"
#include "mqa/kut_registry.hpp"
#include "sweep_cases.hpp"

using namespace mqa;
using namespace mqa::sweep;

namespace {

constexpr float kSentinel = -12345.0f;

mqa_cache_desc desc(const PagedCacheLayout& l, Fp8Encoding e) {
  return mqa_cache_desc{int32_t(l.page.kind), l.page.page_size, l.page.head_dim, l.page.quant_block,
                        l.page_stride,        l.num_pages,      int32_t(e),       0};
}

Case paged_case(uint64_t seed) {
  Case c;
  c.seed = seed, c.layout = PageLayoutKind::preshuffle16, c.page_size = 32, c.head_dim = 64, c.quant_block = 64;
  c.heads = 16, c.batch = 3, c.next_n = 2, c.max_len = 150, c.lens_2d = true, c.clean = true, c.adversarial = true;
  return c;
}

mqa_paged_logits_args paged_args(const PagedInputs& in, const Case& c, float* out) {
  mqa_paged_logits_args a{};
  a.cache = desc(in.cache.layout, c.encoding);
  a.cache_bytes = in.cache.bytes.data();
  a.q = in.q.data();
  a.batch = c.batch, a.next_n = c.next_n, a.heads = c.heads, a.head_dim = c.head_dim;
  a.weights = in.weights.data();
  a.context_lens = in.lens.data();
  a.lens_2d = c.lens_2d;
  a.max_blocks = in.max_blocks;
  a.block_table = in.table.data();
  a.table_row_stride = in.table_row_stride;
  a.max_context_len = in.max_context_len;
  a.clean_logits = c.clean;
  a.logits = out;
  a.logits_row_stride = in.out_row_stride;
  a.profile = MQA_PROFILE_EXACT;
  return a;
}

// The ABI route and the direct reference call write the same bits.
void expect_paged_through(const KernelUnderTest& k) {
  const Case c = paged_case(31);
  const PagedInputs in = make_paged(c);
  const size_t n = size_t(c.batch * c.next_n * in.out_row_stride);
  std::vector<float> direct(n, kSentinel), via(n, kSentinel);
  paged_mqa_logits(in.problem(c), direct.data(), in.out_row_stride);
  const KutResult r = k.paged_logits(paged_args(in, c, via.data()));
  ASSERT_TRUE(r.ok()) << to_string(r.status) << ": " << r.message;
  EXPECT_EQ(0, std::memcmp(direct.data(), via.data(), n * 4));
}

}  // namespace

TEST(KutRegistry, BuiltinReferencePagedLogitsEqualTheDirectCall) {
  expect_paged_through(KernelUnderTest::load("builtin-ref"));
}

TEST(KutRegistry, BuiltinReferenceRaggedLogitsEqualTheDirectCall) {
  Case c = paged_case(32);
  c.op = Op::ragged, c.max_len = 300;
  const RaggedInputs in = make_ragged(c);
  const size_t n = size_t(in.M * in.out_row_stride);
  std::vector<float> direct(n, kSentinel), via(n, kSentinel);
  ragged_mqa_logits(in.problem(c), direct.data(), in.out_row_stride);
  mqa_ragged_logits_args a{in.q.data(), in.M, c.heads, c.head_dim, int32_t(c.encoding), in.k.data(),
                           in.kscale.data(), in.N, c.clean, in.weights.data(), in.ks.data(), in.ke.data(),
                           via.data(), in.out_row_stride, MQA_PROFILE_EXACT, 0};
  const KutResult r = KernelUnderTest::load("builtin-ref").ragged_logits(a);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(0, std::memcmp(direct.data(), via.data(), n * 4));
}

TEST(KutRegistry, BuiltinReferenceQuantAndGatherEqualTheDirectCalls) {
  Case c = paged_case(33);
  c.op = Op::quant, c.quant_block = 32, c.max_len = 200, c.ue8m0 = true;
  QuantInputs in = make_quant(c);
  std::vector<uint8_t> via = in.cache.bytes;
  const mqa_quant_cache_args qa{desc(in.cache.layout, c.encoding), via.data(), in.k.data(), in.slots.data(),
                                int64_t(in.slots.size()), MQA_QUANT_EXACT, 1};
  const KernelUnderTest k = KernelUnderTest::load("builtin-ref");
  const KutResult r = k.quant_cache(qa);
  ASSERT_TRUE(r.ok()) << r.message;
  quantize_and_cache(in.k, in.slots, in.params, in.cache);
  EXPECT_EQ(in.cache.bytes, via);

  const PagedInputs p = make_paged(paged_case(34));
  const std::vector<int32_t> lens = p.gather_lens(paged_case(34));
  const Gathered want = gather_k_cache(p.cache, BlockTableView{p.table.data(), 3, p.max_blocks, p.table_row_stride}, lens);
  std::vector<uint8_t> v(want.values.size()), s(want.scales.size());
  const mqa_gather_args ga{desc(p.cache.layout, Fp8Encoding::e4m3fn), p.cache.bytes.data(), p.table.data(), 3,
                           p.max_blocks, p.table_row_stride, lens.data(), v.data(), s.data()};
  const KutResult g = k.gather(ga);
  ASSERT_TRUE(g.ok()) << g.message;
  EXPECT_EQ(want.values, v);
  EXPECT_EQ(want.scales, s);
}

TEST(KutRegistry, BadInputComesBackInvalidNamingTheField) {
  const Case c = paged_case(35);
  PagedInputs in = make_paged(c);
  in.table[0] = -1;
  std::vector<float> out(size_t(c.batch * c.next_n * in.out_row_stride));
  const KutResult r = KernelUnderTest::load("builtin-ref").paged_logits(paged_args(in, c, out.data()));
  EXPECT_EQ(MQA_INVALID, r.status);
  EXPECT_NE(std::string::npos, r.message.find("block_table[0][0]")) << r.message;
  mqa_case_shape s{};
  s.op = MQA_OP_PAGED_LOGITS, s.layout = 7;
  const KutResult sr = KernelUnderTest::load("builtin-ref").supports(s);
  EXPECT_EQ(MQA_INVALID, sr.status);
  EXPECT_NE(std::string::npos, sr.message.find("layout = 7")) << sr.message;
}

TEST(KutRegistry, UnsupportedCasesAreRefusedWithAReason) {
  const KernelUnderTest hip = KernelUnderTest::load("builtin-hip");
  mqa_case_shape s{};
  s.op = MQA_OP_PAGED_LOGITS, s.page_size = 64, s.head_dim = 128, s.quant_block = 128, s.heads = 64, s.next_n = 1;
  s.profile = MQA_PROFILE_DEEPGEMM_SM90;
  const KutResult r = hip.supports(s);
  EXPECT_EQ(MQA_UNSUPPORTED, r.status);
  const device::DeviceStatus st = device::device_status();
  if (!st.available) {
    EXPECT_NE(std::string::npos, r.message.find("no GPU")) << r.message;
    // The ops themselves refuse too, before touching anything.
    const Case c = paged_case(36);
    const PagedInputs in = make_paged(c);
    std::vector<float> out(size_t(c.batch * c.next_n * in.out_row_stride), kSentinel);
    const KutResult pr = hip.paged_logits(paged_args(in, c, out.data()));
    EXPECT_EQ(MQA_UNSUPPORTED, pr.status);
    EXPECT_NE(std::string::npos, pr.message.find("no GPU")) << pr.message;
    for (float x : out) ASSERT_EQ(kSentinel, x);
  } else {
    EXPECT_NE(std::string::npos, r.message.find("only 'exact'")) << r.message;
    s.profile = MQA_PROFILE_EXACT;
    EXPECT_TRUE(hip.supports(s).ok());
  }
  s.op = MQA_OP_QUANT_CACHE, s.quant_variant = MQA_QUANT_VLLM;
  const KutResult q = hip.supports(s);
  EXPECT_EQ(MQA_UNSUPPORTED, q.status);
  mqa_case_shape d{};
  d.op = MQA_OP_PAGED_LOGITS, d.heads = 4, d.head_dim = 128, d.profile = MQA_PROFILE_DEEPGEMM_SM90;
  const KutResult dr = KernelUnderTest::load("builtin-ref").supports(d);
  EXPECT_EQ(MQA_UNSUPPORTED, dr.status);
  EXPECT_NE(std::string::npos, dr.message.find("multiple of 8")) << dr.message;
}

TEST(KutRegistry, APluginLoadsWithDlopenAndComputesLikeTheReference) {
  const KernelUnderTest k = KernelUnderTest::load(MQA_PLUGIN_REFERENCE_PATH);
  EXPECT_EQ("plugin-reference", k.name());
  expect_paged_through(k);
}

TEST(KutRegistry, BadLibrariesFailToLoadWithAClearError) {
  auto message_of = [](const std::string& spec) {
    try {
      (void)KernelUnderTest::load(spec);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("(loaded)");
  };
  const std::string missing = message_of("/nonexistent/libkernel.so");
  EXPECT_NE(std::string::npos, missing.find("dlopen failed")) << missing;
  EXPECT_NE(std::string::npos, missing.find("/nonexistent/libkernel.so")) << missing;
  const std::string no_entry = message_of("libm.so.6");
  EXPECT_NE(std::string::npos, no_entry.find("exports no mqa_kut_get")) << no_entry;
  const std::string future = message_of(MQA_PLUGIN_BAD_ABI_PATH);
  EXPECT_NE(std::string::npos, future.find("ABI version 3")) << future;
}
