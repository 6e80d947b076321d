// Paged MQA logits (ops.md section 3): regions + validation, and the fast exact reference.
// Cache addresses come only from PagedView / PagedCacheLayout (layout.hpp).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "logits_internal.hpp"
#include "mqa/validate.hpp"

namespace mqa {

using namespace logits_detail;

namespace {

std::string lens_name(const PagedLogitsProblem& p, int32_t b, int32_t j) {
  std::string s = "context_lens[" + std::to_string(b) + "]";
  return p.lens_2d ? s + "[" + std::to_string(j) + "]" : s;
}

// Row r = b*next_n + j reads tokens [0, L_r). 1-D lens: L_r = ctx_b - next_n + j + 1, clamped at
// 0 (a sequence shorter than next_n, e.g. a padding entry with ctx_b = 0, has empty early rows);
// the last row of b reads Llast_b = ctx_b. 2-D lens: L_r = lens[b][j], Llast_b = lens[b][next_n-1].
struct RowLens {
  int64_t L, last;
};
RowLens row_lens(const PagedLogitsProblem& p, int32_t b, int32_t j) {
  if (p.lens_2d) {
    const int32_t L = p.context_lens[int64_t(b) * p.next_n + j];
    if (L < 0) reject(lens_name(p, b, j), L, "negative length");
    const int32_t last = p.context_lens[int64_t(b) * p.next_n + p.next_n - 1];
    return {L, last < 0 ? 0 : last};
  }
  const int32_t ctx = p.context_lens[b];
  if (ctx < 0) reject(lens_name(p, b, 0), ctx, "negative length");
  return {std::max<int64_t>(0, int64_t(ctx) - p.next_n + j + 1), ctx};
}

float load_scale(const uint8_t* bytes, int64_t off) {
  float s;
  std::memcpy(&s, bytes + off, 4);
  return s;
}

}  // namespace

LogitsRegions paged_logits_regions(const PagedLogitsProblem& p, int64_t out_row_stride, bool read_scales) {
  validate_cache(p.cache);
  if (p.encoding != Fp8Encoding::e4m3fn && p.encoding != Fp8Encoding::e4m3fnuz)
    reject("encoding", int(p.encoding), "unknown fp8 encoding");
  const PageLayout& pl = p.cache.page;
  if (pl.quant_block != pl.head_dim)
    reject("quant_block", pl.quant_block,
           "the logits ops need one scale per token (quant_block == head_dim = " + std::to_string(pl.head_dim) + ")");
  validate_heads_and_dim(p.heads, pl.head_dim, p.profile);
  if (p.batch < 0) reject("batch", p.batch, "must be >= 0");
  if (p.next_n < 1) reject("next_n", p.next_n, "must be >= 1");
  if (p.max_context_len < 0) reject("max_context_len", p.max_context_len, "must be >= 0");
  if (out_row_stride < p.max_context_len)
    reject("out_row_stride", out_row_stride, "smaller than max_context_len = " + std::to_string(p.max_context_len));
  if (p.table.batch != p.batch)
    reject("block_table.batch", p.table.batch, "expected batch = " + std::to_string(p.batch));
  if (p.batch > 0) {
    if (p.q == nullptr) reject("q", std::string("null"), "no query codes given");
    if (p.weights == nullptr) reject("weights", std::string("null"), "no weights given");
    if (p.context_lens == nullptr) reject("context_lens", std::string("null"), "no lengths given");
  }
  LogitsRegions g;
  g.rows = int64_t(p.batch) * p.next_n;
  g.cols = p.max_context_len;
  g.row_stride = out_row_stride;
  g.row.resize(size_t(g.rows));
  std::vector<int32_t> needed(size_t(p.batch), 0);  // tokens of b that some row reads
  int64_t any_needed = 0;
  for (int32_t b = 0; b < p.batch; ++b)
    for (int32_t j = 0; j < p.next_n; ++j) {
      const RowLens l = row_lens(p, b, j);
      if (l.L > p.max_context_len)
        reject(lens_name(p, b, j), p.lens_2d ? l.L : l.last,
               "row " + std::to_string(int64_t(b) * p.next_n + j) + " reads L_r = " + std::to_string(l.L) +
                   " tokens, more than max_context_len = " + std::to_string(p.max_context_len));
      g.row[size_t(int64_t(b) * p.next_n + j)] = RowRegion{0, l.L, std::min<int64_t>(std::max(l.L, l.last), g.cols)};
      needed[size_t(b)] = std::max<int32_t>(needed[size_t(b)], int32_t(l.L));
      any_needed += l.L;
    }
  if (any_needed > 0) {
    if (p.cache_bytes == nullptr) reject("cache_bytes", std::string("null"), "tokens are read but no cache given");
    if (p.table.data == nullptr) reject("block_table", std::string("null"), "tokens are read but no table given");
  }
  validate_table_for_lengths(p.table, needed, pl.page_size, p.cache.num_pages,
                             p.lens_2d ? "context_lens(max over next_n)" : "context_lens");
  const PagedView view{p.cache, p.table};
  for (int32_t b = 0; read_scales && b < p.batch; ++b)
    for (int64_t s = 0; s < needed[size_t(b)]; ++s) {
      const float ks = load_scale(p.cache_bytes, view.scale_byte(b, s, 0));
      if (!std::isfinite(ks)) {
        const TokenAddress a = view.token(b, s);
        validate_scale(ks, "kscale(batch " + std::to_string(b) + ", token " + std::to_string(s) + "; page " +
                               std::to_string(a.page) + ", slot " + std::to_string(a.slot) + ")");
      }
    }
  return g;
}

namespace {
constexpr int64_t kTokensPerTile = 128;
}

void paged_mqa_logits(const PagedLogitsProblem& p, float* out, int64_t out_row_stride) {
  const LogitsRegions g = paged_logits_regions(p, out_row_stride);
  if (p.clean_logits) clean_outside_valid(g, out);
  const int32_t H = p.heads, D = p.cache.page.head_dim, nn = p.next_n;
  // Work items: (sequence b, tile of kTokensPerTile tokens of [0, max_j L_r)).
  std::vector<int64_t> first_item(size_t(p.batch) + 1, 0);
  for (int32_t b = 0; b < p.batch; ++b) {
    int64_t L = 0;
    for (int32_t j = 0; j < nn; ++j) L = std::max(L, g.row[size_t(int64_t(b) * nn + j)].valid_end);
    first_item[size_t(b) + 1] = first_item[size_t(b)] + (L + kTokensPerTile - 1) / kTokensPerTile;
  }
  const double* dec = fp8_to_f64_table(p.encoding);
  const PagedView view{p.cache, p.table};
  parallel_for(first_item.back(), [&](int64_t item, Scratch& sc) {
    const int32_t b = int32_t(std::upper_bound(first_item.begin(), first_item.end(), item) - first_item.begin() - 1);
    const int64_t tok0 = (item - first_item[size_t(b)]) * kTokensPerTile;
    int64_t L = 0;
    std::vector<TileRow> rows(static_cast<size_t>(nn));
    for (int32_t j = 0; j < nn; ++j) {
      const int64_t r = int64_t(b) * nn + j;
      rows[size_t(j)] = TileRow{out + r * out_row_stride, p.weights + r * H, 0, g.row[size_t(r)].valid_end};
      L = std::max(L, g.row[size_t(r)].valid_end);
    }
    const int64_t T = std::min(kTokensPerTile, L - tok0);
    // Decode q rows of b once per tile, and the tile's k through the addressing library.
    sc.q.resize(size_t(int64_t(nn) * H * D));
    const uint8_t* qb = p.q + int64_t(b) * nn * H * D;
    for (size_t i = 0; i < sc.q.size(); ++i) sc.q[i] = dec[qb[i]];
    sc.k.resize(size_t(T * D));
    sc.kscale.resize(size_t(T));
    // Both page layouts keep runs of 16 bytes (d = 16i .. 16i+15) contiguous: ask the layout for
    // the start of each run only.
    const int32_t run = D % kShuffleTile == 0 ? kShuffleTile : 1;
    for (int64_t x = 0; x < T; ++x) {
      const TokenAddress a = view.token(b, tok0 + x);
      double* kx = sc.k.data() + x * D;
      for (int32_t d0 = 0; d0 < D; d0 += run) {
        const uint8_t* src = p.cache_bytes + p.cache.value_byte(a.page, a.slot, d0);
        for (int32_t i = 0; i < run; ++i) kx[d0 + i] = dec[src[i]];
      }
      sc.kscale[size_t(x)] = load_scale(p.cache_bytes, p.cache.scale_byte(a.page, a.slot, 0));
    }
    score_tile(p.profile, sc.q.data(), nn, H, D, sc.k.data(), sc.kscale.data(), T, tok0, rows.data(), sc);
  });
}

}  // namespace mqa
