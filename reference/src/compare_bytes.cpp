// compare_bytes: byte buffers (caches after quantise-and-cache, gathered values / scales) with
// every mismatching byte located through PagedCacheLayout::locate / describe_byte.
#include <algorithm>
#include <map>

#include "mqa/compare.hpp"
#include "mqa/layout_print.hpp"
#include "mqa/validate.hpp"

namespace mqa {

ByteCompareReport compare_bytes(std::span<const uint8_t> expected, std::span<const uint8_t> actual,
                                const std::optional<PagedCacheLayout>& layout, const ByteCompareOptions& options) {
  if (actual.size() != expected.size())
    reject("actual.size", actual.size(), "must equal expected.size = " + std::to_string(expected.size()));
  if (layout) validate_cache(*layout, int64_t(expected.size()));
  if (options.row_bytes < 0) reject("options.row_bytes", options.row_bytes, "must be >= 0");
  if (options.max_listed < 0) reject("options.max_listed", options.max_listed, "must be >= 0");

  ByteCompareReport rep;
  rep.name = options.name;
  rep.compared = int64_t(expected.size());
  if (layout)
    rep.shape = std::string(to_string(layout->page.kind)) + " cache: " + std::to_string(layout->num_pages) +
                " pages of B=" + std::to_string(layout->page.page_size) + " D=" + std::to_string(layout->page.head_dim) +
                " Qb=" + std::to_string(layout->page.quant_block) + ", stride " + std::to_string(layout->page_stride) +
                " bytes";
  else if (options.row_bytes > 0)
    rep.shape = std::to_string(int64_t(expected.size()) / options.row_bytes) + " rows x " +
                std::to_string(options.row_bytes) + " bytes";
  else
    rep.shape = std::to_string(expected.size()) + " bytes";

  std::map<int64_t, PageSummary> pages;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (expected[i] == actual[i]) continue;
    ++rep.mismatched;
    ByteDiff d;
    d.offset = int64_t(i);
    d.expected = expected[i];
    d.actual = actual[i];
    if (layout) {
      const CacheCoord c = layout->locate(d.offset);
      d.where = c;
      switch (c.in_page.kind) {
        case PageCoord::value: ++rep.value_mismatches; break;
        case PageCoord::scale: ++rep.scale_mismatches; break;
        case PageCoord::padding: ++rep.padding_mismatches; break;
      }
      PageSummary& ps = pages[c.page];
      if (ps.mismatched++ == 0) ps = PageSummary{c.page, 1, c.in_page.slot};
    }
    if (options.row_bytes > 0) {
      d.row = d.offset / options.row_bytes;
      d.col = d.offset % options.row_bytes;
    }
    if (int64_t(rep.first.size()) < options.max_listed) {
      if (layout) d.describe = describe_byte(*layout, d.offset);
      else if (options.row_bytes > 0) d.describe = "row " + std::to_string(d.row) + " byte " + std::to_string(d.col);
      else d.describe = "byte " + std::to_string(d.offset);
      rep.first.push_back(std::move(d));
    }
  }
  rep.pages_failing = int64_t(pages.size());
  for (const auto& [p, s] : pages) rep.pages.push_back(s);
  std::stable_sort(rep.pages.begin(), rep.pages.end(),
                   [](const PageSummary& x, const PageSummary& y) { return x.mismatched > y.mismatched; });
  if (int64_t(rep.pages.size()) > options.max_pages) rep.pages.resize(size_t(std::max(0, options.max_pages)));
  rep.pass = rep.mismatched == 0;
  return rep;
}

}  // namespace mqa
