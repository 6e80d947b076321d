// Ragged MQA logits (ops.md section 4, prefill): regions + validation, and the fast exact
// reference. Row i scores k rows [ks[i], ke[i]).
#include <algorithm>
#include <cmath>

#include "logits_internal.hpp"
#include "mqa/validate.hpp"

namespace mqa {

using namespace logits_detail;

namespace {
// "name[i]", built by appending (GCC 12 warns falsely on some operator+ chains at -O3).
std::string indexed(const char* name, int64_t i) {
  std::string s(name);
  s.append("[").append(std::to_string(i)).append("]");
  return s;
}
}  // namespace

LogitsRegions ragged_logits_regions(const RaggedLogitsProblem& p, int64_t out_row_stride, bool read_scales) {
  if (p.encoding != Fp8Encoding::e4m3fn && p.encoding != Fp8Encoding::e4m3fnuz)
    reject("encoding", int(p.encoding), "unknown fp8 encoding");
  validate_heads_and_dim(p.heads, p.head_dim, p.profile);
  if (p.M < 0) reject("M", p.M, "must be >= 0");
  if (p.N < 0) reject("N", p.N, "must be >= 0");
  if (out_row_stride < p.N) reject("out_row_stride", out_row_stride, "smaller than N = " + std::to_string(p.N));
  if (p.M > 0) {
    if (p.q == nullptr) reject("q", std::string("null"), "no query codes given");
    if (p.weights == nullptr) reject("weights", std::string("null"), "no weights given");
    if (p.ks == nullptr) reject("ks", std::string("null"), "no range starts given");
    if (p.ke == nullptr) reject("ke", std::string("null"), "no range ends given");
  }
  LogitsRegions g;
  g.rows = p.M;
  g.cols = p.N;
  g.row_stride = out_row_stride;
  g.row.resize(size_t(p.M));
  std::vector<int32_t> cover(size_t(p.N) + 1, 0);  // difference array: tokens some row reads
  for (int32_t i = 0; i < p.M; ++i) {
    const int32_t s = p.ks[i], e = p.ke[i];
    if (s < 0) reject(indexed("ks", i), s, "negative");
    if (e > p.N) reject(indexed("ke", i), e, "beyond N = " + std::to_string(p.N));
    if (s > e) reject(indexed("ks", i), s, "greater than " + indexed("ke", i) + " = " + std::to_string(e));
    g.row[size_t(i)] = RowRegion{s, e, e};
    if (s < e) {
      ++cover[size_t(s)];
      --cover[size_t(e)];
    }
  }
  int32_t depth = 0;
  for (int32_t j = 0; j < p.N; ++j) {
    depth += cover[size_t(j)];
    if (depth == 0) continue;
    if (p.k == nullptr) reject("k", std::string("null"), "tokens are read but no k given");
    if (p.kscale == nullptr) reject("kscale", std::string("null"), "tokens are read but no scales given");
    if (read_scales && !std::isfinite(p.kscale[j])) validate_scale(p.kscale[j], indexed("kscale", j));
  }
  return g;
}

namespace {
constexpr int64_t kTokensPerTile = 128;
constexpr int64_t kHeadRowsPerGroup = 128;  // rows x heads per GEMM tile
}  // namespace

void ragged_mqa_logits(const RaggedLogitsProblem& p, float* out, int64_t out_row_stride) {
  const LogitsRegions g = ragged_logits_regions(p, out_row_stride);
  if (p.clean_logits) clean_outside_valid(g, out);
  const int32_t H = p.heads, D = p.head_dim;
  const int32_t R = int32_t(std::max<int64_t>(1, kHeadRowsPerGroup / H));
  const int64_t groups = (int64_t(p.M) + R - 1) / R;
  // Work items: (group of R consecutive rows, tile of the union of their ranges).
  struct Span {
    int64_t lo, hi;
  };
  std::vector<Span> span(static_cast<size_t>(groups));
  std::vector<int64_t> first_item(size_t(groups) + 1, 0);
  for (int64_t gi = 0; gi < groups; ++gi) {
    int64_t lo = p.N, hi = 0;
    for (int64_t i = gi * R; i < std::min<int64_t>(p.M, (gi + 1) * R); ++i)
      if (g.row[size_t(i)].valid_begin < g.row[size_t(i)].valid_end) {
        lo = std::min(lo, g.row[size_t(i)].valid_begin);
        hi = std::max(hi, g.row[size_t(i)].valid_end);
      }
    span[size_t(gi)] = lo < hi ? Span{lo, hi} : Span{0, 0};
    first_item[size_t(gi) + 1] =
        first_item[size_t(gi)] + (span[size_t(gi)].hi - span[size_t(gi)].lo + kTokensPerTile - 1) / kTokensPerTile;
  }
  const double* dec = fp8_to_f64_table(p.encoding);
  parallel_for(first_item.back(), [&](int64_t item, Scratch& sc) {
    const int64_t gi = std::upper_bound(first_item.begin(), first_item.end(), item) - first_item.begin() - 1;
    const int64_t tok0 = span[size_t(gi)].lo + (item - first_item[size_t(gi)]) * kTokensPerTile;
    const int64_t T = std::min(kTokensPerTile, span[size_t(gi)].hi - tok0);
    const int64_t row0 = gi * R;
    const int32_t rows_here = int32_t(std::min<int64_t>(R, p.M - row0));
    std::vector<TileRow> rows(static_cast<size_t>(rows_here));
    for (int32_t r = 0; r < rows_here; ++r) {
      const RowRegion& rg = g.row[size_t(row0 + r)];
      rows[size_t(r)] = TileRow{out + (row0 + r) * out_row_stride, p.weights + (row0 + r) * H, rg.valid_begin,
                                rg.valid_end};
    }
    sc.q.resize(size_t(int64_t(rows_here) * H * D));
    const uint8_t* qg = p.q + row0 * H * D;
    for (size_t i = 0; i < sc.q.size(); ++i) sc.q[i] = dec[qg[i]];
    sc.k.resize(size_t(T * D));
    const uint8_t* kt = p.k + tok0 * D;
    for (size_t i = 0; i < sc.k.size(); ++i) sc.k[i] = dec[kt[i]];
    score_tile(p.profile, sc.q.data(), rows_here, H, D, sc.k.data(), p.kscale + tok0, T, tok0, rows.data(), sc);
  });
}

}  // namespace mqa
