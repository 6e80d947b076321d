// Range checks of a case's attributes and of the integers that index its data (case_ranges.hpp
// says which and why). Messages name the attribute or the element and its value; the Python
// reader (golden/python/mqa_golden_checks.py) words them the same.
#include "case_ranges.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "golden_schema.hpp"
#include "h5guard.hpp"

namespace mqa::golden {
namespace {

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

std::string str(int64_t v) { return std::to_string(v); }
std::string at1(const char* name, int64_t i) { return std::string(name) + "[" + str(i) + "]"; }
std::string at2(const char* name, int64_t i, int64_t j) { return at1(name, i) + "[" + str(j) + "]"; }

}  // namespace

void check_case_attributes(const CaseInfo& i, const std::string& file, const std::string& case_name) {
  auto fail = [&](const std::string& why) { throw GoldenError(file, case_name, "", why); };
  auto bad = [&](const char* name, int64_t v, const std::string& why) {
    fail(std::string("attribute ") + name + " = " + str(v) + ": " + why);
  };
  if (i.op != "quant_cache" && i.op != "gather" && !is_logits_op(i.op))
    fail("attribute op = '" + i.op + "': expected quant_cache, gather, paged_logits or ragged_logits");
  if (i.encoding != "e4m3fn" && i.encoding != "e4m3fnuz")
    fail("attribute encoding = '" + i.encoding + "': expected e4m3fn or e4m3fnuz");
  if (i.layout != "standard" && i.layout != "preshuffle16")
    fail("attribute layout = '" + i.layout + "': expected standard or preshuffle16");
  const bool logits = is_logits_op(i.op), paged = i.op == "paged_logits";
  const std::string none = " (a " + i.op + " case has none)";

  // The page layout (mqa/validate.hpp's validate_page_layout, with the file's names).
  if (i.page_size < 1) bad("page_size", i.page_size, "must be >= 1");
  if (i.head_dim < 1) bad("head_dim", i.head_dim, "must be >= 1");
  if (i.quant_block < 1 || i.head_dim % i.quant_block != 0)
    bad("quant_block", i.quant_block, "must be >= 1 and divide head_dim = " + str(i.head_dim));
  if (i.layout == "preshuffle16" && i.page_size % 16 != 0)
    bad("page_size", i.page_size, "the preshuffle16 layout needs a multiple of 16");
  if (i.layout == "preshuffle16" && i.head_dim % 16 != 0)
    bad("head_dim", i.head_dim, "the preshuffle16 layout needs a multiple of 16");
  // The pool: a page holds B tokens of D codes and 4 D / Qb scale bytes.
  const std::optional<int64_t> natural =
      checked_mul(i.page_size, int64_t(i.head_dim) + 4 * int64_t(i.head_dim / i.quant_block));
  if (i.page_stride < 1 || i.page_stride > kMaxPageStride)
    bad("page_stride", i.page_stride, "must be in [1, 2^32] bytes");
  if (!natural || i.page_stride < *natural)
    bad("page_stride", i.page_stride,
        "smaller than one page, page_size * (head_dim + 4 * head_dim / quant_block) = " +
            (natural ? str(*natural) : std::string("(overflows int64)")) + " bytes");
  if (i.page_stride % 4 != 0)
    bad("page_stride", i.page_stride, "must be a multiple of 4 (the fp32 scales stay aligned)");
  if (i.num_pages < 0 || i.num_pages > kMaxPages)
    bad("num_pages", i.num_pages, "must be in [0, 2^31 - 1] (block-table entries are int32)");
  const std::optional<int64_t> pool = checked_mul(i.num_pages, i.page_stride);
  if (!pool || *pool > kMaxPoolBytes)
    bad("num_pages", i.num_pages,
        "num_pages * page_stride = " + (pool ? str(*pool) : std::string("(overflows int64)")) +
            " bytes is past the 2^46 bytes a pool may take");

  // The problem: heads, query tokens, sequences, logits rows and columns, k.
  if (logits ? i.heads < 1 : i.heads != 0) bad("heads", i.heads, logits ? "must be >= 1" : "must be 0" + none);
  if (i.next_n < 1 || (!paged && i.next_n != 1))
    bad("next_n", i.next_n, paged ? "must be >= 1" : "must be 1 (only paged_logits has next_n > 1)");
  if (i.batch < 1) bad("batch", i.batch, "must be >= 1 (a case has at least one sequence)");
  if (i.lens_2d && !paged) bad("lens_2d", 1, "2-D lengths exist only for paged_logits");
  if (paged) {
    const std::optional<int64_t> rows = checked_mul(i.batch, i.next_n);
    if (!rows || i.rows != *rows)
      bad("rows", i.rows, "expected batch * next_n = " + str(int64_t(i.batch)) + " * " + str(int64_t(i.next_n)));
  }
  if (logits && (i.rows < 0 || i.rows > kMaxCaseRows)) bad("rows", i.rows, "must be in [0, 2^20] (logits rows)");
  if (!logits && i.rows != 0) bad("rows", i.rows, "must be 0" + none);
  if (logits) {
    if (i.logits_cols < 0 || i.logits_cols > kInt32Max) bad("logits_cols", i.logits_cols, "must be in [0, 2^31 - 1]");
    if (i.logits_row_stride < i.logits_cols || i.logits_row_stride > kInt32Max)
      bad("logits_row_stride", i.logits_row_stride, "must be in [logits_cols = " + str(i.logits_cols) + ", 2^31 - 1]");
    if (i.topk < 1) bad("topk", i.topk, "must be >= 1");
  } else {
    if (i.logits_cols != 0) bad("logits_cols", i.logits_cols, "must be 0" + none);
    if (i.logits_row_stride != 0) bad("logits_row_stride", i.logits_row_stride, "must be 0" + none);
    if (i.topk != 0) bad("topk", i.topk, "must be 0" + none);
  }
  if (i.cache_fill < 0 || i.cache_fill > 255) bad("cache_fill", i.cache_fill, "must be a byte, in [0, 255]");
  if (i.logits_storage != "dense" && i.logits_storage != "regions")
    fail("attribute logits_storage = '" + i.logits_storage + "': expected dense or regions");
  if (i.regions_storage() && !logits)
    fail("attribute logits_storage = 'regions': only the logits ops have logits" + none);
}

void check_case_values(const Case& c, const std::string& file) {
  const CaseInfo& i = c.info;
  auto fail = [&](const std::string& ds, const std::string& why) { throw GoldenError(file, c.name, ds, why); };

  // Stored pages: distinct physical ids of the pool.
  const auto ids = c.at("page_ids", file).view<int64_t>();
  for (size_t p = 0; p < ids.size(); ++p)
    if (ids[p] < 0 || ids[p] >= i.num_pages)
      fail("page_ids",
           at1("page_ids", int64_t(p)) + " = " + str(ids[p]) + ": outside [0, num_pages = " + str(i.num_pages) + ")");
  std::vector<int64_t> sorted(ids.begin(), ids.end());
  std::sort(sorted.begin(), sorted.end());
  if (auto d = std::adjacent_find(sorted.begin(), sorted.end()); d != sorted.end())
    fail("page_ids", "page " + str(*d) + " is stored twice");
  auto stored = [&](int64_t page) { return std::binary_search(sorted.begin(), sorted.end(), page); };
  auto not_stored = [&](int64_t page) {
    return page < 0 || page >= i.num_pages ? "outside [0, num_pages = " + str(i.num_pages) + ")"
                                           : std::string("not a stored page (page_ids)");
  };

  if (auto s = c.data.find("slot_mapping"); s != c.data.end()) {
    const auto slots = s->second.view<int64_t>();
    const int64_t capacity = checked_mul(i.num_pages, i.page_size).value_or(std::numeric_limits<int64_t>::max());
    for (size_t t = 0; t < slots.size(); ++t) {
      const int64_t v = slots[t];
      if (v < 0) continue;  // padding
      if (v >= capacity)
        fail("slot_mapping", at1("slot_mapping", int64_t(t)) + " = " + str(v) +
                                 ": past the pool's num_pages * page_size = " + str(capacity) + " slots");
      if (!stored(v / i.page_size))
        fail("slot_mapping", at1("slot_mapping", int64_t(t)) + " = " + str(v) + ": its page " + str(v / i.page_size) +
                                 " is not a stored page (page_ids)");
    }
  }

  if (auto l = c.data.find("context_lens"); l != c.data.end()) {
    const auto lens = l->second.view<int32_t>();
    const Array& table = c.at("block_table", file);
    const auto entries = table.view<int32_t>();
    const int64_t W = table.shape[1], per = i.lens_2d ? i.next_n : 1;
    const int64_t capacity = checked_mul(W, i.page_size).value_or(std::numeric_limits<int64_t>::max());
    const bool paged = i.op == "paged_logits";
    int64_t tokens = 0;
    for (int64_t b = 0; b < i.batch; ++b) {
      int64_t longest = 0;
      for (int64_t j = 0; j < per; ++j) {
        const int64_t L = lens[size_t(b * per + j)];
        const std::string name = (i.lens_2d ? at2("context_lens", b, j) : at1("context_lens", b)) + " = " + str(L);
        if (L < 0) fail("context_lens", name + ": negative length");
        if (paged && L > i.logits_cols)
          fail("context_lens", name + ": past logits_cols = max_context_len = " + str(i.logits_cols));
        if (L > capacity)
          fail("context_lens", name + ": beyond the block table's capacity of " + str(W) + " blocks of " +
                                   str(int64_t(i.page_size)) + " tokens");
        longest = std::max(longest, L);
      }
      for (int64_t k = 0; k < (longest + i.page_size - 1) / i.page_size; ++k) {
        const int64_t e = entries[size_t(b * W + k)];
        if (!stored(e))
          fail("block_table", at2("block_table", b, k) + " = " + str(e) + ": needed by the " + str(longest) +
                                  " tokens of sequence " + str(b) + ", but " + not_stored(e));
      }
      tokens += longest;
    }
    if (auto g = c.data.find("gathered_values"); g != c.data.end() && g->second.shape[0] != tokens)
      fail("gathered_values", "holds " + str(g->second.shape[0]) + " rows, the sequences' lengths (context_lens) " +
                                  str(tokens) + " tokens");
  }

  if (c.data.count("ks")) {
    const auto ks = c.at("ks", file).view<int32_t>(), ke = c.at("ke", file).view<int32_t>();
    for (int64_t r = 0; r < i.rows; ++r) {
      const int64_t s = ks[size_t(r)], e = ke[size_t(r)];
      if (s < 0) fail("ks", at1("ks", r) + " = " + str(s) + ": negative");
      if (e > i.logits_cols)
        fail("ke", at1("ke", r) + " = " + str(e) + ": beyond N = logits_cols = " + str(i.logits_cols));
      if (s > e) fail("ks", at1("ks", r) + " = " + str(s) + ": greater than " + at1("ke", r) + " = " + str(e));
    }
  }

  auto reg = c.data.find("logits_regions");
  if (reg == c.data.end()) return;
  const auto rg = reg->second.view<int64_t>();
  for (int64_t r = 0; r < i.rows; ++r) {
    const int64_t vb = rg[size_t(3 * r)], ve = rg[size_t(3 * r + 1)], fe = rg[size_t(3 * r + 2)];
    if (!(0 <= vb && vb <= ve && ve <= fe && fe <= i.logits_cols))
      fail("logits_regions",
           "row " + str(r) + " = (" + str(vb) + ", " + str(ve) + ", " + str(fe) +
               "): expected 0 <= valid_begin <= valid_end <= future_end <= logits_cols = " + str(i.logits_cols));
  }
  if (i.regions_storage()) {
    // By regions the logits hold row r's floats of [valid_begin, future_end) and nothing else
    // (each term < 2^31, rows <= 2^20: the sum stays far inside int64).
    int64_t runs = 0;
    for (int64_t r = 0; r < i.rows; ++r) runs += rg[size_t(3 * r + 2)] - rg[size_t(3 * r)];
    for (const char* name : {"logits", "logits_bound_fp32", "logits_bound_fp8_mma"})
      if (auto d = c.data.find(name); d != c.data.end() && d->second.elements() != runs)
        fail(name, "holds " + str(d->second.elements()) +
                       " floats; by regions (logits_storage) the rows' runs need sum(future_end - valid_begin) = " +
                       str(runs) + " (logits_regions)");
  }
  auto tk = c.data.find("topk");
  if (tk == c.data.end()) return;
  // Each index is a valid column of its row, or -1 past the row's min(k, n) candidates: the
  // comparator reads the golden logits through them (issue 13: 0x7FFFFFF0 crashed it).
  const auto top = tk->second.view<int32_t>();
  const int64_t k = i.topk;
  for (int64_t r = 0; r < i.rows; ++r) {
    const int64_t vb = rg[size_t(3 * r)], ve = rg[size_t(3 * r + 1)], m = std::min(k, ve - vb);
    for (int64_t p = 0; p < k; ++p) {
      const int64_t v = top[size_t(r * k + p)];
      if (p < m && (v < vb || v >= ve))
        fail("topk", at2("topk", r, p) + " = " + str(v) + ": must be a valid column of row " + str(r) + ", in [" +
                         str(vb) + ", " + str(ve) + ")");
      if (p >= m && v != -1)
        fail("topk", at2("topk", r, p) + " = " + str(v) + ": must be -1 (row " + str(r) + " has only " + str(m) +
                         " candidates)");
    }
  }
}

}  // namespace mqa::golden
