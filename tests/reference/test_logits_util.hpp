// Case builders for the logits tests: every tensor comes from CounterRng (seed, stream, index).
#pragma once
#include <cstring>
#include <string>
#include <vector>

#include "mqa/kcache.hpp"
#include "mqa/logits.hpp"
#include "mqa/philox.hpp"
#include "mqa/sentinels.h"

namespace mqa::test {

inline constexpr uint32_t kSentinelBits = kLogitSentinelBits;  // what the harness pre-fills outputs with

// Streams of CounterRng used by the builders.
enum Stream : uint64_t { sQ = 1, sK, sScale, sW, sLens, sPerm, sJunk, sShape };

// A random fp8 code that is not NaN.
inline uint8_t finite_code(const CounterRng& rng, uint64_t stream, uint64_t i, Fp8Encoding e) {
  for (uint64_t attempt = 0;; ++attempt) {
    const uint8_t c = uint8_t(rng.u32(stream, i + (attempt << 40)));
    if (!fp8_is_nan(c, e)) return c;
  }
}

struct PagedShape {
  PageLayoutKind kind = PageLayoutKind::standard;
  int32_t page_size = 16, batch = 1, next_n = 1, heads = 8, head_dim = 32;
  Fp8Encoding encoding = Fp8Encoding::e4m3fn;
  bool lens_2d = false, clean = false;
  Profile profile = Profile::exact;
  int32_t max_len = 40;     // lengths drawn in [0, max_len]
  int32_t col_pad = 3;      // output row stride = max_context_len + col_pad
  std::string str() const;
};

// An owning paged case: cache, table (a random permutation of pages, junk past the needed
// entries), q, weights, lengths; problem() gives the view the ops take.
struct PagedCase {
  PagedShape shape;
  KCache cache;
  std::vector<uint8_t> q;
  std::vector<float> w;
  std::vector<int32_t> lens, table;
  int32_t max_blocks = 0, max_context_len = 0;
  int64_t row_stride = 0;

  PagedLogitsProblem problem() const;
  int32_t tokens_read(int32_t b) const;  // max over the rows of b of L_r
  std::vector<float> sentinel_output() const {
    return std::vector<float>(size_t(int64_t(shape.batch) * shape.next_n * row_stride), f32_from_bits(kSentinelBits));
  }
};

// Lengths, pages and table from the shape; q/k codes and scales random (no NaN codes), weights in
// [-1, 1). The builder callbacks below overwrite values for the adversarial tests.
PagedCase make_paged_case(const PagedShape& s, uint64_t seed);

// For tests that set lengths by hand: a table of max_blocks entries per sequence, all valid.
inline void make_table_valid(PagedCase& c, int32_t max_blocks) {
  c.max_blocks = max_blocks;
  c.table.assign(size_t(c.shape.batch) * size_t(max_blocks + 1), 0);
  for (size_t i = 0; i < c.table.size(); ++i) c.table[i] = int32_t((i * 7) % size_t(c.cache.layout.num_pages));
}

// Writes the code of (b, token, d) for every token of every sequence through the layout.
template <class CodeFn>
void fill_k_codes(PagedCase& c, CodeFn code) {
  const PagedView v{c.cache.layout, c.problem().table};
  for (int32_t b = 0; b < c.shape.batch; ++b) {
    for (int32_t s = 0; s < c.tokens_read(b); ++s)
      for (int32_t d = 0; d < c.shape.head_dim; ++d) c.cache.bytes[size_t(v.value_byte(b, s, d))] = code(b, s, d);
  }
}

struct RaggedCase {
  int32_t M = 0, N = 0, heads = 8, head_dim = 32;
  Fp8Encoding encoding = Fp8Encoding::e4m3fn;
  bool clean = false;
  Profile profile = Profile::exact;
  std::vector<uint8_t> q, k;
  std::vector<float> kscale, w;
  std::vector<int32_t> ks, ke;
  int64_t row_stride = 0;
  RaggedLogitsProblem problem() const;
  std::vector<float> sentinel_output() const {
    return std::vector<float>(size_t(int64_t(M) * row_stride), f32_from_bits(kSentinelBits));
  }
};
// Causal-prefill-like ranges with random starts; a few rows empty or reaching N.
RaggedCase make_ragged_case(int32_t M, int32_t N, int32_t heads, int32_t head_dim, Fp8Encoding e, uint64_t seed);

// First index where the raw bits differ, or -1.
inline int64_t first_bit_difference(const std::vector<float>& a, const std::vector<float>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (f32_bits(a[i]) != f32_bits(b[i])) return int64_t(i);
  return a.size() == b.size() ? -1 : int64_t(std::min(a.size(), b.size()));
}

}  // namespace mqa::test
