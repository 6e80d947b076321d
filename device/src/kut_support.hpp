// Helpers for implementations of the kernel-under-test ABI: the exception -> status guard, the
// shape a call asks for, and (mqa/kut_problem.hpp) the enum and problem conversion. Host only; also
// compiled into the example plugin.
#pragma once
#include <cstddef>
#include <functional>
#include <string>

#include "mqa/kut.h"
#include "mqa/kut_problem.hpp"

namespace mqa::kut {

void write_message(char* buf, size_t len, const std::string& s);

// Runs fn; InvalidInput -> MQA_INVALID, any other exception -> MQA_ERROR, message = what().
mqa_status guarded(char* message, size_t message_len, const std::function<mqa_status()>& fn);

// Refusal helper: writes `why` and returns MQA_UNSUPPORTED.
mqa_status unsupported(char* message, size_t message_len, const std::string& why);

// The enums and the problem <-> argument conversion: mqa/kut_problem.hpp.

// The shape a call asks for, as supports() sees it, from the call's own arguments: the cache
// fields (layout, B, D, Qb, encoding) for an op on a cache; for the logits ops also heads, next_n,
// profile, lens_2d and clean_logits. A ragged call has no cache: its page_size is 64, a valid
// placeholder, so that shape_enum_error() accepts it.
mqa_case_shape cache_shape(int32_t op, const mqa_cache_desc& c);
mqa_case_shape paged_shape(const mqa_paged_logits_args& a);
mqa_case_shape ragged_shape(const mqa_ragged_logits_args& a);

// Validates the enums of a case shape (MQA_INVALID on unknown values); "" when they are known.
std::string shape_enum_error(const mqa_case_shape& s);

}  // namespace mqa::kut
