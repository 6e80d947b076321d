// Text rendering of a page map, after CuTe's print_layout: rows are slots t, columns are bytes
// d, each cell the byte offset of (t, d) inside the page; then the scale region.
#pragma once
#include <string>

#include "mqa/layout.hpp"

namespace mqa {

// Draws at most max_slots rows and max_bytes columns (elided parts are marked "...").
std::string render_page_map(const PageLayout& p, int32_t max_slots = 32, int32_t max_bytes = 32);

// One line describing where a cache byte lives: "page 70000 slot 5 value d=17 (byte 8976...)".
std::string describe_byte(const PagedCacheLayout& c, int64_t byte);

}  // namespace mqa
