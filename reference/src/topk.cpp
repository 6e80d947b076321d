// Top-k in canonical order and the tie-aware set comparison.
#include "mqa/topk.hpp"

#include <algorithm>
#include <functional>
#include <sstream>

#include "mqa/validate.hpp"

namespace mqa {

namespace {

void validate_topk_args(const LogitsRegions& g, int32_t k) {
  if (k < 1) reject("k", k, "must be >= 1");
  if (int64_t(g.row.size()) != g.rows) reject("regions.row.size", g.row.size(), "expected rows = " + std::to_string(g.rows));
  for (int64_t r = 0; r < g.rows; ++r) {
    const RowRegion& rg = g.row[size_t(r)];
    if (rg.valid_begin < 0 || rg.valid_begin > rg.valid_end || rg.valid_end > g.cols)
      reject("regions.row[" + std::to_string(r) + "].valid_end", rg.valid_end, "outside [valid_begin, cols]");
  }
}

// Sort key: canonical-order key high, bit-inverted index low; sorting keys in DEScending order
// gives larger value first, then smaller index first.
uint64_t sort_key(float v, int64_t col) {
  return uint64_t(topk_order_key(v)) << 32 | (0xFFFFFFFFu - uint32_t(col));
}

std::string value_text(float x) {
  std::ostringstream o;
  o << x << " (0x" << std::hex << f32_bits(x) << ")";
  return o.str();
}

}  // namespace

std::vector<int32_t> topk_indices(const float* logits, const LogitsRegions& g, int32_t k) {
  validate_topk_args(g, k);
  std::vector<int32_t> out(size_t(g.rows) * size_t(k), -1);
  std::vector<uint64_t> keys;
  for (int64_t r = 0; r < g.rows; ++r) {
    const RowRegion& rg = g.row[size_t(r)];
    const float* row = logits + r * g.row_stride;
    keys.clear();
    for (int64_t c = rg.valid_begin; c < rg.valid_end; ++c) keys.push_back(sort_key(row[c], c));
    const size_t m = std::min(keys.size(), size_t(k));
    std::partial_sort(keys.begin(), keys.begin() + std::ptrdiff_t(m), keys.end(), std::greater<uint64_t>());
    for (size_t i = 0; i < m; ++i) out[size_t(r) * size_t(k) + i] = int32_t(0xFFFFFFFFu - uint32_t(keys[i]));
  }
  return out;
}

TopkCheck compare_topk(const float* logits, const LogitsRegions& g, std::span<const int32_t> expected_idx,
                       std::span<const int32_t> actual_idx, int32_t k) {
  validate_topk_args(g, k);
  const size_t want = size_t(g.rows) * size_t(k);
  if (expected_idx.size() != want) reject("expected_idx.size", expected_idx.size(), "expected rows * k = " + std::to_string(want));
  if (actual_idx.size() != want) reject("actual_idx.size", actual_idx.size(), "expected rows * k = " + std::to_string(want));
  TopkCheck res;
  auto fail = [&](int64_t r, int64_t pos, int32_t tok, const std::string& why) {
    res.ok = false;
    res.row = r;
    res.position = pos;
    res.token = tok;
    std::ostringstream o;
    o << "top-k row " << r << ", position " << pos << ", token " << tok << ": " << why;
    res.message = o.str();
    return res;
  };
  // The expected side (a golden file's) is input too: every index must be a valid column of its
  // row, or -1 padding, before any logit is read through it.
  for (int64_t r = 0; r < g.rows; ++r) {
    const RowRegion& rg = g.row[size_t(r)];
    const int64_t m = std::min<int64_t>(k, rg.valid_end - rg.valid_begin);
    for (int64_t p = 0; p < k; ++p) {
      const int32_t t = expected_idx[size_t(r * k + p)];
      const bool ok = p < m ? (t >= rg.valid_begin && t < rg.valid_end) : t == -1;
      if (!ok)
        reject("expected top-k[" + std::to_string(r) + "][" + std::to_string(p) + "]", t,
               p < m ? "must be a valid column of row " + std::to_string(r) + ", in [" + std::to_string(rg.valid_begin) +
                           ", " + std::to_string(rg.valid_end) + ")"
                     : "must be -1 (the row has only " + std::to_string(m) + " candidates)");
    }
  }
  std::vector<int32_t> exp_sorted, act_sorted;
  for (int64_t r = 0; r < g.rows; ++r) {
    res.rows_checked = r + 1;
    const RowRegion& rg = g.row[size_t(r)];
    const float* row = logits + r * g.row_stride;
    const int64_t m = std::min<int64_t>(k, rg.valid_end - rg.valid_begin);
    const int32_t* e = expected_idx.data() + r * k;
    const int32_t* a = actual_idx.data() + r * k;
    for (int64_t p = 0; p < k; ++p) {
      if (p >= m) {
        if (a[p] != -1) return fail(r, p, a[p], "expected -1 padding: the row has only " + std::to_string(m) + " candidates");
        continue;
      }
      if (a[p] < rg.valid_begin || a[p] >= rg.valid_end)
        return fail(r, p, a[p], "outside the row's valid columns [" + std::to_string(rg.valid_begin) + ", " +
                                    std::to_string(rg.valid_end) + ")");
    }
    exp_sorted.assign(e, e + m);
    act_sorted.assign(a, a + m);
    std::sort(exp_sorted.begin(), exp_sorted.end());
    std::sort(act_sorted.begin(), act_sorted.end());
    for (int64_t i = 1; i < m; ++i)
      if (act_sorted[size_t(i)] == act_sorted[size_t(i - 1)]) {
        const int64_t p = std::find(a, a + m, act_sorted[size_t(i)]) - a;
        return fail(r, p, act_sorted[size_t(i)], "duplicate token");
      }
    if (m == 0) continue;
    // The reference's boundary: the lowest-ranked value it kept (its k-th, or its last).
    uint32_t boundary = 0xFFFFFFFFu;
    for (int64_t i = 0; i < m; ++i) boundary = std::min(boundary, topk_order_key(row[e[i]]));
    const float boundary_value = row[e[m - 1]];
    for (int64_t p = 0; p < m; ++p)
      if (!std::binary_search(exp_sorted.begin(), exp_sorted.end(), a[p]) && topk_order_key(row[a[p]]) != boundary)
        return fail(r, p, a[p], "not in the reference top-k, and its logit " + value_text(row[a[p]]) +
                                    " does not equal the boundary value " + value_text(boundary_value));
    for (int64_t p = 0; p < m; ++p)
      if (!std::binary_search(act_sorted.begin(), act_sorted.end(), e[p]) && topk_order_key(row[e[p]]) != boundary)
        return fail(r, p, e[p], "reference token (position in the reference) missing, and its logit " +
                                    value_text(row[e[p]]) + " ranks above the boundary value " + value_text(boundary_value));
  }
  return res;
}

}  // namespace mqa
