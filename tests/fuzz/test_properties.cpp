// Properties over case descriptors (RapidCheck; the seed and budget come from RC_PARAMS, set
// per test in tests/fuzz/CMakeLists.txt). Every property compares raw bits.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstring>
#include <numeric>
#include <set>
#include <unordered_set>

#include "mqa/case_gen.hpp"
#include "mqa/philox.hpp"

using namespace mqa;

namespace {

// Small cases: the whole file must run in seconds on two cores.
GenOptions small() {
  GenOptions o;
  o.max_tokens = 600;
  o.max_batch = 5;
  o.max_heads = 16;
  o.max_rows = 12;
  return o;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {  // (no memcmp of null: UB)
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
}

// Logits of t's paged problem on another cache/table (same shapes), sentinel-initialised.
std::vector<float> paged_logits_on(const CaseTensors& t, const KCache& cache, const std::vector<int32_t>& table) {
  PagedLogitsProblem p = t.paged_problem();
  p.cache = cache.layout;
  p.cache_bytes = cache.bytes.data();
  p.table.data = table.data();
  std::vector<float> out(t.logits.size(), f32_from_bits(kLogitSentinelBits));
  paged_mqa_logits(p, out.data(), t.logits_row_stride);
  return out;
}

}  // namespace

RC_GTEST_PROP(LayoutProperty, ValueAndScaleOffsetsAreABijectionAndLocateInvertsThem, ()) {
  const auto kind = *rc::gen::element(PageLayoutKind::standard, PageLayoutKind::preshuffle16);
  const int32_t B = kind == PageLayoutKind::standard ? *rc::gen::inRange(1, 70) : 16 * *rc::gen::inRange(1, 9);
  const int32_t D = 16 * *rc::gen::inRange(1, 9);
  const int32_t Qb = *rc::gen::element(D, 16, D / 2 % 16 == 0 ? D / 2 : D);
  const PageLayout pl{kind, B, D, Qb};
  const int64_t stride = pl.natural_page_bytes() + 4 * *rc::gen::inRange(0, 5);
  std::vector<int> hits(static_cast<size_t>(stride), 0);
  for (int32_t t = 0; t < B; ++t) {
    for (int32_t d = 0; d < D; ++d) {
      const int64_t off = pl.value_offset(t, d);
      RC_ASSERT(off >= 0 && off < pl.value_bytes());
      ++hits[size_t(off)];
      const PageCoord c = pl.locate(off);
      RC_ASSERT(c.kind == PageCoord::value && c.slot == t && c.index == d);
    }
    for (int32_t q = 0; q < pl.scales_per_token(); ++q)
      for (int32_t byte = 0; byte < 4; ++byte) {
        const int64_t off = pl.scale_offset(t, q) + byte;
        RC_ASSERT(off >= pl.value_bytes() && off < pl.natural_page_bytes());
        ++hits[size_t(off)];
        const PageCoord c = pl.locate(off);
        RC_ASSERT(c.kind == PageCoord::scale && c.slot == t && c.index == q && c.byte == byte);
      }
  }
  for (int64_t off = 0; off < stride; ++off) {
    RC_ASSERT(hits[size_t(off)] == (off < pl.natural_page_bytes() ? 1 : 0));
    if (off >= pl.natural_page_bytes()) RC_ASSERT(pl.locate(off).kind == PageCoord::padding);
  }
}

RC_GTEST_PROP(CaseProperty, WriteThenGatherReturnsTheWrittenTokensAndNothingElseChanged, ()) {
  const CaseDescriptor d = *gen_case_of({CaseOp::gather, CaseOp::quant_cache}, small());
  const CaseTensors t = materialize(d);
  const PageLayout& pl = t.cache.layout.page;
  const int32_t D = pl.head_dim, nq = pl.scales_per_token();
  // every written slot, and the source row that went there
  std::unordered_set<int64_t> written;
  std::vector<uint8_t> codes(static_cast<size_t>(D));
  std::vector<float> scales(static_cast<size_t>(nq));
  const QuantParams qp{d.quant, d.encoding, d.ue8m0};
  for (int64_t i = 0; i < t.num_tokens(); ++i) {
    const int64_t cs = t.slots_compact[size_t(i)];
    if (cs < 0) continue;
    written.insert(cs);
    const int64_t page = cs / pl.page_size;
    const int32_t slot = int32_t(cs % pl.page_size);
    if (t.cache_from_source) {
      quantize_token(t.k.data() + i * D, D, pl.quant_block, qp, codes.data(), scales.data());
    } else {
      for (int32_t j = 0; j < D; ++j) codes[size_t(j)] = t.cache.value_code(page, slot, j);
      for (int32_t q = 0; q < nq; ++q) scales[size_t(q)] = t.cache.scale(page, slot, q);
      for (int32_t j = 0; j < D; ++j)  // friendly: the source is the exact dequantised value
        RC_ASSERT(f32_bits(fp8_decode(codes[size_t(j)], d.encoding) * scales[size_t(j / pl.quant_block)]) ==
                  f32_bits(t.k[size_t(i * D + j)]));
    }
    for (int32_t j = 0; j < D; ++j) RC_ASSERT(t.cache.value_code(page, slot, j) == codes[size_t(j)]);
    for (int32_t q = 0; q < nq; ++q) RC_ASSERT(f32_bits(t.cache.scale(page, slot, q)) == f32_bits(scales[size_t(q)]));
  }
  // bytes of unwritten slots and padding still hold the sentinel
  for (int64_t off = 0; off < t.cache.layout.total_bytes(); ++off) {
    const CacheCoord c = t.cache.layout.locate(off);
    const bool mine = c.in_page.kind != PageCoord::padding && written.count(c.page * pl.page_size + c.in_page.slot);
    if (!mine) RC_ASSERT(t.cache.bytes[size_t(off)] == kCacheSentinel);
  }
  // the gather is the written tokens in sequence order, bytes unchanged
  int64_t row = 0;
  const PagedView view{t.cache.layout, {t.block_table_compact.data(), t.batch, t.desc.max_blocks, t.table_row_stride}};
  for (int32_t b = 0; b < t.batch; ++b)
    for (int64_t s = 0; s < t.lens[size_t(b)]; ++s, ++row) {
      for (int32_t j = 0; j < D; ++j)
        RC_ASSERT(t.gathered.values[size_t(row * D + j)] == t.cache.bytes[size_t(view.value_byte(b, s, j))]);
      RC_ASSERT(std::memcmp(t.gathered.scales.data() + row * 4 * nq, t.cache.bytes.data() + view.scale_byte(b, s, 0),
                            size_t(4 * nq)) == 0);
    }
  RC_ASSERT(row == t.gathered.rows);
  // the kernel-visible pool holds the same pages at their physical ids
  const PoolBuffer pool = t.make_pool(true);
  for (size_t c = 0; c < t.page_ids.size(); c += 1 + t.page_ids.size() / 64)
    RC_ASSERT(std::memcmp(t.pool_page(pool, c), t.cache.bytes.data() + c * size_t(t.pool.page_stride),
                          size_t(t.pool.page_stride)) == 0);
}

RC_GTEST_PROP(CaseProperty, LogitsUnchangedByStandardPreshuffleConversion, ()) {
  GenOptions o = small();
  o.layouts = {PageLayoutKind::preshuffle16};  // B and D multiples of 16: both layouts valid
  const CaseDescriptor d = *gen_case_of({CaseOp::paged_logits}, o);
  const CaseTensors t = materialize(d);
  const KCache standard = convert_layout(t.cache, PageLayoutKind::standard);
  RC_ASSERT(same_bits(paged_logits_on(t, standard, t.block_table_compact), t.logits));
  const KCache back = convert_layout(standard, PageLayoutKind::preshuffle16);
  RC_ASSERT(back.bytes == t.cache.bytes);
}

RC_GTEST_PROP(CaseProperty, LogitsAndGatherUnchangedByPermutingPhysicalPages, ()) {
  const CaseDescriptor d = *gen_case_of({CaseOp::paged_logits}, small());
  const CaseTensors t = materialize(d);
  const int64_t n = t.cache.layout.num_pages, stride = t.cache.layout.page_stride;
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t(0));
  const CounterRng rng{*rc::gen::arbitrary<uint64_t>()};
  for (int64_t i = n - 1; i > 0; --i) std::swap(perm[size_t(i)], perm[rng.u64(99, uint64_t(i)) % uint64_t(i + 1)]);
  KCache moved = t.cache;
  for (int64_t c = 0; c < n; ++c)
    std::memcpy(moved.bytes.data() + perm[size_t(c)] * stride, t.cache.bytes.data() + c * stride, size_t(stride));
  std::vector<int32_t> table = t.block_table_compact;
  for (int32_t& e : table)
    if (e >= 0 && e < n) e = int32_t(perm[size_t(e)]);  // stale entries stay stale
  RC_ASSERT(same_bits(paged_logits_on(t, moved, table), t.logits));
  const BlockTableView tv{table.data(), t.batch, t.desc.max_blocks, t.table_row_stride};
  const Gathered g = gather_k_cache(moved.view(), tv, t.written);
  RC_ASSERT(g.values == t.gathered.values && g.scales == t.gathered.scales);
}

RC_GTEST_PROP(CaseProperty, RowsDoNotDependOnOtherSequences, ()) {
  CaseDescriptor d = *gen_case_of({CaseOp::paged_logits}, small());
  if (d.batch() < 2) {  // neighbours needed: duplicate the sequence (same lengths, new pages)
    d.lens.insert(d.lens.end(), d.lens.begin(), d.lens.end());
    if (!case_is_valid(d)) d.pool_pages = 0;
  }
  const CaseTensors t = materialize(d);
  const int32_t b0 = *rc::gen::inRange(0, t.batch);
  const CounterRng rng{*rc::gen::arbitrary<uint64_t>()};
  const int32_t B = d.page_size, nn = d.next_n, H = d.heads, D = d.head_dim;
  // b0's pages
  std::set<int32_t> mine;
  for (int64_t i = 0; i < (t.written[size_t(b0)] + B - 1) / B; ++i)
    mine.insert(t.block_table_compact[size_t(b0 * t.table_row_stride + i)]);
  KCache other = t.cache;
  const PageLayout& pl = other.layout.page;
  for (int64_t p = 0; p < other.layout.num_pages; ++p) {
    if (mine.count(int32_t(p))) continue;
    for (int32_t s = 0; s < B; ++s) {
      for (int32_t j = 0; j < D; ++j) other.set_value_code(p, s, j, uint8_t(rng.u32(1, uint64_t(p * B + s) * D + j) & 0x77));
      for (int32_t q = 0; q < pl.scales_per_token(); ++q) other.set_scale(p, s, q, 1.0f + rng.unit(2, uint64_t(p * B + s)));
    }
  }
  CaseTensors u = materialize(d, false);
  u.cache = std::move(other);
  for (int32_t b = 0; b < t.batch; ++b) {
    if (b == b0) continue;
    const size_t per = d.lens_2d ? size_t(nn) : 1;
    for (size_t j = 0; j < per; ++j) {  // other lengths change (within what was written)
      int32_t& L = u.lens[size_t(b) * per + j];
      L = int32_t(rng.below(3, uint64_t(b) * per + j, uint32_t(t.written[size_t(b)] + 1)));
    }
    for (int64_t e = int64_t(b) * nn * H * D; e < int64_t(b + 1) * nn * H * D; ++e) u.q[size_t(e)] ^= 0x11;
    for (int64_t e = int64_t(b) * nn * H; e < int64_t(b + 1) * nn * H; ++e) u.weights[size_t(e)] *= -2.0f;
  }
  compute_expected_logits(u);
  for (int32_t j = 0; j < nn; ++j) {
    const int64_t r = int64_t(b0) * nn + j;
    RC_ASSERT(u.regions.row[size_t(r)].valid_end == t.regions.row[size_t(r)].valid_end);
    RC_ASSERT(std::memcmp(u.logits.data() + r * t.logits_row_stride, t.logits.data() + r * t.logits_row_stride,
                          size_t(t.logits_row_stride) * 4) == 0);
  }
}

RC_GTEST_PROP(CaseProperty, SameBitsOnRepeatedRunsAndAnyThreadCount, ()) {
  const CaseDescriptor d = *gen_case_of({CaseOp::paged_logits, CaseOp::ragged_logits}, small());
  CaseTensors t = materialize(d);
  const std::vector<float> first = t.logits;
  for (int threads : {1, 3, 2}) {
    set_logits_threads(threads);
    compute_expected_logits(t);
    set_logits_threads(0);
    RC_ASSERT(same_bits(t.logits, first));
  }
}

RC_GTEST_PROP(CaseProperty, FastReferenceEqualsTheNaiveOracle, ()) {
  const CaseDescriptor d = *gen_case_of({CaseOp::paged_logits, CaseOp::ragged_logits}, small());
  CaseTensors t = materialize(d);
  const std::vector<float> fast = t.logits;
  const std::vector<int32_t> fast_topk = t.topk;
  compute_expected_logits(t, true);
  RC_ASSERT(same_bits(t.logits, fast));
  RC_ASSERT(t.topk == fast_topk);
}

RC_GTEST_PROP(CaseProperty, DescriptorsRoundTripThroughText, ()) {
  const CaseDescriptor d = *gen_case();
  RC_ASSERT(parse_case(to_string(d)) == d);
  RC_ASSERT(to_string(materialize(d, false).desc).find('\n') == std::string::npos);
}

TEST(Shrinker, FindsTheSmallestFailingCase) {
  // A planted "bug": fails iff some sequence has >= 100 tokens and there are >= 8 heads.
  auto fails = [](const CaseDescriptor& c) {
    bool longish = false;
    for (int32_t L : c.lens) longish |= L >= 100;
    return longish && c.heads >= 8;
  };
  CaseDescriptor d = parse_case("op=paged_logits B=64 D=128 H=64 next_n=2 lens=1d:[700,3,1000,0] pages=70000 "
                                "tpad=2 pad_slots=3 out_pad=5 dist=adversarial seed=0x42");
  ASSERT_TRUE(fails(d));
  int steps = 0;
  const CaseDescriptor s = shrink_case(d, fails, 5000, &steps);
  EXPECT_EQ(s.lens, std::vector<int32_t>{100}) << to_string(s);
  EXPECT_EQ(s.heads, 8);
  EXPECT_EQ(s.next_n, 1);
  EXPECT_EQ(s.head_dim, 32);
  EXPECT_EQ(s.page_size, 1);
  EXPECT_EQ(s.pool_pages, 0);
  EXPECT_EQ(s.dist, ValueDist::friendly);
  EXPECT_LT(case_size(s), case_size(d));
  std::printf("shrunk in %d steps to: %s\n", steps, to_string(s).c_str());
}

TEST(RandomCase, IsAPureFunctionOfSeedAndIndexAndAlwaysValid) {
  GenOptions o;
  int sparse = 0, high = 0, capacity = 0;
  for (uint64_t i = 0; i < 300; ++i) {
    const CaseDescriptor d = random_case(7, i, o);
    ASSERT_EQ(d, random_case(7, i, o));
    ASSERT_TRUE(case_is_valid(d)) << to_string(d);
    const CaseTensors t = materialize(d, false);
    sparse += t.sparse_pool;
    bool uses_high = false;
    for (int32_t b = 0; b < t.batch; ++b)
      for (int64_t i = 0; i < (t.written[size_t(b)] + d.page_size - 1) / d.page_size; ++i)
        uses_high |= t.block_table[size_t(b * t.table_row_stride + i)] >= 65536;
    high += uses_high;
    capacity += d.max_blocks > 0;
  }
  EXPECT_GT(sparse, 3);
  EXPECT_GT(high, 10);
  EXPECT_GT(capacity, 10);
}
