// The value keys of a descriptor (ksrc, amax, nan_codes, odd_weights, odd_scales): text round
// trip, rejections naming the key, and that materialize puts each special value where the key
// says, checked in raw bits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "mqa/case.hpp"
#include "mqa/case_random.hpp"
#include "mqa/validate.hpp"
#include "../rejected_field.hpp"

using namespace mqa;

namespace {

std::string materialize_field(const std::string& line) {
  return test::rejected_field([&] { materialize(parse_case(line)); });
}

std::string parse_field(const std::string& line) {
  return test::rejected_field([&] { parse_case(line); });
}

// One ulp of a positive normal value in a format with `mbits` stored mantissa bits (written
// from the formats' definitions, not with the case library's steps).
float ulp_of(float x, int mbits) {
  int e = 0;
  std::frexp(x, &e);  // x = m * 2^e, m in [0.5, 1)
  return std::ldexp(1.0f, e - 1 - mbits);
}
int mantissa_bits(KSource k) { return k == KSource::bf16 ? 7 : k == KSource::fp16 ? 10 : 23; }
bool representable(float x, KSource k) {
  if (k == KSource::fp32) return true;
  if (k == KSource::bf16) return (f32_bits(x) & 0xFFFFu) == 0;
  return fp16_decode(fp16_encode(x)) == x;
}
float divisor(QuantVariant v, Fp8Encoding e) {  // the spec's table (numerics.md), written out
  if (v == QuantVariant::vllm || v == QuantVariant::sglang) return 448.0f;
  return e == Fp8Encoding::e4m3fn ? 448.0f : 240.0f;
}

// Each block's amax: (value, the other values' largest magnitude).
struct BlockAmax {
  float amax, rest;
};
std::vector<BlockAmax> block_amaxes(const CaseTensors& t) {
  std::vector<BlockAmax> out;
  const int64_t D = t.desc.head_dim, Qb = t.desc.quant_block;
  for (int64_t i = 0; i < t.num_tokens(); ++i)
    for (int64_t q0 = 0; q0 < D; q0 += Qb) {
      BlockAmax b{0.0f, 0.0f};
      int64_t at = -1;
      for (int64_t j = 0; j < Qb; ++j) {
        const float a = std::fabs(t.k[size_t(i * D + q0 + j)]);
        if (a > b.amax) { b.amax = a; at = j; }
      }
      for (int64_t j = 0; j < Qb; ++j)
        if (j != at) b.rest = std::max(b.rest, std::fabs(t.k[size_t(i * D + q0 + j)]));
      out.push_back(b);
    }
  return out;
}

}  // namespace

TEST(CaseValueKeys, PrintOnlyWhenSetAndParseBackExactly) {
  const CaseDescriptor plain = parse_case("op=quant_cache lens=1d:[3]");
  EXPECT_EQ(to_string(plain).find("ksrc"), std::string::npos);  // lines written before the keys print as they did
  for (const char* tail : {" ksrc=fp32", " ksrc=fp16 amax=above", " amax=mix", " nan_codes=1", " odd_weights=1",
                           " odd_scales=1", " ksrc=fp32 amax=below nan_codes=1 odd_weights=1 odd_scales=1"}) {
    const std::string line = to_string(plain) + tail;
    const CaseDescriptor d = parse_case(line);
    EXPECT_EQ(to_string(d), line);
    EXPECT_EQ(parse_case(to_string(d)), d);
  }
  EXPECT_EQ(parse_case("ksrc=bf16 amax=free nan_codes=0 lens=1d:[1]"), parse_case("lens=1d:[1]"));
}

TEST(CaseValueKeys, BadValuesNameTheKey) {
  EXPECT_EQ(parse_field("ksrc=fp8"), "ksrc");
  EXPECT_EQ(parse_field("amax=near"), "amax");
  EXPECT_EQ(parse_field("nan_codes=2"), "nan_codes");
  EXPECT_EQ(parse_field("odd_weights=yes"), "odd_weights");
  EXPECT_EQ(parse_field("odd_scales=-1"), "odd_scales");
}

TEST(CaseValueKeys, CombinationsWithoutADefinedResultAreRejectedNamingTheKey) {
  EXPECT_EQ(materialize_field("op=quant_cache lens=1d:[3] nan_codes=1"), "nan_codes");     // NaN source: no scale
  EXPECT_EQ(materialize_field("op=quant_cache lens=1d:[3] odd_scales=1"), "odd_scales");   // scales are its output
  EXPECT_EQ(materialize_field("op=gather lens=1d:[3] odd_weights=1"), "odd_weights");      // no weights
  EXPECT_EQ(materialize_field("op=paged_logits H=8 lens=1d:[3] dist=friendly ksrc=fp32"), "ksrc");  // no source
  EXPECT_EQ(materialize_field("op=ragged_logits H=8 M=1 lens=1d:[3] dist=exact_dot amax=at"), "amax");
  EXPECT_EQ(materialize_field("op=quant_cache lens=1d:[3] dist=friendly ksrc=fp16 amax=at"), "(accepted)");
  EXPECT_EQ(materialize_field("op=gather lens=1d:[3] nan_codes=1 odd_scales=1"), "(accepted)");
}

TEST(CaseValueKeys, KSourceValuesAreThoseOfItsDtype) {
  for (KSource ks : {KSource::bf16, KSource::fp16, KSource::fp32}) {
    CaseDescriptor d = parse_case("op=quant_cache B=16 D=64 lens=1d:[40] seed=0x5");
    d.ksrc = ks;
    const CaseTensors t = materialize(d);
    ASSERT_TRUE(t.cache_from_source);
    bool beyond_bf16 = false;
    for (size_t i = 0; i < t.k.size(); ++i) {
      ASSERT_TRUE(representable(t.k[i], ks)) << to_string(ks) << " value " << t.k[i];
      beyond_bf16 = beyond_bf16 || !representable(t.k[i], KSource::bf16);
      if (ks == KSource::fp32) continue;
      const float back = ks == KSource::bf16 ? bf16_decode(t.k_bits16[i]) : fp16_decode(t.k_bits16[i]);
      ASSERT_EQ(f32_bits(back), f32_bits(t.k[i]));
    }
    EXPECT_EQ(t.k_bits16.empty(), ks == KSource::fp32);
    EXPECT_EQ(beyond_bf16, ks != KSource::bf16) << to_string(ks);
  }
}

// Every encoding x quant variant x source dtype x position, both ue8m0 settings: the amax of
// every quant block is divisor * 2^e exactly (at), or exactly one ulp of the source dtype below
// or above it, every other value of the block is below half of it, and the stored scale is
// where that amax puts it.
TEST(CaseValueKeys, PlantedAmaxLandsWhereClaimedInRawBits) {
  int blocks = 0;
  for (Fp8Encoding enc : {Fp8Encoding::e4m3fn, Fp8Encoding::e4m3fnuz})
    for (QuantVariant v : {QuantVariant::exact, QuantVariant::vllm, QuantVariant::aiter, QuantVariant::sglang})
      for (KSource ks : {KSource::bf16, KSource::fp16, KSource::fp32})
        for (AmaxEdge where : {AmaxEdge::at, AmaxEdge::below, AmaxEdge::above})
          for (bool ue8m0 : {false, true}) {
            CaseDescriptor d = parse_case("op=quant_cache B=16 D=64 Qb=32 lens=1d:[20] seed=0x77");
            d.encoding = enc;
            d.quant = v;
            d.ksrc = ks;
            d.amax = where;
            d.ue8m0 = ue8m0;
            d.dist = ue8m0 ? ValueDist::adversarial : ValueDist::randn;  // planted over both
            const CaseTensors t = materialize(d);
            const std::string what = to_string(d);
            for (const BlockAmax& b : block_amaxes(t)) {
              ++blocks;
              // recover e from the value, then check the claim in bits
              const int e = int(std::lround(std::log2(double(b.amax) / divisor(v, enc))));
              ASSERT_GE(e, -10) << what;
              ASSERT_LE(e, 4) << what;
              const float edge = std::ldexp(divisor(v, enc), e);
              const float ulp = ulp_of(edge, mantissa_bits(ks));  // edge is no power of two: one binade
              const float want = where == AmaxEdge::at ? edge : where == AmaxEdge::below ? edge - ulp : edge + ulp;
              ASSERT_EQ(f32_bits(b.amax), f32_bits(want)) << what << " amax " << b.amax;
              ASSERT_TRUE(representable(b.amax, ks)) << what;
              ASSERT_LT(b.rest, b.amax * 0.5f) << what;
            }
            // The exact variant's scale at fp32 sources: 2^e at the edge, one fp32 ulp off it next to it
            if (v == QuantVariant::exact && ks == KSource::fp32 && !ue8m0) {
              const int64_t page = t.cache.layout.slot_page(t.slots_compact[0]);
              const int32_t slot = t.cache.layout.slot_in_page(t.slots_compact[0]);
              const uint32_t sc = f32_bits(t.cache.scale(page, slot, 0));
              const uint32_t frac = sc & 0x7FFFFFu;
              const uint32_t want_frac = where == AmaxEdge::at ? 0u : where == AmaxEdge::above ? 1u : 0x7FFFFFu;
              EXPECT_EQ(frac, want_frac) << what;  // 2^e, 2^e + 1 ulp, 2^e - 1 ulp
            }
          }
  EXPECT_EQ(blocks, 2 * 4 * 3 * 3 * 2 * 20 * 2);
}

// Where the power-of-two roundings part: with ue8m0, the exact variant and vLLM's log2f give
// different scales on some fp32 amax one ulp above 448 * 2^e, and never on a bf16 or fp16 one.
TEST(CaseValueKeys, Fp32AmaxAboveTheEdgeSplitsExactFromLog2fRounding) {
  for (KSource ks : {KSource::bf16, KSource::fp16, KSource::fp32}) {
    int differ = 0;
    for (uint64_t seed = 1; seed <= 8; ++seed) {
      CaseDescriptor d = parse_case("op=quant_cache B=16 D=64 Qb=32 lens=1d:[16] ue8m0=1 amax=above");
      d.ksrc = ks;
      d.seed = seed;
      const CaseTensors exact = materialize(d);
      d.quant = QuantVariant::vllm;
      const CaseTensors vllm = materialize(d);
      differ += exact.cache.bytes != vllm.cache.bytes;
    }
    if (ks == KSource::fp32) EXPECT_GT(differ, 0);
    else EXPECT_EQ(differ, 0) << to_string(ks);
  }
}

TEST(CaseValueKeys, MixPlantsEachOfTheThreePositions) {
  const CaseTensors t = materialize(parse_case("op=quant_cache B=16 D=64 Qb=32 lens=1d:[30] ksrc=fp32 amax=mix seed=0x3"));
  int seen[3] = {};
  for (const BlockAmax& b : block_amaxes(t)) {
    const int e = int(std::lround(std::log2(double(b.amax) / 448.0)));
    const int64_t off = int64_t(f32_bits(b.amax)) - int64_t(f32_bits(std::ldexp(448.0f, e)));
    ASSERT_TRUE(off >= -1 && off <= 1) << b.amax;
    ++seen[off + 1];
  }
  EXPECT_GT(seen[0], 0);
  EXPECT_GT(seen[1], 0);
  EXPECT_GT(seen[2], 0);
}

namespace {

int nan_codes_in(const std::vector<uint8_t>& codes, Fp8Encoding e) {
  int n = 0;
  for (uint8_t c : codes) n += fp8_is_nan(c, e);
  return n;
}

void expect_fast_equals_naive(CaseTensors& t) {
  const std::vector<float> fast = t.logits;
  compute_expected_logits(t, true);
  ASSERT_EQ(0, std::memcmp(fast.data(), t.logits.data(), fast.size() * 4)) << to_string(t.desc);
}

}  // namespace

TEST(CaseValueKeys, NanCodesReachQTheCacheAndTheLogits) {
  for (const char* line : {"op=paged_logits B=16 D=32 H=8 next_n=2 lens=1d:[90,40] nan_codes=1 seed=0x11",
                           "op=paged_logits B=16 D=32 H=8 next_n=4 lens=1d:[90,40,8,20] enc=e4m3fnuz nan_codes=1 dist=exact_dot seed=0x12",
                           "op=ragged_logits B=16 D=32 H=8 M=20 lens=1d:[60,40] nan_codes=1 seed=0x13"}) {
    CaseTensors t = materialize(parse_case(line));
    EXPECT_FALSE(t.cache_from_source) << line;  // the cache is no longer quantise(k)
    EXPECT_GT(nan_codes_in(t.q, t.desc.encoding), 0) << line;
    EXPECT_GT(nan_codes_in(t.gathered.values, t.desc.encoding), 0) << line;
    int nan_logits = 0, finite = 0;
    for (const RowRegion& r : t.regions.row)
      for (int64_t c = r.valid_begin; c < r.valid_end; ++c) {
        const float x = t.logits[size_t(&r - t.regions.row.data()) * size_t(t.logits_row_stride) + size_t(c)];
        nan_logits += std::isnan(x);
        finite += std::isfinite(x);
      }
    EXPECT_GT(nan_logits, 0) << line;
    EXPECT_GT(finite, nan_logits) << line;  // rare enough that most logits still say something
    expect_fast_equals_naive(t);
  }
}

TEST(CaseValueKeys, OddWeightsHoldNonFiniteValuesAndTheReferenceDefinesTheLogits) {
  CaseTensors t = materialize(parse_case("op=paged_logits B=16 D=32 H=8 next_n=4 lens=1d:[60,33,7,9] odd_weights=1 seed=0x21"));
  int nonfinite = 0;
  for (float w : t.weights) nonfinite += !std::isfinite(w);
  EXPECT_GT(nonfinite, 0);
  expect_fast_equals_naive(t);
  CaseTensors deepgemm = materialize(parse_case(
      "op=paged_logits B=16 D=32 H=16 lens=1d:[60,33,7] profile=deepgemm_sm90 odd_weights=1 nan_codes=1 seed=0x21"));
  expect_fast_equals_naive(deepgemm);
}

TEST(CaseValueKeys, OddScalesAreNonFiniteOnlyWhereNoRowReadsThem) {
  auto scales_of = [](const CaseTensors& t, bool* nonfinite, bool* odd) {
    const size_t n = t.gathered.scales.size() / 4;  // every gathered row's D / Qb scales
    for (size_t i = 0; i < n; ++i) {
      float s;
      std::memcpy(&s, t.gathered.scales.data() + 4 * i, 4);
      *nonfinite = *nonfinite || !std::isfinite(s);
      *odd = *odd || !(s > 0) || s < 1e-30f || s > 1e29f;
    }
  };
  {  // paged: every written token is read: finite odd scales only
    bool nonfinite = false, odd = false;
    CaseTensors t = materialize(parse_case("op=paged_logits B=16 D=32 H=8 lens=1d:[200,90] odd_scales=1 seed=0x31"));
    scales_of(t, &nonfinite, &odd);
    EXPECT_FALSE(nonfinite);
    EXPECT_TRUE(odd);
    expect_fast_equals_naive(t);
  }
  {  // gather copies bytes: any scale
    bool nonfinite = false, odd = false;
    scales_of(materialize(parse_case("op=gather B=16 D=32 lens=1d:[200,90] odd_scales=1 seed=0x31")), &nonfinite, &odd);
    EXPECT_TRUE(nonfinite);
  }
  {  // ragged, random ranges: non-finite scales on tokens outside every [ks, ke), accepted
    int unread_nonfinite = 0;
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      CaseDescriptor d = parse_case("op=ragged_logits B=16 D=32 H=8 M=3 lens=1d:[100,100] ranges=random odd_scales=1");
      d.seed = seed;
      CaseTensors t = materialize(d);
      std::vector<char> read(size_t(t.gathered.rows), 0);
      for (size_t i = 0; i < t.ks.size(); ++i)
        for (int32_t j = t.ks[i]; j < t.ke[i]; ++j) read[size_t(j)] = 1;
      for (int64_t j = 0; j < t.gathered.rows; ++j) {
        ASSERT_TRUE(!read[size_t(j)] || std::isfinite(t.kscale[size_t(j)])) << to_string(d) << " token " << j;
        unread_nonfinite += !read[size_t(j)] && !std::isfinite(t.kscale[size_t(j)]);
      }
      expect_fast_equals_naive(t);
    }
    EXPECT_GT(unread_nonfinite, 0);
  }
}

// The default draw reaches every value key at a useful rate, only in combinations materialize
// accepts; --no-special-values draws the very same cases without them.
TEST(CaseValueKeys, TheDefaultDrawReachesThemAndTheyCanBeTurnedOff) {
  GenOptions on, off;
  off.special_values = false;
  on.max_tokens = off.max_tokens = 256;
  on.high_page_ids = off.high_page_ids = false;  // (65,536-page pools: slow to build, nothing to do with values)
  int n = 0, fp32 = 0, fp16 = 0, amax = 0, nan = 0, weights = 0, scales = 0, quant_fp32_edge = 0;
  for (uint64_t i = 0; i < 400; ++i) {
    const CaseDescriptor d = random_case(7, i, on);
    CaseDescriptor plain = d;
    plain.ksrc = KSource::bf16;
    plain.amax = AmaxEdge::free;
    plain.nan_codes = plain.odd_weights = plain.odd_scales = false;
    ASSERT_EQ(random_case(7, i, off), plain) << to_string(d);  // drawn last: nothing else moved
    ASSERT_NO_THROW(materialize(d, false)) << to_string(d);
    if (i < 60) {  // the shrinker's candidates stay valid (friendly drops a source's keys)
      for (const CaseDescriptor& c : shrink_candidates(d)) ASSERT_NO_THROW(materialize(c, false)) << to_string(c);
    }
    ++n;
    fp32 += d.ksrc == KSource::fp32;
    fp16 += d.ksrc == KSource::fp16;
    amax += d.amax != AmaxEdge::free;
    nan += d.nan_codes;
    weights += d.odd_weights;
    scales += d.odd_scales;
    quant_fp32_edge += d.op == CaseOp::quant_cache && d.ksrc == KSource::fp32 && d.amax != AmaxEdge::free && d.ue8m0;
  }
  for (int count : {fp32, fp16, amax, nan, weights, scales}) {
    EXPECT_GT(count, n / 30);
    EXPECT_LT(count, n / 2);
  }
  EXPECT_GT(quant_fp32_edge, 2);  // what tells the power-of-two roundings apart (about 1 case in 45)
}
