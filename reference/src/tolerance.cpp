// The tolerance models' bounds (mqa/tolerance.hpp); the derivation is in docs/numerics.md.
#include "mqa/tolerance.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "logits_internal.hpp"
#include "mqa/validate.hpp"

namespace mqa {

const char* to_string(ToleranceModel m) { return m == ToleranceModel::fp32_accum ? "fp32" : "fp8_mma"; }

ToleranceModel tolerance_model_from_string(const std::string& s) {
  if (s == "fp32") return ToleranceModel::fp32_accum;
  if (s == "fp8_mma") return ToleranceModel::fp8_mma;
  reject("tolerance model", "'" + s + "'", "expected fp32 or fp8_mma");
}

namespace {

constexpr double kU = 0x1p-24;  // fp32 unit roundoff

// gamma_n = n u / (1 - n u): the classic bound of n roundings in sequence, in any order.
double gamma(int64_t n) { return double(n) * kU / (1.0 - double(n) * kU); }

// One row's q (decoded, [H][D]) and weights against T tokens (decoded k [T][D], kscale [T]).
struct RowInputs {
  const double* q = nullptr;
  const float* w = nullptr;
  int32_t H = 0, D = 0;
  bool finite = true;  // no NaN code in q, every weight finite
};

// Bound on |kernel logit - reference logit| for one (row, token) under the model.
double element_bound(const RowInputs& r, const double* k, float kscale, const ToleranceSpec& spec, float expected) {
  const double ks = std::fabs(double(kscale));
  double bound = 0;
  if (spec.model == ToleranceModel::fp32_accum) {
    double s = 0;
    for (int32_t h = 0; h < r.H; ++h) {
      double dot = 0;
      for (int32_t d = 0; d < r.D; ++d) dot += std::fabs(r.q[int64_t(h) * r.D + d] * k[d]);
      s += std::fabs(double(r.w[h])) * dot;
    }
    // plus underflow: the D-term sums are multiples of 2^-20, never subnormal, but each of the
    // kernel's and the reference's H products, H - 1 additions and one scale (2H + 2 operations)
    // may lose 2^-150 absolute in the subnormal range (a subnormal kscale puts them there)
    bound = double(r.D + r.H + 1) * kU * s * ks + double(2 * r.H + 2) * 0x1p-150 * std::max(1.0, ks);
  } else {
    // Dot of head h, instruction by instruction: step i adds products [32i, 32i+32) to the
    // accumulator c. Every addend is aligned to the largest one (2^E <= M < 2^(E+1)) and cut
    // toward zero to a multiple of u = 2^(E+1-13) (13 fraction bits, one binade of carry
    // allowed). A product is exact (fp8 x fp8) and loses exactly |p| mod u, which is 0 when p is
    // a multiple of u and grows with u, so an upper bound on M gives an upper bound on the loss;
    // the accumulator, whose low bits are unknown, loses < u. The sum is then cut to 13
    // fraction bits: < 2^-13 of its magnitude. |c| carries the error made so far.
    const double cut_unit = std::ldexp(1.0, -kFp8MmaFractionBits);
    double err_sum = 0, relu_sum = 0, relu_exact_sum = 0;
    for (int32_t h = 0; h < r.H; ++h) {
      const double* qh = r.q + int64_t(h) * r.D;
      double c = 0, err = 0;
      for (int32_t d0 = 0; d0 < r.D; d0 += kFp8MmaProductsPerStep) {
        const int32_t d1 = std::min(r.D, d0 + kFp8MmaProductsPerStep);
        double part = 0, max_p = 0;
        for (int32_t d = d0; d < d1; ++d) {
          const double p = qh[d] * k[d];  // exact: both are fp8 values
          part += p;                      // exact: integer multiples of 2^-20 below 2^28
          max_p = std::max(max_p, std::fabs(p));
        }
        const double c_abs = std::fabs(c) + err;
        const double m = std::max(c_abs, max_p);
        if (m == 0) continue;
        const double u = std::ldexp(1.0, std::ilogb(m) + 1 - kFp8MmaFractionBits), inv_u = 1.0 / u;
        double align = c_abs > 0 ? u : 0.0;
        for (int32_t d = d0; d < d1; ++d) {  // |p| mod u, exact: u is a power of two
          const double ap = std::fabs(qh[d] * k[d]);
          align += ap - std::floor(ap * inv_u) * u;
        }
        c += part;
        err += align + cut_unit * (std::fabs(c) + err + align);  // |computed sum| <= |exact| + errors
      }
      const double wh = std::fabs(double(r.w[h]));
      err_sum += wh * err;
      relu_sum += wh * (std::max(c, 0.0) + err);  // relu(computed) <= relu(exact) + err
      relu_exact_sum += wh * std::max(c, 0.0);
    }
    // Epilogue of the kernel (H products, H-1 additions, the scale: any order, fused or not)
    // and of the reference (a_h rounded, product, tree, scale), plus underflow: each of at most
    // 3H + 4 operations loses at most 2^-150 absolute in the subnormal range.
    bound = ks * (err_sum + gamma(r.H + 2) * relu_sum + gamma(r.H + 3) * relu_exact_sum) +
            double(3 * r.H + 4) * 0x1p-150 * std::max(1.0, ks);
  }
  if (spec.bf16_out)  // RN to bf16 (8 significant bits): |RN(y) - y| <= 2^-8 |y|, or half the subnormal step
    bound += 0x1p-8 * (std::fabs(double(expected)) + bound) + 0x1p-134;
  return bound;
}

void decode_row(const uint8_t* codes, int64_t n, Fp8Encoding enc, double* out, bool& finite) {
  for (int64_t i = 0; i < n; ++i) {
    if (fp8_is_nan(codes[i], enc)) finite = false;
    out[i] = double(fp8_decode(codes[i], enc));
  }
}

RowInputs row_inputs(const uint8_t* q, const float* w, int32_t H, int32_t D, Fp8Encoding enc, std::vector<double>& qd) {
  RowInputs r;
  r.H = H;
  r.D = D;
  r.w = w;
  qd.resize(size_t(int64_t(H) * D));
  decode_row(q, int64_t(H) * D, enc, qd.data(), r.finite);
  for (int32_t h = 0; h < H; ++h) r.finite = r.finite && std::isfinite(w[h]);
  r.q = qd.data();
  return r;
}

// bf16_out needs the reference logits; checked before any worker starts.
void check_expected(std::span<const float> expected, size_t need, const ToleranceSpec& spec) {
  if (spec.bf16_out && expected.size() < need)
    reject("expected.size", expected.size(), "bf16_out needs the reference logits (" + std::to_string(need) + " floats)");
}

float expected_at(std::span<const float> expected, int64_t i, const ToleranceSpec& spec) {
  return spec.bf16_out ? expected[size_t(i)] : 0.0f;
}

}  // namespace

std::vector<double> paged_logits_bounds(const PagedLogitsProblem& p, const LogitsRegions& g, const ToleranceSpec& spec,
                                        std::span<const float> expected) {
  const int32_t H = p.heads, D = p.cache.page.head_dim;
  const PagedView view{p.cache, p.table};
  std::vector<double> out(size_t(g.rows > 0 ? (g.rows - 1) * g.row_stride + g.cols : 0), 0.0);
  check_expected(expected, out.size(), spec);
  logits_detail::parallel_for(g.rows, [&](int64_t r, logits_detail::Scratch&) {  // rows are independent
    std::vector<double> qd, kd(static_cast<size_t>(D));
    std::vector<uint8_t> codes(static_cast<size_t>(D));
    const int32_t b = int32_t(r / p.next_n);
    const RowInputs in = row_inputs(p.q + r * H * D, p.weights + r * H, H, D, p.encoding, qd);
    const RowRegion& reg = g.row[size_t(r)];
    for (int64_t s = reg.valid_begin; s < reg.future_end; ++s) {
      bool finite = in.finite;
      for (int32_t d = 0; d < D; ++d) codes[size_t(d)] = p.cache_bytes[view.value_byte(b, s, d)];
      decode_row(codes.data(), D, p.encoding, kd.data(), finite);
      float kscale;
      std::memcpy(&kscale, p.cache_bytes + view.scale_byte(b, s, 0), sizeof kscale);
      const int64_t i = r * g.row_stride + s;
      if (finite && std::isfinite(kscale)) out[size_t(i)] = element_bound(in, kd.data(), kscale, spec, expected_at(expected, i, spec));
    }
  });
  return out;
}

std::vector<double> ragged_logits_bounds(const RaggedLogitsProblem& p, const LogitsRegions& g, const ToleranceSpec& spec,
                                         std::span<const float> expected) {
  const int32_t H = p.heads, D = p.head_dim;
  std::vector<double> out(size_t(g.rows > 0 ? (g.rows - 1) * g.row_stride + g.cols : 0), 0.0);
  check_expected(expected, out.size(), spec);
  logits_detail::parallel_for(g.rows, [&](int64_t r, logits_detail::Scratch&) {
    std::vector<double> qd, kd(static_cast<size_t>(D));
    const RowInputs in = row_inputs(p.q + r * H * D, p.weights + r * H, H, D, p.encoding, qd);
    const RowRegion& reg = g.row[size_t(r)];
    for (int64_t s = reg.valid_begin; s < reg.future_end; ++s) {
      bool finite = in.finite;
      decode_row(p.k + s * D, D, p.encoding, kd.data(), finite);
      const int64_t i = r * g.row_stride + s;
      if (finite && std::isfinite(p.kscale[s]))
        out[size_t(i)] = element_bound(in, kd.data(), p.kscale[s], spec, expected_at(expected, i, spec));
    }
  });
  return out;
}

}  // namespace mqa
