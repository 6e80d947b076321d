// layout_print.hpp: a page drawn as a map of slots and bytes, and the name of any byte of a pool.
#include "mqa/layout_print.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "mqa/validate.hpp"

namespace mqa {

std::string render_page_map(const PageLayout& p, int32_t max_slots, int32_t max_bytes) {
  validate_page_layout(p);
  const int32_t rows = std::min(p.page_size, max_slots), cols = std::min(p.head_dim, max_bytes);
  const int width = int(std::to_string(p.natural_page_bytes()).size()) + 1;
  std::ostringstream os;
  os << to_string(p.kind) << " page: B=" << p.page_size << " D=" << p.head_dim << " Qb=" << p.quant_block
     << ", " << p.natural_page_bytes() << " bytes (values " << p.value_bytes() << ", scales "
     << p.scale_bytes() << ")\nvalue byte offsets, row = slot t, column = byte d\n";
  os << std::setw(6) << "t\\d";
  for (int32_t d = 0; d < cols; ++d) os << std::setw(width) << d;
  if (cols < p.head_dim) os << " ...";
  os << '\n';
  for (int32_t t = 0; t < rows; ++t) {
    os << std::setw(6) << t;
    for (int32_t d = 0; d < cols; ++d) os << std::setw(width) << p.value_offset(t, d);
    if (cols < p.head_dim) os << " ...";
    os << '\n';
  }
  if (rows < p.page_size) os << std::setw(6) << "..." << '\n';
  os << "scale (t, q) at " << p.value_bytes() << " + 4*(t*" << p.scales_per_token() << " + q)";
  os << ": t=0 -> " << p.scale_offset(0, 0) << ", t=" << p.page_size - 1 << " -> "
     << p.scale_offset(p.page_size - 1, 0) << '\n';
  return os.str();
}

std::string describe_byte(const PagedCacheLayout& c, int64_t byte) {
  const CacheCoord cc = c.locate(byte);
  std::ostringstream os;
  os << "byte " << byte << " = page " << cc.page << " + " << (byte - cc.page * c.page_stride) << ": ";
  switch (cc.in_page.kind) {
    case PageCoord::value: os << "value of slot " << cc.in_page.slot << ", d=" << cc.in_page.index; break;
    case PageCoord::scale:
      os << "scale of slot " << cc.in_page.slot << ", q=" << cc.in_page.index << ", byte " << cc.in_page.byte;
      break;
    case PageCoord::padding: os << "page padding byte " << cc.in_page.index; break;
  }
  return os.str();
}

}  // namespace mqa
