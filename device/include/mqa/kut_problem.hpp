// The one converter between the reference's problem structs (kcache.hpp, logits.hpp) and the
// kernel-under-test ABI's argument structs (kut.h). The harness builds a problem and hands a
// kernel `*_args(problem)`; an implementation of the ABI (builtin-ref, builtin-hip, a plugin
// built on kut_support) takes `*_problem(args)` back. Pointers are passed through, never read,
// so both directions serve ABI version 1 (host pointers) and version 2 (device pointers).
//
// ABI -> problem checks what the problem's types need and reports it as InvalidInput naming
// the field: the enums, the cache descriptor (validate_cache), num_tokens / batch >= 0 (they
// size the spans), head_dim == cache.head_dim. Everything else is the op's own validation.
#pragma once
#include "mqa/kcache.hpp"
#include "mqa/kut.h"
#include "mqa/logits.hpp"

namespace mqa::kut {

// ---- enums (InvalidInput naming the field on an unknown value) ------------------------------
PageLayoutKind layout_kind(int32_t v);
Fp8Encoding encoding(int32_t v);
QuantVariant quant_variant(int32_t v);
Profile profile(int32_t v);

// ---- problem -> ABI ---------------------------------------------------------------------------
mqa_cache_desc cache_desc(const PagedCacheLayout& l, Fp8Encoding e);
mqa_quant_cache_args quant_cache_args(const QuantCacheProblem& p);
mqa_gather_args gather_args(const GatherProblem& p, uint8_t* values_out, uint8_t* scales_out);
mqa_paged_logits_args paged_args(const PagedLogitsProblem& p, float* logits, int64_t logits_row_stride);
mqa_ragged_logits_args ragged_args(const RaggedLogitsProblem& p, float* logits, int64_t logits_row_stride);

// ---- ABI -> problem (the outputs stay in the args: values_out, scales_out, logits) -----------
PagedCacheLayout cache_layout(const mqa_cache_desc& c);  // validated
QuantCacheProblem quant_cache_problem(const mqa_quant_cache_args& a);
GatherProblem gather_problem(const mqa_gather_args& a);
PagedLogitsProblem paged_problem(const mqa_paged_logits_args& a);
RaggedLogitsProblem ragged_problem(const mqa_ragged_logits_args& a);

}  // namespace mqa::kut
