// The element functions of mqa/case_elements.hpp are what materialize() computes (so the device
// generator, which runs the same functions, reproduces the host's case), and materialize_layout
// lays out a case exactly as materialize() does, refusing what it refuses.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "../../cases/src/case_values.hpp"  // value_keys
#include "mqa/case.hpp"
#include "mqa/validate.hpp"
#include "value_key_cases.hpp"

using namespace mqa;
using namespace mqa::casegen;

namespace {

// One token's bytes as the device generator composes them (case_gen_device.hip's token_kernel):
// the K source quantised by the exact variant, or the friendly codes; then the planted specials.
void token_bytes(const ValueKeys& v, int64_t i, bool from_source, uint8_t* codes, float* scales) {
  const int32_t D = v.head_dim, Qb = v.quant_block;
  if (from_source) {
    std::vector<float> row(static_cast<size_t>(D));
    k_source_token(v, i, row.data());
    for (int32_t q = 0; q < D / Qb; ++q) {
      scales[q] = exact_block_scale(block_amax(row.data() + q * Qb, Qb), v.encoding, v.ue8m0);
      for (int32_t j = 0; j < Qb; ++j)
        codes[q * Qb + j] = exact_quantize_value(row[size_t(q * Qb + j)], scales[q], v.encoding);
    }
  } else {
    friendly_token(v, i, codes, scales);
  }
  const TokenSpecials s = token_specials(v, i);
  if (s.nan_at >= 0) codes[s.nan_at] = s.nan;
  if (s.odd_scales)
    for (int32_t q = 0; q < D / Qb; ++q) scales[q] = token_odd_scale(v, i, q, false);
}

TEST(CaseElements, MaterializeIsTheElementFunctions) {
  for (const std::string& line : test::value_key_cases()) {
    const CaseTensors t = materialize(parse_case(line), false);
    const ValueKeys v = value_keys(t.desc);
    const int64_t nq = int64_t(t.q.size()), nw = int64_t(t.weights.size());
    ASSERT_EQ(t.rows * t.desc.heads * t.desc.head_dim, nq) << line;
    for (int64_t i = 0; i < nq; ++i) ASSERT_EQ(q_code(v, i), t.q[size_t(i)]) << line << " q[" << i << "]";
    for (int64_t i = 0; i < nw; ++i)
      ASSERT_EQ(f32_bits(weight(v, nw, i)), f32_bits(t.weights[size_t(i)])) << line << " weights[" << i << "]";
    const int64_t D = t.desc.head_dim;
    const bool planted = t.desc.nan_codes || t.desc.odd_scales;  // k is then the dequantised cache
    const bool from_source = t.desc.dist != ValueDist::friendly && t.desc.dist != ValueDist::exact_dot;
    std::vector<float> row(static_cast<size_t>(D)), scales(static_cast<size_t>(D));
    std::vector<uint8_t> codes(static_cast<size_t>(D));
    for (int64_t i = 0; i < t.num_tokens(); ++i) {
      if (from_source && !planted) {
        k_source_token(v, i, row.data());
        ASSERT_EQ(0, std::memcmp(row.data(), t.k.data() + i * D, size_t(D) * 4)) << line << " k source token " << i;
      }
      const int64_t cs = t.slots_compact[size_t(i)];
      if (cs < 0) continue;
      token_bytes(v, i, from_source, codes.data(), scales.data());
      const int64_t p = t.cache.layout.slot_page(cs);
      const int32_t s = t.cache.layout.slot_in_page(cs);
      for (int32_t d = 0; d < D; ++d)
        ASSERT_EQ(codes[size_t(d)], t.cache.value_code(p, s, d)) << line << " token " << i << " d " << d;
      for (int32_t q = 0; q < t.pool.page.scales_per_token(); ++q)
        ASSERT_EQ(f32_bits(scales[size_t(q)]), f32_bits(t.cache.scale(p, s, q)))
            << line << " token " << i << " scale " << q;
    }
  }
}

// What the element functions give for these cases, pinned: a change to any of them (or to the
// stream numbers) changes a value of some key, and this digest with it. The golden corpus
// (GoldenCorpus.RegeneratesBitIdentical) pins the same bits through the reference's outputs.
TEST(CaseElements, PinnedDigest) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  auto mix = [&](const void* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const uint8_t*>(p)[i]) * 1099511628211ull;
  };
  for (const std::string& line : test::value_key_cases()) {
    const CaseTensors t = materialize(parse_case(line), false);
    mix(t.q.data(), t.q.size());
    mix(t.weights.data(), t.weights.size() * 4);
    mix(t.cache.bytes.data(), t.cache.bytes.size());
  }
  // 0xfe2dfd4909e98142: the host materialize() of main before the element functions (dfe0dc7)
  EXPECT_EQ(0xfe2dfd4909e98142ull, h) << std::hex << "digest 0x" << h;
}

TEST(CaseElements, LayoutIsMaterializesShape) {
  for (const std::string& line : test::value_key_cases()) {
    const CaseTensors h = materialize(parse_case(line), false);
    const CaseTensors l = materialize_layout(parse_case(line));
    EXPECT_TRUE(h.inputs_on_host);
    EXPECT_FALSE(l.inputs_on_host) << line;
    EXPECT_EQ(h.desc, l.desc) << line;
    EXPECT_EQ(h.batch, l.batch);
    EXPECT_EQ(h.pool.total_bytes(), l.pool.total_bytes()) << line;
    EXPECT_EQ(h.pool.page_stride, l.pool.page_stride);
    EXPECT_EQ(h.sparse_pool, l.sparse_pool) << line;
    EXPECT_EQ(h.page_ids, l.page_ids) << line;
    EXPECT_EQ(h.cache.layout.total_bytes(), l.cache.layout.total_bytes()) << line;
    EXPECT_TRUE(l.cache.bytes.empty()) << line;
    EXPECT_EQ(h.block_table, l.block_table) << line;
    EXPECT_EQ(h.block_table_compact, l.block_table_compact) << line;
    EXPECT_EQ(h.table_row_stride, l.table_row_stride);
    EXPECT_EQ(h.lens, l.lens);
    EXPECT_EQ(h.written, l.written);
    EXPECT_EQ(h.slots, l.slots) << line;
    EXPECT_EQ(h.slots_compact, l.slots_compact) << line;
    EXPECT_EQ(h.desc.dist != ValueDist::friendly && h.desc.dist != ValueDist::exact_dot, l.cache_from_source) << line;
    EXPECT_EQ(h.rows, l.rows);
    EXPECT_EQ(h.cols, l.cols);
    EXPECT_EQ(h.logits_row_stride, l.logits_row_stride);
    ASSERT_EQ(h.regions.row.size(), l.regions.row.size()) << line;
    EXPECT_EQ(h.regions.rows, l.regions.rows);
    EXPECT_EQ(h.regions.cols, l.regions.cols);
    EXPECT_EQ(h.regions.row_stride, l.regions.row_stride);
    for (size_t r = 0; r < h.regions.row.size(); ++r) {
      EXPECT_EQ(h.regions.row[r].valid_begin, l.regions.row[r].valid_begin) << line << " row " << r;
      EXPECT_EQ(h.regions.row[r].valid_end, l.regions.row[r].valid_end) << line << " row " << r;
      EXPECT_EQ(h.regions.row[r].future_end, l.regions.row[r].future_end) << line << " row " << r;
    }
    EXPECT_TRUE(l.k.empty() && l.q.empty() && l.weights.empty() && l.gathered.values.empty()) << line;
  }
}

std::string refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(CaseElements, LayoutRefusesWhatMaterializeRefuses) {
  for (const char* line : {
           "op=paged_logits B=16 D=64 Qb=64 H=4 lens=1d:[40,9] pages=3",                        // too few pages
           "op=paged_logits B=16 D=64 Qb=64 H=4 lens=1d:[40,9] max_blocks=2",                   // a row needs 3
           "op=paged_logits B=16 D=64 Qb=32 H=4 lens=1d:[40]",                                  // Qb != D
           "op=paged_logits B=16 D=64 Qb=64 H=3 lens=1d:[40]",                                  // heads
           "op=paged_logits B=16 D=64 Qb=64 H=4 lens=1d:[40] dist=friendly ksrc=fp32",          // no K source
           "op=paged_logits B=16 D=64 Qb=64 H=4 lens=1d:[20,20] max_blocks=2 table=[0,1|1,9]",  // id past the pool
       }) {
    const std::string h = refusal([&] { materialize(parse_case(line), false); });
    EXPECT_NE("(accepted)", h) << line;
    EXPECT_EQ(h, refusal([&] { materialize_layout(parse_case(line)); })) << line;
  }
  EXPECT_NE(std::string::npos, refusal([] {
                                 materialize_layout(parse_case("op=ragged_logits D=64 Qb=64 H=4 lens=1d:[9] M=3"));
                               }).find("invalid op = ragged_logits"));
}

}  // namespace
