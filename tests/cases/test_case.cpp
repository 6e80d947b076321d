// Case descriptors: text round trip, errors that name the field, and what materialize builds.
#include <gtest/gtest.h>

#include <cstdlib>

#include <cstring>
#include <set>

#include "mqa/case.hpp"
#include "mqa/validate.hpp"
#include "../rejected_field.hpp"

using namespace mqa;

namespace {

const char* const kLines[] = {
    "op=paged_logits layout=preshuffle16 B=64 D=128 Qb=128 H=64 next_n=2 lens=1d:[513,0,64] pages=70000 "
    "stride=natural max_blocks=auto table=perm tpad=0 pad_slots=0 max_ctx=auto out_pad=0 enc=e4m3fn "
    "quant=exact ue8m0=0 profile=exact clean=0 dist=randn M=0 ranges=causal topk=2048 seed=0x1234",
    "op=paged_logits layout=standard B=16 D=32 Qb=32 H=8 next_n=2 lens=2d:[3,4|0,1] pages=9 stride=640 "
    "max_blocks=2 table=[3,5,-1|7,-1,8] tpad=1 pad_slots=2 max_ctx=40 out_pad=3 enc=e4m3fnuz quant=aiter "
    "ue8m0=1 profile=deepgemm_sm90 clean=1 dist=adversarial M=0 ranges=causal topk=5 seed=0xffffffffffffffff",
    "op=ragged_logits layout=standard B=1 D=64 Qb=64 H=16 next_n=1 lens=1d:[5,7] pages=auto stride=natural "
    "max_blocks=auto table=perm tpad=0 pad_slots=0 max_ctx=auto out_pad=0 enc=e4m3fn quant=exact ue8m0=0 "
    "profile=exact clean=1 dist=friendly M=3 ranges=[0:5,5:12,2:2] topk=2048 seed=0x0",
    "op=gather layout=standard B=32 D=128 Qb=32 H=64 next_n=1 lens=1d:[] pages=auto stride=natural "
    "max_blocks=auto table=perm tpad=0 pad_slots=0 max_ctx=auto out_pad=0 enc=e4m3fn quant=sglang ue8m0=0 "
    "profile=exact clean=0 dist=randn M=0 ranges=causal topk=2048 seed=0x7",
};

std::string field_of(const std::string& line) {
  return test::rejected_field([&] { parse_case(line); });
}

}  // namespace

TEST(CaseDescriptor, PrintsAndParsesBackExactly) {
  for (const char* line : kLines) {
    const CaseDescriptor d = parse_case(line);
    EXPECT_EQ(to_string(d), line);
    EXPECT_EQ(parse_case(to_string(d)), d);
  }
}

TEST(CaseDescriptor, MissingKeysTakeDefaultsAndQbFollowsD) {
  const CaseDescriptor d = parse_case("D=64 lens=1d:[3]");
  EXPECT_EQ(d.quant_block, 64);
  EXPECT_EQ(d.op, CaseOp::paged_logits);
  EXPECT_EQ(d.seed, 0u);
}

TEST(CaseDescriptor, ParseErrorsNameTheField) {
  EXPECT_EQ(field_of("B=sixty"), "B");
  EXPECT_EQ(field_of("op=paged"), "op");
  EXPECT_EQ(field_of("layout=preshuffle32"), "layout");
  EXPECT_EQ(field_of("lens=[1,2]"), "lens");
  EXPECT_EQ(field_of("lens=1d:[1,,2]"), "lens");
  EXPECT_EQ(field_of("next_n=2 lens=2d:[1,2|3]"), "lens");
  EXPECT_EQ(field_of("lens=1d:[1|2]"), "lens");
  EXPECT_EQ(field_of("table=[1,2]"), "table");
  EXPECT_EQ(field_of("max_blocks=2 table=[1,2,3]"), "table");
  EXPECT_EQ(field_of("ue8m0=2"), "ue8m0");
  EXPECT_EQ(field_of("seed=-1"), "seed");
  EXPECT_EQ(field_of("bogus=1"), "bogus");
  EXPECT_EQ(field_of("B=1 B=2"), "B");
  EXPECT_EQ(field_of("M=2 ranges=[0:1]"), "ranges");
  EXPECT_EQ(field_of("enc=e5m2"), "encoding");
  EXPECT_EQ(field_of("noequals"), "descriptor");
}

TEST(Materialize, SparsePoolUsesHighPageIdsAndCrosses4GiB) {
  // stride 65536, pool of 65,600 pages = 4.3 GB of address space, a few MB of real pages.
  const CaseDescriptor d = parse_case(
      "op=paged_logits B=16 D=32 H=8 next_n=1 lens=1d:[33,16,0,1] pages=65600 stride=65536 seed=0x5");
  const CaseTensors t = materialize(d);
  ASSERT_TRUE(t.sparse_pool);
  EXPECT_EQ(t.page_ids.size(), 3u + 1u + 0u + 1u);
  int64_t high = 0;
  for (int64_t p : t.page_ids) high += p >= 65536;
  EXPECT_GT(high, 0) << "half the draws come from the top of the pool";
  const PoolBuffer pool = t.make_pool(true);
  EXPECT_EQ(pool.size(), int64_t(65600) * 65536);
  for (size_t c = 0; c < t.page_ids.size(); ++c)
    EXPECT_EQ(0, std::memcmp(t.pool_page(pool, c), t.cache.bytes.data() + c * 65536, 65536));
}

TEST(Materialize, DensePoolIsTheWholePoolAndTablePagesAreDistinct) {
  const CaseDescriptor d = parse_case("op=paged_logits B=16 D=32 H=8 lens=1d:[100,17,16] pages=50 tpad=2 seed=0x9");
  const CaseTensors t = materialize(d);
  ASSERT_FALSE(t.sparse_pool);
  EXPECT_EQ(t.cache.layout.num_pages, 50);
  std::set<int32_t> used;
  for (int32_t b = 0; b < 3; ++b)
    for (int64_t i = 0; i < (t.lens[size_t(b)] + 15) / 16; ++i)
      EXPECT_TRUE(used.insert(t.block_table[size_t(b * t.table_row_stride + i)]).second);
  EXPECT_EQ(t.desc.max_blocks, 7);
  EXPECT_EQ(t.num_tokens(), 133);
  ASSERT_TRUE(t.has_expected_logits);
  EXPECT_EQ(t.topk.size(), size_t(3 * 2048));
}

TEST(Materialize, FastExpectedLogitsEqualTheNaiveOracle) {
  for (const char* line : kLines) {
    CaseDescriptor d = parse_case(line);
    if (d.op != CaseOp::paged_logits && d.op != CaseOp::ragged_logits) continue;
    if (d.lens.size() > 2) d.lens = {70, 3};  // keep it small
    if (!d.table.empty()) continue;
    CaseTensors t = materialize(d);
    const std::vector<float> fast = t.logits;
    compute_expected_logits(t, true);
    ASSERT_EQ(0, std::memcmp(fast.data(), t.logits.data(), fast.size() * 4)) << line;
  }
}

TEST(Materialize, BadDescriptorsAreInvalidInput) {
  EXPECT_THROW(materialize(parse_case("lens=1d:[100] pages=1")), InvalidInput);
  EXPECT_THROW(materialize(parse_case("layout=preshuffle16 B=8 lens=1d:[1]")), InvalidInput);
  {  // a sparse pool touching more pages than MQA_CASE_BYTES_LIMIT (10,000 pages of 8448 bytes > 64 MiB)
    setenv("MQA_CASE_BYTES_LIMIT", "67108864", 1);
    EXPECT_THROW(materialize(parse_case("B=64 D=128 lens=1d:[640000] pages=70000")), InvalidInput);
    unsetenv("MQA_CASE_BYTES_LIMIT");
  }
  EXPECT_THROW(materialize(parse_case("lens=1d:[100] max_blocks=1")), InvalidInput);
  EXPECT_THROW(materialize(parse_case("op=gather next_n=2 lens=2d:[1,2]")), InvalidInput);
}
