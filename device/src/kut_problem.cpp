// Problem structs <-> kut.h argument structs, each field written once per direction. A field
// left out or misplaced fails tests/device/test_kut_problem.cpp, which states the mapping field
// by field (and was seen to fail with one planted in each direction).
#include "mqa/kut_problem.hpp"

#include "mqa/validate.hpp"

namespace mqa::kut {

PageLayoutKind layout_kind(int32_t v) {
  if (v == MQA_LAYOUT_STANDARD) return PageLayoutKind::standard;
  if (v == MQA_LAYOUT_PRESHUFFLE16) return PageLayoutKind::preshuffle16;
  reject("layout", v, "expected 0 (standard) or 1 (preshuffle16)");
}

Fp8Encoding encoding(int32_t v) {
  if (v == MQA_FP8_E4M3FN) return Fp8Encoding::e4m3fn;
  if (v == MQA_FP8_E4M3FNUZ) return Fp8Encoding::e4m3fnuz;
  reject("encoding", v, "expected 0 (e4m3fn) or 1 (e4m3fnuz)");
}

QuantVariant quant_variant(int32_t v) {
  if (v >= MQA_QUANT_EXACT && v <= MQA_QUANT_SGLANG) return QuantVariant(v);
  reject("quant_variant", v, "expected 0 (exact), 1 (vllm), 2 (aiter) or 3 (sglang)");
}

Profile profile(int32_t v) {
  if (v == MQA_PROFILE_EXACT) return Profile::exact;
  if (v == MQA_PROFILE_DEEPGEMM_SM90) return Profile::deepgemm_sm90;
  reject("profile", v, "expected 0 (exact) or 1 (deepgemm_sm90)");
}

// ---- problem -> ABI ---------------------------------------------------------------------------

// Designated initialisers: the compiler holds each name and kut.h's order.
mqa_cache_desc cache_desc(const PagedCacheLayout& l, Fp8Encoding e) {
  const PageLayout& g = l.page;
  return {.layout = int32_t(g.kind),
          .page_size = g.page_size,
          .head_dim = g.head_dim,
          .quant_block = g.quant_block,
          .page_stride = l.page_stride,
          .num_pages = l.num_pages,
          .encoding = int32_t(e),
          .reserved = 0};
}

mqa_quant_cache_args quant_cache_args(const QuantCacheProblem& p) {
  return {.cache = cache_desc(p.cache.layout, p.params.encoding),
          .cache_bytes = p.cache.bytes,
          .k = p.k.data(),
          .slots = p.slots.data(),
          .num_tokens = int64_t(p.slots.size()),
          .quant_variant = int32_t(p.params.variant),
          .ue8m0 = int32_t(p.params.ue8m0)};
}

mqa_gather_args gather_args(const GatherProblem& p, uint8_t* values_out, uint8_t* scales_out) {
  const BlockTableView& t = p.table;
  return {.cache = cache_desc(p.cache.layout, p.encoding),
          .cache_bytes = p.cache.bytes,
          .block_table = t.data,
          .batch = t.batch,
          .max_blocks = t.max_blocks,
          .table_row_stride = t.row_stride,
          .lens = p.lens.data(),
          .values_out = values_out,
          .scales_out = scales_out};
}

mqa_paged_logits_args paged_args(const PagedLogitsProblem& p, float* logits, int64_t logits_row_stride) {
  return {.cache = cache_desc(p.cache, p.encoding),
          .cache_bytes = p.cache_bytes,
          .q = p.q,
          .batch = p.batch,
          .next_n = p.next_n,
          .heads = p.heads,
          .head_dim = p.cache.page.head_dim,
          .weights = p.weights,
          .context_lens = p.context_lens,
          .lens_2d = int32_t(p.lens_2d),
          .max_blocks = p.table.max_blocks,
          .block_table = p.table.data,
          .table_row_stride = p.table.row_stride,
          .max_context_len = p.max_context_len,
          .clean_logits = int32_t(p.clean_logits),
          .logits = logits,
          .logits_row_stride = logits_row_stride,
          .profile = int32_t(p.profile),
          .reserved = 0};
}

mqa_ragged_logits_args ragged_args(const RaggedLogitsProblem& p, float* logits, int64_t logits_row_stride) {
  return {.q = p.q,
          .M = p.M,
          .heads = p.heads,
          .head_dim = p.head_dim,
          .encoding = int32_t(p.encoding),
          .k = p.k,
          .kscale = p.kscale,
          .N = p.N,
          .clean_logits = int32_t(p.clean_logits),
          .weights = p.weights,
          .ks = p.ks,
          .ke = p.ke,
          .logits = logits,
          .logits_row_stride = logits_row_stride,
          .profile = int32_t(p.profile),
          .reserved = 0};
}

// ---- ABI -> problem ---------------------------------------------------------------------------

PagedCacheLayout cache_layout(const mqa_cache_desc& c) {
  const PagedCacheLayout l{{layout_kind(c.layout), c.page_size, c.head_dim, c.quant_block}, c.page_stride, c.num_pages};
  validate_cache(l);
  return l;
}

QuantCacheProblem quant_cache_problem(const mqa_quant_cache_args& a) {
  const PagedCacheLayout l = cache_layout(a.cache);
  if (a.num_tokens < 0) reject("num_tokens", a.num_tokens, "must be >= 0");
  return QuantCacheProblem{
      .cache = KCacheRef{l, a.cache_bytes, l.total_bytes()},
      .k = std::span<const float>(a.k, size_t(a.num_tokens) * size_t(l.page.head_dim)),
      .slots = std::span<const int64_t>(a.slots, size_t(a.num_tokens)),
      .params = QuantParams{quant_variant(a.quant_variant), encoding(a.cache.encoding), a.ue8m0 != 0}};
}

GatherProblem gather_problem(const mqa_gather_args& a) {
  const PagedCacheLayout l = cache_layout(a.cache);
  if (a.batch < 0) reject("batch", a.batch, "must be >= 0");
  return GatherProblem{.cache = KCacheView{l, a.cache_bytes, l.total_bytes()},
                       .encoding = encoding(a.cache.encoding),
                       .table = BlockTableView{a.block_table, a.batch, a.max_blocks, a.table_row_stride},
                       .lens = std::span<const int32_t>(a.lens, size_t(a.batch))};
}

PagedLogitsProblem paged_problem(const mqa_paged_logits_args& a) {
  const PagedCacheLayout l = cache_layout(a.cache);
  if (a.head_dim != a.cache.head_dim)
    reject("head_dim", a.head_dim, "differs from cache.head_dim = " + std::to_string(a.cache.head_dim));
  const BlockTableView table{a.block_table, a.batch, a.max_blocks, a.table_row_stride};
  return PagedLogitsProblem{l,
                            a.cache_bytes,
                            encoding(a.cache.encoding),
                            a.q,
                            a.batch,
                            a.next_n,
                            a.heads,
                            a.weights,
                            a.context_lens,
                            a.lens_2d != 0,
                            table,
                            a.max_context_len,
                            a.clean_logits != 0,
                            profile(a.profile)};
}

RaggedLogitsProblem ragged_problem(const mqa_ragged_logits_args& a) {
  return RaggedLogitsProblem{encoding(a.encoding),
                             a.q,
                             a.M,
                             a.heads,
                             a.head_dim,
                             a.k,
                             a.kscale,
                             a.N,
                             a.weights,
                             a.ks,
                             a.ke,
                             a.clean_logits != 0,
                             profile(a.profile)};
}

}  // namespace mqa::kut
