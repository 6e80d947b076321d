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
