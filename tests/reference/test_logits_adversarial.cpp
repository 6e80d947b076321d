// Fast path == naive oracle on values chosen to break inexact arithmetic: all codes at +-FMAX,
// subnormals only, heavy cancellation, NaN codes sprinkled, and K quantised with amax exactly at
// powers of two (the codes then saturate at FMAX).
#include <gtest/gtest.h>

#include <cmath>

#include "test_logits_util.hpp"

using namespace mqa;
using namespace mqa::test;

namespace {

PagedShape adversarial_shape(Fp8Encoding e, PageLayoutKind kind, int32_t D) {
  PagedShape s;
  s.kind = kind;
  s.page_size = 16;
  s.batch = 3;
  s.next_n = 2;
  s.heads = 32;
  s.head_dim = D;
  s.encoding = e;
  s.max_len = 70;
  return s;
}

void expect_bitwise(const PagedCase& c, const char* what) {
  std::vector<float> fast = c.sentinel_output(), naive = c.sentinel_output();
  paged_mqa_logits(c.problem(), fast.data(), c.row_stride);
  paged_mqa_logits_naive(c.problem(), naive.data(), c.row_stride);
  const int64_t at = first_bit_difference(fast, naive);
  ASSERT_EQ(at, -1) << what << " " << c.shape.str() << " row " << at / c.row_stride << " col " << at % c.row_stride;
}

template <class CodeFn>
void run_all(const char* what, CodeFn code) {
  for (Fp8Encoding e : {Fp8Encoding::e4m3fn, Fp8Encoding::e4m3fnuz})
    for (PageLayoutKind kind : {PageLayoutKind::standard, PageLayoutKind::preshuffle16})
      for (int32_t D : {32, 128}) {
        PagedCase c = make_paged_case(adversarial_shape(e, kind, D), 41 + uint64_t(D));
        const CounterRng rng{uint64_t(D) * 3 + uint64_t(e)};
        for (size_t i = 0; i < c.q.size(); ++i) c.q[i] = code(rng, sQ, i, e);
        fill_k_codes(c, [&](int32_t b, int32_t s, int32_t d) {
          return code(rng, sK, (uint64_t(b) << 40) | (uint64_t(s) << 12) | uint64_t(d), e);
        });
        expect_bitwise(c, what);
      }
}

uint8_t sign_bit(const CounterRng& rng, uint64_t stream, uint64_t i) { return uint8_t(rng.u32(stream, i) & 0x80); }

}  // namespace

TEST(LogitsAdversarial, AllCodesAtPlusMinusFmax) {
  run_all("fmax", [](const CounterRng& rng, uint64_t st, uint64_t i, Fp8Encoding e) {
    return uint8_t(sign_bit(rng, st, i) | fp8_traits(e).max_code);
  });
}

TEST(LogitsAdversarial, SubnormalsOnly) {
  run_all("subnormal", [](const CounterRng& rng, uint64_t st, uint64_t i, Fp8Encoding e) {
    const uint8_t m = uint8_t(1 + rng.below(st, i | 1ull << 50, 7));  // mantissa 1..7, exponent 0
    const uint8_t s = sign_bit(rng, st, i);
    return e == Fp8Encoding::e4m3fnuz && m == 0 ? uint8_t(0) : uint8_t(s | m);
  });
}

TEST(LogitsAdversarial, HeavyCancellation) {
  // q: +-FMAX on even d, tiny subnormals on odd d. k: FMAX with alternating signs on even d,
  // so the large products cancel pairwise and the exact sum is made of the tiny terms only; an
  // fp32 accumulation would lose them.
  run_all("cancellation", [](const CounterRng& rng, uint64_t st, uint64_t i, Fp8Encoding e) {
    const uint64_t d = i & 0xFFF;  // q: index within the row is i % D; k: low 12 bits are d
    const uint8_t fmax = fp8_traits(e).max_code;
    if (st == sQ) return (i % 2 == 0) ? fmax : uint8_t(1 + rng.below(st, i, 7));
    if (d % 2 == 1) return uint8_t(1 + rng.below(st, i, 7));
    return (d % 4 == 0) ? fmax : uint8_t(0x80 | fmax);
  });
}

TEST(LogitsAdversarial, CancellationToAnExactTinyValue) {
  // One head, D = 4: q = [FMAX, FMAX, 1, 0], k = [FMAX, -FMAX, 2^-9, 0] (e4m3fn): the exact sum is
  // 448^2 - 448^2 + 2^-9 = 2^-9; logit = RN(RN(2^-9 * w) * kscale) with w = 1, kscale = 2 -> 2^-8.
  RaggedCase c = make_ragged_case(1, 1, 1, 4, Fp8Encoding::e4m3fn, 3);
  c.q = {0x7E, 0x7E, 0x38, 0x00};
  c.k = {0x7E, 0xFE, 0x01, 0x00};
  c.w = {1.0f};
  c.kscale = {2.0f};
  c.ks = {0};
  c.ke = {1};
  for (bool naive : {false, true}) {
    std::vector<float> out = c.sentinel_output();
    (naive ? ragged_mqa_logits_naive : ragged_mqa_logits)(c.problem(), out.data(), c.row_stride);
    EXPECT_EQ(f32_bits(out[0]), f32_bits(std::ldexp(1.0f, -8)));
  }
}

TEST(LogitsAdversarial, NaNCodesSprinkled) {
  // About 1 code in 64 is NaN: rows/columns touched become canonical NaN in both paths alike.
  run_all("nan", [](const CounterRng& rng, uint64_t st, uint64_t i, Fp8Encoding e) {
    if (rng.below(st, i | 1ull << 51, 64 * (st == sQ ? 64 : 1)) == 0) return e == Fp8Encoding::e4m3fn ? uint8_t(0x7F) : uint8_t(0x80);
    return finite_code(rng, st, i, e);
  });
}

TEST(LogitsAdversarial, KQuantisedWithAmaxExactlyAtPowersOfTwo) {
  for (Fp8Encoding e : {Fp8Encoding::e4m3fn, Fp8Encoding::e4m3fnuz})
    for (bool ue8m0 : {false, true}) {
      PagedCase c = make_paged_case(adversarial_shape(e, PageLayoutKind::preshuffle16, 64), 60 + uint64_t(ue8m0));
      const CounterRng rng{17};
      const PagedView v{c.cache.layout, c.problem().table};
      std::vector<float> k;
      std::vector<int64_t> slots;
      for (int32_t b = 0; b < c.shape.batch; ++b)
        for (int32_t s = 0; s < c.tokens_read(b); ++s) {
          const int exp2 = int(rng.below(sScale, uint64_t(b * 1000 + s), 40)) - 20;  // amax = 2^exp2 exactly
          for (int32_t d = 0; d < 64; ++d)
            k.push_back(d == s % 64 ? (s % 2 ? -1.0f : 1.0f) * std::ldexp(1.0f, exp2)
                                    : std::ldexp(rng.unit(sK, uint64_t(b * 100000 + s * 64 + d)) - 0.5f, exp2 + 1));
          const TokenAddress a = v.token(b, s);
          slots.push_back(a.page * c.shape.page_size + a.slot);
        }
      quantize_and_cache(k, slots, QuantParams{QuantVariant::exact, e, ue8m0}, c.cache.ref());
      // The amax element is stored at +-FMAX (without ue8m0: k/sc = FMAX exactly or just below).
      const TokenAddress a0 = v.token(0, 0);
      if (c.tokens_read(0) > 0 && !ue8m0) {
        EXPECT_EQ(c.cache.value_code(a0.page, a0.slot, 0), fp8_traits(e).max_code);
      }
      expect_bitwise(c, "amax at 2^e");
    }
}
