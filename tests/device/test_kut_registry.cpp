// The kernel-under-test registry, CPU only: builtin-ref through the ABI equals the direct
// reference calls, refusals are clear, dlopen plugins load (and bad ones fail with a reason).
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstring>

#include "mqa/case.hpp"
#include "mqa/device_ops.hpp"
#include "mqa/kut_problem.hpp"
#include "mqa/kut_registry.hpp"

using namespace mqa;

namespace {

constexpr float kSentinel = -12345.0f;

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// A paged case as the old sweep drew it: preshuffle16, 2-D lens, clean logits, adversarial values.
CaseTensors paged_case(uint64_t seed) {
  return materialize(parse_case("op=paged_logits layout=preshuffle16 B=32 D=64 Qb=64 H=16 next_n=2 "
                                "lens=2d:[150,150|7,90|0,33] clean=1 out_pad=3 dist=adversarial seed=" + std::to_string(seed)),
                     false);
}

// The ABI arguments of a paged case on its compact cache (the reference's own pool).
mqa_paged_logits_args paged_args(const CaseTensors& t, float* out) {
  return kut::paged_args(t.paged_problem(), out, t.logits_row_stride);
}

// The ABI route and the direct reference call write the same bits.
void expect_paged_through(const KernelUnderTest& k) {
  const CaseTensors t = paged_case(31);
  const size_t n = size_t(t.rows * t.logits_row_stride);
  std::vector<float> direct(n, kSentinel), via(n, kSentinel);
  paged_mqa_logits(t.paged_problem(), direct.data(), t.logits_row_stride);
  const KutResult r = k.paged_logits(paged_args(t, via.data()));
  ASSERT_TRUE(r.ok()) << to_string(r.status) << ": " << r.message;
  EXPECT_EQ(0, std::memcmp(direct.data(), via.data(), n * 4));
}

}  // namespace

TEST(KutRegistry, BuiltinReferencePagedLogitsEqualTheDirectCall) {
  expect_paged_through(KernelUnderTest::load("builtin-ref"));
}

TEST(KutRegistry, BuiltinReferenceRaggedLogitsEqualTheDirectCall) {
  const CaseTensors t = materialize(
      parse_case("op=ragged_logits B=32 D=64 Qb=64 H=16 lens=1d:[300] M=40 ranges=random clean=1 out_pad=5 "
                 "dist=adversarial seed=32"), false);
  const RaggedLogitsProblem p = t.ragged_problem();
  const size_t n = size_t(t.rows * t.logits_row_stride);
  std::vector<float> direct(n, kSentinel), via(n, kSentinel);
  ragged_mqa_logits(p, direct.data(), t.logits_row_stride);
  const KutResult r =
      KernelUnderTest::load("builtin-ref").ragged_logits(kut::ragged_args(p, via.data(), t.logits_row_stride));
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(0, std::memcmp(direct.data(), via.data(), n * 4));
}

TEST(KutRegistry, BuiltinReferenceQuantAndGatherEqualTheDirectCalls) {
  // the write: the ABI route on the sentinel pool against materialize()'s reference write
  const CaseTensors q = materialize(parse_case("op=quant_cache layout=preshuffle16 B=32 D=64 Qb=32 lens=1d:[120,80] "
                                               "pad_slots=4 ue8m0=1 dist=adversarial seed=33"), false);
  KCache via(q.cache.layout, kCacheSentinel);
  const QuantParams qp{QuantVariant::exact, q.desc.encoding, true};
  const KernelUnderTest k = KernelUnderTest::load("builtin-ref");
  const KutResult r = k.quant_cache(kut::quant_cache_args({via.ref(), q.k, q.slots_compact, qp}));
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(q.cache.bytes, via.bytes);

  const CaseTensors t = paged_case(34);
  const std::vector<int32_t>& lens = t.written;  // each sequence's tokens
  const Gathered want = gather_k_cache(t.cache.view(), t.paged_problem().table, lens);
  std::vector<uint8_t> v(want.values.size()), s(want.scales.size());
  const KutResult g = k.gather(
      kut::gather_args({t.cache.view(), Fp8Encoding::e4m3fn, t.paged_problem().table, lens}, v.data(), s.data()));
  ASSERT_TRUE(g.ok()) << g.message;
  EXPECT_EQ(want.values, v);
  EXPECT_EQ(want.scales, s);
}

// builtin-ref takes the caller's pool through a view: a sparse pool of 4.3 GB (page ids past
// 65,536, byte offsets past 2^32) is written and gathered in place, for the cost of its pages.
TEST(KutRegistry, BuiltinReferenceWorksInPlaceOnASparsePoolPast4GiB) {
  const KernelUnderTest k = KernelUnderTest::load("builtin-ref");
  const long rss_before = peak_rss_kb();
  const CaseTensors q = materialize(
      parse_case("op=quant_cache B=16 D=32 Qb=32 lens=1d:[33,16,1] pages=65600 stride=65536 pad_slots=2 seed=0x5"),
      false);
  ASSERT_TRUE(q.sparse_pool);
  ASSERT_GT(q.pool.total_bytes(), int64_t(1) << 32);
  PoolBuffer pool = q.make_pool(false);
  const KutResult r = k.quant_cache(kut::quant_cache_args(q.quant_problem(pool)));
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(q.compact_pages(pool), q.cache.bytes);

  const CaseTensors t =
      materialize(parse_case("op=gather B=16 D=32 Qb=16 lens=1d:[40,0,17] pages=65600 stride=65536 seed=0x6"), false);
  ASSERT_TRUE(t.sparse_pool);
  const PoolBuffer written = t.make_pool(true);
  std::vector<uint8_t> v(t.gathered.values.size()), s(t.gathered.scales.size());
  const KutResult g = k.gather(kut::gather_args(t.gather_problem(written), v.data(), s.data()));
  ASSERT_TRUE(g.ok()) << g.message;
  EXPECT_EQ(t.gathered.values, v);
  EXPECT_EQ(t.gathered.scales, s);
  EXPECT_LT(peak_rss_kb() - rss_before, 512 * 1024) << "a pool of 4.3 GB was copied (KB of peak RSS)";
}

TEST(KutRegistry, BadInputComesBackInvalidNamingTheField) {
  CaseTensors t = paged_case(35);
  t.block_table_compact[0] = -1;
  std::vector<float> out(size_t(t.rows * t.logits_row_stride));
  const KutResult r = KernelUnderTest::load("builtin-ref").paged_logits(paged_args(t, out.data()));
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
    const CaseTensors t = paged_case(36);
    std::vector<float> out(size_t(t.rows * t.logits_row_stride), kSentinel);
    const KutResult pr = hip.paged_logits(paged_args(t, out.data()));
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
