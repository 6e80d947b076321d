// Quantise-and-cache, gather and layout conversion against brute-force expectations.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>

#include "mqa/kcache.hpp"
#include "mqa/philox.hpp"

using namespace mqa;

namespace {

constexpr uint8_t kSentinel = 0xA5;

std::vector<float> random_k(int64_t T, int32_t D, uint64_t seed) {
  const CounterRng rng{seed};
  std::vector<float> k(size_t(T * D));
  for (size_t i = 0; i < k.size(); ++i)  // bf16-representable values in about [-8, 8)
    k[i] = bf16_decode(bf16_encode((rng.unit(1, i) - 0.5f) * 16.0f));
  return k;
}

struct PoolSetup {
  PagedCacheLayout layout;
  std::vector<int32_t> table;  // [batch, max_blocks]
  std::vector<int32_t> lens;
  int32_t max_blocks;
};

// Two sequences on scattered pages, one of them a partial last page.
PoolSetup make_setup(PageLayoutKind kind, int32_t B, int32_t D, int32_t Qb) {
  PoolSetup s{{{kind, B, D, Qb}, 0, 9}, {}, {2 * B + 3, B}, 4};
  s.layout.page_stride = s.layout.page.natural_page_bytes() + 16;  // padded pages
  s.table = {7, 2, 5, -1, 0, -1, 8, 8};  // entries past ceil(L/B) hold junk on purpose
  return s;
}

// The slots of every token of every sequence, in gather order.
std::vector<int64_t> slots_of(const PoolSetup& s) {
  std::vector<int64_t> slots;
  const int32_t B = s.layout.page.page_size;
  for (size_t b = 0; b < s.lens.size(); ++b)
    for (int32_t t = 0; t < s.lens[b]; ++t)
      slots.push_back(int64_t(s.table[b * s.max_blocks + t / B]) * B + t % B);
  return slots;
}

}  // namespace

TEST(QuantizeAndCache, WriteThenGatherReturnsTheQuantisedValues) {
  for (PageLayoutKind kind : {PageLayoutKind::standard, PageLayoutKind::preshuffle16})
    for (int32_t Qb : {128, 32})
      for (Fp8Encoding enc : {Fp8Encoding::e4m3fn, Fp8Encoding::e4m3fnuz})
        for (bool ue8m0 : {false, true}) {
          const PoolSetup s = make_setup(kind, 16, 128, Qb);
          KCache cache(s.layout, kSentinel);
          const std::vector<int64_t> slots = slots_of(s);
          const std::vector<float> k = random_k(int64_t(slots.size()), 128, 42);
          const QuantParams qp{QuantVariant::exact, enc, ue8m0};
          quantize_and_cache(k, slots, qp, cache.ref());
          const Gathered g = gather_k_cache(cache.view(), {s.table.data(), 2, s.max_blocks, s.max_blocks}, s.lens);
          ASSERT_EQ(g.rows, int64_t(slots.size()));
          std::vector<uint8_t> codes(128);
          std::vector<float> scales(size_t(128 / Qb));
          for (int64_t r = 0; r < g.rows; ++r) {
            quantize_token(k.data() + r * 128, 128, Qb, qp, codes.data(), scales.data());
            ASSERT_EQ(0, std::memcmp(codes.data(), g.values.data() + r * 128, 128)) << "row " << r;
            ASSERT_EQ(0, std::memcmp(scales.data(), g.scales.data() + r * 4 * (128 / Qb), 4 * (128 / Qb)));
          }
        }
}

TEST(QuantizeAndCache, ExactVariantFormula) {
  // amax 3.5 -> sc = 3.5/448 (RN); values k/sc saturated; ue8m0 rounds sc up to 2^-7.
  std::vector<float> k(32, 0.0f);
  k[0] = 3.5f;
  k[1] = -1.0f;
  k[2] = 0.001f;
  uint8_t codes[32];
  float sc;
  quantize_token(k.data(), 32, 32, {QuantVariant::exact, Fp8Encoding::e4m3fn, false}, codes, &sc);
  EXPECT_EQ(sc, 3.5f / 448.0f);
  EXPECT_EQ(codes[0], 0x7E);
  EXPECT_EQ(codes[1], fp8_encode(-1.0f / sc, Fp8Encoding::e4m3fn));
  EXPECT_EQ(codes[2], fp8_encode(0.001f / sc, Fp8Encoding::e4m3fn));
  quantize_token(k.data(), 32, 32, {QuantVariant::exact, Fp8Encoding::e4m3fn, true}, codes, &sc);
  EXPECT_EQ(sc, std::ldexp(1.0f, -7));  // 3.5/448 = 0.0078125 exactly = 2^-7: stays
  k[0] = 3.6f;
  quantize_token(k.data(), 32, 32, {QuantVariant::exact, Fp8Encoding::e4m3fn, true}, codes, &sc);
  EXPECT_EQ(sc, std::ldexp(1.0f, -6));
  std::vector<float> zeros(32, 0.0f);  // amax clamps to 1e-4
  quantize_token(zeros.data(), 32, 32, {QuantVariant::exact, Fp8Encoding::e4m3fnuz, false}, codes, &sc);
  EXPECT_EQ(sc, 1e-4f / 240.0f);
}

TEST(QuantizeAndCache, Ue8m0ExactVersusLog2fJustAbovePowersOfTwo) {
  // The exact rounding sends 2^e * (1 + 2^-23) to 2^(e+1); count where libm's log2f disagrees.
  int disagreements = 0;
  for (int e = -30; e <= 10; ++e) {
    const float sc = std::nextafter(std::ldexp(1.0f, e), INFINITY);
    EXPECT_EQ(ue8m0_round_up_exact(sc), std::ldexp(1.0f, e + 1));
    if (std::exp2f(std::ceil(std::log2f(sc))) != std::ldexp(1.0f, e + 1)) ++disagreements;
  }
  EXPECT_GT(disagreements, 0) << "log2f rounds 2^e+ulp to exactly e somewhere: the divergence numerics.md names";
}

TEST(QuantizeAndCache, WritesOnlyTheAddressedSlots) {
  for (PageLayoutKind kind : {PageLayoutKind::standard, PageLayoutKind::preshuffle16}) {
    const PoolSetup s = make_setup(kind, 32, 64, 64);
    KCache cache(s.layout, kSentinel);
    const std::vector<int64_t> slots = {5 * 32 + 3, -1, 8 * 32 + 31, -7, 0};
    const std::vector<float> k = random_k(5, 64, 9);
    quantize_and_cache(k, slots, {}, cache.ref());
    std::vector<uint8_t> touched(cache.bytes.size(), 0);
    for (int64_t slot : slots) {
      if (slot < 0) continue;
      const int64_t p = cache.layout.slot_page(slot);
      const int32_t t = cache.layout.slot_in_page(slot);
      for (int32_t d = 0; d < 64; ++d) touched[size_t(cache.layout.value_byte(p, t, d))] = 1;
      for (int i = 0; i < 4; ++i) touched[size_t(cache.layout.scale_byte(p, t, 0) + i)] = 1;
    }
    int64_t changed_elsewhere = 0;
    for (size_t i = 0; i < touched.size(); ++i)
      if (!touched[i] && cache.bytes[i] != kSentinel) ++changed_elsewhere;
    EXPECT_EQ(changed_elsewhere, 0);
    float sc;
    std::memcpy(&sc, cache.bytes.data() + cache.layout.scale_byte(8, 31, 0), 4);
    EXPECT_GT(sc, 0.0f);
  }
}

TEST(ConvertLayout, StandardToPreshuffleAndBackIsIdentity) {
  const PoolSetup s = make_setup(PageLayoutKind::standard, 48, 128, 128);
  KCache cache(s.layout, kSentinel);
  const CounterRng rng{5};
  for (size_t i = 0; i < cache.bytes.size(); ++i) cache.bytes[i] = uint8_t(rng.u32(3, i));
  const KCache shuf = convert_layout(cache, PageLayoutKind::preshuffle16);
  EXPECT_NE(shuf.bytes, cache.bytes);
  for (int64_t p = 0; p < 9; ++p)
    for (int32_t t = 0; t < 48; ++t)
      for (int32_t d = 0; d < 128; ++d) ASSERT_EQ(shuf.value_code(p, t, d), cache.value_code(p, t, d));
  const KCache back = convert_layout(shuf, PageLayoutKind::standard);
  EXPECT_EQ(back.bytes, cache.bytes);
}

TEST(Gather, HighPageIdsPastFourGiBOfPool) {
  // A pool of 600,000 pages of B=16, D=32 (576 bytes) is 345 MB, not 4 GiB; use a large page
  // stride instead so that byte offsets pass 2^32 while the allocation stays small: only the
  // addressing is under test, so build the view and check offsets of far pages directly.
  const PagedCacheLayout big{{PageLayoutKind::preshuffle16, 16, 32, 32}, 65536, 70000};
  const int32_t table[] = {69999, 65536};
  const PagedView v{big, {table, 1, 2, 2}};
  EXPECT_EQ(v.value_byte(0, 0, 0), int64_t(69999) * 65536);
  EXPECT_EQ(v.value_byte(0, 16 + 1, 16), int64_t(65536) * 65536 + 256 + 16);
  EXPECT_GT(v.value_byte(0, 0, 0), int64_t(1) << 32);
  // And an actual write + gather through page ids >= 65,536 in a pool that fits in memory.
  const PagedCacheLayout pool{{PageLayoutKind::preshuffle16, 16, 32, 32}, 576, 65540};
  KCache cache(pool, kSentinel);
  const int32_t tbl[] = {65539, 65536, 3};
  const std::vector<int32_t> lens = {40};
  std::vector<int64_t> slots;
  for (int32_t s = 0; s < 40; ++s) slots.push_back(int64_t(tbl[s / 16]) * 16 + s % 16);
  const std::vector<float> k = random_k(40, 32, 77);
  quantize_and_cache(k, slots, {}, cache.ref());
  const Gathered g = gather_k_cache(cache.view(), {tbl, 1, 3, 3}, lens);
  uint8_t codes[32];
  float sc;
  for (int32_t r = 0; r < 40; ++r) {
    quantize_token(k.data() + r * 32, 32, 32, {}, codes, &sc);
    ASSERT_EQ(0, std::memcmp(codes, g.values.data() + r * 32, 32)) << r;
  }
}

// Each variant against its formula in numerics.md, on values where the variants disagree
// (division vs reciprocal, /448 vs *(1/448), saturate vs clamp-then-cast).
TEST(QuantizeAndCache, VariantsFollowTheirFormulasAndDiverge) {
  const CounterRng rng{2024};
  int exact_vs_aiter = 0, exact_vs_sglang = 0;
  uint8_t got[32];
  float sc;
  for (uint64_t trial = 0; trial < 2000; ++trial) {
    std::vector<float> k(32);
    const float amp = std::ldexp(1.0f, int(rng.below(9, trial, 20)) - 10);
    for (int i = 0; i < 32; ++i) k[size_t(i)] = bf16_decode(bf16_encode((rng.unit(10, trial * 32 + uint64_t(i)) - 0.5f) * amp));
    float amax = 0;
    for (float v : k) amax = std::max(amax, std::fabs(v));
    const float a = std::max(amax, 1e-4f);
    for (Fp8Encoding enc : {Fp8Encoding::e4m3fn, Fp8Encoding::e4m3fnuz}) {
      const float fmax = enc == Fp8Encoding::e4m3fn ? 448.0f : 240.0f;
      uint8_t exact[32], aiter[32], sglang[32];
      quantize_token(k.data(), 32, 32, {QuantVariant::exact, enc, false}, got, &sc);
      ASSERT_EQ(sc, a / fmax);
      for (int i = 0; i < 32; ++i) exact[i] = fp8_encode(k[size_t(i)] / (a / fmax), enc);
      ASSERT_EQ(0, std::memcmp(got, exact, 32)) << "exact, trial " << trial;
      quantize_token(k.data(), 32, 32, {QuantVariant::aiter, enc, false}, got, &sc);
      for (int i = 0; i < 32; ++i) aiter[i] = fp8_encode(k[size_t(i)] * (1.0f / (a / fmax)), enc);
      ASSERT_EQ(0, std::memcmp(got, aiter, 32)) << "aiter, trial " << trial;
      quantize_token(k.data(), 32, 32, {QuantVariant::vllm, enc, false}, got, &sc);
      ASSERT_EQ(sc, a / 448.0f);
      const float sgl_sc = a * (1.0f / 448.0f);
      quantize_token(k.data(), 32, 32, {QuantVariant::sglang, enc, false}, got, &sc);
      ASSERT_EQ(sc, sgl_sc);
      for (int i = 0; i < 32; ++i)
        sglang[i] = fp8_encode(std::clamp(k[size_t(i)] / sgl_sc, -fmax, fmax), enc, Overflow::to_nan);
      ASSERT_EQ(0, std::memcmp(got, sglang, 32)) << "sglang, trial " << trial;
      exact_vs_aiter += std::memcmp(exact, aiter, 32) != 0;
      if (enc == Fp8Encoding::e4m3fn) exact_vs_sglang += std::memcmp(exact, sglang, 32) != 0;
    }
  }
  EXPECT_GT(exact_vs_aiter, 0) << "the inputs never separate division from reciprocal multiply";
  EXPECT_GT(exact_vs_sglang, 0) << "the inputs never separate /448 from *(1/448)";
}
