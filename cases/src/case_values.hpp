// Value distributions of a case (private to the case library): the host's loops over the element
// functions of mqa/case_elements.hpp (which the device generator evaluates too), so any shard or
// device regenerates every value.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "mqa/case.hpp"
#include "mqa/case_elements.hpp"

namespace mqa::casegen {

// K source [T, D] as fp32 values representable in d.ksrc (k_source_token of every token).
void fill_k_source(const CaseDescriptor& d, int64_t T, std::vector<float>& k);

// NaN codes and odd scales of the written tokens of `cache` (compact slots; every slot once).
// `unread[i]` says that no row reads compact slot slots[i]: only there (and in every slot of a
// gather case) may a scale be NaN or infinite.
void plant_cache_specials(const CaseDescriptor& d, std::span<const int64_t> slots, const std::vector<char>& unread,
                          KCacheRef cache);

// q codes [rows, H, D] and weights [rows, H], the planted NaN codes and odd weights included.
void fill_q(const CaseDescriptor& d, int64_t rows, std::vector<uint8_t>& q);
void fill_weights(const CaseDescriptor& d, int64_t rows, std::vector<float>& w);

}  // namespace mqa::casegen
