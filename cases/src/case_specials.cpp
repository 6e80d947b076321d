// Special values of the cache: NaN fp8 codes and odd k scales planted after the write. Each is
// placed only where docs/numerics.md defines the result (the materialiser rejects the other
// combinations, naming the key); which token gets what is token_specials() of
// mqa/case_elements.hpp, as for the device generator.
#include "case_values.hpp"

namespace mqa::casegen {

void plant_cache_specials(const CaseDescriptor& d, std::span<const int64_t> slots, const std::vector<char>& unread,
                          KCacheRef cache) {
  const ValueKeys v = value_keys(d);
  const PagedCacheLayout& l = cache.layout;
  const bool any_scale = d.op == CaseOp::gather;  // gather copies bytes: every scale is defined
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i] < 0) continue;
    const int64_t page = l.slot_page(slots[i]);
    const int32_t t = l.slot_in_page(slots[i]);
    const TokenSpecials s = token_specials(v, int64_t(i));
    if (s.nan_at >= 0) cache.set_value_code(page, t, s.nan_at, s.nan);
    if (s.odd_scales)
      for (int32_t q = 0; q < l.page.scales_per_token(); ++q)
        cache.set_scale(page, t, q, token_odd_scale(v, int64_t(i), q, any_scale || unread[i]));
  }
}

}  // namespace mqa::casegen
