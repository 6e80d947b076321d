// The naive oracle: the `exact` and `deepgemm_sm90` contracts of numerics.md written as plainly
// as possible, one logit at a time. It shares nothing arithmetic with the fast path: its own
// fp8 decoding into integers, int64 fixed-point dot products, its own scalar epilogues.
// Validation and the output regions come from the same functions as the fast path.
#include <cmath>
#include <cstring>

#include "logits_internal.hpp"
#include "mqa/rn.hpp"

namespace mqa {

namespace {

// An fp8 code as an integer multiple of the format's smallest subnormal (2^-9 for e4m3fn,
// 2^-10 for e4m3fnuz): subnormal m -> m; normal (e, m) -> (8 + m) * 2^(e-1).
struct FixedPoint {
  int64_t n;
  bool nan;
};
FixedPoint fp8_fixed(uint8_t code, Fp8Encoding enc) {
  const bool nan = enc == Fp8Encoding::e4m3fn ? (code & 0x7F) == 0x7F : code == 0x80;
  if (nan) return {0, true};
  const int e = (code >> 3) & 0xF, m = code & 0x7;
  const int64_t mag = e == 0 ? m : int64_t(8 + m) << (e - 1);
  return {(code & 0x80) ? -mag : mag, false};
}

// a_h = RN(exact sum): the int64 sum is exact (|sum| < 2^46), int64 -> float rounds once
// (round to nearest even), and the scaling by 2^-18 / 2^-20 is exact (the result is normal).
float exact_dot(const uint8_t* q, const uint8_t* k, int32_t D, Fp8Encoding enc) {
  int64_t sum = 0;
  for (int32_t d = 0; d < D; ++d) {
    const FixedPoint a = fp8_fixed(q[d], enc), b = fp8_fixed(k[d], enc);
    if (a.nan || b.nan) return f32_from_bits(kCanonicalNanBits);  // NaN * anything is NaN
    sum += a.n * b.n;
  }
  return std::ldexp(float(sum), enc == Fp8Encoding::e4m3fn ? -18 : -20);
}

// One logit from the H dot products of (row, token).
float epilogue(Profile profile, const float* a, const float* w, int32_t H, float kscale) {
  float t[1024];
  if (profile == Profile::exact) {
    for (int32_t h = 0; h < H; ++h) {
      const float relu = std::isnan(a[h]) ? a[h] : (a[h] > 0.0f ? a[h] : 0.0f);
      t[h] = rn_mul(relu, w[h]);
    }
    for (int32_t step = H / 2; step >= 1; step /= 2)
      for (int32_t i = 0; i < step; ++i) t[i] = rn_add(t[i], t[i + step]);
    return rn_mul(t[0], kscale);
  }
  // Group order as nvcc 13.0 compiles DeepGEMM's `sum = t(c0); sum += t(c1); ...`: the first
  // addition is contracted around group 0's product, so group 1 is the one rounded alone.
  auto relu = [](float x) { return x > 0.0f ? x : 0.0f; };  // fmaxf(x, 0): NaN -> 0
  float P[4][2];
  for (int32_t u = 0; u < 4; ++u)
    for (int32_t par = 0; par < 2; ++par) {
      const int32_t h0 = 2 * u + par;
      if (H == 8) {
        P[u][par] = rn_mul(relu(a[h0]), w[h0]);
        continue;
      }
      P[u][par] = rn_mul(relu(a[h0 + 8]), w[h0 + 8]);
      P[u][par] = rn_fma(relu(a[h0]), w[h0], P[u][par]);
      for (int32_t c = 2; c < H / 8; ++c) P[u][par] = rn_fma(relu(a[8 * c + h0]), w[8 * c + h0], P[u][par]);
    }
  float V[4];
  for (int32_t u = 0; u < 4; ++u) V[u] = rn_mul(rn_add(P[u][0], P[u][1]), kscale);
  return rn_add(rn_add(V[0], V[1]), rn_add(V[2], V[3]));
}

float to_output(float x) { return std::isnan(x) ? f32_from_bits(kCanonicalNanBits) : x; }

}  // namespace

void paged_mqa_logits_naive(const PagedLogitsProblem& p, float* out, int64_t out_row_stride) {
  const LogitsRegions g = paged_logits_regions(p, out_row_stride);
  if (p.clean_logits) logits_detail::clean_outside_valid(g, out);
  const int32_t H = p.heads, D = p.cache.page.head_dim;
  const PagedView view{p.cache, p.table};
  std::vector<uint8_t> k(static_cast<size_t>(D));
  std::vector<float> a(static_cast<size_t>(H));
  for (int32_t b = 0; b < p.batch; ++b)
    for (int32_t j = 0; j < p.next_n; ++j) {
      const int64_t r = int64_t(b) * p.next_n + j;
      for (int64_t s = 0; s < g.row[size_t(r)].valid_end; ++s) {
        for (int32_t d = 0; d < D; ++d) k[size_t(d)] = p.cache_bytes[view.value_byte(b, s, d)];
        float kscale;
        std::memcpy(&kscale, p.cache_bytes + view.scale_byte(b, s, 0), 4);
        for (int32_t h = 0; h < H; ++h) a[size_t(h)] = exact_dot(p.q + (r * H + h) * D, k.data(), D, p.encoding);
        out[r * out_row_stride + s] = to_output(epilogue(p.profile, a.data(), p.weights + r * H, H, kscale));
      }
    }
}

void ragged_mqa_logits_naive(const RaggedLogitsProblem& p, float* out, int64_t out_row_stride) {
  const LogitsRegions g = ragged_logits_regions(p, out_row_stride);
  if (p.clean_logits) logits_detail::clean_outside_valid(g, out);
  const int32_t H = p.heads, D = p.head_dim;
  std::vector<float> a(static_cast<size_t>(H));
  for (int64_t i = 0; i < p.M; ++i)
    for (int64_t s = g.row[size_t(i)].valid_begin; s < g.row[size_t(i)].valid_end; ++s) {
      for (int32_t h = 0; h < H; ++h) a[size_t(h)] = exact_dot(p.q + (i * H + h) * D, p.k + s * D, D, p.encoding);
      out[i * out_row_stride + s] = to_output(epilogue(p.profile, a.data(), p.weights + i * H, H, p.kscale[s]));
    }
}

}  // namespace mqa
