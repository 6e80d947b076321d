// Descriptor -> tensors. The pool is represented twice: `cache` holds the pages the case uses
// (compact ids; identical to the whole pool when it is small), and make_pool() lays them out at
// their physical ids in a buffer of num_pages * page_stride bytes for a kernel. The reference
// always runs on the compact cache: renaming pages changes no logit (a tested property), and
// it lets a 4 GiB pool with page ids >= 65,536 cost a few MB.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "case_values.hpp"
#include "mqa/case.hpp"
#include "mqa/validate.hpp"

namespace mqa {

using namespace casegen;

namespace {

// What one case may hold, checked before anything is allocated (a descriptor is user input).
// Sizes are estimated in double, so that no product of two int32 fields can overflow here.
inline constexpr int64_t kMaxCaseTokens = int64_t(1) << 26;   // written tokens (deployed: 256 x 160K = 41M)
inline constexpr int64_t kMaxPadSlots = int64_t(1) << 20;     // padding slots mixed into the mapping
inline constexpr int64_t kMaxPoolBytes = int64_t(1) << 46;    // address space of a (sparse) pool
inline constexpr int64_t kMaxPageStride = int64_t(1) << 32;

// Bytes one case may allocate (estimate of the big tensors): MQA_CASE_BYTES_LIMIT, default 8 GiB.
double case_bytes_limit() {
  if (const char* e = std::getenv("MQA_CASE_BYTES_LIMIT")) {
    char* end = nullptr;
    const double v = std::strtod(e, &end);
    if (end != e && *end == '\0' && v > 0) return v;
    reject("MQA_CASE_BYTES_LIMIT", std::string(e), "must be a positive number of bytes");
  }
  return double(int64_t(8) << 30);
}

void check_case_size(const CaseDescriptor& d) {
  if (d.lens.empty()) reject("lens", std::string("[]"), "a case needs at least one sequence");
  double tokens = 0, longest = 0;
  for (int32_t l : d.lens) { tokens += l; longest = std::max(longest, double(l)); }
  if (d.lens_2d) tokens /= double(d.next_n);  // at most: a sequence writes its longest row
  if (tokens > double(kMaxCaseTokens))
    reject("lens", std::to_string(int64_t(tokens)) + " tokens", "a case may write at most " + std::to_string(kMaxCaseTokens));
  if (d.pad_slots > kMaxPadSlots) reject("pad_slots", d.pad_slots, "must be <= " + std::to_string(kMaxPadSlots));
  if (d.pool_pages > std::numeric_limits<int32_t>::max())
    reject("pages", d.pool_pages, "block-table entries are int32: at most 2^31 - 1 pages");
  if (d.page_stride > kMaxPageStride) reject("stride", d.page_stride, "must be <= 2^32 bytes");
  if (double(d.pool_pages) * double(d.page_stride) > double(kMaxPoolBytes))
    reject("pages", d.pool_pages, "pages * stride = " + std::to_string(double(d.pool_pages) * double(d.page_stride)) +
                                      " bytes is past the 2^46-byte address space a pool may take");
  const double batch = d.lens_2d ? double(d.lens.size()) / double(d.next_n) : double(d.lens.size());
  const double rows = d.op == CaseOp::ragged_logits ? double(d.M) : batch * double(d.next_n);
  const double cols = std::max(double(d.max_context_len), d.op == CaseOp::ragged_logits ? tokens : longest) + d.out_pad;
  const double logits = rows * cols * 4 * 3;                                     // expected, actual, bound
  const double topk = rows * double(d.topk) * 4 * 2;                              // expected, actual
  const double table = batch * (double(d.max_blocks) + double(d.table_pad)) * 4;
  const double values = (tokens + double(d.pad_slots)) * double(d.head_dim) * 8;  // k source, codes, gathered
  const double bytes = logits + topk + table + values;
  const char* field = logits >= std::max({topk, table, values}) ? (d.out_pad > d.max_context_len ? "out_pad" : "max_ctx")
                      : topk >= std::max(table, values)         ? "topk"
                      : table >= values                          ? "max_blocks"
                                                                 : "lens";
  if (bytes > case_bytes_limit())
    reject(field, std::to_string(int64_t(bytes)) + " bytes",
           "the case would allocate more than MQA_CASE_BYTES_LIMIT = " + std::to_string(int64_t(case_bytes_limit())) +
               " bytes (rows " + std::to_string(int64_t(rows)) + " x columns " + std::to_string(int64_t(cols)) +
               ", topk " + std::to_string(d.topk) + ", table " + std::to_string(int64_t(batch)) + " x " +
               std::to_string(int64_t(d.max_blocks) + d.table_pad) + ")");
}

void check_descriptor(const CaseDescriptor& d) {
  if (d.page_size < 1) reject("B", d.page_size, "must be >= 1");
  if (d.head_dim < 1) reject("D", d.head_dim, "must be >= 1");
  if (d.heads < 1) reject("H", d.heads, "must be >= 1");
  if (d.next_n < 1) reject("next_n", d.next_n, "must be >= 1");
  if (d.lens_2d && d.op != CaseOp::paged_logits) reject("lens", std::string("2d"), "2-D lens exist only for paged_logits");
  if (d.lens_2d && d.lens.size() % size_t(d.next_n))
    reject("lens", d.lens.size(), "a 2-D list needs a multiple of next_n = " + std::to_string(d.next_n) + " entries");
  for (size_t i = 0; i < d.lens.size(); ++i)
    if (d.lens[i] < 0) reject("lens[" + std::to_string(i) + "]", d.lens[i], "negative length");
  if (d.pool_pages < 0) reject("pages", d.pool_pages, "must be >= 0");
  if (d.page_stride < 0) reject("stride", d.page_stride, "must be >= 0 (0 = natural)");
  if (d.max_blocks < 0) reject("max_blocks", d.max_blocks, "must be >= 0 (0 = auto)");
  if (d.table_pad < 0) reject("tpad", d.table_pad, "must be >= 0");
  if (d.pad_slots < 0) reject("pad_slots", d.pad_slots, "must be >= 0");
  if (d.max_context_len < 0) reject("max_ctx", d.max_context_len, "must be >= 0 (0 = auto)");
  if (d.out_pad < 0) reject("out_pad", d.out_pad, "must be >= 0");
  if (d.M < 0) reject("M", d.M, "must be >= 0");
  if (d.topk < 1) reject("topk", d.topk, "must be >= 1");
  if (d.op == CaseOp::ragged_logits && d.quant_block != d.head_dim)
    reject("Qb", d.quant_block, "the logits ops need Qb == D = " + std::to_string(d.head_dim));
  check_case_size(d);
}

// Tokens written per sequence: everything any row of the sequence may read.
std::vector<int32_t> written_lengths(const CaseDescriptor& d, int32_t batch) {
  std::vector<int32_t> w(size_t(batch), 0);
  for (int32_t b = 0; b < batch; ++b) {
    if (!d.lens_2d) { w[size_t(b)] = d.lens[size_t(b)]; continue; }
    for (int32_t j = 0; j < d.next_n; ++j) w[size_t(b)] = std::max(w[size_t(b)], d.lens[size_t(b * d.next_n + j)]);
  }
  return w;
}

// K distinct page ids in [0, pool): half of the draws come from the top 4K ids so that a pool
// past 65,536 pages really uses ids past 65,536.
std::vector<int32_t> draw_pages(const CounterRng& rng, int64_t K, int64_t pool) {
  std::vector<int32_t> ids;
  ids.reserve(size_t(K));
  if (2 * K > pool) {  // dense use of the pool: a Fisher-Yates prefix
    std::vector<int32_t> all(static_cast<size_t>(pool));
    std::iota(all.begin(), all.end(), 0);
    for (int64_t i = 0; i < K; ++i) {
      const int64_t j = i + int64_t(rng.u64(kStreamTable, uint64_t(i)) % uint64_t(pool - i));
      std::swap(all[size_t(i)], all[size_t(j)]);
      ids.push_back(all[size_t(i)]);
    }
    return ids;
  }
  std::unordered_set<int32_t> seen;
  const uint64_t top = uint64_t(std::min<int64_t>(pool, 4 * K));
  for (uint64_t n = 0; int64_t(ids.size()) < K; ++n) {
    const uint64_t r = rng.u64(kStreamTable, n);
    const int64_t id = (r & 1) ? pool - 1 - int64_t((r >> 1) % top) : int64_t((r >> 1) % uint64_t(pool));
    if (seen.insert(int32_t(id)).second) ids.push_back(int32_t(id));
  }
  return ids;
}

// What an engine leaves in table entries nobody needs: -1, stale ids, garbage.
int32_t stale_entry(const CounterRng& rng, uint64_t index, int64_t pool) {
  const uint32_t r = rng.u32(kStreamStale, index);
  switch (r & 3) {
    case 0: return -1;
    case 1: return pool > 0 ? int32_t((r >> 2) % uint32_t(pool)) : -1;
    case 2: return int32_t(0x7FFFFFF0);
    default: return int32_t(pool);  // one past the pool
  }
}

}  // namespace

CaseTensors materialize(const CaseDescriptor& din, bool expected) {
  check_descriptor(din);
  CaseTensors t;
  t.desc = din;
  CaseDescriptor& d = t.desc;
  const CounterRng rng{d.seed};
  const int32_t batch = d.batch();
  t.batch = batch;
  t.lens = d.lens;
  t.written = written_lengths(d, batch);
  const int32_t B = d.page_size;

  // ---- table shape and pool --------------------------------------------------------------
  std::vector<int64_t> needed(static_cast<size_t>(batch));
  int64_t K = 0, most = 0;
  for (int32_t b = 0; b < batch; ++b) {
    needed[size_t(b)] = (int64_t(t.written[size_t(b)]) + B - 1) / B;
    K += needed[size_t(b)];
    most = std::max(most, needed[size_t(b)]);
  }
  if (d.max_blocks == 0) d.max_blocks = int32_t(most);
  t.table_row_stride = int64_t(d.max_blocks) + d.table_pad;
  if (d.pool_pages == 0) d.pool_pages = std::max<int64_t>(K, 1);
  const PageLayout page{d.layout, B, d.head_dim, d.quant_block};
  validate_page_layout(page);
  if (d.page_stride == 0) d.page_stride = page.natural_page_bytes();
  t.pool = PagedCacheLayout{page, d.page_stride, d.pool_pages};
  validate_cache(t.pool);
  t.sparse_pool = t.pool.total_bytes() > kDensePoolLimit;

  if (!d.table.empty()) {
    if (int64_t(d.table.size()) != int64_t(batch) * t.table_row_stride)
      reject("table", d.table.size(), "expected batch * (max_blocks + tpad) = " +
                                          std::to_string(int64_t(batch) * t.table_row_stride) + " entries");
    t.block_table = d.table;
  } else {
    if (K > d.pool_pages)
      reject("pages", d.pool_pages, "the lengths need " + std::to_string(K) + " distinct pages");
    for (int32_t b = 0; b < batch; ++b)
      if (needed[size_t(b)] > d.max_blocks)
        reject("max_blocks", d.max_blocks, "sequence " + std::to_string(b) + " needs " +
                                               std::to_string(needed[size_t(b)]) + " pages");
    const std::vector<int32_t> ids = draw_pages(rng, K, d.pool_pages);
    t.block_table.assign(size_t(int64_t(batch) * t.table_row_stride), 0);
    size_t next = 0;
    for (int32_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < t.table_row_stride; ++i) {
        const size_t e = size_t(b * t.table_row_stride + i);
        t.block_table[e] = i < needed[size_t(b)] ? ids[next++] : stale_entry(rng, e, d.pool_pages);
      }
  }
  const BlockTableView phys{t.block_table.data(), batch, d.max_blocks, t.table_row_stride};
  validate_table_for_lengths(phys, t.written, B, d.pool_pages, d.lens_2d ? "lens (per-sequence maximum)" : "lens");

  // ---- compact pool: the pages the case uses -----------------------------------------------
  std::unordered_map<int64_t, int32_t> compact_of;
  if (t.sparse_pool) {
    for (int32_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < needed[size_t(b)]; ++i) {
        const int64_t p = phys.at(b, i);
        if (compact_of.emplace(p, int32_t(t.page_ids.size())).second) t.page_ids.push_back(p);
      }
    // The used pages are touched (the rest of the mapping costs nothing): they count against
    // the case's allocation limit, so a deployed tier (B=64 x 32K tokens: 277 MB) fits.
    if (double(t.page_ids.size()) * double(d.page_stride) > case_bytes_limit())
      reject("pages", d.pool_pages, "a sparse pool may touch at most MQA_CASE_BYTES_LIMIT = " +
                                        std::to_string(int64_t(case_bytes_limit())) + " bytes of pages; this case uses " +
                                        std::to_string(t.page_ids.size()) + " pages of " + std::to_string(d.page_stride) +
                                        " bytes");
    t.block_table_compact.assign(t.block_table.size(), -1);
    for (size_t e = 0; e < t.block_table.size(); ++e)
      if (const auto it = compact_of.find(t.block_table[e]); it != compact_of.end()) t.block_table_compact[e] = it->second;
  } else {
    t.page_ids.resize(size_t(d.pool_pages));
    std::iota(t.page_ids.begin(), t.page_ids.end(), int64_t(0));
    t.block_table_compact = t.block_table;
  }
  t.cache = KCache(PagedCacheLayout{page, d.page_stride, int64_t(t.page_ids.size())}, kCacheSentinel);
  const BlockTableView compact{t.block_table_compact.data(), batch, d.max_blocks, t.table_row_stride};

  // ---- slot mapping (every token a row may read, once) plus padding tokens -----------------
  std::unordered_set<int64_t> slot_seen;
  std::vector<std::pair<int64_t, int64_t>> tokens;  // (physical slot, compact slot)
  for (int32_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < t.written[size_t(b)]; ++s) {
      const int64_t ps = int64_t(phys.at(b, s / B)) * B + s % B;
      if (slot_seen.insert(ps).second) tokens.emplace_back(ps, int64_t(compact.at(b, s / B)) * B + s % B);
    }
  for (int32_t i = 0; i < d.pad_slots; ++i) {  // padding tokens at seeded positions
    const size_t at = size_t(rng.below(kStreamPadSlots, uint64_t(i), uint32_t(tokens.size() + 1)));
    tokens.insert(tokens.begin() + std::ptrdiff_t(at), {-1, -1});
  }
  const int64_t T = int64_t(tokens.size()), D = d.head_dim;
  for (const auto& [ps, cs] : tokens) { t.slots.push_back(ps); t.slots_compact.push_back(cs); }

  // ---- K source and the write --------------------------------------------------------------
  t.cache_from_source = d.op == CaseOp::quant_cache || (d.dist != ValueDist::friendly && d.dist != ValueDist::exact_dot);
  const QuantParams qp{d.quant, d.encoding, d.ue8m0};
  if (t.cache_from_source) {
    fill_k_source(d, T, t.k);
    quantize_and_cache(t.k, t.slots_compact, qp, t.cache);
  } else {  // friendly / exact_dot: small-integer codes and their scales stored directly; the source
            // is their exact dequantised value (a caller re-quantising it gets other codes)
    t.k.assign(size_t(T * D), 0.0f);
    std::vector<uint8_t> codes(static_cast<size_t>(D));
    std::vector<float> scales(size_t(D / d.quant_block));
    for (int64_t i = 0; i < T; ++i) {
      friendly_token(d, i, codes.data(), scales.data());
      for (int64_t j = 0; j < D; ++j)
        t.k[size_t(i * D + j)] = fp8_decode(codes[size_t(j)], d.encoding) * scales[size_t(j / d.quant_block)];
      if (t.slots_compact[size_t(i)] < 0) continue;
      const int64_t p = t.cache.layout.slot_page(t.slots_compact[size_t(i)]);
      const int32_t s = t.cache.layout.slot_in_page(t.slots_compact[size_t(i)]);
      for (int32_t j = 0; j < d.head_dim; ++j) t.cache.set_value_code(p, s, j, codes[size_t(j)]);
      for (int32_t q = 0; q < page.scales_per_token(); ++q) t.cache.set_scale(p, s, q, scales[size_t(q)]);
    }
  }
  t.k_bf16.resize(t.k.size());
  for (size_t i = 0; i < t.k.size(); ++i) t.k_bf16[i] = bf16_encode(t.k[i]);

  // ---- gather (gather's expected output; ragged's k) ---------------------------------------
  const std::vector<int32_t>& glens = d.op == CaseOp::paged_logits ? t.written : t.lens;
  t.gathered = gather_k_cache(t.cache, compact, glens);

  // ---- logits inputs -----------------------------------------------------------------------
  if (d.op == CaseOp::paged_logits) {
    t.rows = int64_t(batch) * d.next_n;
    if (d.max_context_len == 0)
      d.max_context_len = std::max(1, *std::max_element(t.written.begin(), t.written.end()));
    t.cols = d.max_context_len;
  } else if (d.op == CaseOp::ragged_logits) {
    t.rows = d.M;
    t.cols = t.gathered.rows;
    const int32_t N = int32_t(t.gathered.rows);
    t.kscale.resize(size_t(N));
    if (N > 0) std::memcpy(t.kscale.data(), t.gathered.scales.data(), size_t(N) * 4);  // no memcpy of null, even of 0 bytes (UB)
    if (d.ranges == RangeGen::explicit_list) {
      t.ks = d.ks;
      t.ke = d.ke;
    } else {
      std::vector<int64_t> cu(size_t(batch) + 1, 0);
      for (int32_t b = 0; b < batch; ++b) cu[size_t(b) + 1] = cu[size_t(b)] + t.lens[size_t(b)];
      for (int32_t i = 0; i < d.M; ++i) {
        int64_t s = 0, e = N;
        if (d.ranges == RangeGen::random) {
          s = rng.below(kStreamRanges, uint64_t(2 * i), uint32_t(N + 1));
          e = s + rng.below(kStreamRanges, uint64_t(2 * i + 1), uint32_t(N - s + 1));
        } else if (d.ranges == RangeGen::causal && batch > 0) {
          // rows split evenly over sequences; within one, the last rows of a causal prefill
          const int32_t b = int32_t(int64_t(i) * batch / d.M);
          int32_t first = 0;
          while (int64_t(first) * batch / d.M < b) ++first;
          int32_t count = first;
          while (count < d.M && int64_t(count) * batch / d.M == b) ++count;
          count -= first;
          s = cu[size_t(b)];
          e = std::max(s, cu[size_t(b) + 1] - (count - 1 - (i - first)));
        }
        t.ks.push_back(int32_t(s));
        t.ke.push_back(int32_t(e));
      }
    }
  }
  if (d.op == CaseOp::paged_logits || d.op == CaseOp::ragged_logits) {
    fill_q(d, t.rows, t.q);
    fill_weights(d, t.rows, t.weights);
    t.logits_row_stride = t.cols + d.out_pad;
    if (expected) {
      compute_expected_logits(t);
    } else {  // still validate the problem, so that a valid descriptor means a valid case
      t.regions = d.op == CaseOp::paged_logits ? paged_logits_regions(t.paged_problem(), t.logits_row_stride)
                                               : ragged_logits_regions(t.ragged_problem(), t.logits_row_stride);
    }
  }
  return t;
}

}  // namespace mqa
