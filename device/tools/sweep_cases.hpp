// Random and deployed cases for the device sweep (device_sweep.cpp) and the device tests: one
// line descriptors, and their inputs materialised through the project's RNG (philox.hpp), the
// reference quantiser and the addressing library.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "mqa/kcache.hpp"
#include "mqa/logits.hpp"

namespace mqa::sweep {

enum class Op : uint8_t { quant = 0, gather = 1, paged = 2, ragged = 3 };
const char* to_string(Op op);

struct Case {
  Op op = Op::paged;
  uint64_t seed = 1;
  PageLayoutKind layout = PageLayoutKind::standard;
  int32_t page_size = 64, head_dim = 128, quant_block = 128;
  int32_t stride_pad = 0;  // page_stride = natural + pad (multiple of 4)
  Fp8Encoding encoding = Fp8Encoding::e4m3fn;
  bool ue8m0 = false;
  int32_t batch = 1, next_n = 1, heads = 64;
  int32_t max_len = 256;   // longest sequence (paged, gather) / N (ragged) / tokens (quant)
  bool min_len_half = false;  // lengths drawn from [max_len/2, max_len] (deployed shapes)
  bool lens_2d = false, clean = false;
  bool adversarial = false;   // all fp8 codes (NaN, -0), odd weights and scales
  bool high_page_ids = false; // physical page ids past 65,536
  std::string describe() const;
};

// n random cases cycling through the four ops over the shape space.
std::vector<Case> random_cases(int n, uint64_t seed);
// DeepSeek-V3.2 decode: batch 64, H 64, D 128, B 64, next_n {1, 2}, both layouts, L up to max_L.
std::vector<Case> deployed_cases(int32_t max_L);

// Paged inputs: a cache, a block table with junk past the needed entries, lengths, q, weights.
struct PagedInputs {
  KCache cache;
  std::vector<int32_t> table;
  int32_t max_blocks = 0;
  int64_t table_row_stride = 0;
  std::vector<int32_t> lens;  // [batch] or [batch, next_n]
  std::vector<uint8_t> q;
  std::vector<float> weights;
  int32_t max_context_len = 0;
  int64_t out_row_stride = 0;
  PagedLogitsProblem problem(const Case& c) const;  // pointers into this object
  std::vector<int32_t> gather_lens(const Case& c) const;  // tokens each sequence holds
};
PagedInputs make_paged(const Case& c);

struct RaggedInputs {
  std::vector<uint8_t> q, k;
  std::vector<float> kscale, weights;
  std::vector<int32_t> ks, ke;
  int32_t M = 0, N = 0;
  int64_t out_row_stride = 0;
  RaggedLogitsProblem problem(const Case& c) const;
};
RaggedInputs make_ragged(const Case& c);

struct QuantInputs {
  KCache cache;  // pre-filled with random bytes (the sentinel: only addressed slots may change)
  std::vector<float> k;
  std::vector<int64_t> slots;  // with -1 padding and repeated slots
  QuantParams params;
};
QuantInputs make_quant(const Case& c);

}  // namespace mqa::sweep
