// kut_support.hpp's helpers: ABI enums and argument structs to the reference's types (InvalidInput
// naming the field), the shapes a call asks for, and the exception -> status guard.
#include "kut_support.hpp"

#include <cstring>
#include <exception>

#include "mqa/validate.hpp"

namespace mqa::kut {

void write_message(char* buf, size_t len, const std::string& s) {
  if (buf == nullptr || len == 0) return;
  const size_t n = s.size() < len - 1 ? s.size() : len - 1;
  std::memcpy(buf, s.data(), n);
  buf[n] = '\0';
}

mqa_status guarded(char* message, size_t message_len, const std::function<mqa_status()>& fn) {
  try {
    write_message(message, message_len, "");
    return fn();
  } catch (const InvalidInput& e) {
    write_message(message, message_len, e.what());
    return MQA_INVALID;
  } catch (const std::exception& e) {
    write_message(message, message_len, e.what());
    return MQA_ERROR;
  }
}

mqa_status unsupported(char* message, size_t message_len, const std::string& why) {
  write_message(message, message_len, why);
  return MQA_UNSUPPORTED;
}

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

PagedCacheLayout cache_layout(const mqa_cache_desc& c) {
  PagedCacheLayout l{{layout_kind(c.layout), c.page_size, c.head_dim, c.quant_block}, c.page_stride, c.num_pages};
  validate_cache(l);
  return l;
}

PagedLogitsProblem paged_problem(const mqa_paged_logits_args& a) {
  PagedLogitsProblem p;
  p.cache = cache_layout(a.cache);
  if (a.head_dim != a.cache.head_dim)
    reject("head_dim", a.head_dim, "differs from cache.head_dim = " + std::to_string(a.cache.head_dim));
  p.cache_bytes = a.cache_bytes;
  p.encoding = encoding(a.cache.encoding);
  p.q = a.q;
  p.batch = a.batch;
  p.next_n = a.next_n;
  p.heads = a.heads;
  p.weights = a.weights;
  p.context_lens = a.context_lens;
  p.lens_2d = a.lens_2d != 0;
  p.table = BlockTableView{a.block_table, a.batch, a.max_blocks, a.table_row_stride};
  p.max_context_len = a.max_context_len;
  p.clean_logits = a.clean_logits != 0;
  p.profile = profile(a.profile);
  return p;
}

RaggedLogitsProblem ragged_problem(const mqa_ragged_logits_args& a) {
  RaggedLogitsProblem p;
  p.encoding = encoding(a.encoding);
  p.q = a.q;
  p.M = a.M;
  p.heads = a.heads;
  p.head_dim = a.head_dim;
  p.k = a.k;
  p.kscale = a.kscale;
  p.N = a.N;
  p.weights = a.weights;
  p.ks = a.ks;
  p.ke = a.ke;
  p.clean_logits = a.clean_logits != 0;
  p.profile = profile(a.profile);
  return p;
}

mqa_case_shape cache_shape(int32_t op, const mqa_cache_desc& c) {
  mqa_case_shape s{};
  s.op = op;
  s.layout = c.layout;
  s.page_size = c.page_size;
  s.head_dim = c.head_dim;
  s.quant_block = c.quant_block;
  s.encoding = c.encoding;
  return s;
}

mqa_case_shape paged_shape(const mqa_paged_logits_args& a) {
  mqa_case_shape s = cache_shape(MQA_OP_PAGED_LOGITS, a.cache);
  s.heads = a.heads;
  s.next_n = a.next_n;
  s.profile = a.profile;
  s.lens_2d = a.lens_2d;
  s.clean_logits = a.clean_logits;
  return s;
}

mqa_case_shape ragged_shape(const mqa_ragged_logits_args& a) {
  mqa_case_shape s{};
  s.op = MQA_OP_RAGGED_LOGITS;
  s.page_size = 64;
  s.head_dim = a.head_dim;
  s.encoding = a.encoding;
  s.heads = a.heads;
  s.profile = a.profile;
  s.clean_logits = a.clean_logits;
  return s;
}

std::string shape_enum_error(const mqa_case_shape& s) {
  try {
    if (s.op < MQA_OP_QUANT_CACHE || s.op > MQA_OP_RAGGED_LOGITS) reject("op", s.op, "expected 0 .. 3");
    if (s.op != MQA_OP_RAGGED_LOGITS) layout_kind(s.layout);
    encoding(s.encoding);
    if (s.op == MQA_OP_QUANT_CACHE) quant_variant(s.quant_variant);
    if (s.op == MQA_OP_PAGED_LOGITS || s.op == MQA_OP_RAGGED_LOGITS) profile(s.profile);
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return {};
}

}  // namespace mqa::kut
