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
inline constexpr int64_t kMaxCaseRows = int64_t(1) << 20;     // logits rows (batch * next_n, or M)
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
  const bool logits_op = d.op == CaseOp::paged_logits || d.op == CaseOp::ragged_logits;
  const double batch = double(d.batch());
  // written tokens: a 2-D sequence writes its longest row (not the mean of its rows)
  double tokens = 0, longest = 0;
  for (size_t i = 0; i < d.lens.size(); i += d.lens_2d ? size_t(d.next_n) : 1) {
    const size_t row_end = d.lens_2d ? i + size_t(d.next_n) : i + 1;
    const double l = *std::max_element(d.lens.begin() + std::ptrdiff_t(i), d.lens.begin() + std::ptrdiff_t(row_end));
    tokens += l;
    longest = std::max(longest, l);
  }
  if (tokens > double(kMaxCaseTokens))
    reject("lens", std::to_string(int64_t(tokens)) + " tokens", "a case may write at most " + std::to_string(kMaxCaseTokens));
  if (d.pad_slots > kMaxPadSlots) reject("pad_slots", d.pad_slots, "must be <= " + std::to_string(kMaxPadSlots));
  if (d.pool_pages > std::numeric_limits<int32_t>::max())
    reject("pages", d.pool_pages, "block-table entries are int32: at most 2^31 - 1 pages");
  if (d.page_stride > kMaxPageStride) reject("stride", d.page_stride, "must be <= 2^32 bytes");
  if (double(d.pool_pages) * double(d.page_stride) > double(kMaxPoolBytes))
    reject("pages", d.pool_pages, "pages * stride = " + std::to_string(double(d.pool_pages) * double(d.page_stride)) +
                                      " bytes is past the 2^46-byte address space a pool may take");
  // The field that makes the rows: M (ragged), else next_n or the number of sequences.
  const char* rows_field = d.op == CaseOp::ragged_logits ? "M" : double(d.next_n) > batch ? "next_n" : "lens";
  const double rows = !logits_op ? 0 : d.op == CaseOp::ragged_logits ? double(d.M) : batch * double(d.next_n);
  if (rows > double(kMaxCaseRows))
    reject(rows_field, std::to_string(int64_t(rows)) + " logits rows", "a case may have at most " + std::to_string(kMaxCaseRows));
  const double auto_cols = d.op == CaseOp::ragged_logits ? tokens : longest;
  const double cols = std::max(double(d.max_context_len), auto_cols) + d.out_pad;
  const char* cols_field = d.out_pad > std::max(double(d.max_context_len), auto_cols) ? "out_pad"
                           : d.max_context_len > auto_cols                             ? "max_ctx"
                                                                                       : "lens";
  // Each big tensor with the field that makes it big (the larger of its factors).
  struct Term {
    double bytes;
    const char* field;
  };
  const double width = double(d.max_blocks) + double(d.table_pad);
  const double per_token_scales = d.quant_block > 0 ? double(d.head_dim) / double(d.quant_block) : double(d.head_dim);
  const double row_inputs = double(d.heads) * (double(d.head_dim) + 4) + 8;  // q codes, weights, ks/ke per row
  const Term terms[] = {
      {rows * cols * 4 * 3, rows > cols ? rows_field : cols_field},                          // logits: expected, actual, bound
      {rows * double(d.topk) * 4 * 2, rows > double(d.topk) ? rows_field : "topk"},        // top-k: expected, actual
      {rows * row_inputs, rows > row_inputs ? rows_field : d.heads >= d.head_dim ? "H" : "D"},  // q, weights
      {batch * width * 4, batch > width ? "lens" : d.table_pad > d.max_blocks ? "tpad" : "max_blocks"},  // block table
      // per token: k source (fp32 + bf16), gathered codes and scales, the slot bookkeeping
      {(tokens + double(d.pad_slots)) * (double(d.head_dim) * 7 + 4 * per_token_scales + 96),
       d.pad_slots > tokens ? "pad_slots" : tokens > d.head_dim ? "lens" : "D"},
  };
  double bytes = 0;
  const Term* worst = &terms[0];
  for (const Term& t : terms) {
    bytes += t.bytes;
    if (t.bytes > worst->bytes) worst = &t;
  }
  if (bytes > case_bytes_limit())
    reject(worst->field, std::to_string(int64_t(bytes)) + " bytes",
           "the case would allocate more than MQA_CASE_BYTES_LIMIT = " + std::to_string(int64_t(case_bytes_limit())) +
               " bytes (rows " + std::to_string(int64_t(rows)) + " x columns " + std::to_string(int64_t(cols)) +
               ", topk " + std::to_string(d.topk) + ", H " + std::to_string(d.heads) + " x D " + std::to_string(d.head_dim) +
               ", table " + std::to_string(int64_t(batch)) + " x " + std::to_string(int64_t(width)) + ", tokens " +
               std::to_string(int64_t(tokens)) + " + " + std::to_string(d.pad_slots) + " padding)");
}

// The value keys, where docs/numerics.md defines a result (and where they change a tensor).
void check_special_values(const CaseDescriptor& d) {
  const bool logits_op = d.op == CaseOp::paged_logits || d.op == CaseOp::ragged_logits;
  if (d.nan_codes && d.op == CaseOp::quant_cache)
    reject("nan_codes", std::string("1"), "quant_cache reads a K source, and a NaN there has no defined scale (the "
                                          "reference rejects it); NaN codes exist in q and in the cache of the other ops");
  if (d.odd_weights && !logits_op) reject("odd_weights", std::string("1"), "only the logits ops have weights");
  if (d.odd_scales && d.op == CaseOp::quant_cache)
    reject("odd_scales", std::string("1"), "quant_cache computes the scales; odd scales exist in the cache of the other ops");
  const bool has_source = d.op == CaseOp::quant_cache || (d.dist != ValueDist::friendly && d.dist != ValueDist::exact_dot);
  if (!has_source && d.ksrc != KSource::bf16)
    reject("ksrc", std::string(to_string(d.ksrc)), std::string("dist=") + to_string(d.dist) + " writes the codes of " +
                                                       to_string(d.op) + " directly: the case has no K source");
  if (!has_source && d.amax != AmaxEdge::free)
    reject("amax", std::string(to_string(d.amax)), std::string("dist=") + to_string(d.dist) + " writes the codes of " +
                                                       to_string(d.op) + " directly: the case has no K source");
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
  check_special_values(d);
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

// Where `pads` padding tokens land among `real` tokens: pad i is inserted at position
// below(T + i + 1) of the sequence as it stands after pads 0..i-1 (the definition every golden
// file was generated with). Computed in O((T + P) log(T + P)), not by P vector inserts (O(T P)):
// walking the pads backwards, pad i takes the at_i-th slot (0-based) that no later pad took,
// found by descending a Fenwick tree of free slots.
std::vector<char> padding_positions(const CounterRng& rng, int64_t real, int64_t pads) {
  const int64_t n = real + pads;
  std::vector<int32_t> tree(size_t(n) + 1, 0);  // Fenwick tree over slots 1..n, each free (1)
  for (int64_t i = 1; i <= n; ++i) {
    tree[size_t(i)] += 1;
    if (const int64_t up = i + (i & -i); up <= n) tree[size_t(up)] += tree[size_t(i)];
  }
  int64_t top = 1;
  while (top * 2 <= n) top *= 2;
  std::vector<char> is_pad(size_t(n), 0);
  for (int64_t i = pads - 1; i >= 0; --i) {
    int64_t rank = rng.below(kStreamPadSlots, uint64_t(i), uint32_t(real + i + 1));  // free slots to skip
    int64_t pos = 0;
    for (int64_t step = top; step > 0; step /= 2)
      if (pos + step <= n && tree[size_t(pos + step)] <= rank) { pos += step; rank -= tree[size_t(pos)]; }
    is_pad[size_t(pos)] = 1;  // slot pos + 1 (1-based) is the (at_i + 1)-th free one
    for (int64_t j = pos + 1; j <= n; j += j & -j) tree[size_t(j)] -= 1;
  }
  return is_pad;
}

// NaN codes and odd scales written over the cache after the write (logits ops and gather),
// then the gather redone. The cache is no longer quantise-and-cache(k): the case's `k` becomes
// the dequantised cache (as for friendly codes) and no K source is stored for it.
void plant_in_cache(CaseTensors& t, const BlockTableView& compact) {
  const CaseDescriptor& d = t.desc;
  const int32_t B = d.page_size;
  // compact slots no row reads (ragged: outside every [ks, ke)); paged rows read every written token
  std::vector<char> unread(t.slots_compact.size(), 0);
  if (d.op == CaseOp::ragged_logits) {
    std::vector<int32_t> cover(size_t(t.gathered.rows) + 1, 0);
    for (size_t i = 0; i < t.ks.size(); ++i)
      if (t.ks[i] < t.ke[i]) { ++cover[size_t(t.ks[i])]; --cover[size_t(t.ke[i])]; }
    std::unordered_set<int64_t> read;
    int64_t row = 0;
    int32_t depth = 0;
    for (int32_t b = 0; b < t.batch; ++b)
      for (int64_t s = 0; s < t.lens[size_t(b)]; ++s, ++row) {
        depth += cover[size_t(row)];
        if (depth > 0) read.insert(int64_t(compact.at(b, s / B)) * B + s % B);
      }
    for (size_t i = 0; i < unread.size(); ++i) unread[i] = t.slots_compact[i] >= 0 && !read.count(t.slots_compact[i]);
  }
  plant_cache_specials(d, t.slots_compact, unread, t.cache.ref());
  t.cache_from_source = false;
  t.k_bits16.clear();
  const int64_t D = d.head_dim;
  for (size_t i = 0; i < t.slots_compact.size(); ++i) {
    const int64_t cs = t.slots_compact[i];
    if (cs < 0) continue;
    const int64_t p = t.cache.layout.slot_page(cs);
    const int32_t s = t.cache.layout.slot_in_page(cs);
    for (int32_t j = 0; j < D; ++j)
      t.k[i * size_t(D) + size_t(j)] = fp8_decode(t.cache.value_code(p, s, j), d.encoding) * t.cache.scale(p, s, j / d.quant_block);
  }
  const std::vector<int32_t>& glens = d.op == CaseOp::paged_logits ? t.written : t.lens;
  t.gathered = gather_k_cache(t.cache.view(), compact, glens);
  if (d.op == CaseOp::ragged_logits && t.gathered.rows > 0)
    std::memcpy(t.kscale.data(), t.gathered.scales.data(), size_t(t.gathered.rows) * 4);
}

// The case's shape on the host: the table, the pool and its compact twin, the slot mapping.
// `host_cache`: the compact cache is allocated (sentinel-filled) for the values to be written
// into; without it only its layout is set (the values are generated elsewhere: the device).
void lay_out(CaseTensors& t, bool host_cache) {
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
  const PagedCacheLayout compact_layout{page, d.page_stride, int64_t(t.page_ids.size())};
  if (host_cache) t.cache = KCache(compact_layout, kCacheSentinel);
  else t.cache.layout = compact_layout;
  const BlockTableView compact{t.block_table_compact.data(), batch, d.max_blocks, t.table_row_stride};

  // ---- slot mapping (every token a row may read, once) plus padding tokens -----------------
  // A drawn table (perm) holds distinct pages, so no slot repeats and the set (about 50 ns a
  // token, 0.1 s of a 2M-token deployed case) is needed only for an explicit table.
  const bool slots_distinct = d.table.empty();
  std::unordered_set<int64_t> slot_seen;
  std::vector<std::pair<int64_t, int64_t>> tokens;  // (physical slot, compact slot)
  tokens.reserve(size_t(std::accumulate(t.written.begin(), t.written.end(), int64_t(0))));
  for (int32_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < t.written[size_t(b)]; ++s) {
      const int64_t ps = int64_t(phys.at(b, s / B)) * B + s % B;
      if (slots_distinct || slot_seen.insert(ps).second)
        tokens.emplace_back(ps, int64_t(compact.at(b, s / B)) * B + s % B);
    }
  if (d.pad_slots > 0) {  // padding tokens at seeded positions
    const std::vector<char> is_pad = padding_positions(rng, int64_t(tokens.size()), d.pad_slots);
    std::vector<std::pair<int64_t, int64_t>> mixed;
    mixed.reserve(is_pad.size());
    size_t next = 0;
    for (const char pad : is_pad) mixed.push_back(pad ? std::pair<int64_t, int64_t>{-1, -1} : tokens[next++]);
    tokens = std::move(mixed);
  }
  t.slots.reserve(tokens.size());
  t.slots_compact.reserve(tokens.size());
  for (const auto& [ps, cs] : tokens) { t.slots.push_back(ps); t.slots_compact.push_back(cs); }
  t.cache_from_source =
      d.op == CaseOp::quant_cache || (d.dist != ValueDist::friendly && d.dist != ValueDist::exact_dot);
}

// The logits shape of a paged case: rows, and the columns max_ctx makes.
void paged_shape(CaseTensors& t) {
  CaseDescriptor& d = t.desc;
  t.rows = int64_t(t.batch) * d.next_n;
  if (d.max_context_len == 0) d.max_context_len = std::max(1, *std::max_element(t.written.begin(), t.written.end()));
  t.cols = d.max_context_len;
  t.logits_row_stride = t.cols + d.out_pad;
}

}  // namespace

void check_case(const CaseDescriptor& d) { check_descriptor(d); }

CaseTensors materialize_layout(const CaseDescriptor& din) {
  check_descriptor(din);
  if (din.op != CaseOp::paged_logits)
    reject("op", std::string(to_string(din.op)), "materialize_layout lays out paged_logits cases only");
  CaseTensors t;
  t.desc = din;
  lay_out(t, false);
  t.inputs_on_host = false;
  paged_shape(t);
  // The regions check the shapes, lengths and table; the tensors live elsewhere, so a placeholder
  // address stands for pool, q and weights (read_scales = false reads none of them). The host
  // path's check of the k scales is the generator's to make (it counts non-finite ones).
  static const uint8_t placeholder[4] = {};
  const CaseBuffers b{.pool = placeholder,
                      .table = t.block_table.data(),
                      .lens = t.lens.data(),
                      .q = placeholder,
                      .weights = reinterpret_cast<const float*>(placeholder)};
  t.regions = paged_logits_regions(t.paged_problem(b), t.logits_row_stride, false);
  return t;
}

CaseTensors materialize(const CaseDescriptor& din, bool expected) {
  check_descriptor(din);
  CaseTensors t;
  t.desc = din;
  CaseDescriptor& d = t.desc;
  lay_out(t, true);
  const CounterRng rng{d.seed};
  const int32_t batch = t.batch;
  const PageLayout& page = t.pool.page;
  const BlockTableView compact{t.block_table_compact.data(), batch, d.max_blocks, t.table_row_stride};
  const int64_t T = t.num_tokens(), D = d.head_dim;

  // ---- K source and the write --------------------------------------------------------------
  const QuantParams qp{d.quant, d.encoding, d.ue8m0};
  if (t.cache_from_source) {
    fill_k_source(d, T, t.k);
    quantize_and_cache(t.k, t.slots_compact, qp, t.cache.ref());
  } else {  // friendly / exact_dot: small-integer codes and their scales stored directly; the source
            // is their exact dequantised value (a caller re-quantising it gets other codes)
    t.k.assign(size_t(T * D), 0.0f);
    std::vector<uint8_t> codes(static_cast<size_t>(D));
    std::vector<float> scales(size_t(D / d.quant_block));
    const ValueKeys v = value_keys(d);
    for (int64_t i = 0; i < T; ++i) {
      friendly_token(v, i, codes.data(), scales.data());
      for (int64_t j = 0; j < D; ++j)
        t.k[size_t(i * D + j)] = fp8_decode(codes[size_t(j)], d.encoding) * scales[size_t(j / d.quant_block)];
      if (t.slots_compact[size_t(i)] < 0) continue;
      const int64_t p = t.cache.layout.slot_page(t.slots_compact[size_t(i)]);
      const int32_t s = t.cache.layout.slot_in_page(t.slots_compact[size_t(i)]);
      for (int32_t j = 0; j < d.head_dim; ++j) t.cache.set_value_code(p, s, j, codes[size_t(j)]);
      for (int32_t q = 0; q < page.scales_per_token(); ++q) t.cache.set_scale(p, s, q, scales[size_t(q)]);
    }
  }
  if (t.cache_from_source && d.ksrc != KSource::fp32) {
    t.k_bits16.resize(t.k.size());
    for (size_t i = 0; i < t.k.size(); ++i) t.k_bits16[i] = d.ksrc == KSource::bf16 ? bf16_encode(t.k[i]) : fp16_encode(t.k[i]);
  }

  // ---- gather (gather's expected output; ragged's k) ---------------------------------------
  const std::vector<int32_t>& glens = d.op == CaseOp::paged_logits ? t.written : t.lens;
  t.gathered = gather_k_cache(t.cache.view(), compact, glens);

  // ---- logits inputs -----------------------------------------------------------------------
  if (d.op == CaseOp::paged_logits) {
    paged_shape(t);
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
          // (row r belongs to sequence floor(r * batch / M): the rows of b are
          // [ceil(b * M / batch), ceil((b + 1) * M / batch)), in O(1), not a scan of M per row)
          const int32_t b = int32_t(int64_t(i) * batch / d.M);
          const auto first_row = [&](int64_t seq) { return (seq * d.M + batch - 1) / batch; };
          const int32_t first = int32_t(first_row(b));
          const int32_t count = int32_t(std::min<int64_t>(d.M, first_row(b + 1)) - first);
          s = cu[size_t(b)];
          e = std::max(s, cu[size_t(b) + 1] - (count - 1 - (i - first)));
        }
        t.ks.push_back(int32_t(s));
        t.ke.push_back(int32_t(e));
      }
    }
  }
  if (d.nan_codes || d.odd_scales) plant_in_cache(t, compact);
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
