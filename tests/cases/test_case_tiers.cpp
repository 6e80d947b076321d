// Tiers of the random draw and the deployed suite: the small tier is exactly the old default
// draw; the deployed tier reaches what the small one cannot (batch > 64, L > 64K, logits past
// 2^31 bytes, pools past 2^32 bytes for quant_cache and gather) and every case it draws passes
// materialize()'s limits; the deployed suite holds the production shapes, one line each.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "mqa/case_tiers.hpp"
#include "mqa/validate.hpp"

using namespace mqa;

namespace {

int64_t rows_of(const CaseDescriptor& d) {
  return d.op == CaseOp::ragged_logits ? d.M : int64_t(d.batch()) * d.next_n;
}

int32_t longest(const CaseDescriptor& d) { return *std::max_element(d.lens.begin(), d.lens.end()); }

// Bytes of the logits buffer a kernel writes (auto columns = the longest row, paged only).
double logits_bytes(const CaseDescriptor& d) {
  const double cols = std::max(d.max_context_len, longest(d)) + d.out_pad;
  return double(rows_of(d)) * cols * 4;
}

double pool_bytes(const CaseDescriptor& d) {
  const double natural = double(d.page_size) * (d.head_dim + 4.0 * d.head_dim / d.quant_block);
  return double(d.pool_pages) * (d.page_stride ? double(d.page_stride) : natural);
}

}  // namespace

TEST(Tiers, SmallIsTheDefaultDraw) {
  const GenOptions small = tier_options(Tier::small);
  EXPECT_EQ(small.max_batch, GenOptions{}.max_batch);
  for (uint64_t i = 0; i < 500; ++i) ASSERT_EQ(random_case(7, i, small), random_case(7, i)) << i;
  EXPECT_EQ(describe_constraints(small), "");
}

TEST(Tiers, ParseAndNames) {
  EXPECT_EQ(tier_from_string("deployed"), Tier::deployed);
  EXPECT_EQ(tier_from_string("small"), Tier::small);
  EXPECT_STREQ(to_string(Tier::deployed), "deployed");
  try {
    tier_from_string("huge");
    FAIL() << "accepted --tier huge";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("--tier"), std::string::npos) << e.what();
  }
  EXPECT_EQ(describe_constraints(tier_options(Tier::deployed)), "--tier deployed");
  GenOptions g = tier_options(Tier::deployed);
  g.max_batch = 17;  // an explicit option over the tier is told as such
  EXPECT_EQ(describe_constraints(g), "--tier deployed --batch 17");
}

TEST(Tiers, DeployedReachesProductionScaleWithinTheCaseLimits) {
  const GenOptions g = tier_options(Tier::deployed);
  int wide_batch = 0, long_seq = 0, wide_logits = 0, rows512 = 0, small_cases = 0;
  std::set<CaseOp> sparse_ops;
  std::set<int32_t> page_sizes;
  for (uint64_t i = 0; i < 1200; ++i) {
    const CaseDescriptor d = random_case(1, i, g);
    ASSERT_NO_THROW(check_case(d)) << to_string(d).substr(0, 300);
    ASSERT_EQ(parse_case(to_string(d)), d);
    ASSERT_LE(d.batch(), 256);
    ASSERT_LE(longest(d), 163840);
    wide_batch += d.batch() > 64;
    long_seq += longest(d) > 65536;
    if (d.op == CaseOp::paged_logits) {
      wide_logits += logits_bytes(d) > double(int64_t(1) << 31);
      rows512 += rows_of(d) > 512;
    }
    if (pool_bytes(d) > double(int64_t(1) << 32)) sparse_ops.insert(d.op);
    page_sizes.insert(d.page_size);
    ASSERT_LE(d.page_size, 512);
    if (d.layout == PageLayoutKind::preshuffle16) {
      ASSERT_EQ(d.page_size % 16, 0) << to_string(d).substr(0, 200);
    }
    int64_t tokens = 0;
    for (int32_t L : d.lens) tokens += L;
    small_cases += tokens <= 65536;
  }
  std::printf("wide_batch %d long %d wide_logits %d rows512 %d small %d\n", wide_batch, long_seq, wide_logits, rows512, small_cases);
  EXPECT_GT(wide_batch, 200);
  EXPECT_GT(long_seq, 20);
  EXPECT_GT(wide_logits, 20);
  EXPECT_GE(rows512, wide_logits);
  EXPECT_GT(small_cases, 300) << "the size spread keeps most cases cheap";
  EXPECT_EQ(sparse_ops, (std::set<CaseOp>{CaseOp::quant_cache, CaseOp::gather, CaseOp::paged_logits}));
  // aiter's page sizes: any multiple of 16, not only the small tier's 1/16/32/48/64/128/256
  const std::set<int32_t> listed = {1, 16, 32, 48, 64, 128, 256};
  int unlisted = 0;
  for (int32_t B : page_sizes) unlisted += !listed.count(B);
  std::printf("page sizes drawn: %zu distinct, %d outside the small tier's list (largest %d)\n", page_sizes.size(),
              unlisted, *page_sizes.rbegin());
  EXPECT_GT(unlisted, 16);
  EXPECT_GT(*page_sizes.rbegin(), 256);
}

// A wide case exists for its rows past 512 (aiter#4244: their stores reach byte 2^31): some of
// them read tokens, even at the small token budget of the CPU mutant test.
TEST(Tiers, WideLogitsCasesReadTokensPastRow512) {
  GenOptions g = tier_options(Tier::deployed);
  g.max_tokens = 8192;
  g.max_heads = 16;
  g.ops = {CaseOp::paged_logits};
  int wide = 0;
  for (uint64_t i = 0; i < 200; ++i) {
    const CaseDescriptor d = random_case(4, i, g);
    if (logits_bytes(d) <= double(int64_t(1) << 31)) continue;
    ++wide;
    int64_t read_past_512 = 0;
    for (int64_t r = 512; r < rows_of(d); ++r) {
      const int64_t b = r / d.next_n, j = r % d.next_n;
      read_past_512 += d.lens_2d ? d.lens[size_t(r)] : std::max<int64_t>(0, d.lens[size_t(b)] - d.next_n + j + 1);
    }
    EXPECT_GT(read_past_512, 0) << to_string(d).substr(0, 200);
  }
  EXPECT_GT(wide, 20);
}

TEST(Tiers, ExplicitOptionsOverrideTheDeployedTier) {
  GenOptions g = tier_options(Tier::deployed);
  g.max_batch = 3;
  g.max_len = 100;
  for (uint64_t i = 0; i < 300; ++i) {
    const CaseDescriptor d = random_case(2, i, g);
    ASSERT_LE(d.batch(), 3);
    ASSERT_LE(longest(d), 100) << to_string(d);
  }
}

TEST(DeployedSuite, ProductionShapesOneLineEach) {
  const std::vector<NamedCase> s = deployed_suite(131072);
  std::set<std::string> names;
  bool wide = false, b256 = false, prefill = false, glm = false, at_max = false;
  for (const NamedCase& c : s) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_EQ(parse_case(to_string(c.desc)), c.desc) << c.name;
    EXPECT_NO_THROW(check_case(c.desc)) << c.name;
    EXPECT_EQ(c.desc.head_dim, 128) << c.name;
    EXPECT_EQ(c.desc.page_size, 64) << c.name;
    EXPECT_TRUE(c.desc.heads == 64 || c.desc.heads == 32) << c.name;
    wide |= logits_bytes(c.desc) > double(int64_t(1) << 31) && rows_of(c.desc) > 512;
    b256 |= c.desc.batch() == 256;
    prefill |= c.desc.op == CaseOp::ragged_logits && c.desc.M == 2048;
    glm |= c.desc.heads == 32 && c.desc.next_n == 4;
    at_max |= c.desc.op == CaseOp::paged_logits && longest(c.desc) == 131072;
  }
  EXPECT_TRUE(wide && b256 && prefill && glm && at_max);
  // max_L bounds every length, and max_L itself is a step; 0 is no suite
  for (const NamedCase& c : deployed_suite(16384, false)) {
    EXPECT_LE(longest(c.desc), 16384) << c.name;
    EXPECT_LE(logits_bytes(c.desc), double(int64_t(1) << 31)) << c.name;
  }
  EXPECT_EQ(deployed_suite(16384).back().name, "glm5_mtp_wide_logits");
  EXPECT_TRUE(deployed_suite(0).empty());
  EXPECT_EQ(deployed_suite(16384, false)[4].name, "dsv32_decode_16384");
}

// The deployed tier's quant_cache and gather pools past 2^32 bytes are sparse: materialize()
// keeps only the used pages (the compact cache) and make_pool() maps the rest without touching
// it, as for paged logits; the case's pages come back out of the kernel-visible pool unchanged.
TEST(Tiers, DeployedCacheOpPoolsPast4GiBAreSparse) {
  GenOptions g = tier_options(Tier::deployed);
  g.max_tokens = 8192;  // the budget of the deployed mutant campaign (tests/fuzz/test_mutants.cpp)
  std::set<CaseOp> seen;
  for (uint64_t i = 0; i < 2000 && seen.size() < 2; ++i) {
    const CaseDescriptor d = random_case(3, i, g);
    if ((d.op != CaseOp::quant_cache && d.op != CaseOp::gather) || seen.count(d.op) ||
        pool_bytes(d) <= double(int64_t(1) << 32))
      continue;
    const CaseTensors t = materialize(d, false);
    ASSERT_TRUE(t.sparse_pool) << to_string(d).substr(0, 200);
    EXPECT_EQ(int64_t(t.cache.bytes.size()), int64_t(t.page_ids.size()) * t.pool.page_stride);
    EXPECT_LE(t.cache.bytes.size(), size_t(kDensePoolLimit)) << "only the used pages are held";
    const PoolBuffer pool = t.make_pool(true);
    EXPECT_GT(pool.size(), int64_t(1) << 32);
    EXPECT_EQ(t.compact_pages(pool), t.cache.bytes);
    seen.insert(d.op);
  }
  EXPECT_EQ(seen, (std::set<CaseOp>{CaseOp::quant_cache, CaseOp::gather}));
}
