// The fast path's core: one tile of exact dot products through an fp64 GEMM, then the fp32
// epilogue of the profile with explicit round-to-nearest operations.
//
// Why an fp64 GEMM is exact (numerics.md): an e4m3fn value is an integer multiple of 2^-9 with
// magnitude <= 448 (e4m3fnuz: 2^-10, <= 240), so each product q*k is a multiple of 2^-18
// (2^-20) below 2^18 in magnitude, and every partial sum of at most D <= 2^10 products is a
// multiple of 2^-18 (2^-20) below 2^28 (2^26): at most 46 significant bits, inside double's 53.
// Every addition (and every fused multiply-add the GEMM kernel may use) is therefore exact, in
// any order and any blocking, and the single conversion double -> float is the one rounding
// RN(sum). NaN codes decode to NaN and propagate through the GEMM (no infinities exist in fp8,
// so no NaN can arise any other way).
#include <Eigen/Core>

#include "logits_internal.hpp"
#include "mqa/rn.hpp"

namespace mqa::logits_detail {

namespace {

using RowMajorD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// relu of the exact profile: x > 0 ? x : +0, and NaN stays NaN ("x <= 0" is false for NaN).
inline float relu_keep_nan(float x) { return x <= 0.0f ? 0.0f : x; }
// relu of the deepgemm_sm90 profile, fmaxf(x, 0): NaN becomes +0, and so does -0.
inline float relu_fmax(float x) { return x > 0.0f ? x : 0.0f; }

// Exact profile on columns [c0, c0+n) of the tile for one row. a: [H, T] row-major.
void epilogue_exact(const double* a, int64_t T, int32_t H, int64_t c0, int64_t n, const float* w,
                    const float* kscale, float* t, float* out) {
  for (int32_t h = 0; h < H; ++h) {
    const double* ah = a + int64_t(h) * T + c0;
    float* th = t + int64_t(h) * n;
    const float wh = w[h];
    for (int64_t x = 0; x < n; ++x) th[x] = rn_mul(relu_keep_nan(float(ah[x])), wh);  // float(): RN
  }
  // Pairwise head tree, step H/2 .. 1; each step is an element-wise add of two head rows.
  for (int32_t step = H / 2; step >= 1; step /= 2)
    for (int32_t i = 0; i < step; ++i) {
      float* ti = t + int64_t(i) * n;
      const float* tj = t + int64_t(i + step) * n;
      for (int64_t x = 0; x < n; ++x) ti[x] = rn_add(ti[x], tj[x]);
    }
  for (int64_t x = 0; x < n; ++x) out[x] = canonical_logit(rn_mul(t[x], kscale[c0 + x]));
}

// deepgemm_sm90 profile: head h = 8c + 2u + p accumulates into P[2u+p]: group 1 a product,
// then fma of group 0, then fma of groups 2, 3, ... in order (H = 8: group 0's product alone);
// V[u] = RN(RN(P[2u] + P[2u+1]) * kscale); logit = RN(RN(V0+V1) + RN(V2+V3)).
void epilogue_deepgemm(const double* a, int64_t T, int32_t H, int64_t c0, int64_t n, const float* w,
                       const float* kscale, float* t, float* out) {
  const int32_t first = H == 8 ? 0 : 1;  // the group that is rounded alone (numerics.md)
  for (int32_t j = 0; j < 8; ++j) {
    const double* ah = a + int64_t(8 * first + j) * T + c0;
    float* pj = t + int64_t(j) * n;
    const float wh = w[8 * first + j];
    for (int64_t x = 0; x < n; ++x) pj[x] = rn_mul(relu_fmax(float(ah[x])), wh);
  }
  if (first == 1)
    for (int32_t j = 0; j < 8; ++j) {
      const double* ah = a + int64_t(j) * T + c0;
      float* pj = t + int64_t(j) * n;
      for (int64_t x = 0; x < n; ++x) pj[x] = rn_fma(relu_fmax(float(ah[x])), w[j], pj[x]);
    }
  for (int32_t c = 2; c < H / 8; ++c)
    for (int32_t j = 0; j < 8; ++j) {
      const double* ah = a + int64_t(8 * c + j) * T + c0;
      float* pj = t + int64_t(j) * n;
      const float wh = w[8 * c + j];
      for (int64_t x = 0; x < n; ++x) pj[x] = rn_fma(relu_fmax(float(ah[x])), wh, pj[x]);
    }
  for (int64_t x = 0; x < n; ++x) {
    float v[4];
    for (int32_t u = 0; u < 4; ++u)
      v[u] = rn_mul(rn_add(t[int64_t(2 * u) * n + x], t[int64_t(2 * u + 1) * n + x]), kscale[c0 + x]);
    out[x] = canonical_logit(rn_add(rn_add(v[0], v[1]), rn_add(v[2], v[3])));
  }
}

}  // namespace

void score_tile(Profile profile, const double* Qd, int32_t R, int32_t H, int32_t D, const double* Kd,
                const float* kscale, int64_t T, int64_t tok0, const TileRow* rows, Scratch& scratch) {
  const int64_t RH = int64_t(R) * H;
  scratch.a.resize(size_t(RH * T));
  Eigen::Map<const RowMajorD> q(Qd, RH, D);
  Eigen::Map<const RowMajorD> k(Kd, T, D);
  Eigen::Map<RowMajorD> a(scratch.a.data(), RH, T);
  a.noalias() = q * k.transpose();
  scratch.t.resize(size_t(int64_t(H) * T));
  for (int32_t r = 0; r < R; ++r) {
    const TileRow& row = rows[r];
    const int64_t lo = std::max(row.begin, tok0), hi = std::min(row.end, tok0 + T);
    if (lo >= hi) continue;
    const double* ar = scratch.a.data() + int64_t(r) * H * T;
    if (profile == Profile::exact)
      epilogue_exact(ar, T, H, lo - tok0, hi - lo, row.w, kscale, scratch.t.data(), row.out + lo);
    else
      epilogue_deepgemm(ar, T, H, lo - tok0, hi - lo, row.w, kscale, scratch.t.data(), row.out + lo);
  }
}

}  // namespace mqa::logits_detail
